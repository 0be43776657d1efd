// SPDX-License-Identifier: LGPL-2.1-or-later
/* A signaling outage stops no media (docs/protocol.md, "Keeping the call
 * through failures"): three pipelines in a call, the server is killed (or
 * stopped gracefully) and started again on the same port 8 s later with the
 * same state directory. Media goes peer to peer all along; every pipeline
 * rejoins with its resume token and gets its own id back. Runs inside a
 * private network namespace (tests/netns-run.sh). */
#include <glib/gstdio.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

#include "call_fixture.h"

using namespace meshcall::test;
using std::chrono::milliseconds;

namespace
{

constexpr double kMediaTimeout = 10;
/* How long the server stays down, and the acceptance bounds. */
constexpr double kOutageS = 8;
constexpr double kRelistedS = 10;
constexpr auto kMaxGap = milliseconds(500);

class Outage : public ::testing::Test
{
protected:
	void SetUp() override
	{
		g_autoptr(GError) error = nullptr;
		gchar *dir = g_dir_make_tmp("meshcall-outage-XXXXXX", &error);
		ASSERT_TRUE(dir) << error->message;
		state_dir = dir;
		g_free(dir);
		std::string err;
		ASSERT_TRUE(server.start({"--state-dir", state_dir}, &err)) << err;
	}

	void TearDown() override
	{
		peers.clear();
		if (!state_dir.empty()) {
			std::string out, err;
			run_command({"rm", "-rf", state_dir}, nullptr, &out, &err);
		}
	}

	void start_call()
	{
		const std::uint32_t colours[] = {kRed, kGreen, kBlue};
		const int tones[] = {440, 660, 880};
		const char *names[] = {"A", "B", "C"};
		for (int i = 0; i < 3; i++) {
			peers.push_back(std::make_unique<CallPeer>(
			    server.ws_url(), "room", PeerOptions{names[i], colours[i], tones[i]}));
			ASSERT_TRUE(peers.back()->play());
			/* One at a time: each joiner offers to those already there. */
			ASSERT_WAIT(!peers.back()->id().empty(), kMediaTimeout);
		}
		ASSERT_WAIT(everyone_sees_everyone(), kMediaTimeout);
	}

	bool everyone_sees_everyone() const
	{
		for (const auto &p : peers)
			for (const auto &other : peers) {
				if (p == other)
					continue;
				auto c = p->tile_colour(other->id());
				if (!p->has_video_from(other->id()) || !c ||
				    !c->near(other->options().rgb))
					return false;
			}
		return true;
	}

	std::vector<FlowMonitor::Stream> all_streams() const
	{
		std::vector<FlowMonitor::Stream> streams;
		for (const auto &p : peers)
			for (const auto &other : peers)
				if (p != other)
					streams.push_back({p.get(), other->id()});
		return streams;
	}

	/* GET /api/rooms/room lists every peer, by the id it had before. */
	bool room_lists_everyone(ServerProcess &s, const std::vector<std::string> &ids) const
	{
		HttpResponse r = http_request("GET", s.base_url() + "/api/rooms/room");
		if (r.status != 200)
			return false;
		for (const auto &id : ids)
			if (r.body.find("\"" + id + "\"") == std::string::npos)
				return false;
		return true;
	}

	/* The whole scenario, with the server ended by `signal`. */
	void outage(int signal)
	{
		ASSERT_NO_FATAL_FAILURE(start_call());
		std::vector<std::string> ids;
		for (const auto &p : peers)
			ids.push_back(p->id());
		const int port = server.port();

		FlowMonitor flow(all_streams());
		ASSERT_TRUE(server.stop(kTimeout, signal));
		/* The outage itself: media must go on meanwhile. */
		pump_for(kOutageS);
		ServerProcess again;
		std::string err;
		ASSERT_TRUE(again.start(
		    {"--listen", "127.0.0.1:" + std::to_string(port), "--state-dir", state_dir},
		    &err))
		    << err;
		ASSERT_WAIT(room_lists_everyone(again, ids), kRelistedS);
		for (size_t i = 0; i < peers.size(); i++)
			EXPECT_EQ(peers[i]->id(), ids[i]) << "peer " << i << " got a new id";
		/* A little of the call after the rejoin, in the gap measure too. */
		pump_for(1.0);
		flow.stop();
		std::string which;
		const auto gap = flow.max_gap(&which);
		EXPECT_LE(gap, kMaxGap) << "no frame " << which << " for " << ms(gap) << " ms";
		EXPECT_TRUE(everyone_sees_everyone());
		for (const auto &p : peers) {
			EXPECT_FALSE(p->error()) << p->options().name << ": " << *p->error();
			EXPECT_EQ(p->peer_left_count(), 0u) << p->options().name;
		}
		std::printf("outage (signal %d): longest gap %.0f ms (%s), timer late by up to "
			    "%.0f ms\n",
			    signal, ms(gap), which.c_str(), ms(flow.max_interval()));
	}

	ServerProcess server;
	std::string state_dir;
	std::vector<std::unique_ptr<CallPeer>> peers;
};

/* Before the 1.1 client rules the pipelines tore every peer connection down
 * on losing the server: no frames for the whole outage, and new ids after. */
TEST_F(Outage, ServerKilledMediaGoesOnAndIdsComeBack)
{
	outage(SIGKILL);
}

/* Graceful: the server closes every connection with 1001 first. */
TEST_F(Outage, ServerStoppedMediaGoesOnAndIdsComeBack)
{
	outage(SIGTERM);
}

/* The local ports of the established TCP connections to `port`. */
std::set<std::string> client_ports(int port)
{
	std::string out, err;
	std::set<std::string> ports;
	if (!run_command(
		{"ss", "-Htn", "state", "established", "dport", "=", ":" + std::to_string(port)},
		nullptr, &out, &err))
		return ports;
	std::istringstream lines(out);
	std::string line;
	while (std::getline(lines, line)) {
		/* Recv-Q Send-Q Local:Port Peer:Port */
		std::istringstream fields(line);
		std::string recv_q, send_q, local;
		fields >> recv_q >> send_q >> local;
		auto colon = local.rfind(':');
		if (colon != std::string::npos)
			ports.insert(local.substr(colon + 1));
	}
	return ports;
}

/* A's signaling connection dies silently (its packets dropped in this
 * test's namespace): A notices the silence (20 s), rejoins with its resume
 * long before the server's 45 s liveness rule, and takes its id over; the
 * server drops the stale connection without peer-left, B hears nothing of
 * it, and media never stopped. */
TEST_F(Outage, ASilentlyDeadConnectionIsTakenOver)
{
	auto a = std::make_unique<CallPeer>(server.ws_url(), "room", PeerOptions{"A", kRed, 440});
	ASSERT_TRUE(a->play());
	ASSERT_WAIT(!a->id().empty(), kMediaTimeout);
	const std::set<std::string> ports = client_ports(server.port());
	ASSERT_EQ(ports.size(), 1u) << "A's signaling connection, and no other";
	const std::string a_port = *ports.begin();
	auto b = std::make_unique<CallPeer>(server.ws_url(), "room", PeerOptions{"B", kGreen, 660});
	ASSERT_TRUE(b->play());
	ASSERT_WAIT(!b->id().empty(), kMediaTimeout);
	peers.push_back(std::move(a));
	peers.push_back(std::move(b));
	ASSERT_WAIT(everyone_sees_everyone(), kMediaTimeout);
	const std::string a_id = peers[0]->id();

	FlowMonitor flow(all_streams());
	std::string cmd = "nft -f - <<'EOF'\ntable inet dead {\n chain out { type filter hook "
			  "output priority 0;\n  tcp sport " +
			  a_port + " drop\n  tcp dport " + a_port + " drop\n }\n}\nEOF\n";
	ASSERT_EQ(std::system(cmd.c_str()), 0);
	const auto cut = std::chrono::steady_clock::now();
	auto takeovers = [&] {
		HttpResponse r = http_request("GET", server.base_url() + "/metrics");
		return metric_sum(r.body, "meshcall_resume_takeovers_total");
	};
	/* Well before the server's own 45 s liveness rule would drop A. */
	ASSERT_WAIT(takeovers() >= 1, 40);
	const double after =
	    std::chrono::duration<double>(std::chrono::steady_clock::now() - cut).count();
	pump_for(1.0);
	flow.stop();
	EXPECT_EQ(peers[0]->id(), a_id);
	EXPECT_EQ(peers[1]->peer_left_count(), 0u) << "B was told A left";
	EXPECT_TRUE(everyone_sees_everyone());
	std::string which;
	FlowMonitor::Clock::time_point ended;
	const auto gap = flow.max_gap(&which, &ended);
	EXPECT_LE(gap, kMaxGap) << "no frame " << which << " for " << ms(gap) << " ms, until "
				<< ms(ended - cut) << " ms after the cut";
	for (const auto &p : peers)
		EXPECT_FALSE(p->error()) << p->options().name << ": " << *p->error();
	std::printf("takeover %.1f s after the connection died; longest gap %.0f ms\n", after,
		    ms(gap));
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
