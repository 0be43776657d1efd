// SPDX-License-Identifier: LGPL-2.1-or-later
#include "load_options.h"

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>

namespace meshcall::bench
{

void usage()
{
	std::fputs("usage: meshcall-loadtool --server 127.0.0.1:PORT [options]\n"
		   "  --connections N       clients to open (300)\n"
		   "  --room-size K         clients per room \"bench-<k>\" (3)\n"
		   "  --rate R              messages/s sent by each client (1)\n"
		   "  --mix O:A:C:H         weights of offer:answer:candidate:chat (1:1:6:1)\n"
		   "  --max-chat-rate R     refuse a mix giving more chat/s per client (1)\n"
		   "  --duration S          measured sending time (20)\n"
		   "  --max-inflight N      handshakes+joins in flight during the ramp (64)\n"
		   "  --ramp-timeout S      give up ramping after S (120)\n"
		   "  --drain S             keep receiving after sending stops, at most S (5)\n"
		   "  --sdp-bytes B         size of each offer/answer sdp (300)\n"
		   "  --max-backlog B       per-connection send queue before dropping (262144)\n"
		   "  --server-pid PID      sample VmRSS/VmHWM/CPU of the server from /proc\n"
		   "  --report-every S      progress line on stderr every S (5)\n"
		   "  --label NAME          copied into the JSON summary\n"
		   "  --quickack            never delay our ACKs (diagnoses Nagle on the server)\n"
		   "  --source-addresses N  connect from 127.0.0.1..N in turn (32): the server\n"
		   "                        limits connections per address (IPv4 only)\n",
		   stderr);
}

bool parse_args(int argc, char **argv, Options &o)
{
	for (int i = 1; i < argc; i++) {
		std::string arg = argv[i];
		std::string value;
		if (const auto eq = arg.find('='); eq != std::string::npos) {
			value = arg.substr(eq + 1);
			arg.resize(eq);
		} else if (arg == "--help" || arg == "-h") {
			return false;
		} else if (arg == "--quickack") {
			o.quickack = true;
			continue;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			std::fprintf(stderr, "missing value for %s\n", arg.c_str());
			return false;
		}
		const char *v = value.c_str();
		if (arg == "--server")
			o.server = value;
		else if (arg == "--connections")
			o.connections = std::atoi(v);
		else if (arg == "--room-size")
			o.room_size = std::atoi(v);
		else if (arg == "--rate")
			o.rate = std::atof(v);
		else if (arg == "--max-chat-rate")
			o.max_chat_rate = std::atof(v);
		else if (arg == "--duration")
			o.duration = std::atof(v);
		else if (arg == "--max-inflight")
			o.max_inflight = std::atoi(v);
		else if (arg == "--ramp-timeout")
			o.ramp_timeout = std::atof(v);
		else if (arg == "--drain")
			o.drain = std::atof(v);
		else if (arg == "--sdp-bytes")
			o.sdp_bytes = std::size_t(std::atol(v));
		else if (arg == "--max-backlog")
			o.max_backlog = std::size_t(std::atol(v));
		else if (arg == "--server-pid")
			o.server_pid = std::atol(v);
		else if (arg == "--report-every")
			o.report_every = std::atof(v);
		else if (arg == "--source-addresses")
			o.source_addresses = std::atoi(v);
		else if (arg == "--label")
			o.label = value;
		else if (arg == "--mix") {
			if (std::sscanf(v, "%u:%u:%u:%u", &o.mix[0], &o.mix[1], &o.mix[2],
					&o.mix[3]) != 4) {
				std::fprintf(stderr, "--mix wants O:A:C:H\n");
				return false;
			}
		} else {
			std::fprintf(stderr, "unknown option %s\n", arg.c_str());
			return false;
		}
	}
	unsigned mix_sum = 0;
	for (auto w : o.mix)
		mix_sum += w;
	if (o.server.empty() || o.connections < 1 || o.room_size < 1 ||
	    o.room_size > kMaxRoomSize || o.rate <= 0 || mix_sum == 0 || mix_sum > 1000 ||
	    o.duration <= 0 || o.max_inflight < 1 || o.source_addresses < 1 ||
	    o.source_addresses > 254 || o.label.find('"') != std::string::npos) {
		std::fprintf(stderr, "bad or missing options\n");
		return false;
	}
	const double chat_rate = o.rate * o.mix[kChat] / mix_sum;
	if (chat_rate > o.max_chat_rate) {
		std::fprintf(stderr,
			     "the mix sends %.2f chat/s per client, over --max-chat-rate %.2f\n",
			     chat_rate, o.max_chat_rate);
		return false;
	}
	return true;
}

bool parse_loopback(const std::string &server, sockaddr_storage &addr, socklen_t &len)
{
	const auto colon = server.rfind(':');
	if (colon == std::string::npos)
		return false;
	std::string host = server.substr(0, colon);
	const int port = std::atoi(server.c_str() + colon + 1);
	if (port <= 0 || port > 65535)
		return false;
	std::memset(&addr, 0, sizeof(addr));
	if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
		host = host.substr(1, host.size() - 2);
		auto *a6 = reinterpret_cast<sockaddr_in6 *>(&addr);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(std::uint16_t(port));
		len = sizeof(*a6);
		return inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
	}
	auto *a4 = reinterpret_cast<sockaddr_in *>(&addr);
	a4->sin_family = AF_INET;
	a4->sin_port = htons(std::uint16_t(port));
	len = sizeof(*a4);
	return inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1 &&
	       (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
}

} // namespace meshcall::bench
