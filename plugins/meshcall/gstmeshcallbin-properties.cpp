// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallbin's properties: their documentation, where they are installed,
 * and how they reach the element's state (gstmeshcallbin-private.h). */
#include "gstmeshcallbin-private.h"

#define GST_CAT_DEFAULT meshcallbin_debug

using namespace meshcall;

/* ---- the video-codec enum ---- */

GType meshcall::meshcall_video_codec_get_type()
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
	st->room->send_media(!st->settings.mute_audio, !st->settings.mute_video);
}

void meshcallbin_set_property(GObject *object, guint prop_id, const GValue *value,
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

void meshcallbin_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	auto *self = GST_MESHCALL_BIN(object);
	State *st = self->state;
	if (prop_id == PROP_PEER_ID) {
		auto id = st->room->peer_id();
		g_value_set_string(value, id ? id->c_str() : nullptr);
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

void meshcallbin_install_properties(GObjectClass *gobject_class)
{
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
}
