// SPDX-License-Identifier: LGPL-2.1-or-later
/* Lines from a file descriptor (stdin), on the default main context: one
 * callback per complete line, without its '\n'; at end of input a last line
 * without '\n' too, and then the reader stops (a closed stdin is no reason to
 * leave a room). Used by the app and by the browser tests' test peer. */
#pragma once

#include <functional>
#include <string>

#include <glib.h>

namespace meshcall::app
{

class LineReader
{
public:
	LineReader(int fd, std::function<void(std::string)> on_line);
	~LineReader();
	LineReader(const LineReader &) = delete;
	LineReader &operator=(const LineReader &) = delete;

private:
	static gboolean on_readable(gint fd, GIOCondition, gpointer data);

	std::function<void(std::string)> on_line_;
	std::string partial_; /* a line not complete yet */
	guint watch_ = 0;
};

} // namespace meshcall::app
