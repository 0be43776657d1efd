// SPDX-License-Identifier: LGPL-2.1-or-later
/* (1.1) RoomRegistry and docs/protocol.md, "Resume": welcome.resume, the id
 * it brings back, the takeover of a connection still holding that id, and
 * every resume that must not work (a fresh id, never an error). The tokens
 * alone are test_resume_tokens.cpp. */
#include "registry_fixture.h"

#include <string>

namespace meshcall::server::testing
{
namespace
{

const std::string kResumeSecret(32, '\x42');
constexpr std::int64_t kDayMs = 24 * 3600 * 1000;

class ResumeTest : public RegistryTest
{
protected:
	void SetUp() override { start(config()); }

	RegistryConfig config(int capacity = 3)
	{
		RegistryConfig cfg;
		cfg.capacity = capacity;
		cfg.resume_secret = kResumeSecret;
		return cfg;
	}

	/* A registry built anew: the server restarted. Connections of the old
	 * one are gone with it; their inboxes are cleared. */
	void restart(RegistryConfig cfg)
	{
		registry_.reset();
		outbox_.inbox.clear();
		start(std::move(cfg));
	}

	/* connected() + a join carrying `resume`, and the welcome that follows. */
	proto::Welcome resume(ConnectionId conn, std::string_view room, std::string_view name,
			      std::string_view token)
	{
		connect(conn);
		send(conn, proto::join_json(room, name, std::nullopt, token));
		return next<proto::Welcome>(conn);
	}

	const Metrics &metrics() { return registry().metrics(); }
};

TEST_F(ResumeTest, EveryWelcomeCarriesAResumeForItsRoomAndId)
{
	proto::Welcome a = join(1, "demo", "alice");
	ASSERT_TRUE(a.resume);
	EXPECT_LE(a.resume->size(), proto::kMaxResumeBytes);
	/* The documented shape, checked with an HMAC computed by hand. */
	EXPECT_EQ(*a.resume,
		  make_resume_token("1." + a.id + "." + std::to_string(kStartWallMs) + ".demo",
				    kResumeSecret));

	clock_.advance_ms(1000);
	proto::Welcome b = join(2, std::string(64, 'r'), "bob");
	ASSERT_TRUE(b.resume);
	EXPECT_LE(b.resume->size(), proto::kMaxResumeBytes);
	EXPECT_NE(*b.resume, *a.resume);
}

TEST_F(ResumeTest, ARegistryWithoutAConfiguredSecretStillHandsOutResumes)
{
	restart(RegistryConfig{});
	proto::Welcome a = join(1, "demo", "alice");
	ASSERT_TRUE(a.resume);
	registry().disconnected(1);
	EXPECT_EQ(resume(2, "demo", "alice", *a.resume).id, a.id);
}

TEST_F(ResumeTest, AResumeAfterLeavingGivesTheSameIdAndPeerJoined)
{
	proto::Welcome a = join(1, "demo", "alice");
	std::string b = join_new(2, "demo", "bob");
	drain(1);
	registry().disconnected(1);
	EXPECT_EQ(next<proto::PeerLeft>(2).id, a.id);

	proto::Welcome again = resume(3, "demo", "alice", *a.resume);
	EXPECT_EQ(again.id, a.id);
	ASSERT_EQ(again.peers.size(), 1u);
	EXPECT_EQ(again.peers[0].id, b);
	/* The others had been told it left, so they are told it is back. */
	proto::PeerJoined joined = next<proto::PeerJoined>(2);
	EXPECT_EQ(joined.peer.id, a.id);
	EXPECT_EQ(joined.peer.name, "alice");
	expect_all_quiet();

	EXPECT_EQ(metrics().resumes_total, 1u);
	EXPECT_EQ(metrics().resume_takeovers_total, 0u);
	EXPECT_EQ(metrics().resumes_refused_total, 0u);
	EXPECT_EQ(registry().peer_id(3), a.id);
	EXPECT_EQ(generator_calls_, 2) << "a resumed id is not drawn";
}

TEST_F(ResumeTest, AResumeAfterTheLivenessTimeoutGivesPeerJoined)
{
	proto::Welcome a = join(1, "demo", "alice");
	join_new(2, "demo", "bob");
	drain(1);
	registry().timed_out(1);
	EXPECT_EQ(next<proto::PeerLeft>(2).id, a.id);

	EXPECT_EQ(resume(3, "demo", "alice", *a.resume).id, a.id);
	EXPECT_EQ(next<proto::PeerJoined>(2).peer.id, a.id);
	expect_all_quiet();
}

/* A server going down says peer-left to nobody: every peer loses the server
 * alike, keeps its peer connections and resumes on the next server. */
TEST_F(ResumeTest, WhileShuttingDownNobodyIsToldPeerLeft)
{
	join(1, "demo", "alice");
	join_new(2, "demo", "bob");
	join_new(3, "demo", "carol");
	drain(1);
	drain(2);
	registry().shutting_down();
	registry().disconnected(1);
	registry().disconnected(2);
	registry().timed_out(3);
	expect_all_quiet();
	EXPECT_TRUE(registry().snapshot("demo").peers.empty());
}

TEST_F(ResumeTest, ATakeoverClosesTheOldConnectionWith1001AndNobodyHearsOfIt)
{
	proto::Welcome a = join(1, "demo", "alice");
	std::string b = join_new(2, "demo", "bob");
	std::string c = join_new(3, "demo", "carol");
	send(2, proto::chat_json("before the blip"));
	send(1, proto::media_json(false, true));
	for (ConnectionId conn : {1, 2, 3})
		drain(conn);

	/* The same client on a new connection; alice's old one still open. */
	proto::Welcome again = resume(4, "demo", "another name", *a.resume);
	EXPECT_EQ(again.id, a.id);
	EXPECT_EQ(again.name, "alice") << "the name the others know";
	ASSERT_EQ(again.peers.size(), 2u);
	EXPECT_EQ(again.peers[0].id, b);
	EXPECT_EQ(again.peers[1].id, c);
	ASSERT_EQ(again.history.size(), 1u);
	EXPECT_EQ(again.history[0].text, "before the blip");
	ASSERT_TRUE(again.resume);

	std::optional<RecordedClose> closed = close_of(1);
	ASSERT_TRUE(closed);
	EXPECT_EQ(closed->code, 1001);
	EXPECT_EQ(closed->reason, "taken over by a resume");
	EXPECT_FALSE(close_of(4));
	expect_all_quiet(); /* no peer-left, no peer-joined, nothing for the old one */

	/* The new connection is alice now, in her place and with her state. */
	EXPECT_EQ(registry().peer_id(4), a.id);
	EXPECT_EQ(registry().peer_id(1), std::nullopt);
	RoomSnapshot snap = registry().snapshot("demo");
	ASSERT_EQ(snap.peers.size(), 3u);
	EXPECT_EQ(snap.peers[0].id, a.id);
	EXPECT_EQ(snap.peers[0].name, "alice");
	EXPECT_FALSE(snap.peers[0].audio);
	EXPECT_TRUE(snap.peers[0].video);
	send(2, proto::offer_json(a.id, "v=0"));
	EXPECT_EQ(next<proto::RelayedOffer>(4).from, b);
	send(4, proto::answer_json(b, "v=0"));
	EXPECT_EQ(next<proto::RelayedAnswer>(2).from, a.id);

	/* The old connection's end is no news either. */
	registry().disconnected(1);
	registry().timed_out(1);
	expect_all_quiet();
	EXPECT_EQ(registry().snapshot("demo").peers.size(), 3u);

	/* When the new one goes, the others hear it once. */
	registry().disconnected(4);
	EXPECT_EQ(next<proto::PeerLeft>(2).id, a.id);
	EXPECT_EQ(next<proto::PeerLeft>(3).id, a.id);
	expect_all_quiet();

	EXPECT_EQ(metrics().resumes_total, 1u);
	EXPECT_EQ(metrics().resume_takeovers_total, 1u);
	EXPECT_EQ(metrics().joins_total, 4u);
	EXPECT_EQ(metrics().peers, 2);
	EXPECT_EQ(metrics().connections, 2);
	EXPECT_EQ(metrics().rooms, 1);
}

TEST_F(ResumeTest, ATakeoverCanRepeatWithEachNewResume)
{
	proto::Welcome a = join(1, "demo", "alice");
	join_new(2, "demo", "bob");
	drain(1);
	proto::Welcome second = resume(3, "demo", "alice", *a.resume);
	proto::Welcome third = resume(4, "demo", "alice", *second.resume);
	EXPECT_EQ(third.id, a.id);
	EXPECT_EQ(close_of(1)->code, 1001);
	EXPECT_EQ(close_of(3)->code, 1001);
	/* An older resume of the same id still works while it is current. */
	EXPECT_EQ(resume(5, "demo", "alice", *a.resume).id, a.id);
	EXPECT_EQ(close_of(4)->code, 1001);
	expect_all_quiet();
	EXPECT_EQ(metrics().resume_takeovers_total, 3u);
}

TEST_F(ResumeTest, ResumesThatMustNotWorkGiveAFreshIdAndNoError)
{
	proto::Welcome a = join(1, "demo", "alice");
	join_new(2, "demo", "bob");
	drain(1);
	const std::string &token = *a.resume;
	std::string flipped = token;
	flipped[4] = flipped[4] == 'A' ? 'B' : 'A';
	const std::string base = "1." + a.id + "." + std::to_string(kStartWallMs) + ".demo";

	const struct {
		const char *what;
		std::string join;
	} cases[] = {
	    {"forged: signed with another secret",
	     proto::join_json("demo", "mallory", std::nullopt,
			      make_resume_token(base, std::string(32, '\x43')))},
	    {"forged: a character changed",
	     proto::join_json("demo", "mallory", std::nullopt, flipped)},
	    {"truncated by one",
	     proto::join_json("demo", "mallory", std::nullopt, token.substr(0, token.size() - 1))},
	    {"truncated to half",
	     proto::join_json("demo", "mallory", std::nullopt, token.substr(0, token.size() / 2))},
	    {"for another room, used here",
	     proto::join_json(
		 "demo", "mallory", std::nullopt,
		 make_resume_token("1." + a.id + "." + std::to_string(kStartWallMs) + ".other",
				   kResumeSecret))},
	    {"garbage", proto::join_json("demo", "mallory", std::nullopt, "garbage")},
	    {"empty", proto::join_json("demo", "mallory", std::nullopt, "")},
	    {"over 512 bytes", proto::join_json("demo", "mallory", std::nullopt,
						token + "." + std::string(600, 'A'))},
	    {"a number", R"({"type":"join","room":"demo","name":"mallory","resume":1})"},
	    {"an object", R"({"type":"join","room":"demo","name":"mallory","resume":{}})"},
	    {"an array",
	     R"({"type":"join","room":"demo","name":"mallory","resume":[")" + token + R"("]})"},
	};
	std::uint64_t refused = 0;
	ConnectionId conn = 10;
	for (const auto &c : cases) {
		SCOPED_TRACE(c.what);
		conn++;
		connect(conn);
		send(conn, c.join);
		proto::Welcome w = next<proto::Welcome>(conn);
		EXPECT_NE(w.id, a.id);
		EXPECT_EQ(w.name, "mallory");
		EXPECT_EQ(next<proto::PeerJoined>(1).peer.id, w.id);
		EXPECT_EQ(next<proto::PeerJoined>(2).peer.id, w.id);
		EXPECT_EQ(metrics().resumes_refused_total, ++refused);
		registry().disconnected(conn); /* room for the next case */
		drain(1);
		drain(2);
	}
	EXPECT_FALSE(close_of(1)) << "alice keeps her connection";
	EXPECT_EQ(registry().peer_id(1), a.id);
	EXPECT_EQ(metrics().resumes_total, 0u);
	EXPECT_EQ(metrics().errors[idx(proto::ErrorCode::BadMessage)], 0u);
	EXPECT_EQ(metrics().resumes_refused_total, std::size(cases));
	/* null is no resume at all */
	connect(30);
	send(30, R"({"type":"join","room":"demo","name":"n","resume":null})");
	EXPECT_NE(next<proto::Welcome>(30).id, a.id);
	EXPECT_EQ(metrics().resumes_refused_total, std::size(cases));
}

TEST_F(ResumeTest, AResumeExpiresAfter24Hours)
{
	proto::Welcome a = join(1, "demo", "alice");
	registry().disconnected(1);
	clock_.advance_ms(kDayMs - 1);
	EXPECT_EQ(resume(2, "demo", "alice", *a.resume).id, a.id);
	registry().disconnected(2);
	clock_.advance_ms(1);
	EXPECT_NE(resume(3, "demo", "alice", *a.resume).id, a.id);
	EXPECT_EQ(metrics().resumes_refused_total, 1u);
}

TEST_F(ResumeTest, ANewerResumeLastsAnotherDay)
{
	proto::Welcome a = join(1, "demo", "alice");
	clock_.advance_ms(kDayMs / 2);
	proto::Welcome again = resume(2, "demo", "alice", *a.resume);
	clock_.advance_ms(kDayMs / 2 + 1000);
	registry().disconnected(2);
	EXPECT_EQ(resume(3, "demo", "alice", *again.resume).id, a.id);
}

TEST_F(ResumeTest, AResumeNeverChangesAnotherRoom)
{
	proto::Welcome a = join(1, "alpha", "alice");
	join_new(2, "alpha", "bob");
	proto::Welcome c = join(3, "beta", "carol");
	join_new(4, "beta", "dave");
	for (ConnectionId conn : {1, 2, 3, 4})
		drain(conn);

	/* Alice's resume, used to join beta: a newcomer there, alpha untouched. */
	proto::Welcome w = resume(5, "beta", "alice", *a.resume);
	EXPECT_NE(w.id, a.id);
	EXPECT_EQ(next<proto::PeerJoined>(3).peer.id, w.id);
	EXPECT_EQ(next<proto::PeerJoined>(4).peer.id, w.id);
	registry().disconnected(5);
	drain(3);
	drain(4);

	/* Carol's resume, used to join alpha: the same the other way round. */
	proto::Welcome x = resume(6, "alpha", "carol", *c.resume);
	EXPECT_NE(x.id, c.id);
	EXPECT_EQ(next<proto::PeerJoined>(1).peer.id, x.id);
	EXPECT_EQ(next<proto::PeerJoined>(2).peer.id, x.id);
	expect_all_quiet();
	EXPECT_FALSE(close_of(1));
	EXPECT_FALSE(close_of(3));
	EXPECT_EQ(registry().peer_id(3), c.id);
	EXPECT_EQ(registry().snapshot("beta").peers.size(), 2u);
}

TEST_F(ResumeTest, AnIdHeldInAnotherRoomIsNeverTaken)
{
	/* Alice leaves alpha; by chance her id is drawn for dave in beta. */
	proto::Welcome a = join(1, "alpha", "alice");
	registry().disconnected(1);
	scripted_ids_.push_back(std::stoull(a.id, nullptr, 16));
	std::string dave = join_new(2, "beta", "dave");
	ASSERT_EQ(dave, a.id);
	join_new(3, "beta", "erin");
	drain(2);

	/* Her genuine resume for alpha must not take dave's connection. */
	proto::Welcome w = resume(4, "alpha", "alice", *a.resume);
	EXPECT_NE(w.id, a.id);
	EXPECT_FALSE(close_of(2));
	EXPECT_EQ(registry().peer_id(2), a.id);
	expect_all_quiet();
	EXPECT_EQ(metrics().resumes_refused_total, 1u);
}

TEST_F(ResumeTest, AResumedPeerTakesAPlaceButATakeoverNeedsNone)
{
	restart(config(2));
	proto::Welcome a = join(1, "demo", "alice");
	join_new(2, "demo", "bob");
	drain(1);

	/* Full, yet alice's new connection replaces her old one. */
	EXPECT_EQ(resume(3, "demo", "alice", *a.resume).id, a.id);
	EXPECT_EQ(close_of(1)->code, 1001);

	/* Gone and her place taken: her resume is refused like any join. */
	registry().disconnected(3);
	drain(2);
	join_new(4, "demo", "carol");
	connect(5);
	send(5, proto::join_json("demo", "alice", std::nullopt, *a.resume));
	next_error(5, "room-full", "join");
	EXPECT_EQ(metrics().resumes_total, 1u) << "a refused join counts as no resume";
	EXPECT_EQ(metrics().resumes_refused_total, 0u);

	/* A place again: she is back with her id. */
	registry().disconnected(4);
	send(5, proto::join_json("demo", "alice", std::nullopt, *a.resume));
	EXPECT_EQ(next<proto::Welcome>(5).id, a.id);
}

TEST_F(ResumeTest, JoinChecksComeFirstAndLeaveTheHolderAlone)
{
	RegistryConfig cfg = config();
	cfg.token_secret = "token-secret";
	restart(cfg);
	const std::string token = make_hs256_jwt(R"({"room":"demo","exp":)" +
						     std::to_string(kStartWallSeconds + 3600) + "}",
						 "token-secret");
	connect(1);
	send(1, proto::join_json("demo", "alice", token));
	proto::Welcome a = next<proto::Welcome>(1);

	connect(2);
	send(2, proto::join_json("no room!", "alice", token, *a.resume));
	next_error(2, "invalid-room", "join");
	send(2, proto::join_json("demo", " ", token, *a.resume));
	next_error(2, "invalid-name", "join");
	send(2, proto::join_json("demo", "alice", std::nullopt, *a.resume));
	next_error(2, "unauthorized", "join");
	EXPECT_FALSE(close_of(1));
	EXPECT_EQ(registry().peer_id(1), a.id);

	send(2, proto::join_json("demo", "alice", token, *a.resume));
	EXPECT_EQ(next<proto::Welcome>(2).id, a.id);
	EXPECT_EQ(close_of(1)->code, 1001);
}

TEST_F(ResumeTest, AfterARestartTheSameSecretGivesTheSameIds)
{
	proto::Welcome a = join(1, "demo", "alice");
	proto::Welcome b = join(2, "demo", "bob");

	restart(config());
	proto::Welcome a2 = resume(11, "demo", "alice", *a.resume);
	EXPECT_EQ(a2.id, a.id);
	EXPECT_TRUE(a2.peers.empty());
	proto::Welcome b2 = resume(12, "demo", "bob", *b.resume);
	EXPECT_EQ(b2.id, b.id);
	ASSERT_EQ(b2.peers.size(), 1u);
	EXPECT_EQ(b2.peers[0].id, a.id);
	EXPECT_EQ(next<proto::PeerJoined>(11).peer.id, b.id);
	expect_all_quiet();
}

TEST_F(ResumeTest, AnotherSecretAfterARestartGivesFreshIds)
{
	proto::Welcome a = join(1, "demo", "alice");
	RegistryConfig cfg = config();
	cfg.resume_secret = std::string(32, '\x99');
	restart(cfg);
	EXPECT_NE(resume(11, "demo", "alice", *a.resume).id, a.id);
	EXPECT_EQ(metrics().resumes_refused_total, 1u);
}

/* ---- reconnect: addressed and relayed like offer ---- */

TEST_F(ResumeTest, ReconnectIsRelayedWithFromAndNothingElse)
{
	std::string a = join_new(1, "demo", "alice");
	std::string b = join_new(2, "demo", "bob");
	drain(1);
	send(2, R"({"type":"reconnect","to":")" + a +
		    R"(","from":"0000000000000001","sdp":"v=0","x":1})");
	const std::string raw = outbox_.inbox[1].front().raw;
	EXPECT_EQ(next<proto::RelayedReconnect>(1).from, b);
	EXPECT_EQ(json_member_names(raw), (std::set<std::string>{"type", "from"}));
	expect_all_quiet();
	EXPECT_EQ(metrics().received[idx(ClientType::Reconnect)], 1u);
	EXPECT_EQ(metrics().relayed[idx(ClientType::Reconnect)], 1u);
}

TEST_F(ResumeTest, ReconnectToAnyoneButAPeerOfMyRoomIsUnknownPeer)
{
	std::string a = join_new(1, "demo", "alice");
	join_new(2, "demo", "bob");
	std::string c = join_new(3, "other", "carol");
	drain(1);
	for (const std::string &to : {c, a, std::string("0123456789abcdef"), std::string("x")}) {
		SCOPED_TRACE("to " + to);
		send(1, proto::reconnect_json(to));
		next_error(1, "unknown-peer", "reconnect");
	}
	expect_all_quiet(); /* carol (another room) and bob got nothing */
	EXPECT_EQ(metrics().relayed[idx(ClientType::Reconnect)], 0u);
}

TEST_F(ResumeTest, ReconnectIsCheckedLikeEveryMessage)
{
	connect(1);
	send(1, proto::reconnect_json("0123456789abcdef"));
	next_error(1, "not-joined", "reconnect");
	join(2, "demo", "bob");
	send(2, R"({"type":"reconnect"})");
	next_error(2, "bad-message", "reconnect");
	send(2, R"({"type":"reconnect","to":5})");
	next_error(2, "bad-message", "reconnect");
}

TEST_F(ResumeTest, ReconnectCountsAgainstTheMessageRate)
{
	RegistryConfig cfg = config();
	cfg.rate.messages_per_second = 1;
	cfg.rate.message_burst = 3;
	restart(cfg);
	std::string a = join_new(1, "demo", "alice");
	std::string b = join_new(2, "demo", "bob"); /* one of bob's burst of 3 */
	drain(1);
	send(2, proto::reconnect_json(a));
	send(2, proto::reconnect_json(a));
	send(2, proto::reconnect_json(a));
	EXPECT_EQ(next<proto::RelayedReconnect>(1).from, b);
	EXPECT_EQ(next<proto::RelayedReconnect>(1).from, b);
	next_error(2, "rate-limited");
	expect_all_quiet();
}

} // namespace
} // namespace meshcall::server::testing
