// SPDX-License-Identifier: LGPL-2.1-or-later
/* RoomRegistry: capacity, joining and welcome, peer ids, ICE servers, relaying.
 * Chat, media, leaving and metrics are in test_registry_rooms.cpp; errors,
 * limits and tokens in the other test_registry_*.cpp files. */
#include "registry_fixture.h"

#include <algorithm>
#include <string>

namespace meshcall::server::testing
{
namespace
{

/* ---- capacity ---- */

TEST_F(RegistryTest, DefaultCapacityIsThreeAndFourthJoinIsRoomFull)
{
	EXPECT_EQ(registry().config().capacity, 3);
	join(1, "demo", "a");
	join(2, "demo", "b");
	proto::Welcome w = join(3, "demo", "c");
	EXPECT_EQ(w.capacity, 3);
	drain(1);
	drain(2);

	connect(4);
	send(4, proto::join_json("demo", "d"));
	next_error(4, "room-full", "join");
	EXPECT_FALSE(close_of(4));
	expect_all_quiet(); /* nobody hears about the refused joiner */
	EXPECT_EQ(registry().snapshot("demo").peers.size(), 3u);
	EXPECT_FALSE(registry().peer_id(4));

	/* Still usable: it may join another room. */
	send(4, proto::join_json("other", "d"));
	proto::Welcome w4 = next<proto::Welcome>(4);
	EXPECT_EQ(w4.room, "other");
	EXPECT_TRUE(w4.peers.empty());
	EXPECT_EQ(registry().peer_id(4), w4.id);
}

TEST_F(RegistryTest, RoomFullLiftsWhenSomeoneLeaves)
{
	join(1, "demo", "a");
	join(2, "demo", "b");
	join(3, "demo", "c");
	connect(4);
	send(4, proto::join_json("demo", "d"));
	next_error(4, "room-full", "join");
	registry().disconnected(2);
	send(4, proto::join_json("demo", "d"));
	proto::Welcome w = next<proto::Welcome>(4);
	ASSERT_EQ(w.peers.size(), 2u);
	EXPECT_EQ(w.peers[0].name, "a");
	EXPECT_EQ(w.peers[1].name, "c");
}

TEST_F(RegistryTest, CapacityTwoFromConfig)
{
	RegistryConfig cfg;
	cfg.capacity = 2;
	start(cfg);
	EXPECT_EQ(join(1, "r", "a").capacity, 2);
	EXPECT_EQ(join(2, "r", "b").capacity, 2);
	connect(3);
	send(3, proto::join_json("r", "c"));
	next_error(3, "room-full", "join");
	EXPECT_EQ(registry().snapshot("r").capacity, 2);
}

TEST_F(RegistryTest, CapacityFiveFromConfig)
{
	RegistryConfig cfg;
	cfg.capacity = 5;
	start(cfg);
	for (ConnectionId c = 1; c <= 5; c++) {
		proto::Welcome w = join(c, "r", "p" + std::to_string(c));
		EXPECT_EQ(w.capacity, 5);
		EXPECT_EQ(w.peers.size(), c - 1);
	}
	connect(6);
	send(6, proto::join_json("r", "p6"));
	next_error(6, "room-full", "join");
	EXPECT_EQ(registry().snapshot("r").peers.size(), 5u);
}

/* ---- join / welcome ---- */

TEST_F(RegistryTest, WelcomeOfFirstJoiner)
{
	proto::Welcome w = join(1, "demo", "  pi-cam \t");
	EXPECT_EQ(w.name, "pi-cam"); /* trimmed name is stored and shown */
	EXPECT_EQ(w.room, "demo");
	EXPECT_EQ(w.capacity, 3);
	EXPECT_TRUE(w.peers.empty());
	EXPECT_TRUE(w.history.empty());
	EXPECT_TRUE(w.ice_servers.empty()); /* no STUN/TURN configured */
	EXPECT_TRUE(proto::is_valid_peer_id(w.id)) << w.id;
	EXPECT_EQ(registry().peer_id(1), w.id);
	expect_quiet(1);
}

TEST_F(RegistryTest, IdsAre16LowercaseHexAndUnique)
{
	RegistryConfig cfg;
	cfg.capacity = 100;
	start(cfg);
	/* Values that need zero padding and would show upper case if misrendered. */
	scripted_ids_ = {0x1, 0xABCDEF, 0xFFFFFFFFFFFFFFFFULL, 0x00000000DEADBEEFULL};
	std::set<std::string> seen;
	for (ConnectionId c = 1; c <= 20; c++) {
		std::string id = join_new(c, c % 2 ? "odd" : "even", "p");
		EXPECT_EQ(id.size(), 16u) << id;
		EXPECT_TRUE(std::all_of(id.begin(), id.end(), [](char ch) {
			return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
		})) << id;
		EXPECT_TRUE(seen.insert(id).second) << "duplicate id " << id;
	}
}

TEST_F(RegistryTest, IdsComeFromTheGeneratorAsZeroPaddedHex)
{
	start();
	scripted_ids_ = {0x1, 0xABCDEF12, 0xFFFFFFFFFFFFFFFFULL};
	EXPECT_EQ(join_new(1, "a", "x"), "0000000000000001");
	EXPECT_EQ(join_new(2, "b", "x"), "00000000abcdef12");
	EXPECT_EQ(join_new(3, "c", "x"), "ffffffffffffffff");
}

TEST_F(RegistryTest, IdsNeverCollideWhenTheGeneratorRepeats)
{
	RegistryConfig cfg;
	cfg.capacity = 5;
	start(cfg);
	scripted_ids_ = {7, 7, 7, 8, 8, 7, 9};
	std::string a = join_new(1, "r", "a");
	std::string b = join_new(2, "r", "b");	   /* same room: 7 taken, retried to 8 */
	std::string c = join_new(3, "other", "c"); /* other room: 8 and 7 taken → 9 */
	EXPECT_EQ(a, hex_id(7));
	EXPECT_EQ(b, hex_id(8));
	EXPECT_EQ(c, hex_id(9));
	EXPECT_TRUE(scripted_ids_.empty());
}

TEST_F(RegistryTest, ThirdJoinerSeesBothEarlierPeersInJoinOrder)
{
	proto::Welcome a = join(1, "demo", "alice");
	proto::Welcome b = join(2, "demo", "bob");
	ASSERT_EQ(b.peers.size(), 1u);
	EXPECT_EQ(b.peers[0].id, a.id);
	EXPECT_EQ(b.peers[0].name, "alice");
	EXPECT_TRUE(b.peers[0].audio);
	EXPECT_TRUE(b.peers[0].video);

	proto::PeerJoined bj = next<proto::PeerJoined>(1);
	EXPECT_EQ(bj.peer.id, b.id);
	EXPECT_EQ(bj.peer.name, "bob");
	EXPECT_TRUE(bj.peer.audio);
	EXPECT_TRUE(bj.peer.video);

	proto::Welcome c = join(3, "demo", " carol ");
	/* The joiner offers: carol gets everyone she must offer to, in join order. */
	ASSERT_EQ(c.peers.size(), 2u);
	EXPECT_EQ(c.peers[0].id, a.id);
	EXPECT_EQ(c.peers[0].name, "alice");
	EXPECT_EQ(c.peers[1].id, b.id);
	EXPECT_EQ(c.peers[1].name, "bob");
	for (const auto &p : c.peers) {
		EXPECT_TRUE(p.audio);
		EXPECT_TRUE(p.video);
	}
	/* The earlier peers only learn of her; they answer, never offer. */
	for (ConnectionId earlier : {1, 2}) {
		proto::PeerJoined pj = next<proto::PeerJoined>(earlier);
		EXPECT_EQ(pj.peer.id, c.id);
		EXPECT_EQ(pj.peer.name, "carol");
		EXPECT_TRUE(pj.peer.audio);
		EXPECT_TRUE(pj.peer.video);
	}
	expect_all_quiet(); /* no peer-joined echo to carol herself */

	RoomSnapshot s = registry().snapshot("demo");
	EXPECT_EQ(s.room, "demo");
	EXPECT_EQ(s.capacity, 3);
	ASSERT_EQ(s.peers.size(), 3u);
	EXPECT_EQ(s.peers[0].id, a.id);
	EXPECT_EQ(s.peers[1].id, b.id);
	EXPECT_EQ(s.peers[2].id, c.id);
	EXPECT_EQ(s.peers[2].name, "carol");
}

TEST_F(RegistryTest, PeerJoinedIsEncodedOnceForTheRoom)
{
	join(1, "demo", "a");
	join(2, "demo", "b");
	outbox_.buffers.clear();
	join(3, "demo", "c");
	/* welcome for 3, one peer-joined buffer shared by 1 and 2 */
	ASSERT_EQ(outbox_.buffers.size(), 3u);
	std::set<const std::string *> distinct;
	for (auto &b : outbox_.buffers)
		distinct.insert(b.get());
	EXPECT_EQ(distinct.size(), 2u);
}

TEST_F(RegistryTest, RoomsAreIsolated)
{
	join(1, "red", "a");
	join(2, "blue", "b");
	expect_all_quiet();
	EXPECT_EQ(registry().snapshot("red").peers.size(), 1u);
	EXPECT_EQ(registry().snapshot("blue").peers.size(), 1u);
	EXPECT_TRUE(registry().snapshot("green").peers.empty());
	EXPECT_EQ(registry().snapshot("green").room, "green");
	EXPECT_EQ(registry().snapshot("green").capacity, 3);
}

TEST_F(RegistryTest, IceServersCarryStunAndTurnCredentials)
{
	RegistryConfig cfg;
	cfg.stun_urls = {"stun:stun.example.org:3478", "stun:[2001:db8::1]:3478"};
	cfg.turn = TurnSettings{"turn:turn.example.org:3478?transport=udp", "coturn-secret", 600};
	start(cfg);
	proto::Welcome w = join(1, "demo", "a");

	ASSERT_EQ(w.ice_servers.size(), 3u);
	int stun_seen = 0;
	bool turn_seen = false;
	for (const auto &s : w.ice_servers) {
		ASSERT_EQ(s.urls.size(), 1u);
		if (s.urls[0].rfind("stun:", 0) == 0) {
			EXPECT_EQ(s.urls[0], cfg.stun_urls[stun_seen]) << "STUN order kept";
			EXPECT_FALSE(s.username);
			EXPECT_FALSE(s.credential);
			stun_seen++;
			continue;
		}
		EXPECT_EQ(s.urls[0], "turn:turn.example.org:3478?transport=udp");
		std::string username = std::to_string(kStartWallSeconds + 600) + ":" + w.id;
		ASSERT_TRUE(s.username);
		EXPECT_EQ(*s.username, username);
		ASSERT_TRUE(s.credential);
		EXPECT_EQ(*s.credential, base64(hmac_sha1_by_hand("coturn-secret", username)));
		turn_seen = true;
	}
	EXPECT_EQ(stun_seen, 2);
	EXPECT_TRUE(turn_seen);
}

TEST_F(RegistryTest, TurnCredentialsDefaultTtlIs24hAndFollowTheClock)
{
	RegistryConfig cfg;
	cfg.turn = TurnSettings{"turns:t.example.org:5349", "k", 24 * 3600};
	EXPECT_EQ(TurnSettings{}.ttl_seconds, 24 * 3600);
	start(cfg);
	clock_.advance_ms(10'000);
	proto::Welcome w = join(1, "demo", "a");
	ASSERT_EQ(w.ice_servers.size(), 1u);
	const auto &s = w.ice_servers[0];
	std::string username = std::to_string(kStartWallSeconds + 10 + 24 * 3600) + ":" + w.id;
	ASSERT_TRUE(s.username);
	EXPECT_EQ(*s.username, username);
	ASSERT_TRUE(s.credential);
	EXPECT_EQ(*s.credential, base64(hmac_sha1_by_hand("k", username)));
	/* A known vector for the hand-made HMAC itself (RFC 2202 case 2). */
	EXPECT_EQ(base64(hmac_sha1_by_hand("Jefe", "what do ya want for nothing?")),
		  "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}

/* ---- relay ---- */

class RelayTest : public RegistryTest
{
protected:
	void SetUp() override
	{
		a = join_new(1, "demo", "a");
		b = join_new(2, "demo", "b");
		c = join_new(3, "demo", "c");
		x = join_new(9, "elsewhere", "x");
		for (ConnectionId conn : {1, 2, 3, 9})
			drain(conn);
	}
	std::string a, b, c, x;
};

TEST_F(RelayTest, OfferGoesOnlyToTheAddresseeStampedWithTheSender)
{
	send(3, proto::offer_json(a, "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"));
	proto::RelayedOffer o = next<proto::RelayedOffer>(1);
	EXPECT_EQ(o.from, c);
	EXPECT_EQ(o.sdp, "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n");
	expect_all_quiet();

	send(1, proto::answer_json(c, "v=0 answer"));
	proto::RelayedAnswer ans = next<proto::RelayedAnswer>(3);
	EXPECT_EQ(ans.from, a);
	EXPECT_EQ(ans.sdp, "v=0 answer");
	expect_all_quiet();
}

TEST_F(RelayTest, ClientSuppliedFromIsIgnored)
{
	send(3, R"({"type":"offer","to":")" + a + R"(","from":")" + b + R"(","sdp":"v=0"})");
	EXPECT_EQ(next<proto::RelayedOffer>(1).from, c);
	send(3, R"({"type":"answer","from":"0123456789abcdef","to":")" + b + R"(","sdp":"v=0"})");
	EXPECT_EQ(next<proto::RelayedAnswer>(2).from, c);
	send(3, R"({"type":"candidate","from":")" + a + R"(","to":")" + b +
		    R"(","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMLineIndex":0})");
	EXPECT_EQ(next<proto::RelayedCandidate>(2).from, c);
	expect_all_quiet();
}

TEST_F(RelayTest, OnlyProtocolFieldsAreRelayed)
{
	send(3, R"({"type":"offer","to":")" + a +
		    R"(","sdp":"v=0","extra":1,"nested":{"k":"v"},"from":"x"})");
	ASSERT_EQ(pending(1), 1u);
	EXPECT_EQ(json_member_names(outbox_.inbox[1].front().raw),
		  (std::set<std::string>{"type", "from", "sdp"}));
	drain(1);

	send(3, R"({"type":"answer","to":")" + a + R"(","sdp":"v=0","x-debug":true})");
	ASSERT_EQ(pending(1), 1u);
	EXPECT_EQ(json_member_names(outbox_.inbox[1].front().raw),
		  (std::set<std::string>{"type", "from", "sdp"}));
	drain(1);

	send(3, R"({"type":"candidate","to":")" + a +
		    R"(","candidate":"c","sdpMLineIndex":1,"sdpMid":"1","usernameFragment":"u"})");
	ASSERT_EQ(pending(1), 1u);
	EXPECT_EQ(json_member_names(outbox_.inbox[1].front().raw),
		  (std::set<std::string>{"type", "from", "candidate", "sdpMLineIndex", "sdpMid"}));
	drain(1);
}

TEST_F(RelayTest, CandidateSdpMidOnlyWhenPresent)
{
	proto::Candidate with_mid{a, "candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host", 1,
				  "video"};
	send(2, proto::candidate_json(with_mid));
	ASSERT_EQ(pending(1), 1u);
	EXPECT_EQ(json_member_names(outbox_.inbox[1].front().raw),
		  (std::set<std::string>{"type", "from", "candidate", "sdpMLineIndex", "sdpMid"}));
	proto::RelayedCandidate rc = next<proto::RelayedCandidate>(1);
	EXPECT_EQ(rc.from, b);
	EXPECT_EQ(rc.candidate, with_mid.candidate);
	EXPECT_EQ(rc.sdp_mline_index, 1);
	EXPECT_EQ(rc.sdp_mid, std::optional<std::string>("video"));

	/* No sdpMid, and "null" means absent: neither is relayed as a field. */
	send(2, R"({"type":"candidate","to":")" + a + R"(","candidate":"","sdpMLineIndex":0})");
	send(2, R"({"type":"candidate","to":")" + a +
		    R"(","candidate":"","sdpMLineIndex":3,"sdpMid":null})");
	for (std::int64_t mline : {0, 3}) {
		ASSERT_GE(pending(1), 1u);
		EXPECT_EQ(json_member_names(outbox_.inbox[1].front().raw),
			  (std::set<std::string>{"type", "from", "candidate", "sdpMLineIndex"}))
		    << outbox_.inbox[1].front().raw;
		proto::RelayedCandidate end = next<proto::RelayedCandidate>(1);
		EXPECT_EQ(end.from, b);
		EXPECT_EQ(end.candidate, ""); /* end of candidates is relayed too */
		EXPECT_EQ(end.sdp_mline_index, mline);
		EXPECT_FALSE(end.sdp_mid);
	}
	expect_all_quiet();
}

TEST_F(RelayTest, UnknownPeerToUnknownIdDeliversNothing)
{
	send(3, proto::offer_json("0123456789abcdef", "v=0"));
	next_error(3, "unknown-peer", "offer");
	expect_all_quiet();
	EXPECT_FALSE(close_of(3));
}

TEST_F(RelayTest, UnknownPeerToPeerOfAnotherRoom)
{
	send(3, proto::offer_json(x, "v=0"));
	next_error(3, "unknown-peer", "offer");
	send(9, proto::answer_json(a, "v=0"));
	next_error(9, "unknown-peer", "answer");
	send(9, proto::candidate_json({c, "c", 0, std::nullopt}));
	next_error(9, "unknown-peer", "candidate");
	expect_all_quiet();
}

TEST_F(RelayTest, UnknownPeerToOwnId)
{
	send(1, proto::offer_json(a, "v=0"));
	next_error(1, "unknown-peer", "offer");
	send(1, proto::candidate_json({a, "c", 0, "0"}));
	next_error(1, "unknown-peer", "candidate");
	expect_all_quiet();
}

TEST_F(RelayTest, UnknownPeerForAPeerThatLeft)
{
	registry().disconnected(2);
	drain(1);
	drain(3);
	send(1, proto::offer_json(b, "v=0"));
	next_error(1, "unknown-peer", "offer");
	expect_all_quiet();
}

TEST_F(RelayTest, RelayKeepsOrder)
{
	send(2, proto::offer_json(a, "sdp-1"));
	for (int i = 0; i < 5; i++)
		send(2, proto::candidate_json({a, "cand-" + std::to_string(i), i, std::nullopt}));
	send(3, proto::offer_json(a, "sdp-from-c")); /* interleaved sender */
	send(2, proto::answer_json(a, "sdp-2"));

	EXPECT_EQ(next<proto::RelayedOffer>(1).sdp, "sdp-1");
	for (int i = 0; i < 5; i++) {
		proto::RelayedCandidate rc = next<proto::RelayedCandidate>(1);
		EXPECT_EQ(rc.candidate, "cand-" + std::to_string(i));
		EXPECT_EQ(rc.sdp_mline_index, i);
	}
	proto::RelayedOffer fromc = next<proto::RelayedOffer>(1);
	EXPECT_EQ(fromc.from, c);
	EXPECT_EQ(fromc.sdp, "sdp-from-c");
	EXPECT_EQ(next<proto::RelayedAnswer>(1).sdp, "sdp-2");
	expect_all_quiet();
}

TEST_F(RelayTest, RelayMetrics)
{
	const Metrics before = registry().metrics();
	send(2, proto::offer_json(a, "v=0"));
	send(1, proto::answer_json(b, "v=0"));
	send(2, proto::candidate_json({a, "c", 0, std::nullopt}));
	send(2, proto::offer_json(x, "v=0")); /* refused */
	const Metrics &m = registry().metrics();
	EXPECT_EQ(m.relayed[idx(ClientType::Offer)] - before.relayed[idx(ClientType::Offer)], 1u);
	EXPECT_EQ(m.relayed[idx(ClientType::Answer)] - before.relayed[idx(ClientType::Answer)], 1u);
	EXPECT_EQ(
	    m.relayed[idx(ClientType::Candidate)] - before.relayed[idx(ClientType::Candidate)], 1u);
	EXPECT_EQ(m.errors[idx(proto::ErrorCode::UnknownPeer)] -
		      before.errors[idx(proto::ErrorCode::UnknownPeer)],
		  1u);
	/* Whether the refused offer counts as "received" is not specified. */
	EXPECT_GE(m.received[idx(ClientType::Offer)] - before.received[idx(ClientType::Offer)], 1u);
}

} // namespace
} // namespace meshcall::server::testing
