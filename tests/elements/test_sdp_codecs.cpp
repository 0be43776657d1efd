// SPDX-License-Identifier: LGPL-2.1-or-later
/* sdp_codecs against a real Chromium 156 offer (recorded by
 * data/record-chromium-offer.sh), hand-written edge cases, and webrtcbin's own
 * offer for rtp_caps(). */
#include "peer/sdp_codecs.h"

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>

/* libgstwebrtc's types for the webrtcbin test; 1.22 warns without this. */
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <gtest/gtest.h>

using namespace meshcall;

namespace
{

class GstEnvironment : public ::testing::Environment
{
public:
	void SetUp() override { gst_init(nullptr, nullptr); }
};

[[maybe_unused]] auto *const gst_environment =
    ::testing::AddGlobalTestEnvironment(new GstEnvironment);

std::string read_fixture(const char *name)
{
	const char *root = std::getenv("MESHCALL_SOURCE_ROOT");
	if (!root) {
		ADD_FAILURE() << "MESHCALL_SOURCE_ROOT is not set (run through meson test)";
		return {};
	}
	const std::string path = std::string(root) + "/tests/elements/data/" + name;
	std::ifstream in(path, std::ios::binary);
	if (!in) {
		ADD_FAILURE() << "cannot read " << path;
		return {};
	}
	std::ostringstream text;
	text << in.rdbuf();
	return text.str();
}

/* A minimal offer around `media` (m-lines and their attributes, "\r\n"-ended). */
std::string offer_with(const std::string &media)
{
	return "v=0\r\n"
	       "o=- 1 2 IN IP4 127.0.0.1\r\n"
	       "s=-\r\n"
	       "t=0 0\r\n" +
	       media;
}

std::string caps_text(const GstCaps *caps)
{
	g_autofree char *text = gst_caps_to_string(caps);
	return text;
}

std::optional<int> only_video_h264_pt(const std::string &media)
{
	const auto parsed = sdp_media(offer_with(media));
	if (!parsed)
		return std::nullopt;
	return video_pt(*parsed, VideoCodec::H264);
}

TEST(SdpCodecs, ChromiumOffer)
{
	const std::string text = read_fixture("chromium-offer.sdp");
	ASSERT_NE(text.find("\r\n"), std::string::npos) << "the fixture keeps Chromium's CRLF";
	const auto media = sdp_media(text);
	ASSERT_TRUE(media);
	ASSERT_EQ(media->size(), 2u);

	const SdpMedia &audio = (*media)[0];
	EXPECT_EQ(audio.kind, MediaKind::Audio);
	EXPECT_EQ(audio.mline, 0u);
	EXPECT_EQ(audio.mid, "0");
	EXPECT_EQ(audio.direction, "sendrecv");
	EXPECT_FALSE(audio.port_zero);
	EXPECT_EQ(audio.opus_pt, 111);
	EXPECT_FALSE(audio.vp8_pt);
	EXPECT_FALSE(audio.h264_pt);

	const SdpMedia &video = (*media)[1];
	EXPECT_EQ(video.kind, MediaKind::Video);
	EXPECT_EQ(video.mline, 1u);
	EXPECT_EQ(video.mid, "1");
	EXPECT_EQ(video.direction, "sendrecv");
	/* Bundled: port 9, not 0. */
	EXPECT_FALSE(video.port_zero);
	EXPECT_FALSE(video.opus_pt);
	EXPECT_EQ(video.vp8_pt, 96);
	/* Chromium lists H264 as 102 (42001f, mode 1), 104 (42001f, mode 0),
	 * 108 (42e01f, mode 1), 114 (42e01f, mode 0), 116/39 (4d001f main): the
	 * first acceptable one in m-line order wins. */
	EXPECT_EQ(video.h264_pt, 102);

	EXPECT_EQ(opus_pt(*media), 111);
	EXPECT_EQ(video_pt(*media, VideoCodec::VP8), 96);
	EXPECT_EQ(video_pt(*media, VideoCodec::H264), 102);
}

TEST(SdpCodecs, ChromiumOfferConstrainedBaselineH264)
{
	/* Without Chromium's plain-baseline 42001f entries, its 42e01f mode-1
	 * payload (108) is the one chosen; the mode-0 twin (114) never is. */
	std::string text = read_fixture("chromium-offer.sdp");
	for (const char *pt : {"102", "104"}) {
		const std::string attribute = std::string("a=rtpmap:") + pt + " H264/90000";
		const auto at = text.find(attribute);
		ASSERT_NE(at, std::string::npos) << attribute;
		text.replace(at, attribute.size(), std::string("a=rtpmap:") + pt + " X-NONE/90000");
	}
	const auto media = sdp_media(text);
	ASSERT_TRUE(media);
	EXPECT_EQ(video_pt(*media, VideoCodec::H264), 108);
}

TEST(SdpCodecs, NoVp8)
{
	const auto media = sdp_media(offer_with("m=video 9 UDP/TLS/RTP/SAVPF 98 102\r\n"
						"a=mid:v\r\n"
						"a=rtpmap:98 VP9/90000\r\n"
						"a=rtpmap:102 H264/90000\r\n"
						"a=fmtp:102 packetization-mode=1;"
						"profile-level-id=42e01f\r\n"));
	ASSERT_TRUE(media);
	EXPECT_EQ(video_pt(*media, VideoCodec::VP8), std::nullopt);
	EXPECT_EQ(video_pt(*media, VideoCodec::H264), 102);
	EXPECT_EQ(opus_pt(*media), std::nullopt);
}

TEST(SdpCodecs, H264Profiles)
{
	struct Case {
		const char *fmtp; /* nullptr: no a=fmtp line */
		std::optional<int> expected;
	};
	const Case cases[] = {
	    {"packetization-mode=0;profile-level-id=42e01f", std::nullopt},
	    {"profile-level-id=42e01f", std::nullopt}, /* mode absent = 0 */
	    {nullptr, std::nullopt},
	    {"packetization-mode=1;profile-level-id=640c1f", std::nullopt}, /* high */
	    {"packetization-mode=1;profile-level-id=4d001f", std::nullopt}, /* main */
	    {"packetization-mode=1;profile-level-id=42801f",
	     std::nullopt}, /* baseline, set0 only */
	    {"packetization-mode=1;profile-level-id=42zz1f", std::nullopt},
	    {"packetization-mode=1;profile-level-id=42e0", std::nullopt},
	    {"packetization-mode=1;profile-level-id=42e01f", 100},
	    {"packetization-mode=1;profile-level-id=42E01F", 100},
	    {"packetization-mode=1;profile-level-id=42c01f", 100},
	    {"packetization-mode=1;profile-level-id=42401f", 100},
	    {"packetization-mode=1;profile-level-id=42001f", 100},
	    {"level-asymmetry-allowed=1; Packetization-Mode=1 ;profile-level-id=42e034", 100},
	    {"packetization-mode=1", 100}, /* no profile-level-id: baseline */
	};
	for (const Case &c : cases) {
		std::string media = "m=video 9 UDP/TLS/RTP/SAVPF 100\r\n"
				    "a=rtpmap:100 h264/90000\r\n";
		if (c.fmtp)
			media += std::string("a=fmtp:100 ") + c.fmtp + "\r\n";
		EXPECT_EQ(only_video_h264_pt(media), c.expected) << (c.fmtp ? c.fmtp : "(none)");
	}
}

TEST(SdpCodecs, H264FirstUsableInFormatOrder)
{
	/* Format order, not attribute order, is the offerer's preference; an
	 * fmtp of another payload type does not count. */
	EXPECT_EQ(only_video_h264_pt("m=video 9 UDP/TLS/RTP/SAVPF 110 100 120\r\n"
				     "a=rtpmap:100 H264/90000\r\n"
				     "a=fmtp:100 packetization-mode=1;profile-level-id=42e01f\r\n"
				     "a=rtpmap:110 H264/90000\r\n"
				     "a=fmtp:110 packetization-mode=0;profile-level-id=42e01f\r\n"
				     "a=rtpmap:120 H264/90000\r\n"
				     "a=fmtp:120 packetization-mode=1;profile-level-id=42e01f\r\n"),
		  100);
	EXPECT_EQ(only_video_h264_pt("m=video 9 UDP/TLS/RTP/SAVPF 120 100\r\n"
				     "a=rtpmap:100 H264/90000\r\n"
				     "a=fmtp:100 packetization-mode=1;profile-level-id=42e01f\r\n"
				     "a=rtpmap:120 H264/90000\r\n"
				     "a=fmtp:120 packetization-mode=1;profile-level-id=42e01f\r\n"),
		  120);
}

TEST(SdpCodecs, OpusNeedsTwoChannelsAt48k)
{
	const auto pt = [](const char *rtpmap) {
		const auto media = sdp_media(
		    offer_with(std::string("m=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=rtpmap:109 ") +
			       rtpmap + "\r\n"));
		return media ? opus_pt(*media) : std::nullopt;
	};
	EXPECT_EQ(pt("opus/48000/2"), 109);
	EXPECT_EQ(pt("OPUS/48000/2"), 109);
	EXPECT_EQ(pt("opus/48000"), std::nullopt);
	EXPECT_EQ(pt("opus/16000/2"), std::nullopt);
	EXPECT_EQ(pt("multiopus/48000/6"), std::nullopt);
	EXPECT_EQ(pt("opus/48000/x"), std::nullopt);
}

TEST(SdpCodecs, PortZeroBundleOnlyApplicationAndDirections)
{
	const auto media =
	    sdp_media(offer_with("a=group:BUNDLE a d v\r\n"
				 "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
				 "a=mid:a\r\n"
				 "a=recvonly\r\n"
				 "a=rtpmap:111 opus/48000/2\r\n"
				 "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
				 "a=mid:d\r\n"
				 "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n"
				 "a=mid:v\r\n"
				 "a=inactive\r\n"
				 "a=rtpmap:96 VP8/90000\r\n"
				 "m=video 9 UDP/TLS/RTP/SAVPF 97\r\n"
				 "a=sendonly\r\n"
				 "a=rtpmap:97 VP8/90000\r\n"
				 "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
				 "a=bundle-only\r\n"
				 "a=rtpmap:111 opus/48000/2\r\n"));
	ASSERT_TRUE(media);
	ASSERT_EQ(media->size(), 4u);
	EXPECT_EQ((*media)[0].mline, 0u);
	EXPECT_EQ((*media)[0].mid, "a");
	EXPECT_EQ((*media)[0].direction, "recvonly");
	EXPECT_FALSE((*media)[0].port_zero);

	/* The application m-line is skipped but keeps its index. */
	EXPECT_EQ((*media)[1].mline, 2u);
	EXPECT_EQ((*media)[1].kind, MediaKind::Video);
	EXPECT_EQ((*media)[1].mid, "v");
	EXPECT_TRUE((*media)[1].port_zero);
	EXPECT_EQ((*media)[1].direction, "inactive");
	EXPECT_EQ((*media)[1].vp8_pt, 96);

	EXPECT_EQ((*media)[2].mline, 3u);
	EXPECT_EQ((*media)[2].mid, "");
	EXPECT_EQ((*media)[2].direction, "sendonly");
	EXPECT_EQ((*media)[2].vp8_pt, 97);

	/* Port 0 with a=bundle-only (RFC 8843) is not rejected. */
	EXPECT_EQ((*media)[3].mline, 4u);
	EXPECT_FALSE((*media)[3].port_zero);
	EXPECT_EQ((*media)[3].opus_pt, 111);

	/* "First video m-line", rejected or not. */
	EXPECT_EQ(video_pt(*media, VideoCodec::VP8), 96);
}

TEST(SdpCodecs, SessionLevelDirection)
{
	const auto media = sdp_media(offer_with("a=sendonly\r\n"
						"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
						"a=rtpmap:111 opus/48000/2\r\n"
						"m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
						"a=inactive\r\n"
						"a=rtpmap:96 VP8/90000\r\n"));
	ASSERT_TRUE(media);
	ASSERT_EQ(media->size(), 2u);
	EXPECT_EQ((*media)[0].direction, "sendonly");
	EXPECT_EQ((*media)[1].direction, "inactive");
}

TEST(SdpCodecs, NotSdp)
{
	EXPECT_EQ(sdp_media(std::string("garbage")), std::nullopt);
	EXPECT_EQ(sdp_media(std::string("")), std::nullopt);
	EXPECT_EQ(sdp_media(std::string("{\"type\":\"offer\"}")), std::nullopt);
	EXPECT_EQ(sdp_media(std::string("hello\r\nm=video 9 RTP/AVP 96\r\n")), std::nullopt);

	/* An SDP without media is an SDP. */
	const auto empty = sdp_media(offer_with(""));
	ASSERT_TRUE(empty);
	EXPECT_TRUE(empty->empty());
	EXPECT_EQ(opus_pt(*empty), std::nullopt);
	EXPECT_EQ(video_pt(*empty, VideoCodec::VP8), std::nullopt);
}

TEST(SdpCodecs, MalformedAttributesAreSkipped)
{
	const auto media = sdp_media(offer_with("m=video 9 UDP/TLS/RTP/SAVPF 96 97 98\r\n"
						"a=rtpmap:96\r\n"
						"a=rtpmap:97 VP8\r\n"
						"a=rtpmap:x VP8/90000\r\n"
						"a=rtpmap:98 VP8/90000\r\n"));
	ASSERT_TRUE(media);
	EXPECT_EQ(video_pt(*media, VideoCodec::VP8), 98);
}

TEST(RtpCaps, Vp8)
{
	g_autoptr(GstCaps) caps = rtp_caps(MediaKind::Video, VideoCodec::VP8, 96);
	ASSERT_TRUE(caps);
	g_autoptr(GstCaps) expected = gst_caps_from_string(
	    "application/x-rtp, media=(string)video, encoding-name=(string)VP8, "
	    "clock-rate=(int)90000, payload=(int)96, rtcp-fb-nack=(boolean)true, "
	    "rtcp-fb-nack-pli=(boolean)true, rtcp-fb-ccm-fir=(boolean)true");
	EXPECT_TRUE(gst_caps_is_fixed(caps));
	EXPECT_TRUE(gst_caps_is_equal(caps, expected)) << caps_text(caps);
	EXPECT_FALSE(
	    gst_structure_has_field(gst_caps_get_structure(caps, 0), "rtcp-fb-transport-cc"));
}

TEST(RtpCaps, H264)
{
	g_autoptr(GstCaps) caps = rtp_caps(MediaKind::Video, VideoCodec::H264, 108);
	ASSERT_TRUE(caps);
	g_autoptr(GstCaps) expected = gst_caps_from_string(
	    "application/x-rtp, media=(string)video, encoding-name=(string)H264, "
	    "clock-rate=(int)90000, payload=(int)108, rtcp-fb-nack=(boolean)true, "
	    "rtcp-fb-nack-pli=(boolean)true, rtcp-fb-ccm-fir=(boolean)true, "
	    "packetization-mode=(string)1, profile-level-id=(string)42e01f, "
	    "level-asymmetry-allowed=(string)1");
	EXPECT_TRUE(gst_caps_is_equal(caps, expected)) << caps_text(caps);
}

TEST(RtpCaps, Opus)
{
	g_autoptr(GstCaps) caps = rtp_caps(MediaKind::Audio, std::nullopt, 111);
	ASSERT_TRUE(caps);
	g_autoptr(GstCaps) expected = gst_caps_from_string(
	    "application/x-rtp, media=(string)audio, encoding-name=(string)OPUS, "
	    "clock-rate=(int)48000, payload=(int)111, encoding-params=(string)2, "
	    "minptime=(string)10, useinbandfec=(string)1");
	EXPECT_TRUE(gst_caps_is_equal(caps, expected)) << caps_text(caps);
}

TEST(RtpCaps, CodecNames)
{
	EXPECT_STREQ(to_string(VideoCodec::VP8), "VP8");
	EXPECT_STREQ(to_string(VideoCodec::H264), "H264");
}

struct Transceiver {
	MediaKind kind;
	std::optional<VideoCodec> codec;
	int pt;
};

/* The text of the offer a max-bundle webrtcbin makes for sendrecv
 * transceivers with rtp_caps(); "" on failure. create-offer needs no ICE. */
std::string webrtcbin_offer(std::initializer_list<Transceiver> transceivers)
{
	GstElement *element = gst_element_factory_make("webrtcbin", nullptr);
	if (!element) {
		ADD_FAILURE() << "no webrtcbin (gstreamer1.0-plugins-bad, gstreamer1.0-nice)";
		return {};
	}
	const auto to_null_and_unref = [](GstElement *e) {
		gst_element_set_state(e, GST_STATE_NULL);
		gst_object_unref(e);
	};
	std::unique_ptr<GstElement, decltype(to_null_and_unref)> webrtc(
	    GST_ELEMENT(gst_object_ref_sink(element)), to_null_and_unref);
	gst_util_set_object_arg(G_OBJECT(webrtc.get()), "bundle-policy", "max-bundle");
	/* In NULL webrtcbin answers every request with "webrtcbin is closed". */
	if (gst_element_set_state(webrtc.get(), GST_STATE_READY) != GST_STATE_CHANGE_SUCCESS) {
		ADD_FAILURE() << "webrtcbin does not go to READY";
		return {};
	}
	for (const Transceiver &t : transceivers) {
		g_autoptr(GstCaps) caps = rtp_caps(t.kind, t.codec, t.pt);
		g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
		g_signal_emit_by_name(webrtc.get(), "add-transceiver",
				      GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV, caps,
				      &transceiver);
		if (!transceiver) {
			ADD_FAILURE() << "add-transceiver refused " << caps_text(caps);
			return {};
		}
	}

	g_autoptr(GstPromise) promise = gst_promise_new();
	g_signal_emit_by_name(webrtc.get(), "create-offer", nullptr, promise);
	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
		ADD_FAILURE() << "create-offer did not reply";
		return {};
	}
	const GstStructure *reply = gst_promise_get_reply(promise);
	GstWebRTCSessionDescription *offer = nullptr;
	if (!reply || !gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
					 &offer, nullptr)) {
		g_autoptr(GError) error = nullptr;
		if (reply)
			gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
		ADD_FAILURE() << "create-offer replied without an offer: "
			      << (error ? error->message : "no error either");
		return {};
	}
	g_autofree char *text = gst_sdp_message_as_text(offer->sdp);
	gst_webrtc_session_description_free(offer);
	return text;
}

/* The caps fields are the ones webrtcbin turns into SDP: its own offer, made
 * from transceivers with these caps, reads back the same payload types and
 * carries the rtcp-fb lines. */
TEST(RtpCaps, WebrtcbinOfferUsesThem)
{
	const std::string sdp = webrtcbin_offer(
	    {{MediaKind::Video, VideoCodec::VP8, 97}, {MediaKind::Audio, std::nullopt, 111}});
	const auto media = sdp_media(sdp);
	ASSERT_TRUE(media) << sdp;
	ASSERT_EQ(media->size(), 2u) << sdp;
	EXPECT_EQ((*media)[0].kind, MediaKind::Video);
	EXPECT_EQ((*media)[0].vp8_pt, 97) << sdp;
	EXPECT_EQ((*media)[1].kind, MediaKind::Audio);
	EXPECT_EQ((*media)[1].opus_pt, 111) << sdp;
	EXPECT_EQ(video_pt(*media, VideoCodec::VP8), 97);
	EXPECT_EQ(opus_pt(*media), 111);
	EXPECT_NE(sdp.find("a=rtcp-fb:97 nack pli\r\n"), std::string::npos) << sdp;
	EXPECT_NE(sdp.find("a=rtcp-fb:97 nack\r\n"), std::string::npos) << sdp;
	EXPECT_NE(sdp.find("a=rtcp-fb:97 ccm fir\r\n"), std::string::npos) << sdp;
	/* Its max-bundle offer marks the second m-line bundle-only (port 0):
	 * not rejected. */
	EXPECT_FALSE((*media)[0].port_zero) << sdp;
	EXPECT_FALSE((*media)[1].port_zero) << sdp;
	EXPECT_EQ((*media)[1].direction, "sendrecv");
	EXPECT_NE(sdp.find("a=rtpmap:111 OPUS/48000/2\r\n"), std::string::npos) << sdp;
	EXPECT_NE(sdp.find("a=fmtp:111 "), std::string::npos) << sdp;
	EXPECT_NE(sdp.find("useinbandfec=1"), std::string::npos) << sdp;
}

TEST(RtpCaps, WebrtcbinOfferH264)
{
	const std::string sdp = webrtcbin_offer({{MediaKind::Video, VideoCodec::H264, 108}});
	const auto media = sdp_media(sdp);
	ASSERT_TRUE(media) << sdp;
	ASSERT_EQ(media->size(), 1u) << sdp;
	EXPECT_EQ(video_pt(*media, VideoCodec::H264), 108) << sdp;
	EXPECT_NE(sdp.find("packetization-mode=1"), std::string::npos) << sdp;
	EXPECT_NE(sdp.find("profile-level-id=42e01f"), std::string::npos) << sdp;
}

} // namespace
