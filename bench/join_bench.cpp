// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall-join-bench: how long a newcomer waits for the first picture.
 *
 * Two sending meshcallbins ("stayers") sit in a room; then, round after
 * round, a third sending pipeline goes to PLAYING and we time how long until
 * it has decoded a video frame from both stayers (its meshcall-media
 * messages); then it goes to NULL and we wait until both stayers have seen it
 * leave. All three pipelines live in this process so that one clock times
 * every step on both sides of each connection: webrtcbin's signaling, ICE and
 * connection states, the stayer's keyframe request and keyframe, the first
 * RTP packet in the joiner's jitter buffer, the first depayloaded frame and
 * the first decoded one. See bench/README.md. Run inside tests/netns-run.sh. */
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "incoming_media.h"
#include "room_member.h"

namespace meshcall::bench
{
namespace
{

struct Options {
	std::string server;
	std::string room = "join-bench";
	int rounds = 20;
	int width = 640, height = 360;
	std::string extra; /* more meshcallbin properties for all three */
	double timeout = 15;
	double pause = 1.0; /* seconds between a leave and the next join */
	bool verbose = false;
	/* --try: settings the bench itself applies inside every webrtcbin, to
	 * find out what a change to the element would buy before making it. */
	int ice_tcp = -1;	    /* ice-tcp of the ICE agent */
	int stun_pacing_ms = -1;    /* the libnice agent's stun-pacing-timer */
	int faststart_packets = -1; /* faststart-min-packets of each jitter buffer */
};

Options g_opt;

void usage()
{
	std::fprintf(stderr,
		     "usage: meshcall-join-bench --server ws://127.0.0.1:PORT/ws [options]\n"
		     "  --rounds N         joins to time (20)\n"
		     "  --room R           (join-bench)\n"
		     "  --size WxH         video the three peers send (640x360)\n"
		     "  --extra 'k=v ...'  more meshcallbin properties for all three\n"
		     "  --timeout S        give up on a join after S seconds (15)\n"
		     "  --pause S          between a leave and the next join (1)\n"
		     "  --verbose          every step of every round\n"
		     "  --try K=V          experiment inside every webrtcbin (repeatable):\n"
		     "                     ice-tcp=0|1, stun-pacing-timer=MS, faststart=PACKETS\n");
}

bool parse_args(int argc, char **argv, Options &o)
{
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&]() -> const char * {
			if (i + 1 >= argc) {
				std::fprintf(stderr, "%s needs a value\n", a.c_str());
				std::exit(2);
			}
			return argv[++i];
		};
		if (a == "--server")
			o.server = value();
		else if (a == "--room")
			o.room = value();
		else if (a == "--rounds")
			o.rounds = std::atoi(value());
		else if (a == "--size") {
			if (std::sscanf(value(), "%dx%d", &o.width, &o.height) != 2)
				return false;
		} else if (a == "--extra")
			o.extra = value();
		else if (a == "--timeout")
			o.timeout = std::atof(value());
		else if (a == "--pause")
			o.pause = std::atof(value());
		else if (a == "--verbose")
			o.verbose = true;
		else if (a == "--try") {
			std::string kv = value();
			auto eq = kv.find('=');
			if (eq == std::string::npos)
				return false;
			std::string k = kv.substr(0, eq);
			int v = std::atoi(kv.c_str() + eq + 1);
			if (k == "ice-tcp")
				o.ice_tcp = v;
			else if (k == "stun-pacing-timer")
				o.stun_pacing_ms = v;
			else if (k == "faststart")
				o.faststart_packets = v;
			else
				return false;
		} else
			return false;
	}
	return !o.server.empty() && o.rounds > 0;
}

std::string description(const Options &o, const std::string &name)
{
	char buf[1024];
	std::snprintf(buf, sizeof(buf),
		      "videotestsrc is-live=true pattern=ball ! "
		      "video/x-raw,width=%d,height=%d,framerate=30/1 ! m.video_sink "
		      "audiotestsrc is-live=true ! m.audio_sink "
		      "meshcallbin name=m server=%s room=%s display-name=%s "
		      "ice-addresses=127.0.0.1 width=320 height=180 %s "
		      "m.video_src ! fakesink m.audio_src ! fakesink",
		      o.width, o.height, o.server.c_str(), o.room.c_str(), name.c_str(),
		      o.extra.c_str());
	return buf;
}

/* ---- what happened when, on both sides ---- */

struct Event {
	std::int64_t t_us;
	std::string who;     /* the pipeline's label */
	std::string element; /* e.g. webrtc-<peer id>; "" for the pipeline */
	std::string what;
};

class Recorder
{
public:
	void add(std::string who, std::string element, std::string what)
	{
		std::int64_t t = now_us();
		std::lock_guard l(lock_);
		events_.push_back({t, std::move(who), std::move(element), std::move(what)});
	}
	void clear()
	{
		std::lock_guard l(lock_);
		events_.clear();
	}
	std::vector<Event> snapshot() const
	{
		std::lock_guard l(lock_);
		return events_;
	}

private:
	mutable std::mutex lock_;
	std::vector<Event> events_;
};

Recorder g_events;

struct Tag {
	std::string who;
	std::string element;
};

/* Records "`what` pt=N" at the first RTP buffer through `pad`. Which of a
 * webrtcbin's jitter buffers is the video one is known only later, from the
 * payload type of its pad-added. */
void probe_first_rtp(GstPad *pad, Tag tag, const char *what)
{
	struct Once {
		Tag tag;
		std::string what;
		int seen = 0;
	};
	gst_pad_add_probe(
	    pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
	    [](GstPad *, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
		    auto *once = static_cast<Once *>(d);
		    GstBuffer *buf = nullptr;
		    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
			    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
			    if (gst_buffer_list_length(list) == 0)
				    return GST_PAD_PROBE_OK;
			    buf = gst_buffer_list_get(list, 0);
		    } else {
			    buf = GST_PAD_PROBE_INFO_BUFFER(info);
		    }
		    guint8 h[4] = {0, 0, 0, 0};
		    gst_buffer_extract(buf, 0, h, 4);
		    std::string pt = " pt=" + std::to_string(h[1] & 0x7f);
		    if (once->seen++ == 0)
			    g_events.add(once->tag.who, once->tag.element, once->what + pt);
		    /* With --verbose, the next few too: how the stream starts. */
		    if (g_opt.verbose)
			    g_events.add(once->tag.who, once->tag.element,
					 "  (" + once->what + pt + " seq " +
					     std::to_string((h[2] << 8) | h[3]) +
					     ((h[1] & 0x80) ? " marker" : "") + ")");
		    return once->seen < (g_opt.verbose ? 12 : 1) ? GST_PAD_PROBE_OK
								 : GST_PAD_PROBE_REMOVE;
	    },
	    new Once{std::move(tag), what}, [](gpointer d) { delete static_cast<Once *>(d); });
}

int payload_type(GstPad *pad)
{
	int pt = -1;
	if (GstCaps *caps = gst_pad_get_current_caps(pad)) {
		gst_structure_get_int(gst_caps_get_structure(caps, 0), "payload", &pt);
		gst_caps_unref(caps);
	}
	return pt;
}

/* The depayloader: its first output (a keyframe: rtpvp8depay drops inter
 * frames until one), and how many keyframe requests it sent upstream before
 * that, one per inter frame it dropped (webrtcbin turns them into PLIs). */
void probe_depayloader(GstElement *depay, Tag tag)
{
	struct State {
		Tag tag;
		std::atomic<int> requests{0};
		std::atomic<bool> done{false};
	};
	auto st = std::make_shared<State>();
	st->tag = std::move(tag);
	auto holder = [](std::shared_ptr<State> s) { return new std::shared_ptr<State>(s); };
	auto release = [](gpointer d) { delete static_cast<std::shared_ptr<State> *>(d); };
	GstPad *sink = gst_element_get_static_pad(depay, "sink");
	gst_pad_add_probe(
	    sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
	    [](GstPad *, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
		    auto &st = *static_cast<std::shared_ptr<State> *>(d);
		    if (st->done)
			    return GST_PAD_PROBE_REMOVE;
		    if (gst_video_event_is_force_key_unit(GST_PAD_PROBE_INFO_EVENT(info)) &&
			st->requests.fetch_add(1) == 0)
			    g_events.add(st->tag.who, st->tag.element, "depay-asks-keyframe");
		    return GST_PAD_PROBE_OK;
	    },
	    holder(st), release);
	gst_object_unref(sink);
	GstPad *src = gst_element_get_static_pad(depay, "src");
	gst_pad_add_probe(
	    src, GST_PAD_PROBE_TYPE_BUFFER,
	    [](GstPad *, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
		    auto &st = *static_cast<std::shared_ptr<State> *>(d);
		    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
		    bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
		    g_events.add(st->tag.who, st->tag.element,
				 std::string(key ? "depay-key" : "depay-delta") +
				     " requests=" + std::to_string(st->requests.load()));
		    st->done = true;
		    return GST_PAD_PROBE_REMOVE;
	    },
	    holder(st), release);
	gst_object_unref(src);
}

/* ---- when a peer's first frame reaches video_src ---- */

/* The compositor ("grid") outputs the frame for running time T about
 * `latency` after T, whenever its inputs arrived: what a viewer sees. */
struct GridWatch {
	std::mutex lock;
	std::string who;
	std::vector<std::pair<std::string, GstClockTime>> pending; /* element, running time */
};

std::mutex g_grids_lock;
std::map<std::string, GridWatch *> g_grids; /* by pipeline label; never freed */

GstClockTime running_time(GstPad *pad, GstBuffer *buf)
{
	GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
	if (!ev)
		return GST_CLOCK_TIME_NONE;
	const GstSegment *seg = nullptr;
	gst_event_parse_segment(ev, &seg);
	GstClockTime rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
	gst_event_unref(ev);
	return rt;
}

void watch_grid(RoomMember &m)
{
	GstElement *grid = gst_bin_get_by_name(GST_BIN(m.meshcallbin()), "grid");
	if (!grid)
		return;
	auto *w = new GridWatch;
	w->who = m.label();
	{
		std::lock_guard l(g_grids_lock);
		g_grids[m.label()] = w;
	}
	GstPad *src = gst_element_get_static_pad(grid, "src");
	gst_pad_add_probe(
	    src, GST_PAD_PROBE_TYPE_BUFFER,
	    [](GstPad *pad, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
		    auto *w = static_cast<GridWatch *>(d);
		    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
		    std::lock_guard l(w->lock);
		    if (w->pending.empty())
			    return GST_PAD_PROBE_OK;
		    GstClockTime rt = running_time(pad, buf);
		    GstClockTime end =
			rt + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf)
								: 33 * GST_MSECOND);
		    std::erase_if(w->pending, [&](const auto &p) {
			    if (!GST_CLOCK_TIME_IS_VALID(rt) || end <= p.second)
				    return false;
			    g_events.add(w->who, p.first, "shown");
			    return true;
		    });
		    return GST_PAD_PROBE_OK;
	    },
	    w, nullptr);
	gst_object_unref(src);
	gst_object_unref(grid);
}

/* Follows a peer's decoded video from `from` down to its compositor pad and
 * has the grid report when its first frame is in the output. */
void probe_tile(GstElement *from, Tag tag)
{
	GstElement *e = GST_ELEMENT(gst_object_ref(from));
	for (int hops = 0; hops < 8; hops++) {
		GstPad *src = gst_element_get_static_pad(e, "src");
		GstPad *peer = src ? gst_pad_get_peer(src) : nullptr;
		if (src)
			gst_object_unref(src);
		gst_object_unref(e);
		if (!peer)
			return;
		e = gst_pad_get_parent_element(peer);
		GstElementFactory *f = e ? gst_element_get_factory(e) : nullptr;
		if (f && g_str_equal(GST_OBJECT_NAME(f), "compositor")) {
			gst_pad_add_probe(
			    peer, GST_PAD_PROBE_TYPE_BUFFER,
			    [](GstPad *pad, GstPadProbeInfo *info,
			       gpointer d) -> GstPadProbeReturn {
				    auto *tag = static_cast<Tag *>(d);
				    GstClockTime rt =
					running_time(pad, GST_PAD_PROBE_INFO_BUFFER(info));
				    GridWatch *w = nullptr;
				    {
					    std::lock_guard l(g_grids_lock);
					    auto it = g_grids.find(tag->who);
					    if (it != g_grids.end())
						    w = it->second;
				    }
				    if (w && GST_CLOCK_TIME_IS_VALID(rt)) {
					    std::lock_guard l(w->lock);
					    w->pending.emplace_back(tag->element, rt);
				    }
				    return GST_PAD_PROBE_REMOVE;
			    },
			    new Tag(tag), [](gpointer d) { delete static_cast<Tag *>(d); });
			gst_object_unref(peer);
			gst_object_unref(e);
			return;
		}
		gst_object_unref(peer);
		if (!e)
			return;
	}
	gst_object_unref(e);
}

void on_state_notify(GstElement *webrtc, GParamSpec *pspec, gpointer d)
{
	auto *who = static_cast<std::string *>(d);
	int v = 0;
	g_object_get(webrtc, pspec->name, &v, nullptr);
	GEnumValue *ev = g_enum_get_value(G_PARAM_SPEC_ENUM(pspec)->enum_class, v);
	g_events.add(*who, GST_OBJECT_NAME(webrtc),
		     std::string(pspec->name) + "=" + (ev ? ev->value_nick : "?"));
}

void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer d)
{
	if (GST_PAD_DIRECTION(pad) == GST_PAD_SINK) {
		/* What the payloaders hand webrtcbin: when the sender really sends. */
		probe_first_rtp(pad, Tag{*static_cast<std::string *>(d), GST_OBJECT_NAME(webrtc)},
				"sent");
		return;
	}
	if (!caps_are_video(pad))
		return;
	Tag tag{*static_cast<std::string *>(d), GST_OBJECT_NAME(webrtc)};
	g_events.add(tag.who, tag.element, "pad-added pt=" + std::to_string(payload_type(pad)));
	if (GstPad *peer = gst_pad_get_peer(pad)) {
		if (GstElement *depay = gst_pad_get_parent_element(peer)) {
			probe_depayloader(depay, tag);
			probe_tile(depay, tag);
			gst_object_unref(depay);
		}
		gst_object_unref(peer);
	}
}

void apply_experiments(GstElement *webrtc)
{
	GObject *ice = nullptr;
	g_object_get(webrtc, "ice-agent", &ice, nullptr);
	if (!ice)
		return;
	if (g_opt.ice_tcp >= 0)
		g_object_set(ice, "ice-tcp", gboolean(g_opt.ice_tcp), nullptr);
	if (g_opt.stun_pacing_ms >= 0) {
		GObject *agent = nullptr;
		g_object_get(ice, "agent", &agent, nullptr);
		if (agent) {
			g_object_set(agent, "stun-pacing-timer", guint(g_opt.stun_pacing_ms),
				     nullptr);
			g_object_unref(agent);
		}
	}
	g_object_unref(ice);
	if (g_opt.faststart_packets >= 0) {
		/* After meshcallbin's own handler, which was connected first. */
		if (GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin")) {
			g_signal_connect(
			    rtpbin, "new-jitterbuffer",
			    G_CALLBACK(+[](GstElement *, GstElement *jb, guint, guint) {
				    g_object_set(jb, "faststart-min-packets",
						 guint(g_opt.faststart_packets), nullptr);
			    }),
			    nullptr);
			gst_object_unref(rtpbin);
		}
	}
}

void watch_webrtcbin(GstElement *webrtc, const std::string &who)
{
	g_events.add(who, GST_OBJECT_NAME(webrtc), "created");
	apply_experiments(webrtc);
	for (const char *prop : {"signaling-state", "ice-gathering-state", "ice-connection-state",
				 "connection-state"}) {
		std::string sig = std::string("notify::") + prop;
		g_signal_connect_data(
		    webrtc, sig.c_str(), G_CALLBACK(on_state_notify), new std::string(who),
		    [](gpointer d, GClosure *) { delete static_cast<std::string *>(d); },
		    GConnectFlags(0));
	}
	/* Runs after meshcallbin's own handler, which links the decoder. */
	g_signal_connect_data(
	    webrtc, "pad-added", G_CALLBACK(on_pad_added), new std::string(who),
	    [](gpointer d, GClosure *) { delete static_cast<std::string *>(d); }, GConnectFlags(0));
}

void on_deep_element_added(GstBin *, GstBin *, GstElement *e, gpointer d)
{
	const std::string &who = *static_cast<std::string *>(d);
	GstElementFactory *f = gst_element_get_factory(e);
	if (!f)
		return;
	const char *factory = GST_OBJECT_NAME(f);
	if (g_str_equal(factory, "webrtcbin")) {
		watch_webrtcbin(e, who);
	} else if (g_str_equal(factory, "rtpjitterbuffer")) {
		/* The first video packet after SRTP, and when the buffer lets it go. */
		Tag tag{who, webrtc_of(e)};
		GstPad *sink = gst_element_get_static_pad(e, "sink");
		GstPad *src = gst_element_get_static_pad(e, "src");
		probe_first_rtp(sink, tag, "jitterbuffer-in");
		probe_first_rtp(src, tag, "jitterbuffer-out");
		gst_object_unref(sink);
		gst_object_unref(src);
	}
}

/* The stayer's encoder: when a keyframe is asked for and when one comes out. */
void watch_encoder(RoomMember &m)
{
	GstElement *enc = gst_bin_get_by_name(GST_BIN(m.meshcallbin()), "video-encoder");
	if (!enc)
		return;
	GstPad *src = gst_element_get_static_pad(enc, "src");
	struct State {
		std::string who;
		bool asked = false;
	};
	gst_pad_add_probe(
	    src, GstPadProbeType(GST_PAD_PROBE_TYPE_EVENT_UPSTREAM | GST_PAD_PROBE_TYPE_BUFFER),
	    [](GstPad *, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
		    auto *st = static_cast<State *>(d);
		    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_UPSTREAM) {
			    if (gst_video_event_is_force_key_unit(GST_PAD_PROBE_INFO_EVENT(info))) {
				    g_events.add(st->who, "", "keyframe-requested");
				    st->asked = true;
			    }
		    } else if (st->asked && !GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info),
								    GST_BUFFER_FLAG_DELTA_UNIT)) {
			    g_events.add(st->who, "", "keyframe-encoded");
			    st->asked = false;
		    }
		    return GST_PAD_PROBE_OK;
	    },
	    new State{m.label()}, [](gpointer d) { delete static_cast<State *>(d); });
	gst_object_unref(src);
	gst_object_unref(enc);
}

void watch(RoomMember &m)
{
	g_signal_connect_data(
	    m.pipeline(), "deep-element-added", G_CALLBACK(on_deep_element_added),
	    new std::string(m.label()),
	    [](gpointer d, GClosure *) { delete static_cast<std::string *>(d); }, GConnectFlags(0));
	watch_encoder(m);
	watch_grid(m);
	m.on_element_message = [label = m.label()](const GstStructure *s, std::int64_t) {
		const char *name = gst_structure_get_name(s);
		if (g_str_equal(name, "meshcall-joined")) {
			g_events.add(label, "", "welcome");
		} else if (g_str_equal(name, "meshcall-media")) {
			const char *kind = gst_structure_get_string(s, "kind");
			const char *peer = gst_structure_get_string(s, "peer");
			if (kind && peer && g_str_equal(kind, "video"))
				g_events.add(label, std::string("webrtc-") + peer, "decoded");
		}
	};
}

/* The signaling client says when it sends join only in its debug log. */
void on_log(GstDebugCategory *category, GstDebugLevel, const gchar *, const gchar *, gint,
	    GObject *, GstDebugMessage *message, gpointer)
{
	if (!g_str_equal(gst_debug_category_get_name(category), "meshcallbin-signaling"))
		return;
	const gchar *text = gst_debug_message_get(message);
	if (text && g_str_has_prefix(text, "connected, joining"))
		g_events.add("joiner", "", "join-sent");
}

/* ---- one round's steps ---- */

struct Step {
	const char *key;   /* how it is found */
	const char *label; /* how it is printed */
	enum Side { Joiner, Stayer, StayerEncoder } side;
};

/* In the order they normally happen. The joiner's webrtcbin for a stayer is
 * webrtc-<stayer id>; the stayer's for the joiner is webrtc-<joiner id>. */
const Step kSteps[] = {
    {"join-sent", "join sent (WebSocket open)", Step::Joiner},
    {"welcome", "welcome received", Step::Joiner},
    {"created", "joiner: peer branch created", Step::Joiner},
    {"signaling-state=have-local-offer", "joiner: offer set and sent", Step::Joiner},
    {"signaling-state=have-remote-offer", "stayer: offer received", Step::Stayer},
    {"signaling-state=stable", "stayer: answer set and sent", Step::Stayer},
    {"signaling-state=stable", "joiner: answer received", Step::Joiner},
    {"ice-connection-state=connected", "joiner: ICE connected", Step::Joiner},
    {"ice-connection-state=connected", "stayer: ICE connected", Step::Stayer},
    {"connection-state=connected", "stayer: DTLS connected", Step::Stayer},
    {"connection-state=connected", "joiner: DTLS connected", Step::Joiner},
    {"keyframe-requested", "stayer: keyframe requested", Step::StayerEncoder},
    {"keyframe-encoded", "stayer: keyframe encoded", Step::StayerEncoder},
    {"sent", "stayer: first video into webrtcbin", Step::Stayer},
    {"jitterbuffer-in", "joiner: first video RTP in", Step::Joiner},
    {"jitterbuffer-out", "joiner: ... out of jitterbuffer", Step::Joiner},
    {"pad-added", "joiner: webrtcbin pad-added", Step::Joiner},
    {"depay-asks-keyframe", "joiner: depayloader asks for keyframe", Step::Joiner},
    {"depay-key", "joiner: first keyframe depayloaded", Step::Joiner},
    {"decoded", "joiner: first frame decoded (media)", Step::Joiner},
    {"shown", "joiner: first frame out of the grid", Step::Joiner},
};
constexpr int kNumSteps = int(sizeof(kSteps) / sizeof(kSteps[0]));

struct Round {
	bool ok = false;
	double join_ms = 0; /* PLAYING → decoded from both */
	/* Per step, ms after PLAYING, later of the two stayers; NAN if unseen. */
	double step_ms[kNumSteps];
	int keyframe_requests = 0; /* by the joiner's depayloaders, both stayers */
};

double step_time(const std::vector<Event> &events, const Step &step, std::int64_t t0,
		 const std::string &joiner_id, const std::string &stayer_label,
		 const std::string &stayer_id)
{
	std::string who = step.side == Step::Joiner ? "joiner" : stayer_label;
	std::string element;
	if (step.side == Step::Joiner && std::strcmp(step.key, "join-sent") &&
	    std::strcmp(step.key, "welcome"))
		element = "webrtc-" + stayer_id;
	else if (step.side == Step::Stayer)
		element = "webrtc-" + joiner_id;
	bool ice = g_str_has_prefix(step.key, "ice-connection-state=");
	std::string key = step.key;
	if (g_str_has_prefix(step.key, "jitterbuffer-") || g_str_equal(step.key, "sent")) {
		/* Only the video one: the payload type of the joiner's pad-added
		 * (both directions use the joiner's offer's). */
		key.clear();
		for (const Event &e : events)
			if (e.who == "joiner" && e.element == "webrtc-" + stayer_id &&
			    g_str_has_prefix(e.what.c_str(), "pad-added pt="))
				key =
				    std::string(step.key) + e.what.substr(std::strlen("pad-added"));
		if (key.empty())
			return NAN;
	}
	for (const Event &e : events) {
		if (e.who != who || e.element != element || e.t_us < t0)
			continue;
		bool match = e.what == key || g_str_has_prefix(e.what.c_str(), key.c_str()) ||
			     (ice && e.what == "ice-connection-state=completed");
		if (match)
			return double(e.t_us - t0) / 1000.0;
	}
	return NAN;
}

int keyframe_requests(const std::vector<Event> &events, const std::string &element)
{
	for (const Event &e : events)
		if (e.who == "joiner" && e.element == element &&
		    g_str_has_prefix(e.what.c_str(), "depay-key requests="))
			return std::atoi(e.what.c_str() + std::strlen("depay-key requests="));
	return 0;
}

int run(const Options &o)
{
	gst_debug_set_threshold_for_name("meshcallbin-signaling", GST_LEVEL_DEBUG);
	if (!g_getenv("GST_DEBUG"))
		gst_debug_remove_log_function(gst_debug_log_default);
	gst_debug_add_log_function(on_log, nullptr, nullptr);

	RoomMember a("stayer-a", description(o, "stayer-a"));
	RoomMember b("stayer-b", description(o, "stayer-b"));
	RoomMember joiner("joiner", description(o, "joiner"));
	if (!a.ok() || !b.ok() || !joiner.ok())
		return 1;
	for (RoomMember *m : {&a, &b, &joiner})
		watch(*m);

	/* The stayers: in the room and seeing each other. */
	a.set_state(GST_STATE_PLAYING);
	if (!wait_until([&] { return !a.id().empty() || a.error(); }, o.timeout) || a.error()) {
		std::fprintf(stderr, "stayer-a did not join\n");
		return 1;
	}
	b.set_state(GST_STATE_PLAYING);
	bool up = wait_until(
	    [&] { return !b.id().empty() && a.video_from(b.id()) && b.video_from(a.id()); },
	    o.timeout * 2);
	if (!up) {
		std::fprintf(stderr, "the two stayers did not see each other\n");
		return 1;
	}
	const std::string ida = a.id(), idb = b.id();
	std::printf("stayers %s and %s are up; %d joins of a third sending peer (%dx%d)%s%s\n",
		    ida.c_str(), idb.c_str(), o.rounds, o.width, o.height,
		    o.extra.empty() ? "" : ", meshcallbin ", o.extra.c_str());
	wait_until([] { return false; }, 1.0); /* let the stayers settle */

	std::vector<Round> rounds;
	int failures = 0;
	double grid_latency_ms = -1;
	for (int r = 0; r < o.rounds; r++) {
		joiner.reset();
		g_events.clear();
		const std::int64_t t0 = now_us();
		joiner.set_state(GST_STATE_PLAYING);
		bool ok = wait_until(
		    [&] {
			    std::string id = joiner.id();
			    return joiner.error() || (!id.empty() && joiner.video_from(ida) &&
						      joiner.video_from(idb));
		    },
		    o.timeout);
		ok = ok && !joiner.error();
		if (ok) /* and until both reach the grid's output */
			wait_until(
			    [] {
				    int shown = 0;
				    for (const Event &e : g_events.snapshot())
					    shown += e.who == "joiner" && e.what == "shown";
				    return shown >= 2;
			    },
			    3.0);
		const std::string jid = joiner.id();
		std::vector<Event> events = g_events.snapshot();
		if (ok && grid_latency_ms < 0) {
			/* What the grid adds, once both peers' streams are in it. */
			GstElement *grid =
			    gst_bin_get_by_name(GST_BIN(joiner.meshcallbin()), "grid");
			GstPad *src = grid ? gst_element_get_static_pad(grid, "src") : nullptr;
			GstQuery *q = gst_query_new_latency();
			if (src && gst_pad_query(src, q)) {
				GstClockTime min = 0;
				gst_query_parse_latency(q, nullptr, &min, nullptr);
				grid_latency_ms = double(min) / 1e6;
			}
			gst_query_unref(q);
			if (src)
				gst_object_unref(src);
			if (grid)
				gst_object_unref(grid);
		}
		Round round;
		round.ok = ok;
		if (ok)
			round.join_ms =
			    double(std::max(joiner.video_from(ida), joiner.video_from(idb)) - t0) /
			    1000.0;
		for (int s = 0; s < kNumSteps; s++) {
			double ta = step_time(events, kSteps[s], t0, jid, "stayer-a", ida);
			double tb = step_time(events, kSteps[s], t0, jid, "stayer-b", idb);
			round.step_ms[s] =
			    std::isnan(ta) || std::isnan(tb) ? NAN : std::max(ta, tb);
		}
		round.keyframe_requests = keyframe_requests(events, "webrtc-" + ida) +
					  keyframe_requests(events, "webrtc-" + idb);
		if (ok) {
			std::printf("round %2d: %7.1f ms  (out of the grid %.1f ms; inter frames "
				    "dropped before the keyframes: %d)\n",
				    r + 1, round.join_ms, round.step_ms[kNumSteps - 1],
				    round.keyframe_requests);
		} else {
			failures++;
			std::printf("round %2d: FAILED after %.1f s (joined: %s, video from a: %s, "
				    "b: %s)\n",
				    r + 1, o.timeout, jid.empty() ? "no" : "yes",
				    joiner.video_from(ida) ? "yes" : "no",
				    joiner.video_from(idb) ? "yes" : "no");
		}
		if (o.verbose || !ok) {
			for (const Event &e : events)
				std::printf("    %8.1f %-9s %-24s %s\n",
					    double(e.t_us - t0) / 1000.0, e.who.c_str(),
					    e.element.c_str(), e.what.c_str());
		}
		std::fflush(stdout);
		rounds.push_back(round);

		joiner.set_state(GST_STATE_NULL);
		if (!jid.empty() &&
		    !wait_until([&] { return a.saw_left(jid) && b.saw_left(jid); }, o.timeout)) {
			std::fprintf(stderr, "the stayers did not see the joiner leave\n");
			return 1;
		}
		if (a.error() || b.error())
			return 1;
		wait_until([] { return false; }, o.pause);
	}

	std::vector<double> joins;
	for (const Round &r : rounds)
		if (r.ok)
			joins.push_back(r.join_ms);
	std::printf("\njoin time, PLAYING → first decoded video frame from both stayers, %zu of "
		    "%d joins:\n",
		    joins.size(), o.rounds);
	if (!joins.empty())
		std::printf("  p50 %.1f ms   p95 %.1f ms   min %.1f ms   max %.1f ms\n",
			    percentile(joins, 50), percentile(joins, 95), percentile(joins, 0),
			    percentile(joins, 100));
	std::printf("\nwhere it goes (ms after PLAYING, the later of the two stayers; p50 over "
		    "joins, step = p50 minus the previous row's):\n");
	double prev = 0;
	for (int s = 0; s < kNumSteps; s++) {
		std::vector<double> v;
		for (const Round &r : rounds)
			if (r.ok)
				v.push_back(r.step_ms[s]);
		double p50 = percentile(v, 50);
		if (std::isnan(p50)) {
			std::printf("  %-36s      -\n", kSteps[s].label);
			continue;
		}
		std::printf("  %-36s %7.1f  %+7.1f\n", kSteps[s].label, p50, p50 - prev);
		prev = p50;
	}
	std::vector<double> requests, shown;
	for (const Round &r : rounds)
		if (r.ok) {
			requests.push_back(r.keyframe_requests);
			shown.push_back(r.step_ms[kNumSteps - 1]);
		}
	std::printf("  inter frames the joiner dropped before the keyframes (both stayers): p50 "
		    "%.0f, max %.0f\n",
		    percentile(requests, 50), percentile(requests, 100));
	std::printf("\nout of the joiner's grid (video_src; what a viewer sees, after the "
		    "compositor's latency, %.0f ms as reported by its src pad):\n  p50 %.1f ms   "
		    "p95 %.1f ms   min %.1f ms   max %.1f ms\n",
		    grid_latency_ms, percentile(shown, 50), percentile(shown, 95),
		    percentile(shown, 0), percentile(shown, 100));

	std::printf("RESULT joins=%zu failures=%d p50_ms=%.1f p95_ms=%.1f min_ms=%.1f "
		    "max_ms=%.1f shown_p50_ms=%.1f shown_p95_ms=%.1f\n",
		    joins.size(), failures, percentile(joins, 50), percentile(joins, 95),
		    percentile(joins, 0), percentile(joins, 100), percentile(shown, 50),
		    percentile(shown, 95));
	return failures ? 1 : 0;
}

} // namespace
} // namespace meshcall::bench

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	meshcall::bench::Options &o = meshcall::bench::g_opt;
	if (!meshcall::bench::parse_args(argc, argv, o)) {
		meshcall::bench::usage();
		return 2;
	}
	return meshcall::bench::run(o);
}
