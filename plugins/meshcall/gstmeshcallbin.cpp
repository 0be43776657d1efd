/**
 * SECTION:element-meshcallbin
 * @title: meshcallbin
 *
 * Joins a meshcall room (see shared/PROTOCOL.md): connects to a
 * meshcall-server over a WebSocket, keeps one webrtcbin per remote peer, sends
 * the `video_sink`/`audio_sink` input to all of them from one encoder each,
 * and outputs the remote peers as a labelled grid on `video_src` and their mix
 * on `audio_src`.
 *
 * Needs a running GLib main loop on the default main context (gst-launch-1.0
 * and every GTK application have one): signaling runs there.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m meshcallbin name=m server=ws://127.0.0.1:8080/ws room=demo display-name=test \
 *     videotestsrc is-live=true ! m.video_sink  audiotestsrc is-live=true ! m.audio_sink \
 *     m.video_src ! queue ! videoconvert ! autovideosink  m.audio_src ! queue ! fakesink
 * ]|
 * (pipelines/test-pattern.sh)
 *
 * Since: 0.1
 */
#include "gstmeshcallbin.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "media_graph.h"
#include "peer_branch.h"
#include "signaling_client.h"

GST_DEBUG_CATEGORY(meshcallbin_debug);
#define GST_CAT_DEFAULT meshcallbin_debug

using namespace meshcall;
namespace proto = meshcall::protocol;

/* ---- the video-codec enum ---- */

enum MeshcallVideoCodec { CODEC_VP8, CODEC_H264, CODEC_AUTO };

static GType meshcall_video_codec_get_type()
{
	static GType type = 0;
	static const GEnumValue values[] = {
	    {CODEC_VP8, "VP8 (every WebRTC peer decodes it)", "vp8"},
	    {CODEC_H264, "H.264 constrained baseline", "h264"},
	    {CODEC_AUTO,
	     "H.264 when the machine has a hardware encoder, else VP8 (else software H.264)",
	     "auto"},
	    {0, nullptr, nullptr}};
	if (g_once_init_enter(&type))
		g_once_init_leave(&type, g_enum_register_static("GstMeshcallVideoCodec", values));
	return type;
}

/* ---- instance ---- */

namespace
{

/* Property values; guarded by State::settings_lock. */
/* Enough for a LAN's jitter. On top of it come the grid's output frame
 * (33 ms), the sink's processing deadline (20 ms) and where a frame falls
 * in the grid's 30 fps: 90-112 ms from camera to screen on loopback
 * (bench/e2e-latency.sh). */
constexpr unsigned kDefaultLatencyMs = 30;

struct Settings {
	std::string server = "ws://127.0.0.1:8080/ws";
	std::string room = "demo";
	std::string display_name;
	std::string token;
	MeshcallVideoCodec codec = CODEC_AUTO;
	unsigned video_bitrate = 1000;
	std::string ice_addresses;
	std::string stun_server;
	std::string turn_server;
	unsigned latency = kDefaultLatencyMs;
	bool show_self = false;
	unsigned width = 1280;
	unsigned height = 720;
	bool encoder_per_peer = false;
	bool mute_audio = false;
	bool mute_video = false;
};

struct BitrateSample {
	guint64 bytes_sent = 0;
	guint64 bytes_received = 0;
	std::chrono::steady_clock::time_point when;
};

} // namespace

struct State final : PeerHost {
	explicit State(GstMeshcallBin *element) : self(element) {}

	GstBin *bin() override { return GST_BIN(self); }
	MediaGraph &graph() override { return *media; }
	void media_started(const std::string &peer_id, MediaKind kind, int width,
			   int height) override;
	void peer_warning(const std::string &peer_id, const std::string &message) override;
	void layout_changed() override;

	GstMeshcallBin *self;

	/* Lock order: settings_lock, then lock, then a PeerBranch's lock. */
	std::mutex settings_lock;
	Settings settings;	   /* guarded by settings_lock */
	std::string video_encoder; /* factory, once video_sink exists; guarded by settings_lock */

	std::unique_ptr<MediaGraph> media; /* built in _init, freed in _finalize */
	MediaSettings media_settings;	   /* fixed when the first sink pad is made */
	bool media_settings_fixed = false;
	std::atomic<int> outputs_at_eos{0}; /* how many of video_src, audio_src sent EOS */
	GstPad *video_src = nullptr; /* ghost pads, owned by the element */
	GstPad *audio_src = nullptr;
	GstPad *video_sink = nullptr;
	GstPad *audio_sink = nullptr;

	/* Below: touched on the main context (signaling), and by state changes
	 * and get-stats. */
	std::mutex lock;
	std::shared_ptr<SignalingClient> signaling;		  /* guarded by lock */
	bool joined = false;					  /* guarded by lock */
	std::string peer_id;					  /* guarded by lock */
	WebrtcConfig webrtc;					  /* guarded by lock */
	std::map<std::string, std::shared_ptr<PeerBranch>> peers; /* guarded by lock */
	std::map<std::string, BitrateSample> bitrate_samples;	  /* guarded by lock */
	guint reconnect_source = 0;				  /* guarded by lock */
	unsigned reconnect_attempt = 0;				  /* guarded by lock */
	bool running = false; /* between READY→PAUSED and PAUSED→READY; guarded by lock */
};

struct _GstMeshcallBin {
	GstBin parent;
	State *state;
};

G_DEFINE_TYPE(GstMeshcallBin, gst_meshcall_bin, GST_TYPE_BIN)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(meshcallbin, "meshcallbin", GST_RANK_NONE,
				      GST_TYPE_MESHCALL_BIN,
				      GST_DEBUG_CATEGORY_INIT(meshcallbin_debug, "meshcallbin", 0,
							      "meshcall room element"));

enum {
	PROP_0,
	PROP_SERVER,
	PROP_ROOM,
	PROP_DISPLAY_NAME,
	PROP_TOKEN,
	PROP_VIDEO_CODEC,
	PROP_VIDEO_BITRATE,
	PROP_ICE_ADDRESSES,
	PROP_STUN_SERVER,
	PROP_TURN_SERVER,
	PROP_LATENCY,
	PROP_SHOW_SELF,
	PROP_WIDTH,
	PROP_HEIGHT,
	PROP_PEER_ID,
	PROP_ENCODER_PER_PEER,
	PROP_MUTE_AUDIO,
	PROP_MUTE_VIDEO,
	PROP_VIDEO_ENCODER,
};

enum {
	SIGNAL_PEER_JOINED,
	SIGNAL_PEER_LEFT,
	SIGNAL_CHAT_RECEIVED,
	SIGNAL_SEND_CHAT,
	SIGNAL_GET_STATS,
	N_SIGNALS
};
static guint signals[N_SIGNALS];

static GstStaticPadTemplate video_sink_template = GST_STATIC_PAD_TEMPLATE(
    "video_sink", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("video/x-raw"));
static GstStaticPadTemplate audio_sink_template = GST_STATIC_PAD_TEMPLATE(
    "audio_sink", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("audio/x-raw"));
static GstStaticPadTemplate video_src_template =
    GST_STATIC_PAD_TEMPLATE("video_src", GST_PAD_SRC, GST_PAD_ALWAYS,
			    GST_STATIC_CAPS("video/x-raw,format=I420,framerate=30/1"));
static GstStaticPadTemplate audio_src_template = GST_STATIC_PAD_TEMPLATE(
    "audio_src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"));

/* ---- helpers ---- */

static void post_element_message(GstMeshcallBin *self, GstStructure *s)
{
	gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* Appends `s` (taken) to `array`, a GST_TYPE_ARRAY value. */
static void array_take_structure(GValue *array, GstStructure *s)
{
	GValue v = G_VALUE_INIT;
	g_value_init(&v, GST_TYPE_STRUCTURE);
	g_value_take_boxed(&v, s);
	gst_value_array_append_and_take_value(array, &v);
}

/* Tells the room whether our microphone and camera are on (PROTOCOL.md
 * `media`); dropped when not joined. The caller holds settings_lock, so the
 * state set last is the state sent last. */
static void send_media_state_locked(State *st)
{
	std::lock_guard l(st->lock);
	if (st->joined && st->signaling)
		st->signaling->send_media(!st->settings.mute_audio, !st->settings.mute_video);
}

static std::vector<std::string> split_addresses(const std::string &list)
{
	std::vector<std::string> out;
	std::string cur;
	for (char c : list) {
		if (c == ',' || c == ' ' || c == ';') {
			if (!cur.empty())
				out.push_back(std::exchange(cur, {}));
		} else {
			cur += c;
		}
	}
	if (!cur.empty())
		out.push_back(cur);
	return out;
}

/* W3C RTCIceServer URLs ("stun:host:port", "turn:host:port?transport=udp")
 * to webrtcbin's forms ("stun://host:port", "turn://user:pass@host:port"). */
static void apply_ice_servers(WebrtcConfig &config, const std::vector<proto::IceServer> &servers)
{
	for (const auto &server : servers) {
		for (const auto &url : server.urls) {
			auto colon = url.find(':');
			if (colon == std::string::npos)
				continue;
			std::string scheme = url.substr(0, colon);
			std::string rest = url.substr(colon + 1);
			if (rest.rfind("//", 0) == 0)
				rest = rest.substr(2);
			if (scheme == "stun" && config.stun_server.empty()) {
				config.stun_server = "stun://" + rest;
			} else if ((scheme == "turn" || scheme == "turns") && server.username &&
				   server.credential) {
				g_autofree char *user =
				    g_uri_escape_string(server.username->c_str(), nullptr, FALSE);
				g_autofree char *pass =
				    g_uri_escape_string(server.credential->c_str(), nullptr, FALSE);
				config.turn_servers.push_back(scheme + "://" + user + ":" + pass +
							      "@" + rest);
			}
		}
	}
}

static void schedule_reconnect(GstMeshcallBin *self);
static void connect_to_server(GstMeshcallBin *self);

/* ---- PeerHost ---- */

void State::media_started(const std::string &peer, MediaKind kind, int width, int height)
{
	GST_INFO_OBJECT(self, "first %s from peer %s", kind == MediaKind::Video ? "frame" : "audio",
			peer.c_str());
	GstStructure *s =
	    gst_structure_new("meshcall-media", "peer", G_TYPE_STRING, peer.c_str(), "kind",
			      G_TYPE_STRING, kind == MediaKind::Video ? "video" : "audio", nullptr);
	if (kind == MediaKind::Video)
		gst_structure_set(s, "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
				  nullptr);
	post_element_message(self, s);
}

void State::peer_warning(const std::string &peer, const std::string &message)
{
	GST_ELEMENT_WARNING(self, STREAM, FAILED, ("peer %s: %s", peer.c_str(), message.c_str()),
			    (nullptr));
}

/* ---- room events (main context) ---- */

static void post_layout(GstMeshcallBin *self);

void State::layout_changed()
{
	post_layout(self);
}

static void post_layout(GstMeshcallBin *self)
{
	GValue tiles = G_VALUE_INIT;
	g_value_init(&tiles, GST_TYPE_ARRAY);
	for (const Tile &t : self->state->media->layout())
		array_take_structure(
		    &tiles,
		    gst_structure_new("tile", "peer", G_TYPE_STRING, t.peer_id.c_str(), "name",
				      G_TYPE_STRING, t.name.c_str(), "x", G_TYPE_INT, t.x, "y",
				      G_TYPE_INT, t.y, "width", G_TYPE_INT, t.width, "height",
				      G_TYPE_INT, t.height, nullptr));
	GstStructure *s = gst_structure_new_empty("meshcall-layout");
	gst_structure_take_value(s, "tiles", &tiles);
	post_element_message(self, s);
}

static void add_peer(GstMeshcallBin *self, const proto::Peer &peer, PeerBranch::Role role)
{
	State *st = self->state;
	std::shared_ptr<PeerBranch> branch;
	{
		std::lock_guard l(st->lock);
		if (!st->signaling || st->peers.count(peer.id))
			return;
		branch =
		    PeerBranch::create(*st, st->signaling, peer.id, peer.name, role, st->webrtc);
		if (!branch) {
			GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN,
					  ("webrtcbin is not available"), (nullptr));
			return;
		}
		st->peers[peer.id] = branch;
	}
	GST_INFO_OBJECT(self, "peer %s (%s) joined; we %s", peer.id.c_str(), peer.name.c_str(),
			role == PeerBranch::Role::Offerer ? "offer" : "answer");
	g_signal_emit(self, signals[SIGNAL_PEER_JOINED], 0, peer.id.c_str(), peer.name.c_str());
	post_element_message(self, gst_structure_new("meshcall-peer-joined", "id", G_TYPE_STRING,
						     peer.id.c_str(), "name", G_TYPE_STRING,
						     peer.name.c_str(), nullptr));
	if (role == PeerBranch::Role::Offerer)
		branch->start_offer();
}

static void remove_peer(GstMeshcallBin *self, const std::string &id)
{
	State *st = self->state;
	std::shared_ptr<PeerBranch> branch;
	{
		std::lock_guard l(st->lock);
		auto it = st->peers.find(id);
		if (it == st->peers.end())
			return;
		branch = std::move(it->second);
		st->peers.erase(it);
		st->bitrate_samples.erase(id);
	}
	GST_INFO_OBJECT(self, "peer %s left; removing its branch", id.c_str());
	gst_object_ref(self);
	branch->remove([self, id] {
		/* Everything of the peer is out of the bin now. */
		g_signal_emit(self, signals[SIGNAL_PEER_LEFT], 0, id.c_str());
		post_element_message(self, gst_structure_new("meshcall-peer-left", "id",
							     G_TYPE_STRING, id.c_str(), nullptr));
		post_layout(self);
		gst_object_unref(self);
	});
}

/* Synchronously removes every peer (state going down or connection lost). */
static void remove_all_peers_now(GstMeshcallBin *self)
{
	State *st = self->state;
	std::map<std::string, std::shared_ptr<PeerBranch>> peers;
	{
		std::lock_guard l(st->lock);
		peers.swap(st->peers);
		st->bitrate_samples.clear();
	}
	for (auto &[id, branch] : peers) {
		branch->remove_now();
		g_signal_emit(self, signals[SIGNAL_PEER_LEFT], 0, id.c_str());
	}
}

static std::shared_ptr<PeerBranch> find_peer(State *st, const std::string &id)
{
	std::lock_guard l(st->lock);
	auto it = st->peers.find(id);
	return it == st->peers.end() ? nullptr : it->second;
}

static void emit_chat(GstMeshcallBin *self, const proto::ChatLine &line)
{
	g_signal_emit(self, signals[SIGNAL_CHAT_RECEIVED], 0, static_cast<guint64>(line.seq),
		      line.from.c_str(), line.name.c_str(), line.text.c_str());
	post_element_message(self, gst_structure_new("meshcall-chat", "seq", G_TYPE_UINT64,
						     static_cast<guint64>(line.seq), "from",
						     G_TYPE_STRING, line.from.c_str(), "name",
						     G_TYPE_STRING, line.name.c_str(), "text",
						     G_TYPE_STRING, line.text.c_str(), nullptr));
}

static void on_welcome(GstMeshcallBin *self, const proto::Welcome &w)
{
	State *st = self->state;
	{
		std::lock_guard l(st->lock);
		st->joined = true;
		st->peer_id = w.id;
		st->reconnect_attempt = 0;
		apply_ice_servers(st->webrtc, w.ice_servers);
	}
	GST_INFO_OBJECT(self, "joined room %s as %s (%s) with %zu peer(s)", w.room.c_str(),
			w.id.c_str(), w.name.c_str(), w.peers.size());
	g_object_notify(G_OBJECT(self), "peer-id");
	GValue members = G_VALUE_INIT;
	g_value_init(&members, GST_TYPE_ARRAY);
	for (const auto &peer : w.peers)
		array_take_structure(&members,
				     gst_structure_new("peer", "id", G_TYPE_STRING, peer.id.c_str(),
						       "name", G_TYPE_STRING, peer.name.c_str(),
						       "audio", G_TYPE_BOOLEAN, peer.audio, "video",
						       G_TYPE_BOOLEAN, peer.video, nullptr));
	GstStructure *joined = gst_structure_new(
	    "meshcall-joined", "id", G_TYPE_STRING, w.id.c_str(), "room", G_TYPE_STRING,
	    w.room.c_str(), "name", G_TYPE_STRING, w.name.c_str(), "capacity", G_TYPE_INT,
	    w.capacity, "peers", G_TYPE_INT, static_cast<int>(w.peers.size()), nullptr);
	gst_structure_take_value(joined, "members", &members);
	post_element_message(self, joined);
	/* A room we (re)join takes us for unmuted (PROTOCOL.md: audio and video
	 * default to true): correct that before our offers go out. */
	{
		std::lock_guard l(st->settings_lock);
		if (st->settings.mute_audio || st->settings.mute_video)
			send_media_state_locked(st);
	}
	for (const auto &line : w.history)
		emit_chat(self, line);
	/* The joiner offers to everyone already here (PROTOCOL.md). */
	for (const auto &peer : w.peers)
		add_peer(self, peer, PeerBranch::Role::Offerer);
}

static void on_server_error(GstMeshcallBin *self, const proto::Error &e)
{
	const std::string &code = e.code;
	if (code == "room-full" || code == "unauthorized" || code == "invalid-room" ||
	    code == "invalid-name") {
		/* The join was refused: nothing in the room changed for anyone. */
		{
			std::lock_guard l(self->state->lock);
			if (self->state->signaling)
				self->state->signaling->close();
		}
		if (code == "room-full")
			GST_ELEMENT_ERROR(self, RESOURCE, BUSY,
					  ("%s: %s", code.c_str(), e.message.c_str()),
					  ("the server refused join"));
		else if (code == "unauthorized")
			GST_ELEMENT_ERROR(self, RESOURCE, NOT_AUTHORIZED,
					  ("%s: %s", code.c_str(), e.message.c_str()),
					  ("the server refused join"));
		else
			GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
					  ("%s: %s", code.c_str(), e.message.c_str()),
					  ("the server refused join"));
		return;
	}
	GST_ELEMENT_WARNING(self, RESOURCE, FAILED, ("%s: %s", code.c_str(), e.message.c_str()),
			    ("ref: %s", e.ref ? e.ref->c_str() : "-"));
}

static void on_closed(GstMeshcallBin *self, SignalingClient::CloseReason reason, int code,
		      const std::string &detail)
{
	State *st = self->state;
	bool was_joined;
	{
		std::lock_guard l(st->lock);
		was_joined = st->joined;
		st->joined = false;
		if (!st->running)
			return;
	}
	if (reason == SignalingClient::CloseReason::Unreachable && !was_joined &&
	    st->reconnect_attempt == 0) {
		GST_ELEMENT_ERROR(
		    self, RESOURCE, OPEN_READ_WRITE,
		    ("server-unreachable: cannot reach the meshcall server: %s", detail.c_str()),
		    (nullptr));
		return;
	}
	/* Lost the server mid-call: the room has dropped us, so the peer
	 * connections are gone too. Rejoin with back-off. */
	GST_ELEMENT_WARNING(self, RESOURCE, READ,
			    ("server-lost: connection to the meshcall server lost (%d %s); "
			     "reconnecting",
			     code, detail.c_str()),
			    (nullptr));
	remove_all_peers_now(self);
	post_layout(self);
	schedule_reconnect(self);
}

static SignalingClient::Callbacks make_callbacks(GstMeshcallBin *self)
{
	SignalingClient::Callbacks cb;
	cb.welcome = [self](const proto::Welcome &w) { on_welcome(self, w); };
	cb.peer_joined = [self](const proto::PeerJoined &m) {
		add_peer(self, m.peer, PeerBranch::Role::Answerer);
	};
	cb.peer_left = [self](const proto::PeerLeft &m) { remove_peer(self, m.id); };
	cb.peer_media = [self](const proto::PeerMedia &m) {
		post_element_message(self, gst_structure_new("meshcall-peer-media", "id",
							     G_TYPE_STRING, m.id.c_str(), "audio",
							     G_TYPE_BOOLEAN, m.audio, "video",
							     G_TYPE_BOOLEAN, m.video, nullptr));
	};
	cb.offer = [self](const proto::RelayedOffer &m) {
		auto branch = find_peer(self->state, m.from);
		if (branch && branch->role() == PeerBranch::Role::Answerer)
			branch->handle_offer(m.sdp);
		else
			GST_WARNING_OBJECT(self, "unexpected offer from %s", m.from.c_str());
	};
	cb.answer = [self](const proto::RelayedAnswer &m) {
		auto branch = find_peer(self->state, m.from);
		if (branch && branch->role() == PeerBranch::Role::Offerer)
			branch->handle_answer(m.sdp);
		else
			GST_WARNING_OBJECT(self, "unexpected answer from %s", m.from.c_str());
	};
	cb.candidate = [self](const proto::RelayedCandidate &m) {
		if (auto branch = find_peer(self->state, m.from))
			branch->handle_candidate(static_cast<unsigned>(m.sdp_mline_index),
						 m.candidate);
	};
	cb.chat = [self](const proto::ChatLine &line) { emit_chat(self, line); };
	cb.error = [self](const proto::Error &e) { on_server_error(self, e); };
	cb.closed = [self](SignalingClient::CloseReason reason, int code,
			   const std::string &detail) { on_closed(self, reason, code, detail); };
	return cb;
}

static void connect_to_server(GstMeshcallBin *self)
{
	State *st = self->state;
	Settings s;
	{
		std::lock_guard l(st->settings_lock);
		s = st->settings;
	}
	auto client =
	    std::make_shared<SignalingClient>(g_main_context_default(), make_callbacks(self));
	WebrtcConfig config;
	config.ice_addresses = split_addresses(s.ice_addresses);
	if (!s.stun_server.empty())
		config.stun_server = s.stun_server;
	if (!s.turn_server.empty())
		config.turn_servers.push_back(s.turn_server);
	config.latency_ms = s.latency;
	config.media = st->media_settings;
	{
		std::lock_guard l(st->lock);
		st->signaling = client;
		st->webrtc = config;
		st->joined = false;
	}
	SignalingClient::JoinRequest join{s.room, s.display_name, std::nullopt};
	if (!s.token.empty())
		join.token = s.token;
	std::string error;
	GST_INFO_OBJECT(self, "joining room %s at %s as %s", s.room.c_str(), s.server.c_str(),
			s.display_name.c_str());
	if (!client->connect(s.server, join, &error))
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("server-unreachable: bad server URL \"%s\": %s",
				   s.server.c_str(), error.c_str()),
				  (nullptr));
}

static void schedule_reconnect(GstMeshcallBin *self)
{
	State *st = self->state;
	std::lock_guard l(st->lock);
	if (st->signaling) {
		st->signaling->close();
		st->signaling.reset();
	}
	if (!st->running || st->reconnect_source)
		return;
	unsigned delay_ms = std::min(10000u, 500u << std::min(st->reconnect_attempt, 5u));
	st->reconnect_attempt++;
	st->reconnect_source = g_timeout_add_full(
	    G_PRIORITY_DEFAULT, delay_ms,
	    [](gpointer d) -> gboolean {
		    auto *self = GST_MESHCALL_BIN(d);
		    {
			    std::lock_guard l(self->state->lock);
			    self->state->reconnect_source = 0;
			    if (!self->state->running)
				    return G_SOURCE_REMOVE;
		    }
		    connect_to_server(self);
		    return G_SOURCE_REMOVE;
	    },
	    gst_object_ref(self), gst_object_unref);
}

static void disconnect_from_server(GstMeshcallBin *self)
{
	State *st = self->state;
	std::shared_ptr<SignalingClient> client;
	{
		std::lock_guard l(st->lock);
		st->running = false;
		st->joined = false;
		client = std::move(st->signaling);
		if (st->reconnect_source) {
			g_source_remove(st->reconnect_source);
			st->reconnect_source = 0;
		}
		st->reconnect_attempt = 0;
	}
	if (client)
		client->close(); /* sends leave */
}

/* ---- actions ---- */

static gboolean send_chat(GstMeshcallBin *self, const gchar *text)
{
	if (!text || !proto::is_valid_chat_text(text))
		return FALSE;
	std::lock_guard l(self->state->lock);
	if (!self->state->joined || !self->state->signaling)
		return FALSE;
	self->state->signaling->send_chat(text);
	return TRUE;
}

static GstStructure *get_stats(GstMeshcallBin *self)
{
	State *st = self->state;
	std::vector<std::shared_ptr<PeerBranch>> peers;
	std::string my_id;
	{
		std::lock_guard l(st->lock);
		for (auto &[id, b] : st->peers)
			peers.push_back(b);
		my_id = st->peer_id;
	}
	GValue list = G_VALUE_INIT;
	g_value_init(&list, GST_TYPE_ARRAY);
	auto now = std::chrono::steady_clock::now();
	for (auto &branch : peers) {
		PeerStats ps = branch->stats();
		double tx_kbps = 0, rx_kbps = 0;
		if (ps.transport_stats) {
			std::lock_guard l(st->lock);
			BitrateSample &prev = st->bitrate_samples[ps.id];
			double secs = std::chrono::duration<double>(now - prev.when).count();
			if (prev.when.time_since_epoch().count() && secs > 0.05) {
				tx_kbps = (ps.bytes_sent - prev.bytes_sent) * 8 / secs / 1000;
				rx_kbps =
				    (ps.bytes_received - prev.bytes_received) * 8 / secs / 1000;
			}
			prev = {ps.bytes_sent, ps.bytes_received, now};
		}
		GstStructure *s = gst_structure_new(
		    "peer", "id", G_TYPE_STRING, ps.id.c_str(), "name", G_TYPE_STRING,
		    ps.name.c_str(), "connection-state", G_TYPE_STRING, ps.connection_state.c_str(),
		    "rtt-ms", G_TYPE_DOUBLE, ps.rtt_ms, "packets-lost", G_TYPE_INT64,
		    ps.packets_lost, "fraction-lost", G_TYPE_DOUBLE, ps.fraction_lost, "bytes-sent",
		    G_TYPE_UINT64, ps.bytes_sent, "bytes-received", G_TYPE_UINT64,
		    ps.bytes_received, "bitrate-tx-kbps", G_TYPE_DOUBLE, tx_kbps, "bitrate-rx-kbps",
		    G_TYPE_DOUBLE, rx_kbps, "video-frames-rx", G_TYPE_UINT64, ps.video_frames_rx,
		    "audio-buffers-rx", G_TYPE_UINT64, ps.audio_buffers_rx, nullptr);
		array_take_structure(&list, s);
	}
	GstStructure *out = gst_structure_new("meshcall-stats", "id", G_TYPE_STRING, my_id.c_str(),
					      "keyframes-requested", G_TYPE_UINT,
					      st->media->keyframes().sent(), nullptr);
	gst_structure_take_value(out, "peers", &list);
	return out;
}

/* ---- pads ---- */

static void fix_media_settings(State *st)
{
	if (st->media_settings_fixed)
		return;
	std::lock_guard l(st->settings_lock);
	const Settings &s = st->settings;
	MediaSettings &m = st->media_settings;
	std::optional<VideoCodec> requested; /* auto */
	if (s.codec == CODEC_H264)
		requested = VideoCodec::H264;
	else if (s.codec == CODEC_VP8)
		requested = VideoCodec::VP8;
	VideoEncoderChoice choice = choose_video_encoder(requested, element_factory_exists);
	m.codec = choice.codec;
	m.video_encoder = choice.factory;
	m.video_bitrate_kbps = s.video_bitrate;
	m.width = s.width;
	m.height = s.height;
	m.show_self = s.show_self;
	m.encoder_per_peer = s.encoder_per_peer;
	st->media_settings_fixed = true;
}

static GstPad *gst_meshcall_bin_request_new_pad(GstElement *element, GstPadTemplate *templ,
						const gchar *, const GstCaps *)
{
	auto *self = GST_MESHCALL_BIN(element);
	State *st = self->state;
	bool video = g_str_equal(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "video_sink");
	GstPad *&slot = video ? st->video_sink : st->audio_sink;
	if (slot) {
		GST_WARNING_OBJECT(self, "%s already requested",
				   GST_PAD_TEMPLATE_NAME_TEMPLATE(templ));
		return nullptr;
	}
	fix_media_settings(st);
	GstPad *target = video ? st->media->add_video_input(st->media_settings)
			       : st->media->add_audio_input(st->media_settings);
	if (!target) {
		GST_ELEMENT_ERROR(
		    self, CORE, MISSING_PLUGIN,
		    ("cannot build the %s send path (encoder missing?)", video ? "video" : "audio"),
		    (nullptr));
		return nullptr;
	}
	GstPad *ghost =
	    gst_ghost_pad_new_from_template(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), target, templ);
	gst_object_unref(target);
	for (GstElement *e : {st->media->video_tee(), st->media->audio_tee()})
		if (e)
			gst_element_sync_state_with_parent(e);
	/* Sync every element of the new chain with the bin. */
	GstIterator *it = gst_bin_iterate_elements(GST_BIN(self));
	GValue item = G_VALUE_INIT;
	while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		auto *e = GST_ELEMENT(g_value_get_object(&item));
		if (GST_STATE(e) != GST_STATE(self) &&
		    !GST_OBJECT_FLAG_IS_SET(e, GST_ELEMENT_FLAG_LOCKED_STATE))
			gst_element_sync_state_with_parent(e);
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
	if (GST_STATE(self) > GST_STATE_NULL)
		gst_pad_set_active(ghost, TRUE);
	gst_element_add_pad(element, ghost);
	slot = ghost;
	if (video) {
		{
			std::lock_guard l(st->settings_lock);
			st->video_encoder = st->media_settings.video_encoder;
		}
		GST_INFO_OBJECT(self, "video encoder: %s",
				st->media_settings.video_encoder.c_str());
		g_object_notify(G_OBJECT(self), "video-encoder");
	}
	return ghost;
}

static void gst_meshcall_bin_release_pad(GstElement *element, GstPad *pad)
{
	auto *self = GST_MESHCALL_BIN(element);
	State *st = self->state;
	if (pad == st->video_sink)
		st->video_sink = nullptr;
	else if (pad == st->audio_sink)
		st->audio_sink = nullptr;
	/* The send chains stay until the element is freed: peers are linked to
	 * their tees. */
	gst_element_remove_pad(element, pad);
}

/* ---- state ---- */

static bool validate_settings(GstMeshcallBin *self)
{
	std::lock_guard l(self->state->settings_lock);
	Settings &s = self->state->settings;
	if (!proto::is_valid_room(s.room)) {
		GST_ELEMENT_ERROR(
		    self, RESOURCE, SETTINGS,
		    ("invalid-room: \"%s\" is not a room name (1-64 of A-Z a-z 0-9 _ -)",
		     s.room.c_str()),
		    (nullptr));
		return false;
	}
	if (s.display_name.empty())
		s.display_name = g_get_host_name();
	auto name = proto::normalise_name(s.display_name);
	if (!name) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("invalid-name: display-name must be 1-64 characters without "
				   "control characters"),
				  (nullptr));
		return false;
	}
	if (!websocket_url_for(s.server)) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("server-unreachable: \"%s\" is not a ws://, wss://, http:// or "
				   "https:// URL",
				   s.server.c_str()),
				  (nullptr));
		return false;
	}
	return true;
}

static GstStateChangeReturn gst_meshcall_bin_change_state(GstElement *element,
							  GstStateChange transition)
{
	auto *self = GST_MESHCALL_BIN(element);
	State *st = self->state;

	switch (transition) {
	case GST_STATE_CHANGE_NULL_TO_READY:
		if (!validate_settings(self))
			return GST_STATE_CHANGE_FAILURE;
		fix_media_settings(st);
		{
			std::lock_guard l(st->settings_lock);
			st->media->set_output_size(st->settings.width, st->settings.height);
		}
		break;
	case GST_STATE_CHANGE_PAUSED_TO_READY:
		disconnect_from_server(self);
		break;
	default:
		break;
	}

	GstStateChangeReturn ret =
	    GST_ELEMENT_CLASS(gst_meshcall_bin_parent_class)->change_state(element, transition);
	if (ret == GST_STATE_CHANGE_FAILURE)
		return ret;

	switch (transition) {
	case GST_STATE_CHANGE_READY_TO_PAUSED: {
		std::lock_guard l(st->lock);
		st->running = true;
		st->outputs_at_eos = 0;
	}
		post_layout(self);
		connect_to_server(self);
		break;
	case GST_STATE_CHANGE_PAUSED_TO_READY:
		remove_all_peers_now(self);
		post_element_message(self, gst_structure_new_empty("meshcall-left"));
		break;
	default:
		break;
	}
	return ret;
}

/* ---- properties ---- */

/* mute-audio / mute-video: the send chain at once, the room on a change.
 * The caller holds settings_lock. */
static void set_muted_locked(GstMeshcallBin *self, MediaKind kind, bool mute)
{
	State *st = self->state;
	bool audio = kind == MediaKind::Audio;
	if (audio)
		st->media->set_audio_muted(mute);
	else
		st->media->set_video_muted(mute);
	bool &setting = audio ? st->settings.mute_audio : st->settings.mute_video;
	if (std::exchange(setting, mute) == mute)
		return;
	GST_INFO_OBJECT(self, "%s %s", audio ? "audio" : "video", mute ? "muted" : "unmuted");
	send_media_state_locked(st);
}

static void gst_meshcall_bin_set_property(GObject *object, guint prop_id, const GValue *value,
					  GParamSpec *pspec)
{
	auto *self = GST_MESHCALL_BIN(object);
	State *st = self->state;
	std::lock_guard l(st->settings_lock);
	Settings &s = st->settings;
	auto str = [value] {
		const char *v = g_value_get_string(value);
		return std::string(v ? v : "");
	};
	switch (prop_id) {
	case PROP_SERVER:
		s.server = str();
		break;
	case PROP_ROOM:
		s.room = str();
		break;
	case PROP_DISPLAY_NAME:
		s.display_name = str();
		break;
	case PROP_TOKEN:
		s.token = str();
		break;
	case PROP_VIDEO_CODEC:
		s.codec = static_cast<MeshcallVideoCodec>(g_value_get_enum(value));
		break;
	case PROP_VIDEO_BITRATE:
		s.video_bitrate = g_value_get_uint(value);
		if (GstElement *enc = st->media->video_encoder())
			set_video_encoder_bitrate(enc, s.video_bitrate);
		break;
	case PROP_ICE_ADDRESSES:
		s.ice_addresses = str();
		break;
	case PROP_STUN_SERVER:
		s.stun_server = str();
		break;
	case PROP_TURN_SERVER:
		s.turn_server = str();
		break;
	case PROP_LATENCY:
		s.latency = g_value_get_uint(value);
		break;
	case PROP_SHOW_SELF:
		s.show_self = g_value_get_boolean(value);
		break;
	case PROP_WIDTH:
		s.width = g_value_get_uint(value);
		break;
	case PROP_HEIGHT:
		s.height = g_value_get_uint(value);
		break;
	case PROP_ENCODER_PER_PEER:
		s.encoder_per_peer = g_value_get_boolean(value);
		break;
	case PROP_MUTE_AUDIO:
		set_muted_locked(self, MediaKind::Audio, g_value_get_boolean(value));
		break;
	case PROP_MUTE_VIDEO:
		set_muted_locked(self, MediaKind::Video, g_value_get_boolean(value));
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void gst_meshcall_bin_get_property(GObject *object, guint prop_id, GValue *value,
					  GParamSpec *pspec)
{
	auto *self = GST_MESHCALL_BIN(object);
	State *st = self->state;
	if (prop_id == PROP_PEER_ID) {
		std::lock_guard l(st->lock);
		g_value_set_string(value, st->joined ? st->peer_id.c_str() : nullptr);
		return;
	}
	std::lock_guard l(st->settings_lock);
	const Settings &s = st->settings;
	auto set_str = [value](const std::string &v) {
		g_value_set_string(value, v.empty() ? nullptr : v.c_str());
	};
	switch (prop_id) {
	case PROP_SERVER:
		set_str(s.server);
		break;
	case PROP_ROOM:
		set_str(s.room);
		break;
	case PROP_DISPLAY_NAME:
		set_str(s.display_name);
		break;
	case PROP_TOKEN:
		set_str(s.token);
		break;
	case PROP_VIDEO_CODEC:
		g_value_set_enum(value, s.codec);
		break;
	case PROP_VIDEO_BITRATE:
		g_value_set_uint(value, s.video_bitrate);
		break;
	case PROP_ICE_ADDRESSES:
		set_str(s.ice_addresses);
		break;
	case PROP_STUN_SERVER:
		set_str(s.stun_server);
		break;
	case PROP_TURN_SERVER:
		set_str(s.turn_server);
		break;
	case PROP_LATENCY:
		g_value_set_uint(value, s.latency);
		break;
	case PROP_SHOW_SELF:
		g_value_set_boolean(value, s.show_self);
		break;
	case PROP_WIDTH:
		g_value_set_uint(value, s.width);
		break;
	case PROP_HEIGHT:
		g_value_set_uint(value, s.height);
		break;
	case PROP_ENCODER_PER_PEER:
		g_value_set_boolean(value, s.encoder_per_peer);
		break;
	case PROP_MUTE_AUDIO:
		g_value_set_boolean(value, s.mute_audio);
		break;
	case PROP_MUTE_VIDEO:
		g_value_set_boolean(value, s.mute_video);
		break;
	case PROP_VIDEO_ENCODER:
		set_str(st->video_encoder);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

/* ---- GObject ---- */

/* An application waiting for EOS (gst-launch-1.0 -e) needs an EOS message from
 * every sink-flagged child, and webrtcbin's nicesink never gets an EOS. The bin
 * has ended when both outputs have: it then posts EOS itself, and drops its
 * children's. */
static GstPadProbeReturn on_output_event(GstPad *, GstPadProbeInfo *info, gpointer data)
{
	GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
	if (GST_EVENT_TYPE(event) != GST_EVENT_EOS)
		return GST_PAD_PROBE_OK;
	auto *self = GST_MESHCALL_BIN(data);
	if (self->state->outputs_at_eos.fetch_add(1) + 1 == 2) {
		GstMessage *msg = gst_message_new_eos(GST_OBJECT(self));
		gst_message_set_seqnum(msg, gst_event_get_seqnum(event));
		gst_element_post_message(GST_ELEMENT(self), msg);
	}
	return GST_PAD_PROBE_OK;
}

static void gst_meshcall_bin_handle_message(GstBin *bin, GstMessage *msg)
{
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
		gst_message_unref(msg);
		return;
	}
	GST_BIN_CLASS(gst_meshcall_bin_parent_class)->handle_message(bin, msg);
}

static void gst_meshcall_bin_init(GstMeshcallBin *self)
{
	self->state = new State(self);
	State *st = self->state;
	st->media = std::make_unique<MediaGraph>(GST_BIN(self));

	GstElementClass *klass = GST_ELEMENT_GET_CLASS(self);
	st->video_src =
	    gst_ghost_pad_new_from_template("video_src", st->media->video_output(),
					    gst_element_class_get_pad_template(klass, "video_src"));
	st->audio_src =
	    gst_ghost_pad_new_from_template("audio_src", st->media->audio_output(),
					    gst_element_class_get_pad_template(klass, "audio_src"));
	gst_element_add_pad(GST_ELEMENT(self), st->video_src);
	gst_element_add_pad(GST_ELEMENT(self), st->audio_src);
	for (GstPad *pad : {st->video_src, st->audio_src})
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_output_event, self,
				  nullptr);
	/* Live: no preroll, and the sources run from the bin's clock. */
	GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SOURCE);
}

static void gst_meshcall_bin_dispose(GObject *object)
{
	auto *self = GST_MESHCALL_BIN(object);
	if (self->state) {
		disconnect_from_server(self);
		remove_all_peers_now(self);
	}
	G_OBJECT_CLASS(gst_meshcall_bin_parent_class)->dispose(object);
}

static void gst_meshcall_bin_finalize(GObject *object)
{
	auto *self = GST_MESHCALL_BIN(object);
	delete self->state;
	self->state = nullptr;
	G_OBJECT_CLASS(gst_meshcall_bin_parent_class)->finalize(object);
}

static void gst_meshcall_bin_class_init(GstMeshcallBinClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

	gobject_class->set_property = gst_meshcall_bin_set_property;
	gobject_class->get_property = gst_meshcall_bin_get_property;
	gobject_class->dispose = gst_meshcall_bin_dispose;
	gobject_class->finalize = gst_meshcall_bin_finalize;
	element_class->change_state = gst_meshcall_bin_change_state;
	GST_BIN_CLASS(klass)->handle_message = gst_meshcall_bin_handle_message;
	element_class->request_new_pad = gst_meshcall_bin_request_new_pad;
	element_class->release_pad = gst_meshcall_bin_release_pad;

	constexpr auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						     GST_PARAM_MUTABLE_READY);

	/**
	 * GstMeshcallBin:server:
	 *
	 * The meshcall-server to join through: a ws:// or wss:// URL of its
	 * WebSocket (http:// and https:// are mapped; a URL without a path gets
	 * "/ws").
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_SERVER,
	    g_param_spec_string("server", "Server",
				"meshcall-server WebSocket URL (ws://host:port/ws; http:// and "
				"https:// are mapped, a missing path becomes /ws)",
				"ws://127.0.0.1:8080/ws", rw));
	/**
	 * GstMeshcallBin:room:
	 *
	 * The room to join: 1-64 characters of A-Z a-z 0-9 _ -.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_ROOM,
	    g_param_spec_string("room", "Room", "Room to join (1-64 of A-Z a-z 0-9 _ -)", "demo",
				rw));
	/**
	 * GstMeshcallBin:display-name:
	 *
	 * The name the other peers see on our tile (the host name when unset).
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_DISPLAY_NAME,
	    g_param_spec_string("display-name", "Display name",
				"The name others see (default: the host name)", nullptr, rw));
	/**
	 * GstMeshcallBin:token:
	 *
	 * A join token (JWT) for servers that require one
	 * (`meshcall-server token --room R`).
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_TOKEN,
	    g_param_spec_string("token", "Token", "Join token for servers that require one",
				nullptr, rw));
	/**
	 * GstMeshcallBin:video-codec:
	 *
	 * The codec of the one video encoder: VP8 (every browser decodes it) or
	 * H.264 constrained baseline with SPS/PPS repeated. H.264 uses a hardware
	 * encoder when the machine has one (v4l2h264enc, as on a Raspberry Pi 4;
	 * vah264enc; vaapih264enc), else x264enc, else openh264enc. "auto" is
	 * H.264 with a hardware encoder, else VP8, else software H.264.
	 * #GstMeshcallBin:video-encoder tells which encoder was taken. Fixed once
	 * a sink pad exists.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_VIDEO_CODEC,
	    g_param_spec_enum("video-codec", "Video codec", "Codec of the video we send",
			      meshcall_video_codec_get_type(), CODEC_AUTO, rw));
	/**
	 * GstMeshcallBin:video-bitrate:
	 *
	 * Target bitrate of the shared video encoder in kbit/s; may change while
	 * playing.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_VIDEO_BITRATE,
	    g_param_spec_uint("video-bitrate", "Video bitrate",
			      "Target bitrate of the shared video encoder (kbit/s)", 50, 20000,
			      1000,
			      static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						       GST_PARAM_MUTABLE_PLAYING)));
	/**
	 * GstMeshcallBin:ice-addresses:
	 *
	 * Comma-separated local IP addresses ICE may gather on (default: every
	 * interface).
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_ICE_ADDRESSES,
	    g_param_spec_string("ice-addresses", "ICE addresses",
				"Comma-separated local addresses ICE gathers on (default: all)",
				nullptr, rw));
	/**
	 * GstMeshcallBin:stun-server:
	 *
	 * A STUN server (stun://host:port) used instead of the server's.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_STUN_SERVER,
	    g_param_spec_string("stun-server", "STUN server",
				"stun://host:port, overriding the one the server announces",
				nullptr, rw));
	/**
	 * GstMeshcallBin:turn-server:
	 *
	 * A TURN server (turn://user:password@host:port) used besides the
	 * server's.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_TURN_SERVER,
	    g_param_spec_string("turn-server", "TURN server",
				"turn(s)://user:password@host:port, added to those the server "
				"announces",
				nullptr, rw));
	/**
	 * GstMeshcallBin:latency:
	 *
	 * Jitter buffer of the received streams, in milliseconds: how long a
	 * packet may be late (jitter, reordering) and still be played. Every
	 * received frame is shown this much after it arrives, so it is most of
	 * the call's delay: the default suits a LAN; raise it on Wi-Fi or the
	 * internet (100-200). Like any live pipeline whose sources come and go,
	 * the application recalculates the latency on GST_MESSAGE_LATENCY
	 * (gst-launch-1.0 does); the bin posts one when a peer's media starts.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(gobject_class, PROP_LATENCY,
					g_param_spec_uint("latency", "Latency",
							  "Jitter buffer for received streams (ms)",
							  0, 10000, kDefaultLatencyMs, rw));
	/**
	 * GstMeshcallBin:show-self:
	 *
	 * Adds our own video as the last tile of the grid.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(gobject_class, PROP_SHOW_SELF,
					g_param_spec_boolean("show-self", "Show self",
							     "Add our own video as a tile", FALSE,
							     rw));
	/**
	 * GstMeshcallBin:width:
	 *
	 * Width of the grid on video_src.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(gobject_class, PROP_WIDTH,
					g_param_spec_uint("width", "Width",
							  "Width of the grid on video_src", 16,
							  7680, 1280, rw));
	/**
	 * GstMeshcallBin:height:
	 *
	 * Height of the grid on video_src.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(gobject_class, PROP_HEIGHT,
					g_param_spec_uint("height", "Height",
							  "Height of the grid on video_src", 16,
							  4320, 720, rw));
	/**
	 * GstMeshcallBin:peer-id:
	 *
	 * Our id in the room (16 hex digits), NULL until joined.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_PEER_ID,
	    g_param_spec_string(
		"peer-id", "Peer id", "Our id in the room (NULL until joined)", nullptr,
		static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
	/**
	 * GstMeshcallBin:encoder-per-peer:
	 *
	 * For benchmarks only: one video encoder per remote peer, as a browser
	 * does, instead of one shared encoder.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_ENCODER_PER_PEER,
	    g_param_spec_boolean("encoder-per-peer", "Encoder per peer (benchmarks only)",
				 "One video encoder per peer instead of one shared (to measure "
				 "what sharing saves)",
				 FALSE, rw));
	constexpr auto rw_playing = static_cast<GParamFlags>(
	    G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
	/**
	 * GstMeshcallBin:mute-audio:
	 *
	 * Sends silence instead of the audio_sink input, and tells the room the
	 * microphone is off (a `media` message, repeated after every (re)join;
	 * the others see it as meshcall-peer-media). The stream goes on, so
	 * unmuting needs no renegotiation. May change while playing.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_MUTE_AUDIO,
	    g_param_spec_boolean("mute-audio", "Mute audio",
				 "Send silence and tell the room the microphone is off", FALSE,
				 rw_playing));
	/**
	 * GstMeshcallBin:mute-video:
	 *
	 * Sends black frames (same size and timing) instead of the video_sink
	 * input, and tells the room the camera is off, like
	 * #GstMeshcallBin:mute-audio. The self view shows what the others see.
	 * May change while playing.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_MUTE_VIDEO,
	    g_param_spec_boolean("mute-video", "Mute video",
				 "Send black frames and tell the room the camera is off", FALSE,
				 rw_playing));
	/**
	 * GstMeshcallBin:video-encoder:
	 *
	 * The element factory of the video encoder in use (such as "vp8enc",
	 * "x264enc" or "v4l2h264enc"; see #GstMeshcallBin:video-codec), NULL
	 * until the video_sink pad is requested.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    gobject_class, PROP_VIDEO_ENCODER,
	    g_param_spec_string(
		"video-encoder", "Video encoder",
		"Factory name of the video encoder in use (NULL until video_sink is requested)",
		nullptr, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

	/**
	 * GstMeshcallBin::peer-joined:
	 * @bin: the meshcallbin
	 * @id: the peer's id
	 * @name: the peer's display name
	 *
	 * A peer is in the room (on joining, once for each peer already there).
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_PEER_JOINED] =
	    g_signal_new("peer-joined", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr,
			 nullptr, nullptr, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
	/**
	 * GstMeshcallBin::peer-left:
	 * @bin: the meshcallbin
	 * @id: the peer's id
	 *
	 * A peer left and everything of it is gone from the bin.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_PEER_LEFT] =
	    g_signal_new("peer-left", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr,
			 nullptr, nullptr, G_TYPE_NONE, 1, G_TYPE_STRING);
	/**
	 * GstMeshcallBin::chat-received:
	 * @bin: the meshcallbin
	 * @seq: the line's number in the room (from 1)
	 * @from: the author's id (ours for the echo of our own line)
	 * @name: the author's display name
	 * @text: the text
	 *
	 * A chat line: the room's history on joining, then each new line in order.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_CHAT_RECEIVED] = g_signal_new(
	    "chat-received", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
	    nullptr, G_TYPE_NONE, 4, G_TYPE_UINT64, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
	/**
	 * GstMeshcallBin::send-chat:
	 * @bin: the meshcallbin
	 * @text: 1-2000 characters
	 *
	 * Sends a chat line to the room. Returns FALSE when not joined or the text
	 * is not valid chat text.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_SEND_CHAT] = g_signal_new_class_handler(
	    "send-chat", G_TYPE_FROM_CLASS(klass),
	    static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK(send_chat),
	    nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
	/**
	 * GstMeshcallBin::get-stats:
	 * @bin: the meshcallbin
	 *
	 * Returns a "meshcall-stats" structure: `id`, `keyframes-requested` and
	 * `peers`, an array of "peer" structures with `id`, `name`,
	 * `connection-state`, `rtt-ms`, `packets-lost`, `fraction-lost`,
	 * `bytes-sent`, `bytes-received`, `bitrate-tx-kbps`, `bitrate-rx-kbps`
	 * (since the previous call), `video-frames-rx` and `audio-buffers-rx`
	 * (decoded). Do not call from a streaming thread. Waits at most about
	 * 0.5 s per peer for its webrtcbin: a peer whose webrtcbin is too busy
	 * (negotiating) is reported without `rtt-ms` (-1), loss, bytes and
	 * bitrates (0) that time.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_GET_STATS] = g_signal_new_class_handler(
	    "get-stats", G_TYPE_FROM_CLASS(klass),
	    static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION), G_CALLBACK(get_stats),
	    nullptr, nullptr, nullptr, GST_TYPE_STRUCTURE, 0);

	gst_element_class_add_static_pad_template(element_class, &video_sink_template);
	gst_element_class_add_static_pad_template(element_class, &audio_sink_template);
	gst_element_class_add_static_pad_template(element_class, &video_src_template);
	gst_element_class_add_static_pad_template(element_class, &audio_src_template);
	gst_element_class_set_static_metadata(
	    element_class, "meshcall room", "Filter/Network/WebRTC",
	    "Joins a meshcall room: one encoder per medium fanned out to one webrtcbin per "
	    "remote peer; the peers come out as a labelled grid (video_src) and a mix "
	    "(audio_src). Posts meshcall-joined, meshcall-peer-joined, meshcall-peer-left, "
	    "meshcall-media, meshcall-chat, meshcall-layout and meshcall-left element messages.",
	    "meshcall developers");
	gst_type_mark_as_plugin_api(meshcall_video_codec_get_type(), GstPluginAPIFlags(0));
}
