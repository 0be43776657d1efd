// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall-test-peer: a meshcallbin pipeline in a room, driven and observed by
 * the browser tests (tests/browser/harness.mjs) through stdin and stdout.
 *
 *   meshcall-test-peer --server URL --room R --name N [--ice-address A]
 *
 * Sends a green test pattern and a 660 Hz tone. Prints one JSON object per
 * line on stdout (flushed): {"event":"joined","id"}, {"event":"peer-joined",
 * "id","name"}, {"event":"peer-left","id"}, {"event":"chat","seq","from",
 * "name","text"}, {"event":"stats","peers":{"<id>":{"video_frames",
 * "audio_buffers","connection_state"}}} every 500 ms, {"event":"error",
 * "message"} on a bus error (then exits 1). Each stdin line is sent as a chat
 * line. SIGINT or SIGTERM: pipeline to NULL, exit 0. Diagnostics go to stderr.
 */
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <unistd.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "line_reader.h"
#include "support/upstream_races.h"

namespace
{

constexpr guint kStatsIntervalMs = 500;

/* stdout is written from the main thread and the stats thread. */
std::mutex stdout_lock;

void print_event(JsonBuilder *builder)
{
	g_autoptr(JsonNode) root = json_builder_get_root(builder);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	json_generator_set_root(gen, root);
	g_autofree gchar *text = json_generator_to_data(gen, nullptr);
	std::lock_guard l(stdout_lock);
	std::fputs(text, stdout);
	std::fputc('\n', stdout);
	std::fflush(stdout);
}

/* Starts {"event": event, ...}; the caller adds members and calls finish_event. */
JsonBuilder *begin_event(const char *event)
{
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "event");
	json_builder_add_string_value(b, event);
	return b;
}

void finish_event(JsonBuilder *b)
{
	json_builder_end_object(b);
	print_event(b);
	g_object_unref(b);
}

void add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value ? value : "");
}

struct Peer {
	GstElement *pipeline = nullptr;
	GstElement *bin = nullptr; /* the meshcallbin, owned by pipeline */
	GMainLoop *loop = nullptr;
	int exit_code = 0;

	/* The stats timer runs on a context and thread of its own: get-stats
	 * may block up to 0.5 s per peer, which must not stall signaling on
	 * the main context. */
	GMainContext *stats_context = nullptr;
	GMainLoop *stats_loop = nullptr;
	GThread *stats_thread = nullptr;
};

/* Notified on the main context when a welcome arrives, before the peers
 * already in the room are announced (a bus message would come after them). */
void on_peer_id(GstElement *bin, GParamSpec *, gpointer)
{
	g_autofree gchar *id = nullptr;
	g_object_get(bin, "peer-id", &id, nullptr);
	if (!id)
		return;
	JsonBuilder *b = begin_event("joined");
	add_string(b, "id", id);
	finish_event(b);
}

void on_peer_joined(GstElement *, const char *id, const char *name, gpointer)
{
	JsonBuilder *b = begin_event("peer-joined");
	add_string(b, "id", id);
	add_string(b, "name", name);
	finish_event(b);
}

void on_peer_left(GstElement *, const char *id, gpointer)
{
	JsonBuilder *b = begin_event("peer-left");
	add_string(b, "id", id);
	finish_event(b);
}

void on_chat(GstElement *, guint64 seq, const char *from, const char *name, const char *text,
	     gpointer)
{
	JsonBuilder *b = begin_event("chat");
	json_builder_set_member_name(b, "seq");
	json_builder_add_int_value(b, static_cast<gint64>(seq));
	add_string(b, "from", from);
	add_string(b, "name", name);
	add_string(b, "text", text);
	finish_event(b);
}

gboolean print_stats(gpointer data)
{
	auto *peer = static_cast<Peer *>(data);
	GstStructure *stats = nullptr;
	g_signal_emit_by_name(peer->bin, "get-stats", &stats);
	if (!stats)
		return G_SOURCE_CONTINUE;
	JsonBuilder *b = begin_event("stats");
	json_builder_set_member_name(b, "peers");
	json_builder_begin_object(b);
	const GValue *list = gst_structure_get_value(stats, "peers");
	for (guint i = 0; list && i < gst_value_array_get_size(list); i++) {
		const GstStructure *p = gst_value_get_structure(gst_value_array_get_value(list, i));
		const char *id = gst_structure_get_string(p, "id");
		if (!id)
			continue;
		guint64 frames = 0, buffers = 0;
		gst_structure_get_uint64(p, "video-frames-rx", &frames);
		gst_structure_get_uint64(p, "audio-buffers-rx", &buffers);
		json_builder_set_member_name(b, id);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "video_frames");
		json_builder_add_int_value(b, static_cast<gint64>(frames));
		json_builder_set_member_name(b, "audio_buffers");
		json_builder_add_int_value(b, static_cast<gint64>(buffers));
		add_string(b, "connection_state", gst_structure_get_string(p, "connection-state"));
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	finish_event(b);
	gst_structure_free(stats);
	return G_SOURCE_CONTINUE;
}

void start_stats(Peer *peer)
{
	peer->stats_context = g_main_context_new();
	peer->stats_loop = g_main_loop_new(peer->stats_context, FALSE);
	GSource *timer = g_timeout_source_new(kStatsIntervalMs);
	g_source_set_callback(timer, print_stats, peer, nullptr);
	g_source_attach(timer, peer->stats_context);
	g_source_unref(timer);
	peer->stats_thread = g_thread_new(
	    "stats",
	    [](gpointer d) -> gpointer {
		    auto *loop = static_cast<GMainLoop *>(d);
		    g_main_context_push_thread_default(g_main_loop_get_context(loop));
		    g_main_loop_run(loop);
		    g_main_context_pop_thread_default(g_main_loop_get_context(loop));
		    return nullptr;
	    },
	    peer->stats_loop);
}

void stop_stats(Peer *peer)
{
	if (!peer->stats_thread)
		return;
	g_main_loop_quit(peer->stats_loop);
	g_thread_join(peer->stats_thread);
	peer->stats_thread = nullptr;
	g_main_loop_unref(peer->stats_loop);
	g_main_context_unref(peer->stats_context);
}

gboolean on_bus_message(GstBus *, GstMessage *msg, gpointer data)
{
	auto *peer = static_cast<Peer *>(data);
	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR: {
		g_autoptr(GError) err = nullptr;
		g_autofree gchar *debug = nullptr;
		gst_message_parse_error(msg, &err, &debug);
		g_printerr("meshcall-test-peer: error from %s: %s (%s)\n",
			   GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message,
			   debug ? debug : "-");
		JsonBuilder *b = begin_event("error");
		add_string(b, "message", err->message);
		finish_event(b);
		peer->exit_code = 1;
		g_main_loop_quit(peer->loop);
		break;
	}
	case GST_MESSAGE_WARNING: {
		g_autoptr(GError) err = nullptr;
		gst_message_parse_warning(msg, &err, nullptr);
		g_printerr("meshcall-test-peer: warning from %s: %s\n",
			   GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message);
		break;
	}
	case GST_MESSAGE_LATENCY:
		/* Peers' streams come and go (docs/design.md, fact 11). */
		gst_bin_recalculate_latency(GST_BIN(peer->pipeline));
		break;
	default:
		break;
	}
	return G_SOURCE_CONTINUE;
}

void send_line(Peer *peer, std::string line)
{
	if (!line.empty() && line.back() == '\r')
		line.pop_back();
	if (line.empty())
		return;
	gboolean sent = FALSE;
	g_signal_emit_by_name(peer->bin, "send-chat", line.c_str(), &sent);
	if (!sent)
		g_printerr("meshcall-test-peer: chat line not sent (not joined or invalid)\n");
}

gboolean on_stop_signal(gpointer data)
{
	auto *peer = static_cast<Peer *>(data);
	g_printerr("meshcall-test-peer: signal received, stopping\n");
	g_main_loop_quit(peer->loop);
	return G_SOURCE_CONTINUE;
}

} // namespace

int main(int argc, char **argv)
{
	meshcall::test::spare_upstream_rtpsession_race();
	g_autofree gchar *server = nullptr;
	g_autofree gchar *room = nullptr;
	g_autofree gchar *name = nullptr;
	g_autofree gchar *ice_address = nullptr;
	GOptionEntry entries[] = {
	    {"server", 0, 0, G_OPTION_ARG_STRING, &server, "meshcall-server URL", "URL"},
	    {"room", 0, 0, G_OPTION_ARG_STRING, &room, "Room to join", "ROOM"},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &name, "Display name", "NAME"},
	    {"ice-address", 0, 0, G_OPTION_ARG_STRING, &ice_address,
	     "Local addresses ICE gathers on (comma-separated)", "ADDR"},
	    {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- a meshcallbin test peer");
	g_option_context_add_main_entries(ctx, entries, nullptr);
	g_option_context_add_group(ctx, gst_init_get_option_group());
	g_autoptr(GError) error = nullptr;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("meshcall-test-peer: %s\n", error->message);
		return 2;
	}
	if (!server || !room || !name) {
		g_printerr("meshcall-test-peer: --server, --room and --name are required\n");
		return 2;
	}

	GstElement *pipeline = gst_parse_launch(
	    "meshcallbin name=m "
	    "videotestsrc is-live=true pattern=solid-color foreground-color=0xff10c010 "
	    "! video/x-raw,width=320,height=240,framerate=30/1 ! m.video_sink "
	    "audiotestsrc is-live=true wave=sine freq=660 ! m.audio_sink "
	    "m.video_src ! fakesink m.audio_src ! fakesink",
	    &error);
	if (!pipeline) {
		g_printerr("meshcall-test-peer: cannot build the pipeline: %s\n", error->message);
		return 1;
	}
	gst_object_ref_sink(pipeline);
	Peer peer;
	peer.pipeline = pipeline;
	peer.bin = gst_bin_get_by_name(GST_BIN(pipeline), "m");
	/* Set here rather than in the description: no quoting of user text. */
	g_object_set(peer.bin, "server", server, "room", room, "display-name", name, nullptr);
	if (ice_address)
		g_object_set(peer.bin, "ice-addresses", ice_address, nullptr);
	g_signal_connect(peer.bin, "notify::peer-id", G_CALLBACK(on_peer_id), nullptr);
	g_signal_connect(peer.bin, "peer-joined", G_CALLBACK(on_peer_joined), nullptr);
	g_signal_connect(peer.bin, "peer-left", G_CALLBACK(on_peer_left), nullptr);
	g_signal_connect(peer.bin, "chat-received", G_CALLBACK(on_chat), nullptr);

	peer.loop = g_main_loop_new(nullptr, FALSE);
	g_autoptr(GstBus) bus = gst_element_get_bus(pipeline);
	guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &peer);
	guint sigint = g_unix_signal_add(SIGINT, on_stop_signal, &peer);
	guint sigterm = g_unix_signal_add(SIGTERM, on_stop_signal, &peer);
	/* End of input: keep running, there is just nothing more to say. */
	auto input = std::make_unique<meshcall::app::LineReader>(
	    STDIN_FILENO, [&peer](std::string line) { send_line(&peer, std::move(line)); });

	if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		/* The reason is on the bus: let the watch report it. */
		g_printerr("meshcall-test-peer: the pipeline did not start\n");
	}
	start_stats(&peer);
	g_main_loop_run(peer.loop);

	stop_stats(&peer);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	g_source_remove(sigint);
	g_source_remove(sigterm);
	g_source_remove(bus_watch);
	input.reset();
	gst_object_unref(peer.bin);
	gst_object_unref(pipeline);
	g_main_loop_unref(peer.loop);
	return peer.exit_code;
}
