// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-meshcallbin
 * @title: meshcallbin
 *
 * Joins a meshcall room (see docs/protocol.md): connects to a
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
 * ## Errors and warnings
 *
 * Every ERROR and WARNING message the bin posts has a details structure
 * (gst_message_parse_error_details(), gst_message_parse_warning_details())
 * with a string field `code`, so applications act on it without parsing the
 * text, which is for people:
 *
 * - errors: `room-full`, `unauthorized`, `invalid-room`, `invalid-name` (the
 *   server refused the join, or the room or display-name property is not
 *   valid; docs/protocol.md, "Error codes"), `server-unreachable` (the first
 *   connection failed, or the server property is not a usable URL);
 * - warnings: `server-lost` (the connection to the server dropped mid-call;
 *   the peer connections and their media go on, and the bin rejoins with its
 *   resume token to get the same id back; posted once per loss),
 *   `peer-failed` (something went wrong with one peer, e.g. its connection
 *   failed and is being rebuilt; the details also carry `peer`, its id), and
 *   any other code the server sends
 *   in an `error` message (the details also carry `ref`, the refused
 *   message's type, or "").
 *
 * Since: 0.1
 */
#include "gstmeshcallbin.h"

#include "gstmeshcallbin-private.h"

GST_DEBUG_CATEGORY(meshcallbin_debug);
#define GST_CAT_DEFAULT meshcallbin_debug

using namespace meshcall;
namespace proto = meshcall::protocol;

G_DEFINE_TYPE(GstMeshcallBin, gst_meshcall_bin, GST_TYPE_BIN)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(meshcallbin, "meshcallbin", GST_RANK_NONE,
				      GST_TYPE_MESHCALL_BIN,
				      GST_DEBUG_CATEGORY_INIT(meshcallbin_debug, "meshcallbin", 0,
							      "meshcall room element"));

guint meshcallbin_signals[N_SIGNALS];

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

/* Synchronously removes every peer (state going down). */
static void remove_all_peers_now(GstMeshcallBin *self)
{
	for (const std::string &id : self->state->room->remove_all_peers_now())
		g_signal_emit(self, meshcallbin_signals[SIGNAL_PEER_LEFT], 0, id.c_str());
}

static bool validate_settings(GstMeshcallBin *self)
{
	std::lock_guard l(self->state->settings_lock);
	Settings &s = self->state->settings;
	if (!proto::is_valid_room(s.room)) {
		MESHCALLBIN_ERROR(self, RESOURCE, SETTINGS, "invalid-room",
				  "\"" + s.room +
				      "\" is not a room name (1-64 of A-Z a-z 0-9 _ -)");
		return false;
	}
	if (s.display_name.empty())
		s.display_name = g_get_host_name();
	auto name = proto::normalise_name(s.display_name);
	if (!name) {
		MESHCALLBIN_ERROR(
		    self, RESOURCE, SETTINGS, "invalid-name",
		    std::string("display-name must be 1-64 characters without control "
				"characters"));
		return false;
	}
	if (!websocket_url_for(s.server)) {
		MESHCALLBIN_ERROR(self, RESOURCE, SETTINGS, "server-unreachable",
				  "\"" + s.server +
				      "\" is not a ws://, wss://, http:// or https:// URL");
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
		st->room->stop();
		break;
	default:
		break;
	}

	GstStateChangeReturn ret =
	    GST_ELEMENT_CLASS(gst_meshcall_bin_parent_class)->change_state(element, transition);
	if (ret == GST_STATE_CHANGE_FAILURE)
		return ret;

	switch (transition) {
	case GST_STATE_CHANGE_READY_TO_PAUSED:
		st->outputs_at_eos = 0;
		meshcallbin_post_layout(self);
		meshcallbin_start_room(self);
		break;
	case GST_STATE_CHANGE_PAUSED_TO_READY:
		remove_all_peers_now(self);
		meshcallbin_post_message(self, gst_structure_new_empty("meshcall-left"));
		break;
	default:
		break;
	}
	return ret;
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
	st->room = RoomSession::create(*st);

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
		self->state->room->stop();
		remove_all_peers_now(self);
	}
	G_OBJECT_CLASS(gst_meshcall_bin_parent_class)->dispose(object);
}

static void gst_meshcall_bin_finalize(GObject *object)
{
	auto *self = GST_MESHCALL_BIN(object);
	/* The session goes first: nothing of it may call back into the
	 * listener while the rest of the state is freed. */
	self->state->room.reset();
	delete self->state;
	self->state = nullptr;
	G_OBJECT_CLASS(gst_meshcall_bin_parent_class)->finalize(object);
}

static void gst_meshcall_bin_class_init(GstMeshcallBinClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

	gobject_class->set_property = meshcallbin_set_property;
	gobject_class->get_property = meshcallbin_get_property;
	gobject_class->dispose = gst_meshcall_bin_dispose;
	gobject_class->finalize = gst_meshcall_bin_finalize;
	element_class->change_state = gst_meshcall_bin_change_state;
	GST_BIN_CLASS(klass)->handle_message = gst_meshcall_bin_handle_message;
	element_class->request_new_pad = gst_meshcall_bin_request_new_pad;
	element_class->release_pad = gst_meshcall_bin_release_pad;

	meshcallbin_install_properties(gobject_class);

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
	meshcallbin_signals[SIGNAL_PEER_JOINED] =
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
	meshcallbin_signals[SIGNAL_PEER_LEFT] =
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
	meshcallbin_signals[SIGNAL_CHAT_RECEIVED] = g_signal_new(
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
	meshcallbin_signals[SIGNAL_SEND_CHAT] = g_signal_new_class_handler(
	    "send-chat", G_TYPE_FROM_CLASS(klass),
	    static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
	    G_CALLBACK(meshcallbin_send_chat), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 1,
	    G_TYPE_STRING);
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
	meshcallbin_signals[SIGNAL_GET_STATS] = g_signal_new_class_handler(
	    "get-stats", G_TYPE_FROM_CLASS(klass),
	    static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
	    G_CALLBACK(meshcallbin_get_stats), nullptr, nullptr, nullptr, GST_TYPE_STRUCTURE, 0);

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
