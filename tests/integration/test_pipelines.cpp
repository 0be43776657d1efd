/* The scripts in pipelines/ run for real (with fakesinks) and join a room;
 * `meson devenv` finds the uninstalled plugin for gst-inspect-1.0. */
#include <cstdlib>
#include <functional>
#include <vector>

#include "call_fixture.h"

using namespace meshcall::test;

namespace
{

std::string source_root()
{
	const char *root = std::getenv("MESHCALL_SOURCE_ROOT");
	return root ? root : ".";
}

/* Runs pipelines/<script> with fakesinks (and `env`, NAME=VALUE) as
 * "script-peer" in a room with `viewer`, until the viewer decodes its video
 * and audio and `check` holds for its id. */
void run_script(const std::string &script, const std::vector<std::string> &env,
		const std::function<bool(const CallPeer &, const std::string &)> &check)
{
	ServerProcess server;
	std::string err;
	ASSERT_TRUE(server.start({}, &err)) << err;
	CallPeer viewer(server.ws_url(), "scripts", {"viewer", kGreen, 660});
	ASSERT_TRUE(viewer.play());
	ASSERT_WAIT(!viewer.id().empty(), kTimeout);

	GSubprocessLauncher *launcher = g_subprocess_launcher_new(
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
	GError *error = nullptr;
	GSubprocess *proc =
	    g_subprocess_launcher_spawn(launcher, &error, path.c_str(), server.ws_url().c_str(),
					"scripts", "script-peer", nullptr);
	g_object_unref(launcher);
	ASSERT_TRUE(proc) << (error ? error->message : "");

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
	g_subprocess_force_exit(proc);
	g_subprocess_wait(proc, nullptr, nullptr);
	g_object_unref(proc);
	EXPECT_TRUE(seen) << script << ": the script's peer was not decoded by the viewer";
}

TEST(Pipelines, TestPatternScriptJoinsAndIsSeen)
{
	run_script("test-pattern.sh", {},
		   [](const CallPeer &, const std::string &) { return true; });
}

/* The camera script with the fake cameras of tests/fakedevices (on the
 * test's GST_PLUGIN_PATH): the viewer sees the camera CAMERA names. */
TEST(Pipelines, CameraScriptSendsTheChosenCamera)
{
	run_script("camera.sh", {"CAMERA=Fake Camera Blue", "MIC=test"},
		   [](const CallPeer &viewer, const std::string &id) {
			   auto c = viewer.tile_colour(id);
			   return c && c->near(0x0000ff);
		   });
	run_script("camera.sh", {"CAMERA=test", "MIC=Fake Microphone 1000"},
		   [](const CallPeer &viewer, const std::string &) {
			   return viewer.tone_level(1000, 300) > 0.05;
		   });
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
