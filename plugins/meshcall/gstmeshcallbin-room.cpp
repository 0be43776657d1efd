// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallbin's room as the application sees it: every RoomListener call
 * becomes a signal, an element message or an error on the bus
 * (gstmeshcallbin-private.h). */
#include "gstmeshcallbin-private.h"

#define GST_CAT_DEFAULT meshcallbin_debug

using namespace meshcall;
namespace proto = meshcall::protocol;

/* ---- bus messages ---- */

void meshcallbin_post_message(GstMeshcallBin *self, GstStructure *s)
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

void meshcallbin_post_layout(GstMeshcallBin *self)
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
	meshcallbin_post_message(self, s);
}

/* ---- the room, as RoomListener ---- */

void meshcall::State::media_started(const std::string &peer, MediaKind kind, int width, int height)
{
	GST_INFO_OBJECT(self, "first %s from peer %s", kind == MediaKind::Video ? "frame" : "audio",
			peer.c_str());
	GstStructure *s =
	    gst_structure_new("meshcall-media", "peer", G_TYPE_STRING, peer.c_str(), "kind",
			      G_TYPE_STRING, kind == MediaKind::Video ? "video" : "audio", nullptr);
	if (kind == MediaKind::Video)
		gst_structure_set(s, "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
				  nullptr);
	meshcallbin_post_message(self, s);
}

void meshcall::State::peer_warning(const std::string &peer, const std::string &message)
{
	std::string text = "peer " + peer + ": " + message;
	MESHCALLBIN_WARNING(self, STREAM, FAILED, "peer-failed", text, "peer", G_TYPE_STRING,
			    peer.c_str(), nullptr);
}

void meshcall::State::layout_changed()
{
	meshcallbin_post_layout(self);
}

void meshcall::State::joined(const proto::Welcome &w)
{
	g_object_notify(G_OBJECT(self), "peer-id");
	GValue members = G_VALUE_INIT;
	g_value_init(&members, GST_TYPE_ARRAY);
	for (const auto &peer : w.peers)
		array_take_structure(&members,
				     gst_structure_new("peer", "id", G_TYPE_STRING, peer.id.c_str(),
						       "name", G_TYPE_STRING, peer.name.c_str(),
						       "audio", G_TYPE_BOOLEAN, peer.audio, "video",
						       G_TYPE_BOOLEAN, peer.video, nullptr));
	GstStructure *s = gst_structure_new(
	    "meshcall-joined", "id", G_TYPE_STRING, w.id.c_str(), "room", G_TYPE_STRING,
	    w.room.c_str(), "name", G_TYPE_STRING, w.name.c_str(), "capacity", G_TYPE_INT,
	    w.capacity, "peers", G_TYPE_INT, static_cast<int>(w.peers.size()), nullptr);
	gst_structure_take_value(s, "members", &members);
	meshcallbin_post_message(self, s);
	/* A room we (re)join takes us for unmuted (docs/protocol.md: audio and
	 * video default to true): correct that before our offers go out. */
	std::lock_guard l(settings_lock);
	if (settings.mute_audio || settings.mute_video)
		room->send_media(!settings.mute_audio, !settings.mute_video);
}

void meshcall::State::peer_joined(const std::string &id, const std::string &name)
{
	g_signal_emit(self, meshcallbin_signals[SIGNAL_PEER_JOINED], 0, id.c_str(), name.c_str());
	meshcallbin_post_message(self, gst_structure_new("meshcall-peer-joined", "id",
							 G_TYPE_STRING, id.c_str(), "name",
							 G_TYPE_STRING, name.c_str(), nullptr));
}

void meshcall::State::peer_left(const std::string &id)
{
	g_signal_emit(self, meshcallbin_signals[SIGNAL_PEER_LEFT], 0, id.c_str());
	meshcallbin_post_message(self, gst_structure_new("meshcall-peer-left", "id", G_TYPE_STRING,
							 id.c_str(), nullptr));
	meshcallbin_post_layout(self);
}

void meshcall::State::peer_media(const proto::PeerMedia &m)
{
	meshcallbin_post_message(self,
				 gst_structure_new("meshcall-peer-media", "id", G_TYPE_STRING,
						   m.id.c_str(), "audio", G_TYPE_BOOLEAN, m.audio,
						   "video", G_TYPE_BOOLEAN, m.video, nullptr));
}

void meshcall::State::chat(const proto::ChatLine &line)
{
	g_signal_emit(self, meshcallbin_signals[SIGNAL_CHAT_RECEIVED], 0,
		      static_cast<guint64>(line.seq), line.from.c_str(), line.name.c_str(),
		      line.text.c_str());
	meshcallbin_post_message(
	    self, gst_structure_new("meshcall-chat", "seq", G_TYPE_UINT64,
				    static_cast<guint64>(line.seq), "from", G_TYPE_STRING,
				    line.from.c_str(), "name", G_TYPE_STRING, line.name.c_str(),
				    "text", G_TYPE_STRING, line.text.c_str(), nullptr));
}

void meshcall::State::refused(const proto::Error &e)
{
	/* The join was refused: nothing in the room changed for anyone. */
	std::string text = "the server refused to let us in: " + e.message + " (" + e.code + ")";
	if (e.code == "room-full")
		MESHCALLBIN_ERROR(self, RESOURCE, BUSY, e.code.c_str(), text);
	else if (e.code == "unauthorized")
		MESHCALLBIN_ERROR(self, RESOURCE, NOT_AUTHORIZED, e.code.c_str(), text);
	else
		MESHCALLBIN_ERROR(self, RESOURCE, SETTINGS, e.code.c_str(), text);
}

void meshcall::State::server_error(const proto::Error &e)
{
	std::string text = "the server refused a message: " + e.message + " (" + e.code + ")";
	MESHCALLBIN_WARNING(self, RESOURCE, FAILED, e.code.c_str(), text, "ref", G_TYPE_STRING,
			    e.ref ? e.ref->c_str() : "", nullptr);
}

void meshcall::State::unreachable(const std::string &detail)
{
	std::string text = "cannot reach the meshcall server: " + detail;
	MESHCALLBIN_ERROR(self, RESOURCE, OPEN_READ_WRITE, "server-unreachable", text);
}

void meshcall::State::missing_element(const std::string &factory)
{
	GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("%s is not available", factory.c_str()),
			  ("install the GStreamer plugin that provides it"));
}

void meshcall::State::server_lost(int close_code, const std::string &detail)
{
	std::string text = "connection to the meshcall server lost (" + std::to_string(close_code) +
			   " " + detail + "); the call goes on, rejoining";
	MESHCALLBIN_WARNING(self, RESOURCE, READ, "server-lost", text, nullptr);
}

bool meshcallbin_start_room(GstMeshcallBin *self)
{
	State *st = self->state;
	RoomSettings room;
	{
		std::lock_guard l(st->settings_lock);
		const Settings &s = st->settings;
		room.server = s.server;
		room.room = s.room;
		room.name = s.display_name;
		room.token = s.token;
		room.webrtc.ice_addresses = split_addresses(s.ice_addresses);
		room.webrtc.stun_server = s.stun_server;
		if (!s.turn_server.empty())
			room.webrtc.turn_servers.push_back(s.turn_server);
		room.webrtc.latency_ms = s.latency;
	}
	room.webrtc.media = st->media_settings;
	std::string error;
	if (st->room->start(room, &error))
		return true;
	MESHCALLBIN_ERROR(self, RESOURCE, SETTINGS, "server-unreachable",
			  "bad server URL \"" + room.server + "\": " + error);
	return false;
}

/* ---- actions ---- */

gboolean meshcallbin_send_chat(GstMeshcallBin *self, const gchar *text)
{
	if (!text || !proto::is_valid_chat_text(text))
		return FALSE;
	return self->state->room->send_chat(text);
}

GstStructure *meshcallbin_get_stats(GstMeshcallBin *self)
{
	State *st = self->state;
	GValue list = G_VALUE_INIT;
	g_value_init(&list, GST_TYPE_ARRAY);
	for (const PeerStats &ps : st->room->stats()) {
		GstStructure *s = gst_structure_new(
		    "peer", "id", G_TYPE_STRING, ps.id.c_str(), "name", G_TYPE_STRING,
		    ps.name.c_str(), "connection-state", G_TYPE_STRING, ps.connection_state.c_str(),
		    "rtt-ms", G_TYPE_DOUBLE, ps.rtt_ms, "packets-lost", G_TYPE_INT64,
		    ps.packets_lost, "fraction-lost", G_TYPE_DOUBLE, ps.fraction_lost, "bytes-sent",
		    G_TYPE_UINT64, ps.bytes_sent, "bytes-received", G_TYPE_UINT64,
		    ps.bytes_received, "bitrate-tx-kbps", G_TYPE_DOUBLE, ps.bitrate_tx_kbps,
		    "bitrate-rx-kbps", G_TYPE_DOUBLE, ps.bitrate_rx_kbps, "video-frames-rx",
		    G_TYPE_UINT64, ps.video_frames_rx, "audio-buffers-rx", G_TYPE_UINT64,
		    ps.audio_buffers_rx, nullptr);
		array_take_structure(&list, s);
	}
	std::string my_id = st->room->peer_id().value_or("");
	GstStructure *out = gst_structure_new("meshcall-stats", "id", G_TYPE_STRING, my_id.c_str(),
					      "keyframes-requested", G_TYPE_UINT,
					      st->media->keyframes().sent(), nullptr);
	gst_structure_take_value(out, "peers", &list);
	return out;
}
