/* One remote peer inside meshcallbin; see peer_branch.h. */
#include "peer_branch.h"

#include <atomic>
#include <chrono>
#include <condition_variable>

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>

#include "main_context.h"

GST_DEBUG_CATEGORY_EXTERN(meshcallbin_debug);
#define GST_CAT_DEFAULT meshcallbin_debug

namespace meshcall
{

namespace
{

constexpr int kDefaultOpusPt = 111;
constexpr int kDefaultVideoPt = 96;
/* Per-peer send queues hold at most this much (DESIGN.md fact 2): a peer not
 * negotiated yet, or slow, loses old data instead of stalling the tee. */
constexpr guint64 kSendQueueTime = 300 * GST_MSECOND;
/* Ta of the ICE agent; see build_webrtcbin(). */
constexpr guint kIcePacingMs = 5;
/* How long stats() waits for webrtcbin's answer; see there. */
constexpr auto kStatsTimeout = std::chrono::milliseconds(500);

using WeakBranch = std::weak_ptr<PeerBranch>;
/* A create-offer / create-answer on its way. */
using DescriptionRequest = std::pair<WeakBranch, GstWebRTCSDPType>;

void free_weak(gpointer data, GClosure *)
{
	delete static_cast<WeakBranch *>(data);
}

void free_weak_notify(gpointer data)
{
	delete static_cast<WeakBranch *>(data);
}

std::shared_ptr<PeerBranch> lock_weak(gpointer data)
{
	return static_cast<WeakBranch *>(data)->lock();
}

GstElement *make(const char *factory)
{
	GstElement *e = gst_element_factory_make(factory, nullptr);
	if (!e)
		GST_ERROR("missing element %s (is its GStreamer plugin installed?)", factory);
	return e;
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

/* rtpjitterbuffer holds the first packet of a stream for its whole latency
 * (it cannot know whether earlier ones are still on their way), so a
 * newcomer's first frame would reach the decoder `latency` late, and the
 * depayloader's request for a keyframe (it drops inter frames until one)
 * would go out that late too. With faststart it starts as soon as a few
 * packets arrived in sequence; later packets are reordered within the
 * latency as before. */
constexpr guint kFaststartPackets = 2;

void start_jitterbuffers_fast(GstElement *webrtc)
{
	GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
	if (!rtpbin)
		return;
	g_signal_connect(rtpbin, "new-jitterbuffer",
			 G_CALLBACK(+[](GstElement *, GstElement *jitterbuffer, guint, guint) {
				 if (g_object_class_find_property(G_OBJECT_GET_CLASS(jitterbuffer),
								  "faststart-min-packets"))
					 g_object_set(jitterbuffer, "faststart-min-packets",
						      kFaststartPackets, nullptr);
			 }),
			 nullptr);
	gst_object_unref(rtpbin);
}

} // namespace

std::shared_ptr<PeerBranch> PeerBranch::create(PeerHost &host,
					       std::shared_ptr<SignalingClient> signaling,
					       std::string id, std::string name, Role role,
					       const WebrtcConfig &config)
{
	std::shared_ptr<PeerBranch> branch(new PeerBranch(host, std::move(signaling), std::move(id),
							  std::move(name), role, config));
	if (!branch->build_webrtcbin())
		return nullptr;
	return branch;
}

PeerBranch::PeerBranch(PeerHost &host, std::shared_ptr<SignalingClient> signaling, std::string id,
		       std::string name, Role role, const WebrtcConfig &config)
    : host_(host), signaling_(std::move(signaling)), id_(std::move(id)), name_(std::move(name)),
      role_(role), config_(config)
{
}

PeerBranch::~PeerBranch()
{
	GST_DEBUG("peer %s: branch freed", id_.c_str());
}

bool PeerBranch::build_webrtcbin()
{
	g_autofree char *ename = g_strdup_printf("webrtc-%s", id_.c_str());
	GstElement *webrtc = gst_element_factory_make("webrtcbin", ename);
	if (!webrtc) {
		GST_ERROR("webrtcbin is missing (gstreamer1.0-plugins-bad, gstreamer1.0-nice)");
		return false;
	}
	webrtc_ = ElementRef::ref(webrtc);
	gst_util_set_object_arg(G_OBJECT(webrtc), "bundle-policy", "max-bundle");
	g_object_set(webrtc, "latency", config_.latency_ms, nullptr);
	if (!config_.stun_server.empty())
		g_object_set(webrtc, "stun-server", config_.stun_server.c_str(), nullptr);
	for (const auto &turn : config_.turn_servers) {
		gboolean ok = FALSE;
		g_signal_emit_by_name(webrtc, "add-turn-server", turn.c_str(), &ok);
		if (!ok)
			GST_WARNING("peer %s: TURN server refused", id_.c_str());
	}

	GObject *ice = nullptr;
	g_object_get(webrtc, "ice-agent", &ice, nullptr);
	if (ice) {
		/* UPnP discovery leaks threads on teardown (fact 6) and is useless
		 * for a mesh of ICE peers. */
		GObject *agent = nullptr;
		if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
			g_object_get(ice, "agent", &agent, nullptr);
		if (agent) {
			g_object_set(agent, "upnp", FALSE, nullptr);
			/* libnice paces checks and runs regular nomination on one timer
			 * of 20 ms: the first check, the nominating check and its answer
			 * each wait for a tick, which made up most of ICE's ~65 ms on
			 * loopback. The timer runs only while checking (it stops a few
			 * seconds after the pair is chosen), and a call has a handful
			 * of candidate pairs, so a shorter one costs little. */
			if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent),
							 "stun-pacing-timer"))
				g_object_set(agent, "stun-pacing-timer", kIcePacingMs, nullptr);
			g_object_unref(agent);
		}
		for (const auto &addr : config_.ice_addresses) {
			gboolean ok = FALSE;
			g_signal_emit_by_name(ice, "add-local-ip-address", addr.c_str(), &ok);
			if (!ok)
				GST_WARNING("ice-addresses: %s refused", addr.c_str());
		}
		g_object_unref(ice);
	}

	g_signal_connect_data(webrtc, "on-negotiation-needed",
			      G_CALLBACK(+[](GstElement *, gpointer d) {
				      if (auto self = lock_weak(d))
					      self->on_negotiation_needed();
			      }),
			      new WeakBranch(weak_from_this()), free_weak, GConnectFlags(0));
	g_signal_connect_data(
	    webrtc, "on-ice-candidate",
	    G_CALLBACK(+[](GstElement *, guint mline, gchar *candidate, gpointer d) {
		    if (auto self = lock_weak(d))
			    self->signaling_->send_candidate(self->id_, mline,
							     candidate ? candidate : "");
	    }),
	    new WeakBranch(weak_from_this()), free_weak, GConnectFlags(0));
	g_signal_connect_data(webrtc, "pad-added",
			      G_CALLBACK(+[](GstElement *, GstPad *pad, gpointer d) {
				      if (auto self = lock_weak(d))
					      self->on_pad_added(pad);
			      }),
			      new WeakBranch(weak_from_this()), free_weak, GConnectFlags(0));
	g_signal_connect_data(webrtc, "notify::connection-state",
			      G_CALLBACK(+[](GstElement *, GParamSpec *, gpointer d) {
				      if (auto self = lock_weak(d))
					      self->on_connection_state();
			      }),
			      new WeakBranch(weak_from_this()), free_weak, GConnectFlags(0));
	g_signal_connect_data(webrtc, "notify::ice-connection-state",
			      G_CALLBACK(+[](GstElement *, GParamSpec *, gpointer d) {
				      if (auto self = lock_weak(d))
					      self->on_ice_connection_state();
			      }),
			      new WeakBranch(weak_from_this()), free_weak, GConnectFlags(0));
	start_jitterbuffers_fast(webrtc);

	gst_bin_add(host_.bin(), webrtc);
	gst_element_sync_state_with_parent(webrtc);
	return true;
}

bool PeerBranch::link_send(MediaKind kind, int pt)
{
	MediaGraph &graph = host_.graph();
	GstElement *tee = kind == MediaKind::Video ? graph.video_tee() : graph.audio_tee();
	if (!tee)
		return false;
	const MediaSettings &media = config_.media;
	bool own_encoder = kind == MediaKind::Video && media.encoder_per_peer;

	GstElement *queue = make("queue");
	g_object_set(queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
		     kSendQueueTime, nullptr);
	gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
	GstElement *encoder = nullptr;
	if (own_encoder)
		encoder = make_video_encoder(media, nullptr);
	GstElement *pay = nullptr;
	if (kind == MediaKind::Audio) {
		pay = make("rtpopuspay");
	} else if (media.codec == VideoCodec::VP8) {
		pay = make("rtpvp8pay");
		if (pay)
			gst_util_set_object_arg(G_OBJECT(pay), "picture-id-mode", "15-bit");
	} else {
		pay = make("rtph264pay");
		if (pay) {
			/* SPS/PPS with every keyframe (fact 9), no STAP-A delay. */
			g_object_set(pay, "config-interval", -1, nullptr);
			gst_util_set_object_arg(G_OBJECT(pay), "aggregate-mode", "zero-latency");
		}
	}
	if (!queue || !pay || (own_encoder && !encoder)) {
		for (GstElement *e : {queue, pay, encoder})
			if (e)
				gst_object_unref(gst_object_ref_sink(e));
		return false;
	}
	g_object_set(pay, "pt", static_cast<guint>(pt), "mtu", 1200u, nullptr);

	std::vector<GstElement *> chain = {queue};
	if (encoder)
		chain.push_back(encoder);
	chain.push_back(pay);
	for (GstElement *e : chain)
		gst_bin_add(host_.bin(), e);
	for (size_t i = 1; i < chain.size(); i++)
		gst_element_link(chain[i - 1], chain[i]);

	/* Requesting the pad with caps tells webrtcbin the kind and payload type
	 * at once, so an offer's m-line finds this transceiver (fact 3). */
	GstCaps *caps = rtp_caps(kind, config_.media.codec, pt);
	GstPadTemplate *templ =
	    gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(webrtc_.get()), "sink_%u");
	GstPad *webrtc_pad = gst_element_request_pad(webrtc_, templ, nullptr, caps);
	set_codec_preferences(webrtc_pad, caps);
	gst_caps_unref(caps);
	GstPad *pay_src = gst_element_get_static_pad(pay, "src");
	GstPadLinkReturn lr = gst_pad_link(pay_src, webrtc_pad);
	gst_object_unref(pay_src);
	if (lr != GST_PAD_LINK_OK)
		GST_ERROR("peer %s: cannot link %s payloader to webrtcbin: %d", id_.c_str(),
			  kind_name(kind), lr);

	for (GstElement *e : chain)
		gst_element_sync_state_with_parent(e);

	GstPad *tee_pad = gst_element_request_pad_simple(tee, "src_%u");
	GstPad *queue_sink = gst_element_get_static_pad(queue, "sink");
	gst_pad_link(tee_pad, queue_sink);
	gst_object_unref(queue_sink);

	SendBranch b{kind, PadRef::adopt(tee_pad), PadRef::adopt(webrtc_pad), {}};
	for (GstElement *e : chain)
		b.elements.push_back(ElementRef::ref(e));
	if (!own_encoder) {
		/* Every peer's picture-loss requests go to the one shared encoder
		 * through the rate limiter, not straight upstream. */
		b.keyframe_probe = gst_pad_add_probe(
		    tee_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
		    [](GstPad *, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
			    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
			    if (!gst_video_event_is_force_key_unit(ev))
				    return GST_PAD_PROBE_OK;
			    static_cast<MediaGraph *>(d)->keyframes().request();
			    return GST_PAD_PROBE_DROP;
		    },
		    &graph, nullptr);
	}
	std::lock_guard l(lock_);
	send_.push_back(std::move(b));
	return true;
}

void PeerBranch::add_transceiver(MediaKind kind, int pt)
{
	/* No local input of this kind: still negotiate it (PROTOCOL.md: both
	 * transceivers always), so the peer can send to us. */
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
	/* Audio first, then video: the order browsers use. */
	if (!link_send(MediaKind::Audio, kDefaultOpusPt))
		add_transceiver(MediaKind::Audio, kDefaultOpusPt);
	if (!link_send(MediaKind::Video, kDefaultVideoPt))
		add_transceiver(MediaKind::Video, kDefaultVideoPt);
	/* Offer once everything is in place rather than on webrtcbin's
	 * on-negotiation-needed, which fires after the first pad already. */
	create_offer();
}

void PeerBranch::on_negotiation_needed()
{
	GST_DEBUG("peer %s: webrtcbin asks for negotiation", id_.c_str());
}

void PeerBranch::create_offer()
{
	{
		std::lock_guard l(lock_);
		if (offer_sent_ || removing_)
			return;
		offer_sent_ = true;
	}
	GST_DEBUG("peer %s: creating offer", id_.c_str());
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
	    data, [](gpointer d) { delete static_cast<DescriptionRequest *>(d); });
	g_signal_emit_by_name(webrtc_.get(),
			      type == GST_WEBRTC_SDP_TYPE_OFFER ? "create-offer" : "create-answer",
			      nullptr, promise);
}

void PeerBranch::on_description_created(GstPromise *promise, GstWebRTCSDPType type)
{
	const char *what = gst_webrtc_sdp_type_to_string(type);
	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
		gst_promise_unref(promise);
		return;
	}
	const GstStructure *reply = gst_promise_get_reply(promise);
	GstWebRTCSessionDescription *desc = nullptr;
	if (reply)
		gst_structure_get(reply, what, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
	gst_promise_unref(promise);
	if (!desc) {
		host_.peer_warning(id_, type == GST_WEBRTC_SDP_TYPE_OFFER
					    ? "webrtcbin could not create an offer"
					    : "webrtcbin could not answer the peer's offer");
		return;
	}
	g_signal_emit_by_name(webrtc_.get(), "set-local-description", desc, nullptr);
	g_autofree char *text = gst_sdp_message_as_text(desc->sdp);
	GST_LOG("peer %s: our %s:\n%s", id_.c_str(), what, text);
	gst_webrtc_session_description_free(desc);
	if (type == GST_WEBRTC_SDP_TYPE_OFFER)
		signaling_->send_offer(id_, text);
	else
		signaling_->send_answer(id_, text);
}

/* Takes sdp; on_remote_description_set() follows. */
void PeerBranch::set_remote_description(GstSDPMessage *sdp, GstWebRTCSDPType type)
{
	GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new(type, sdp);
	GstPromise *promise = gst_promise_new_with_change_func(
	    [](GstPromise *p, gpointer d) {
		    gst_promise_unref(p);
		    if (auto self = lock_weak(d))
			    self->on_remote_description_set();
	    },
	    new WeakBranch(weak_from_this()), free_weak_notify);
	g_signal_emit_by_name(webrtc_.get(), "set-remote-description", desc, promise);
	gst_webrtc_session_description_free(desc);
}

void PeerBranch::handle_offer(const std::string &sdp_text)
{
	GstSDPMessage *sdp = nullptr;
	if (gst_sdp_message_new_from_text(sdp_text.c_str(), &sdp) != GST_SDP_OK) {
		host_.peer_warning(id_, "the peer's offer is not valid SDP");
		return;
	}
	std::vector<SdpMedia> media = sdp_media(sdp);
	/* Payloaders first, with the offer's payload types (fact 3). */
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
	GstSDPMessage *sdp = nullptr;
	if (gst_sdp_message_new_from_text(sdp_text.c_str(), &sdp) != GST_SDP_OK) {
		host_.peer_warning(id_, "the peer's answer is not valid SDP");
		return;
	}
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
	GST_INFO("peer %s: ICE connection state %d", id_.c_str(), state);
	/* ICE found a path: only the DTLS handshake (one or two round trips) is
	 * left before media flows. Asking now, the keyframe is encoded during the
	 * handshake and waits in the send queue (kSendQueueTime) behind
	 * webrtcbin's until-DTLS block, instead of being asked for only after
	 * it. Should it get lost anyway, the peer's decoder asks again (PLI). */
	if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
	    state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
		request_join_keyframe();
}

void PeerBranch::on_connection_state()
{
	GstWebRTCPeerConnectionState state;
	g_object_get(webrtc_.get(), "connection-state", &state, nullptr);
	GST_INFO("peer %s: connection state %d", id_.c_str(), state);
	if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
		request_join_keyframe(); /* ICE states are not always notified */
	else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
		host_.peer_warning(id_, "the connection to this peer failed (ICE or DTLS)");
}

void PeerBranch::request_join_keyframe()
{
	{
		std::lock_guard l(lock_);
		if (connected_once_ || removing_)
			return;
		connected_once_ = true;
	}
	GST_INFO("peer %s: asking for a keyframe for the newcomer", id_.c_str());
	/* A newcomer sees video at once (DESIGN.md, "Keyframe on join"). */
	if (config_.media.encoder_per_peer) {
		std::lock_guard l(lock_);
		for (auto &b : send_)
			if (b.kind == MediaKind::Video && b.elements.size() > 1) {
				GstPad *src = gst_element_get_static_pad(b.elements[1], "src");
				gst_pad_send_event(src, gst_video_event_new_upstream_force_key_unit(
							    GST_CLOCK_TIME_NONE, TRUE, 0));
				gst_object_unref(src);
			}
	} else {
		host_.graph().keyframes().request();
	}
}

void PeerBranch::on_pad_added(GstPad *pad)
{
	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	GstCaps *caps = gst_pad_get_current_caps(pad);
	if (!caps)
		caps = gst_pad_query_caps(pad, nullptr);
	const GstStructure *s = gst_caps_get_structure(caps, 0);
	const char *media = gst_structure_get_string(s, "media");
	const char *encoding = gst_structure_get_string(s, "encoding-name");
	std::string enc = encoding ? encoding : "";
	bool video = media && g_str_equal(media, "video");
	GST_DEBUG("peer %s: incoming %s %s", id_.c_str(), media ? media : "?", enc.c_str());
	gst_caps_unref(caps);

	std::vector<GstElement *> chain;
	if (video && enc == "VP8") {
		chain = {make("rtpvp8depay"), make("vp8dec")};
	} else if (video && enc == "H264") {
		GstElementFactory *f = gst_element_factory_find("avdec_h264");
		chain = {make("rtph264depay"), make(f ? "avdec_h264" : "openh264dec")};
		if (f)
			gst_object_unref(f);
	} else if (!video && enc == "OPUS") {
		chain = {make("rtpopusdepay"), make("opusdec"), make("audioconvert"),
			 make("audioresample")};
	} else {
		/* Not something we decode: sink it so webrtcbin does not stall. */
		chain = {make("fakesink")};
		g_object_set(chain[0], "async", FALSE, "sync", FALSE, nullptr);
	}
	if (video) {
		GstElement *label = make("textoverlay");
		if (label)
			g_object_set(label, "text", name_.c_str(), "valignment", 1 /* bottom */,
				     "halignment", 0 /* left */, "shaded-background", TRUE,
				     "font-desc", "Sans 20", nullptr);
		chain.push_back(label);
	}
	for (GstElement *e : chain)
		if (!e) {
			for (GstElement *o : chain)
				if (o)
					gst_object_unref(gst_object_ref_sink(o));
			host_.peer_warning(id_, "a decoder for the peer's media is missing");
			return;
		}

	std::lock_guard l(lock_);
	if (removing_) {
		for (GstElement *e : chain)
			gst_object_unref(gst_object_ref_sink(e));
		return;
	}
	GstBin *bin = host_.bin();
	for (GstElement *e : chain)
		gst_bin_add(bin, e);
	for (size_t i = 1; i < chain.size(); i++)
		gst_element_link(chain[i - 1], chain[i]);

	RecvBranch r{video ? MediaKind::Video : MediaKind::Audio, {}, {}};
	bool decodable =
	    !g_str_equal(GST_OBJECT_NAME(gst_element_get_factory(chain[0])), "fakesink");
	if (decodable) {
		GstPad *mixer_pad =
		    video ? host_.graph().add_tile(id_, name_) : host_.graph().add_mixer_pad();
		r.mixer_pad = video ? PadRef::ref(mixer_pad) : PadRef::adopt(mixer_pad);
		GstPad *last_src = gst_element_get_static_pad(chain.back(), "src");
		gst_pad_link(last_src, mixer_pad);
		gst_object_unref(last_src);

		/* Count decoded frames (stats) and announce the first one. */
		GstPad *dec_src = gst_element_get_static_pad(chain[1], "src");
		gst_pad_add_probe(
		    dec_src, GST_PAD_PROBE_TYPE_BUFFER,
		    [](GstPad *p, GstPadProbeInfo *, gpointer d) -> GstPadProbeReturn {
			    auto self = lock_weak(d);
			    if (!self)
				    return GST_PAD_PROBE_REMOVE;
			    bool is_video =
				GST_PAD_PARENT(p) && GST_IS_VIDEO_DECODER(GST_PAD_PARENT(p));
			    auto &counter = is_video ? self->video_frames_ : self->audio_buffers_;
			    if (counter.fetch_add(1) == 0) {
				    int w = 0, h = 0;
				    if (GstCaps *c = gst_pad_get_current_caps(p)) {
					    gst_structure_get_int(gst_caps_get_structure(c, 0),
								  "width", &w);
					    gst_structure_get_int(gst_caps_get_structure(c, 0),
								  "height", &h);
					    gst_caps_unref(c);
				    }
				    self->host_.media_started(
					self->id_, is_video ? MediaKind::Video : MediaKind::Audio,
					w, h);
			    }
			    return GST_PAD_PROBE_OK;
		    },
		    new WeakBranch(weak_from_this()), free_weak_notify);
		gst_object_unref(dec_src);
	}
	for (GstElement *e : chain) {
		gst_element_sync_state_with_parent(e);
		r.elements.push_back(ElementRef::ref(e));
	}
	GstPad *sink = gst_element_get_static_pad(chain[0], "sink");
	if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
		GST_ERROR("peer %s: cannot link incoming %s", id_.c_str(),
			  video ? "video" : "audio");
	gst_object_unref(sink);
	recv_.push_back(std::move(r));
	/* The compositor and audiomixer wait for a stream as long as the
	 * latency upstream of them says (the jitter buffer's, mostly), which
	 * the pipeline learns on recalculating. Waiting any longer of their own
	 * (their `latency`) would add to every frame's delay. */
	if (decodable)
		gst_element_post_message(GST_ELEMENT(bin), gst_message_new_latency(GST_OBJECT(bin)));
	if (video && decodable)
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
	/* Unlink at the tee while no buffer passes (fact 6); the probe may run
	 * at once, here, or on the streaming thread once the buffer passing now
	 * is through. It holds the branch: meshcallbin has let go of it already,
	 * so with a weak reference the branch was gone by then and the removal
	 * never finished (peer-left never came, the branch stayed in the bin). */
	for (auto &pad : tee_pads) {
		gst_pad_add_probe(
		    pad, GST_PAD_PROBE_TYPE_IDLE,
		    [](GstPad *tee_pad, GstPadProbeInfo *, gpointer d) -> GstPadProbeReturn {
			    auto self = *static_cast<std::shared_ptr<PeerBranch> *>(d);
			    GstPad *peer = gst_pad_get_peer(tee_pad);
			    if (peer) {
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
	 * order deadlocks on 1.22.0 (fact 6). Locked so the bin's own state
	 * changes leave it alone from here on. Not under lock_: its streaming
	 * threads may be waiting for lock_ in pad-added. */
	gst_element_set_locked_state(webrtc_, TRUE);
	gst_element_set_state(webrtc_, GST_STATE_NULL);

	std::vector<SendBranch> send;
	std::vector<RecvBranch> recv;
	{
		std::lock_guard l(lock_);
		send.swap(send_);
		recv.swap(recv_);
	}
	for (auto &b : send) {
		if (b.webrtc_pad)
			gst_element_release_request_pad(webrtc_, b.webrtc_pad);
		for (auto &e : b.elements) {
			gst_element_set_locked_state(e, TRUE);
			gst_element_set_state(e, GST_STATE_NULL);
			gst_bin_remove(bin, e);
		}
		if (b.tee_pad) {
			GstElement *tee = gst_pad_get_parent_element(b.tee_pad);
			if (tee) {
				gst_element_release_request_pad(tee, b.tee_pad);
				gst_object_unref(tee);
			}
		}
	}
	for (auto &r : recv) {
		for (auto &e : r.elements) {
			gst_element_set_locked_state(e, TRUE);
			gst_element_set_state(e, GST_STATE_NULL);
			gst_bin_remove(bin, e);
		}
		if (r.mixer_pad) {
			if (r.kind == MediaKind::Video)
				host_.graph().remove_tile(r.mixer_pad);
			else
				host_.graph().remove_mixer_pad(r.mixer_pad);
		}
	}
	gst_bin_remove(bin, webrtc_);
	GST_DEBUG("peer %s: removed", id_.c_str());
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
	out.video_frames_rx = video_frames_.load();
	out.audio_buffers_rx = audio_buffers_.load();
	GstWebRTCPeerConnectionState state;
	g_object_get(webrtc_.get(), "connection-state", &state, nullptr);
	GEnumValue *v = g_enum_get_value(
	    G_ENUM_CLASS(g_type_class_peek(GST_TYPE_WEBRTC_PEER_CONNECTION_STATE)), state);
	out.connection_state = v ? v->value_nick : "unknown";
	{
		std::lock_guard l(lock_);
		if (removing_)
			return out;
	}

	/* The wait is bounded: webrtcbin answers from its own thread, which can
	 * be busy negotiating for a second on a loaded machine while the caller
	 * (typically a stats timer on the main context, where signaling and
	 * peer removal run) stalls; and a request still queued when that thread
	 * stops (the peer being removed meanwhile, from another thread) is
	 * dropped without any reply, so gst_promise_wait() would never return. */
	struct Answer {
		std::mutex lock;
		std::condition_variable changed;
		bool done = false; /* guarded by lock */
	};
	auto answer = std::make_shared<Answer>();
	GstPromise *promise = gst_promise_new_with_change_func(
	    [](GstPromise *, gpointer d) {
		    auto &a = **static_cast<std::shared_ptr<Answer> *>(d);
		    std::lock_guard l(a.lock);
		    a.done = true;
		    a.changed.notify_all();
	    },
	    new std::shared_ptr<Answer>(answer),
	    [](gpointer d) { delete static_cast<std::shared_ptr<Answer> *>(d); });
	g_signal_emit_by_name(webrtc_.get(), "get-stats", nullptr, promise);
	bool answered;
	{
		std::unique_lock l(answer->lock);
		answered = answer->changed.wait_for(l, kStatsTimeout, [&] { return answer->done; });
	}
	if (!answered) {
		GST_DEBUG("peer %s: no stats from webrtcbin in time", id_.c_str());
		gst_promise_interrupt(promise); /* a late reply is then discarded */
		gst_promise_unref(promise);
		return out;
	}
	const GstStructure *reply = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED
					? gst_promise_get_reply(promise)
					: nullptr;
	if (!reply || gst_structure_has_field(reply, "error")) { /* closed meanwhile */
		gst_promise_unref(promise);
		return out;
	}
	out.transport_stats = true;
	int n = reply ? gst_structure_n_fields(reply) : 0;
	for (int i = 0; i < n; i++) {
		const GValue *value =
		    gst_structure_get_value(reply, gst_structure_nth_field_name(reply, i));
		if (!GST_VALUE_HOLDS_STRUCTURE(value))
			continue;
		const GstStructure *st = gst_value_get_structure(value);
		GstWebRTCStatsType type;
		if (!gst_structure_get(st, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
			continue;
		if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
			double rtt = 0, fraction = 0;
			gint64 lost = 0;
			int lost32 = 0;
			if (gst_structure_get_double(st, "round-trip-time", &rtt))
				out.rtt_ms = std::max(out.rtt_ms, rtt * 1000.0);
			if (gst_structure_get_int64(st, "packets-lost", &lost))
				out.packets_lost += lost;
			else if (gst_structure_get_int(st, "packets-lost", &lost32))
				out.packets_lost += lost32;
			if (gst_structure_get_double(st, "fraction-lost", &fraction))
				out.fraction_lost = std::max(out.fraction_lost, fraction);
		} else if (type == GST_WEBRTC_STATS_OUTBOUND_RTP) {
			guint64 bytes = 0;
			if (gst_structure_get_uint64(st, "bytes-sent", &bytes))
				out.bytes_sent += bytes;
		} else if (type == GST_WEBRTC_STATS_INBOUND_RTP) {
			guint64 bytes = 0;
			if (gst_structure_get_uint64(st, "bytes-received", &bytes))
				out.bytes_received += bytes;
		}
	}
	gst_promise_unref(promise);
	return out;
}

} // namespace meshcall
