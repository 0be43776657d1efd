// SPDX-License-Identifier: LGPL-2.1-or-later
/* JWT (HS256) and TURN REST credentials, on GLib's GHmac. */
#include "server/auth.h"

#include <cmath>
#include <limits>

#include <glib.h>
#include <json-glib/json-glib.h>

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

JsonObject *parse_object(JsonParser *parser, std::string_view text)
{
	if (!json_parser_load_from_data(parser, text.data(), text.size(), nullptr))
		return nullptr;
	JsonNode *root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return nullptr;
	return json_node_get_object(root);
}

const char *string_member(JsonObject *obj, const char *name)
{
	JsonNode *node = json_object_get_member(obj, name);
	if (!node || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return nullptr;
	return json_node_get_string(node);
}

} // namespace

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
	std::size_t dot1 = token.find('.');
	if (dot1 == std::string_view::npos)
		return std::nullopt;
	std::size_t dot2 = token.find('.', dot1 + 1);
	if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
		return std::nullopt;

	/* Check the signature before looking at anything the sender wrote. */
	std::string_view signing_input = token.substr(0, dot2);
	auto signature = base64url_decode(token.substr(dot2 + 1));
	if (!signature ||
	    !equal_constant_time(*signature, hmac(G_CHECKSUM_SHA256, secret, signing_input)))
		return std::nullopt;

	auto header = base64url_decode(token.substr(0, dot1));
	auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
	if (!header || !payload)
		return std::nullopt;

	g_autoptr(JsonParser) header_parser = json_parser_new_immutable();
	JsonObject *hdr = parse_object(header_parser, *header);
	const char *alg = hdr ? string_member(hdr, "alg") : nullptr;
	if (!alg || g_strcmp0(alg, "HS256") != 0)
		return std::nullopt;

	g_autoptr(JsonParser) payload_parser = json_parser_new_immutable();
	JsonObject *body = parse_object(payload_parser, *payload);
	if (!body)
		return std::nullopt;
	const char *claim_room = string_member(body, "room");
	JsonNode *exp = json_object_get_member(body, "exp");
	if (!claim_room || !exp || !JSON_NODE_HOLDS_VALUE(exp))
		return std::nullopt;

	TokenClaims claims;
	claims.room = claim_room;
	GType exp_type = json_node_get_value_type(exp);
	if (exp_type == G_TYPE_INT64)
		claims.exp = json_node_get_int(exp);
	else if (exp_type == G_TYPE_DOUBLE) {
		/* Outside int64 the conversion is undefined: the ends of the
		 * range stand for "long ago" and "never". */
		const double value = json_node_get_double(exp);
		constexpr double kLimit = 9223372036854775808.0; /* 2^63 */
		if (std::isnan(value))
			return std::nullopt;
		claims.exp = value >= kLimit ? std::numeric_limits<std::int64_t>::max()
			     : value < -kLimit ? std::numeric_limits<std::int64_t>::min()
					       : static_cast<std::int64_t>(value);
	} else {
		return std::nullopt;
	}

	/* exp + leeway without overflowing at the top of the range. */
	if (claims.exp < std::numeric_limits<std::int64_t>::max() - kTokenLeewaySeconds &&
	    now_seconds > claims.exp + kTokenLeewaySeconds)
		return std::nullopt;
	if (claims.room != "*" && claims.room != room)
		return std::nullopt;
	if (json_object_has_member(body, "name")) {
		JsonNode *name = json_object_get_member(body, "name");
		if (!JSON_NODE_HOLDS_NULL(name)) {
			const char *n = string_member(body, "name");
			if (!n)
				return std::nullopt;
			claims.name = n;
		}
	}
	return claims;
}

TurnCredentials turn_credentials(std::string_view secret, std::string_view peer_id,
				 std::int64_t now_seconds, std::int64_t ttl_seconds)
{
	TurnCredentials creds;
	creds.username = std::to_string(now_seconds + ttl_seconds) + ':' + std::string(peer_id);
	std::string digest = hmac(G_CHECKSUM_SHA1, secret, creds.username);
	g_autofree gchar *b64 =
	    g_base64_encode(reinterpret_cast<const guchar *>(digest.data()), digest.size());
	creds.credential = b64;
	return creds;
}

} // namespace meshcall::server
