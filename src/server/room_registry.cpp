// SPDX-License-Identifier: LGPL-2.1-or-later
/* The signaling server's rules (docs/protocol.md) as pure logic. */
#include "server/room_registry.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <unordered_map>

#include <glib.h>

#include "server/auth.h"
#include "server/log.h"
#include "server/rate_limiter.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server:registry"

namespace meshcall::server
{

using protocol::ClientType;
using protocol::ErrorCode;

std::int64_t Clock::monotonic_us() const
{
	return g_get_monotonic_time();
}

std::int64_t Clock::wall_ms() const
{
	return g_get_real_time() / 1000;
}

namespace
{

std::uint64_t random_id()
{
	std::uint64_t id = 0;
	std::string bytes = random_bytes(sizeof(id));
	std::memcpy(&id, bytes.data(), sizeof(id));
	return id;
}

std::string format_id(std::uint64_t id)
{
	char buf[17];
	std::snprintf(buf, sizeof(buf), "%016" PRIx64, id);
	return std::string(buf, 16);
}

using SharedText = std::shared_ptr<const std::string>;

SharedText share(std::string text)
{
	return std::make_shared<const std::string>(std::move(text));
}

struct Room;

struct Connection {
	ConnectionId id = 0;
	std::string client;   /* IP address, keys the refusal log throttle */
	Room *room = nullptr; /* set once joined */
	std::string peer_id;
	std::string name;
	bool audio = true;
	bool video = true;
	TokenBucket messages;
	TokenBucket chat;
	RefusalWindow refusals;
};

/* A history line with its size as a welcome writes it, measured once when
 * it is stored: the "chat" message fanned out is the very object the
 * welcome's history holds (json_writer.cpp, append_chat_line). */
struct HistoryLine {
	protocol::ChatLine line;
	std::size_t json_bytes = 0;
};

struct Room {
	std::string name;
	std::vector<Connection *> members; /* join order */
	std::deque<HistoryLine> history;
	std::int64_t next_seq = 1;
};

/* (1.1) The newest lines that fit beside a welcome of `base_bytes` written
 * without history, in seq order, so the whole welcome stays within
 * kMaxWelcomeBytes (docs/protocol.md, "Chat numbering and history"). Each
 * line costs its JSON plus the comma before it. */
std::vector<protocol::ChatLine> newest_lines_that_fit(const std::deque<HistoryLine> &history,
						      std::size_t base_bytes)
{
	std::size_t used = base_bytes;
	std::size_t kept = 0;
	for (auto it = history.rbegin(); it != history.rend(); ++it) {
		std::size_t cost = it->json_bytes + (kept ? 1 : 0);
		if (used + cost > protocol::kMaxWelcomeBytes)
			break;
		used += cost;
		kept++;
	}
	std::vector<protocol::ChatLine> lines;
	lines.reserve(kept);
	for (auto it = history.end() - static_cast<std::ptrdiff_t>(kept); it != history.end(); ++it)
		lines.push_back(it->line);
	return lines;
}

/* What a log line about the connection names it by: "conn 1090", plus
 * "peer 9f86d081884c7d65 room demo" while it is in a room. */
std::string describe(const Connection &conn)
{
	std::string text = "conn " + std::to_string(conn.id);
	if (conn.room)
		text += " peer " + conn.peer_id + " room " + conn.room->name;
	return text;
}

} // namespace

struct RoomRegistry::Impl {
	RegistryConfig config;
	Outbox &outbox;
	const Clock &clock;
	IdGenerator ids;
	Metrics metrics;
	std::unordered_map<ConnectionId, Connection> connections;
	std::unordered_map<std::string, Room> rooms;
	std::unordered_map<std::string, Connection *> peers; /* by peer id, every room */
	bool shutting_down = false;

	Impl(RegistryConfig c, Outbox &o, const Clock &clk, IdGenerator g)
	    : config(std::move(c)), outbox(o), clock(clk), ids(std::move(g))
	{
		if (!ids)
			ids = random_id;
		if (config.resume_secret.empty())
			config.resume_secret = random_bytes(32);
	}

	void send(Connection &conn, const SharedText &text) { outbox.send(conn.id, text); }

	void send_error(Connection &conn, ErrorCode code, std::string_view message,
			std::optional<ClientType> ref = std::nullopt)
	{
		metrics.errors[static_cast<std::size_t>(code)]++;
		log_refusal(conn, code, message, ref);
		outbox.send(conn.id, share(protocol::error_json(code, message, ref)));
	}

	/* Every refusal is logged with its code, a few per second per client
	 * address (server/log.h) so a flooding client cannot flood the log too;
	 * the message may quote what the client sent (a JSON parser's error). */
	void log_refusal(Connection &conn, ErrorCode code, std::string_view message,
			 std::optional<ClientType> ref)
	{
		std::string_view what = ref ? protocol::to_string(*ref) : "message";
		MESHCALL_REFUSAL_ABOUT(conn.client, clock.monotonic_us(), describe(conn),
				       std::string(what) +
					   " refused: " + std::string(protocol::to_string(code)) +
					   " (" + log_text(message) + ")");
	}

	/* Forget the connection, tell its room, then ask the transport to close. */
	void close(Connection &conn, int code, std::string_view reason)
	{
		ConnectionId id = conn.id;
		forget(id);
		outbox.close(id, code, reason);
	}

	void forget(ConnectionId id)
	{
		auto it = connections.find(id);
		if (it == connections.end())
			return;
		leave_room(it->second);
		connections.erase(it);
		metrics.connections--;
	}

	void leave_room(Connection &conn)
	{
		Room *room = conn.room;
		if (!room)
			return;
		MESHCALL_MESSAGE_ABOUT(describe(conn), "left (%s)", log_text(conn.name).c_str());
		std::erase(room->members, &conn);
		peers.erase(conn.peer_id);
		metrics.peers--;
		conn.room = nullptr;
		if (room->members.empty()) {
			rooms.erase(room->name);
			metrics.rooms--;
			return;
		}
		/* The server is going: the others lose it too, and keep their
		 * media (docs/protocol.md, "Keeping the call through failures"). */
		if (shutting_down)
			return;
		SharedText left = share(protocol::peer_left_json(conn.peer_id));
		for (Connection *other : room->members)
			send(*other, left);
	}

	/* Both refusal paths (message rate, chat rate) feed the flooding rule. */
	void refuse_for_rate(Connection &conn, std::optional<ClientType> ref, std::int64_t now)
	{
		const RateLimits &rate = config.rate;
		if (conn.refusals.record(now, rate.flood_refusals, rate.flood_window_us)) {
			MESHCALL_MESSAGE_ABOUT(describe(conn),
					       "closed for flooding (%d refusals in %.0f s)",
					       rate.flood_refusals, rate.flood_window_us / 1e6);
			metrics.closes_flooding++;
			close(conn, protocol::close_code::kPolicyViolation, "flooding");
			return;
		}
		send_error(conn, ErrorCode::RateLimited, "too many messages; slow down", ref);
	}

	Connection *admit(ConnectionId id, std::size_t size);
	void handle(Connection &conn, protocol::ClientMessage &msg);
	void handle_join(Connection &conn, protocol::Join &join);
	std::optional<std::string> resumed_id(const protocol::Join &join,
					      const std::string &room_name) const;
	void take_over(Connection &old, Connection &conn);
	void send_welcome(Connection &conn);
	template <typename Relayed>
	void relay(Connection &conn, ClientType type, const std::string &to, Relayed &&encode);
	void handle_chat(Connection &conn, const protocol::Chat &chat);
	void handle_media(Connection &conn, const protocol::Media &media);

	std::vector<protocol::IceServer> ice_servers_for(const std::string &peer_id) const;
	std::string new_peer_id();
};

std::string RoomRegistry::Impl::new_peer_id()
{
	for (;;) {
		std::string id = format_id(ids());
		if (!peers.contains(id))
			return id;
	}
}

std::vector<protocol::IceServer>
RoomRegistry::Impl::ice_servers_for(const std::string &peer_id) const
{
	std::vector<protocol::IceServer> servers;
	for (const std::string &url : config.stun_urls)
		servers.push_back({{url}, std::nullopt, std::nullopt});
	if (config.turn) {
		TurnCredentials creds = turn_credentials(
		    config.turn->secret, peer_id, clock.wall_ms() / 1000, config.turn->ttl_seconds);
		servers.push_back({{config.turn->url}, creds.username, creds.credential});
	}
	return servers;
}

void RoomRegistry::Impl::handle_join(Connection &conn, protocol::Join &join)
{
	if (conn.room) {
		send_error(conn, ErrorCode::AlreadyJoined, "already in a room", ClientType::Join);
		return;
	}
	if (!join.room.is_string() || !protocol::is_valid_room(*join.room.value)) {
		send_error(conn, ErrorCode::InvalidRoom,
			   "room must be 1-64 characters of A-Z a-z 0-9 _ -", ClientType::Join);
		return;
	}
	const std::string &room_name = *join.room.value;

	/* The token is checked first but reported after the name: a valid token's
	 * name claim may stand in for a missing name. */
	std::optional<TokenClaims> claims;
	bool tokens_on = !config.token_secret.empty();
	if (tokens_on && join.token.is_string())
		claims = verify_token(config.token_secret, *join.token.value, room_name,
				      clock.wall_ms() / 1000);

	std::optional<std::string> name;
	if (join.name.present) {
		if (join.name.is_string())
			name = protocol::normalise_name(*join.name.value);
	} else if (claims && claims->name) {
		name = protocol::normalise_name(*claims->name);
	}
	if (!name) {
		send_error(conn, ErrorCode::InvalidName,
			   "name must be 1-64 characters without control characters",
			   ClientType::Join);
		return;
	}
	if (tokens_on && !claims) {
		send_error(conn, ErrorCode::Unauthorized,
			   "room " + room_name + " needs a valid token for it", ClientType::Join);
		return;
	}
	if (claims && claims->name) {
		if (auto claimed = protocol::normalise_name(*claims->name))
			name = std::move(claimed);
	}

	/* (1.1) A genuine resume brings the id back; a connection that still
	 * holds it (a dead link not noticed yet) is replaced, so a takeover
	 * needs no free place. */
	std::optional<std::string> id = resumed_id(join, room_name);
	auto held = id ? peers.find(*id) : peers.end();
	Connection *holder = held == peers.end() ? nullptr : held->second;

	auto existing = rooms.find(room_name);
	std::size_t present = existing == rooms.end() ? 0 : existing->second.members.size();
	if (!holder && static_cast<int>(present) >= config.capacity) {
		send_error(conn, ErrorCode::RoomFull,
			   "room " + room_name + " is full (capacity " +
			       std::to_string(config.capacity) + ")",
			   ClientType::Join);
		return;
	}
	metrics.joins_total++;
	if (id)
		metrics.resumes_total++;
	else if (join.resume.present)
		metrics.resumes_refused_total++;

	if (holder) {
		conn.name = std::move(*name); /* for the log line only: see take_over */
		take_over(*holder, conn);
		return;
	}
	if (existing == rooms.end()) {
		existing = rooms.try_emplace(room_name).first;
		existing->second.name = room_name;
		metrics.rooms++;
	}
	Room &room = existing->second;

	conn.peer_id = id ? std::move(*id) : new_peer_id();
	conn.name = std::move(*name);
	conn.audio = conn.video = true;

	SharedText joined =
	    share(protocol::peer_joined_json({conn.peer_id, conn.name, conn.audio, conn.video}));
	for (Connection *other : room.members)
		send(*other, joined);

	room.members.push_back(&conn);
	conn.room = &room;
	peers.emplace(conn.peer_id, &conn);
	metrics.peers++;
	MESHCALL_MESSAGE_ABOUT(describe(conn), "joined as %s%s (%zu of %d)",
			       log_text(conn.name).c_str(), id ? ", resumed" : "",
			       room.members.size(), config.capacity);
	send_welcome(conn);
}

/* The id `join.resume` names, when it is genuine, current and for this room
 * and the id is not held in another room (ids are unique server-wide; a
 * random id of another room could only match by a 2^-64 chance). Anything
 * else is a fresh join, never an error (docs/protocol.md, "Resume"). The
 * token itself is never logged: it is a bearer secret. */
std::optional<std::string> RoomRegistry::Impl::resumed_id(const protocol::Join &join,
							  const std::string &room_name) const
{
	if (!join.resume.is_string())
		return std::nullopt;
	std::optional<std::string> id = verify_resume_token(
	    config.resume_secret, *join.resume.value, room_name, clock.wall_ms());
	if (!id)
		return std::nullopt;
	auto held = peers.find(*id);
	if (held != peers.end() && held->second->room->name != room_name)
		return std::nullopt;
	return id;
}

/* `conn` takes `old`'s id and place in the room. The others were never told
 * the id left, so they are told nothing now: the new connection keeps the
 * name and media state they know, and `old` goes without a peer-left. */
void RoomRegistry::Impl::take_over(Connection &old, Connection &conn)
{
	Room &room = *old.room;
	MESHCALL_MESSAGE_ABOUT(describe(old),
			       "taken over by conn %" G_GUINT64_FORMAT " (resumed as %s)",
			       static_cast<guint64>(conn.id), log_text(conn.name).c_str());
	conn.peer_id = old.peer_id;
	conn.name = old.name;
	conn.audio = old.audio;
	conn.video = old.video;
	std::replace(room.members.begin(), room.members.end(), &old, &conn);
	peers[conn.peer_id] = &conn;
	conn.room = &room;
	metrics.resume_takeovers_total++;

	ConnectionId old_id = old.id;
	old.room = nullptr; /* leaves no peer-left behind */
	connections.erase(old_id);
	metrics.connections--;
	outbox.close(old_id, protocol::close_code::kGoingAway, "taken over by a resume");
	send_welcome(conn);
}

/* The welcome of a connection just placed in its room: the others, the
 * history that fits, ICE servers and a fresh resume. */
void RoomRegistry::Impl::send_welcome(Connection &conn)
{
	const Room &room = *conn.room;
	protocol::Welcome welcome;
	welcome.id = conn.peer_id;
	welcome.name = conn.name;
	welcome.room = room.name;
	welcome.capacity = config.capacity;
	welcome.peers.reserve(room.members.size());
	for (const Connection *other : room.members) {
		if (other != &conn)
			welcome.peers.push_back(
			    {other->peer_id, other->name, other->audio, other->video});
	}
	welcome.ice_servers = ice_servers_for(conn.peer_id);
	welcome.resume =
	    create_resume_token(config.resume_secret, {room.name, conn.peer_id, clock.wall_ms()});
	welcome.history =
	    newest_lines_that_fit(room.history, protocol::welcome_json(welcome).size());
	send(conn, share(protocol::welcome_json(welcome)));
}

template <typename Encode>
void RoomRegistry::Impl::relay(Connection &conn, ClientType type, const std::string &to,
			       Encode &&encode)
{
	auto it = peers.find(to);
	if (it == peers.end() || it->second->room != conn.room || it->second == &conn) {
		send_error(conn, ErrorCode::UnknownPeer, "no such peer in your room", type);
		return;
	}
	send(*it->second, share(encode(conn.peer_id)));
	metrics.relayed[static_cast<std::size_t>(type)]++;
}

void RoomRegistry::Impl::handle_chat(Connection &conn, const protocol::Chat &chat)
{
	Room &room = *conn.room;
	protocol::ChatLine line{room.next_seq++, conn.peer_id, conn.name, chat.text,
				clock.wall_ms()};
	SharedText text = share(protocol::chat_line_json(line));
	room.history.push_back({std::move(line), text->size()});
	if (room.history.size() > protocol::kHistoryLines)
		room.history.pop_front();
	for (Connection *member : room.members)
		send(*member, text);
	metrics.relayed[static_cast<std::size_t>(ClientType::Chat)] += room.members.size() - 1;
}

void RoomRegistry::Impl::handle_media(Connection &conn, const protocol::Media &media)
{
	conn.audio = media.audio;
	conn.video = media.video;
	SharedText text = share(protocol::peer_media_json(conn.peer_id, media.audio, media.video));
	for (Connection *member : conn.room->members) {
		if (member != &conn) {
			send(*member, text);
			metrics.relayed[static_cast<std::size_t>(ClientType::Media)]++;
		}
	}
}

void RoomRegistry::Impl::handle(Connection &conn, protocol::ClientMessage &msg)
{
	ClientType type = protocol::type_of(msg);
	if (type == ClientType::Chat) {
		std::int64_t now = clock.monotonic_us();
		if (!conn.chat.take(now)) {
			refuse_for_rate(conn, type, now);
			return;
		}
	}
	metrics.received[static_cast<std::size_t>(type)]++;

	std::visit(
	    [&](auto &m) {
		    using T = std::decay_t<decltype(m)>;
		    if constexpr (std::is_same_v<T, protocol::Join>) {
			    handle_join(conn, m);
		    } else if constexpr (std::is_same_v<T, protocol::Offer>) {
			    relay(conn, type, m.to, [&](const std::string &from) {
				    return protocol::relayed_offer_json(from, m.sdp);
			    });
		    } else if constexpr (std::is_same_v<T, protocol::Answer>) {
			    relay(conn, type, m.to, [&](const std::string &from) {
				    return protocol::relayed_answer_json(from, m.sdp);
			    });
		    } else if constexpr (std::is_same_v<T, protocol::Candidate>) {
			    relay(conn, type, m.to, [&](const std::string &from) {
				    return protocol::relayed_candidate_json(from, m);
			    });
		    } else if constexpr (std::is_same_v<T, protocol::Reconnect>) {
			    relay(conn, type, m.to, [](const std::string &from) {
				    return protocol::relayed_reconnect_json(from);
			    });
		    } else if constexpr (std::is_same_v<T, protocol::Chat>) {
			    handle_chat(conn, m);
		    } else if constexpr (std::is_same_v<T, protocol::Media>) {
			    handle_media(conn, m);
		    } else if constexpr (std::is_same_v<T, protocol::Ping>) {
			    static const SharedText pong = share(protocol::pong_json());
			    send(conn, pong);
		    } else if constexpr (std::is_same_v<T, protocol::Leave>) {
			    close(conn, protocol::close_code::kNormal, "left");
		    }
	    },
	    msg);
}

RoomRegistry::RoomRegistry(RegistryConfig config, Outbox &outbox, const Clock &clock,
			   IdGenerator ids)
    : impl_(std::make_unique<Impl>(std::move(config), outbox, clock, std::move(ids)))
{
}

RoomRegistry::~RoomRegistry() = default;

void RoomRegistry::connected(ConnectionId id, std::string_view client_address)
{
	auto [it, inserted] = impl_->connections.try_emplace(id);
	if (!inserted)
		return;
	Connection &conn = it->second;
	conn.id = id;
	conn.client = client_address;
	std::int64_t now = impl_->clock.monotonic_us();
	const RateLimits &rate = impl_->config.rate;
	conn.messages.configure(rate.messages_per_second, rate.message_burst, now);
	conn.chat.configure(rate.chat_per_second, rate.chat_burst, now);
	impl_->metrics.connections++;
	impl_->metrics.connections_total++;
}

/* The checks every frame passes first: size, then the message rate. Returns
 * the connection when the frame may be looked at. */
Connection *RoomRegistry::Impl::admit(ConnectionId id, std::size_t size)
{
	auto it = connections.find(id);
	if (it == connections.end())
		return nullptr; /* closing: nothing more is read from it */
	Connection &conn = it->second;
	if (size > protocol::kMaxMessageBytes) {
		send_error(conn, ErrorCode::TooLarge, "messages are limited to 65536 bytes");
		metrics.closes_too_large++;
		close(conn, protocol::close_code::kTooBig, "message too large");
		return nullptr;
	}
	std::int64_t now = clock.monotonic_us();
	if (!conn.messages.take(now)) {
		refuse_for_rate(conn, std::nullopt, now);
		return nullptr;
	}
	return &conn;
}

void RoomRegistry::received_text(ConnectionId id, std::string_view frame)
{
	Connection *conn = impl_->admit(id, frame.size());
	if (!conn)
		return;
	protocol::ClientParse parsed = protocol::parse_client_message(frame);
	/* A known type that may not be sent yet is not-joined, even when its
	 * fields are wrong too; only an unknown type is bad-message first. */
	std::optional<ClientType> type =
	    parsed.ok() ? protocol::type_of(*parsed.message) : parsed.error.ref;
	if (!conn->room && type && *type != ClientType::Join && *type != ClientType::Ping) {
		impl_->send_error(*conn, ErrorCode::NotJoined, "join a room first", type);
		return;
	}
	if (!parsed.ok()) {
		impl_->send_error(*conn, parsed.error.code, parsed.error.message, parsed.error.ref);
		return;
	}
	impl_->handle(*conn, *parsed.message);
}

void RoomRegistry::received_binary(ConnectionId id, std::size_t size)
{
	if (Connection *conn = impl_->admit(id, size))
		impl_->send_error(*conn, ErrorCode::BadMessage,
				  "binary frames are not part of the protocol");
}

void RoomRegistry::shutting_down()
{
	impl_->shutting_down = true;
}

void RoomRegistry::disconnected(ConnectionId id)
{
	impl_->forget(id);
}

void RoomRegistry::timed_out(ConnectionId id)
{
	auto it = impl_->connections.find(id);
	if (it == impl_->connections.end())
		return;
	MESHCALL_MESSAGE_ABOUT(describe(it->second), "silent for too long, dropped");
	impl_->metrics.closes_timeout++;
	impl_->forget(id);
}

RoomSnapshot RoomRegistry::snapshot(std::string_view room) const
{
	RoomSnapshot snap;
	snap.room = room;
	snap.capacity = impl_->config.capacity;
	auto it = impl_->rooms.find(std::string(room));
	if (it != impl_->rooms.end()) {
		for (const Connection *c : it->second.members)
			snap.peers.push_back({c->peer_id, c->name, c->audio, c->video});
	}
	return snap;
}

bool RoomRegistry::tokens_required() const
{
	return !impl_->config.token_secret.empty();
}

bool RoomRegistry::token_allows(std::string_view token, std::string_view room) const
{
	if (!tokens_required())
		return true;
	return verify_token(impl_->config.token_secret, token, room, impl_->clock.wall_ms() / 1000)
	    .has_value();
}

const RegistryConfig &RoomRegistry::config() const
{
	return impl_->config;
}

const Metrics &RoomRegistry::metrics() const
{
	return impl_->metrics;
}

std::optional<std::string> RoomRegistry::peer_id(ConnectionId id) const
{
	auto it = impl_->connections.find(id);
	if (it == impl_->connections.end() || !it->second.room)
		return std::nullopt;
	return it->second.peer_id;
}

} // namespace meshcall::server
