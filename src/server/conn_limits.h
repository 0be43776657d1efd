// SPDX-License-Identifier: LGPL-2.1-or-later
/* The limits that keep meshcall-server standing under hostile or broken
 * clients (issue 14): a timeout on every phase of a connection, quotas on
 * connections, request bodies and what a connection may leave unread.
 *
 * Memory is bounded by connections × what one connection may hold: at most
 * max_connections sockets, each with a request head of libsoup's 64 KiB, a
 * body of max_body_bytes, or a send queue of send_queue_bytes. */
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <gio/gio.h>

namespace meshcall::server
{

struct ConnectionLimits {
	/* Seconds from accept to the end of the TLS handshake. */
	double tls_handshake_timeout_s = 10;
	/* Seconds from accept (or the end of the handshake) to the end of the
	 * request head. */
	double header_timeout_s = 10;
	/* Seconds from the end of the head to the end of the response: the
	 * body, our answer, and the client reading it. */
	double body_timeout_s = 10;
	/* Seconds from the WebSocket upgrade to a successful join; then 1008. */
	double join_timeout_s = 10;
	/* Open TCP connections, every phase counted. */
	gint64 max_connections = 10000;
	/* Open connections from one address (IPv6: one /64); 0: no limit. */
	gint64 max_connections_per_address = 256;
	/* A request body larger than this is refused with 413 unread. */
	gint64 max_body_bytes = 64 * 1024;
	/* Bytes a WebSocket may hold unsent before it is closed with 1008. */
	gint64 send_queue_bytes = 4 * 1024 * 1024;
};

/* GOption entries (ending with the empty one) that write into `limits`, for
 * meshcall-server's main group; `limits` must outlive the parse. */
std::vector<GOptionEntry> limit_option_entries(ConnectionLimits &limits);

/* False, with *why, when a limit makes no sense. */
bool validate_limits(const ConnectionLimits &limits, std::string *why);

/* What one client address is counted as: the IPv4 address (an IPv4-mapped
 * IPv6 address counts as IPv4), or the /64 of an IPv6 address, since one
 * host commonly holds a whole /64. */
std::string address_key(GSocketAddress *address);

/* Counts open connections, in total and per address key; shared by every
 * worker thread. */
class ConnectionQuota
{
public:
	enum class Admission { Admitted, ServerFull, AddressFull };

	ConnectionQuota(std::int64_t max_total, std::int64_t max_per_address);

	/* Admitted ones are counted until release(). */
	Admission admit(const std::string &key);
	void release(const std::string &key);
	std::int64_t open() const;

private:
	const std::int64_t max_total_;
	const std::int64_t max_per_address_;
	mutable std::mutex lock_;
	std::int64_t open_ = 0;					    /* guarded by lock_ */
	std::unordered_map<std::string, std::int64_t> per_address_; /* guarded by lock_ */
};

} // namespace meshcall::server
