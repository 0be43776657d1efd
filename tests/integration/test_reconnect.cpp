// SPDX-License-Identifier: LGPL-2.1-or-later
/* One connection fails; the call heals (docs/protocol.md, "Reconnect"). Three
 * pipelines gather ICE on addresses of their own (127.0.0.2-4); everything
 * between A and B is dropped (nftables, in this test's private namespace;
 * UDP alone is not enough, ICE then finds a path over TCP) long enough for
 * their connection to fail, then let through again: A and B see
 * each other again within 5 s, and C never noticed. Runs inside a private
 * network namespace (tests/netns-run.sh). */
#include <chrono>
#include <cstdlib>
#include <string>

#include "call_fixture.h"
#include "support/sanitizers.h"

using namespace meshcall::test;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace
{

constexpr double kMediaTimeout = 10;
constexpr double kBlackoutS = 15;
/* The acceptance bound; an instrumented build gets kTimeScale times it. */
constexpr double kBackWithinS = 5 * kTimeScale;
constexpr auto kMaxGap = milliseconds(500);

bool nft(const std::string &script)
{
	std::string cmd = "nft -f - <<'EOF'\n" + script + "\nEOF\n";
	return std::system(cmd.c_str()) == 0;
}

class Reconnect : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string err;
		ASSERT_TRUE(server.start({}, &err)) << err;
	}

	std::unique_ptr<CallPeer> peer(const char *name, std::uint32_t rgb, int tone,
				       const char *address)
	{
		auto p = std::make_unique<CallPeer>(
		    server.ws_url(), "room",
		    PeerOptions{name, rgb, tone, true, true, "vp8",
				std::string("ice-addresses=") + address});
		EXPECT_TRUE(p->play());
		return p;
	}

	static bool sees(const CallPeer &p, const CallPeer &other)
	{
		auto c = p.tile_colour(other.id());
		return !other.id().empty() && p.has_video_from(other.id()) && c &&
		       c->near(other.options().rgb);
	}

	/* Frames decoded from `other` at `p`, by get-stats. */
	static std::uint64_t frames(const CallPeer &p, const CallPeer &other)
	{
		auto all = p.video_frames_rx();
		auto it = all.find(other.id());
		return it == all.end() ? 0 : it->second;
	}

	ServerProcess server;
};

TEST_F(Reconnect, AFailedConnectionIsRebuiltAndTheThirdPeerNeverNotices)
{
	auto a = peer("A", kRed, 440, "127.0.0.2");
	ASSERT_WAIT(!a->id().empty(), kMediaTimeout);
	auto b = peer("B", kGreen, 660, "127.0.0.3");
	ASSERT_WAIT(!b->id().empty(), kMediaTimeout);
	auto c = peer("C", kBlue, 880, "127.0.0.4");
	ASSERT_WAIT(sees(*a, *b) && sees(*b, *a) && sees(*a, *c) && sees(*c, *a) && sees(*b, *c) &&
			sees(*c, *b),
		    kMediaTimeout);

	std::printf("A %s, B %s, C %s\n", a->id().c_str(), b->id().c_str(), c->id().c_str());
	FlowMonitor untouched(
	    {{c.get(), a->id()}, {c.get(), b->id()}, {a.get(), c->id()}, {b.get(), c->id()}});
	ASSERT_TRUE(nft("table inet blackout {\n"
			" chain out { type filter hook output priority 0;\n"
			"  ip saddr 127.0.0.2 ip daddr 127.0.0.3 drop\n"
			"  ip saddr 127.0.0.3 ip daddr 127.0.0.2 drop\n"
			" }\n"
			"}"));
	const auto blocked = Clock::now();
	/* Until the connection has failed at both ends (each warns). */
	auto warned = [](const CallPeer &p, const CallPeer &other) {
		for (const std::string &w : p.warnings())
			if (w.find(other.id()) != std::string::npos)
				return true;
		return false;
	};
	const bool failed = wait_until([&] { return warned(*a, *b) && warned(*b, *a); }, 60);
	std::printf("failure seen after %.1f s\n",
		    std::chrono::duration<double>(Clock::now() - blocked).count());
	ASSERT_TRUE(failed) << "the connection never failed";
	const double left =
	    kBlackoutS - std::chrono::duration<double>(Clock::now() - blocked).count();
	if (left > 0)
		pump_for(left);

	ASSERT_TRUE(nft("delete table inet blackout"));
	const auto unblocked = Clock::now();
	const std::uint64_t ab = frames(*a, *b), ba = frames(*b, *a);
	ASSERT_WAIT(frames(*a, *b) > ab + 10 && frames(*b, *a) > ba + 10 && sees(*a, *b) &&
			sees(*b, *a),
		    kBackWithinS);
	std::printf("media back %.0f ms after the unblock\n",
		    std::chrono::duration<double, std::milli>(Clock::now() - unblocked).count());
	untouched.stop();
	std::string which;
	const auto gap = untouched.max_gap(&which);
	EXPECT_LE(gap, kMaxGap) << "no frame " << which << " for " << ms(gap)
				<< " ms (samples up to " << ms(untouched.max_interval())
				<< " ms apart)";
	for (const CallPeer *p : {a.get(), b.get(), c.get()}) {
		EXPECT_FALSE(p->error()) << p->options().name << ": " << *p->error();
		EXPECT_EQ(p->peer_left_count(), 0u) << p->options().name;
	}
	EXPECT_TRUE(c->warnings().empty()) << c->warnings().front();
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
