// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallbin's insides, shared by its three files: gstmeshcallbin.cpp (the
 * element: pads, state changes, signals), gstmeshcallbin-properties.cpp
 * (properties and their documentation) and gstmeshcallbin-room.cpp (the
 * room as the bus sees it: RoomListener, element messages, errors). Not
 * installed, not for other elements. */
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "gstmeshcallbin.h"
#include "media/media_graph.h"
#include "room/room_session.h"

GST_DEBUG_CATEGORY_EXTERN(meshcallbin_debug);

namespace meshcall
{

enum MeshcallVideoCodec { CODEC_VP8, CODEC_H264, CODEC_AUTO };
GType meshcall_video_codec_get_type();

/* Enough for a LAN's jitter. On top of it come the grid's output frame
 * (33 ms), the sink's processing deadline (20 ms) and where a frame falls
 * in the grid's 30 fps: 90-112 ms from camera to screen on loopback
 * (bench/e2e-latency.sh). */
constexpr unsigned kDefaultLatencyMs = 30;

/* Property values; guarded by State::settings_lock. */
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

/* The element's side of the room: every RoomListener call becomes a signal,
 * an element message or an error on the bus. */
struct State final : RoomListener {
	explicit State(GstMeshcallBin *element) : self(element) {}

	/* PeerHost */
	GstBin *bin() override { return GST_BIN(self); }
	MediaGraph &graph() override { return *media; }
	void media_started(const std::string &peer_id, MediaKind kind, int width,
			   int height) override;
	void peer_warning(const std::string &peer_id, const std::string &message) override;
	void layout_changed() override;
	/* RoomListener */
	void joined(const protocol::Welcome &welcome) override;
	void peer_joined(const std::string &id, const std::string &name) override;
	void peer_left(const std::string &id) override;
	void peer_media(const protocol::PeerMedia &media) override;
	void chat(const protocol::ChatLine &line) override;
	void refused(const protocol::Error &error) override;
	void server_error(const protocol::Error &error) override;
	void unreachable(const std::string &detail) override;
	void missing_element(const std::string &factory) override;
	void server_lost(int close_code, const std::string &detail) override;

	GstMeshcallBin *self;

	/* Lock order: settings_lock, then the room session's lock, then a
	 * PeerBranch's lock. */
	std::mutex settings_lock;
	Settings settings;	   /* guarded by settings_lock */
	std::string video_encoder; /* factory, once video_sink exists; guarded by settings_lock */

	std::unique_ptr<MediaGraph> media; /* built in _init, freed in _finalize */
	std::shared_ptr<RoomSession> room; /* made in _init; stopped in dispose */
	MediaSettings media_settings;	   /* fixed when the first sink pad is made */
	bool media_settings_fixed = false;
	std::atomic<int> outputs_at_eos{0}; /* how many of video_src, audio_src sent EOS */
	GstPad *video_src = nullptr;	    /* ghost pads, owned by the element */
	GstPad *audio_src = nullptr;
	GstPad *video_sink = nullptr;
	GstPad *audio_sink = nullptr;
};

} // namespace meshcall

struct _GstMeshcallBin {
	GstBin parent;
	meshcall::State *state;
};

enum {
	SIGNAL_PEER_JOINED,
	SIGNAL_PEER_LEFT,
	SIGNAL_CHAT_RECEIVED,
	SIGNAL_SEND_CHAT,
	SIGNAL_GET_STATS,
	N_SIGNALS
};
extern guint meshcallbin_signals[N_SIGNALS];

/* gstmeshcallbin-properties.cpp */
void meshcallbin_install_properties(GObjectClass *klass);
void meshcallbin_set_property(GObject *object, guint prop_id, const GValue *value,
			      GParamSpec *pspec);
void meshcallbin_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);

/* gstmeshcallbin-room.cpp */
void meshcallbin_post_message(GstMeshcallBin *self, GstStructure *s);
void meshcallbin_post_layout(GstMeshcallBin *self);
/* Joins the room with the current properties; false (an error posted) for
 * a server URL that cannot be used. */
bool meshcallbin_start_room(GstMeshcallBin *self);
gboolean meshcallbin_send_chat(GstMeshcallBin *self, const gchar *text);
GstStructure *meshcallbin_get_stats(GstMeshcallBin *self);

/* Errors and warnings carry their code in the message's details structure
 * ("code", a string: the protocol's error code, or server-unreachable,
 * server-lost, peer-failed; see the element documentation), so applications
 * never parse the text. */
#define MESHCALLBIN_ERROR(self, domain, gst_code, code, text)                                      \
	GST_ELEMENT_ERROR_WITH_DETAILS(self, domain, gst_code, ("%s", (text).c_str()), (nullptr),  \
				       ("code", G_TYPE_STRING, (code), nullptr))
#define MESHCALLBIN_WARNING(self, domain, gst_code, code, text, ...)                               \
	GST_ELEMENT_WARNING_WITH_DETAILS(self, domain, gst_code, ("%s", (text).c_str()),           \
					 (nullptr), ("code", G_TYPE_STRING, (code), __VA_ARGS__))
