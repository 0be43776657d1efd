// SPDX-License-Identifier: LGPL-2.1-or-later
/* Independent implementations of what the server signs, so a test never
 * checks the server's crypto against the server's own code. */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshcall::test
{

std::string base64(std::string_view bytes);
/* RFC 4648 §5 without padding. */
std::string base64url(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

/* Raw digests. */
std::string hmac_sha256(std::string_view key, std::string_view message);
/* RFC 2104 spelled out over GChecksum (ipad/opad), not GHmac. */
std::string hmac_sha1_by_hand(std::string_view key, std::string_view message);

/* A compact HS256 JWS over the given JSON texts. */
std::string make_jwt(std::string_view secret, std::string_view payload_json,
		     std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})");
/* {"room":..,"exp":..[,"name":..]} — room and name must need no escaping. */
std::string claims_json(std::string_view room, std::int64_t exp,
			std::optional<std::string_view> name = std::nullopt);

std::int64_t unix_now();

} // namespace meshcall::test
