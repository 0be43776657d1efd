// SPDX-License-Identifier: LGPL-2.1-or-later
/* One worker's accepted TCP connections, from accept() until their socket
 * closes: the quota check, TLS, the hand-over to SoupServer
 * (soup_server_accept_iostream) and a deadline on every phase before a
 * WebSocket exists. After an upgrade the transport's WebSocket code does the
 * timing (join timeout, liveness, the send bound); this still counts the
 * connection and passes the stream's write reports on.
 *
 * SoupServer here has no listener of its own, and libsoup 3.2.3 then closes
 * every plain HTTP connection once its response is written; the response
 * says so (Connection: close). That is the fix for libsoup never noticing a
 * client closing an idle keep-alive connection (docs/design.md, fact 14).
 *
 * Everything runs on the worker's thread. */
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include <libsoup/soup.h>

#include "server/conn_limits.h"
#include "server/counting_stream.h"

namespace meshcall::server
{

class AcceptedConnections
{
public:
	enum class Refusal { None, ServerFull, AddressFull };
	struct Upgrade {
		std::uint64_t handle = 0; /* 0: not a connection this table knows */
		Refusal refusal = Refusal::None;
	};

	/* Refused connections beyond this many at once (per worker) are closed
	 * unanswered: answering must not become the way to exhaust us. */
	static constexpr unsigned kMaxAnsweredRefusals = 32;
	/* After a 413 written ahead of libsoup: time for the client to read it. */
	static constexpr double kLingerS = 1.0;

	/* `certificate`: nullptr for plain HTTP. */
	AcceptedConnections(SoupServer *soup, GMainContext *context, GTlsCertificate *certificate,
			    const ConnectionLimits &limits, ConnectionQuota &quota);
	~AcceptedConnections();
	AcceptedConnections(const AcceptedConnections &) = delete;
	AcceptedConnections &operator=(const AcceptedConnections &) = delete;

	/* A fresh socket from the listener. */
	void accepted(GSocket *socket);
	/* `msg` became a WebSocket: its deadlines end, and `observer` gets the
	 * stream's write reports until detach(). */
	Upgrade upgraded(SoupServerMessage *msg, StreamObserver *observer);
	void detach(std::uint64_t handle);
	/* Acts on every deadline passed by `now_us` (monotonic). */
	void check_deadlines(std::int64_t now_us);
	/* Shutdown: drops connections libsoup does not have yet (TLS). */
	void close_all();
	std::size_t size() const { return conns_.size(); }

private:
	struct Conn;
	enum class Phase;

	static void on_request_started(SoupServer *, SoupServerMessage *msg, gpointer self);
	static void on_got_headers(SoupServerMessage *msg, gpointer);
	static void on_got_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer);
	static Conn *lookup(SoupServerMessage *msg);

	void handshake_done(std::uint64_t serial, GTlsConnection *tls);
	void serve(Conn *conn, GIOStream *io);
	void got_headers(Conn *conn, SoupServerMessage *msg);
	void refuse_body(Conn *conn, SoupServerMessage *msg, gint64 size);
	void expire(Conn *conn, std::int64_t now_us);
	void stream_closed(Conn *conn);
	/* Shuts its socket down if libsoup never had it, and forgets it. */
	void drop(Conn *conn);
	void log_refusal(Conn *conn, std::int64_t now_us);

	SoupServer *soup_; /* owned */
	GMainContext *context_;
	GTlsCertificate *certificate_; /* owned; nullptr: plain */
	const ConnectionLimits &limits_;
	ConnectionQuota &quota_;
	std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
	std::uint64_t next_serial_ = 1;
	unsigned answering_refusals_ = 0;
	/* Refusals are logged once a second at most, with a count. */
	std::int64_t last_refusal_log_us_ = 0;
	unsigned refusals_unlogged_ = 0;
};

} // namespace meshcall::server
