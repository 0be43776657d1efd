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

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
