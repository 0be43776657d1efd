// SPDX-License-Identifier: LGPL-2.1-or-later
#include "registry_fixture.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cinttypes>
#include <cstdio>

namespace meshcall::server::testing
{

namespace
{

/* RFC 2104 over GChecksum, so the expected values do not come from the code
 * under test. Both SHA-1 and SHA-256 use 64-byte blocks. */
std::string hmac_by_hand(GChecksumType type, std::string_view key, std::string_view message)
{
	constexpr std::size_t kBlock = 64;
	auto digest = [type](std::string_view a, std::string_view b) {
		g_autoptr(GChecksum) sum = g_checksum_new(type);
		g_checksum_update(sum, reinterpret_cast<const guchar *>(a.data()), a.size());
		g_checksum_update(sum, reinterpret_cast<const guchar *>(b.data()), b.size());
		guint8 out[64];
		gsize len = sizeof(out);
		g_checksum_get_digest(sum, out, &len);
		return std::string(reinterpret_cast<const char *>(out), len);
	};
	std::string k(key);
	if (k.size() > kBlock)
		k = digest(k, {});
	k.resize(kBlock, '\0');
	std::string ipad(kBlock, '\0'), opad(kBlock, '\0');
	for (std::size_t i = 0; i < kBlock; i++) {
		ipad[i] = static_cast<char>(k[i] ^ 0x36);
		opad[i] = static_cast<char>(k[i] ^ 0x5c);
	}
	return digest(opad, digest(ipad, message));
}

} // namespace

void RecordingOutbox::send(ConnectionId to, const std::shared_ptr<const std::string> &text)
{
	EXPECT_TRUE(text) << "null buffer sent to " << to;
	if (!text)
		return;
	buffers.push_back(text);
	Delivery d;
	d.raw = *text;
	std::string error;
	d.message = proto::parse_server_message(*text, &error);
	EXPECT_TRUE(d.message) << "registry sent an unparsable frame to " << to << " (" << error
			       << "): " << *text;
	log.push_back("send " + std::to_string(to) + " " +
		      (d.message ? server_type_name(*d.message) : "?"));
	inbox[to].push_back(std::move(d));
}

void RecordingOutbox::close(ConnectionId conn, int code, std::string_view reason)
{
	closes.push_back({conn, code, std::string(reason)});
	log.push_back("close " + std::to_string(conn) + " " + std::to_string(code));
}

std::string hex_id(std::uint64_t value)
{
	char buf[17];
	std::snprintf(buf, sizeof(buf), "%016" PRIx64, value);
	return buf;
}

std::string hmac_sha1_by_hand(std::string_view key, std::string_view message)
{
	return hmac_by_hand(G_CHECKSUM_SHA1, key, message);
}

std::string hmac_sha256_by_hand(std::string_view key, std::string_view message)
{
	return hmac_by_hand(G_CHECKSUM_SHA256, key, message);
}

std::string make_resume_token(std::string_view payload, std::string_view secret)
{
	std::string signing_input = base64url(payload);
	return signing_input + "." + base64url(hmac_sha256_by_hand(secret, signing_input));
}

std::string base64(std::string_view bytes)
{
	g_autofree gchar *b64 =
	    g_base64_encode(reinterpret_cast<const guchar *>(bytes.data()), bytes.size());
	return b64;
}

std::string base64url(std::string_view bytes)
{
	std::string s = base64(bytes);
	while (!s.empty() && s.back() == '=')
		s.pop_back();
	for (char &c : s) {
		if (c == '+')
			c = '-';
		else if (c == '/')
			c = '_';
	}
	return s;
}

std::string make_jwt(std::string_view header_json, std::string_view payload_json,
		     std::string_view secret)
{
	std::string signing_input = base64url(header_json) + "." + base64url(payload_json);
	return signing_input + "." +
	       base64url(hmac_by_hand(G_CHECKSUM_SHA256, secret, signing_input));
}

std::string make_hs256_jwt(std::string_view payload_json, std::string_view secret)
{
	return make_jwt(R"({"alg":"HS256","typ":"JWT"})", payload_json, secret);
}

std::set<std::string> json_member_names(std::string_view object_json)
{
	std::set<std::string> names;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = nullptr;
	if (!json_parser_load_from_data(parser, object_json.data(),
					static_cast<gssize>(object_json.size()), &error)) {
		ADD_FAILURE() << "not JSON: " << object_json;
		return names;
	}
	JsonNode *root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		ADD_FAILURE() << "not an object: " << object_json;
		return names;
	}
	GList *members = json_object_get_members(json_node_get_object(root));
	for (GList *l = members; l; l = l->next)
		names.insert(static_cast<const char *>(l->data));
	g_list_free(members);
	return names;
}

const char *server_type_name(const proto::ServerMessage &m)
{
	static constexpr const char *kNames[] = {
	    "welcome",	 "peer-joined", "peer-left", "peer-media", "offer",	"answer",
	    "candidate", "chat",	"pong",	     "error",	   "reconnect",
	};
	static_assert(std::size(kNames) == std::variant_size_v<proto::ServerMessage>);
	return kNames[m.index()];
}

void RegistryTest::start(RegistryConfig config)
{
	ASSERT_FALSE(registry_) << "start() called twice";
	registry_ = std::make_unique<RoomRegistry>(
	    std::move(config), outbox_, clock_, [this]() -> std::uint64_t {
		    generator_calls_++;
		    if (!scripted_ids_.empty()) {
			    std::uint64_t v = scripted_ids_.front();
			    scripted_ids_.pop_front();
			    return v;
		    }
		    /* 0x1111111111111111 is odd, so multiples stay distinct mod 2^64. */
		    return 0x1111111111111111ULL * ++counter_;
	    });
}

RoomRegistry &RegistryTest::registry()
{
	if (!registry_)
		start();
	return *registry_;
}

void RegistryTest::connect(ConnectionId conn)
{
	registry().connected(conn);
}

void RegistryTest::send(ConnectionId conn, std::string_view frame)
{
	registry().received_text(conn, frame);
}

proto::Welcome RegistryTest::join(ConnectionId conn, std::string_view room, std::string_view name)
{
	connect(conn);
	send(conn, proto::join_json(room, name));
	return next<proto::Welcome>(conn);
}

std::string RegistryTest::join_new(ConnectionId conn, std::string_view room, std::string_view name)
{
	return join(conn, room, name).id;
}

proto::Error RegistryTest::next_error(ConnectionId conn, std::string_view code,
				      std::optional<std::string_view> ref)
{
	proto::Error e = next<proto::Error>(conn);
	EXPECT_EQ(e.code, code);
	EXPECT_FALSE(e.message.empty()) << "error " << e.code << " without a message";
	if (ref && e.ref) {
		EXPECT_EQ(*e.ref, *ref) << "error " << e.code;
	}
	return e;
}

std::size_t RegistryTest::pending(ConnectionId conn)
{
	return outbox_.inbox[conn].size();
}

void RegistryTest::expect_quiet(ConnectionId conn)
{
	auto &queue = outbox_.inbox[conn];
	EXPECT_TRUE(queue.empty())
	    << "connection " << conn << " has " << queue.size()
	    << " unexpected message(s), first: " << (queue.empty() ? "" : queue.front().raw);
}

void RegistryTest::expect_all_quiet()
{
	for (auto &[conn, queue] : outbox_.inbox)
		EXPECT_TRUE(queue.empty()) << "connection " << conn << " has " << queue.size()
					   << " unexpected message(s), first: "
					   << (queue.empty() ? "" : queue.front().raw);
}

void RegistryTest::drain(ConnectionId conn)
{
	outbox_.inbox[conn].clear();
}

std::optional<RecordedClose> RegistryTest::close_of(ConnectionId conn) const
{
	std::optional<RecordedClose> found;
	for (const auto &c : outbox_.closes) {
		if (c.conn == conn) {
			EXPECT_FALSE(found) << "connection " << conn << " closed twice";
			found = c;
		}
	}
	return found;
}

} // namespace meshcall::server::testing
