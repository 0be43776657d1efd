// SPDX-License-Identifier: LGPL-2.1-or-later
/* The room's life for meshcallbin; see room/room_session.h. */
#include "room/room_session.h"

#include <algorithm>

#include "common/main_context.h"

#include "common/debug.h"

MESHCALL_DEBUG_CATEGORY(meshcall_room_debug, "meshcall-room", "meshcallbin's room session")
#define GST_CAT_DEFAULT meshcall_room_debug

namespace meshcall
{

namespace proto = meshcall::protocol;

namespace
{

/* Rebuilding a failed connection: 1, 2, 4, 8, 16, then every 30 s
 * (docs/protocol.md, "Reconnect"); after a minute without failure the count
 * starts again. */
constexpr unsigned kRetryDelaysS[] = {1, 2, 4, 8, 16, 30};
constexpr std::int64_t kRetryForgetUs = 60 * G_USEC_PER_SEC;
/* A new connection of ours younger than this that has not come up yet is
 * still being set up. */
constexpr std::int64_t kOfferInFlightUs = 10 * G_USEC_PER_SEC;

/* Runs `f(self)` on the default main context after `ms`, unless the session
 * is gone by then. */
template <typename F> guint after_ms(std::weak_ptr<RoomSession> weak, unsigned ms, F f)
{
	struct Call {
		std::weak_ptr<RoomSession> weak;
		F f;
	};
	return g_timeout_add_full(
	    G_PRIORITY_DEFAULT, ms,
	    [](gpointer d) -> gboolean {
		    auto *call = static_cast<Call *>(d);
		    if (auto self = call->weak.lock())
			    call->f(*self);
		    return G_SOURCE_REMOVE;
	    },
	    new Call{std::move(weak), std::move(f)},
	    [](gpointer d) { delete static_cast<Call *>(d); });
}

bool is_join_refusal(const std::string &code)
{
	return code == "room-full" || code == "unauthorized" || code == "invalid-room" ||
	       code == "invalid-name";
}

} // namespace

std::shared_ptr<RoomSession> RoomSession::create(RoomListener &listener)
{
	ensure_debug_category();
	return std::shared_ptr<RoomSession>(new RoomSession(listener));
}

RoomSession::~RoomSession()
{
	stop();
}

SignalingClient::Callbacks RoomSession::make_callbacks()
{
	/* The client calls back only until it is closed, which stop() and the
	 * destructor do first: `this` outlives every call. */
	SignalingClient::Callbacks cb;
	cb.welcome = [this](const proto::Welcome &w) { on_welcome(w); };
	cb.peer_joined = [this](const proto::PeerJoined &m) { on_peer_joined(m.peer); };
	cb.peer_left = [this](const proto::PeerLeft &m) { remove_peer(m.id); };
	cb.peer_media = [this](const proto::PeerMedia &m) { listener_.peer_media(m); };
	cb.offer = [this](const proto::RelayedOffer &m) { on_offer(m); };
	cb.answer = [this](const proto::RelayedAnswer &m) { on_answer(m); };
	cb.candidate = [this](const proto::RelayedCandidate &m) { on_candidate(m); };
	cb.reconnect = [this](const proto::RelayedReconnect &m) { on_reconnect(m); };
	cb.chat = [this](const proto::ChatLine &line) { on_chat(line); };
	cb.error = [this](const proto::Error &e) { on_error(e); };
	cb.closed = [this](SignalingClient::CloseReason reason, int code,
			   const std::string &detail) { on_closed(reason, code, detail); };
	return cb;
}

bool RoomSession::start(const RoomSettings &settings, std::string *error)
{
	if (!websocket_url_for(settings.server)) {
		if (error)
			*error = "not a ws://, wss://, http:// or https:// URL";
		return false;
	}
	{
		std::lock_guard l(lock_);
		settings_ = settings;
		running_ = true;
		rejoin_attempt_ = 0;
	}
	connect();
	return true;
}

void RoomSession::connect()
{
	RoomSettings s;
	{
		std::lock_guard l(lock_);
		if (!running_)
			return;
		s = settings_;
	}
	auto client = std::make_shared<SignalingClient>(g_main_context_default(), make_callbacks());
	SignalingClient::JoinRequest join{s.room, s.name, std::nullopt, std::nullopt};
	if (!s.token.empty())
		join.token = s.token;
	{
		std::lock_guard l(lock_);
		if (!resume_.empty())
			join.resume = resume_;
	}
	GST_INFO_OBJECT(listener_.bin(), "joining room %s at %s as %s", s.room.c_str(),
			s.server.c_str(), s.name.c_str());
	/* Connected before the branches can see it: its callbacks run on this
	 * context, so none runs before this returns. */
	std::string error;
	if (!client->connect(s.server, join, &error)) {
		listener_.unreachable(error); /* start() checked the URL: not expected */
		return;
	}
	std::lock_guard l(lock_);
	signaling_ = client;
	webrtc_ = s.webrtc;
	joined_ = false;
}

void RoomSession::stop()
{
	std::shared_ptr<SignalingClient> client;
	{
		std::lock_guard l(lock_);
		running_ = false;
		joined_ = false;
		client = std::move(signaling_);
		if (rejoin_source_) {
			g_source_remove(rejoin_source_);
			rejoin_source_ = 0;
		}
		rejoin_attempt_ = 0;
		if (grace_source_) {
			g_source_remove(grace_source_);
			grace_source_ = 0;
		}
		for (auto &[id, retry] : retries_)
			if (retry.source)
				g_source_remove(retry.source);
		retries_.clear();
	}
	if (client)
		client->close(); /* sends leave */
}

void RoomSession::schedule_rejoin()
{
	std::lock_guard l(lock_);
	if (signaling_) {
		signaling_->close();
		signaling_.reset();
	}
	if (!running_ || rejoin_source_)
		return;
	unsigned delay_ms =
	    std::min(kLongestRejoinDelayMs, kFirstRejoinDelayMs << std::min(rejoin_attempt_, 5u));
	rejoin_attempt_++;
	rejoin_source_ = after_ms(weak_from_this(), delay_ms, [](RoomSession &self) {
		{
			std::lock_guard l(self.lock_);
			self.rejoin_source_ = 0;
		}
		self.connect();
	});
}

std::shared_ptr<SignalingClient> RoomSession::signaling()
{
	std::lock_guard l(lock_);
	return signaling_;
}

/* ---- inbound ---- */

void RoomSession::on_welcome(const proto::Welcome &w)
{
	std::string previous_id;
	std::vector<std::string> kept;
	{
		std::lock_guard l(lock_);
		previous_id = std::exchange(peer_id_, w.id);
		joined_ = true;
		rejoin_attempt_ = 0;
		resume_ = w.resume.value_or("");
		add_ice_servers(webrtc_, w.ice_servers);
		for (const auto &[id, branch] : peers_)
			kept.push_back(id);
	}
	const bool resumed = !previous_id.empty() && previous_id == w.id;
	GST_INFO_OBJECT(listener_.bin(), "%s room %s as %s (%s) with %zu peer(s)",
			resumed ? "resumed in" : "joined", w.room.c_str(), w.id.c_str(),
			w.name.c_str(), w.peers.size());
	if (!resumed) {
		/* The room knows us by another id now: every connection we kept
		 * is to a peer that will drop it. Start afresh. */
		for (const auto &id : kept)
			remove_peer(id);
		kept.clear();
	}
	listener_.joined(w);
	for (const auto &line : w.history)
		on_chat(line);
	/* The joiner offers to everyone already here (docs/protocol.md, "Rooms
	 * and roles"), except to a peer whose connection survived the outage:
	 * that one is kept as it is, and nothing is sent to it. */
	for (const auto &peer : w.peers) {
		auto branch = find_peer(peer.id);
		if (branch && !branch->failed())
			continue;
		if (auto added = add_peer(peer, PeerBranch::Role::Offerer, branch != nullptr))
			added->start_offer();
	}
	/* A kept peer the room does not list may still be on its way back
	 * (the server restarted): it has kGraceMs to appear. */
	std::lock_guard l(lock_);
	unconfirmed_.clear();
	for (const auto &id : kept) {
		bool listed = std::any_of(w.peers.begin(), w.peers.end(),
					  [&](const proto::Peer &p) { return p.id == id; });
		if (!listed && peers_.count(id))
			unconfirmed_.insert(id);
	}
	if (!unconfirmed_.empty() && !grace_source_)
		grace_source_ = after_ms(weak_from_this(), kGraceMs,
					 [](RoomSession &self) { self.end_grace(); });
}

void RoomSession::end_grace()
{
	std::set<std::string> gone;
	{
		std::lock_guard l(lock_);
		grace_source_ = 0;
		gone.swap(unconfirmed_);
	}
	for (const auto &id : gone) {
		GST_INFO_OBJECT(listener_.bin(), "peer %s did not come back within %u ms",
				id.c_str(), kGraceMs);
		remove_peer(id);
	}
}

void RoomSession::on_peer_joined(const proto::Peer &peer)
{
	auto branch = find_peer(peer.id);
	if (branch && !branch->failed()) {
		/* That peer resumed: our connection to it is still good. */
		std::lock_guard l(lock_);
		unconfirmed_.erase(peer.id);
		return;
	}
	{
		std::lock_guard l(lock_);
		unconfirmed_.erase(peer.id);
	}
	/* New, or back with its connection failed: it offers (the joiner
	 * rule), we answer. */
	add_peer(peer, PeerBranch::Role::Answerer, branch != nullptr);
}

void RoomSession::on_chat(const proto::ChatLine &line)
{
	/* After a resume the history holds lines we have shown already (the
	 * same server) or only newer ones (a restarted server counts seq
	 * from 1 again, but its clock went on). */
	if (line.ts < last_chat_ts_ || (line.ts == last_chat_ts_ && line.seq <= last_chat_seq_))
		return;
	last_chat_ts_ = line.ts;
	last_chat_seq_ = line.seq;
	listener_.chat(line);
}

std::shared_ptr<PeerBranch> RoomSession::add_peer(const proto::Peer &peer, PeerBranch::Role role,
						  bool replace)
{
	std::shared_ptr<PeerBranch> branch, old;
	{
		std::lock_guard l(lock_);
		auto it = peers_.find(peer.id);
		if (!signaling_ || (it != peers_.end() && !replace))
			return nullptr;
		branch = PeerBranch::create(listener_, shared_from_this(), peer.id, peer.name, role,
					    webrtc_);
		if (!branch) {
			/* fall through to the report below */
		} else if (it != peers_.end()) {
			old = std::exchange(it->second, branch);
		} else {
			peers_[peer.id] = branch;
		}
	}
	if (!branch) {
		listener_.missing_element("webrtcbin");
		return nullptr;
	}
	const char *we = role == PeerBranch::Role::Offerer ? "offer" : "answer";
	if (old) {
		GST_INFO_OBJECT(listener_.bin(), "peer %s: new connection; we %s", peer.id.c_str(),
				we);
		/* The peer stays in the room: no peer-left, no peer-joined. */
		auto *element = static_cast<GstObject *>(gst_object_ref(listener_.bin()));
		old->remove([self = shared_from_this(), element] {
			self->listener_.layout_changed();
			gst_object_unref(element);
		});
		return branch;
	}
	GST_INFO_OBJECT(listener_.bin(), "peer %s (%s) joined; we %s", peer.id.c_str(),
			peer.name.c_str(), we);
	listener_.peer_joined(peer.id, peer.name);
	return branch;
}

void RoomSession::remove_peer(const std::string &id)
{
	std::shared_ptr<PeerBranch> branch;
	{
		std::lock_guard l(lock_);
		auto it = peers_.find(id);
		if (it == peers_.end())
			return;
		branch = std::move(it->second);
		peers_.erase(it);
		bitrates_.forget(id);
		unconfirmed_.erase(id);
	}
	cancel_retry(id);
	GST_INFO_OBJECT(listener_.bin(), "peer %s left; removing its branch", id.c_str());
	/* The branch uses the element until its removal is done. */
	auto *element = static_cast<GstObject *>(gst_object_ref(listener_.bin()));
	branch->remove([self = shared_from_this(), id, element] {
		self->listener_.peer_left(id);
		gst_object_unref(element);
	});
}

std::vector<std::string> RoomSession::remove_all_peers_now()
{
	std::map<std::string, std::shared_ptr<PeerBranch>> peers;
	{
		std::lock_guard l(lock_);
		peers.swap(peers_);
		bitrates_.clear();
		unconfirmed_.clear();
		for (auto &[id, retry] : retries_)
			if (retry.source)
				g_source_remove(retry.source);
		retries_.clear();
	}
	std::vector<std::string> ids;
	for (auto &[id, branch] : peers) {
		branch->remove_now();
		ids.push_back(id);
	}
	return ids;
}

std::shared_ptr<PeerBranch> RoomSession::find_peer(const std::string &id)
{
	std::lock_guard l(lock_);
	auto it = peers_.find(id);
	return it == peers_.end() ? nullptr : it->second;
}

void RoomSession::on_offer(const proto::RelayedOffer &m)
{
	auto branch = find_peer(m.from);
	if (!branch) {
		GST_WARNING_OBJECT(listener_.bin(), "offer from %s, not a peer of ours",
				   m.from.c_str());
		return;
	}
	if (branch->role() == PeerBranch::Role::Answerer && !branch->took_offer()) {
		branch->handle_offer(m.sdp);
		return;
	}
	/* Offers that cross (both sides rebuilt at once): the lower id keeps
	 * its own, the higher one answers it, as the browser client does. */
	if (branch->role() == PeerBranch::Role::Offerer && !branch->failed() &&
	    !branch->took_answer()) {
		std::string mine;
		{
			std::lock_guard l(lock_);
			mine = peer_id_;
		}
		if (mine < m.from) {
			GST_INFO_OBJECT(listener_.bin(),
					"offer from %s crosses ours; it answers ours instead",
					m.from.c_str());
			return;
		}
	}
	/* An offer for a connection we already have replaces it
	 * (docs/protocol.md, "Client rules"): that is how the peer rebuilds a
	 * failed one, and how two sides that disagree converge. */
	if (auto fresh = add_peer({m.from, branch->name()}, PeerBranch::Role::Answerer, true))
		fresh->handle_offer(m.sdp);
}

void RoomSession::on_answer(const proto::RelayedAnswer &m)
{
	auto branch = find_peer(m.from);
	if (branch && branch->role() == PeerBranch::Role::Offerer)
		branch->handle_answer(m.sdp);
	else
		GST_WARNING_OBJECT(listener_.bin(), "unexpected answer from %s", m.from.c_str());
}

void RoomSession::on_candidate(const proto::RelayedCandidate &m)
{
	if (auto branch = find_peer(m.from))
		branch->handle_candidate(static_cast<unsigned>(m.sdp_mline_index), m.candidate);
}

void RoomSession::on_reconnect(const proto::RelayedReconnect &m)
{
	auto branch = find_peer(m.from);
	if (!branch) {
		GST_DEBUG_OBJECT(listener_.bin(), "reconnect from %s, not a peer of ours",
				 m.from.c_str());
		return;
	}
	/* Both ends may see a connection fail at once: then our new offer
	 * may already be on its way, and answers the request. */
	if (branch->role() == PeerBranch::Role::Offerer && !branch->failed() &&
	    !branch->connected_once() && branch->age_us() < kOfferInFlightUs) {
		GST_DEBUG_OBJECT(listener_.bin(), "reconnect from %s: our new offer is on its way",
				 m.from.c_str());
		return;
	}
	GST_INFO_OBJECT(listener_.bin(), "peer %s asks for a new connection", m.from.c_str());
	if (auto fresh = add_peer({m.from, branch->name()}, PeerBranch::Role::Offerer, true))
		fresh->start_offer();
}

/* ---- rebuilding failed connections ---- */

void RoomSession::connection_failed(const std::shared_ptr<PeerBranch> &branch)
{
	std::weak_ptr<PeerBranch> weak_branch = branch;
	invoke_on([weak = weak_from_this(), weak_branch] {
		auto self = weak.lock();
		auto failed = weak_branch.lock();
		if (!self || !failed || self->find_peer(failed->id()) != failed)
			return; /* replaced or gone meanwhile */
		self->schedule_retry(failed->id());
	});
}

void RoomSession::schedule_retry(const std::string &id)
{
	std::lock_guard l(lock_);
	if (!running_)
		return;
	Retry &r = retries_[id];
	if (r.source)
		return;
	const std::int64_t now = g_get_monotonic_time();
	if (r.last_us && now - r.last_us > kRetryForgetUs)
		r.attempts = 0;
	const unsigned n = std::size(kRetryDelaysS);
	const unsigned delay_s = kRetryDelaysS[std::min(r.attempts, n - 1)];
	r.attempts++;
	r.source =
	    after_ms(weak_from_this(), delay_s * 1000, [id](RoomSession &self) { self.retry(id); });
}

void RoomSession::retry(const std::string &id)
{
	std::shared_ptr<PeerBranch> branch;
	std::shared_ptr<SignalingClient> client;
	{
		std::lock_guard l(lock_);
		auto it = retries_.find(id);
		if (it == retries_.end())
			return;
		it->second.source = 0;
		it->second.last_us = g_get_monotonic_time();
		auto p = peers_.find(id);
		if (p != peers_.end())
			branch = p->second;
		if (joined_)
			client = signaling_;
	}
	if (!branch || !branch->failed())
		return; /* rebuilt or gone meanwhile */
	if (!client) {
		/* No signaling now: try again once the room is back. */
		schedule_retry(id);
		return;
	}
	if (branch->role() == PeerBranch::Role::Offerer) {
		GST_INFO_OBJECT(listener_.bin(), "peer %s: rebuilding the failed connection",
				id.c_str());
		if (auto fresh = add_peer({id, branch->name()}, PeerBranch::Role::Offerer, true))
			fresh->start_offer();
		return;
	}
	GST_INFO_OBJECT(listener_.bin(), "peer %s: asking it to rebuild the failed connection",
			id.c_str());
	client->send_reconnect(id);
	/* Asked again later unless its offer replaces the branch. */
	schedule_retry(id);
}

void RoomSession::cancel_retry(const std::string &id)
{
	std::lock_guard l(lock_);
	auto it = retries_.find(id);
	if (it == retries_.end())
		return;
	if (it->second.source)
		g_source_remove(it->second.source);
	retries_.erase(it);
}

void RoomSession::on_error(const proto::Error &e)
{
	if (!is_join_refusal(e.code)) {
		listener_.server_error(e);
		return;
	}
	/* The join was refused: nothing in the room changed for anyone. */
	stop();
	listener_.refused(e);
}

void RoomSession::on_closed(SignalingClient::CloseReason reason, int code,
			    const std::string &detail)
{
	bool was_joined;
	unsigned attempt;
	{
		std::lock_guard l(lock_);
		was_joined = joined_;
		joined_ = false;
		attempt = rejoin_attempt_;
		if (!running_)
			return;
	}
	if (reason == SignalingClient::CloseReason::Unreachable && !was_joined && attempt == 0) {
		stop();
		listener_.unreachable(detail);
		return;
	}
	/* Lost the server: media goes peer to peer and needs no server, so
	 * every connection stays (docs/protocol.md, "Client rules"); the
	 * rejoin asks for our id back. */
	if (was_joined)
		listener_.server_lost(code, detail); /* once, not on every retry */
	schedule_rejoin();
}

/* ---- outbound ---- */

std::optional<std::string> RoomSession::peer_id() const
{
	std::lock_guard l(lock_);
	if (!joined_)
		return std::nullopt;
	return peer_id_;
}

bool RoomSession::send_chat(const std::string &text)
{
	std::lock_guard l(lock_);
	if (!joined_ || !signaling_)
		return false;
	signaling_->send_chat(text);
	return true;
}

void RoomSession::send_media(bool audio, bool video)
{
	std::lock_guard l(lock_);
	if (joined_ && signaling_)
		signaling_->send_media(audio, video);
}

void RoomSession::send_description(const std::string &peer_id, GstWebRTCSDPType type,
				   std::string sdp)
{
	auto client = signaling();
	if (!client)
		return;
	if (type == GST_WEBRTC_SDP_TYPE_OFFER)
		client->send_offer(peer_id, std::move(sdp));
	else
		client->send_answer(peer_id, std::move(sdp));
}

void RoomSession::send_candidate(const std::string &peer_id, unsigned mline_index,
				 std::string candidate)
{
	if (auto client = signaling())
		client->send_candidate(peer_id, mline_index, std::move(candidate));
}

std::vector<PeerStats> RoomSession::stats()
{
	std::vector<std::shared_ptr<PeerBranch>> peers;
	{
		std::lock_guard l(lock_);
		for (auto &[id, branch] : peers_)
			peers.push_back(branch);
	}
	std::vector<PeerStats> out;
	for (auto &branch : peers)
		out.push_back(branch->stats());
	auto now = std::chrono::steady_clock::now();
	std::lock_guard l(lock_);
	for (auto &s : out)
		bitrates_.sample(s, now);
	return out;
}

} // namespace meshcall
