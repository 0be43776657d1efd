// SPDX-License-Identifier: LGPL-2.1-or-later
/* Tokens (JWT, HS256 only) and coturn-style TURN credentials. Pure functions:
 * the caller passes the time. */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshcall::server
{

inline constexpr std::int64_t kTokenLeewaySeconds = 30;

struct TokenClaims {
	std::string room;		 /* a room name, or "*" for any room */
	std::int64_t exp = 0;		 /* Unix seconds */
	std::optional<std::string> name; /* display name override */
};

/* A compact JWS: base64url(header).base64url(payload).base64url(HMAC-SHA256). */
std::string create_token(std::string_view secret, const TokenClaims &claims);

/* Verifies signature (constant time, alg must be HS256), exp (with leeway)
 * and the room claim against `room`. Returns the claims when valid. */
std::optional<TokenClaims> verify_token(std::string_view secret, std::string_view token,
					std::string_view room, std::int64_t now_seconds);

struct TurnCredentials {
	std::string username;	/* "<expiry unix seconds>:<peer id>" */
	std::string credential; /* base64(HMAC-SHA1(secret, username)) */
};
TurnCredentials turn_credentials(std::string_view secret, std::string_view peer_id,
				 std::int64_t now_seconds, std::int64_t ttl_seconds);

/* a + b, clamped to the int64 range: token and TURN times add client- or
 * operator-chosen numbers (exp, --ttl) whose overflow would be undefined. */
std::int64_t saturating_add(std::int64_t a, std::int64_t b);

/* RFC 4648 §5, no padding. */
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace meshcall::server
