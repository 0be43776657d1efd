// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: token verification (src/server/auth.*), which reads what
 * anyone puts in join's "token" and in "Authorization: Bearer". Each input
 * goes in twice:
 *  - as a token, as sent: the split, base64url and the signature check;
 *  - as the parts of a token the target signs with the server's secret, so
 *    the header and claims behind the signature check are reached too:
 *      <room asked for> \n <now, Unix seconds> \n <header JSON> \n <payload JSON>
 * Besides crashes and sanitizer reports it checks what verification
 * promises: accepted claims name the room asked for or "*" and have not
 * expired; a token create_token() writes for them verifies to the same
 * claims; and base64url decoding inverts encoding. */
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <glib.h>

#include "server/auth.h"

namespace server = meshcall::server;

namespace
{

constexpr std::string_view kSecret = "fuzz-secret";
constexpr std::int64_t kDefaultNow = 1764000000; /* 2025-11-24 */

[[noreturn]] void broken(const char *promise, std::string_view token)
{
	std::fprintf(stderr, "verify_token broke its promise: %s\n  token: %.*s\n", promise,
		     static_cast<int>(token.size()), token.data());
	std::abort();
}

std::string hs256_signed(std::string_view header, std::string_view payload)
{
	std::string signing_input =
	    server::base64url_encode(header) + '.' + server::base64url_encode(payload);
	guint8 digest[32];
	gsize length = sizeof(digest);
	g_autoptr(GHmac) mac = g_hmac_new(
	    G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(kSecret.data()), kSecret.size());
	g_hmac_update(mac, reinterpret_cast<const guchar *>(signing_input.data()),
		      signing_input.size());
	g_hmac_get_digest(mac, digest, &length);
	return signing_input + '.' +
	       server::base64url_encode(
		   std::string_view(reinterpret_cast<const char *>(digest), length));
}

void check(std::string_view token, std::string_view room, std::int64_t now)
{
	const std::optional<server::TokenClaims> claims =
	    server::verify_token(kSecret, token, room, now);
	if (!claims)
		return;
	if (claims->room != "*" && claims->room != room)
		broken("the room claim matches", token);
	/* 128 bits: exp and now are whatever the token and the caller say. */
	if (static_cast<__int128>(now) >
	    static_cast<__int128>(claims->exp) + server::kTokenLeewaySeconds)
		broken("the token has not expired", token);

	const std::string again = server::create_token(kSecret, *claims);
	const std::optional<server::TokenClaims> reread =
	    server::verify_token(kSecret, again, room, now);
	if (!reread || reread->room != claims->room || reread->exp != claims->exp ||
	    reread->name != claims->name)
		broken("a token made from accepted claims verifies to them", again);
}

/* The next '\n'-terminated field of `rest`, or all of it. */
std::string_view field(std::string_view &rest)
{
	const std::size_t end = rest.find('\n');
	const std::string_view value = rest.substr(0, end);
	rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
	return value;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view input(reinterpret_cast<const char *>(data), size);

	const std::optional<std::string> decoded =
	    server::base64url_decode(server::base64url_encode(input));
	if (decoded != input) {
		std::fprintf(stderr, "base64url_decode does not invert base64url_encode\n");
		std::abort();
	}

	check(input, "demo", kDefaultNow);

	std::string_view rest = input;
	const std::string_view room = field(rest);
	const std::string_view now_text = field(rest);
	std::int64_t now = kDefaultNow;
	std::from_chars(now_text.data(), now_text.data() + now_text.size(), now);
	const std::string_view header = field(rest);
	check(hs256_signed(header, rest), room, now);
	return 0;
}
