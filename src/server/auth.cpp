// SPDX-License-Identifier: LGPL-2.1-or-later
/* JWT (HS256) and TURN REST credentials, on GLib's GHmac. */
#include "server/auth.h"

#include <sys/random.h>

#include <cmath>
#include <limits>
#include <vector>

#include <glib.h>

#include "protocol/json_document.h"
#include "protocol/protocol.h"

namespace meshcall::server
{

namespace
{

std::string hmac(GChecksumType type, std::string_view key, std::string_view data)
{
	g_autoptr(GHmac) mac =
	    g_hmac_new(type, reinterpret_cast<const guchar *>(key.data()), key.size());
	g_hmac_update(mac, reinterpret_cast<const guchar *>(data.data()), data.size());
	guint8 digest[64];
	gsize len = sizeof(digest);
	g_hmac_get_digest(mac, digest, &len);
	return std::string(reinterpret_cast<const char *>(digest), len);
}

/* Constant time for equal lengths; the length itself is public (32 bytes). */
bool equal_constant_time(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	unsigned char diff = 0;
	for (std::size_t i = 0; i < a.size(); i++)
		diff |= static_cast<unsigned char>(a[i] ^ b[i]);
	return diff == 0;
}

/* The text before the token's last dot, when what follows the dot is
 * base64url(HMAC-SHA256(secret, that text)). The signature is checked (in
 * constant time) before anything else the sender wrote is looked at. */
std::optional<std::string_view> signed_text(std::string_view secret, std::string_view token)
{
	std::size_t dot = token.rfind('.');
	if (dot == std::string_view::npos)
		return std::nullopt;
	std::string_view text = token.substr(0, dot);
	auto signature = base64url_decode(token.substr(dot + 1));
	if (!signature || !equal_constant_time(*signature, hmac(G_CHECKSUM_SHA256, secret, text)))
		return std::nullopt;
	return text;
}

/* The strict reader of the protocol library (protocol/json_document.h):
 * json-glib alone wraps integers beyond int64, so an exp of 2^63 ("never")
 * would read as -2^63 ("long ago") and the reverse. */
JsonObject *parse_object(protocol::detail::JsonDocument &doc, std::string_view text)
{
	std::string why;
	return doc.load(text, why) ? doc.root_object() : nullptr;
}

/* A number outside int64 reads as a double (1e300, 2^63, or a literal with a
 * fraction); converting one outside the range to int64 is undefined, so the
 * ends of the range stand for "long ago" and "never". */
std::optional<std::int64_t> whole_seconds(double value)
{
	if (std::isnan(value))
		return std::nullopt;
	/* 2^63 is exactly representable; every double below it converts. */
	constexpr double kLimit = 9223372036854775808.0;
	if (value >= kLimit)
		return std::numeric_limits<std::int64_t>::max();
	if (value < -kLimit)
		return std::numeric_limits<std::int64_t>::min();
	return static_cast<std::int64_t>(value);
}

/* exp: a JSON number, integer or not. */
std::optional<std::int64_t> seconds_member(JsonObject *object, const char *key)
{
	JsonNode *node = protocol::detail::member(object, key);
	if (auto whole = protocol::detail::integer(node))
		return whole;
	if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_DOUBLE)
		return std::nullopt;
	return whole_seconds(json_node_get_double(node));
}

} // namespace

std::int64_t saturating_add(std::int64_t a, std::int64_t b)
{
	std::int64_t sum = 0;
	if (!__builtin_add_overflow(a, b, &sum))
		return sum;
	return b > 0 ? std::numeric_limits<std::int64_t>::max()
		     : std::numeric_limits<std::int64_t>::min();
}

std::string random_bytes(std::size_t n)
{
	std::string out(n, '\0');
	for (std::size_t got = 0; got < n;) {
		ssize_t r = getrandom(out.data() + got, n - got, 0);
		if (r > 0)
			got += static_cast<std::size_t>(r);
		/* else interrupted by a signal: try again */
	}
	return out;
}

std::string base64url_encode(std::string_view bytes)
{
	g_autofree gchar *b64 =
	    g_base64_encode(reinterpret_cast<const guchar *>(bytes.data()), bytes.size());
	std::string out(b64);
	for (char &c : out) {
		if (c == '+')
			c = '-';
		else if (c == '/')
			c = '_';
	}
	while (!out.empty() && out.back() == '=')
		out.pop_back();
	return out;
}

std::optional<std::string> base64url_decode(std::string_view text)
{
	if (text.size() % 4 == 1)
		return std::nullopt;
	std::string std_b64;
	std_b64.reserve(text.size() + 3);
	for (char c : text) {
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!g_ascii_isalnum(c))
			return std::nullopt;
		std_b64.push_back(c);
	}
	while (std_b64.size() % 4)
		std_b64.push_back('=');
	gsize len = 0;
	g_autofree guchar *raw = g_base64_decode(std_b64.c_str(), &len);
	if (!raw && !std_b64.empty())
		return std::nullopt;
	return std::string(reinterpret_cast<const char *>(raw), len);
}

std::string create_token(std::string_view secret, const TokenClaims &claims)
{
	std::string payload = "{\"room\":";
	protocol::append_json_string(payload, claims.room);
	payload += ",\"exp\":" + std::to_string(claims.exp);
	if (claims.name) {
		payload += ",\"name\":";
		protocol::append_json_string(payload, *claims.name);
	}
	payload += '}';
	std::string signing_input =
	    base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + '.' + base64url_encode(payload);
	std::string signature = hmac(G_CHECKSUM_SHA256, secret, signing_input);
	return signing_input + '.' + base64url_encode(signature);
}

std::optional<TokenClaims> verify_token(std::string_view secret, std::string_view token,
					std::string_view room, std::int64_t now_seconds)
{
	/* header.payload.signature */
	std::optional<std::string_view> signing_input = signed_text(secret, token);
	if (!signing_input)
		return std::nullopt;
	std::size_t dot = signing_input->find('.');
	if (dot == std::string_view::npos ||
	    signing_input->find('.', dot + 1) != std::string_view::npos)
		return std::nullopt;

	auto header = base64url_decode(signing_input->substr(0, dot));
	auto payload = base64url_decode(signing_input->substr(dot + 1));
	if (!header || !payload)
		return std::nullopt;

	protocol::detail::JsonDocument header_doc;
	JsonObject *hdr = parse_object(header_doc, *header);
	auto alg = hdr ? header_doc.string(protocol::detail::member(hdr, "alg")) : std::nullopt;
	if (alg != "HS256")
		return std::nullopt;

	protocol::detail::JsonDocument payload_doc;
	JsonObject *body = parse_object(payload_doc, *payload);
	if (!body)
		return std::nullopt;
	auto claim_room = payload_doc.string(protocol::detail::member(body, "room"));
	auto exp = seconds_member(body, "exp");
	if (!claim_room || !exp)
		return std::nullopt;

	TokenClaims claims;
	claims.room = std::move(*claim_room);
	claims.exp = *exp;
	if (now_seconds > saturating_add(claims.exp, kTokenLeewaySeconds))
		return std::nullopt;
	if (claims.room != "*" && claims.room != room)
		return std::nullopt;
	/* Absent and null alike mean no name claim; anything else must be a string. */
	if (JsonNode *name = protocol::detail::member(body, "name")) {
		claims.name = payload_doc.string(name);
		if (!claims.name)
			return std::nullopt;
	}
	return claims;
}

namespace
{

constexpr std::string_view kResumeVersion = "1";

/* "<digits>" as a non-negative int64, nothing else. */
std::optional<std::int64_t> decimal(std::string_view text)
{
	if (text.empty() || text.size() > 18)
		return std::nullopt;
	std::int64_t value = 0;
	for (char c : text) {
		if (c < '0' || c > '9')
			return std::nullopt;
		value = value * 10 + (c - '0');
	}
	return value;
}

} // namespace

std::string create_resume_token(std::string_view secret, const ResumeClaims &claims)
{
	std::string payload = std::string(kResumeVersion) + '.' + claims.peer_id + '.' +
			      std::to_string(claims.issued_ms) + '.' + claims.room;
	std::string signing_input = base64url_encode(payload);
	std::string signature = hmac(G_CHECKSUM_SHA256, secret, signing_input);
	return signing_input + '.' + base64url_encode(signature);
}

std::optional<std::string> verify_resume_token(std::string_view secret, std::string_view token,
					       std::string_view room, std::int64_t now_ms)
{
	/* payload.signature */
	if (token.size() > protocol::kMaxResumeBytes)
		return std::nullopt;
	std::optional<std::string_view> signing_input = signed_text(secret, token);
	if (!signing_input || signing_input->find('.') != std::string_view::npos)
		return std::nullopt;
	auto payload = base64url_decode(*signing_input);
	if (!payload)
		return std::nullopt;

	/* "1.<id>.<ms>.<room>": rooms hold no dot, so four fields exactly. */
	std::vector<std::string_view> fields;
	std::string_view rest = *payload;
	for (std::size_t cut; (cut = rest.find('.')) != std::string_view::npos;) {
		fields.push_back(rest.substr(0, cut));
		rest.remove_prefix(cut + 1);
	}
	fields.push_back(rest);
	if (fields.size() != 4 || fields[0] != kResumeVersion ||
	    !protocol::is_valid_peer_id(fields[1]) || fields[3] != room)
		return std::nullopt;
	std::optional<std::int64_t> issued = decimal(fields[2]);
	if (!issued || *issued > saturating_add(now_ms, kResumeFutureLeewayMs) ||
	    saturating_add(*issued, kResumeLifetimeMs) <= now_ms)
		return std::nullopt;
	return std::string(fields[1]);
}

TurnCredentials turn_credentials(std::string_view secret, std::string_view peer_id,
				 std::int64_t now_seconds, std::int64_t ttl_seconds)
{
	TurnCredentials creds;
	creds.username =
	    std::to_string(saturating_add(now_seconds, ttl_seconds)) + ':' + std::string(peer_id);
	std::string digest = hmac(G_CHECKSUM_SHA1, secret, creds.username);
	g_autofree gchar *b64 =
	    g_base64_encode(reinterpret_cast<const guchar *>(digest.data()), digest.size());
	creds.credential = b64;
	return creds;
}

} // namespace meshcall::server
