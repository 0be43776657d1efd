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

/* (1.1) welcome.resume: what a client hands back in join.resume to get its id
 * again (docs/protocol.md, "Resume"). Opaque to clients; here it is
 *   base64url("1.<id>.<issued ms>.<room>") "." base64url(HMAC-SHA256)
 * with the HMAC over the text before the dot, under the resume secret. At
 * most ~190 bytes for a 64-character room, within the protocol's 512. */
inline constexpr std::int64_t kResumeLifetimeMs = 24 * 3600 * 1000;
/* A clock stepped back after a token was issued (NTP after a restart). */
inline constexpr std::int64_t kResumeFutureLeewayMs = 5 * 60 * 1000;

struct ResumeClaims {
	std::string room;
	std::string peer_id;
	std::int64_t issued_ms = 0; /* wall clock, ms since the Unix epoch */
};

std::string create_resume_token(std::string_view secret, const ResumeClaims &claims);

/* The peer id when `token` is genuine (constant-time signature check
 * first), names `room`, is younger than kResumeLifetimeMs and not issued
 * more than kResumeFutureLeewayMs after `now_ms`; nullopt for anything
 * else, never an error. */
std::optional<std::string> verify_resume_token(std::string_view secret, std::string_view token,
					       std::string_view room, std::int64_t now_ms);

/* a + b, clamped to the int64 range: token and TURN times add client- or
 * operator-chosen numbers (exp, --ttl) whose overflow would be undefined. */
std::int64_t saturating_add(std::int64_t a, std::int64_t b);

/* `n` bytes from getrandom(2), which blocks only until the kernel's pool
 * is first seeded. */
std::string random_bytes(std::size_t n);

/* RFC 4648 §5, no padding. */
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace meshcall::server
