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
 * the message are formatted only when the level is enabled for the area.
 *
 * Lines a terminal can trust (issue 14): anything a client chose (Origin,
 * names, paths, methods) goes into a line through log_text(), which escapes
 * and truncates it; the writer passes every whole line through
 * log_line_text() as well and keeps it within kMaxLogLineBytes. Refusals go
 * through MESHCALL_REFUSAL_ABOUT, a few per second per client address. */
#pragma once

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <glib.h>

namespace meshcall::server
{

/* A whole log line, newline included. */
inline constexpr std::size_t kMaxLogLineBytes = 1024;
/* One client-supplied string inside a line: a name of 64 four-byte
 * characters fits whole. */
inline constexpr std::size_t kMaxLogTextBytes = 256;

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

/* Client-supplied text for a log line: control characters (C0, DEL, C1),
 * bytes that are not UTF-8, and the characters that reorder or break a line
 * on a terminal (bidi controls, U+2028/U+2029) become \xNN per byte, a
 * backslash becomes \\, and the result is cut to at most `max_bytes` with
 * " [+N bytes]" saying how much was left out. */
std::string log_text(std::string_view text, std::size_t max_bytes = kMaxLogTextBytes);

/* The writer's pass over a whole message: the same escapes except for the
 * backslash (log_text() output passes unchanged), cut to `max_bytes`. */
std::string log_line_text(std::string_view message, std::size_t max_bytes);

/* Decides which refusals from one client address are logged: a burst of
 * kBurst, then kPerSecond. The first one dropped is announced, the count of
 * the dropped ones goes with the next line logged. Thread-safe; the number
 * of addresses it tracks is bounded (the rest share one budget). */
class RefusalThrottle
{
public:
	static constexpr double kPerSecond = 2;
	static constexpr double kBurst = 5;
	static constexpr std::size_t kMaxAddresses = 1024;

	enum class Action { Log, AnnounceDropping, Drop };
	struct Verdict {
		Action action = Action::Log;
		std::uint64_t dropped_before = 0; /* with Log: not logged since the last one */
	};
	Verdict admit(std::string_view address, std::int64_t now_us);

private:
	struct Budget {
		double tokens = kBurst;
		std::int64_t updated_us = 0;
		std::uint64_t dropped = 0;
		bool announced = false;
	};
	Budget &budget_for(std::string_view address, std::int64_t now_us);

	std::mutex lock_;
	std::unordered_map<std::string, Budget> budgets_; /* guarded by lock_ */
	Budget others_;					  /* guarded by lock_ */
	std::int64_t last_sweep_us_ = 0;		  /* guarded by lock_ */
};

/* The process's one throttle: the registry and the transport share it, so the
 * limit holds per address whatever refused the client. */
RefusalThrottle &refusal_throttle();

/* Logs `text` (already safe: built with log_text()) about `subject` at
 * message level, if the throttle lets a refusal from `address` through. */
void log_refusal(const char *domain, std::string_view address, std::int64_t now_us,
		 const std::string &subject, const std::string &text);

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

/* A refusal of a client at `address` (the IP, without port), throttled per
 * address; subject and text are std::string expressions, built only when
 * messages of the area are printed. */
#define MESHCALL_REFUSAL_ABOUT(address, now_us, subject, text)                                     \
	G_STMT_START                                                                               \
	{                                                                                          \
		if (::meshcall::server::log_enabled(G_LOG_LEVEL_MESSAGE, G_LOG_DOMAIN))            \
			::meshcall::server::log_refusal(G_LOG_DOMAIN, (address), (now_us),         \
							(subject), (text));                        \
	}                                                                                          \
	G_STMT_END
