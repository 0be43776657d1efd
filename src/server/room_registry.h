// SPDX-License-Identifier: LGPL-2.1-or-later
/* RoomRegistry: the whole of the signaling server's behaviour as pure logic.
 * A message comes in from a connection, messages go out through an Outbox.
 * No sockets, no main loop, no clock of its own: the transport (transport.cpp)
 * and the unit tests drive it alike. Not thread-safe: call it from one thread. */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/protocol.h"
#include "server/metrics.h"

namespace meshcall::server
{

/* The transport's handle for one WebSocket connection; never reused. */
using ConnectionId = std::uint64_t;

/* Where the registry's output goes. A message that fans out is encoded once
 * and the same buffer handed to every recipient. */
class Outbox
{
public:
	virtual ~Outbox() = default;
	virtual void send(ConnectionId to, const std::shared_ptr<const std::string> &text) = 0;
	/* Close the connection with a WebSocket close code. The registry has
	 * already forgotten it; disconnected() for it is then a no-op. */
	virtual void close(ConnectionId conn, int code, std::string_view reason) = 0;
};

class Clock
{
public:
	virtual ~Clock() = default;
	virtual std::int64_t monotonic_us() const; /* g_get_monotonic_time() */
	virtual std::int64_t wall_ms() const;	   /* g_get_real_time() / 1000 */
};

struct RateLimits {
	double messages_per_second = 100;
	double message_burst = 200;
	double chat_per_second = 5;
	double chat_burst = 10;
	/* More refusals than this within the window closes with 1008. */
	int flood_refusals = 1000;
	std::int64_t flood_window_us = 10 * 1000 * 1000;
};

struct TurnSettings {
	std::string url;
	std::string secret;
	std::int64_t ttl_seconds = 24 * 3600;
};

struct RegistryConfig {
	int capacity = 3;
	RateLimits rate;
	std::string token_secret; /* empty: tokens off */
	/* (1.1) Signs welcome.resume (server/state_dir.h keeps it across
	 * restarts); empty: random bytes, for this registry's life only. */
	std::string resume_secret;
	std::vector<std::string> stun_urls;
	std::optional<TurnSettings> turn;
};

struct RoomSnapshot {
	std::string room;
	int capacity = 0;
	std::vector<protocol::Peer> peers; /* in join order */
};

class RoomRegistry
{
public:
	using IdGenerator = std::function<std::uint64_t()>;

	/* ids defaults to 64 bits from getrandom(2). */
	RoomRegistry(RegistryConfig config, Outbox &outbox, const Clock &clock,
		     IdGenerator ids = {});
	~RoomRegistry();
	RoomRegistry(const RoomRegistry &) = delete;
	RoomRegistry &operator=(const RoomRegistry &) = delete;

	/* `client_address`: the peer's IP, for the per-address limit on
	 * logged refusals (server/log.h); empty when unknown. */
	void connected(ConnectionId conn, std::string_view client_address = {});
	/* One whole (reassembled) text frame, already known to be valid UTF-8. */
	void received_text(ConnectionId conn, std::string_view frame);
	void received_binary(ConnectionId conn, std::size_t size);
	/* The server shuts down: the connections that close from now on leave
	 * their rooms without `peer-left` to the others, who keep their peer
	 * connections and rejoin with resume. */
	void shutting_down();
	/* The connection is gone (closed, failed, timed out). Idempotent. */
	void disconnected(ConnectionId conn);
	/* Nothing arrived from it for the liveness timeout: forgotten like
	 * disconnected() (peers get peer-left) and counted in the metrics. The
	 * transport closes it. */
	void timed_out(ConnectionId conn);

	/* Snapshot for GET /api/rooms/{room}; an empty or unknown room gives
	 * peers = []. */
	RoomSnapshot snapshot(std::string_view room) const;
	/* true when tokens are off, or `token` is valid for `room` now. */
	bool token_allows(std::string_view token, std::string_view room) const;
	bool tokens_required() const;

	const RegistryConfig &config() const;
	const Metrics &metrics() const;
	/* The peer id of a joined connection. */
	std::optional<std::string> peer_id(ConnectionId conn) const;

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

} // namespace meshcall::server
