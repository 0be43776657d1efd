// SPDX-License-Identifier: LGPL-2.1-or-later
/* Command line of meshcall-loadtool. */
#pragma once

#include <array>
#include <string>
#include <sys/socket.h>

namespace meshcall::bench
{

enum Relayed { kOffer, kAnswer, kCandidate, kChat, kRelayedTypes };
inline constexpr const char *kRelayedNames[kRelayedTypes] = {"offer", "answer", "candidate",
							     "chat"};
inline constexpr int kMaxRoomSize = 16;

struct Options {
	std::string server;
	int connections = 300;
	int room_size = 3;
	double rate = 1.0; /* messages per second per client */
	std::array<unsigned, kRelayedTypes> mix = {1, 1, 6, 1};
	double max_chat_rate = 1.0;
	double duration = 20;
	int max_inflight = 64;
	double ramp_timeout = 120;
	double settle_timeout = 15;
	double drain = 5;
	std::size_t sdp_bytes = 300;
	std::size_t max_backlog = 256 * 1024;
	long server_pid = 0;
	double report_every = 5;
	std::string label = "run";
	bool quickack = false;
	/* Clients connect from 127.0.0.1 up to 127.0.0.N, round-robin (IPv4
	 * only): meshcall-server limits connections per address. */
	int source_addresses = 32;
};

void usage();
/* False (after saying why on stderr) when the options are unusable. */
bool parse_args(int argc, char **argv, Options &o);
/* Only loopback literals: this tool must never load anything but this machine. */
bool parse_loopback(const std::string &server, sockaddr_storage &addr, socklen_t &len);

} // namespace meshcall::bench
