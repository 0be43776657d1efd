// SPDX-License-Identifier: LGPL-2.1-or-later
/* Tokens, TURN credentials and the Origin allow-list, each checked against
 * an implementation written here rather than the server's own. */
#include <json-glib/json-glib.h>

#include "support/crypto.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using meshcall::protocol::IceServer;
using meshcall::protocol::PeerJoined;
using meshcall::protocol::Welcome;

namespace
{

constexpr const char *kSecret = "token-secret-for-tests";
constexpr const char *kTurnSecret = "turn-shared-secret";

class SecurityTest : public ServerTest
{
};

std::string join_with_token(std::string_view room, std::string_view name, std::string_view token)
{
	return meshcall::protocol::join_json(room, name, token);
}

std::string hex(std::string_view bytes)
{
	std::string out;
	for (unsigned char ch : bytes) {
		char byte[3];
		g_snprintf(byte, sizeof byte, "%02x", ch);
		out += byte;
	}
	return out;
}

TEST(IndependentCrypto, HmacSha1ByHandMatchesRfc2202)
{
	EXPECT_EQ(hex(hmac_sha1_by_hand("Jefe", "what do ya want for nothing?")),
		  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	/* A key longer than the block is hashed first (RFC 2202 case 6). */
	EXPECT_EQ(hex(hmac_sha1_by_hand(std::string(80, '\xaa'),
					"Test Using Larger Than Block-Size Key - Hash Key First")),
		  "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(IndependentCrypto, HmacSha256MatchesRfc4231)
{
	EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(SecurityTest, JoinNeedsAValidTokenForThatRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret}));
	WsClient *c = connect("carol");
	ASSERT_TRUE(c);
	const std::int64_t now = unix_now();
	const std::string payload = claims_json("alpha", now + 60);
	const std::string valid = make_jwt(kSecret, payload);
	const std::string for_beta = make_jwt(kSecret, claims_json("beta", now + 60));
	/* Beta's signature on Alpha's claims. */
	const std::string tampered =
	    valid.substr(0, valid.rfind('.')) + for_beta.substr(for_beta.rfind('.'));

	const std::vector<std::pair<std::string, std::string>> refused = {
	    {"no token", meshcall::protocol::join_json("alpha", "carol")},
	    {"expired beyond the 30 s leeway",
	     join_with_token("alpha", "carol", make_jwt(kSecret, claims_json("alpha", now - 120)))},
	    {"signed with another secret",
	     join_with_token("alpha", "carol", make_jwt("not-the-secret", payload))},
	    {"signature of other claims", join_with_token("alpha", "carol", tampered)},
	    {"token for another room", join_with_token("alpha", "carol", for_beta)},
	    {"alg none", join_with_token("alpha", "carol",
					 base64url(R"({"alg":"none","typ":"JWT"})") + "." +
					     base64url(payload) + ".")},
	    {"alg HS384 header",
	     join_with_token("alpha", "carol",
			     make_jwt(kSecret, payload, R"({"alg":"HS384","typ":"JWT"})"))},
	    {"not a JWT", join_with_token("alpha", "carol", "abc")},
	    {"token of the wrong type",
	     R"({"type":"join","room":"alpha","name":"carol","token":42})"},
	};
	for (const auto &[why, join] : refused) {
		c->send(join);
		ASSERT_TRUE(c->expect_error("unauthorized")) << why;
	}
	std::optional<Welcome> w = c->join("alpha", "carol", valid);
	ASSERT_TRUE(w) << "a refused join must leave the connection free to join again";
	EXPECT_EQ(w->room, "alpha");
	EXPECT_EQ(w->name, "carol");
}

TEST_F(SecurityTest, JoinErrorsComeInTheDocumentedOrder)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret, "--capacity", "1"}));
	const std::int64_t exp = unix_now() + 60;
	ASSERT_TRUE(
	    joined("alpha", "alice", nullptr, make_jwt(kSecret, claims_json("alpha", exp))));
	WsClient *c = connect("carol");
	ASSERT_TRUE(c);
	c->send(meshcall::protocol::join_json("bad room", ""));
	EXPECT_TRUE(c->expect_error("invalid-room")) << "invalid-room before invalid-name";
	c->send(meshcall::protocol::join_json("alpha", " "));
	EXPECT_TRUE(c->expect_error("invalid-name")) << "invalid-name before unauthorized";
	c->send(meshcall::protocol::join_json("alpha", "carol"));
	EXPECT_TRUE(c->expect_error("unauthorized")) << "unauthorized before room-full";
	c->send(join_with_token("alpha", "carol", make_jwt(kSecret, claims_json("alpha", exp))));
	EXPECT_TRUE(c->expect_error("room-full"));
}

TEST_F(SecurityTest, ExpiryIsCheckedWithLeeway)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret}));
	EXPECT_TRUE(joined("alpha", "alice", nullptr,
			   make_jwt(kSecret, claims_json("alpha", unix_now() - 10))));
}

TEST_F(SecurityTest, WildcardRoomTokenOpensEveryRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret}));
	const std::string any = make_jwt(kSecret, claims_json("*", unix_now() + 60));
	EXPECT_TRUE(joined("alpha", "alice", nullptr, any));
	EXPECT_TRUE(joined("some-other_room", "bob", nullptr, any));
}

TEST_F(SecurityTest, NameClaimOverridesTheDisplayName)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret}));
	const std::int64_t exp = unix_now() + 60;
	Welcome wa;
	WsClient *a = joined("alpha", "alice", &wa, make_jwt(kSecret, claims_json("alpha", exp)));
	ASSERT_TRUE(a);

	Welcome wb;
	WsClient *b = joined("alpha", "what-i-typed", &wb,
			     make_jwt(kSecret, claims_json("alpha", exp, "Captain")));
	ASSERT_TRUE(b);
	EXPECT_EQ(wb.name, "Captain");
	std::optional<PeerJoined> pj = a->expect<PeerJoined>();
	ASSERT_TRUE(pj);
	EXPECT_EQ(pj->peer.name, "Captain");

	/* With a name claim, join.name may be omitted. */
	WsClient *c = connect("nameless");
	ASSERT_TRUE(c);
	c->send(R"({"type":"join","room":"alpha","token":")" +
		make_jwt(kSecret, claims_json("alpha", exp, "Navigator")) + "\"}");
	std::optional<Welcome> wc = c->expect<Welcome>();
	ASSERT_TRUE(wc);
	EXPECT_EQ(wc->name, "Navigator");
}

TEST_F(SecurityTest, TokenSubcommandPrintsAValidToken)
{
	std::string out, error;
	ASSERT_TRUE(run_command({server_binary(), "token", "--room", "alpha", "--ttl", "60",
				 "--name", "Zed", "--token-secret", kSecret},
				nullptr, &out, &error))
	    << error;
	const std::int64_t now = unix_now();
	while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
		out.pop_back();
	ASSERT_EQ(out.find('\n'), std::string::npos) << "one line expected: " << out;
	const std::size_t dot1 = out.find('.'), dot2 = out.rfind('.');
	ASSERT_TRUE(dot1 != std::string::npos && dot2 != dot1) << out;

	/* Its signature checks out with our own HMAC-SHA256. */
	EXPECT_EQ(out.substr(dot2 + 1), base64url(hmac_sha256(kSecret, out.substr(0, dot2))));
	std::optional<std::string> header = base64url_decode(out.substr(0, dot1));
	ASSERT_TRUE(header);
	EXPECT_NE(header->find("HS256"), std::string::npos) << *header;
	std::optional<std::string> payload =
	    base64url_decode(out.substr(dot1 + 1, dot2 - dot1 - 1));
	ASSERT_TRUE(payload);
	g_autoptr(JsonParser) parser = json_parser_new();
	ASSERT_TRUE(json_parser_load_from_data(parser, payload->c_str(), payload->size(), nullptr))
	    << *payload;
	JsonObject *claims = json_node_get_object(json_parser_get_root(parser));
	ASSERT_TRUE(claims) << *payload;
	EXPECT_STREQ(json_object_get_string_member_with_default(claims, "room", ""), "alpha");
	EXPECT_STREQ(json_object_get_string_member_with_default(claims, "name", ""), "Zed");
	EXPECT_NEAR(static_cast<double>(json_object_get_int_member_with_default(claims, "exp", 0)),
		    static_cast<double>(now + 60), 5);

	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret}));
	Welcome w;
	ASSERT_TRUE(joined("alpha", "typed", &w, out));
	EXPECT_EQ(w.name, "Zed");
}

const IceServer *find_ice_server(const Welcome &w, std::string_view url)
{
	for (const IceServer &s : w.ice_servers) {
		for (const std::string &u : s.urls) {
			if (u == url)
				return &s;
		}
	}
	return nullptr;
}

TEST_F(SecurityTest, WelcomeCarriesTurnCredentialsSignedWithTheSharedSecret)
{
	ASSERT_NO_FATAL_FAILURE(
	    start_server({"--stun", "stun:127.0.0.1:3478", "--turn", "turn:127.0.0.1:3478",
			  "--turn-secret", kTurnSecret, "--turn-ttl", "600"}));
	Welcome wa, wb;
	ASSERT_TRUE(joined("alpha", "alice", &wa));
	const std::int64_t now = unix_now();
	ASSERT_TRUE(joined("alpha", "bob", &wb));

	EXPECT_TRUE(find_ice_server(wa, "stun:127.0.0.1:3478")) << "--stun URL missing";
	for (const Welcome *w : {&wa, &wb}) {
		const IceServer *turn = find_ice_server(*w, "turn:127.0.0.1:3478");
		ASSERT_TRUE(turn) << "--turn URL missing from iceServers";
		ASSERT_TRUE(turn->username && turn->credential);
		const std::string &username = *turn->username;
		const std::size_t colon = username.find(':');
		ASSERT_NE(colon, std::string::npos) << username;
		EXPECT_EQ(username.substr(colon + 1), w->id);
		const std::int64_t expiry =
		    g_ascii_strtoll(username.substr(0, colon).c_str(), nullptr, 10);
		EXPECT_NEAR(static_cast<double>(expiry), static_cast<double>(now + 600), 5)
		    << username;
		EXPECT_EQ(*turn->credential, base64(hmac_sha1_by_hand(kTurnSecret, username)))
		    << "credential must be base64(HMAC-SHA1(secret, username)) for " << username;
	}
}

TEST_F(SecurityTest, TurnCredentialsLastADayByDefault)
{
	ASSERT_NO_FATAL_FAILURE(
	    start_server({"--turn", "turn:127.0.0.1:3478", "--turn-secret", kTurnSecret}));
	Welcome w;
	ASSERT_TRUE(joined("alpha", "alice", &w));
	const IceServer *turn = find_ice_server(w, "turn:127.0.0.1:3478");
	ASSERT_TRUE(turn && turn->username);
	const std::int64_t expiry = g_ascii_strtoll(turn->username->c_str(), nullptr, 10);
	EXPECT_NEAR(static_cast<double>(expiry), static_cast<double>(unix_now() + 24 * 3600), 5);
}

TEST_F(SecurityTest, OriginAllowListRefusesOtherOriginsWith403)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--allowed-origin", "http://good.example",
					      "--allowed-origin", "https://also.example"}));
	ClientOptions evil;
	evil.origin = "http://evil.example";
	std::string error;
	guint status = 0;
	EXPECT_FALSE(WsClient::connect(server_.ws_url(), evil, &error, &status))
	    << "upgrade from a foreign Origin succeeded";
	EXPECT_EQ(status, 403u) << error;

	for (const char *origin : {"http://good.example", "https://also.example"}) {
		ClientOptions good;
		good.origin = origin;
		WsClient *c = connect(origin, good);
		ASSERT_TRUE(c);
		EXPECT_TRUE(c->join("alpha", "good"));
	}
	WsClient *none = connect("no-origin");
	ASSERT_TRUE(none) << "a request without Origin must be allowed";
	EXPECT_TRUE(none->join("alpha", "native"));
}

} // namespace
