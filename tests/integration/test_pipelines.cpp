// SPDX-License-Identifier: LGPL-2.1-or-later
/* The scripts in pipelines/ run for real (with fakesinks, TEST_SOURCES=1 or the
 * fake devices of tests/fakedevices) and join a room of a real server, where an
 * in-process viewer decodes what they send; the recorder's file is checked with
 * gst-discoverer-1.0 and decoded. `meson devenv` finds the uninstalled plugin
 * for gst-inspect-1.0. */
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <vector>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>

#include "call_fixture.h"

using namespace meshcall::test;

namespace
{

/* The SMPTE bars every script's test pattern sends: at the centre of the
 * picture is the green bar (rgb(0,250,3) at the viewer). */
constexpr std::uint32_t kSmpteCentre = 0x00ff00;
constexpr int kTestToneHz = 440;

std::string source_root()
{
	const char *root = std::getenv("MESHCALL_SOURCE_ROOT");
	return root ? root : ".";
}

/* pipelines/<script> SERVER ROOM NAME as a child process, with fakesinks,
 * ICE on loopback and `env` (NAME=VALUE) added. Its stdout (gst-launch -m) is
 * dropped; stderr goes to the test log. */
GSubprocess *spawn_script(const std::string &script, const std::string &server_url,
			  const std::string &room, const std::string &name,
			  const std::vector<std::string> &env, std::string *error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_SILENCE));
	g_subprocess_launcher_setenv(launcher, "SINK", "fakesink", TRUE);
	g_subprocess_launcher_setenv(launcher, "AUDIOSINK", "fakesink", TRUE);
	g_subprocess_launcher_setenv(launcher, "EXTRA", "ice-addresses=127.0.0.1", TRUE);
	for (const std::string &e : env) {
		auto eq = e.find('=');
		g_subprocess_launcher_setenv(launcher, e.substr(0, eq).c_str(),
					     e.substr(eq + 1).c_str(), TRUE);
	}
	std::string path = source_root() + "/pipelines/" + script;
	g_autoptr(GError) err = nullptr;
	GSubprocess *proc = g_subprocess_launcher_spawn(
	    launcher, &err, path.c_str(), server_url.c_str(), room.c_str(), name.c_str(), nullptr);
	if (!proc)
		*error = err ? err->message : "spawn failed";
	return proc;
}

/* Runs pipelines/<script> (with `env`) as "script-peer" in a room with a
 * viewer, until the viewer decodes its video and audio and `check` (which
 * looks for `what`) holds for its id. */
void run_script(const std::string &script, const std::vector<std::string> &env,
		const std::string &what,
		const std::function<bool(const CallPeer &, const std::string &)> &check)
{
	ServerProcess server;
	std::string err;
	ASSERT_TRUE(server.start({}, &err)) << err;
	CallPeer viewer(server.ws_url(), "scripts", {"viewer", kGreen, 660});
	ASSERT_TRUE(viewer.play());
	ASSERT_WAIT(!viewer.id().empty(), kTimeout);

	GSubprocess *proc =
	    spawn_script(script, server.ws_url(), "scripts", "script-peer", env, &err);
	ASSERT_TRUE(proc) << err;

	std::string script_id;
	bool seen = wait_until(
	    [&] {
		    for (auto &[id, name] : viewer.peers())
			    if (name == "script-peer")
				    script_id = id;
		    return !script_id.empty() && viewer.has_video_from(script_id) &&
			   viewer.has_audio_from(script_id) && check(viewer, script_id);
	    },
	    15);
	/* Still running: a script that ends by itself (an error) is broken. */
	const bool running = g_subprocess_get_identifier(proc) != nullptr;
	g_subprocess_force_exit(proc);
	g_subprocess_wait(proc, nullptr, nullptr);
	g_object_unref(proc);
	EXPECT_TRUE(running) << script << " exited by itself";
	std::string colour;
	if (auto c = viewer.tile_colour(script_id))
		colour = c->str();
	EXPECT_TRUE(seen) << script << ": the viewer did not get " << what << " (peer "
			  << (script_id.empty() ? "never joined" : script_id) << ", tile " << colour
			  << ", " << kTestToneHz << " Hz level "
			  << viewer.tone_level(kTestToneHz, 300) << ")";
}

/* The test pattern and tone every script sends with TEST_SOURCES=1. */
bool shows_test_sources(const CallPeer &viewer, const std::string &id)
{
	auto c = viewer.tile_colour(id);
	return c && c->near(kSmpteCentre) && viewer.tone_level(kTestToneHz, 300) > 0.05;
}

TEST(Pipelines, TestPatternScriptJoinsAndIsSeen)
{
	run_script("test-pattern.sh", {}, "SMPTE bars and a 440 Hz tone", shows_test_sources);
}

/* The camera script with the fake cameras of tests/fakedevices (on the
 * test's GST_PLUGIN_PATH): the viewer sees the camera CAMERA names. */
TEST(Pipelines, CameraScriptSendsTheChosenCamera)
{
	run_script("camera.sh", {"CAMERA=Fake Camera Blue", "MIC=test"}, "the blue camera",
		   [](const CallPeer &viewer, const std::string &id) {
			   auto c = viewer.tile_colour(id);
			   return c && c->near(0x0000ff);
		   });
	run_script("camera.sh", {"CAMERA=test", "MIC=Fake Microphone 1000"},
		   "the 1000 Hz microphone", [](const CallPeer &viewer, const std::string &) {
			   return viewer.tone_level(1000, 300) > 0.05;
		   });
}

/* TEST_SOURCES=1 wins over the devices CAMERA and MIC name. */
TEST(Pipelines, CameraScriptWithTestSourcesIgnoresTheDevices)
{
	run_script(
	    "camera.sh", {"TEST_SOURCES=1", "CAMERA=Fake Camera Blue", "MIC=Fake Microphone 1000"},
	    "SMPTE bars and a 440 Hz tone, not the devices",
	    [](const CallPeer &viewer, const std::string &id) {
		    return shows_test_sources(viewer, id) && viewer.tone_level(1000, 300) < 0.01;
	    });
}

/* The Raspberry Pi script with test sources instead of libcamerasrc: NV12
 * into meshcallbin, sent as H.264 (software here; v4l2h264enc on a Pi). */
TEST(Pipelines, PiCameraScriptSendsH264)
{
	run_script("pi-camera.sh", {"TEST_SOURCES=1", "SIZE=640x360"},
		   "SMPTE bars as H.264 and a 440 Hz tone",
		   [](const CallPeer &viewer, const std::string &id) {
			   return shows_test_sources(viewer, id) &&
				  viewer.count_elements_of_factory("rtph264depay") > 0;
		   });
}

/* ---- the recorder ---- */

struct Recording {
	std::string discoverer; /* gst-discoverer-1.0 output */
	unsigned frames = 0;
	unsigned frames_showing = 0; /* frames whose centre had the sender's colour */
	double tone = 0;	     /* level of the sender's tone in the last second */
};

/* "Duration: 0:00:04.033333333" of gst-discoverer-1.0, in seconds. */
std::optional<double> discovered_duration(const std::string &text)
{
	std::smatch m;
	static const std::regex re(R"(Duration: (\d+):(\d+):(\d+\.\d+))");
	if (!std::regex_search(text, m, re))
		return std::nullopt;
	return std::stod(m[1]) * 3600 + std::stod(m[2]) * 60 + std::stod(m[3]);
}

/* Average colour of the 8x8 pixels at the centre of an RGB frame. */
std::optional<Rgb> centre_colour(GstSample *frame)
{
	int width = 0, height = 0;
	const GstStructure *st = gst_caps_get_structure(gst_sample_get_caps(frame), 0);
	if (!gst_structure_get_int(st, "width", &width) ||
	    !gst_structure_get_int(st, "height", &height) || width < 8 || height < 8)
		return std::nullopt;
	GstMapInfo map;
	GstBuffer *buf = gst_sample_get_buffer(frame);
	if (!gst_buffer_map(buf, &map, GST_MAP_READ))
		return std::nullopt;
	const int stride = GST_ROUND_UP_4(width * 3); /* GStreamer's default for RGB */
	const int cx = width / 2, cy = height / 2;
	Rgb sum;
	for (int y = cy - 4; y < cy + 4; y++)
		for (int x = cx - 4; x < cx + 4; x++) {
			const guint8 *p = map.data + y * stride + x * 3;
			sum.r += p[0] / 64.0;
			sum.g += p[1] / 64.0;
			sum.b += p[2] / 64.0;
		}
	gst_buffer_unmap(buf, &map);
	return sum;
}

/* Decodes the file: how many frames show `rgb` at their centre, and how loud
 * `hz` is in its last second. */
void decode_recording(const std::string &path, std::uint32_t rgb, int hz, Recording *out)
{
	g_autofree char *desc =
	    g_strdup_printf("filesrc location=\"%s\" ! matroskademux name=d "
			    "d.video_0 ! queue ! vp8dec ! videoconvert ! video/x-raw,format=RGB ! "
			    "appsink name=v sync=false emit-signals=true "
			    "d.audio_0 ! queue ! opusdec ! audioconvert ! audioresample ! "
			    "audio/x-raw,format=S16LE,rate=48000,channels=1 ! "
			    "appsink name=a sync=false max-buffers=60 drop=true wait-on-eos=false",
			    path.c_str());
	g_autoptr(GError) err = nullptr;
	/* Back to NULL before the last unref, however this function returns. */
	std::unique_ptr<GstElement, void (*)(GstElement *)> pipeline(
	    gst_parse_launch(desc, &err), +[](GstElement *p) {
		    gst_element_set_state(p, GST_STATE_NULL);
		    gst_object_unref(p);
	    });
	ASSERT_TRUE(pipeline && !err) << (err ? err->message : "");

	/* Each frame is looked at on the streaming thread, before the EOS. */
	struct Count {
		std::uint32_t rgb;
		Recording *out;
	} count{rgb, out};
	g_autoptr(GstElement) v = gst_bin_get_by_name(GST_BIN(pipeline.get()), "v");
	g_signal_connect(v, "new-sample", G_CALLBACK(+[](GstElement *sink, gpointer data) {
				 auto *c = static_cast<Count *>(data);
				 g_autoptr(GstSample) frame =
				     gst_app_sink_pull_sample(GST_APP_SINK(sink));
				 auto colour = frame ? centre_colour(frame) : std::nullopt;
				 c->out->frames++;
				 if (colour && colour->near(c->rgb))
					 c->out->frames_showing++;
				 return GST_FLOW_OK;
			 }),
			 &count);

	ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING),
		  GST_STATE_CHANGE_FAILURE);
	g_autoptr(GstBus) bus = gst_element_get_bus(pipeline.get());
	g_autoptr(GstMessage) msg = gst_bus_timed_pop_filtered(
	    bus, 20 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
	ASSERT_TRUE(msg) << "decoding " << path << " did not reach EOS";
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		g_autoptr(GError) e = nullptr;
		gst_message_parse_error(msg, &e, nullptr);
		FAIL() << "decoding " << path << ": " << e->message;
	}

	/* Goertzel over the last second of the mix. */
	g_autoptr(GstElement) a = gst_bin_get_by_name(GST_BIN(pipeline.get()), "a");
	std::vector<double> samples;
	while (GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(a), 0)) {
		GstBuffer *b = gst_sample_get_buffer(s);
		GstMapInfo map;
		if (gst_buffer_map(b, &map, GST_MAP_READ)) {
			auto *pcm = reinterpret_cast<const gint16 *>(map.data);
			for (gsize i = 0; i < map.size / 2; i++)
				samples.push_back(pcm[i] / 32768.0);
			gst_buffer_unmap(b, &map);
		}
		gst_sample_unref(s);
	}
	if (samples.size() > 48000)
		samples.erase(samples.begin(), samples.end() - 48000);
	const double k = 2 * std::cos(2 * M_PI * hz / 48000.0);
	double s1 = 0, s2 = 0;
	for (double x : samples) {
		const double s0 = x + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	const double power = s1 * s1 + s2 * s2 - k * s1 * s2;
	/* A full-scale sine over n samples gives power (n/2)^2. */
	if (!samples.empty())
		out->tone = std::sqrt(power) / (samples.size() / 2.0);
}

/* How far the file's duration may be from DURATION. It is the running time
 * from PLAYING to the EOS that timeout's SIGINT makes gst-launch-1.0 send:
 * DURATION less the start-up before PLAYING, plus the time the EOS takes to
 * reach the sources, in whole frames (33 ms). Measured on 2 cores beside a
 * sending peer, DURATION=4 gave 3.933-4.055 s in 20 runs. A cold plugin
 * registry once cost 1.7 s of start-up; here the test's own gst_init has
 * refreshed the registry the scripts share. 0.5 s leaves room for a loaded
 * machine and still catches a recorder that misses a second. */
constexpr double kDurationTolerance = 0.5;
constexpr int kRecordSeconds = 4;

/* The recorder joins a room with a sending peer, records it for DURATION
 * seconds, stops by itself and leaves a WebM file with the peer's picture
 * and sound in it. */
TEST(Pipelines, RecorderRecordsTheRoomAndStopsByItself)
{
	ServerProcess server;
	std::string err;
	ASSERT_TRUE(server.start({}, &err)) << err;
	CallPeer sender(server.ws_url(), "recorded", {"sender", kRed, 660});
	ASSERT_TRUE(sender.play());
	ASSERT_WAIT(!sender.id().empty(), kTimeout);

	/* Removed with the file in it, however the test ends. */
	std::unique_ptr<char, void (*)(char *)> dir(
	    g_dir_make_tmp("meshcall-recorder-XXXXXX", nullptr), +[](char *d) {
		    g_autofree char *file = g_build_filename(d, "room.webm", nullptr);
		    g_remove(file);
		    g_rmdir(d);
		    g_free(d);
	    });
	ASSERT_TRUE(dir);
	const std::string output = std::string(dir.get()) + "/room.webm";
	GSubprocess *proc = spawn_script(
	    "recorder.sh", server.ws_url(), "recorded", "recorder",
	    {"OUTPUT=" + output, "DURATION=" + std::to_string(kRecordSeconds), "SIZE=640x360"},
	    &err);
	ASSERT_TRUE(proc) << err;
	/* Shared with the callback, which may outlive this test. */
	auto exited_flag = std::make_shared<bool>(false);
	g_subprocess_wait_async(
	    proc, nullptr,
	    +[](GObject *, GAsyncResult *, gpointer data) {
		    auto *flag = static_cast<std::shared_ptr<bool> *>(data);
		    **flag = true;
		    delete flag;
	    },
	    new std::shared_ptr<bool>(exited_flag));
	const bool &exited = *exited_flag;

	/* The recorder is a peer of the room while it records. */
	EXPECT_TRUE(wait_until(
	    [&] {
		    for (auto &[id, name] : sender.peers())
			    if (name == "recorder")
				    return true;
		    return exited;
	    },
	    kRecordSeconds))
	    << "the recorder never joined";
	/* Its own timeout sends SIGINT after DURATION and SIGKILL 10 s later:
	 * exiting well before that means the EOS went through. */
	const bool stopped = wait_until([&] { return exited; }, kRecordSeconds + 8);
	/* Otherwise let that SIGKILL come (the file is complete by then when
	 * the EOS reached the file but not the pipeline), and as a last resort
	 * SIGTERM, which timeout passes on: killing timeout itself would
	 * orphan gst-launch-1.0. */
	if (!stopped && !wait_until([&] { return exited; }, 10)) {
		g_subprocess_send_signal(proc, SIGTERM);
		wait_until([&] { return exited; }, kTimeout);
	}
	const bool clean =
	    exited && g_subprocess_get_if_exited(proc) && g_subprocess_get_exit_status(proc) == 0;
	const int status = exited ? g_subprocess_get_status(proc) : -1;
	g_object_unref(proc);
	EXPECT_TRUE(stopped && clean)
	    << "recorder.sh did not stop by itself with status 0 after DURATION (wait status "
	    << status << "): gst-launch-1.0 -e waits for an EOS message from every sink, "
	    << "meshcallbin included";

	Recording rec;
	std::string error;
	ASSERT_TRUE(run_command({"gst-discoverer-1.0", output}, nullptr, &rec.discoverer, &error))
	    << error;
	EXPECT_NE(rec.discoverer.find("container #0: WebM"), std::string::npos) << rec.discoverer;
	EXPECT_TRUE(std::regex_search(rec.discoverer, std::regex(R"(video #\d+: VP8)")))
	    << rec.discoverer;
	EXPECT_TRUE(std::regex_search(rec.discoverer, std::regex(R"(audio #\d+: Opus)")))
	    << rec.discoverer;
	auto duration = discovered_duration(rec.discoverer);
	ASSERT_TRUE(duration) << rec.discoverer;
	EXPECT_NEAR(*duration, kRecordSeconds, kDurationTolerance) << rec.discoverer;

	ASSERT_NO_FATAL_FAILURE(decode_recording(output, kRed, 660, &rec));
	std::printf("recorder: DURATION=%d, file %.3f s, %u frames, %u show the sender, "
		    "tone %.2f\n",
		    kRecordSeconds, *duration, rec.frames, rec.frames_showing, rec.tone);
	/* The sender is in the picture for most of the recording: the recorder
	 * sees it about half a second after joining. */
	EXPECT_GT(rec.frames, 20u * kRecordSeconds);
	EXPECT_GT(rec.frames_showing, rec.frames / 2)
	    << rec.frames_showing << " of " << rec.frames << " frames show the sender";
	EXPECT_GT(rec.tone, 0.05) << "the sender's 660 Hz tone in the last second";
}

TEST(Pipelines, DevenvFindsTheUninstalledElement)
{
	const char *build = std::getenv("MESHCALL_BUILD_ROOT");
	ASSERT_TRUE(build);
	std::string out, error;
	ASSERT_TRUE(run_command({"meson", "devenv", "-C", build, "gst-inspect-1.0", "meshcallbin"},
				nullptr, &out, &error))
	    << error;
	for (const char *word : {"video_sink", "audio_sink", "video_src", "audio_src", "server",
				 "display-name", "ice-addresses", "video-codec", "peer-joined",
				 "chat-received", "send-chat", "get-stats"})
		EXPECT_NE(out.find(word), std::string::npos) << word;
	ASSERT_TRUE(
	    run_command({"meson", "devenv", "-C", build, "gst-inspect-1.0", "switchvideosrc"},
			nullptr, &out, &error))
	    << error;
	for (const char *word :
	     {"device", "devices", "active-device", "devices-changed", "width", "framerate"})
		EXPECT_NE(out.find(word), std::string::npos) << word;
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
