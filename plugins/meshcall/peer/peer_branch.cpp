// SPDX-License-Identifier: LGPL-2.1-or-later
/* One remote peer inside meshcallbin; see peer/peer_branch.h. */
#include "peer/peer_branch.h"

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>

#include "common/elements.h"
#include "common/main_context.h"
#include "peer/sdp_codecs.h"

#include "common/debug.h"

MESHCALL_DEBUG_CATEGORY(meshcall_peer_debug, "meshcall-peer", "meshcallbin's remote peers")
#define GST_CAT_DEFAULT meshcall_peer_debug

namespace meshcall
{

namespace
{

constexpr int kDefaultOpusPt = 111;
constexpr int kDefaultVideoPt = 96;
/* Per-peer send queues hold at most this much (docs/design.md, fact 2): a
 * peer not negotiated yet, or slow, loses old data instead of stalling the
 * tee. */
constexpr guint64 kSendQueueTime = 300 * GST_MSECOND;

using WeakBranch = std::weak_ptr<PeerBranch>;
/* A create-offer / create-answer on its way. */
using DescriptionRequest = std::pair<WeakBranch, GstWebRTCSDPType>;

void free_weak(gpointer data, GClosure *)
{
	delete static_cast<WeakBranch *>(data);
}

std::shared_ptr<PeerBranch> lock_weak(gpointer data)
{
	return static_cast<WeakBranch *>(data)->lock();
}

const char *kind_name(MediaKind kind)
{
	return kind == MediaKind::Video ? "video" : "audio";
}

/* Without codec preferences webrtcbin leaves a transceiver out of the SDP
 * until caps have flowed through its pad; with them, the offer (or answer)
 * can be made at once, before the first encoded frame. */
void set_codec_preferences(GstPad *webrtc_pad, GstCaps *caps)
{
	GstWebRTCRTPTransceiver *trans = nullptr;
	g_object_get(webrtc_pad, "transceiver", &trans, nullptr);
	if (!trans)
		return;
	g_object_set(trans, "codec-preferences", caps, nullptr);
	gst_object_unref(trans);
}

GstElement *make_payloader(MediaKind kind, VideoCodec codec)
{
	if (kind == MediaKind::Audio)
		return make_element("rtpopuspay");
	if (codec == VideoCodec::VP8) {
		GstElement *pay = make_element("rtpvp8pay");
		if (pay)
			gst_util_set_object_arg(G_OBJECT(pay), "picture-id-mode", "15-bit");
		return pay;
	}
	GstElement *pay = make_element("rtph264pay");
	if (pay) {
		/* SPS/PPS with every keyframe (docs/design.md, fact 9), no
		 * STAP-A delay. */
		g_object_set(pay, "config-interval", -1, nullptr);
		gst_util_set_object_arg(G_OBJECT(pay), "aggregate-mode", "zero-latency");
	}
	return pay;
}

/* Every peer's picture-loss requests go to the one shared encoder through
 * the rate limiter, not straight upstream. */
GstPadProbeReturn on_upstream_keyframe_request(GstPad *, GstPadProbeInfo *info, gpointer d)
{
	if (!gst_video_event_is_force_key_unit(GST_PAD_PROBE_INFO_EVENT(info)))
		return GST_PAD_PROBE_OK;
	static_cast<MediaGraph *>(d)->keyframes().request();
	return GST_PAD_PROBE_DROP;
}

/* What webrtcbin said went wrong in a promise's reply ("" when nothing
 * did). Its replies carry a GError in "error" on failure; an interrupted or
 * expired promise has no reply at all. */
std::string promise_error(GstPromise *promise)
{
	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
		return "webrtcbin gave no answer";
	const GstStructure *reply = gst_promise_get_reply(promise);
	if (!reply || !gst_structure_has_field(reply, "error"))
		return "";
	GError *error = nullptr;
	gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
	std::string text = error && error->message ? error->message : "unknown error";
	g_clear_error(&error);
	return text;
}

void free_description_request(gpointer data)
{
	delete static_cast<DescriptionRequest *>(data);
}

/* The per-peer boundary of the shared encoders' tee (docs/design.md, "No
 * branch can hurt another"). The leaky queue behind it drops buffers when
 * the peer does not take them, but a serialized query waits in the queue
 * until everything before it went downstream: behind a webrtcbin that never
 * connects (a peer that never answers, ICE or DTLS that never completes)
 * that is for ever, and the tee and the encoder thread wait with it, for
 * every peer (docs/design.md, fact 12). So serialized queries are answered
 * here and never enter the queue: an empty ALLOCATION answer (the payloaders
 * propose no pool or meta), and nothing to drain (the queue may drop what it
 * holds anyway). Events are not at risk: the queue takes them without
 * waiting for room. */
GstPadProbeReturn answer_serialized_queries(GstPad *, GstPadProbeInfo *info, gpointer)
{
	/* GST_QUERY_IS_SERIALIZED, without mixing enum types in C++20. */
	const unsigned type = GST_QUERY_TYPE(GST_PAD_PROBE_INFO_QUERY(info));
	if (!(type & static_cast<unsigned>(GST_QUERY_TYPE_SERIALIZED)))
		return GST_PAD_PROBE_OK;
	return GST_PAD_PROBE_HANDLED;
}

} // namespace

std::shared_ptr<PeerBranch> PeerBranch::create(PeerHost &host,
					       std::shared_ptr<PeerSignaling> signaling,
					       std::string id, std::string name, Role role,
					       const WebrtcConfig &config)
{
	ensure_debug_category();
	GstElement *webrtc = make_webrtcbin(id, config);
	if (!webrtc)
		return nullptr;
	std::shared_ptr<PeerBranch> branch(new PeerBranch(host, std::move(signaling), std::move(id),
							  std::move(name), role, config));
	branch->webrtc_ = ElementRef::ref(webrtc);
	branch->connect_webrtc_signals();
	/* A rebuilt connection's webrtcbin meets the old one, still being
	 * removed, in the bin: names must differ there. */
	for (unsigned n = 2;
	     GstElement *same = gst_bin_get_by_name(host.bin(), GST_OBJECT_NAME(webrtc)); n++) {
		gst_object_unref(same);
		g_autofree char *other = g_strdup_printf("webrtc-%s-%u", branch->id_.c_str(), n);
		gst_object_set_name(GST_OBJECT(webrtc), other);
	}
	gst_bin_add(host.bin(), webrtc);
	gst_element_sync_state_with_parent(webrtc);
	return branch;
}

PeerBranch::PeerBranch(PeerHost &host, std::shared_ptr<PeerSignaling> signaling, std::string id,
		       std::string name, Role role, const WebrtcConfig &config)
    : host_(host), signaling_(std::move(signaling)), id_(std::move(id)), name_(std::move(name)),
      role_(role), config_(config)
{
}

PeerBranch::~PeerBranch()
{
	GST_DEBUG_OBJECT(webrtc_.get(), "branch freed");
}

/* webrtcbin calls back on its own threads (docs/design.md, fact 7); each
 * handler holds the branch only weakly, so a branch being removed is not
 * kept alive by its own element. */
void PeerBranch::connect_webrtc_signals()
{
	auto weak = [this] { return new WeakBranch(weak_from_this()); };
	g_signal_connect_data(
	    webrtc_.get(), "on-ice-candidate",
	    G_CALLBACK(+[](GstElement *, guint mline, gchar *candidate, gpointer d) {
		    auto self = lock_weak(d);
		    if (auto signaling = self ? self->signaling_.lock() : nullptr)
			    signaling->send_candidate(self->id_, mline, candidate ? candidate : "");
	    }),
	    weak(), free_weak, GConnectFlags(0));
	g_signal_connect_data(webrtc_.get(), "pad-added",
			      G_CALLBACK(+[](GstElement *, GstPad *pad, gpointer d) {
				      if (auto self = lock_weak(d))
					      self->on_pad_added(pad);
			      }),
			      weak(), free_weak, GConnectFlags(0));
	g_signal_connect_data(webrtc_.get(), "notify::connection-state",
			      G_CALLBACK(+[](GstElement *, GParamSpec *, gpointer d) {
				      if (auto self = lock_weak(d))
					      self->on_connection_state();
			      }),
			      weak(), free_weak, GConnectFlags(0));
	g_signal_connect_data(webrtc_.get(), "notify::ice-connection-state",
			      G_CALLBACK(+[](GstElement *, GParamSpec *, gpointer d) {
				      if (auto self = lock_weak(d))
					      self->on_ice_connection_state();
			      }),
			      weak(), free_weak, GConnectFlags(0));
}

bool PeerBranch::link_send(MediaKind kind, int pt)
{
	MediaGraph &graph = host_.graph();
	GstElement *tee = kind == MediaKind::Video ? graph.video_tee() : graph.audio_tee();
	if (!tee)
		return false;
	const MediaSettings &media = config_.media;
	const bool own_encoder = kind == MediaKind::Video && media.encoder_per_peer;

	GstElement *queue = make_element("queue");
	if (queue) {
		g_object_set(queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
			     kSendQueueTime, nullptr);
		gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
	}
	std::vector<GstElement *> chain = {queue};
	if (own_encoder)
		chain.push_back(make_video_encoder(media, nullptr));
	GstElement *pay = make_payloader(kind, media.codec);
	chain.push_back(pay);
	if (!add_chain(host_.bin(), chain))
		return false;
	g_object_set(pay, "pt", static_cast<guint>(pt), "mtu", 1200u, nullptr);

	/* Requesting the pad with caps tells webrtcbin the kind and payload type
	 * at once, so an offer's m-line finds this transceiver
	 * (docs/design.md, fact 3). */
	GstCaps *caps = rtp_caps(kind, media.codec, pt);
	GstPadTemplate *templ =
	    gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(webrtc_.get()), "sink_%u");
	GstPad *webrtc_pad = gst_element_request_pad(webrtc_, templ, nullptr, caps);
	set_codec_preferences(webrtc_pad, caps);
	gst_caps_unref(caps);
	GstPad *pay_src = gst_element_get_static_pad(pay, "src");
	GstPadLinkReturn lr = gst_pad_link(pay_src, webrtc_pad);
	gst_object_unref(pay_src);
	if (lr != GST_PAD_LINK_OK)
		GST_ERROR_OBJECT(webrtc_.get(), "cannot link %s payloader to webrtcbin: %d",
				 kind_name(kind), lr);

	for (GstElement *e : chain)
		gst_element_sync_state_with_parent(e);

	GstPad *tee_pad = gst_element_request_pad_simple(tee, "src_%u");
	GstPad *queue_sink = gst_element_get_static_pad(queue, "sink");
	/* On the queue's side: tee asks each branch with gst_pad_query() on the
	 * peer pad, past any probe on its own src pads. */
	gst_pad_add_probe(queue_sink, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
			  answer_serialized_queries, nullptr, nullptr);
	gst_pad_link(tee_pad, queue_sink);
	gst_object_unref(queue_sink);

	SendBranch b{kind, PadRef::adopt(tee_pad), PadRef::adopt(webrtc_pad), {}};
	for (GstElement *e : chain)
		b.elements.push_back(ElementRef::ref(e));
	if (!own_encoder)
		gst_pad_add_probe(tee_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
				  on_upstream_keyframe_request, &graph, nullptr);
	std::lock_guard l(lock_);
	send_.push_back(std::move(b));
	return true;
}

void PeerBranch::add_transceiver(MediaKind kind, int pt)
{
	/* No local input of this kind: still negotiate it (docs/protocol.md,
	 * "Rooms and roles": both transceivers always), so the peer can send to
	 * us. */
	GstCaps *caps = rtp_caps(kind, config_.media.codec, pt);
	GstWebRTCRTPTransceiver *trans = nullptr;
	g_signal_emit_by_name(webrtc_.get(), "add-transceiver",
			      GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV, caps, &trans);
	gst_caps_unref(caps);
	if (trans)
		gst_object_unref(trans);
}

void PeerBranch::start_offer()
{
	{
		std::lock_guard l(lock_);
		if (offer_sent_ || removing_)
			return;
		offer_sent_ = true;
	}
	/* Audio first, then video: the order browsers use. */
	if (!link_send(MediaKind::Audio, kDefaultOpusPt))
		add_transceiver(MediaKind::Audio, kDefaultOpusPt);
	if (!link_send(MediaKind::Video, kDefaultVideoPt))
		add_transceiver(MediaKind::Video, kDefaultVideoPt);
	/* Offer once everything is in place rather than on webrtcbin's
	 * on-negotiation-needed, which fires after the first pad already. */
	GST_DEBUG_OBJECT(webrtc_.get(), "creating offer");
	create_description(GST_WEBRTC_SDP_TYPE_OFFER);
}

/* create-offer / create-answer, then set it locally and send it. */
void PeerBranch::create_description(GstWebRTCSDPType type)
{
	auto *data = new DescriptionRequest(weak_from_this(), type);
	GstPromise *promise = gst_promise_new_with_change_func(
	    [](GstPromise *p, gpointer d) {
		    auto *data = static_cast<DescriptionRequest *>(d);
		    if (auto self = data->first.lock())
			    self->on_description_created(p, data->second);
		    else
			    gst_promise_unref(p);
	    },
	    data, free_description_request);
	g_signal_emit_by_name(webrtc_.get(),
			      type == GST_WEBRTC_SDP_TYPE_OFFER ? "create-offer" : "create-answer",
			      nullptr, promise);
}

void PeerBranch::on_description_created(GstPromise *promise, GstWebRTCSDPType type)
{
	const char *what = gst_webrtc_sdp_type_to_string(type);
	std::string error = promise_error(promise);
	GstWebRTCSessionDescription *desc = nullptr;
	if (const GstStructure *reply = error.empty() ? gst_promise_get_reply(promise) : nullptr)
		gst_structure_get(reply, what, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
	gst_promise_unref(promise);
	if (!desc) {
		host_.peer_warning(
		    id_, std::string(type == GST_WEBRTC_SDP_TYPE_OFFER
					 ? "webrtcbin could not create an offer"
					 : "webrtcbin could not answer the peer's offer") +
			     (error.empty() ? "" : ": " + error));
		return;
	}
	GstPromise *set = gst_promise_new_with_change_func(
	    [](GstPromise *p, gpointer d) {
		    auto *request = static_cast<DescriptionRequest *>(d);
		    std::string error = promise_error(p);
		    gst_promise_unref(p);
		    auto self = request->first.lock();
		    if (self && !error.empty())
			    self->host_.peer_warning(
				self->id_, std::string("webrtcbin refused our own ") +
					       gst_webrtc_sdp_type_to_string(request->second) +
					       ": " + error);
	    },
	    new DescriptionRequest(weak_from_this(), type), free_description_request);
	g_signal_emit_by_name(webrtc_.get(), "set-local-description", desc, set);
	g_autofree char *text = gst_sdp_message_as_text(desc->sdp);
	GST_LOG_OBJECT(webrtc_.get(), "our %s:\n%s", what, text);
	gst_webrtc_session_description_free(desc);
	if (auto signaling = signaling_.lock())
		signaling->send_description(id_, type, text);
}

/* Takes sdp; on_remote_description_set() follows. */
void PeerBranch::set_remote_description(GstSDPMessage *sdp, GstWebRTCSDPType type)
{
	GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new(type, sdp);
	GstPromise *promise = gst_promise_new_with_change_func(
	    [](GstPromise *p, gpointer d) {
		    auto *request = static_cast<DescriptionRequest *>(d);
		    std::string error = promise_error(p);
		    gst_promise_unref(p);
		    auto self = request->first.lock();
		    if (!self)
			    return;
		    if (error.empty()) {
			    self->on_remote_description_set();
			    return;
		    }
		    /* Said, never left silently "new" (webrtcbin drops the
		     * description and goes on waiting). */
		    GST_WARNING_OBJECT(self->webrtc_.get(), "remote description refused: %s",
				       error.c_str());
		    self->host_.peer_warning(self->id_,
					     std::string("webrtcbin refused the peer's ") +
						 gst_webrtc_sdp_type_to_string(request->second) +
						 ": " + error);
	    },
	    new DescriptionRequest(weak_from_this(), type), free_description_request);
	g_signal_emit_by_name(webrtc_.get(), "set-remote-description", desc, promise);
	gst_webrtc_session_description_free(desc);
}

void PeerBranch::handle_offer(const std::string &sdp_text)
{
	{
		std::lock_guard l(lock_);
		offer_taken_ = true;
	}
	GstSDPMessage *sdp = nullptr;
	if (gst_sdp_message_new_from_text(sdp_text.c_str(), &sdp) != GST_SDP_OK) {
		host_.peer_warning(id_, "the peer's offer is not valid SDP");
		return;
	}
	std::vector<SdpMedia> media = sdp_media(sdp);
	/* Payloaders first, with the offer's payload types (docs/design.md,
	 * fact 3). */
	if (auto pt = opus_pt(media); pt && !link_send(MediaKind::Audio, *pt))
		add_transceiver(MediaKind::Audio, *pt);
	if (auto pt = video_pt(media, config_.media.codec)) {
		if (!link_send(MediaKind::Video, *pt))
			add_transceiver(MediaKind::Video, *pt);
	} else if (host_.graph().has_video_input()) {
		host_.peer_warning(id_, std::string("the peer does not offer ") +
					    to_string(config_.media.codec) +
					    ": it will not get our video");
	}

	set_remote_description(sdp, GST_WEBRTC_SDP_TYPE_OFFER);
}

void PeerBranch::on_remote_description_set()
{
	std::vector<std::pair<unsigned, std::string>> pending;
	{
		std::lock_guard l(lock_);
		if (removing_)
			return;
		remote_set_ = true;
		pending.swap(pending_candidates_);
	}
	for (const auto &[mline, cand] : pending)
		g_signal_emit_by_name(webrtc_.get(), "add-ice-candidate", mline, cand.c_str());
	if (role_ == Role::Answerer)
		create_description(GST_WEBRTC_SDP_TYPE_ANSWER);
}

void PeerBranch::handle_answer(const std::string &sdp_text)
{
	{
		std::lock_guard l(lock_);
		answer_taken_ = true;
	}
	GstSDPMessage *sdp = nullptr;
	if (gst_sdp_message_new_from_text(sdp_text.c_str(), &sdp) != GST_SDP_OK) {
		host_.peer_warning(id_, "the peer's answer is not valid SDP");
		return;
	}
	for (MediaKind kind : complete_rejected_media(sdp))
		host_.peer_warning(id_,
				   std::string("the peer refused our ") + kind_name(kind) +
				       " (its m-line is rejected): it gets none, and sends none");
	set_remote_description(sdp, GST_WEBRTC_SDP_TYPE_ANSWER);
}

void PeerBranch::handle_candidate(unsigned mline, const std::string &candidate)
{
	if (candidate.empty())
		return;
	{
		std::lock_guard l(lock_);
		if (removing_)
			return;
		if (!remote_set_) {
			pending_candidates_.emplace_back(mline, candidate);
			return;
		}
	}
	g_signal_emit_by_name(webrtc_.get(), "add-ice-candidate", mline, candidate.c_str());
}

void PeerBranch::on_ice_connection_state()
{
	GstWebRTCICEConnectionState state;
	g_object_get(webrtc_.get(), "ice-connection-state", &state, nullptr);
	GST_INFO_OBJECT(webrtc_.get(), "ICE connection state %d", state);
	/* ICE found a path: only the DTLS handshake (one or two round trips) is
	 * left before media flows. Asking now, the keyframe is encoded during the
	 * handshake and waits in the send queue (kSendQueueTime) behind
	 * webrtcbin's until-DTLS block, instead of being asked for only after
	 * it. Should it get lost anyway, the peer's decoder asks again (PLI). */
	if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
	    state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
		request_join_keyframe();
	/* A new spell on each change: a check pending for an earlier
	 * "disconnected" finds the number moved on and does nothing. */
	const unsigned spell = ++disconnected_spell_;
	if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) {
		report_failure("the connection to this peer failed (ICE)");
	} else if (state == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED) {
		auto weak = weak_from_this();
		invoke_on([weak, spell] {
			g_timeout_add_full(
			    G_PRIORITY_DEFAULT, kDisconnectedLimitMs,
			    [](gpointer d) -> gboolean {
				    auto *check = static_cast<
					std::pair<std::weak_ptr<PeerBranch>, unsigned> *>(d);
				    if (auto self = check->first.lock())
					    if (self->disconnected_spell_ == check->second)
						    self->report_failure(
							"the connection to this peer stayed "
							"disconnected for 5 s");
				    return G_SOURCE_REMOVE;
			    },
			    new std::pair<std::weak_ptr<PeerBranch>, unsigned>(weak, spell),
			    [](gpointer d) {
				    delete static_cast<
					std::pair<std::weak_ptr<PeerBranch>, unsigned> *>(d);
			    });
		});
	}
}

void PeerBranch::report_failure(const char *why)
{
	{
		std::lock_guard l(lock_);
		if (removing_)
			return;
	}
	if (failed_.exchange(true))
		return;
	host_.peer_warning(id_, why);
	if (auto signaling = signaling_.lock())
		signaling->connection_failed(shared_from_this());
}

void PeerBranch::watch_arrivals()
{
	if (watching_)
		return;
	watching_ = true;
	/* Everything from the peer enters through webrtcbin's nicesrc (one
	 * with max-bundle and rtcp-mux). */
	unsigned probes = 0;
	GstIterator *it = gst_bin_iterate_recurse(GST_BIN(webrtc_.get()));
	GValue item = G_VALUE_INIT;
	while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		auto *element = GST_ELEMENT(g_value_get_object(&item));
		GstElementFactory *factory = gst_element_get_factory(element);
		if (factory && g_str_equal(GST_OBJECT_NAME(factory), "nicesrc")) {
			if (GstPad *src = gst_element_get_static_pad(element, "src")) {
				gst_pad_add_probe(
				    src,
				    GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER |
						    GST_PAD_PROBE_TYPE_BUFFER_LIST),
				    [](GstPad *, GstPadProbeInfo *, gpointer d) {
					    auto *last = static_cast<
						std::shared_ptr<std::atomic<std::int64_t>> *>(d);
					    (*last)->store(g_get_monotonic_time(),
							   std::memory_order_relaxed);
					    return GST_PAD_PROBE_OK;
				    },
				    new std::shared_ptr<std::atomic<std::int64_t>>(
					last_arrival_us_),
				    [](gpointer d) {
					    delete static_cast<
						std::shared_ptr<std::atomic<std::int64_t>> *>(d);
				    });
				gst_object_unref(src);
				probes++;
			}
		}
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
	GST_INFO_OBJECT(webrtc_.get(), "watching arrivals on %u nicesrc", probes);
	last_arrival_us_->store(g_get_monotonic_time());
	g_timeout_add_full(
	    G_PRIORITY_DEFAULT, 1000,
	    [](gpointer d) -> gboolean {
		    auto self = static_cast<std::weak_ptr<PeerBranch> *>(d)->lock();
		    if (!self || self->failed_)
			    return G_SOURCE_REMOVE;
		    {
			    std::lock_guard l(self->lock_);
			    if (self->removing_)
				    return G_SOURCE_REMOVE;
		    }
		    const std::int64_t silent =
			g_get_monotonic_time() - self->last_arrival_us_->load();
		    if (silent < std::int64_t(kDisconnectedLimitMs) * 1000)
			    return G_SOURCE_CONTINUE;
		    self->report_failure("nothing arrived from this peer for 5 s");
		    return G_SOURCE_REMOVE;
	    },
	    new std::weak_ptr<PeerBranch>(weak_from_this()),
	    [](gpointer d) { delete static_cast<std::weak_ptr<PeerBranch> *>(d); });
}

bool PeerBranch::connected_once()
{
	std::lock_guard l(lock_);
	return connected_once_;
}

bool PeerBranch::took_answer()
{
	std::lock_guard l(lock_);
	return answer_taken_;
}

bool PeerBranch::took_offer()
{
	std::lock_guard l(lock_);
	return offer_taken_;
}

void PeerBranch::on_connection_state()
{
	GstWebRTCPeerConnectionState state;
	g_object_get(webrtc_.get(), "connection-state", &state, nullptr);
	GST_INFO_OBJECT(webrtc_.get(), "connection state %d", state);
	if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
		request_join_keyframe(); /* ICE states are not always notified */
		invoke_on([weak = weak_from_this()] {
			if (auto self = weak.lock())
				self->watch_arrivals();
		});
	} else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
		report_failure("the connection to this peer failed (ICE or DTLS)");
}

void PeerBranch::request_join_keyframe()
{
	std::lock_guard l(lock_);
	if (connected_once_ || removing_)
		return;
	connected_once_ = true;
	GST_INFO_OBJECT(webrtc_.get(), "asking for a keyframe for the newcomer");
	if (!config_.media.encoder_per_peer) {
		host_.graph().keyframes().request();
		return;
	}
	for (auto &b : send_) {
		if (b.kind != MediaKind::Video || b.elements.size() < 2)
			continue;
		GstPad *src = gst_element_get_static_pad(b.elements[1], "src");
		gst_pad_send_event(
		    src, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
		gst_object_unref(src);
	}
}

void PeerBranch::on_pad_added(GstPad *pad)
{
	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	std::string error;
	bool decodable = false, video = false;
	{
		std::lock_guard l(lock_);
		if (removing_)
			return;
		auto stream = RemoteStream::create(
		    host_.bin(), host_.graph(), id_, name_, pad,
		    [weak = weak_from_this()](MediaKind kind, int width, int height) {
			    if (auto self = weak.lock())
				    self->host_.media_started(self->id_, kind, width, height);
		    },
		    &error);
		if (stream) {
			decodable = stream->decodable();
			video = stream->kind() == MediaKind::Video;
			receive_.push_back(std::move(stream));
		}
	}
	if (!error.empty())
		host_.peer_warning(id_, error);
	if (!decodable)
		return;
	/* The compositor and audiomixer wait for a stream as long as the
	 * latency upstream of them says (the jitter buffer's, mostly), which
	 * the pipeline learns on recalculating. Waiting any longer of their own
	 * (their `latency`) would add to every frame's delay. */
	GstBin *bin = host_.bin();
	gst_element_post_message(GST_ELEMENT(bin), gst_message_new_latency(GST_OBJECT(bin)));
	if (video)
		host_.layout_changed();
}

void PeerBranch::remove(std::function<void()> done)
{
	std::vector<PadRef> tee_pads;
	{
		std::lock_guard l(lock_);
		if (removing_)
			return;
		removing_ = true;
		removal_done_ = std::move(done);
		for (auto &b : send_)
			if (b.tee_pad)
				tee_pads.push_back(b.tee_pad);
		tee_pads_pending_ = static_cast<int>(tee_pads.size());
	}
	if (tee_pads.empty()) {
		auto self = shared_from_this();
		invoke_on([self] { self->finish_removal(); });
		return;
	}
	/* Unlink at the tee while no buffer passes (docs/design.md, fact 6); the
	 * probe may run at once, here, or on the streaming thread once the
	 * buffer passing now is through. It holds the branch: the session has
	 * let go of it already, so with a weak reference the branch was gone by
	 * then and the removal never finished (peer-left never came, the branch
	 * stayed in the bin). */
	for (auto &pad : tee_pads) {
		gst_pad_add_probe(
		    pad, GST_PAD_PROBE_TYPE_IDLE,
		    [](GstPad *tee_pad, GstPadProbeInfo *, gpointer d) -> GstPadProbeReturn {
			    auto self = *static_cast<std::shared_ptr<PeerBranch> *>(d);
			    if (GstPad *peer = gst_pad_get_peer(tee_pad)) {
				    gst_pad_unlink(tee_pad, peer);
				    gst_object_unref(peer);
			    }
			    bool last;
			    {
				    std::lock_guard l(self->lock_);
				    last = --self->tee_pads_pending_ == 0;
			    }
			    if (last)
				    invoke_on([self] { self->finish_removal(); });
			    return GST_PAD_PROBE_REMOVE;
		    },
		    new std::shared_ptr<PeerBranch>(shared_from_this()),
		    [](gpointer d) { delete static_cast<std::shared_ptr<PeerBranch> *>(d); });
	}
}

void PeerBranch::remove_now()
{
	{
		std::lock_guard l(lock_);
		removing_ = true;
		for (auto &b : send_) {
			if (!b.tee_pad)
				continue;
			if (GstPad *peer = gst_pad_get_peer(b.tee_pad)) {
				gst_pad_unlink(b.tee_pad, peer);
				gst_object_unref(peer);
			}
		}
	}
	finish_removal();
}

void PeerBranch::finish_removal()
{
	GstBin *bin = host_.bin();
	/* webrtcbin to NULL first, before any of its pads is released: the other
	 * order deadlocks on 1.22.0 (docs/design.md, fact 6). Locked so the
	 * bin's own state changes leave it alone from here on. Not under lock_:
	 * its streaming threads may be waiting for lock_ in pad-added. */
	gst_element_set_locked_state(webrtc_, TRUE);
	gst_element_set_state(webrtc_, GST_STATE_NULL);

	std::vector<SendBranch> send;
	std::vector<std::unique_ptr<RemoteStream>> receive;
	{
		std::lock_guard l(lock_);
		send.swap(send_);
		receive.swap(receive_);
	}
	for (auto &b : send) {
		if (b.webrtc_pad)
			gst_element_release_request_pad(webrtc_, b.webrtc_pad);
		for (auto &e : b.elements)
			remove_from_bin(bin, e);
		if (GstElement *tee = b.tee_pad ? gst_pad_get_parent_element(b.tee_pad) : nullptr) {
			gst_element_release_request_pad(tee, b.tee_pad);
			gst_object_unref(tee);
		}
	}
	for (auto &stream : receive)
		stream->remove();
	gst_bin_remove(bin, webrtc_);
	GST_DEBUG_OBJECT(webrtc_.get(), "removed");
	std::function<void()> done;
	{
		std::lock_guard l(lock_);
		done.swap(removal_done_);
	}
	if (done)
		done();
}

PeerStats PeerBranch::stats()
{
	PeerStats out;
	out.id = id_;
	out.name = name_;
	out.connection_state = connection_state_of(webrtc_);
	{
		std::lock_guard l(lock_);
		for (const auto &stream : receive_)
			(stream->kind() == MediaKind::Video ? out.video_frames_rx
							    : out.audio_buffers_rx) +=
			    stream->decoded();
		if (removing_)
			return out;
	}
	/* A failed connection has no transport to report, and its webrtcbin
	 * may be slow to say so. */
	if (!failed_)
		query_transport_stats(webrtc_, out);
	return out;
}

} // namespace meshcall
