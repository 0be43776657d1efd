// SPDX-License-Identifier: LGPL-2.1-or-later
/* Counters and gauges for GET /metrics (Prometheus text exposition). */
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "protocol/protocol.h"

namespace meshcall::server
{

inline constexpr std::size_t kClientTypeCount =
    static_cast<std::size_t>(protocol::ClientType::Reconnect) + 1;
inline constexpr std::size_t kErrorCodeCount =
    static_cast<std::size_t>(protocol::ErrorCode::TooLarge) + 1;

struct Metrics {
	std::int64_t connections = 0; /* open WebSocket connections */
	std::int64_t rooms = 0;
	std::int64_t peers = 0; /* joined connections */
	std::uint64_t connections_total = 0;
	std::uint64_t joins_total = 0;
	/* (1.1) joins whose resume gave the id back, takeovers among them, and
	 * joins that carried a resume but got a fresh id */
	std::uint64_t resumes_total = 0;
	std::uint64_t resume_takeovers_total = 0;
	std::uint64_t resumes_refused_total = 0;
	/* client messages accepted, by type */
	std::array<std::uint64_t, kClientTypeCount> received{};
	/* messages delivered to another peer (chat counts once per recipient), by type */
	std::array<std::uint64_t, kClientTypeCount> relayed{};
	std::array<std::uint64_t, kErrorCodeCount> errors{};
	std::uint64_t closes_too_large = 0;
	std::uint64_t closes_flooding = 0;
	std::uint64_t closes_timeout = 0;
};

/* Prometheus text format, version 0.0.4. */
std::string render_prometheus(const Metrics &m);

} // namespace meshcall::server
