// SPDX-License-Identifier: LGPL-2.1-or-later
/* Hostile clients for the abuse suite, in plain POSIX sockets: many of them at
 * once, from several loopback source addresses (127.0.0.0/8 is all ours, and
 * the server limits connections per address), each doing exactly as little
 * as the test wants. Everything is loopback and bounded in time. */
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "support/sanitizers.h"

namespace meshcall::test::abuse
{

/* In an AddressSanitizer build the server's RSS says nothing about leaks or
 * bounds (freed memory waits in ASan's quarantine, every allocation carries
 * redzones), so RSS limits are checked only without it; the rest of each
 * test still runs. */
inline constexpr bool kRssIsMeaningful = !meshcall::test::kSanitized;

/* Entries of /proc/PID/fd; -1 when unreadable. */
int open_fds(int pid);
/* VmRSS of PID in KiB; -1 when unreadable. */
long rss_kb(int pid);
/* Sets PID's soft RLIMIT_NOFILE (at most its hard limit); false on failure. */
bool set_fd_limit(int pid, unsigned long limit);

/* "127.0.0.<first + index % count>". */
std::string loopback_source(int index, int first, int count);

/* A TCP connection from `source` to 127.0.0.1:port, connected (blocking),
 * then non-blocking; -1 on failure. */
int connect_from(const std::string &source, int port);

/* One GET on a fresh connection from 127.0.0.1, timed from connect() to the
 * whole response. */
struct TimedGet {
	int status = 0; /* 0: failed */
	double seconds = 0;
	std::string error;
};
TimedGet timed_get(int port, const std::string &path, double timeout_s = 2);

/* `total` GET /healthz, each on its own keep-alive connection (no
 * Connection: close) that the client closes once the response is in,
 * `concurrency` at a time, from the given sources. `every` is called after
 * every `every_n` responses. Returns the responses with status 200. */
int keepalive_requests(int port, int total, int concurrency,
		       const std::vector<std::string> &sources, int every_n,
		       const std::function<void(int done)> &every, double timeout_s);

/* Many WebSockets that upgrade and then say nothing. */
class SilentWebSockets
{
public:
	enum class State { Connecting, Upgraded, Refused, Closed, Ended };
	struct Socket {
		int fd = -1;
		State state = State::Connecting;
		std::string in;
		int http_status = 0;
		int close_code = 0;
		std::string close_reason;
		double sent_at = 0; /* the upgrade request; monotonic seconds */
		double upgraded_at = 0;
		double closed_at = 0;
	};

	SilentWebSockets() = default;
	SilentWebSockets(const SilentWebSockets &) = delete;
	SilentWebSockets &operator=(const SilentWebSockets &) = delete;
	~SilentWebSockets();

	/* Connects `count` more from `sources` in turn and sends their upgrade
	 * requests; false when a connect fails. */
	bool open(int port, int count, const std::vector<std::string> &sources);
	/* Reads what arrived until `done` holds or `timeout_s` passes. */
	bool pump_until(const std::function<bool()> &done, double timeout_s);
	int count(State state) const;
	const std::vector<Socket> &sockets() const { return sockets_; }

private:
	void read_from(Socket &s);

	int epoll_fd_ = -1;
	std::vector<Socket> sockets_;
};

double monotonic_s();

} // namespace meshcall::test::abuse
