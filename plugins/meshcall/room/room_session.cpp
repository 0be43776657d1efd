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

/* Rejoin back-off after losing the server: 0.5 s doubling to 10 s. */
constexpr unsigned kFirstRejoinDelayMs = 500;
constexpr unsigned kLongestRejoinDelayMs = 10000;

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
	cb.peer_joined = [this](const proto::PeerJoined &m) {
		add_peer(m.peer, PeerBranch::Role::Answerer);
	};
	cb.peer_left = [this](const proto::PeerLeft &m) { remove_peer(m.id); };
	cb.peer_media = [this](const proto::PeerMedia &m) { listener_.peer_media(m); };
	cb.offer = [this](const proto::RelayedOffer &m) { on_offer(m); };
	cb.answer = [this](const proto::RelayedAnswer &m) { on_answer(m); };
	cb.candidate = [this](const proto::RelayedCandidate &m) { on_candidate(m); };
	cb.chat = [this](const proto::ChatLine &line) { listener_.chat(line); };
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
	SignalingClient::JoinRequest join{s.room, s.name, std::nullopt};
	if (!s.token.empty())
		join.token = s.token;
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
	rejoin_source_ = g_timeout_add_full(
	    G_PRIORITY_DEFAULT, delay_ms,
	    [](gpointer d) -> gboolean {
		    auto self = static_cast<std::weak_ptr<RoomSession> *>(d)->lock();
		    if (!self)
			    return G_SOURCE_REMOVE;
		    {
			    std::lock_guard l(self->lock_);
			    self->rejoin_source_ = 0;
		    }
		    self->connect();
		    return G_SOURCE_REMOVE;
	    },
	    new std::weak_ptr<RoomSession>(weak_from_this()),
	    [](gpointer d) { delete static_cast<std::weak_ptr<RoomSession> *>(d); });
}

std::shared_ptr<SignalingClient> RoomSession::signaling()
{
	std::lock_guard l(lock_);
	return signaling_;
}

/* ---- inbound ---- */

void RoomSession::on_welcome(const proto::Welcome &w)
{
	{
		std::lock_guard l(lock_);
		joined_ = true;
		peer_id_ = w.id;
		rejoin_attempt_ = 0;
		add_ice_servers(webrtc_, w.ice_servers);
	}
	GST_INFO_OBJECT(listener_.bin(), "joined room %s as %s (%s) with %zu peer(s)",
			w.room.c_str(), w.id.c_str(), w.name.c_str(), w.peers.size());
	listener_.joined(w);
	for (const auto &line : w.history)
		listener_.chat(line);
	/* The joiner offers to everyone already here (docs/protocol.md, "Rooms
	 * and roles"). */
	for (const auto &peer : w.peers)
		add_peer(peer, PeerBranch::Role::Offerer);
}

void RoomSession::add_peer(const proto::Peer &peer, PeerBranch::Role role)
{
	std::shared_ptr<PeerBranch> branch;
	{
		std::lock_guard l(lock_);
		if (!signaling_ || peers_.count(peer.id))
			return;
		branch = PeerBranch::create(listener_, shared_from_this(), peer.id, peer.name, role,
					    webrtc_);
		if (branch)
			peers_[peer.id] = branch;
	}
	if (!branch) {
		listener_.missing_element("webrtcbin");
		return;
	}
	GST_INFO_OBJECT(listener_.bin(), "peer %s (%s) joined; we %s", peer.id.c_str(),
			peer.name.c_str(), role == PeerBranch::Role::Offerer ? "offer" : "answer");
	listener_.peer_joined(peer.id, peer.name);
	if (role == PeerBranch::Role::Offerer)
		branch->start_offer();
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
	}
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
	if (branch && branch->role() == PeerBranch::Role::Answerer)
		branch->handle_offer(m.sdp);
	else
		GST_WARNING_OBJECT(listener_.bin(), "unexpected offer from %s", m.from.c_str());
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
	/* Lost the server mid-call: the room has dropped us, so the peer
	 * connections are gone too. Rejoin with back-off. */
	std::vector<std::string> dropped = remove_all_peers_now();
	listener_.server_lost(code, detail, dropped);
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
