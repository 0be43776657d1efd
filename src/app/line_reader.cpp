// SPDX-License-Identifier: LGPL-2.1-or-later
/* See line_reader.h. */
#include "line_reader.h"

#include <cerrno>
#include <utility>

#include <unistd.h>

#include <glib-unix.h>

namespace meshcall::app
{

LineReader::LineReader(int fd, std::function<void(std::string)> on_line)
    : on_line_(std::move(on_line))
{
	watch_ = g_unix_fd_add(fd, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR),
			       on_readable, this);
}

LineReader::~LineReader()
{
	if (watch_)
		g_source_remove(watch_);
}

gboolean LineReader::on_readable(gint fd, GIOCondition, gpointer data)
{
	auto *self = static_cast<LineReader *>(data);
	char buf[4096];
	gssize n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		self->watch_ = 0;
		if (!self->partial_.empty())
			self->on_line_(std::exchange(self->partial_, {}));
		return G_SOURCE_REMOVE;
	}
	std::string &pending = self->partial_;
	pending.append(buf, static_cast<std::size_t>(n));
	std::size_t start = 0;
	for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
		self->on_line_(pending.substr(start, nl - start));
	pending.erase(0, start);
	return G_SOURCE_CONTINUE;
}

} // namespace meshcall::app
