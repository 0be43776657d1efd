// SPDX-License-Identifier: LGPL-2.1-or-later
/* What a line typed on the meshcall app's stdin means. Pure logic. */
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace meshcall::app
{

struct Command {
	enum class Kind {
		Chat,	 /* argument: the text */
		Devices, /* /devices */
		Camera,	 /* /camera N|NAME */
		Mic,	 /* /mic N|NAME */
		Mute,	 /* /mute: microphone on/off */
		Video,	 /* /video: camera on/off */
		Stats,	 /* /stats */
		Quit,	 /* /quit */
		Help,	 /* /help */
		Empty,	 /* a blank line: nothing */
		Invalid, /* argument: what to tell the person */
	};
	Kind kind = Kind::Empty;
	std::string argument;
};

/* "/camera 2" → Camera "2"; "hello" → Chat "hello"; "//etc" → Chat "/etc"
 * (a chat line that starts with a slash). A trailing '\r' is dropped. */
Command parse_command(std::string line);

/* The device a /camera or /mic argument names: a 1-based number into
 * `devices` (as /devices lists them) gives that entry; anything else is
 * returned as is when it is "auto", "test", a listed name or a path
 * ("/dev/..."). nullopt when a number is out of range or a name unknown. */
std::optional<std::string> resolve_device(const std::string &argument,
					  const std::vector<std::string> &devices);

/* The /help text. */
const char *command_help();

} // namespace meshcall::app
