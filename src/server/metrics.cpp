// SPDX-License-Identifier: LGPL-2.1-or-later
#include "server/metrics.h"

#include <cstdio>

namespace meshcall::server
{

namespace
{

void gauge(std::string &out, const char *name, const char *help, std::int64_t value)
{
	char line[256];
	std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help,
		      name, name, static_cast<long long>(value));
	out += line;
}

void counter(std::string &out, const char *name, const char *help, std::uint64_t value)
{
	char line[256];
	std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
		      name, name, static_cast<unsigned long long>(value));
	out += line;
}

template <typename Enum, std::size_t N>
void labelled(std::string &out, const char *name, const char *help, const char *label,
	      const std::array<std::uint64_t, N> &values)
{
	char line[256];
	std::snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	out += line;
	for (std::size_t i = 0; i < N; i++) {
		std::string_view key = protocol::to_string(static_cast<Enum>(i));
		std::snprintf(line, sizeof(line), "%s{%s=\"%.*s\"} %llu\n", name, label,
			      static_cast<int>(key.size()), key.data(),
			      static_cast<unsigned long long>(values[i]));
		out += line;
	}
}

} // namespace

std::string render_prometheus(const Metrics &m)
{
	std::string out;
	out.reserve(4096);
	gauge(out, "meshcall_connections", "Open WebSocket connections.", m.connections);
	gauge(out, "meshcall_rooms", "Rooms with at least one peer.", m.rooms);
	gauge(out, "meshcall_peers", "Connections that have joined a room.", m.peers);
	counter(out, "meshcall_connections_total", "WebSocket connections accepted.",
		m.connections_total);
	counter(out, "meshcall_joins_total", "Successful joins.", m.joins_total);
	counter(out, "meshcall_resumes_total", "Joins whose resume gave the previous id back.",
		m.resumes_total);
	counter(out, "meshcall_resume_takeovers_total",
		"Resumes whose id an open connection held; it was closed with 1001.",
		m.resume_takeovers_total);
	counter(out, "meshcall_resumes_refused_total",
		"Joins whose resume was not honoured; they got a fresh id.",
		m.resumes_refused_total);
	labelled<protocol::ClientType>(out, "meshcall_messages_received_total",
				       "Client messages accepted, by type.", "type", m.received);
	labelled<protocol::ClientType>(out, "meshcall_messages_relayed_total",
				       "Messages delivered to another peer, by type.", "type",
				       m.relayed);
	labelled<protocol::ErrorCode>(out, "meshcall_errors_total", "Errors sent, by code.", "code",
				      m.errors);
	counter(out, "meshcall_closes_too_large_total", "Connections closed with 1009.",
		m.closes_too_large);
	counter(out, "meshcall_closes_flooding_total", "Connections closed with 1008 for flooding.",
		m.closes_flooding);
	counter(out, "meshcall_closes_timeout_total", "Connections closed for silence.",
		m.closes_timeout);
	return out;
}

} // namespace meshcall::server
