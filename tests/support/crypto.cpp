// SPDX-License-Identifier: LGPL-2.1-or-later
#include "crypto.h"

#include <glib.h>

namespace meshcall::test
{

std::string base64(std::string_view bytes)
{
	g_autofree char *encoded =
	    g_base64_encode(reinterpret_cast<const guchar *>(bytes.data()), bytes.size());
	return encoded;
}

std::string base64url(std::string_view bytes)
{
	std::string s = base64(bytes);
	for (char &c : s) {
		if (c == '+')
			c = '-';
		else if (c == '/')
			c = '_';
	}
	while (!s.empty() && s.back() == '=')
		s.pop_back();
	return s;
}

std::optional<std::string> base64url_decode(std::string_view text)
{
	std::string s(text);
	for (char &c : s) {
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=')
			return std::nullopt;
	}
	while (s.size() % 4)
		s.push_back('=');
	gsize len = 0;
	g_autofree guchar *raw = g_base64_decode(s.c_str(), &len);
	if (!raw)
		return std::nullopt;
	return std::string(reinterpret_cast<const char *>(raw), len);
}

std::string hmac_sha256(std::string_view key, std::string_view message)
{
	g_autoptr(GHmac) hmac =
	    g_hmac_new(G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(key.data()), key.size());
	g_hmac_update(hmac, reinterpret_cast<const guchar *>(message.data()), message.size());
	guint8 digest[32];
	gsize len = sizeof digest;
	g_hmac_get_digest(hmac, digest, &len);
	return std::string(reinterpret_cast<const char *>(digest), len);
}

namespace
{

std::string sha1(std::string_view a, std::string_view b = {})
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(sum, reinterpret_cast<const guchar *>(a.data()), a.size());
	g_checksum_update(sum, reinterpret_cast<const guchar *>(b.data()), b.size());
	guint8 digest[20];
	gsize len = sizeof digest;
	g_checksum_get_digest(sum, digest, &len);
	return std::string(reinterpret_cast<const char *>(digest), len);
}

} // namespace

std::string hmac_sha1_by_hand(std::string_view key, std::string_view message)
{
	constexpr std::size_t kBlock = 64;
	std::string k = key.size() > kBlock ? sha1(key) : std::string(key);
	k.resize(kBlock, '\0');
	std::string ipad(kBlock, '\0'), opad(kBlock, '\0');
	for (std::size_t i = 0; i < kBlock; i++) {
		ipad[i] = static_cast<char>(k[i] ^ 0x36);
		opad[i] = static_cast<char>(k[i] ^ 0x5c);
	}
	return sha1(opad, sha1(ipad, message));
}

std::string make_jwt(std::string_view secret, std::string_view payload_json,
		     std::string_view header_json)
{
	const std::string signing_input = base64url(header_json) + "." + base64url(payload_json);
	return signing_input + "." + base64url(hmac_sha256(secret, signing_input));
}

std::string claims_json(std::string_view room, std::int64_t exp,
			std::optional<std::string_view> name)
{
	std::string json = "{\"room\":\"" + std::string(room) + "\",\"exp\":" + std::to_string(exp);
	if (name)
		json += ",\"name\":\"" + std::string(*name) + "\"";
	return json + "}";
}

std::int64_t unix_now()
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

} // namespace meshcall::test
