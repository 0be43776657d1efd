// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcall app's command line, settings file and stdin commands. */
#include <fstream>
#include <string>
#include <vector>

#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include "app/commands.h"
#include "app/events.h"
#include "app/options.h"

using namespace meshcall::app;

namespace
{

struct Parsed {
	ParseResult result;
	Options options;
	std::string error;
};

Parsed parse(std::vector<std::string> args)
{
	args.insert(args.begin(), "meshcall");
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	Parsed p;
	p.result = parse_options(static_cast<int>(args.size()), argv.data(), p.options, p.error);
	return p;
}

/* GLib reads XDG_CONFIG_HOME once per process: main() points it at this
 * fresh directory before anything asks, and each test leaves it empty. */
gchar *config_home = nullptr;

class Settings : public ::testing::Test
{
protected:
	void TearDown() override
	{
		for (const auto &f : files)
			g_remove(f.c_str());
	}
	std::string write(const std::string &relative, const std::string &text)
	{
		g_autofree gchar *path = g_build_filename(config_home, relative.c_str(), nullptr);
		g_autofree gchar *parent = g_path_get_dirname(path);
		g_mkdir_with_parents(parent, 0700);
		std::ofstream(path) << text;
		files.push_back(path);
		return path;
	}
	std::vector<std::string> files;
};

TEST_F(Settings, CommandLineAlone)
{
	auto p = parse({"--server",   "ws://box:8080/ws",
			"--room",     "demo",
			"--name",     " Ann ",
			"--camera",   "2",
			"--mic",      "test",
			"--codec",    "h264",
			"--headless", "--events",
			"json",	      "--latency",
			"20",	      "--bitrate",
			"800",	      "--token",
			"t"});
	ASSERT_EQ(p.result, ParseResult::Run) << p.error;
	EXPECT_EQ(p.options.server, "ws://box:8080/ws");
	EXPECT_EQ(p.options.room, "demo");
	EXPECT_EQ(p.options.name, "Ann"); /* trimmed, as the server would */
	EXPECT_EQ(p.options.camera, "2");
	EXPECT_EQ(p.options.mic, "test");
	EXPECT_EQ(p.options.codec, "h264");
	EXPECT_TRUE(p.options.headless);
	EXPECT_TRUE(p.options.events_json);
	EXPECT_EQ(p.options.latency_ms, 20u);
	EXPECT_EQ(p.options.bitrate_kbps, 800u);
	EXPECT_EQ(p.options.token, "t");
	EXPECT_TRUE(p.options.config_file.empty());
}

TEST_F(Settings, DefaultsNeedOnlyServerAndRoom)
{
	auto p = parse({"-s", "ws://h/ws", "-r", "x"});
	ASSERT_EQ(p.result, ParseResult::Run) << p.error;
	EXPECT_EQ(p.options.camera, "auto");
	EXPECT_EQ(p.options.mic, "auto");
	EXPECT_EQ(p.options.codec, "auto");
	EXPECT_FALSE(p.options.headless);
	EXPECT_FALSE(p.options.events_json);
	EXPECT_FALSE(p.options.latency_ms);
	EXPECT_FALSE(p.options.name.empty());
}

TEST_F(Settings, UserFileFillsWhatTheCommandLineLeavesAndLoses)
{
	std::string path = write("meshcall/meshcall.conf", "[meshcall]\n"
							   "server=http://box:8080\n"
							   "room=kitchen\n"
							   "name=Pi camera\n"
							   "camera=/dev/video0\n"
							   "headless=true\n"
							   "latency=50\n");
	auto p = parse({"--name", "Desk"});
	ASSERT_EQ(p.result, ParseResult::Run) << p.error;
	EXPECT_EQ(p.options.config_file, path);
	EXPECT_EQ(p.options.server, "ws://box:8080/ws"); /* http → ws, /ws added */
	EXPECT_EQ(p.options.room, "kitchen");
	EXPECT_EQ(p.options.name, "Desk"); /* the command line wins */
	EXPECT_EQ(p.options.camera, "/dev/video0");
	EXPECT_TRUE(p.options.headless);
	EXPECT_EQ(p.options.latency_ms, 50u);

	auto q = parse({"--room", "hall"});
	ASSERT_EQ(q.result, ParseResult::Run) << q.error;
	EXPECT_EQ(q.options.room, "hall");
}

TEST_F(Settings, ExplicitConfigFile)
{
	std::string path = write("elsewhere.conf", "[meshcall]\nserver=wss://a/ws\nroom=r1\n");
	auto p = parse({"--config", path});
	ASSERT_EQ(p.result, ParseResult::Run) << p.error;
	EXPECT_EQ(p.options.server, "wss://a/ws");
	EXPECT_EQ(p.options.room, "r1");

	auto missing = parse({"--config", path + ".nope"});
	EXPECT_EQ(missing.result, ParseResult::BadArgs);
	EXPECT_NE(missing.error.find("cannot read settings file"), std::string::npos);
}

TEST_F(Settings, BadValuesInTheFileAreBadArguments)
{
	write("meshcall/meshcall.conf", "[meshcall]\nserver=ws://a/ws\nroom=r\nheadless=maybe\n");
	auto p = parse({});
	EXPECT_EQ(p.result, ParseResult::BadArgs);
	EXPECT_NE(p.error.find("headless"), std::string::npos) << p.error;

	write("meshcall/meshcall.conf", "[meshcall]\nserver=ws://a/ws\nroom=r\nlatency=-3\n");
	p = parse({});
	EXPECT_EQ(p.result, ParseResult::BadArgs);
	EXPECT_NE(p.error.find("latency"), std::string::npos) << p.error;

	write("meshcall/meshcall.conf", "not a key file");
	p = parse({});
	EXPECT_EQ(p.result, ParseResult::BadArgs);
	EXPECT_NE(p.error.find("cannot read settings file"), std::string::npos) << p.error;
}

TEST_F(Settings, RoomLink)
{
	auto p = parse({"http://box.local:8080/r/demo"});
	ASSERT_EQ(p.result, ParseResult::Run) << p.error;
	EXPECT_EQ(p.options.server, "ws://box.local:8080/ws");
	EXPECT_EQ(p.options.room, "demo");

	p = parse({"https://meet.example/r/team-1?x=1", "--room", "other"});
	ASSERT_EQ(p.result, ParseResult::Run) << p.error;
	EXPECT_EQ(p.options.server, "wss://meet.example/ws");
	EXPECT_EQ(p.options.room, "other"); /* --room beats the link */

	for (const char *bad : {"http://box/", "http://box/r/", "http://box/r/a b", "ftp://box/r/x",
				"box:8080/r/x"}) {
		auto b = parse({bad});
		EXPECT_EQ(b.result, ParseResult::BadArgs) << bad;
	}
	auto two = parse({"http://a/r/x", "http://b/r/y"});
	EXPECT_EQ(two.result, ParseResult::BadArgs);
}

TEST_F(Settings, EachBadArgumentSaysWhy)
{
	struct {
		std::vector<std::string> args;
		const char *mentions;
	} cases[] = {
	    {{"--room", "r"}, "no server"},
	    {{"--server", "ws://a/ws"}, "no room"},
	    {{"-s", "ws://a/ws", "-r", "a/b"}, "--room"},
	    {{"-s", "ws://a/ws", "-r", std::string(65, 'a')}, "--room"},
	    {{"-s", "http://a/x", "-r", "r"}, "--server"},
	    {{"-s", "ws://", "-r", "r"}, "--server"},
	    {{"-s", "ws://a/ws", "-r", "r", "--name", "   "}, "--name"},
	    {{"-s", "ws://a/ws", "-r", "r", "--codec", "VP9"}, "--codec"},
	    {{"-s", "ws://a/ws", "-r", "r", "--events", "xml"}, "--events"},
	    {{"-s", "ws://a/ws", "-r", "r", "--latency", "99999"}, "--latency"},
	    {{"-s", "ws://a/ws", "-r", "r", "--bitrate", "10"}, "--bitrate"},
	    {{"-s", "ws://a/ws", "-r", "r", "--camera", ""}, "--camera"},
	    {{"--bogus"}, "bogus"},
	    {{"--latency", "soon"}, "latency"},
	};
	for (const auto &c : cases) {
		auto p = parse(c.args);
		EXPECT_EQ(p.result, ParseResult::BadArgs) << c.args[0];
		EXPECT_NE(p.error.find(c.mentions), std::string::npos)
		    << c.args[0] << ": " << p.error;
	}
}

TEST_F(Settings, ListDevicesNeedsNothingElse)
{
	auto p = parse({"--list-devices"});
	ASSERT_EQ(p.result, ParseResult::Run) << p.error;
	EXPECT_TRUE(p.options.list_devices);
}

TEST(Commands, Parse)
{
	using K = Command::Kind;
	struct {
		const char *line;
		K kind;
		const char *argument;
	} cases[] = {
	    {"hello there", K::Chat, "hello there"},
	    {"hello\r", K::Chat, "hello"},
	    {"  indented", K::Chat, "  indented"},
	    {"//not a command", K::Chat, "/not a command"},
	    {"", K::Empty, ""},
	    {"   ", K::Empty, ""},
	    {"/devices", K::Devices, ""},
	    {"/camera 2", K::Camera, "2"},
	    {"/camera   Fake Camera Red  ", K::Camera, "Fake Camera Red"},
	    {"/mic test", K::Mic, "test"},
	    {"/mute", K::Mute, ""},
	    {"/video", K::Video, ""},
	    {"/stats", K::Stats, ""},
	    {"/quit", K::Quit, ""},
	    {"/help", K::Help, ""},
	};
	for (const auto &c : cases) {
		Command cmd = parse_command(c.line);
		EXPECT_EQ(cmd.kind, c.kind) << c.line;
		EXPECT_EQ(cmd.argument, c.argument) << c.line;
	}
	for (const char *bad : {"/camera", "/mic  ", "/quit now", "/cam 1", "/"}) {
		Command cmd = parse_command(bad);
		EXPECT_EQ(cmd.kind, K::Invalid) << bad;
		EXPECT_FALSE(cmd.argument.empty()) << bad;
	}
}

TEST(Commands, ResolveDevice)
{
	std::vector<std::string> devices{"Cam A", "Cam B"};
	EXPECT_EQ(resolve_device("1", devices), "Cam A");
	EXPECT_EQ(resolve_device("2", devices), "Cam B");
	EXPECT_EQ(resolve_device("0", devices), std::nullopt);
	EXPECT_EQ(resolve_device("3", devices), std::nullopt);
	EXPECT_EQ(resolve_device("Cam B", devices), "Cam B");
	EXPECT_EQ(resolve_device("Cam C", devices), std::nullopt);
	EXPECT_EQ(resolve_device("test", devices), "test");
	EXPECT_EQ(resolve_device("auto", devices), "auto");
	EXPECT_EQ(resolve_device("/dev/video4", devices), "/dev/video4");
	EXPECT_EQ(resolve_device("2x", devices), std::nullopt);
}

/* Event lines are JSON whatever the text: quotes, control characters,
 * bytes that are not UTF-8 (a driver's device name). */
TEST(Events, TextIsAlwaysValidJson)
{
	const std::string awkward = "a \"quoted\"\n\tline \\ \x01 caf\xc3\xa9 bad\xff end";
	std::string line = ObjectWriter()
			       .string("text", awkward)
			       .integer("n", -42)
			       .number("rtt_ms", 1.25)
			       .boolean("on", true)
			       .raw("list", ArrayWriter().string("x").string("\xfe").finish())
			       .finish();
	g_autoptr(JsonParser) parser = json_parser_new();
	ASSERT_TRUE(json_parser_load_from_data(parser, line.c_str(), -1, nullptr)) << line;
	JsonObject *o = json_node_get_object(json_parser_get_root(parser));
	std::string text = json_object_get_string_member(o, "text");
	EXPECT_EQ(text.substr(0, 24), "a \"quoted\"\n\tline \\ \x01 caf");
	EXPECT_NE(text.find("caf\xc3\xa9 bad"), std::string::npos);
	EXPECT_NE(text.find(" end"), std::string::npos);
	EXPECT_EQ(json_object_get_int_member(o, "n"), -42);
	EXPECT_NEAR(json_object_get_double_member(o, "rtt_ms"), 1.2, 0.051);
	EXPECT_TRUE(json_object_get_boolean_member(o, "on"));
	EXPECT_EQ(json_array_get_length(json_object_get_array_member(o, "list")), 2u);
}

} // namespace

int main(int argc, char **argv)
{
	config_home = g_dir_make_tmp("meshcall-options-XXXXXX", nullptr);
	g_setenv("XDG_CONFIG_HOME", config_home, TRUE);
	::testing::InitGoogleTest(&argc, argv);
	int result = RUN_ALL_TESTS();
	g_autofree gchar *sub = g_build_filename(config_home, "meshcall", nullptr);
	g_rmdir(sub);
	g_rmdir(config_home);
	g_free(config_home);
	return result;
}
