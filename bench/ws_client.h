// SPDX-License-Identifier: LGPL-2.1-or-later
/* WsConnection: the client half of RFC 6455, just enough for a load generator.
 * Non-blocking socket, registered with the caller's epoll set, no threads, no
 * GLib: the point is to cost far less CPU per message than the server it drives.
 * It sends masked text frames, reads unmasked server frames (7/16/64-bit lengths,
 * fragments reassembled), answers pings and echoes close frames. */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace meshcall::bench
{

class WsConnection;

/* Called synchronously from WsConnection::handle_events(). */
class WsHandler
{
public:
	virtual ~WsHandler() = default;
	virtual void on_open(WsConnection &conn) = 0;
	/* message points into the connection's buffer: valid only during the call. */
	virtual void on_text(WsConnection &conn, std::string_view message,
			     std::uint64_t now_ns) = 0;
	/* code: the peer's close code, 1006 for a connection lost without one, 0 for a
	 * failure before the upgrade (reason says which). Called once per connection. */
	virtual void on_closed(WsConnection &conn, int code, std::string_view reason) = 0;
};

/* Totals over all connections of the process. */
struct WsCounters {
	std::uint64_t pings_answered = 0;
	std::uint64_t binary_frames = 0;
	std::uint64_t protocol_errors = 0;
	std::uint64_t bytes_in = 0;
	std::uint64_t bytes_out = 0;
	std::uint64_t write_calls = 0;
	std::uint64_t read_calls = 0;
};

class WsConnection
{
public:
	enum class State { Idle, Connecting, Handshaking, Open, Closing, Closed };

	WsConnection() = default;
	WsConnection(const WsConnection &) = delete;
	WsConnection &operator=(const WsConnection &) = delete;
	~WsConnection();

	/* Starts a non-blocking connect; tag comes back as epoll_event.data.u64.
	 * host_port goes into the Host header; `source`, when given, is the local
	 * address to connect from. False (and *error set) on immediate failure. */
	bool start(int epfd, const sockaddr *addr, socklen_t addr_len, std::string_view host_port,
		   std::uint64_t tag, const char **error, const sockaddr *source = nullptr,
		   socklen_t source_len = 0);
	void handle_events(std::uint32_t events, WsHandler &handler);

	/* Queues one masked text frame. False when the queue is over the backlog
	 * limit or the connection is not open: the message is dropped. */
	bool send_text(std::string_view text);
	void send_close(std::uint16_t code);
	/* Writes what is queued; call after queueing a batch. */
	void flush(WsHandler &handler);
	/* Drops the socket without a close handshake (reports code 1006). */
	void abort(WsHandler &handler);

	State state() const { return state_; }
	std::uint64_t tag() const { return tag_; }
	/* The upgrade succeeded and the socket is not closed yet. */
	bool upgraded() const { return state_ == State::Open || state_ == State::Closing; }
	std::size_t backlog() const { return out_.size() - out_sent_; }

	static void set_backlog_limit(std::size_t bytes) { backlog_limit_ = bytes; }
	/* Re-arm TCP_QUICKACK after every read, so the kernel never delays our ACKs:
	 * a diagnostic for Nagle stalls on the server's side of the socket. */
	static void set_quickack(bool on) { quickack_ = on; }
	static const WsCounters &counters() { return counters_; }

private:
	void on_writable(WsHandler &handler);
	void on_readable(WsHandler &handler);
	bool parse_handshake(WsHandler &handler);
	void parse_frames(WsHandler &handler);
	void queue_frame(std::uint8_t opcode, std::string_view payload);
	void update_interest();
	void finish(WsHandler &handler, int code, std::string_view reason);

	int fd_ = -1;
	int epfd_ = -1;
	std::uint64_t tag_ = 0;
	State state_ = State::Idle;
	bool close_sent_ = false;
	bool want_write_ = false;
	char accept_key_[29] = {}; /* expected Sec-WebSocket-Accept, NUL-terminated */
	std::string in_;	   /* bytes read, not yet parsed */
	std::string fragments_;	   /* a fragmented text message being reassembled */
	std::string out_;	   /* frames queued; out_sent_ bytes of it are written */
	std::size_t out_sent_ = 0;

	static inline std::size_t backlog_limit_ = 1 << 20;
	static inline bool quickack_ = false;
	static inline WsCounters counters_;
};

/* CLOCK_MONOTONIC in nanoseconds. */
std::uint64_t monotonic_ns();

} // namespace meshcall::bench
