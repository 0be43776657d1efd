// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcall app as a person or a script runs it: a child process in a room
 * of a real meshcall-server with one meshcallbin pipeline, driven through its
 * stdin and observed through its `--events json` lines (each parsed as JSON),
 * its stderr and its exit code. */
#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "app.h"
#include "call_fixture.h"

using namespace meshcall::test;
namespace proto = meshcall::protocol;

namespace
{

constexpr double kJoinTimeout = 10;
constexpr double kMediaTimeout = 15;
constexpr std::uint32_t kCameraRed = 0xff0000, kCameraGreen = 0x00ff00;

std::string app_binary()
{
	const char *root = g_getenv("MESHCALL_BUILD_ROOT");
	return std::string(root ? root : ".") + "/src/app/meshcall";
}

/* One parsed event line. */
struct Event {
	std::string line;
	JsonObject *object = nullptr; /* owned by `parser` */
	JsonParser *parser = nullptr;

	std::string name() const { return str("event"); }
	std::string str(const char *member) const
	{
		JsonNode *n = object ? json_object_get_member(object, member) : nullptr;
		return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
			   ? json_node_get_string(n)
			   : "";
	}
	/* Member names, sorted. */
	std::set<std::string> members() const
	{
		std::set<std::string> out;
		GList *names = json_object_get_members(object);
		for (GList *l = names; l; l = l->next)
			out.insert(static_cast<const char *>(l->data));
		g_list_free(names);
		return out;
	}
};

/* A `meshcall` child process. */
class AppProcess
{
public:
	AppProcess() = default;
	AppProcess(const AppProcess &) = delete;
	~AppProcess()
	{
		if (process_ && !exited_) {
			g_subprocess_send_signal(process_, SIGKILL);
			wait_until([this] { return exited_; }, 5);
		}
		for (Event &e : events_)
			g_object_unref(e.parser);
		g_clear_object(&stdin_);
		g_clear_object(&process_);
	}

	bool start(const std::vector<std::string> &args, const std::vector<std::string> &env = {})
	{
		g_autoptr(GSubprocessLauncher) launcher =
		    g_subprocess_launcher_new(static_cast<GSubprocessFlags>(
			G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
			G_SUBPROCESS_FLAGS_STDERR_PIPE));
		for (const auto &kv : env) {
			auto eq = kv.find('=');
			g_subprocess_launcher_setenv(launcher, kv.substr(0, eq).c_str(),
						     kv.substr(eq + 1).c_str(), TRUE);
		}
		std::vector<const char *> argv{nullptr};
		std::string bin = app_binary();
		argv[0] = bin.c_str();
		for (const auto &a : args)
			argv.push_back(a.c_str());
		argv.push_back(nullptr);
		g_autoptr(GError) err = nullptr;
		process_ = g_subprocess_launcher_spawnv(launcher, argv.data(), &err);
		if (!process_) {
			ADD_FAILURE() << "cannot start " << bin << ": " << err->message;
			return false;
		}
		stdin_ = G_OUTPUT_STREAM(g_object_ref(g_subprocess_get_stdin_pipe(process_)));
		read_lines(g_data_input_stream_new(g_subprocess_get_stdout_pipe(process_)), true);
		read_lines(g_data_input_stream_new(g_subprocess_get_stderr_pipe(process_)), false);
		g_subprocess_wait_async(
		    process_, nullptr,
		    [](GObject *source, GAsyncResult *res, gpointer data) {
			    auto *self = static_cast<AppProcess *>(data);
			    g_subprocess_wait_finish(G_SUBPROCESS(source), res, nullptr);
			    self->exited_ = true;
			    self->status_ = g_subprocess_get_if_exited(G_SUBPROCESS(source))
						? g_subprocess_get_exit_status(G_SUBPROCESS(source))
						: -1;
		    },
		    this);
		return true;
	}

	void type(const std::string &line)
	{
		std::string l = line + "\n";
		ASSERT_TRUE(g_output_stream_write_all(stdin_, l.data(), l.size(), nullptr, nullptr,
						      nullptr));
		g_output_stream_flush(stdin_, nullptr, nullptr);
	}

	void interrupt() { g_subprocess_send_signal(process_, SIGINT); }
	/* Waits for the exit; the exit code, or -1 (signal, timeout). */
	int wait_exit(double timeout_s = 15)
	{
		wait_until([this] { return exited_ && stdout_done_ && stderr_done_; }, timeout_s);
		return exited_ ? status_ : -1;
	}

	const std::vector<Event> &events() const { return events_; }
	const Event *find(const std::string &name, const std::string &member = {},
			  const std::string &value = {}) const
	{
		for (const Event &e : events_)
			if (e.name() == name && (member.empty() || e.str(member.c_str()) == value))
				return &e;
		return nullptr;
	}
	unsigned count(const std::string &name) const
	{
		unsigned n = 0;
		for (const Event &e : events_)
			n += e.name() == name;
		return n;
	}
	const std::string &stderr_text() const { return stderr_; }
	/* stdout lines that are not JSON objects */
	const std::vector<std::string> &bad_lines() const { return bad_lines_; }

private:
	struct Reader {
		AppProcess *self;
		GDataInputStream *stream;
		bool is_stdout;
	};

	void read_lines(GDataInputStream *stream, bool is_stdout)
	{
		auto *r = new Reader{this, stream, is_stdout};
		next_line(r);
	}

	static void next_line(Reader *r)
	{
		g_data_input_stream_read_line_async(
		    r->stream, G_PRIORITY_DEFAULT, nullptr,
		    [](GObject *, GAsyncResult *res, gpointer data) {
			    auto *r = static_cast<Reader *>(data);
			    gsize len = 0;
			    g_autofree char *line = g_data_input_stream_read_line_finish_utf8(
				r->stream, res, &len, nullptr);
			    if (!line) {
				    (r->is_stdout ? r->self->stdout_done_ : r->self->stderr_done_) =
					true;
				    g_object_unref(r->stream);
				    delete r;
				    return;
			    }
			    if (r->is_stdout)
				    r->self->on_event_line(line);
			    else
				    r->self->stderr_ += std::string(line) + "\n";
			    next_line(r);
		    },
		    r);
	}

	void on_event_line(const char *line)
	{
		Event e;
		e.line = line;
		e.parser = json_parser_new();
		JsonNode *root = nullptr;
		if (json_parser_load_from_data(e.parser, line, -1, nullptr))
			root = json_parser_get_root(e.parser);
		if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
			bad_lines_.push_back(line);
			g_object_unref(e.parser);
			return;
		}
		e.object = json_node_get_object(root);
		events_.push_back(e);
	}

	GSubprocess *process_ = nullptr;
	GOutputStream *stdin_ = nullptr;
	std::vector<Event> events_;
	std::vector<std::string> bad_lines_;
	std::string stderr_;
	bool exited_ = false, stdout_done_ = false, stderr_done_ = false;
	int status_ = -1;
};

/* docs/design.md, "`meshcall --events json`": the members of each event. */
void expect_members(const Event &e, std::set<std::string> expected)
{
	expected.insert("event");
	expected.insert("ts");
	EXPECT_EQ(e.members(), expected) << e.line;
	JsonNode *ts = json_object_get_member(e.object, "ts");
	ASSERT_TRUE(ts && JSON_NODE_HOLDS_VALUE(ts) && json_node_get_value_type(ts) == G_TYPE_INT64)
	    << e.line;
	/* ms since the epoch, within a minute of now. */
	EXPECT_NEAR(static_cast<double>(json_node_get_int(ts)), g_get_real_time() / 1000.0, 60000)
	    << e.line;
}

class App : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string err;
		ASSERT_TRUE(server.start({}, &err)) << err;
	}
	std::vector<std::string> app_args(const std::string &room, const std::string &name)
	{
		return {"--server",   server.ws_url(), "--room",   room,   "--name",
			name,	      "--headless",    "--events", "json", "--ice-address",
			kIceAddresses};
	}
	/* The app joins `room` with `extra` arguments (a red camera and a 440 Hz
	 * microphone), then bob; returns once bob sees and hears it. */
	void join_app_then_bob(AppProcess &app, const std::string &room,
			       const std::vector<std::string> &extra)
	{
		auto args = app_args(room, "app");
		args.insert(args.end(), extra.begin(), extra.end());
		ASSERT_TRUE(app.start(args));
		ASSERT_WAIT(app.find("joined"), kJoinTimeout) << app.stderr_text();
		app_id = app.find("joined")->str("id");
		bob = std::make_unique<CallPeer>(server.ws_url(), room,
						 PeerOptions{"bob", kYellow, 660});
		ASSERT_TRUE(bob->play());
		ASSERT_WAIT(tile_is(*bob, app_id, kCameraRed), kMediaTimeout);
		ASSERT_WAIT(bob->tone_level(440, 300) > 0.05, kMediaTimeout);
	}
	static bool tile_is(const CallPeer &viewer, const std::string &id, std::uint32_t rgb)
	{
		auto c = viewer.tile_colour(id);
		return c && c->near(rgb);
	}
	ServerProcess server;
	std::unique_ptr<CallPeer> bob; /* declared after server: stopped before it */
	std::string app_id;
};

/* The app joins first, a meshcallbin pipeline second: every event of the
 * call, in order, with exactly docs/design.md's fields. */
TEST_F(App, JoinsChatsAndReportsEveryRoomEvent)
{
	AppProcess app;
	auto args = app_args("events", "app");
	args.insert(args.end(), {"--camera", "Fake Camera Red", "--mic", "Fake Microphone 440"});
	ASSERT_TRUE(app.start(args));
	ASSERT_WAIT(app.find("joined"), kJoinTimeout) << app.stderr_text();
	const Event *joined = app.find("joined");
	expect_members(*joined, {"id", "room", "peers"});
	EXPECT_EQ(joined->str("room"), "events");
	const std::string app_id = joined->str("id");
	JsonNode *peers = json_object_get_member(joined->object, "peers");
	ASSERT_TRUE(peers && JSON_NODE_HOLDS_ARRAY(peers));
	EXPECT_EQ(json_array_get_length(json_node_get_array(peers)), 0u);

	CallPeer bob(server.ws_url(), "events", {"bob", kYellow, 660});
	ASSERT_TRUE(bob.play());
	ASSERT_WAIT(!bob.id().empty(), kJoinTimeout);

	ASSERT_WAIT(app.find("peer-joined"), kJoinTimeout) << app.stderr_text();
	const Event *pj = app.find("peer-joined");
	expect_members(*pj, {"peer"});
	JsonObject *peer = json_object_get_object_member(pj->object, "peer");
	ASSERT_TRUE(peer) << pj->line;
	EXPECT_STREQ(json_object_get_string_member(peer, "id"), bob.id().c_str());
	EXPECT_STREQ(json_object_get_string_member(peer, "name"), "bob");

	/* First decoded frame and audio buffer from bob. */
	ASSERT_WAIT(app.find("media", "kind", "video") && app.find("media", "kind", "audio"),
		    kMediaTimeout)
	    << app.stderr_text();
	const Event *video = app.find("media", "kind", "video");
	expect_members(*video, {"peer", "kind", "width", "height"});
	EXPECT_EQ(video->str("peer"), bob.id());
	EXPECT_EQ(json_object_get_int_member(video->object, "width"), 320);
	EXPECT_EQ(json_object_get_int_member(video->object, "height"), 240);
	const Event *audio = app.find("media", "kind", "audio");
	expect_members(*audio, {"peer", "kind"});
	EXPECT_EQ(audio->str("peer"), bob.id());

	/* And bob gets the app's camera and microphone. */
	ASSERT_WAIT(tile_is(bob, app_id, kCameraRed), kMediaTimeout);
	ASSERT_WAIT(bob.tone_level(440, 300) > 0.05, kMediaTimeout);

	/* Chat both ways, in seq order on both sides. */
	app.type("hello bob");
	ASSERT_WAIT(bob.chat().size() == 1, kJoinTimeout);
	EXPECT_EQ(bob.chat()[0].text, "hello bob");
	EXPECT_EQ(bob.chat()[0].from, app_id);
	gboolean sent = FALSE;
	g_signal_emit_by_name(bob.meshcallbin(), "send-chat", "hi app", &sent);
	ASSERT_TRUE(sent);
	ASSERT_WAIT(app.count("chat") == 2, kJoinTimeout);
	std::vector<const Event *> chats;
	for (const Event &e : app.events())
		if (e.name() == "chat")
			chats.push_back(&e);
	for (const Event *c : chats)
		expect_members(*c, {"seq", "from", "name", "text"});
	EXPECT_EQ(json_object_get_int_member(chats[0]->object, "seq"), 1);
	EXPECT_EQ(chats[0]->str("text"), "hello bob");
	EXPECT_EQ(chats[0]->str("from"), app_id);
	EXPECT_EQ(chats[0]->str("name"), "app");
	EXPECT_EQ(json_object_get_int_member(chats[1]->object, "seq"), 2);
	EXPECT_EQ(chats[1]->str("text"), "hi app");
	EXPECT_EQ(chats[1]->str("from"), bob.id());
	EXPECT_EQ(chats[1]->str("name"), "bob");

	/* Stats every few seconds, with bob's frames counted. */
	ASSERT_WAIT(app.count("stats") >= 1, 5);
	const Event *stats = nullptr;
	for (const Event &e : app.events())
		if (e.name() == "stats")
			stats = &e;
	expect_members(*stats, {"peers"});
	JsonArray *list = json_object_get_array_member(stats->object, "peers");
	ASSERT_TRUE(list && json_array_get_length(list) == 1) << stats->line;
	JsonObject *ps = json_array_get_object_element(list, 0);
	GList *names = json_object_get_members(ps);
	std::set<std::string> got;
	for (GList *l = names; l; l = l->next)
		got.insert(static_cast<const char *>(l->data));
	g_list_free(names);
	EXPECT_EQ(got, (std::set<std::string>{"id", "rtt_ms", "video_frames_rx", "audio_buffers_rx",
					      "bitrate_tx_kbps"}));
	EXPECT_STREQ(json_object_get_string_member(ps, "id"), bob.id().c_str());

	/* bob leaves. */
	const std::string bob_id = bob.id();
	bob.stop();
	ASSERT_WAIT(app.find("peer-left"), kJoinTimeout);
	expect_members(*app.find("peer-left"), {"id"});
	EXPECT_EQ(app.find("peer-left")->str("id"), bob_id);

	/* /quit: `left` is the last event, exit 0. */
	app.type("/quit");
	EXPECT_EQ(app.wait_exit(), 0) << app.stderr_text();
	ASSERT_FALSE(app.events().empty());
	EXPECT_EQ(app.events().back().name(), "left");
	expect_members(app.events().back(), {});
	EXPECT_TRUE(app.bad_lines().empty()) << app.bad_lines().front();
	/* Room events are told to the person too. */
	EXPECT_NE(app.stderr_text().find("bob joined"), std::string::npos) << app.stderr_text();
	EXPECT_NE(app.stderr_text().find("bob: hi app"), std::string::npos) << app.stderr_text();
}

/* Joining a room that already has someone: they come in `joined`, not as
 * peer-joined; Ctrl-C leaves cleanly. */
TEST_F(App, JoinedListsThePeersAlreadyThereAndCtrlCLeaves)
{
	CallPeer bob(server.ws_url(), "there", {"bob", kYellow, 660});
	ASSERT_TRUE(bob.play());
	ASSERT_WAIT(!bob.id().empty(), kJoinTimeout);
	AppProcess app;
	ASSERT_TRUE(app.start(app_args("there", "app")));
	ASSERT_WAIT(app.find("joined"), kJoinTimeout) << app.stderr_text();
	JsonArray *peers = json_object_get_array_member(app.find("joined")->object, "peers");
	ASSERT_TRUE(peers && json_array_get_length(peers) == 1) << app.find("joined")->line;
	JsonObject *p = json_array_get_object_element(peers, 0);
	EXPECT_STREQ(json_object_get_string_member(p, "id"), bob.id().c_str());
	EXPECT_STREQ(json_object_get_string_member(p, "name"), "bob");
	EXPECT_TRUE(json_object_get_boolean_member(p, "audio"));
	EXPECT_TRUE(json_object_get_boolean_member(p, "video"));
	ASSERT_WAIT(app.find("media", "kind", "video"), kMediaTimeout) << app.stderr_text();
	EXPECT_EQ(app.count("peer-joined"), 0u);
	/* The app offered (it joined last) and bob sees it. */
	const std::string app_id = app.find("joined")->str("id");
	ASSERT_WAIT(bob.has_video_from(app_id), kMediaTimeout);

	app.interrupt();
	EXPECT_EQ(app.wait_exit(), 0) << app.stderr_text();
	EXPECT_EQ(app.events().back().name(), "left");
	ASSERT_WAIT(bob.peers().empty(), kJoinTimeout);
}

/* /camera and /mic switch devices of the test device provider mid-call; the
 * other peer sees and hears the new ones. */
TEST_F(App, CameraCommandSwitchesWhatTheOtherPeerSees)
{
	AppProcess app;
	ASSERT_NO_FATAL_FAILURE(join_app_then_bob(app, "switch", {"--camera", "1", "--mic", "1"}));
	CallPeer &bob = *this->bob;

	app.type("/camera 2");
	ASSERT_WAIT(app.find("device-switched", "device", "Fake Camera Green"), 10)
	    << app.stderr_text();
	const Event *sw = app.find("device-switched", "device", "Fake Camera Green");
	expect_members(*sw, {"kind", "device"});
	EXPECT_EQ(sw->str("kind"), "video");
	ASSERT_WAIT(tile_is(bob, app_id, kCameraGreen), kMediaTimeout);

	app.type("/mic Fake Microphone 1000");
	ASSERT_WAIT(app.find("device-switched", "device", "Fake Microphone 1000"), 10)
	    << app.stderr_text();
	EXPECT_EQ(app.find("device-switched", "device", "Fake Microphone 1000")->str("kind"),
		  "audio");
	ASSERT_WAIT(bob.tone_level(1000, 300) > 0.05 && bob.tone_level(440, 300) < 0.01,
		    kMediaTimeout);

	/* A camera that is not there: said so, nothing switched. */
	const auto switches = app.count("device-switched");
	app.type("/camera 9");
	ASSERT_WAIT(app.stderr_text().find("no camera \"9\"") != std::string::npos, 5)
	    << app.stderr_text();
	app.type("/devices");
	ASSERT_WAIT(app.count("devices") >= 2, 5);
	EXPECT_EQ(app.count("device-switched"), switches);
	EXPECT_TRUE(tile_is(bob, app_id, kCameraGreen));

	app.type("/quit");
	EXPECT_EQ(app.wait_exit(), 0) << app.stderr_text();
}

/* /video and /mute: the other peer sees black and hears silence, then the
 * camera and microphone again. */
TEST_F(App, VideoAndMuteCommandsBlankWhatTheOthersGet)
{
	AppProcess app;
	ASSERT_NO_FATAL_FAILURE(join_app_then_bob(
	    app, "mute", {"--camera", "Fake Camera Red", "--mic", "Fake Microphone 440"}));
	CallPeer &bob = *this->bob;

	app.type("/video");
	ASSERT_WAIT(tile_is(bob, app_id, 0x000000), kMediaTimeout);
	app.type("/mute");
	ASSERT_WAIT(bob.tone_level(440, 300) < 0.01, kMediaTimeout);
	EXPECT_NE(app.stderr_text().find("camera off"), std::string::npos) << app.stderr_text();
	EXPECT_NE(app.stderr_text().find("microphone muted"), std::string::npos)
	    << app.stderr_text();
	/* Both still flowing: black frames and silence, not nothing. */
	const auto frames = bob.video_frames_rx()[app_id];
	ASSERT_WAIT(bob.video_frames_rx()[app_id] > frames + 10, 5);

	app.type("/video");
	app.type("/mute");
	ASSERT_WAIT(tile_is(bob, app_id, kCameraRed), kMediaTimeout);
	ASSERT_WAIT(bob.tone_level(440, 300) > 0.05, kMediaTimeout);
	app.type("/quit");
	EXPECT_EQ(app.wait_exit(), 0) << app.stderr_text();
}

/* The window (here an appsink in place of autovideosink, as --video-sink
 * allows): the room's grid with our own camera as the last tile. The app
 * runs in this process for that, on the same main context. */
TEST_F(App, WindowShowsTheRoomWithTheSelfTile)
{
	meshcall::app::Options o;
	o.server = server.ws_url();
	o.room = "window";
	o.name = "app";
	o.camera = "Fake Camera Red";
	o.mic = "Fake Microphone 440";
	o.ice_addresses = kIceAddresses;
	o.video_sink = "videoconvert ! video/x-raw,format=RGB ! appsink name=window "
		       "max-buffers=1 drop=true sync=false";
	o.audio_sink = "fakesink";
	meshcall::app::App app(o);
	ASSERT_EQ(app.build(), 0);
	g_autoptr(GstElement) window = gst_bin_get_by_name(GST_BIN(app.pipeline()), "window");
	ASSERT_TRUE(window);
	bool quit = false;
	app.start([&quit] { quit = true; });
	CallPeer bob(server.ws_url(), "window", {"bob", kYellow, 660});
	ASSERT_TRUE(bob.play());

	/* Average colour around the centre of the left (bob) and right (self)
	 * halves: two tiles side by side. */
	auto colours = [&]() -> std::optional<std::pair<Rgb, Rgb>> {
		g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample(GST_APP_SINK(window), 0);
		if (!sample)
			return std::nullopt;
		GstVideoInfo info;
		gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
		GstVideoFrame frame;
		if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample),
					 GST_MAP_READ))
			return std::nullopt;
		auto at = [&](int cx, int cy) {
			Rgb c;
			int n = 0;
			for (int y = cy - 8; y < cy + 8; y++)
				for (int x = cx - 8; x < cx + 8; x++, n++) {
					const guint8 *p =
					    static_cast<const guint8 *>(
						GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
					    y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0) + x * 3;
					c.r += p[0];
					c.g += p[1];
					c.b += p[2];
				}
			c.r /= n;
			c.g /= n;
			c.b /= n;
			return c;
		};
		int w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);
		auto out = std::make_pair(at(w / 4, h / 2), at(3 * w / 4, h / 2));
		gst_video_frame_unmap(&frame);
		return out;
	};
	std::string last = "no frame";
	ASSERT_WAIT(([&] {
			    auto c = colours();
			    if (c)
				    last = c->first.str() + " | " + c->second.str();
			    return c && c->first.near(kYellow) && c->second.near(kCameraRed);
		    }()),
		    kMediaTimeout)
	    << "left | right: " << last;
	EXPECT_FALSE(quit);
	EXPECT_EQ(app.exit_code(), 0);
	app.stop();
}

/* No camera and no microphone at all: test sources, said once, and the call
 * still carries video. */
TEST_F(App, WithoutDevicesItSendsTestSourcesAndSaysSoOnce)
{
	AppProcess app;
	ASSERT_TRUE(app.start(app_args("nodev", "app"), {"MESHCALL_FAKE_DEVICES=none"}));
	ASSERT_WAIT(app.find("joined"), kJoinTimeout) << app.stderr_text();
	const std::string app_id = app.find("joined")->str("id");
	CallPeer bob(server.ws_url(), "nodev", {"bob", kYellow, 660});
	ASSERT_TRUE(bob.play());
	ASSERT_WAIT(bob.has_video_from(app_id), kMediaTimeout);
	const std::string &err = app.stderr_text();
	const std::string said = "no camera and no microphone found";
	auto at = err.find(said);
	ASSERT_NE(at, std::string::npos) << err;
	EXPECT_EQ(err.find(said, at + 1), std::string::npos) << err;
	app.type("/quit");
	EXPECT_EQ(app.wait_exit(), 0) << app.stderr_text();
}

/* Exit codes: 2 bad arguments, 3 cannot reach the server, 4 refused. */
TEST_F(App, ExitCodesSayWhatWentWrong)
{
	struct Case {
		std::vector<std::string> args;
		const char *says;
	} bad[] = {
	    {{"--no-such-option"}, "no-such-option"},
	    {{"--server", server.ws_url()}, "no room"},
	    {{"--room", "r"}, "no server"},
	    {{"--server", server.ws_url(), "--room", "bad room"}, "not a room name"},
	    {{"--server", "ftp://x", "--room", "r"}, "not a server address"},
	    {{"--server", server.ws_url(), "--room", "r", "--codec", "av1"}, "codec"},
	    {{"--server", server.ws_url(), "--room", "r", "--camera", "7"}, "no camera number 7"},
	    {{"http://127.0.0.1:1/nowhere"}, "not a room link"},
	    {{"--config", "/nonexistent/meshcall.conf"}, "cannot read settings file"},
	};
	for (const Case &c : bad) {
		AppProcess app;
		ASSERT_TRUE(app.start(c.args));
		EXPECT_EQ(app.wait_exit(), 2) << c.args[0];
		EXPECT_NE(app.stderr_text().find(c.says), std::string::npos)
		    << c.args[0] << ": " << app.stderr_text();
	}

	/* A port nobody listens on: the server's, once it is stopped. */
	const std::string gone = server.ws_url();
	{
		ServerProcess full;
		std::string err;
		ASSERT_TRUE(full.start({"--capacity", "1"}, &err)) << err;
		CallPeer alone(full.ws_url(), "full", {"alone"});
		ASSERT_TRUE(alone.play());
		ASSERT_WAIT(!alone.id().empty(), kJoinTimeout);
		AppProcess app;
		ASSERT_TRUE(app.start({"--server", full.ws_url(), "--room", "full", "--headless",
				       "--events", "json"}));
		EXPECT_EQ(app.wait_exit(), 4) << app.stderr_text();
		EXPECT_NE(app.stderr_text().find("refused: room full is full"), std::string::npos)
		    << app.stderr_text();
		ASSERT_TRUE(app.find("error", "code", "room-full")) << app.stderr_text();
		expect_members(*app.find("error"), {"code", "message"});
		EXPECT_FALSE(app.find("left"));
		/* The one inside did not notice. */
		EXPECT_EQ(alone.peers().size(), 0u);
		EXPECT_FALSE(alone.error());
	}
	ASSERT_TRUE(server.stop());
	AppProcess app;
	ASSERT_TRUE(app.start({"--server", gone, "--room", "r", "--headless", "--events", "json"}));
	EXPECT_EQ(app.wait_exit(), 3) << app.stderr_text();
	EXPECT_NE(app.stderr_text().find("cannot reach the server"), std::string::npos)
	    << app.stderr_text();
	EXPECT_TRUE(app.find("error", "code", "server-unreachable")) << app.stderr_text();
}

/* The largest chat lines a client may send (docs/protocol.md, "Validation":
 * 4,000 characters as sent, 2,000 after trimming), of a character the server
 * writes as a 6-byte escape (U+2028 is white space, so the padding is
 * trimmed away but stays in the text). */
std::string largest_escaping_line()
{
	std::string ls = "\u2028";
	std::string text;
	for (int i = 0; i < 1000; i++)
		text += ls;
	text += "x";
	for (int i = 0; i < 1998; i++)
		text += ls;
	text += "x";
	for (int i = 0; i < 1000; i++)
		text += ls;
	return text;
}

/* 50 such lines would make a 1.2 MB welcome; the server keeps the welcome
 * under 768 KiB (docs/protocol.md, "Precise rules"), and the app joins. */
TEST_F(App, JoinsARoomWhoseHistoryHoldsFiftyOfTheLargestLines)
{
	ServerProcess chatty;
	std::string err;
	ASSERT_TRUE(chatty.start({"--chat-rate", "1000", "--chat-burst", "1000"}, &err)) << err;
	auto writer = WsClient::connect(chatty.ws_url());
	ASSERT_TRUE(writer);
	writer->send(proto::join_json("history", "writer", std::nullopt));
	ASSERT_TRUE(writer->expect<proto::Welcome>());
	const std::string line = largest_escaping_line();
	for (int i = 0; i < 50; i++)
		writer->send(proto::chat_json(line));
	for (int i = 1; i <= 50; i++) {
		auto echo = writer->expect<proto::ChatLine>();
		ASSERT_TRUE(echo) << "echo " << i;
		ASSERT_EQ(echo->seq, i);
	}
	auto reader = WsClient::connect(chatty.ws_url());
	ASSERT_TRUE(reader);
	reader->send(proto::join_json("history", "reader", std::nullopt));
	auto in = reader->next();
	ASSERT_TRUE(in);
	EXPECT_LE(in->text.size(), 768u * 1024) << "welcome of " << in->text.size() << " bytes";

	AppProcess app;
	ASSERT_TRUE(app.start({"--server", chatty.ws_url(), "--room", "history", "--name", "app",
			       "--headless", "--events", "json", "--ice-address", kIceAddresses}));
	ASSERT_WAIT(app.find("joined"), kJoinTimeout) << app.stderr_text();
	/* The history arrives, newest line last. */
	const Event *last = nullptr;
	auto newest = [&] {
		for (const Event &e : app.events())
			if (e.name() == "chat")
				last = &e;
		return last && json_object_get_int_member(last->object, "seq") == 50;
	};
	ASSERT_WAIT(newest(), kJoinTimeout) << app.stderr_text();
	EXPECT_EQ(last->str("text"), line);
	app.interrupt();
	EXPECT_EQ(app.wait_exit(), 0) << app.stderr_text();
}

/* --list-devices lists the test provider's devices, numbered. */
TEST_F(App, ListDevices)
{
	AppProcess human;
	ASSERT_TRUE(human.start({"--list-devices"}));
	EXPECT_EQ(human.wait_exit(), 0);
	/* Not JSON: a list for a person, numbered as --camera N takes it. */
	const auto &lines = human.bad_lines();
	EXPECT_NE(std::find(lines.begin(), lines.end(), "  2  Fake Camera Green"), lines.end());
	EXPECT_NE(std::find(lines.begin(), lines.end(), "  1  Fake Microphone 440"), lines.end());
	AppProcess json;
	ASSERT_TRUE(json.start({"--list-devices", "--events", "json"}));
	EXPECT_EQ(json.wait_exit(), 0);
	ASSERT_EQ(json.events().size(), 1u);
	const Event &e = json.events()[0];
	expect_members(e, {"video", "audio"});
	JsonArray *video = json_object_get_array_member(e.object, "video");
	ASSERT_TRUE(video && json_array_get_length(video) == 3) << e.line;
	EXPECT_STREQ(json_array_get_string_element(video, 1), "Fake Camera Green");
	JsonArray *audio = json_object_get_array_member(e.object, "audio");
	ASSERT_TRUE(audio && json_array_get_length(audio) == 2) << e.line;
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
