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

/* What a browser without the codec answers (RFC 8843, RFC 3264 §6): the
 * video m-line with port 0, nothing but its mid, and out of the BUNDLE
 * group. */
std::string reject_video(std::string sdp)
{
	std::vector<std::string> lines;
	for (size_t at = 0; at < sdp.size();) {
		size_t end = sdp.find("\r\n", at);
		if (end == std::string::npos)
			end = sdp.size();
		lines.push_back(sdp.substr(at, end - at));
		at = end + 2;
	}
	std::string out, video_mid, section;
	for (const std::string &l : lines) {
		if (l.rfind("m=", 0) == 0)
			section = l.substr(2, 5);
		if (section != "video") {
			out += l + "\r\n";
			continue;
		}
		if (l.rfind("m=video ", 0) == 0) {
			size_t port_end = l.find(' ', 8);
			size_t first_fmt = l.find(' ', l.find(' ', port_end + 1) + 1);
			out += "m=video 0" +
			       l.substr(port_end, l.find(' ', first_fmt + 1) - port_end) + "\r\n";
		} else if (l.rfind("c=", 0) == 0) {
			out += l + "\r\n";
		} else if (l.rfind("a=mid:", 0) == 0) {
			video_mid = l.substr(6);
			out += l + "\r\n";
		}
	}
	const std::string group = "a=group:BUNDLE";
	if (size_t g = out.find(group); g != std::string::npos && !video_mid.empty()) {
		size_t end = out.find("\r\n", g);
		std::string members = out.substr(g + group.size(), end - g - group.size()) + " ";
		if (size_t m = members.find(" " + video_mid + " "); m != std::string::npos)
			members.erase(m, video_mid.size() + 1);
		members.pop_back();
		out.replace(g, end - g, group + members);
	}
	return out;
}

class NegotiationTest : public ::testing::Test
{
protected:
	/* A (red, 440 Hz) offers to B (green, 880 Hz), as a joiner does. */
	void
	join(bool candidates_first = false,
	     std::function<std::string(GstWebRTCSDPType, std::string)> rewrite_answer = nullptr)
	{
		a_to_b = std::make_shared<LoopbackSignaling>(candidates_first);
		b_to_a = std::make_shared<LoopbackSignaling>(candidates_first);
		b_to_a->rewrite = std::move(rewrite_answer);
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

/* A browser without our video codec rejects the video m-line (webrtcbin
 * 1.22 refuses such an answer as it is): the call goes on with audio both
 * ways, and the offerer warns that the peer refused video. */
TEST_F(NegotiationTest, AnswerRejectingVideoStillCarriesAudio)
{
	std::string answer;
	ASSERT_NO_FATAL_FAILURE(join(false, [&](GstWebRTCSDPType type, std::string sdp) {
		if (type == GST_WEBRTC_SDP_TYPE_ANSWER)
			answer = sdp = reject_video(std::move(sdp));
		return sdp;
	}));
	ASSERT_WAIT(a.audio_started && b.audio_started, kTimeout);
	ASSERT_NE(answer.find("m=video 0 "), std::string::npos) << answer;
	EXPECT_EQ(answer.find("a=ice-ufrag", answer.find("m=video")), std::string::npos) << answer;
	bool warned = false;
	for (const std::string &w : a.warnings())
		warned |= w.find("bbbbbbbbbbbbbbbb") == 0 && w.find("video") != std::string::npos;
	EXPECT_TRUE(warned) << (a.warnings().empty() ? "no warning" : a.warnings()[0]);
	EXPECT_FALSE(a.video_started);
}

/* An answer webrtcbin cannot take is said (a WARNING naming the peer and
 * webrtcbin's reason), never left silently "new". */
TEST_F(NegotiationTest, AnswerWebrtcbinRefusesIsReported)
{
	ASSERT_NO_FATAL_FAILURE(join(false, [](GstWebRTCSDPType type, std::string sdp) {
		if (type != GST_WEBRTC_SDP_TYPE_ANSWER)
			return sdp;
		for (size_t at; (at = sdp.find("a=ice-ufrag:")) != std::string::npos;)
			sdp.erase(at, sdp.find("\r\n", at) + 2 - at);
		return sdp;
	}));
	auto refused = [&] {
		for (const std::string &w : a.warnings())
			if (w.find("bbbbbbbbbbbbbbbb") == 0 &&
			    w.find("refused the peer's answer") != std::string::npos)
				return true;
		return false;
	};
	ASSERT_WAIT(refused(), kTimeout);
	EXPECT_NE(a.warnings()[0].find("ice-ufrag"), std::string::npos) << a.warnings()[0];
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
