// SPDX-License-Identifier: LGPL-2.1-or-later
/* One bad participant costs the others nothing (docs/design.md, "No branch
 * can hurt another"): a peer that joins and never answers, and a peer whose
 * ICE can never succeed, sit in the room while two healthy pipelines join;
 * the healthy ones see and hear each other, and keep doing so when the bad
 * one goes. Runs inside a private network namespace (tests/netns-run.sh). */
#include <chrono>
#include <cstdlib>
#include <string>

#include "call_fixture.h"

using namespace meshcall::test;
namespace proto = meshcall::protocol;
using std::chrono::milliseconds;

namespace
{

constexpr int kToneA = 440, kToneB = 660;
constexpr double kTonePresent = 0.05;
/* The acceptance bound: each healthy peer decodes the other within 8 s. */
constexpr double kMediaTimeout = 8;
constexpr auto kMaxGap = milliseconds(500);

class Resilience : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string err;
		ASSERT_TRUE(server.start({"--capacity", "4"}, &err)) << err;
	}

	std::unique_ptr<CallPeer> healthy(const std::string &name, std::uint32_t rgb, int tone)
	{
		auto p = std::make_unique<CallPeer>(server.ws_url(), "room",
						    PeerOptions{name, rgb, tone});
		EXPECT_TRUE(p->play());
		return p;
	}

	/* A and B decode each other: the right colour and the right tone. */
	static bool see_and_hear(const CallPeer &p, const CallPeer &other)
	{
		auto c = p.tile_colour(other.id());
		return !other.id().empty() && p.has_video_from(other.id()) && c &&
		       c->near(other.options().rgb) &&
		       p.tone_level(other.options().tone_hz, 500) > kTonePresent;
	}

	void expect_healthy_pair(CallPeer &a, CallPeer &b)
	{
		ASSERT_WAIT(see_and_hear(a, b) && see_and_hear(b, a), kMediaTimeout)
		    << "A: " << (a.tile_colour(b.id()) ? a.tile_colour(b.id())->str() : "no tile")
		    << ", B: "
		    << (b.tile_colour(a.id()) ? b.tile_colour(a.id())->str() : "no tile");
		EXPECT_FALSE(a.error()) << *a.error();
		EXPECT_FALSE(b.error()) << *b.error();
	}

	ServerProcess server;
};

/* Reproduced before the fix: when the second healthy peer joined, the shared
 * encoders renegotiated, their ALLOCATION query waited for ever in the ghost's
 * send queue, and A and B both sent nothing. */
TEST_F(Resilience, PeerThatNeverAnswersCostsTheOthersNothing)
{
	auto ghost = WsClient::connect(server.ws_url());
	ASSERT_TRUE(ghost);
	ghost->send(proto::join_json("room", "ghost", std::nullopt));
	ASSERT_TRUE(ghost->expect<proto::Welcome>());

	auto a = healthy("A", kRed, kToneA);
	ASSERT_WAIT(!a->id().empty(), kMediaTimeout);
	auto b = healthy("B", kGreen, kToneB);
	ASSERT_NO_FATAL_FAILURE(expect_healthy_pair(*a, *b));

	/* The ghost goes: A and B remove its branch while their media flows. */
	FlowMonitor flow({{a.get(), b->id()}, {b.get(), a->id()}});
	ghost->close();
	ASSERT_WAIT(a->peers().size() == 1 && b->peers().size() == 1, kMediaTimeout);
	pump_for(2.0);
	flow.stop();
	std::string which;
	const auto gap = flow.max_gap(&which);
	EXPECT_LE(gap, kMaxGap) << "no frame " << which << " for " << ms(gap) << " ms";
	EXPECT_TRUE(see_and_hear(*a, *b) && see_and_hear(*b, *a));
}

/* C's only address is cut off from the others (policy routing refuses every
 * packet from or to it), so its ICE fails; A and B are unaffected and each
 * warns about C by id. */
TEST_F(Resilience, PeerWhoseIceFailsCostsTheOthersNothing)
{
	const char *cut_off = "10.99.0.1";
	/* Only in this test's private namespace (tests/netns-run.sh). */
	ASSERT_EQ(std::system("ip link add mc-cut type veth peer name mc-cut-peer && "
			      "ip addr add 10.99.0.1/24 dev mc-cut && ip link set mc-cut up && "
			      "ip link set mc-cut-peer up && "
			      "ip rule add priority 10 from 10.99.0.1 prohibit && "
			      "ip rule add priority 11 to 10.99.0.1 prohibit && "
			      "ip rule del priority 0 lookup local && "
			      "ip rule add priority 100 lookup local"),
		  0);
	auto c = std::make_unique<CallPeer>(server.ws_url(), "room",
					    PeerOptions{"C", kBlue, 990, true, true, "vp8",
							std::string("ice-addresses=") + cut_off});
	ASSERT_TRUE(c->play());
	ASSERT_WAIT(!c->id().empty(), kMediaTimeout);

	auto a = healthy("A", kRed, kToneA);
	ASSERT_WAIT(!a->id().empty(), kMediaTimeout);
	auto b = healthy("B", kGreen, kToneB);
	ASSERT_NO_FATAL_FAILURE(expect_healthy_pair(*a, *b));
	EXPECT_FALSE(a->has_video_from(c->id()));

	auto warned_about_c = [&](const CallPeer &p) {
		for (const std::string &w : p.warnings())
			if (w.find(c->id()) != std::string::npos)
				return true;
		return false;
	};
	ASSERT_WAIT(warned_about_c(*a) && warned_about_c(*b), 60);
	EXPECT_TRUE(see_and_hear(*a, *b) && see_and_hear(*b, *a));
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
