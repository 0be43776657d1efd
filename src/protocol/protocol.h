// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall signaling protocol, version 1: message types, JSON (de)serialisation
 * and validation. No I/O lives here; see docs/protocol.md for the contract.
 *
 * Parsing uses json-glib; serialising writes JSON directly so a message that
 * fans out to a room is encoded once. */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace meshcall::protocol
{

inline constexpr std::size_t kMaxMessageBytes = 65536;
inline constexpr std::size_t kMaxServerMessageBytes = 1024 * 1024;
inline constexpr std::size_t kMaxSdpBytes = 60000;
inline constexpr std::size_t kMaxTextChars = 2000;
/* (1.1) Text as sent, white space included: 50 lines of padding made a
 * welcome of megabytes. */
inline constexpr std::size_t kMaxSentTextChars = 4000;
inline constexpr std::size_t kMaxNameChars = 64;
inline constexpr std::size_t kMaxRoomChars = 64;
inline constexpr std::size_t kHistoryLines = 50;
/* (1.1) The whole welcome as the server writes it: history lines are left
 * out, oldest first, until it fits, so it stays under a client's 1 MiB. */
inline constexpr std::size_t kMaxWelcomeBytes = 768 * 1024;
inline constexpr std::size_t kIdHexDigits = 16;
/* (1.1) welcome.resume as the server writes it. The server ignores a longer
 * join.resume (it cannot be one of its own). */
inline constexpr std::size_t kMaxResumeBytes = 512;

enum class ErrorCode {
	BadMessage,
	NotJoined,
	AlreadyJoined,
	InvalidRoom,
	InvalidName,
	RoomFull,
	Unauthorized,
	UnknownPeer,
	RateLimited,
	TooLarge, /* last: metrics.h sizes its counters by it */
};
/* The wire spelling, e.g. "bad-message". */
std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view s);

/* WebSocket close codes used by the protocol. */
namespace close_code
{
inline constexpr int kNormal = 1000;
inline constexpr int kGoingAway = 1001;
inline constexpr int kBadData = 1007;
inline constexpr int kPolicyViolation = 1008;
inline constexpr int kTooBig = 1009;
inline constexpr int kInternalError = 1011;
} // namespace close_code

/* ---- validation (shared by every side) ---- */

/* 1–64 characters of [A-Za-z0-9_-]. */
bool is_valid_room(std::string_view room);
/* Trims Unicode White_Space at both ends; returns the trimmed name when it is
 * valid UTF-8 of 1–64 code points with no Cc character, else nullopt. */
std::optional<std::string> normalise_name(std::string_view name);
/* Chat text: valid UTF-8, 1–2000 code points after trimming and at most 4000
 * as sent, no Cc other than '\n' and '\t' anywhere. The text itself is
 * relayed untrimmed. */
bool is_valid_chat_text(std::string_view text);
/* Exactly 16 lowercase hex digits. */
bool is_valid_peer_id(std::string_view id);

/* ---- client → server ---- */

/* Reconnect stays last: metrics.h sizes its counters by it. New types go at
 * the end, so the metrics of older types keep their index. */
enum class ClientType { Join, Offer, Answer, Candidate, Chat, Media, Ping, Leave, Reconnect };
std::string_view to_string(ClientType type);
std::optional<ClientType> client_type_from_string(std::string_view s);

/* A string field that may be absent (or null), a string, or something else. */
struct StringField {
	std::optional<std::string> value; /* set only when the field is a string */
	bool present = false;		  /* present and not null */
	bool is_string() const { return value.has_value(); }
};

struct Join {
	StringField room; /* validation (and its error order) is the server's job */
	StringField name;
	StringField token;
	/* (1.1) Never refused, whatever it holds: docs/protocol.md, "Resume",
	 * says a resume never causes an error, so the server reads anything
	 * but a genuine string of its own as "no resume" and joins fresh. */
	StringField resume;
};
struct Offer {
	std::string to;
	std::string sdp;
};
struct Answer {
	std::string to;
	std::string sdp;
};
struct Candidate {
	std::string to;
	std::string candidate; /* "" means end of candidates */
	std::int64_t sdp_mline_index = 0;
	std::optional<std::string> sdp_mid;
};
struct Chat {
	std::string text; /* exactly as sent */
};
struct Media {
	bool audio = true;
	bool video = true;
};
struct Ping {
};
struct Leave {
};
/* (1.1) Asks the peer that offered our connection to offer a new one. */
struct Reconnect {
	std::string to;
};

using ClientMessage =
    std::variant<Join, Offer, Answer, Candidate, Chat, Media, Ping, Leave, Reconnect>;
ClientType type_of(const ClientMessage &msg);

struct ParseError {
	ErrorCode code = ErrorCode::BadMessage;
	std::string message;	       /* human readable, for the error's "message" */
	std::optional<ClientType> ref; /* the offending message's type when known */
};

/* The outcome of parsing one client frame. */
struct ClientParse {
	std::optional<ClientMessage> message; /* set on success */
	ParseError error;		      /* meaningful only when !message */
	bool ok() const { return message.has_value(); }
};

/* Parses and validates one text frame from a client: JSON object, known
 * "type", required fields present and well typed, sdp size, chat text rules,
 * sdpMLineIndex an integer >= 0. Join fields are only type-checked (see Join).
 * Unknown extra fields are ignored. Does not check the 64 KiB limit (the
 * caller sees the frame size first). */
ClientParse parse_client_message(std::string_view text);

/* Serialise client messages (used by clients, tests and the load tool). */
std::string join_json(std::string_view room, std::string_view name,
		      std::optional<std::string_view> token = std::nullopt,
		      std::optional<std::string_view> resume = std::nullopt);
std::string offer_json(std::string_view to, std::string_view sdp);
std::string answer_json(std::string_view to, std::string_view sdp);
std::string candidate_json(const Candidate &c); /* c.to is the addressee */
std::string chat_json(std::string_view text);
std::string media_json(bool audio, bool video);
std::string ping_json();
std::string leave_json();
std::string reconnect_json(std::string_view to);

/* ---- server → client ---- */

struct Peer {
	std::string id;
	std::string name;
	bool audio = true;
	bool video = true;
};
struct ChatLine {
	std::int64_t seq = 0;
	std::string from;
	std::string name;
	std::string text;
	std::int64_t ts = 0; /* ms since the Unix epoch */
};
struct IceServer {
	std::vector<std::string> urls;
	std::optional<std::string> username;
	std::optional<std::string> credential;
};
struct Welcome {
	std::string id;
	std::string name;
	std::string room;
	int capacity = 3;
	std::vector<Peer> peers;
	std::vector<ChatLine> history;
	std::vector<IceServer> ice_servers;
	/* (1.1) Written when set. A 1.0 server sends none; a client then has
	 * nothing to resume with and joins fresh. Read leniently: a resume
	 * that is not a string is taken as absent, not as a broken welcome. */
	std::optional<std::string> resume;
};

std::string welcome_json(const Welcome &w);
std::string peer_joined_json(const Peer &p);
std::string peer_left_json(std::string_view id);
std::string peer_media_json(std::string_view id, bool audio, bool video);
/* Relayed signaling: only the protocol fields, with "from" stamped. */
std::string relayed_offer_json(std::string_view from, std::string_view sdp);
std::string relayed_answer_json(std::string_view from, std::string_view sdp);
std::string relayed_candidate_json(std::string_view from, const Candidate &c);
std::string relayed_reconnect_json(std::string_view from);
std::string chat_line_json(const ChatLine &line);
std::string pong_json();
std::string error_json(ErrorCode code, std::string_view message,
		       std::optional<ClientType> ref = std::nullopt);

/* Bodies of the HTTP endpoints: GET /api/rooms/{room} and POST /api/rooms. */
std::string room_info_json(std::string_view room, int capacity, const std::vector<Peer> &peers);
std::string room_created_json(std::string_view room); /* url is "/r/<room>" */

/* Server messages as a client sees them. */
struct PeerJoined {
	Peer peer;
};
struct PeerLeft {
	std::string id;
};
struct PeerMedia {
	std::string id;
	bool audio = true;
	bool video = true;
};
struct RelayedOffer {
	std::string from;
	std::string sdp;
};
struct RelayedAnswer {
	std::string from;
	std::string sdp;
};
struct RelayedCandidate {
	std::string from;
	std::string candidate;
	std::int64_t sdp_mline_index = 0;
	std::optional<std::string> sdp_mid;
};
struct RelayedReconnect {
	std::string from;
};
struct Pong {
};
struct Error {
	std::string code; /* kept as text: a newer server may send codes we do not know */
	std::string message;
	std::optional<std::string> ref;
};
using ServerMessage =
    std::variant<Welcome, PeerJoined, PeerLeft, PeerMedia, RelayedOffer, RelayedAnswer,
		 RelayedCandidate, ChatLine, Pong, Error, RelayedReconnect>;

/* Parses one server frame; nullopt (with *error set when given) when it is not a
 * well-formed message of this protocol. Unknown extra fields are ignored. */
std::optional<ServerMessage> parse_server_message(std::string_view text,
						  std::string *error = nullptr);

/* ---- JSON text helpers ---- */

/* Appends `s` as a JSON string literal (with quotes) to `out`. `s` must be
 * valid UTF-8; control characters are escaped as \uXXXX or their short forms. */
void append_json_string(std::string &out, std::string_view s);

} // namespace meshcall::protocol
