// SPDX-License-Identifier: LGPL-2.1-or-later
/* Logging in meshcall-server.
 *
 * Each area logs under a GLib log domain of its own, defined once in its
 * source file after the includes:
 *
 *   meshcall-server:main       start, stop, signals (main.cpp)
 *   meshcall-server:transport  sockets, WebSockets, shutdown (transport.cpp)
 *   meshcall-server:registry   joins, leaves, refusals, drops (room_registry.cpp)
 *   meshcall-server:http       plain HTTP requests (http_api.cpp)
 *
 * G_MESSAGES_DEBUG turns on the debug lines of the areas it names (a
 * space-separated list), of every area with "meshcall-server", of everything
 * with "all". main.cpp's writer prints one line per record:
 *
 *   12:34:56.789 meshcall-server:registry: conn 1090 peer 9f86d0818 room demo: left (Bob)
 *
 * A line about one connection, peer or room names it first, through
 * MESHCALL_LOG_ABOUT: the subject (any expression yielding a std::string) and
 * the message are formatted only when the level is enabled for the area. */
#pragma once

#include <cstring>
#include <string>

#include <glib.h>

namespace meshcall::server
{

/* Whether a record of `level` in `domain` is printed: GLib's rule, plus
 * "meshcall-server" in G_MESSAGES_DEBUG for every area of the server. */
inline bool log_enabled(GLogLevelFlags level, const char *domain)
{
	if (!g_log_writer_default_would_drop(level, domain))
		return true;
	const char *debug = g_getenv("G_MESSAGES_DEBUG");
	if (!debug || !domain || !g_str_has_prefix(domain, "meshcall-server:"))
		return false;
	constexpr std::size_t kLength = sizeof("meshcall-server") - 1;
	for (const char *p = debug; (p = std::strstr(p, "meshcall-server")); p += kLength) {
		bool starts = p == debug || p[-1] == ' ' || p[-1] == ',';
		char end = p[kLength];
		if (starts && (end == '\0' || end == ' ' || end == ','))
			return true;
	}
	return false;
}

} // namespace meshcall::server

#define MESHCALL_LOG_ABOUT(level, subject, format, ...)                                            \
	G_STMT_START                                                                               \
	{                                                                                          \
		if (::meshcall::server::log_enabled((level), G_LOG_DOMAIN)) {                      \
			const std::string meshcall_log_subject_ = (subject);                       \
			g_log(G_LOG_DOMAIN, (level), "%s: " format,                                \
			      meshcall_log_subject_.c_str() __VA_OPT__(, ) __VA_ARGS__);           \
		}                                                                                  \
	}                                                                                          \
	G_STMT_END

#define MESHCALL_MESSAGE_ABOUT(subject, ...)                                                       \
	MESHCALL_LOG_ABOUT(G_LOG_LEVEL_MESSAGE, subject, __VA_ARGS__)
#define MESHCALL_DEBUG_ABOUT(subject, ...)                                                         \
	MESHCALL_LOG_ABOUT(G_LOG_LEVEL_DEBUG, subject, __VA_ARGS__)
