// SPDX-License-Identifier: LGPL-2.1-or-later
/* room/: being in a meshcall room — the signaling connection and the room's
 * life on top of it.
 *
 * RoomSession joins a room through a SignalingClient and keeps one
 * PeerBranch per remote peer: it takes the welcome, offers to the peers
 * already there (docs/protocol.md, "Rooms and roles"), answers newcomers,
 * routes each relayed offer, answer and candidate to its peer, tells refusals
 * from passing errors, and rejoins with back-off when the server is lost. It
 * knows nothing of the element: what happens is told to a RoomListener, which
 * meshcallbin implements (signals, bus messages, errors).
 *
 * It keeps the call through failures (docs/protocol.md, "Keeping the call
 * through failures"): losing the server tears no peer connection down; the
 * rejoin carries welcome.resume to get the same id back; peers the room
 * does not list again within kGraceMs are dropped; a failed connection is
 * rebuilt by its offerer (a new webrtcbin: 1.22 has no ICE restart) or
 * asked for with `reconnect` by its answerer, with back-off per peer; an
 * offer from a peer that already has a connection replaces it.
 *
 * Threading: start(), stop() and the inbound path run on the main context
 * (where the signaling client calls back); send_chat(), send_media(),
 * stats() and the PeerSignaling side may be called from any thread. The
 * listener is never called with the session's lock held. */
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "peer/peer_branch.h"
#include "room/signaling_client.h"

namespace meshcall
{

/* What happens in the room, for meshcallbin. Also the PeerHost of every
 * branch. Called on the main context unless PeerHost says otherwise. */
class RoomListener : public PeerHost
{
public:
	/* Joined (or rejoined): our id and the room as the welcome says.
	 * Before any offer to the peers already there goes out. */
	virtual void joined(const protocol::Welcome &welcome) = 0;
	virtual void peer_joined(const std::string &id, const std::string &name) = 0;
	/* Everything of the peer is gone from the bin. */
	virtual void peer_left(const std::string &id) = 0;
	virtual void peer_media(const protocol::PeerMedia &media) = 0;
	/* History on joining, then each new line. */
	virtual void chat(const protocol::ChatLine &line) = 0;
	/* The server refused our join (room-full, unauthorized, invalid-room,
	 * invalid-name): the session has stopped. */
	virtual void refused(const protocol::Error &error) = 0;
	/* Any other error message from the server; the session goes on. */
	virtual void server_error(const protocol::Error &error) = 0;
	/* The first connection failed: the session has stopped. */
	virtual void unreachable(const std::string &detail) = 0;
	/* A GStreamer element the room needs is not installed (webrtcbin). */
	virtual void missing_element(const std::string &factory) = 0;
	/* The server went away; the peers stay (media needs no server), a
	 * rejoin is scheduled. */
	virtual void server_lost(int close_code, const std::string &detail) = 0;
};

struct RoomSettings {
	std::string server; /* as websocket_url_for() takes it */
	std::string room;
	std::string name;
	std::string token; /* "" for none */
	/* ICE and media set-up of every peer; the welcome's ICE servers are
	 * added to it. */
	WebrtcConfig webrtc;
};

class RoomSession final : public PeerSignaling, public std::enable_shared_from_this<RoomSession>
{
public:
	/* Rejoin back-off after losing the server: 0.5 s doubling to 5 s. */
	static constexpr unsigned kFirstRejoinDelayMs = 500;
	static constexpr unsigned kLongestRejoinDelayMs = 5000;
	/* How long a peer kept through an outage may stay unlisted. */
	static constexpr unsigned kGraceMs = 15000;

	static std::shared_ptr<RoomSession> create(RoomListener &listener);
	~RoomSession() override;
	RoomSession(const RoomSession &) = delete;
	RoomSession &operator=(const RoomSession &) = delete;

	/* Connects and joins; false (and *error) only for a server URL that
	 * cannot be used. */
	bool start(const RoomSettings &settings, std::string *error);
	/* Leaves the room (sends `leave`) and stops rejoining. Peers stay until
	 * remove_all_peers_now(). */
	void stop();
	/* Removes every peer synchronously; for when no data flows (state
	 * going down) or the room is lost. Emits no peer_left(). */
	std::vector<std::string> remove_all_peers_now();

	/* Our id while joined. */
	std::optional<std::string> peer_id() const;
	/* False when not joined. */
	bool send_chat(const std::string &text);
	void send_media(bool audio, bool video);
	/* One entry per peer, bitrates since the previous call. Waits for each
	 * webrtcbin (bounded); not on a streaming thread. */
	std::vector<PeerStats> stats();

	/* PeerSignaling: the branches' way out. */
	void send_description(const std::string &peer_id, GstWebRTCSDPType type,
			      std::string sdp) override;
	void send_candidate(const std::string &peer_id, unsigned mline_index,
			    std::string candidate) override;
	void connection_failed(const std::shared_ptr<PeerBranch> &branch) override;

private:
	explicit RoomSession(RoomListener &listener) : listener_(listener) {}
	SignalingClient::Callbacks make_callbacks();
	void connect();
	void schedule_rejoin();

	/* Inbound, on the main context. */
	void on_welcome(const protocol::Welcome &welcome);
	void on_offer(const protocol::RelayedOffer &offer);
	void on_answer(const protocol::RelayedAnswer &answer);
	void on_candidate(const protocol::RelayedCandidate &candidate);
	void on_reconnect(const protocol::RelayedReconnect &reconnect);
	void on_peer_joined(const protocol::Peer &peer);
	void on_chat(const protocol::ChatLine &line);
	void on_error(const protocol::Error &error);
	void on_closed(SignalingClient::CloseReason reason, int code, const std::string &detail);
	/* A new branch; `replace`: instead of the current one, silently (the
	 * peer stays in the room). nullptr when it could not be made. */
	std::shared_ptr<PeerBranch> add_peer(const protocol::Peer &peer, PeerBranch::Role role,
					     bool replace = false);
	void start_grace();
	void end_grace();
	void schedule_retry(const std::string &id);
	void retry(const std::string &id);
	void cancel_retry(const std::string &id);
	void remove_peer(const std::string &id);
	std::shared_ptr<PeerBranch> find_peer(const std::string &id);
	std::shared_ptr<SignalingClient> signaling();

	RoomListener &listener_;

	mutable std::mutex lock_;
	RoomSettings settings_; /* guarded by lock_ */
	WebrtcConfig webrtc_;	/* with the welcome's servers; guarded by lock_ */
	std::shared_ptr<SignalingClient> signaling_; /* guarded by lock_ */
	bool running_ = false; /* between start() and stop(); guarded by lock_ */
	bool joined_ = false;  /* guarded by lock_ */
	std::string peer_id_;  /* guarded by lock_ */
	std::map<std::string, std::shared_ptr<PeerBranch>> peers_; /* guarded by lock_ */
	guint rejoin_source_ = 0;				   /* guarded by lock_ */
	unsigned rejoin_attempt_ = 0;				   /* guarded by lock_ */
	std::string resume_; /* the last welcome.resume; guarded by lock_ */
	/* Peers kept through an outage, not listed by the room since. */
	std::set<std::string> unconfirmed_; /* guarded by lock_ */
	guint grace_source_ = 0;	    /* guarded by lock_ */
	/* Rebuilding failed connections, per peer. */
	struct Retry {
		unsigned attempts = 0;
		std::int64_t last_us = 0; /* monotonic, of the last attempt */
		guint source = 0;
	};
	std::map<std::string, Retry> retries_; /* guarded by lock_ */
	/* The newest chat line delivered, so a resumed welcome's history
	 * repeats nothing (main context only). */
	std::int64_t last_chat_ts_ = -1;
	std::int64_t last_chat_seq_ = 0;
	BitrateMeter bitrates_; /* guarded by lock_ */
};

} // namespace meshcall
