/* PeerBranch: everything meshcallbin holds for one remote peer.
 *
 *   video tee ─► queue(leaky, time-limited) ─► payloader(pt from SDP) ─┐
 *   audio tee ─► queue(leaky, time-limited) ─► payloader(pt from SDP) ─┤
 *                                                                      ▼
 *                                                  webrtcbin (max-bundle, no UPnP)
 *                                                      │ pad-added
 *                  compositor tile ◄─ label ◄─ decoder ◄┤
 *                  audiomixer pad ◄─ convert ◄─ decoder ◄┘
 *
 * Roles follow PROTOCOL.md: the joiner offers (Role::Offerer), a peer already
 * in the room answers. Removal follows DESIGN.md fact 6. */
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "gst_ref.h"
#include "media_graph.h"
#include "signaling_client.h"

namespace meshcall
{

/* What a branch needs from meshcallbin. Methods may be called from any thread. */
class PeerHost
{
public:
	virtual ~PeerHost() = default;
	virtual GstBin *bin() = 0;
	virtual MediaGraph &graph() = 0;
	/* First decoded video frame / audio buffer from this peer. */
	virtual void media_started(const std::string &peer_id, MediaKind kind, int width,
				   int height) = 0;
	/* Something about this peer went wrong (negotiation, ICE failed). */
	virtual void peer_warning(const std::string &peer_id, const std::string &message) = 0;
	/* The grid gained or lost a tile. */
	virtual void layout_changed() = 0;
};

struct WebrtcConfig {
	std::vector<std::string> ice_addresses; /* empty: every interface */
	std::string stun_server;		/* stun://host:port or "" */
	std::vector<std::string> turn_servers;	/* turn(s)://user:pass@host:port */
	unsigned latency_ms = 100;
	MediaSettings media;
};

struct PeerStats {
	std::string id;
	std::string name;
	std::string connection_state;
	double rtt_ms = -1;
	gint64 packets_lost = 0;  /* reported by the peer, summed over streams */
	double fraction_lost = 0; /* worst stream */
	guint64 bytes_sent = 0;
	guint64 bytes_received = 0;
	guint64 video_frames_rx = 0;  /* decoded */
	guint64 audio_buffers_rx = 0; /* decoded */
	/* webrtcbin answered in time: rtt, loss and bytes above are filled. */
	bool transport_stats = false;
};

class PeerBranch : public std::enable_shared_from_this<PeerBranch>
{
public:
	enum class Role { Offerer, Answerer };

	static std::shared_ptr<PeerBranch> create(PeerHost &host,
						  std::shared_ptr<SignalingClient> signaling,
						  std::string id, std::string name, Role role,
						  const WebrtcConfig &config);
	~PeerBranch();

	const std::string &id() const { return id_; }
	const std::string &name() const { return name_; }
	Role role() const { return role_; }

	/* Offerer: links the send branches with our own payload types; webrtcbin
	 * then asks for negotiation and the offer goes out. */
	void start_offer();
	/* Answerer: payloaders take the offer's payload types, then answer. */
	void handle_offer(const std::string &sdp);
	void handle_answer(const std::string &sdp);
	/* Kept until the remote description is set. "" (end of candidates) is
	 * ignored: webrtcbin needs no such marker. */
	void handle_candidate(unsigned mline, const std::string &candidate);

	/* DESIGN.md fact 6. Call on the main context; `done` runs there once
	 * nothing of the peer is left in the bin. */
	void remove(std::function<void()> done);
	/* The same, synchronously, when no data flows (state going down). */
	void remove_now();

	/* Waits (bounded) for webrtcbin's get-stats; not on a streaming thread. */
	PeerStats stats();

private:
	PeerBranch(PeerHost &host, std::shared_ptr<SignalingClient> signaling, std::string id,
		   std::string name, Role role, const WebrtcConfig &config);
	bool build_webrtcbin();
	/* Links tee → queue → payloader → webrtcbin for one kind; false when that
	 * input does not exist. */
	bool link_send(MediaKind kind, int pt);
	void add_transceiver(MediaKind kind, int pt);
	void on_pad_added(GstPad *pad);
	void on_negotiation_needed();
	void create_offer();
	void create_description(GstWebRTCSDPType type);
	void on_description_created(GstPromise *promise, GstWebRTCSDPType type);
	void set_remote_description(GstSDPMessage *sdp, GstWebRTCSDPType type);
	void on_remote_description_set();
	void on_connection_state();
	void on_ice_connection_state();
	/* Once per peer, when its connection comes up (DESIGN.md, "Keyframe on
	 * join"). */
	void request_join_keyframe();
	void finish_removal();

	PeerHost &host_;
	std::shared_ptr<SignalingClient> signaling_;
	const std::string id_;
	const std::string name_;
	const Role role_;
	const WebrtcConfig config_;

	/* Lock order: PeerBranch::lock_ before MediaGraph's lock. Never held
	 * while calling into webrtcbin's blocking actions. */
	std::mutex lock_;
	ElementRef webrtc_;
	struct SendBranch {
		MediaKind kind;
		PadRef tee_pad;	   /* on the media graph's tee */
		PadRef webrtc_pad; /* webrtcbin sink_%u */
		std::vector<ElementRef> elements;
		gulong keyframe_probe = 0;
	};
	std::vector<SendBranch> send_; /* guarded by lock_ */
	struct RecvBranch {
		MediaKind kind;
		PadRef mixer_pad; /* compositor or audiomixer sink pad */
		std::vector<ElementRef> elements;
	};
	std::vector<RecvBranch> recv_;					   /* guarded by lock_ */
	bool removing_ = false;						   /* guarded by lock_ */
	bool remote_set_ = false;					   /* guarded by lock_ */
	bool offer_sent_ = false;					   /* guarded by lock_ */
	std::vector<std::pair<unsigned, std::string>> pending_candidates_; /* guarded by lock_ */
	int tee_pads_pending_ = 0;					   /* guarded by lock_ */
	std::function<void()> removal_done_;
	bool connected_once_ = false; /* join keyframe asked for; guarded by lock_ */

	std::atomic<guint64> video_frames_{0};
	std::atomic<guint64> audio_buffers_{0};
};

} // namespace meshcall
