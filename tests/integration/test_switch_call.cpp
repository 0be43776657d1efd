// SPDX-License-Identifier: LGPL-2.1-or-later
/* Changing camera and microphone in the middle of a call: only the capture
 * end changes. The other peer sees the new camera's picture and hears the
 * new microphone, and no offer or answer crosses the server for it. */
#include <string>

#include "call_fixture.h"

using namespace meshcall::test;

namespace
{

constexpr std::uint32_t kCameraRed = 0xff0000, kCameraGreen = 0x00ff00, kCameraBlue = 0x0000ff;
constexpr double kTonePresent = 0.05;
constexpr double kToneAbsent = 0.01;
constexpr double kMediaTimeout = 10;

class SwitchInCall : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string err;
		ASSERT_TRUE(server.start({}, &err)) << err;
	}
	/* Offers and answers the server relayed so far. */
	double negotiations()
	{
		HttpResponse r = http_request("GET", server.base_url() + "/metrics");
		EXPECT_EQ(r.status, 200u) << r.error;
		return metric_sum(r.body, "meshcall_messages_relayed_total", "offer") +
		       metric_sum(r.body, "meshcall_messages_relayed_total", "answer");
	}
	static bool tile_is(const CallPeer &viewer, const CallPeer &other, std::uint32_t rgb)
	{
		auto c = viewer.tile_colour(other.id());
		return c && c->near(rgb);
	}
	static std::string tile(const CallPeer &viewer, const CallPeer &other)
	{
		auto c = viewer.tile_colour(other.id());
		return c ? c->str() : "none";
	}
	ServerProcess server;
};

TEST_F(SwitchInCall, CameraAndMicrophoneChangeWithoutRenegotiating)
{
	PeerOptions alice_options{"alice"};
	alice_options.video_source = "switchvideosrc name=camera device=\"Fake Camera Red\"";
	alice_options.audio_source = "switchaudiosrc name=mic device=\"Fake Microphone 440\"";
	CallPeer alice(server.ws_url(), "switch", alice_options);
	CallPeer bob(server.ws_url(), "switch", {"bob", kYellow, 660});
	ASSERT_TRUE(alice.play());
	ASSERT_WAIT(!alice.id().empty(), 5);
	ASSERT_TRUE(bob.play());
	ASSERT_WAIT(!bob.id().empty(), 5);

	ASSERT_WAIT(tile_is(bob, alice, kCameraRed), kMediaTimeout) << tile(bob, alice);
	ASSERT_WAIT(bob.tone_level(440, 300) > kTonePresent, kMediaTimeout);
	/* The call is set up: one offer, one answer. */
	const double negotiated = negotiations();
	EXPECT_EQ(negotiated, 2);

	GstElement *camera = gst_bin_get_by_name(GST_BIN(alice.pipeline()), "camera");
	GstElement *mic = gst_bin_get_by_name(GST_BIN(alice.pipeline()), "mic");
	ASSERT_TRUE(camera && mic);

	/* 320x240 YUY2 at 15 fps, then 1280x720 I420 at 30, then 640x480 RGB:
	 * the encoder sees the same caps all along. */
	g_object_set(camera, "device", "Fake Camera Green", nullptr);
	ASSERT_WAIT(tile_is(bob, alice, kCameraGreen), kMediaTimeout) << tile(bob, alice);
	g_object_set(camera, "device", "Fake Camera Blue", nullptr);
	ASSERT_WAIT(tile_is(bob, alice, kCameraBlue), kMediaTimeout) << tile(bob, alice);

	g_object_set(mic, "device", "Fake Microphone 1000", nullptr);
	ASSERT_WAIT(bob.tone_level(1000, 300) > kTonePresent &&
			bob.tone_level(440, 300) < kToneAbsent,
		    kMediaTimeout)
	    << "1000 Hz " << bob.tone_level(1000, 300) << ", 440 Hz " << bob.tone_level(440, 300);
	/* A microphone to the test tone and back: a new source element each
	 * time, still nothing to negotiate. */
	g_object_set(mic, "device", "test", nullptr);
	ASSERT_WAIT(bob.tone_level(440, 300) > kTonePresent &&
			bob.tone_level(1000, 300) < kToneAbsent,
		    kMediaTimeout);

	EXPECT_EQ(negotiations(), negotiated) << "switching devices renegotiated the call";
	/* Alice still decodes Bob, and nobody saw an error. */
	ASSERT_WAIT(tile_is(alice, bob, kYellow), kMediaTimeout) << tile(alice, bob);
	EXPECT_FALSE(alice.error());
	EXPECT_FALSE(bob.error());
	EXPECT_EQ(alice.count_elements_of_klass("Encoder/Video"), 1u);
	gst_object_unref(camera);
	gst_object_unref(mic);
}

TEST_F(SwitchInCall, UnpluggedCameraKeepsTheCallGoing)
{
	PeerOptions alice_options{"alice"};
	alice_options.video_source = "switchvideosrc name=camera device=\"Fake Camera Blue\"";
	CallPeer alice(server.ws_url(), "unplug", alice_options);
	CallPeer bob(server.ws_url(), "unplug", {"bob", kYellow, 660});
	ASSERT_TRUE(alice.play());
	ASSERT_WAIT(!alice.id().empty(), 5);
	ASSERT_TRUE(bob.play());
	ASSERT_WAIT(tile_is(bob, alice, kCameraBlue), kMediaTimeout) << tile(bob, alice);

	GstDeviceProvider *provider =
	    gst_device_provider_factory_get_by_name("meshcallfakedeviceprovider");
	ASSERT_TRUE(provider);
	gboolean ok = FALSE;
	g_signal_emit_by_name(provider, "remove-device", "Fake Camera Blue", &ok);
	ASSERT_TRUE(ok);
	/* The fallback test pattern (SMPTE bars) is pure green in the middle. */
	ASSERT_WAIT(tile_is(bob, alice, kCameraGreen), 3) << tile(bob, alice);
	g_signal_emit_by_name(provider, "add-camera", "Fake Camera Blue", "/dev/fake-camera-blue",
			      "video/x-raw,format=RGB,width=640,height=480,framerate=30/1",
			      0x0000ffu, &ok);
	ASSERT_TRUE(ok);
	ASSERT_WAIT(tile_is(bob, alice, kCameraBlue), kMediaTimeout) << tile(bob, alice);
	EXPECT_FALSE(alice.error());
	EXPECT_FALSE(bob.error());
	gst_object_unref(provider);
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
