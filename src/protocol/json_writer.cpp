// SPDX-License-Identifier: LGPL-2.1-or-later
/* Serialisation of every protocol message. The JSON text is written by hand,
 * not through json-glib: the server encodes each relayed message once and
 * fans it out, thousands of times a second, and building a JsonNode tree for
 * that would cost more than the relay itself. */
#include <charconv>

#include "protocol.h"
#include "unicode.h"

namespace meshcall::protocol
{

namespace
{

/*
 * Appends one JSON object field by field, "type" first. Keys are string
 * literals of this file and never need escaping, so they are copied as is.
 * The adders have distinct names because an overload set taking bool and
 * std::string_view would pick bool for a string literal.
 */
class ObjectWriter
{
public:
	ObjectWriter(std::string &out, std::string_view type) : out_(out)
	{
		out_ += "{\"type\":\"";
		out_ += type;
		out_ += '"';
	}

	/* For objects without a "type", nested in arrays. */
	explicit ObjectWriter(std::string &out) : out_(out), first_(true) { out_ += '{'; }

	ObjectWriter &string(std::string_view key, std::string_view value)
	{
		this->key(key);
		append_json_string(out_, value);
		return *this;
	}

	ObjectWriter &integer(std::string_view key, std::int64_t value)
	{
		this->key(key);
		char buf[24];
		const auto result = std::to_chars(buf, buf + sizeof(buf), value);
		out_.append(buf, result.ptr);
		return *this;
	}

	ObjectWriter &boolean(std::string_view key, bool value)
	{
		this->key(key);
		out_ += value ? "true" : "false";
		return *this;
	}

	/* Starts a field whose value the caller writes itself. */
	std::string &raw(std::string_view key)
	{
		this->key(key);
		return out_;
	}

	void close() { out_ += '}'; }

private:
	void key(std::string_view key)
	{
		if (!first_)
			out_ += ',';
		first_ = false;
		out_ += '"';
		out_ += key;
		out_ += "\":";
	}

	std::string &out_;
	bool first_ = false;
};

/*
 * A capacity guess for a string field: quotes plus the worst common case of
 * SDP, whose CRLF line ends (two bytes) become four. Reserving up front keeps
 * a 60 KB offer to one allocation.
 */
constexpr std::size_t escaped_size(std::string_view s)
{
	return s.size() + s.size() / 8 + 8;
}

void append_peer(std::string &out, const Peer &p)
{
	ObjectWriter(out)
	    .string("id", p.id)
	    .string("name", p.name)
	    .boolean("audio", p.audio)
	    .boolean("video", p.video)
	    .close();
}

/* History lines are the very objects the live "chat" message carries, so a
 * client handles both with one function. */
void append_chat_line(std::string &out, const ChatLine &line)
{
	ObjectWriter(out, "chat")
	    .integer("seq", line.seq)
	    .string("from", line.from)
	    .string("name", line.name)
	    .string("text", line.text)
	    .integer("ts", line.ts)
	    .close();
}

void append_ice_server(std::string &out, const IceServer &server)
{
	ObjectWriter w(out);
	std::string &urls = w.raw("urls");
	urls += '[';
	for (std::size_t i = 0; i < server.urls.size(); i++) {
		if (i)
			urls += ',';
		append_json_string(urls, server.urls[i]);
	}
	urls += ']';
	if (server.username)
		w.string("username", *server.username);
	if (server.credential)
		w.string("credential", *server.credential);
	w.close();
}

template <typename T, typename F>
void append_array(ObjectWriter &w, std::string_view key, const std::vector<T> &items, F append)
{
	std::string &out = w.raw(key);
	out += '[';
	for (std::size_t i = 0; i < items.size(); i++) {
		if (i)
			out += ',';
		append(out, items[i]);
	}
	out += ']';
}

std::string sdp_message(std::string_view type, std::string_view addr_key, std::string_view addr,
			std::string_view sdp)
{
	std::string out;
	out.reserve(32 + escaped_size(addr) + escaped_size(sdp));
	ObjectWriter(out, type).string(addr_key, addr).string("sdp", sdp).close();
	return out;
}

std::string candidate_message(std::string_view addr_key, std::string_view addr, const Candidate &c)
{
	std::string out;
	out.reserve(96 + escaped_size(addr) + escaped_size(c.candidate) +
		    (c.sdp_mid ? escaped_size(*c.sdp_mid) : 0));
	ObjectWriter w(out, "candidate");
	w.string(addr_key, addr)
	    .string("candidate", c.candidate)
	    .integer("sdpMLineIndex", c.sdp_mline_index);
	if (c.sdp_mid)
		w.string("sdpMid", *c.sdp_mid);
	w.close();
	return out;
}

const char kHexDigits[] = "0123456789abcdef";

} // namespace

void append_json_string(std::string &out, std::string_view s)
{
	out += '"';

	/* Copy runs of bytes that need no escape in one go. */
	std::size_t run = 0;
	const auto flush = [&](std::size_t upto) { out.append(s.data() + run, upto - run); };

	for (std::size_t pos = 0; pos < s.size();) {
		const unsigned char c = static_cast<unsigned char>(s[pos]);
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			pos++;
			continue;
		}

		const std::size_t start = pos;
		if (c >= 0x80) {
			const char32_t cp = unicode::decode(s, pos);
			/*
			 * U+2028/U+2029 are line terminators to pre-ES2019
			 * JavaScript, so a reader that evals or embeds the JSON
			 * in a script would break. Ill-formed input becomes
			 * U+FFFD rather than leaking invalid UTF-8 into a
			 * text frame, which would make the peer close with 1007.
			 */
			if (cp != 0x2028 && cp != 0x2029 && cp != unicode::kInvalid)
				continue;
			flush(start);
			out += cp == 0x2028 ? "\\u2028" : cp == 0x2029 ? "\\u2029" : "\\ufffd";
			run = pos;
			continue;
		}

		flush(start);
		switch (c) {
		case '"':
			out += "\\\"";
			break;
		case '\\':
			out += "\\\\";
			break;
		case '\n':
			out += "\\n";
			break;
		case '\t':
			out += "\\t";
			break;
		case '\r':
			out += "\\r";
			break;
		case '\b':
			out += "\\b";
			break;
		case '\f':
			out += "\\f";
			break;
		default: /* the rest of C0, and DEL which some terminals act on */
			out += "\\u00";
			out += kHexDigits[c >> 4];
			out += kHexDigits[c & 0xf];
			break;
		}
		pos++;
		run = pos;
	}

	flush(s.size());
	out += '"';
}

/* ---- client → server ---- */

std::string join_json(std::string_view room, std::string_view name,
		      std::optional<std::string_view> token, std::optional<std::string_view> resume)
{
	std::string out;
	out.reserve(64 + escaped_size(room) + escaped_size(name) +
		    (token ? escaped_size(*token) : 0) + (resume ? escaped_size(*resume) : 0));
	ObjectWriter w(out, "join");
	w.string("room", room).string("name", name);
	if (token)
		w.string("token", *token);
	if (resume)
		w.string("resume", *resume);
	w.close();
	return out;
}

std::string offer_json(std::string_view to, std::string_view sdp)
{
	return sdp_message("offer", "to", to, sdp);
}

std::string answer_json(std::string_view to, std::string_view sdp)
{
	return sdp_message("answer", "to", to, sdp);
}

std::string candidate_json(const Candidate &c)
{
	return candidate_message("to", c.to, c);
}

std::string chat_json(std::string_view text)
{
	std::string out;
	out.reserve(32 + escaped_size(text));
	ObjectWriter(out, "chat").string("text", text).close();
	return out;
}

std::string media_json(bool audio, bool video)
{
	std::string out;
	ObjectWriter(out, "media").boolean("audio", audio).boolean("video", video).close();
	return out;
}

std::string ping_json()
{
	return "{\"type\":\"ping\"}";
}

std::string leave_json()
{
	return "{\"type\":\"leave\"}";
}

std::string reconnect_json(std::string_view to)
{
	std::string out;
	out.reserve(40 + escaped_size(to));
	ObjectWriter(out, "reconnect").string("to", to).close();
	return out;
}

/* ---- server → client ---- */

std::string welcome_json(const Welcome &w)
{
	std::size_t size = 176 + escaped_size(w.id) + escaped_size(w.name) + escaped_size(w.room) +
			   (w.resume ? escaped_size(*w.resume) : 0);
	for (const Peer &p : w.peers)
		size += 64 + escaped_size(p.id) + escaped_size(p.name);
	for (const ChatLine &line : w.history)
		size += 96 + escaped_size(line.from) + escaped_size(line.name) +
			escaped_size(line.text);
	for (const IceServer &s : w.ice_servers) {
		size += 48;
		for (const std::string &url : s.urls)
			size += escaped_size(url);
		size += s.username ? escaped_size(*s.username) : 0;
		size += s.credential ? escaped_size(*s.credential) : 0;
	}

	std::string out;
	out.reserve(size);
	ObjectWriter writer(out, "welcome");
	writer.string("id", w.id)
	    .string("name", w.name)
	    .string("room", w.room)
	    .integer("capacity", w.capacity);
	append_array(writer, "peers", w.peers, append_peer);
	append_array(writer, "history", w.history, append_chat_line);
	append_array(writer, "iceServers", w.ice_servers, append_ice_server);
	if (w.resume)
		writer.string("resume", *w.resume);
	writer.close();
	return out;
}

std::string room_info_json(std::string_view room, int capacity, const std::vector<Peer> &peers)
{
	std::string out;
	out.reserve(48 + escaped_size(room) + peers.size() * 96);
	ObjectWriter w(out);
	w.string("room", room).integer("capacity", capacity);
	append_array(w, "peers", peers, append_peer);
	w.close();
	return out;
}

std::string room_created_json(std::string_view room)
{
	std::string url = "/r/";
	url += room;
	std::string out;
	ObjectWriter(out).string("room", room).string("url", url).close();
	return out;
}

std::string peer_joined_json(const Peer &p)
{
	std::string out;
	out.reserve(96 + escaped_size(p.id) + escaped_size(p.name));
	ObjectWriter w(out, "peer-joined");
	append_peer(w.raw("peer"), p);
	w.close();
	return out;
}

std::string peer_left_json(std::string_view id)
{
	std::string out;
	out.reserve(40 + escaped_size(id));
	ObjectWriter(out, "peer-left").string("id", id).close();
	return out;
}

std::string peer_media_json(std::string_view id, bool audio, bool video)
{
	std::string out;
	out.reserve(72 + escaped_size(id));
	ObjectWriter(out, "peer-media")
	    .string("id", id)
	    .boolean("audio", audio)
	    .boolean("video", video)
	    .close();
	return out;
}

std::string relayed_offer_json(std::string_view from, std::string_view sdp)
{
	return sdp_message("offer", "from", from, sdp);
}

std::string relayed_answer_json(std::string_view from, std::string_view sdp)
{
	return sdp_message("answer", "from", from, sdp);
}

std::string relayed_candidate_json(std::string_view from, const Candidate &c)
{
	return candidate_message("from", from, c);
}

std::string relayed_reconnect_json(std::string_view from)
{
	std::string out;
	out.reserve(40 + escaped_size(from));
	ObjectWriter(out, "reconnect").string("from", from).close();
	return out;
}

std::string chat_line_json(const ChatLine &line)
{
	std::string out;
	out.reserve(96 + escaped_size(line.from) + escaped_size(line.name) +
		    escaped_size(line.text));
	append_chat_line(out, line);
	return out;
}

std::string pong_json()
{
	return "{\"type\":\"pong\"}";
}

std::string error_json(ErrorCode code, std::string_view message, std::optional<ClientType> ref)
{
	std::string out;
	out.reserve(64 + escaped_size(message));
	ObjectWriter w(out, "error");
	w.string("code", to_string(code)).string("message", message);
	if (ref)
		w.string("ref", to_string(*ref));
	w.close();
	return out;
}

} // namespace meshcall::protocol
