// SPDX-License-Identifier: LGPL-2.1-or-later
/* peer/: one remote peer of the room — its webrtcbin, our media to it, its
 * media to us, its stats.
 *
 * PeerBranch: everything meshcallbin holds for one remote peer.
 *
 *   video tee ─► queue(leaky, time-limited) ─► payloader(pt from SDP) ─┐
 *   audio tee ─► queue(leaky, time-limited) ─► payloader(pt from SDP) ─┤
 *                                                                      ▼
 *                                   webrtcbin (peer/webrtc_config.h) ──► RemoteStream
 *                                                                        (media/remote_stream.h)
 *
 * The branch negotiates with webrtcbin and links the send side; what it
 * receives is a RemoteStream per src pad, its figures come from
 * peer/peer_stats.h. Roles follow docs/protocol.md, "Rooms and roles": the
 * joiner offers (Role::Offerer), a peer already in the room answers. Our
 * descriptions and candidates leave through PeerSignaling; the remote
 * peer's arrive through handle_offer()/handle_answer()/handle_candidate().
 * Removal follows docs/design.md, fact 6. */
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/gst_ref.h"
#include "media/media_graph.h"
#include "media/remote_stream.h"
#include "peer/peer_signaling.h"
#include "peer/peer_stats.h"
#include "peer/webrtc_config.h"

namespace meshcall
{

/* What a branch needs from its owner. Methods may be called from any thread. */
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

class PeerBranch : public std::enable_shared_from_this<PeerBranch>
{
public:
	enum class Role { Offerer, Answerer };

	/* nullptr when webrtcbin is missing. The branch's webrtcbin is in the
	 * host's bin when this returns. `signaling` is held weakly: what it
	 * sends after the signaling side is gone is dropped. */
	static std::shared_ptr<PeerBranch> create(PeerHost &host,
						  std::shared_ptr<PeerSignaling> signaling,
						  std::string id, std::string name, Role role,
						  const WebrtcConfig &config);
	~PeerBranch();

	const std::string &id() const { return id_; }
	const std::string &name() const { return name_; }
	Role role() const { return role_; }
	/* Its connection failed (or stayed disconnected too long): it carries
	 * nothing, and the room replaces it. */
	bool failed() const { return failed_; }
	/* handle_offer() was called: a later offer is for a new connection. */
	bool took_offer();
	/* handle_answer() was called (offerer). */
	bool took_answer();

	/* A connection disconnected this long counts as failed
	 * (docs/protocol.md, "Reconnect"). */
	static constexpr guint kDisconnectedLimitMs = 5000;
	/* Monotonic µs since the branch was made. */
	std::int64_t age_us() const { return g_get_monotonic_time() - created_us_; }
	/* Has its connection ever come up? */
	bool connected_once();

	/* Offerer: links the send branches with our own payload types, then
	 * sends the offer. */
	void start_offer();
	/* Answerer: payloaders take the offer's payload types, then answer. */
	void handle_offer(const std::string &sdp);
	void handle_answer(const std::string &sdp);
	/* Kept until the remote description is set. "" (end of candidates) is
	 * ignored: webrtcbin needs no such marker. */
	void handle_candidate(unsigned mline, const std::string &candidate);

	/* docs/design.md, fact 6. Call on the main context; `done` runs there
	 * once nothing of the peer is left in the bin. */
	void remove(std::function<void()> done);
	/* The same, synchronously, when no data flows (state going down). */
	void remove_now();

	/* Waits (bounded) for webrtcbin's get-stats; not on a streaming thread. */
	PeerStats stats();

private:
	PeerBranch(PeerHost &host, std::shared_ptr<PeerSignaling> signaling, std::string id,
		   std::string name, Role role, const WebrtcConfig &config);
	void connect_webrtc_signals();
	/* Links tee → queue → payloader → webrtcbin for one kind; false when that
	 * input does not exist. */
	bool link_send(MediaKind kind, int pt);
	void add_transceiver(MediaKind kind, int pt);
	void on_pad_added(GstPad *pad);
	void create_description(GstWebRTCSDPType type);
	void on_description_created(GstPromise *promise, GstWebRTCSDPType type);
	void set_remote_description(GstSDPMessage *sdp, GstWebRTCSDPType type);
	void on_remote_description_set();
	void on_connection_state();
	void on_ice_connection_state();
	/* Once: marks the branch failed and tells the signaling side. */
	void report_failure(const char *why);
	/* Connected: from now on, a peer from which nothing at all arrives
	 * (no RTP, RTCP, STUN or DTLS) for kDisconnectedLimitMs is taken for
	 * disconnected that long, and its connection for failed. libnice
	 * 0.1.21 as webrtcbin 1.22 sets it up never notices a dead path (no
	 * consent freshness; its keepalive checks took ~50 s here). Main
	 * context. */
	void watch_arrivals();
	/* Once per peer, when its connection comes up (docs/design.md, "Keyframe
	 * on join"). */
	void request_join_keyframe();
	void finish_removal();

	PeerHost &host_;
	/* Weak: the signaling side (the room session) owns the branches. */
	const std::weak_ptr<PeerSignaling> signaling_;
	const std::string id_;
	const std::string name_;
	const Role role_;
	const WebrtcConfig config_;
	ElementRef webrtc_; /* set in create(), then constant */

	/* Lock order: PeerBranch::lock_ before MediaGraph's lock. Never held
	 * while calling into webrtcbin's blocking actions. */
	std::mutex lock_;
	struct SendBranch {
		MediaKind kind;
		PadRef tee_pad;	   /* on the media graph's tee */
		PadRef webrtc_pad; /* webrtcbin sink_%u */
		std::vector<ElementRef> elements;
	};
	std::vector<SendBranch> send_;					   /* guarded by lock_ */
	std::vector<std::unique_ptr<RemoteStream>> receive_;		   /* guarded by lock_ */
	bool removing_ = false;						   /* guarded by lock_ */
	bool remote_set_ = false;					   /* guarded by lock_ */
	bool offer_sent_ = false;					   /* guarded by lock_ */
	bool offer_taken_ = false;					   /* guarded by lock_ */
	bool answer_taken_ = false;					   /* guarded by lock_ */
	std::vector<std::pair<unsigned, std::string>> pending_candidates_; /* guarded by lock_ */
	int tee_pads_pending_ = 0;					   /* guarded by lock_ */
	std::function<void()> removal_done_;				   /* guarded by lock_ */
	bool connected_once_ = false; /* join keyframe asked for; guarded by lock_ */
	std::atomic<bool> failed_{false};
	const std::int64_t created_us_ = g_get_monotonic_time();
	/* Monotonic µs of the last packet from the peer; 0: none yet. Shared
	 * with the probes on webrtcbin's nicesrc, which may outlive us. */
	std::shared_ptr<std::atomic<std::int64_t>> last_arrival_us_ =
	    std::make_shared<std::atomic<std::int64_t>>(0);
	bool watching_ = false; /* main context */
	/* Counts ICE "disconnected" spells, so a check set for one spell
	 * ignores the later ones. */
	std::atomic<unsigned> disconnected_spell_{0};
};

} // namespace meshcall
