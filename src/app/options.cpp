// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcall app's settings. See options.h. */
#include "options.h"

#include <cstdlib>
#include <string_view>

#include "protocol/protocol.h"

namespace meshcall::app
{

namespace proto = meshcall::protocol;

namespace
{

constexpr const char *kGroup = "meshcall";

/* What the command line said; unset members come from the settings file. */
struct CommandLine {
	gchar *server = nullptr;
	gchar *room = nullptr;
	gchar *name = nullptr;
	gchar *token = nullptr;
	gchar *camera = nullptr;
	gchar *mic = nullptr;
	gchar *codec = nullptr;
	gchar *events = nullptr;
	gchar *config = nullptr;
	gchar *ice_addresses = nullptr;
	gchar *video_sink = nullptr;
	gchar *audio_sink = nullptr;
	gboolean headless = FALSE;
	gboolean list_devices = FALSE;
	gboolean version = FALSE;
	gint latency = -1;
	gint bitrate = -1;
	gchar **rest = nullptr;

	CommandLine() = default;
	CommandLine(const CommandLine &) = delete;
	~CommandLine()
	{
		for (gchar *s : {server, room, name, token, camera, mic, codec, events, config,
				 ice_addresses, video_sink, audio_sink})
			g_free(s);
		g_strfreev(rest);
	}
};

bool starts_with(std::string_view s, std::string_view prefix)
{
	return s.substr(0, prefix.size()) == prefix;
}

/* Sets `out` from the file's key when the command line left it unset. */
bool take_string(GKeyFile *file, const char *key, const gchar *cli, std::string &out)
{
	if (cli) {
		out = cli;
		return true;
	}
	g_autofree gchar *v = file ? g_key_file_get_string(file, kGroup, key, nullptr) : nullptr;
	if (v)
		out = g_strstrip(v);
	return v != nullptr;
}

bool take_uint(GKeyFile *file, const char *key, gint cli, std::optional<unsigned> &out,
	       std::string &error)
{
	if (cli >= 0) {
		out = static_cast<unsigned>(cli);
		return true;
	}
	if (!file || !g_key_file_has_key(file, kGroup, key, nullptr))
		return true;
	g_autoptr(GError) err = nullptr;
	gint v = g_key_file_get_integer(file, kGroup, key, &err);
	if (err || v < 0) {
		error = std::string("settings file: ") + key + " must be a whole number ≥ 0";
		return false;
	}
	out = static_cast<unsigned>(v);
	return true;
}

bool take_bool(GKeyFile *file, const char *key, gboolean cli, bool &out, std::string &error)
{
	if (cli) {
		out = true;
		return true;
	}
	if (!file || !g_key_file_has_key(file, kGroup, key, nullptr))
		return true;
	g_autoptr(GError) err = nullptr;
	gboolean v = g_key_file_get_boolean(file, kGroup, key, &err);
	if (err) {
		error = std::string("settings file: ") + key + " must be true or false";
		return false;
	}
	out = v;
	return true;
}

std::string default_name()
{
	const char *real = g_get_real_name();
	if (real && *real && !g_str_equal(real, "Unknown"))
		return real;
	return g_get_host_name();
}

/* Loads --config FILE (which must exist) or the user's file (if any). */
bool load_settings(const gchar *path, GKeyFile **out, std::string &used, std::string &error)
{
	g_autofree gchar *user = nullptr;
	if (!path) {
		user =
		    g_build_filename(g_get_user_config_dir(), "meshcall", "meshcall.conf", nullptr);
		if (!g_file_test(user, G_FILE_TEST_EXISTS))
			return true;
		path = user;
	}
	GKeyFile *file = g_key_file_new();
	g_autoptr(GError) err = nullptr;
	if (!g_key_file_load_from_file(file, path, G_KEY_FILE_NONE, &err)) {
		error = std::string("cannot read settings file ") + path + ": " + err->message;
		g_key_file_free(file);
		return false;
	}
	used = path;
	*out = file;
	return true;
}

} // namespace

bool parse_room_url(const std::string &url, std::string &server, std::string &room)
{
	std::string_view u = url;
	std::string scheme;
	if (starts_with(u, "http://"))
		scheme = "ws://";
	else if (starts_with(u, "https://"))
		scheme = "wss://";
	else
		return false;
	u.remove_prefix(scheme == "ws://" ? 7 : 8);
	auto slash = u.find('/');
	if (slash == 0 || slash == std::string_view::npos)
		return false;
	std::string_view host = u.substr(0, slash);
	std::string_view path = u.substr(slash);
	if (!starts_with(path, "/r/"))
		return false;
	std::string_view r = path.substr(3);
	r = r.substr(0, r.find_first_of("?#"));
	if (!r.empty() && r.back() == '/')
		r.remove_suffix(1);
	g_autofree gchar *unescaped = g_uri_unescape_string(std::string(r).c_str(), nullptr);
	if (!unescaped || !proto::is_valid_room(unescaped))
		return false;
	server = scheme + std::string(host) + "/ws";
	room = unescaped;
	return true;
}

std::optional<std::string> normalise_server_url(const std::string &url)
{
	std::string_view u = url;
	for (std::string_view ws : {"ws://", "wss://"})
		if (starts_with(u, ws) && u.size() > ws.size())
			return url;
	for (auto [http, ws] : {std::pair<std::string_view, std::string_view>{"http://", "ws://"},
				{"https://", "wss://"}}) {
		if (!starts_with(u, http))
			continue;
		std::string_view rest = u.substr(http.size());
		auto slash = rest.find('/');
		std::string_view host = rest.substr(0, slash);
		std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
		if (host.empty() || (path != "" && path != "/" && path != "/ws"))
			return std::nullopt;
		return std::string(ws) + std::string(host) + "/ws";
	}
	return std::nullopt;
}

ParseResult parse_options(int argc, char **argv, Options &out, std::string &error,
			  GOptionGroup *extra)
{
	CommandLine cli;
	const GOptionEntry entries[] = {
	    {"server", 's', 0, G_OPTION_ARG_STRING, &cli.server,
	     "meshcall-server address (ws://host:8080/ws, or http://host:8080)", "URL"},
	    {"room", 'r', 0, G_OPTION_ARG_STRING, &cli.room, "Room to join", "ROOM"},
	    {"name", 'n', 0, G_OPTION_ARG_STRING, &cli.name,
	     "Name the others see (default: your name)", "NAME"},
	    {"token", 't', 0, G_OPTION_ARG_STRING, &cli.token,
	     "Join token, for servers that require one", "TOKEN"},
	    {"camera", 'c', 0, G_OPTION_ARG_STRING, &cli.camera,
	     "Camera: auto (default), test, a number or name from --list-devices, or a "
	     "node such as /dev/video2",
	     "DEV"},
	    {"mic", 'm', 0, G_OPTION_ARG_STRING, &cli.mic,
	     "Microphone: auto (default), test, a number or a name from --list-devices", "DEV"},
	    {"codec", 0, 0, G_OPTION_ARG_STRING, &cli.codec,
	     "Video codec sent: vp8, h264 or auto (a hardware H.264 encoder if there is one, "
	     "else VP8)",
	     "CODEC"},
	    {"headless", 0, 0, G_OPTION_ARG_NONE, &cli.headless,
	     "No window and no sound output (a camera box)", nullptr},
	    {"events", 0, 0, G_OPTION_ARG_STRING, &cli.events,
	     "Print room and media events on stdout, one JSON object per line", "json"},
	    {"list-devices", 0, 0, G_OPTION_ARG_NONE, &cli.list_devices,
	     "List cameras and microphones, then exit", nullptr},
	    {"config", 0, 0, G_OPTION_ARG_FILENAME, &cli.config,
	     "Settings file (default: ~/.config/meshcall/meshcall.conf)", "FILE"},
	    {"ice-address", 0, 0, G_OPTION_ARG_STRING, &cli.ice_addresses,
	     "Local addresses ICE may use (comma-separated; default: all)", "ADDR"},
	    {"latency", 0, 0, G_OPTION_ARG_INT, &cli.latency,
	     "Jitter buffer latency in ms (lower: less delay, less smoothing)", "MS"},
	    {"bitrate", 0, 0, G_OPTION_ARG_INT, &cli.bitrate, "Video bitrate in kbit/s", "KBPS"},
	    {"video-sink", 0, 0, G_OPTION_ARG_STRING, &cli.video_sink,
	     "Where the room's picture goes, as a gst-launch description (default "
	     "autovideosink; e.g. kmssink)",
	     "DESC"},
	    {"audio-sink", 0, 0, G_OPTION_ARG_STRING, &cli.audio_sink,
	     "Where the room's sound goes (default autoaudiosink)", "DESC"},
	    {"version", 0, 0, G_OPTION_ARG_NONE, &cli.version, "Print the version and exit",
	     nullptr},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &cli.rest, nullptr, nullptr},
	    {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[ROOM-LINK] - join a meshcall room");
	g_option_context_set_summary(
	    ctx, "Joins a meshcall room with this machine's camera and microphone.\n"
		 "ROOM-LINK is the link the browser shows, e.g. http://host:8080/r/demo;\n"
		 "otherwise give --server and --room.\n"
		 "While in the room, type a line to chat, or /help for commands.");
	g_option_context_add_main_entries(ctx, entries, nullptr);
	if (extra)
		g_option_context_add_group(ctx, extra);
	/* GOption shortens the array it is given (dropping what it parsed, not
	 * freeing it): hand it a copy of the pointers, and free the strings
	 * through the original list. */
	g_auto(GStrv) args = g_new0(gchar *, argc + 1);
	for (int i = 0; i < argc; i++)
		args[i] = g_strdup(argv[i]);
	g_autofree gchar **args_view =
	    static_cast<gchar **>(g_memdup2(args, (argc + 1) * sizeof(gchar *)));
	gchar **view = args_view;
	int args_count = argc;
	g_autoptr(GError) err = nullptr;
	if (!g_option_context_parse(ctx, &args_count, &view, &err)) {
		error = err->message;
		return ParseResult::BadArgs;
	}
	if (cli.version) {
		g_print("meshcall %s\n", MESHCALL_VERSION);
		return ParseResult::ExitOk;
	}

	GKeyFile *file = nullptr;
	if (!load_settings(cli.config, &file, out.config_file, error))
		return ParseResult::BadArgs;
	g_autoptr(GKeyFile) file_owner = file;

	std::string events;
	take_string(file, "events", cli.events, events);
	if (!events.empty() && events != "json") {
		error = "--events: only \"json\" is supported";
		return ParseResult::BadArgs;
	}
	out.events_json = events == "json";
	out.list_devices = cli.list_devices;
	if (out.list_devices)
		return ParseResult::Run; /* needs nothing else */

	if (cli.rest && cli.rest[0]) {
		if (cli.rest[1]) {
			error = std::string("unexpected argument ") + cli.rest[1];
			return ParseResult::BadArgs;
		}
		if (!parse_room_url(cli.rest[0], out.server, out.room)) {
			error = std::string(cli.rest[0]) +
				" is not a room link (http://host:port/r/ROOM)";
			return ParseResult::BadArgs;
		}
	}
	/* An explicit --server/--room beats the link's. */
	if (!take_string(file, "server", cli.server, out.server) && out.server.empty()) {
		error = "no server: give --server URL (or a room link)";
		return ParseResult::BadArgs;
	}
	if (!take_string(file, "room", cli.room, out.room) && out.room.empty()) {
		error = "no room: give --room ROOM (or a room link)";
		return ParseResult::BadArgs;
	}
	if (!take_string(file, "name", cli.name, out.name))
		out.name = default_name();
	take_string(file, "token", cli.token, out.token);
	take_string(file, "camera", cli.camera, out.camera);
	take_string(file, "mic", cli.mic, out.mic);
	take_string(file, "codec", cli.codec, out.codec);
	take_string(file, "ice-addresses", cli.ice_addresses, out.ice_addresses);
	take_string(file, "video-sink", cli.video_sink, out.video_sink);
	take_string(file, "audio-sink", cli.audio_sink, out.audio_sink);
	if (!take_bool(file, "headless", cli.headless, out.headless, error) ||
	    !take_uint(file, "latency", cli.latency, out.latency_ms, error) ||
	    !take_uint(file, "bitrate", cli.bitrate, out.bitrate_kbps, error))
		return ParseResult::BadArgs;

	/* Checks, in the order a person would fix them. */
	auto server = normalise_server_url(out.server);
	if (!server) {
		error = "--server: " + out.server +
			" is not a server address (ws://host:port/ws or http://host:port)";
		return ParseResult::BadArgs;
	}
	out.server = *server;
	if (!proto::is_valid_room(out.room)) {
		error = "--room: \"" + out.room + "\" is not a room name (1-64 of A-Z a-z 0-9 _ -)";
		return ParseResult::BadArgs;
	}
	auto name = proto::normalise_name(out.name);
	if (!name) {
		error = "--name: a name is 1-64 characters without control characters";
		return ParseResult::BadArgs;
	}
	out.name = *name;
	if (out.codec != "vp8" && out.codec != "h264" && out.codec != "auto") {
		error = "--codec: \"" + out.codec + "\" is not one of vp8, h264, auto";
		return ParseResult::BadArgs;
	}
	if (out.camera.empty() || out.mic.empty()) {
		error = "--camera/--mic: give auto, test, a number or a device name";
		return ParseResult::BadArgs;
	}
	if (out.latency_ms && *out.latency_ms > 10000) {
		error = "--latency: at most 10000 ms";
		return ParseResult::BadArgs;
	}
	if (out.bitrate_kbps && (*out.bitrate_kbps < 50 || *out.bitrate_kbps > 20000)) {
		error = "--bitrate: between 50 and 20000 kbit/s";
		return ParseResult::BadArgs;
	}
	return ParseResult::Run;
}

} // namespace meshcall::app
