// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcall app. See app.h. */
#include "app.h"

#include <cstdio>
#include <utility>

#include <unistd.h>

#include <glib-unix.h>

#include "commands.h"
#include "events.h"
#include "line_reader.h"

namespace meshcall::app
{

namespace
{

constexpr guint kStatsIntervalMs = 2000;

void say(const char *format, ...) G_GNUC_PRINTF(1, 2);
void say(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree gchar *text = g_strdup_vprintf(format, args);
	va_end(args);
	g_printerr("%s\n", text);
}

GstElement *make(const char *factory, const char *name = nullptr)
{
	GstElement *e = gst_element_factory_make(factory, name);
	if (!e)
		say("meshcall: the GStreamer element %s is missing (is its plugin installed?)",
		    factory);
	return e;
}

/* A sink from a gst-launch description, or `factory` when it is empty. */
GstElement *make_sink(const std::string &description, const char *factory)
{
	if (description.empty())
		return make(factory);
	g_autoptr(GError) err = nullptr;
	GstElement *bin = gst_parse_bin_from_description(description.c_str(), TRUE, &err);
	if (!bin)
		say("meshcall: cannot use \"%s\" as a sink: %s", description.c_str(),
		    err ? err->message : "?");
	return bin;
}

bool has_property(GstElement *e, const char *name)
{
	return g_object_class_find_property(G_OBJECT_GET_CLASS(e), name) != nullptr;
}

std::string get_string(const GstStructure *s, const char *field)
{
	const char *v = gst_structure_get_string(s, field);
	return v ? v : "";
}

/* The `code` meshcallbin puts in an error or warning's details (its
 * documentation lists them); "" for messages from other elements. */
std::string error_code_of(GstMessage *message)
{
	const GstStructure *details = nullptr;
	if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
		gst_message_parse_error_details(message, &details);
	else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_WARNING)
		gst_message_parse_warning_details(message, &details);
	return details ? get_string(details, "code") : std::string();
}

std::string peer_json(const GstStructure *p)
{
	gboolean audio = TRUE, video = TRUE;
	gst_structure_get_boolean(p, "audio", &audio);
	gst_structure_get_boolean(p, "video", &video);
	return ObjectWriter()
	    .string("id", get_string(p, "id"))
	    .string("name", get_string(p, "name"))
	    .boolean("audio", audio)
	    .boolean("video", video)
	    .finish();
}

std::string devices_json(const std::vector<std::string> &devices)
{
	ArrayWriter a;
	for (const auto &d : devices)
		a.string(d);
	return a.finish();
}

std::vector<std::string> read_devices(GstElement *source)
{
	g_auto(GStrv) list = nullptr;
	g_object_get(source, "devices", &list, nullptr);
	std::vector<std::string> out;
	for (gchar **d = list; d && *d; d++)
		out.emplace_back(*d);
	return out;
}

void emit_devices(const std::vector<std::string> &video, const std::vector<std::string> &audio)
{
	ObjectWriter e = begin_event("devices");
	e.raw("video", devices_json(video)).raw("audio", devices_json(audio));
	emit(e);
}

void print_device_list(FILE *out, const char *title, const std::vector<std::string> &devices,
		       const std::string &active)
{
	std::fprintf(out, "%s:\n", title);
	if (devices.empty())
		std::fprintf(out, "  (none)\n");
	for (std::size_t i = 0; i < devices.size(); i++)
		std::fprintf(out, "  %zu  %s%s\n", i + 1, devices[i].c_str(),
			     devices[i] == active ? "  (in use)" : "");
}

} // namespace

/* ---- stats: a timer on a thread of its own ---- */

class StatsThread
{
public:
	StatsThread(GstElement *call, bool json)
	    : call_(GST_ELEMENT(gst_object_ref(call))), json_(json)
	{
		context_ = g_main_context_new();
		loop_ = g_main_loop_new(context_, FALSE);
		if (json_) {
			GSource *timer = g_timeout_source_new(kStatsIntervalMs);
			g_source_set_callback(
			    timer,
			    [](gpointer d) -> gboolean {
				    static_cast<StatsThread *>(d)->report(false);
				    return G_SOURCE_CONTINUE;
			    },
			    this, nullptr);
			g_source_attach(timer, context_);
			g_source_unref(timer);
		}
		thread_ = g_thread_new(
		    "meshcall-stats",
		    [](gpointer d) -> gpointer {
			    auto *self = static_cast<StatsThread *>(d);
			    g_main_context_push_thread_default(self->context_);
			    g_main_loop_run(self->loop_);
			    g_main_context_pop_thread_default(self->context_);
			    return nullptr;
		    },
		    this);
	}

	~StatsThread()
	{
		g_main_loop_quit(loop_);
		g_thread_join(thread_);
		g_main_loop_unref(loop_);
		g_main_context_unref(context_);
		gst_object_unref(call_);
	}

	/* /stats: the figures now, for a person (on stderr). */
	void request_human()
	{
		g_main_context_invoke(
		    context_,
		    [](gpointer d) -> gboolean {
			    static_cast<StatsThread *>(d)->report(true);
			    return G_SOURCE_REMOVE;
		    },
		    this);
	}

private:
	void report(bool human)
	{
		GstStructure *stats = nullptr;
		g_signal_emit_by_name(call_, "get-stats", &stats);
		if (!stats)
			return;
		const GValue *list = gst_structure_get_value(stats, "peers");
		guint n = list ? gst_value_array_get_size(list) : 0;
		ArrayWriter peers;
		if (human && n == 0)
			say("stats: nobody else in the room");
		for (guint i = 0; i < n; i++) {
			const GstStructure *p =
			    gst_value_get_structure(gst_value_array_get_value(list, i));
			double rtt = 0, tx = 0, rx = 0, lost = 0;
			guint64 frames = 0, buffers = 0;
			gst_structure_get_double(p, "rtt-ms", &rtt);
			gst_structure_get_double(p, "bitrate-tx-kbps", &tx);
			gst_structure_get_double(p, "bitrate-rx-kbps", &rx);
			gst_structure_get_double(p, "fraction-lost", &lost);
			gst_structure_get_uint64(p, "video-frames-rx", &frames);
			gst_structure_get_uint64(p, "audio-buffers-rx", &buffers);
			if (human) {
				say("stats: %s (%s): %s, rtt %.0f ms, sending %.0f kbit/s, "
				    "receiving %.0f kbit/s, %.1f %% lost, %" G_GUINT64_FORMAT
				    " frames and %" G_GUINT64_FORMAT " audio buffers received",
				    get_string(p, "name").c_str(), get_string(p, "id").c_str(),
				    get_string(p, "connection-state").c_str(), rtt, tx, rx,
				    lost * 100, frames, buffers);
				continue;
			}
			peers.raw(
			    ObjectWriter()
				.string("id", get_string(p, "id"))
				.number("rtt_ms", rtt)
				.integer("video_frames_rx", static_cast<std::int64_t>(frames))
				.integer("audio_buffers_rx", static_cast<std::int64_t>(buffers))
				.number("bitrate_tx_kbps", tx)
				.finish());
		}
		gst_structure_free(stats);
		if (!human) {
			ObjectWriter e = begin_event("stats");
			e.raw("peers", peers.finish());
			emit(e);
		}
	}

	GstElement *call_;
	bool json_;
	GMainContext *context_;
	GMainLoop *loop_;
	GThread *thread_;
};

/* ---- App ---- */

App::App(Options options) : options_(std::move(options))
{
}

App::~App()
{
	stop();
	if (pipeline_)
		gst_object_unref(pipeline_);
}

int App::build()
{
	call_ = gst_element_factory_make("meshcallbin", "call");
	if (!call_) {
		say("meshcall: the meshcall GStreamer plugin is not installed (no meshcallbin); "
		    "run `meson install`, or set GST_PLUGIN_PATH to build/plugins/meshcall");
		return kExitFailure;
	}
	pipeline_ = gst_pipeline_new("meshcall");
	gst_object_ref_sink(pipeline_);
	gst_bin_add(GST_BIN(pipeline_), call_);
	camera_ = make("switchvideosrc", "camera");
	mic_ = make("switchaudiosrc", "mic");
	if (!camera_ || !mic_)
		return kExitFailure;
	gst_bin_add_many(GST_BIN(pipeline_), camera_, mic_, nullptr);

	/* A number names an entry of --list-devices. */
	struct {
		GstElement *source;
		std::string &spec;
		const char *what;
	} picks[] = {{camera_, options_.camera, "camera"}, {mic_, options_.mic, "microphone"}};
	for (auto &p : picks) {
		auto devices = read_devices(p.source);
		if (!p.spec.empty() && g_ascii_isdigit(p.spec[0])) {
			auto device = resolve_device(p.spec, devices);
			if (!device) {
				say("meshcall: there is no %s number %s (there are %zu; "
				    "meshcall --list-devices)",
				    p.what, p.spec.c_str(), devices.size());
				return kExitBadArguments;
			}
			p.spec = *device;
		}
		g_object_set(p.source, "device", p.spec.c_str(), nullptr);
	}

	g_object_set(call_, "server", options_.server.c_str(), "room", options_.room.c_str(),
		     "display-name", options_.name.c_str(), "show-self", !options_.headless,
		     nullptr);
	if (!options_.token.empty())
		g_object_set(call_, "token", options_.token.c_str(), nullptr);
	if (!options_.ice_addresses.empty())
		g_object_set(call_, "ice-addresses", options_.ice_addresses.c_str(), nullptr);
	if (options_.latency_ms)
		g_object_set(call_, "latency", *options_.latency_ms, nullptr);
	if (options_.bitrate_kbps)
		g_object_set(call_, "video-bitrate", *options_.bitrate_kbps, nullptr);
	gst_util_set_object_arg(G_OBJECT(call_), "video-codec", options_.codec.c_str());

	/* The room's picture and sound. Headless: consumed in real time (the
	 * grid and mix are live), shown and played nowhere. */
	GstElement *video_sink, *audio_sink;
	std::vector<GstElement *> video_chain, audio_chain;
	if (options_.headless && options_.video_sink.empty()) {
		video_sink = make("fakesink", "video-out");
		g_object_set(video_sink, "sync", TRUE, "qos", FALSE, nullptr);
	} else {
		video_sink = make_sink(options_.video_sink, "autovideosink");
		video_chain = {make("queue"), make("videoconvert")};
	}
	if (options_.headless && options_.audio_sink.empty()) {
		audio_sink = make("fakesink", "audio-out");
		g_object_set(audio_sink, "sync", TRUE, nullptr);
	} else {
		audio_sink = make_sink(options_.audio_sink, "autoaudiosink");
		audio_chain = {make("queue"), make("audioconvert"), make("audioresample")};
	}
	video_chain.push_back(video_sink);
	audio_chain.push_back(audio_sink);
	for (auto *chain : {&video_chain, &audio_chain}) {
		for (GstElement *e : *chain)
			if (!e)
				return kExitFailure;
		for (GstElement *e : *chain)
			gst_bin_add(GST_BIN(pipeline_), e);
		for (std::size_t i = 1; i < chain->size(); i++)
			gst_element_link((*chain)[i - 1], (*chain)[i]);
	}
	if (!gst_element_link_pads(camera_, "src", call_, "video_sink") ||
	    !gst_element_link_pads(mic_, "src", call_, "audio_sink") ||
	    !gst_element_link_pads(call_, "video_src", video_chain.front(), nullptr) ||
	    !gst_element_link_pads(call_, "audio_src", audio_chain.front(), nullptr)) {
		say("meshcall: cannot link the pipeline");
		return kExitFailure;
	}

	g_signal_connect_swapped(camera_, "devices-changed",
				 G_CALLBACK(+[](App *app) { app->print_devices(false); }), this);
	g_signal_connect_swapped(mic_, "devices-changed",
				 G_CALLBACK(+[](App *app) { app->print_devices(false); }), this);
	return kExitOk;
}

std::string App::name_of(const std::string &id) const
{
	auto it = names_.find(id);
	return it == names_.end() ? id : it->second;
}

/* With no camera or microphone the call still runs, on a test pattern and
 * silence; say so once, and what to do about it. */
void App::announce_test_sources()
{
	bool no_camera = options_.camera == "auto" && read_devices(camera_).empty();
	bool no_mic = options_.mic == "auto" && read_devices(mic_).empty();
	if (no_camera && no_mic)
		say("meshcall: no camera and no microphone found: sending a test pattern and "
		    "silence (plugging one in switches to it)");
	else if (no_camera)
		say("meshcall: no camera found: sending a test pattern (plugging one in "
		    "switches to it)");
	else if (no_mic)
		say("meshcall: no microphone found: sending silence (plugging one in switches "
		    "to it)");
}

void App::start(std::function<void()> on_quit)
{
	on_quit_ = std::move(on_quit);
	g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_);
	bus_watch_ = gst_bus_add_watch(bus, on_bus_message, this);
	announce_test_sources();
	say("meshcall: joining room %s at %s as \"%s\"", options_.room.c_str(),
	    options_.server.c_str(), options_.name.c_str());
	if (options_.events_json)
		print_devices(false);
	stats_ = std::make_unique<StatsThread>(call_, options_.events_json);
	/* A failure is on the bus, with its reason: the watch reports it. */
	gst_element_set_state(pipeline_, GST_STATE_PLAYING);
	if (has_property(call_, "video-encoder")) {
		g_autofree gchar *encoder = nullptr;
		g_object_get(call_, "video-encoder", &encoder, nullptr);
		if (encoder)
			say("meshcall: encoding video with %s", encoder);
	}
}

void App::stop()
{
	if (!pipeline_ || !bus_watch_)
		return;
	stats_.reset();
	gst_element_set_state(pipeline_, GST_STATE_NULL);
	g_source_remove(std::exchange(bus_watch_, 0));
	if (joined_) {
		joined_ = false;
		say("meshcall: left room %s", options_.room.c_str());
		if (options_.events_json) {
			ObjectWriter e = begin_event("left");
			emit(e);
		}
	}
}

void App::fail(int code, const std::string &error_code, const std::string &message)
{
	if (options_.events_json) {
		ObjectWriter e = begin_event("error");
		e.string("code", error_code).string("message", message);
		emit(e);
	}
	if (exit_code_ != kExitOk)
		return; /* the first reason stands */
	exit_code_ = code;
	if (on_quit_)
		on_quit_();
}

gboolean App::on_bus_message(GstBus *, GstMessage *message, gpointer data)
{
	auto *app = static_cast<App *>(data);
	switch (GST_MESSAGE_TYPE(message)) {
	case GST_MESSAGE_ELEMENT:
		app->on_element_message(message);
		break;
	case GST_MESSAGE_ERROR:
		app->on_error(message);
		break;
	case GST_MESSAGE_WARNING:
		app->on_warning(message);
		break;
	case GST_MESSAGE_LATENCY:
		/* Peers come and go: their sinks change the latency (docs/design.md, fact 11). */
		gst_bin_recalculate_latency(GST_BIN(app->pipeline_));
		break;
	default:
		break;
	}
	return G_SOURCE_CONTINUE;
}

void App::on_joined(const GstStructure *s)
{
	joined_ = true;
	my_id_ = get_string(s, "id");
	ArrayWriter peers;
	std::string human;
	const GValue *members = gst_structure_get_value(s, "members");
	for (guint i = 0; members && i < gst_value_array_get_size(members); i++) {
		const GstStructure *p =
		    gst_value_get_structure(gst_value_array_get_value(members, i));
		std::string id = get_string(p, "id");
		names_[id] = get_string(p, "name");
		announced_.insert(id);
		peers.raw(peer_json(p));
		human += (human.empty() ? "" : ", ") + names_[id];
	}
	say("meshcall: joined room %s as \"%s\" (id %s); %s", get_string(s, "room").c_str(),
	    get_string(s, "name").c_str(), my_id_.c_str(),
	    human.empty() ? "nobody else is here yet" : ("here: " + human).c_str());
	if (options_.events_json) {
		ObjectWriter e = begin_event("joined");
		e.string("id", my_id_)
		    .string("room", get_string(s, "room"))
		    .raw("peers", peers.finish());
		emit(e);
	}
}

void App::on_element_message(GstMessage *message)
{
	const GstStructure *s = gst_message_get_structure(message);
	GstObject *src = GST_MESSAGE_SRC(message);
	if (src == GST_OBJECT(camera_) || src == GST_OBJECT(mic_)) {
		on_device_message(GST_ELEMENT(src), s);
		return;
	}
	if (src != GST_OBJECT(call_))
		return;
	const bool json = options_.events_json;
	if (gst_structure_has_name(s, "meshcall-joined")) {
		on_joined(s);
	} else if (gst_structure_has_name(s, "meshcall-peer-joined")) {
		std::string id = get_string(s, "id");
		names_[id] = get_string(s, "name");
		/* Peers already in the room came with `joined`. */
		if (announced_.erase(id))
			return;
		say("* %s joined", names_[id].c_str());
		if (json) {
			ObjectWriter e = begin_event("peer-joined");
			e.raw("peer", peer_json(s));
			emit(e);
		}
	} else if (gst_structure_has_name(s, "meshcall-peer-left")) {
		std::string id = get_string(s, "id");
		say("* %s left", name_of(id).c_str());
		names_.erase(id);
		if (json) {
			ObjectWriter e = begin_event("peer-left");
			e.string("id", id);
			emit(e);
		}
	} else if (gst_structure_has_name(s, "meshcall-media")) {
		std::string peer = get_string(s, "peer");
		std::string kind = get_string(s, "kind");
		int width = 0, height = 0;
		bool video = kind == "video" && gst_structure_get_int(s, "width", &width) &&
			     gst_structure_get_int(s, "height", &height);
		if (video)
			say("* receiving video from %s (%dx%d)", name_of(peer).c_str(), width,
			    height);
		else
			say("* receiving %s from %s", kind.c_str(), name_of(peer).c_str());
		if (json) {
			ObjectWriter e = begin_event("media");
			e.string("peer", peer).string("kind", kind);
			if (video)
				e.integer("width", width).integer("height", height);
			emit(e);
		}
	} else if (gst_structure_has_name(s, "meshcall-chat")) {
		guint64 seq = 0;
		gst_structure_get_uint64(s, "seq", &seq);
		std::string from = get_string(s, "from");
		say("%s%s: %s", get_string(s, "name").c_str(), from == my_id_ ? " (you)" : "",
		    get_string(s, "text").c_str());
		if (json) {
			ObjectWriter e = begin_event("chat");
			e.integer("seq", static_cast<std::int64_t>(seq))
			    .string("from", from)
			    .string("name", get_string(s, "name"))
			    .string("text", get_string(s, "text"));
			emit(e);
		}
	} else if (gst_structure_has_name(s, "meshcall-peer-media")) {
		gboolean audio = TRUE, video = TRUE;
		gst_structure_get_boolean(s, "audio", &audio);
		gst_structure_get_boolean(s, "video", &video);
		say("* %s: microphone %s, camera %s", name_of(get_string(s, "id")).c_str(),
		    audio ? "on" : "muted", video ? "on" : "off");
	}
}

void App::on_device_message(GstElement *source, const GstStructure *s)
{
	const char *what = source == camera_ ? "camera" : "microphone";
	std::string kind = get_string(s, "kind");
	std::string device = get_string(s, "device");
	std::string reason = get_string(s, "reason");
	if (gst_structure_has_name(s, "device-switched")) {
		/* The element's labels for its own sources, in words. */
		const bool camera = source == camera_;
		std::string shown = device == "fallback" ? (camera ? "a test pattern" : "silence")
				    : device == "test"	 ? (camera ? "test bars" : "a test tone")
							 : device;
		say("* %s: now %s", what, shown.c_str());
		if (options_.events_json) {
			ObjectWriter e = begin_event("device-switched");
			e.string("kind", kind).string("device", device);
			emit(e);
		}
	} else if (gst_structure_has_name(s, "device-lost")) {
		say("* %s %s was lost (%s): sending %s until it is back", what, device.c_str(),
		    reason.c_str(), source == camera_ ? "a test pattern" : "silence");
		if (options_.events_json) {
			ObjectWriter e = begin_event("device-lost");
			e.string("kind", kind).string("device", device);
			emit(e);
		}
	} else if (gst_structure_has_name(s, "device-failed")) {
		say("* %s %s cannot be used (%s); keeping the previous one", what, device.c_str(),
		    reason.c_str());
		if (options_.events_json) {
			ObjectWriter e = begin_event("error");
			e.string("code", "device-failed")
			    .string("message", std::string(what) + " " + device + ": " + reason);
			emit(e);
		}
	}
}

void App::on_error(GstMessage *message)
{
	g_autoptr(GError) err = nullptr;
	g_autofree gchar *debug = nullptr;
	gst_message_parse_error(message, &err, &debug);
	std::string text = err->message;
	std::string code = error_code_of(message);
	if (code == "server-unreachable") {
		say("meshcall: cannot reach the server at %s (%s)", options_.server.c_str(),
		    text.c_str());
		fail(kExitUnreachable, code, text);
	} else if (code == "room-full") {
		say("meshcall: refused: room %s is full", options_.room.c_str());
		fail(kExitRefused, code, text);
	} else if (code == "unauthorized") {
		say("meshcall: refused: the server wants a valid token for room %s (--token)",
		    options_.room.c_str());
		fail(kExitRefused, code, text);
	} else if (code == "invalid-room" || code == "invalid-name") {
		say("meshcall: refused by the server: %s", text.c_str());
		fail(kExitRefused, code, text);
	} else {
		say("meshcall: error from %s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
		    text.c_str());
		if (debug)
			say("meshcall: (%s)", debug);
		fail(kExitFailure, code.empty() ? "pipeline" : code, text);
	}
}

void App::on_warning(GstMessage *message)
{
	g_autoptr(GError) err = nullptr;
	gst_message_parse_warning(message, &err, nullptr);
	std::string code = error_code_of(message);
	if (code == "server-lost") {
		joined_ = false;
		announced_.clear();
		say("meshcall: connection to the server lost; the call goes on, rejoining");
		if (options_.events_json) {
			ObjectWriter e = begin_event("error");
			e.string("code", code).string("message", err->message);
			emit(e);
		}
		return;
	}
	say("meshcall: warning from %s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
	    err->message);
}

void App::print_devices(bool human)
{
	auto video = read_devices(camera_);
	auto audio = read_devices(mic_);
	if (human) {
		g_autofree gchar *cam = nullptr, *m = nullptr;
		g_object_get(camera_, "active-device", &cam, nullptr);
		g_object_get(mic_, "active-device", &m, nullptr);
		print_device_list(stderr, "cameras (/camera N)", video, cam ? cam : "");
		print_device_list(stderr, "microphones (/mic N)", audio, m ? m : "");
	}
	if (options_.events_json)
		emit_devices(video, audio);
}

void App::switch_device(GstElement *source, const char *what, const std::string &arg)
{
	auto devices = read_devices(source);
	auto device = resolve_device(arg, devices);
	if (!device) {
		say("meshcall: no %s \"%s\" (/devices lists them)", what, arg.c_str());
		return;
	}
	say("meshcall: switching %s to %s", what, device->c_str());
	g_object_set(source, "device", device->c_str(), nullptr);
}

void App::toggle(const char *property, const char *what, const char *off_text, const char *on_text)
{
	if (!has_property(call_, property)) {
		say("meshcall: this meshcallbin cannot mute the %s", what);
		return;
	}
	gboolean muted = FALSE;
	g_object_get(call_, property, &muted, nullptr);
	g_object_set(call_, property, !muted, nullptr);
	say("meshcall: %s %s", what, muted ? on_text : off_text);
}

void App::handle_line(const std::string &line)
{
	Command c = parse_command(line);
	using K = Command::Kind;
	switch (c.kind) {
	case K::Empty:
		break;
	case K::Invalid:
		say("meshcall: %s", c.argument.c_str());
		break;
	case K::Chat: {
		gboolean sent = FALSE;
		g_signal_emit_by_name(call_, "send-chat", c.argument.c_str(), &sent);
		if (!sent)
			say("meshcall: not sent: %s",
			    joined_ ? "a chat line is 1-2000 characters of text"
				    : "not in the room yet");
		break;
	}
	case K::Devices:
		print_devices(true);
		break;
	case K::Camera:
		switch_device(camera_, "camera", c.argument);
		break;
	case K::Mic:
		switch_device(mic_, "microphone", c.argument);
		break;
	case K::Mute:
		toggle("mute-audio", "microphone", "muted (the others hear silence)", "on");
		break;
	case K::Video:
		toggle("mute-video", "camera", "off (the others see black)", "on");
		break;
	case K::Stats:
		if (stats_)
			stats_->request_human();
		break;
	case K::Quit:
		if (on_quit_)
			on_quit_();
		break;
	case K::Help:
		g_printerr("%s", command_help());
		break;
	}
}

/* ---- run: the process's main loop, stdin and signals ---- */

namespace
{

gboolean on_stop_signal(gpointer loop)
{
	g_main_loop_quit(static_cast<GMainLoop *>(loop));
	return G_SOURCE_CONTINUE;
}

} // namespace

int App::run()
{
	if (!pipeline_)
		if (int code = build(); code != kExitOk)
			return code;
	GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
	guint sigint = g_unix_signal_add(SIGINT, on_stop_signal, loop);
	guint sigterm = g_unix_signal_add(SIGTERM, on_stop_signal, loop);
	{
		/* End of input (a service, a closed pipe) leaves us in the room. */
		LineReader input(STDIN_FILENO, [this](std::string line) { handle_line(line); });
		start([loop] { g_main_loop_quit(loop); });
		g_main_loop_run(loop);
		stop();
	}
	g_source_remove(sigint);
	g_source_remove(sigterm);
	g_main_loop_unref(loop);
	return exit_code_;
}

int list_devices(bool json)
{
	GstElement *camera = gst_element_factory_make("switchvideosrc", nullptr);
	GstElement *mic = gst_element_factory_make("switchaudiosrc", nullptr);
	if (!camera || !mic) {
		say("meshcall: the meshcall GStreamer plugin is not installed; run `meson "
		    "install`, or set GST_PLUGIN_PATH to build/plugins/meshcall");
		if (camera)
			gst_object_unref(gst_object_ref_sink(camera));
		if (mic)
			gst_object_unref(gst_object_ref_sink(mic));
		return kExitFailure;
	}
	gst_object_ref_sink(camera);
	gst_object_ref_sink(mic);
	auto video = read_devices(camera);
	auto audio = read_devices(mic);
	if (json) {
		emit_devices(video, audio);
	} else {
		print_device_list(stdout, "Cameras (--camera N)", video, {});
		print_device_list(stdout, "Microphones (--mic N)", audio, {});
		std::fflush(stdout);
	}
	gst_object_unref(camera);
	gst_object_unref(mic);
	return kExitOk;
}

} // namespace meshcall::app
