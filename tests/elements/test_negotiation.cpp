// SPDX-License-Identifier: LGPL-2.1-or-later
/* Two PeerBranches negotiating through an in-process signaling pair
 * (tests/support/loopback_signaling.h): no server, no root, no namespace; ICE
 * on 127.0.0.1. What webrtcbin's own test fixture does for webrtcbin, for
 * meshcallbin's peer logic. */
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "support/loopback_signaling.h"
#include "support/server_fixture.h"

using namespace meshcall;
using namespace meshcall::test;

namespace
{

constexpr double kTimeout = 15;

/* videotestsrc's red and green in I420 (BT.601 limited range), give or take
 * what VP8 and scaling do to them. */
bool looks_red(const std::vector<int> &yuv)
{
	return yuv[0] > 50 && yuv[0] < 110 && yuv[2] > 200;
}
bool looks_green(const std::vector<int> &yuv)
{
	return yuv[0] > 120 && yuv[0] < 175 && yuv[1] < 80 && yuv[2] < 60;
}

class NegotiationTest : public ::testing::Test
{
protected:
	/* A (red, 440 Hz) offers to B (green, 880 Hz), as a joiner does. */
	void join(bool candidates_first = false)
	{
		a_to_b = std::make_shared<LoopbackSignaling>(candidates_first);
		b_to_a = std::make_shared<LoopbackSignaling>(candidates_first);
		a.branch = PeerBranch::create(a, a_to_b, "bbbbbbbbbbbbbbbb", "B",
					      PeerBranch::Role::Offerer, a.config());
		b.branch = PeerBranch::create(b, b_to_a, "aaaaaaaaaaaaaaaa", "A",
					      PeerBranch::Role::Answerer, b.config());
		ASSERT_TRUE(a.branch && b.branch) << "webrtcbin missing";
		a_to_b->set_remote(b.branch);
		b_to_a->set_remote(a.branch);
		a.play();
		b.play();
		a.branch->start_offer();
	}

	LoopbackPeer a{"a", "red", 440};
	LoopbackPeer b{"b", "green", 880};
	std::shared_ptr<LoopbackSignaling> a_to_b, b_to_a;
};

TEST_F(NegotiationTest, OffererAndAnswererReceiveEachOther)
{
	ASSERT_NO_FATAL_FAILURE(join());
	ASSERT_WAIT(a.video_started && a.audio_started && b.video_started && b.audio_started,
		    kTimeout);
	ASSERT_WAIT(looks_green(a.first_tile_centre()), kTimeout);
	ASSERT_WAIT(looks_red(b.first_tile_centre()), kTimeout);
	EXPECT_EQ(a_to_b->descriptions, 1);
	EXPECT_EQ(b_to_a->descriptions, 1);
	EXPECT_TRUE(a.warnings().empty()) << a.warnings()[0];
	EXPECT_TRUE(b.warnings().empty()) << b.warnings()[0];
}

/* Candidates may arrive before the description they belong to; both sides
 * keep them until it is set. */
TEST_F(NegotiationTest, CandidatesAheadOfTheirDescriptionAreKept)
{
	ASSERT_NO_FATAL_FAILURE(join(true));
	ASSERT_WAIT(a.video_started && b.video_started, kTimeout);
	EXPECT_GT(a_to_b->candidates, 0);
	EXPECT_GT(b_to_a->candidates, 0);
}

TEST_F(NegotiationTest, StatsReportTheConnectionAndWhatWasDecoded)
{
	ASSERT_NO_FATAL_FAILURE(join());
	ASSERT_WAIT(a.video_started && a.audio_started, kTimeout);
	PeerStats stats;
	ASSERT_WAIT((stats = a.branch->stats()).transport_stats && stats.bytes_sent > 0 &&
			stats.bytes_received > 0,
		    kTimeout);
	EXPECT_EQ(stats.id, "bbbbbbbbbbbbbbbb");
	EXPECT_EQ(stats.name, "B");
	EXPECT_EQ(stats.connection_state, "connected");
	EXPECT_GT(stats.video_frames_rx, 0u);
	EXPECT_GT(stats.audio_buffers_rx, 0u);
}

/* A peer that leaves before it ever answered: the removal completes and
 * leaves nothing of it in the bin. */
TEST_F(NegotiationTest, RemovalBeforeTheAnswerCompletes)
{
	ASSERT_NO_FATAL_FAILURE(join());
	bool removed = false;
	a.branch->remove([&] { removed = true; });
	ASSERT_WAIT(removed, kTimeout);
	GstElement *webrtc = gst_bin_get_by_name(a.bin(), "webrtc-bbbbbbbbbbbbbbbb");
	EXPECT_EQ(webrtc, nullptr);
	if (webrtc)
		gst_object_unref(webrtc);
	a.branch.reset();
}

} // namespace

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
