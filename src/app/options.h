// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcall app's settings: command line, settings file, and the checks
 * that make a bad one exit with code 2 before anything starts. Pure logic,
 * no GStreamer: tests/app checks it directly. */
#pragma once

#include <optional>
#include <string>

#include <glib.h>

namespace meshcall::app
{

struct Options {
	std::string server; /* ws:// or wss:// URL of the server's /ws */
	std::string room;
	std::string name;
	std::string token;
	std::string camera = "auto"; /* auto | test | N | a name | a node */
	std::string mic = "auto";
	std::string codec = "auto"; /* vp8 | h264 | auto */
	bool headless = false;
	bool events_json = false;
	bool list_devices = false;
	std::string ice_addresses;	      /* empty: every interface */
	std::optional<unsigned> latency_ms;   /* jitter buffer; unset: meshcallbin's */
	std::optional<unsigned> bitrate_kbps; /* video; unset: meshcallbin's */
	std::string video_sink;		      /* a gst-launch description; empty: default */
	std::string audio_sink;
	std::string config_file; /* the file read, for messages; may be empty */
};

/* Exit codes (README, "The meshcall app"). */
enum ExitCode {
	kExitOk = 0,
	kExitFailure = 1, /* the pipeline failed (plugin missing, device error) */
	kExitBadArguments = 2,
	kExitUnreachable = 3,
	kExitRefused = 4, /* room full, unauthorized */
};

enum class ParseResult {
	Run,
	ExitOk,	 /* --help, --version: already printed */
	BadArgs, /* `error` says why */
};

/* Parses the command line (GOption; `extra`, e.g. GStreamer's option group,
 * is added and owned from then on), then fills what it left unset from the settings file:
 * --config FILE, else $XDG_CONFIG_HOME/meshcall/meshcall.conf when present.
 * The command line wins. Validates everything. */
ParseResult parse_options(int argc, char **argv, Options &out, std::string &error,
			  GOptionGroup *extra = nullptr);

/* "http://host:8080/r/demo" → server "ws://host:8080/ws", room "demo"
 * (https → wss). False when `url` is not such a room link. */
bool parse_room_url(const std::string &url, std::string &server, std::string &room);

/* Accepts ws://, wss://, and http(s)://host[:port][/] (→ .../ws). Returns
 * the WebSocket URL, or nullopt. */
std::optional<std::string> normalise_server_url(const std::string &url);

} // namespace meshcall::app
