// SPDX-License-Identifier: LGPL-2.1-or-later
#include "server/conn_limits.h"

#include <algorithm>

namespace meshcall::server
{

namespace
{

/* Longer than this is no timeout at all; it also keeps µs in range. */
constexpr double kMaxTimeoutS = 24 * 3600;
/* A welcome (768 KiB at most, docs/protocol.md) must always fit. */
constexpr gint64 kMinSendQueueBytes = 1024 * 1024;
/* Room for the REST bodies and their headers' worth of slack. */
constexpr gint64 kMinBodyBytes = 1024;

} // namespace

std::vector<GOptionEntry> limit_option_entries(ConnectionLimits &l)
{
	return {
	    {"tls-handshake-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &l.tls_handshake_timeout_s,
	     "Close a connection whose TLS handshake is not done in time (default 10)", "SECONDS"},
	    {"header-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &l.header_timeout_s,
	     "Close a connection whose HTTP request head is not in within this (default 10)",
	     "SECONDS"},
	    {"body-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &l.body_timeout_s,
	     "Close an HTTP request whose body and response take longer (default 10)", "SECONDS"},
	    {"join-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &l.join_timeout_s,
	     "Close a WebSocket (1008) that has not joined a room within this (default 10)",
	     "SECONDS"},
	    {"max-connections", 0, 0, G_OPTION_ARG_INT64, &l.max_connections,
	     "Open connections at most; more get 503 or close 1008 (default 10000)", "N"},
	    {"max-connections-per-address", 0, 0, G_OPTION_ARG_INT64,
	     &l.max_connections_per_address,
	     "Open connections from one address (IPv6: one /64) at most; more get 503 or close "
	     "1008 (default 256; 0: no limit, e.g. behind a reverse proxy)",
	     "N"},
	    {"max-body-size", 0, 0, G_OPTION_ARG_INT64, &l.max_body_bytes,
	     "Refuse larger HTTP request bodies with 413, unread (default 65536)", "BYTES"},
	    {"send-queue-limit", 0, 0, G_OPTION_ARG_INT64, &l.send_queue_bytes,
	     "Close a WebSocket (1008) that leaves more than this unread (default 4194304)",
	     "BYTES"},
	    {},
	};
}

bool validate_limits(const ConnectionLimits &l, std::string *why)
{
	for (double t :
	     {l.tls_handshake_timeout_s, l.header_timeout_s, l.body_timeout_s, l.join_timeout_s}) {
		if (!(t > 0 && t <= kMaxTimeoutS)) {
			*why = "timeouts must be positive and at most a day";
			return false;
		}
	}
	if (l.max_connections < 1 || l.max_connections_per_address < 0) {
		*why = "--max-connections must be at least 1 and "
		       "--max-connections-per-address at least 0";
		return false;
	}
	if (l.max_body_bytes < kMinBodyBytes) {
		*why = "--max-body-size must be at least 1024";
		return false;
	}
	if (l.send_queue_bytes < kMinSendQueueBytes) {
		*why = "--send-queue-limit must be at least 1048576, the largest message "
		       "a client must accept";
		return false;
	}
	return true;
}

std::string address_key(GSocketAddress *address)
{
	if (!G_IS_INET_SOCKET_ADDRESS(address))
		return "(unknown)";
	GInetAddress *inet = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address));
	if (g_inet_address_get_family(inet) == G_SOCKET_FAMILY_IPV4) {
		g_autofree gchar *text = g_inet_address_to_string(inet);
		return text;
	}
	const guint8 *b = g_inet_address_to_bytes(inet);
	static constexpr guint8 kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (std::equal(kMapped, kMapped + 12, b)) {
		char text[16];
		g_snprintf(text, sizeof(text), "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
		return text;
	}
	char text[32];
	g_snprintf(text, sizeof(text), "%x:%x:%x:%x::/64", b[0] << 8 | b[1], b[2] << 8 | b[3],
		   b[4] << 8 | b[5], b[6] << 8 | b[7]);
	return text;
}

ConnectionQuota::ConnectionQuota(std::int64_t max_total, std::int64_t max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address)
{
}

ConnectionQuota::Admission ConnectionQuota::admit(const std::string &key)
{
	std::lock_guard lock(lock_);
	if (open_ >= max_total_)
		return Admission::ServerFull;
	auto it = per_address_.find(key);
	if (max_per_address_ > 0 && it != per_address_.end() && it->second >= max_per_address_)
		return Admission::AddressFull;
	per_address_[key]++;
	open_++;
	return Admission::Admitted;
}

void ConnectionQuota::release(const std::string &key)
{
	std::lock_guard lock(lock_);
	auto it = per_address_.find(key);
	if (it == per_address_.end())
		return;
	open_--;
	if (--it->second <= 0)
		per_address_.erase(it);
}

std::int64_t ConnectionQuota::open() const
{
	std::lock_guard lock(lock_);
	return open_;
}

} // namespace meshcall::server
