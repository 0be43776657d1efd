// SPDX-License-Identifier: LGPL-2.1-or-later
/* See commands.h. */
#include "commands.h"

#include <algorithm>
#include <charconv>

namespace meshcall::app
{

namespace
{

std::string trim(const std::string &s)
{
	auto first = s.find_first_not_of(" \t");
	if (first == std::string::npos)
		return {};
	auto last = s.find_last_not_of(" \t");
	return s.substr(first, last - first + 1);
}

} // namespace

Command parse_command(std::string line)
{
	if (!line.empty() && line.back() == '\r')
		line.pop_back();
	if (trim(line).empty())
		return {Command::Kind::Empty, {}};
	if (line[0] != '/')
		return {Command::Kind::Chat, line};
	if (line.size() > 1 && line[1] == '/')
		return {Command::Kind::Chat, line.substr(1)};

	std::string word = line.substr(1, line.find_first_of(" \t") - 1);
	std::string arg = trim(line.substr(1 + word.size()));
	using K = Command::Kind;
	static const struct {
		const char *name;
		K kind;
		bool takes_argument;
	} table[] = {
	    {"devices", K::Devices, false}, {"camera", K::Camera, true}, {"mic", K::Mic, true},
	    {"mute", K::Mute, false},	    {"video", K::Video, false},	 {"stats", K::Stats, false},
	    {"quit", K::Quit, false},	    {"help", K::Help, false},
	};
	for (const auto &c : table) {
		if (word != c.name)
			continue;
		if (c.takes_argument && arg.empty())
			return {K::Invalid,
				"/" + word + " needs a number or a name (see /devices)"};
		if (!c.takes_argument && !arg.empty())
			return {K::Invalid, "/" + word + " takes no argument"};
		return {c.kind, arg};
	}
	return {K::Invalid, "unknown command /" + word +
				" (/help lists them; start a chat "
				"line with // to send a slash)"};
}

std::optional<std::string> resolve_device(const std::string &argument,
					  const std::vector<std::string> &devices)
{
	unsigned n = 0;
	auto [end, ec] = std::from_chars(argument.data(), argument.data() + argument.size(), n);
	if (ec == std::errc() && end == argument.data() + argument.size()) {
		if (n < 1 || n > devices.size())
			return std::nullopt;
		return devices[n - 1];
	}
	if (argument == "auto" || argument == "test" || argument.rfind("/", 0) == 0)
		return argument;
	if (std::find(devices.begin(), devices.end(), argument) != devices.end())
		return argument;
	return std::nullopt;
}

const char *command_help()
{
	return "Type a line to chat (start it with // to send a slash). Commands:\n"
	       "  /devices         list cameras and microphones, numbered\n"
	       "  /camera N|NAME   switch camera (a number from /devices, a name, test, auto)\n"
	       "  /mic N|NAME      switch microphone\n"
	       "  /mute            microphone off / on\n"
	       "  /video           camera off / on (the others see black)\n"
	       "  /stats           connection figures per peer\n"
	       "  /quit            leave the room and exit (also Ctrl-C)\n";
}

} // namespace meshcall::app
