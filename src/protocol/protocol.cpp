// SPDX-License-Identifier: LGPL-2.1-or-later
/* Parsing of client and server frames, and the protocol's enumerations. */
#include "protocol.h"

#include <array>
#include <climits>
#include <type_traits>
#include <utility>

#include "json_document.h"

namespace meshcall::protocol
{

using detail::JsonDocument;

namespace
{

constexpr std::array<std::string_view, 10> kErrorCodes = {
    "bad-message", "not-joined",   "already-joined", "invalid-room", "invalid-name",
    "room-full",   "unauthorized", "unknown-peer",   "rate-limited", "too-large",
};

constexpr std::array<std::string_view, 9> kClientTypes = {
    "join", "offer", "answer", "candidate", "chat", "media", "ping", "leave", "reconnect",
};

/* The tables and ClientMessage are indexed by the enums' values. */
static_assert(kErrorCodes.size() == static_cast<std::size_t>(ErrorCode::TooLarge) + 1);
static_assert(kClientTypes.size() == static_cast<std::size_t>(ClientType::Reconnect) + 1);
static_assert(std::variant_size_v<ClientMessage> == kClientTypes.size());
static_assert(
    std::is_same_v<
	std::variant_alternative_t<static_cast<std::size_t>(ClientType::Candidate), ClientMessage>,
	Candidate>);
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(ClientType::Leave),
							ClientMessage>,
			     Leave>);
static_assert(
    std::is_same_v<
	std::variant_alternative_t<static_cast<std::size_t>(ClientType::Reconnect), ClientMessage>,
	Reconnect>);

} // namespace

std::string_view to_string(ErrorCode code)
{
	return kErrorCodes[static_cast<std::size_t>(code)];
}

std::optional<ErrorCode> error_code_from_string(std::string_view s)
{
	for (std::size_t i = 0; i < kErrorCodes.size(); i++) {
		if (kErrorCodes[i] == s)
			return static_cast<ErrorCode>(i);
	}
	return std::nullopt;
}

std::string_view to_string(ClientType type)
{
	return kClientTypes[static_cast<std::size_t>(type)];
}

std::optional<ClientType> client_type_from_string(std::string_view s)
{
	for (std::size_t i = 0; i < kClientTypes.size(); i++) {
		if (kClientTypes[i] == s)
			return static_cast<ClientType>(i);
	}
	return std::nullopt;
}

ClientType type_of(const ClientMessage &msg)
{
	/* The variant's alternatives are declared in ClientType order. */
	return static_cast<ClientType>(msg.index());
}

/* ---- client → server ---- */

namespace
{

/* Reads the fields of one client message type out of a frame's root object. */
class ClientReader
{
public:
	ClientReader(const JsonDocument &doc, JsonObject *object, ClientType type)
	    : doc_(doc), object_(object), type_(type)
	{
	}

	ClientParse read()
	{
		switch (type_) {
		case ClientType::Join:
			return read_join();
		case ClientType::Offer:
			return read_sdp<Offer>();
		case ClientType::Answer:
			return read_sdp<Answer>();
		case ClientType::Candidate:
			return read_candidate();
		case ClientType::Chat:
			return read_chat();
		case ClientType::Media:
			return read_media();
		case ClientType::Ping:
			return ok(Ping{});
		case ClientType::Leave:
			return ok(Leave{});
		case ClientType::Reconnect:
			return read_reconnect();
		}
		return refuse("unknown type");
	}

private:
	static ClientParse ok(ClientMessage msg) { return ClientParse{std::move(msg), {}}; }

	ClientParse refuse(std::string message) const
	{
		return ClientParse{std::nullopt,
				   ParseError{ErrorCode::BadMessage, std::move(message), type_}};
	}

	/* A required string field; refuses when it is missing, null or not a string. */
	bool required_string(const char *key, std::string &out, std::string &why) const
	{
		std::optional<std::string> value = doc_.string(detail::member(object_, key));
		if (!value) {
			why = std::string("\"") + key + "\" must be a string";
			return false;
		}
		out = std::move(*value);
		return true;
	}

	StringField string_field(const char *key) const
	{
		JsonNode *node = detail::member(object_, key);
		return StringField{doc_.string(node), node != nullptr};
	}

	ClientParse read_join() const
	{
		/* Only captured: the server validates in the protocol's error order. */
		return ok(Join{string_field("room"), string_field("name"), string_field("token"),
			       string_field("resume")});
	}

	ClientParse read_reconnect() const
	{
		Reconnect msg;
		std::string why;
		if (!required_string("to", msg.to, why))
			return refuse(why);
		return ok(std::move(msg));
	}

	template <typename T> ClientParse read_sdp() const
	{
		T msg;
		std::string why;
		if (!required_string("to", msg.to, why) || !required_string("sdp", msg.sdp, why))
			return refuse(why);
		if (msg.sdp.empty())
			return refuse("\"sdp\" is empty");
		if (msg.sdp.size() > kMaxSdpBytes)
			return refuse("\"sdp\" is over 60000 bytes");
		return ok(std::move(msg));
	}

	ClientParse read_candidate() const
	{
		Candidate msg;
		std::string why;
		if (!required_string("to", msg.to, why) ||
		    !required_string("candidate", msg.candidate, why))
			return refuse(why);

		const std::optional<std::int64_t> index =
		    detail::integer(detail::member(object_, "sdpMLineIndex"));
		if (!index || *index < 0)
			return refuse("\"sdpMLineIndex\" must be an integer >= 0");
		msg.sdp_mline_index = *index;

		if (JsonNode *mid = detail::member(object_, "sdpMid")) {
			msg.sdp_mid = doc_.string(mid);
			if (!msg.sdp_mid)
				return refuse("\"sdpMid\" must be a string");
		}
		return ok(std::move(msg));
	}

	ClientParse read_chat() const
	{
		Chat msg;
		std::string why;
		if (!required_string("text", msg.text, why))
			return refuse(why);
		if (!is_valid_chat_text(msg.text))
			return refuse("\"text\" must be 1-2000 characters (4000 with white space) "
				      "without control characters");
		return ok(std::move(msg));
	}

	ClientParse read_media() const
	{
		const std::optional<bool> audio = detail::boolean(detail::member(object_, "audio"));
		const std::optional<bool> video = detail::boolean(detail::member(object_, "video"));
		if (!audio || !video)
			return refuse("\"audio\" and \"video\" must be booleans");
		return ok(Media{*audio, *video});
	}

	const JsonDocument &doc_;
	JsonObject *object_;
	ClientType type_;
};

ClientParse bad_message(std::string message)
{
	return ClientParse{std::nullopt, ParseError{ErrorCode::BadMessage, std::move(message), {}}};
}

} // namespace

ClientParse parse_client_message(std::string_view text)
{
	JsonDocument doc;
	std::string why;
	if (!doc.load(text, why))
		return bad_message("not JSON: " + why);

	JsonObject *root = doc.root_object();
	if (!root)
		return bad_message("not a JSON object");

	JsonNode *type_node = detail::member(root, "type");
	if (!type_node)
		return bad_message("missing \"type\"");
	const std::optional<std::string> type_name = doc.string(type_node);
	if (!type_name)
		return bad_message("\"type\" must be a string");
	/* The type is not echoed back: it is attacker-chosen text of any size. */
	const std::optional<ClientType> type = client_type_from_string(*type_name);
	if (!type)
		return bad_message("unknown type");

	return ClientReader(doc, root, *type).read();
}

/* ---- server → client ---- */

namespace
{

/*
 * Reads server messages. Required fields must be present with the right JSON
 * type; nothing else is checked (ids are not matched against their format),
 * since a client should follow what a newer server sends wherever it can.
 * Methods return false with why_ set.
 */
class ServerReader
{
public:
	explicit ServerReader(const JsonDocument &doc) : doc_(doc) {}

	std::optional<ServerMessage> read(JsonObject *root)
	{
		std::optional<std::string> type = doc_.string(detail::member(root, "type"));
		if (!type)
			return fail("missing or non-string \"type\"");

		if (*type == "welcome")
			return read_welcome(root);
		if (*type == "peer-joined") {
			PeerJoined msg;
			if (!peer(detail::member(root, "peer"), msg.peer))
				return std::nullopt;
			return msg;
		}
		if (*type == "peer-left") {
			PeerLeft msg;
			if (!string(root, "id", msg.id))
				return std::nullopt;
			return msg;
		}
		if (*type == "peer-media") {
			PeerMedia msg;
			if (!string(root, "id", msg.id) || !boolean(root, "audio", msg.audio) ||
			    !boolean(root, "video", msg.video))
				return std::nullopt;
			return msg;
		}
		if (*type == "offer")
			return read_sdp<RelayedOffer>(root);
		if (*type == "answer")
			return read_sdp<RelayedAnswer>(root);
		if (*type == "candidate")
			return read_candidate(root);
		if (*type == "chat") {
			ChatLine line;
			if (!chat_line(root, line))
				return std::nullopt;
			return line;
		}
		if (*type == "reconnect") {
			RelayedReconnect msg;
			if (!string(root, "from", msg.from))
				return std::nullopt;
			return msg;
		}
		if (*type == "pong")
			return Pong{};
		if (*type == "error")
			return read_error(root);
		return fail("unknown type");
	}

	std::string &why() { return why_; }

private:
	std::nullopt_t fail(std::string why)
	{
		why_ = std::move(why);
		return std::nullopt;
	}

	bool string(JsonObject *object, const char *key, std::string &out)
	{
		std::optional<std::string> value = doc_.string(detail::member(object, key));
		if (!value) {
			fail(std::string("\"") + key + "\" must be a string");
			return false;
		}
		out = std::move(*value);
		return true;
	}

	/* Absent and null leave `out` unset; anything but a string fails. */
	bool optional_string(JsonObject *object, const char *key, std::optional<std::string> &out)
	{
		JsonNode *node = detail::member(object, key);
		if (!node)
			return true;
		out = doc_.string(node);
		if (!out) {
			fail(std::string("\"") + key + "\" must be a string");
			return false;
		}
		return true;
	}

	bool integer(JsonObject *object, const char *key, std::int64_t &out)
	{
		const std::optional<std::int64_t> value =
		    detail::integer(detail::member(object, key));
		if (!value) {
			fail(std::string("\"") + key + "\" must be an integer");
			return false;
		}
		out = *value;
		return true;
	}

	bool boolean(JsonObject *object, const char *key, bool &out)
	{
		const std::optional<bool> value = detail::boolean(detail::member(object, key));
		if (!value) {
			fail(std::string("\"") + key + "\" must be a boolean");
			return false;
		}
		out = *value;
		return true;
	}

	/* docs/protocol.md ("Server to client messages") gives audio and video a
	 * default of true; a present value must still be a boolean. */
	bool peer(JsonNode *node, Peer &out)
	{
		JsonObject *object = detail::object(node);
		if (!object) {
			fail("a peer must be an object");
			return false;
		}
		if (!string(object, "id", out.id) || !string(object, "name", out.name))
			return false;
		if (detail::member(object, "audio") && !boolean(object, "audio", out.audio))
			return false;
		if (detail::member(object, "video") && !boolean(object, "video", out.video))
			return false;
		return true;
	}

	bool chat_line(JsonObject *object, ChatLine &out)
	{
		return integer(object, "seq", out.seq) && string(object, "from", out.from) &&
		       string(object, "name", out.name) && string(object, "text", out.text) &&
		       integer(object, "ts", out.ts);
	}

	/* "urls" may also be a single string, as the W3C RTCIceServer allows. */
	bool ice_server(JsonNode *node, IceServer &out)
	{
		JsonObject *object = detail::object(node);
		if (!object) {
			fail("an ICE server must be an object");
			return false;
		}

		JsonNode *urls = detail::member(object, "urls");
		if (std::optional<std::string> url = doc_.string(urls)) {
			out.urls.push_back(std::move(*url));
		} else if (JsonArray *list = detail::array(urls)) {
			const guint n = json_array_get_length(list);
			out.urls.reserve(n);
			for (guint i = 0; i < n; i++) {
				std::optional<std::string> item =
				    doc_.string(json_array_get_element(list, i));
				if (!item) {
					fail("\"urls\" must hold strings");
					return false;
				}
				out.urls.push_back(std::move(*item));
			}
		} else {
			fail("\"urls\" must be an array of strings");
			return false;
		}

		return optional_string(object, "username", out.username) &&
		       optional_string(object, "credential", out.credential);
	}

	template <typename T, typename F>
	bool list(JsonObject *object, const char *key, std::vector<T> &out, F read_item)
	{
		JsonArray *items = detail::array(detail::member(object, key));
		if (!items) {
			fail(std::string("\"") + key + "\" must be an array");
			return false;
		}
		const guint n = json_array_get_length(items);
		out.resize(n);
		for (guint i = 0; i < n; i++) {
			if (!(this->*read_item)(json_array_get_element(items, i), out[i]))
				return false;
		}
		return true;
	}

	bool history_line(JsonNode *node, ChatLine &out)
	{
		JsonObject *object = detail::object(node);
		if (!object) {
			fail("a history line must be an object");
			return false;
		}
		return chat_line(object, out);
	}

	std::optional<ServerMessage> read_welcome(JsonObject *root)
	{
		Welcome msg;
		std::int64_t capacity;
		if (!string(root, "id", msg.id) || !string(root, "name", msg.name) ||
		    !string(root, "room", msg.room) || !integer(root, "capacity", capacity))
			return std::nullopt;
		if (capacity < INT_MIN || capacity > INT_MAX)
			return fail("\"capacity\" is out of range");
		msg.capacity = static_cast<int>(capacity);

		if (!list(root, "peers", msg.peers, &ServerReader::peer) ||
		    !list(root, "history", msg.history, &ServerReader::history_line) ||
		    !list(root, "iceServers", msg.ice_servers, &ServerReader::ice_server))
			return std::nullopt;
		/* See Welcome::resume: not a string is no resume. */
		msg.resume = doc_.string(detail::member(root, "resume"));
		return msg;
	}

	template <typename T> std::optional<ServerMessage> read_sdp(JsonObject *root)
	{
		T msg;
		if (!string(root, "from", msg.from) || !string(root, "sdp", msg.sdp))
			return std::nullopt;
		return msg;
	}

	std::optional<ServerMessage> read_candidate(JsonObject *root)
	{
		RelayedCandidate msg;
		if (!string(root, "from", msg.from) || !string(root, "candidate", msg.candidate) ||
		    !integer(root, "sdpMLineIndex", msg.sdp_mline_index) ||
		    !optional_string(root, "sdpMid", msg.sdp_mid))
			return std::nullopt;
		if (msg.sdp_mline_index < 0)
			return fail("\"sdpMLineIndex\" must be >= 0");
		return msg;
	}

	std::optional<ServerMessage> read_error(JsonObject *root)
	{
		Error msg;
		if (!string(root, "code", msg.code) || !string(root, "message", msg.message) ||
		    !optional_string(root, "ref", msg.ref))
			return std::nullopt;
		return msg;
	}

	const JsonDocument &doc_;
	std::string why_;
};

} // namespace

std::optional<ServerMessage> parse_server_message(std::string_view text, std::string *error)
{
	JsonDocument doc;
	std::string why;
	std::optional<ServerMessage> msg;

	if (!doc.load(text, why)) {
		why = "not JSON: " + why;
	} else if (JsonObject *root = doc.root_object()) {
		ServerReader reader(doc);
		msg = reader.read(root);
		why = std::move(reader.why());
	} else {
		why = "not a JSON object";
	}

	if (!msg && error)
		*error = std::move(why);
	return msg;
}

} // namespace meshcall::protocol
