// SPDX-License-Identifier: LGPL-2.1-or-later
/* RoomRegistry: chat and its history, media state, leaving, room lifetime,
 * metrics. */
#include "registry_fixture.h"

#include <algorithm>
#include <string>

namespace meshcall::server::testing
{
namespace
{

/* ---- chat ---- */

TEST_F(RegistryTest, ChatGoesToEveryPeerIncludingTheAuthor)
{
	std::string a = join_new(1, "demo", "alice");
	std::string b = join_new(2, "demo", " bob ");
	join_new(7, "other", "z");
	drain(1);
	send(2, proto::chat_json("hello"));
	clock_.advance_ms(1500);
	send(1, proto::chat_json("  hi\tthere\n")); /* relayed exactly, not trimmed */
	for (ConnectionId conn : {1, 2}) {
		proto::ChatLine l1 = next<proto::ChatLine>(conn);
		EXPECT_EQ(l1.seq, 1);
		EXPECT_EQ(l1.from, b);
		EXPECT_EQ(l1.name, "bob");
		EXPECT_EQ(l1.text, "hello");
		EXPECT_EQ(l1.ts, kStartWallMs);
		proto::ChatLine l2 = next<proto::ChatLine>(conn);
		EXPECT_EQ(l2.seq, 2);
		EXPECT_EQ(l2.from, a);
		EXPECT_EQ(l2.name, "alice");
		EXPECT_EQ(l2.text, "  hi\tthere\n");
		EXPECT_EQ(l2.ts, kStartWallMs + 1500);
	}
	expect_all_quiet();

	/* seq is per room */
	send(7, proto::chat_json("elsewhere"));
	EXPECT_EQ(next<proto::ChatLine>(7).seq, 1);
}

TEST_F(RegistryTest, ChatClientFromIsIgnored)
{
	join_new(1, "demo", "a");
	std::string b = join_new(2, "demo", "b");
	drain(1);
	send(2, R"({"type":"chat","text":"hey","from":"0000000000000001","name":"evil","seq":99})");
	proto::ChatLine l = next<proto::ChatLine>(1);
	EXPECT_EQ(l.from, b);
	EXPECT_EQ(l.name, "b");
	EXPECT_EQ(l.seq, 1);
}

class ChatHistoryTest : public RegistryTest
{
protected:
	void SetUp() override
	{
		RegistryConfig cfg;
		cfg.rate.chat_burst = 1000; /* history tests are not about rate */
		cfg.rate.chat_per_second = 1000;
		cfg.rate.message_burst = 1000;
		start(cfg);
	}
};

TEST_F(ChatHistoryTest, HistoryKeepsTheLast50InSeqOrder)
{
	std::string a = join_new(1, "demo", "alice");
	for (int i = 1; i <= 51; i++) {
		send(1, proto::chat_json("line " + std::to_string(i)));
		clock_.advance_ms(1);
	}
	for (int i = 1; i <= 51; i++)
		EXPECT_EQ(next<proto::ChatLine>(1).seq, i);

	proto::Welcome w = join(2, "demo", "bob");
	ASSERT_EQ(w.history.size(), 50u);
	for (int i = 0; i < 50; i++) {
		const proto::ChatLine &l = w.history[i];
		EXPECT_EQ(l.seq, i + 2); /* line 1 is gone */
		EXPECT_EQ(l.text, "line " + std::to_string(i + 2));
		EXPECT_EQ(l.from, a);
		EXPECT_EQ(l.name, "alice");
		EXPECT_EQ(l.ts, kStartWallMs + i + 1);
	}
}

TEST_F(ChatHistoryTest, NewcomerGetsShortHistory)
{
	join_new(1, "demo", "alice");
	send(1, proto::chat_json("one"));
	send(1, proto::chat_json("two"));
	proto::Welcome w = join(2, "demo", "bob");
	ASSERT_EQ(w.history.size(), 2u);
	EXPECT_EQ(w.history[0].seq, 1);
	EXPECT_EQ(w.history[0].text, "one");
	EXPECT_EQ(w.history[1].seq, 2);
	EXPECT_EQ(w.history[1].text, "two");
}

TEST_F(ChatHistoryTest, HistoryOfADepartedAuthorStays)
{
	std::string a = join_new(1, "demo", "alice");
	join_new(2, "demo", "bob");
	send(1, proto::chat_json("bye"));
	registry().disconnected(1);
	proto::Welcome w = join(3, "demo", "carol");
	ASSERT_EQ(w.history.size(), 1u);
	EXPECT_EQ(w.history[0].from, a);
	EXPECT_EQ(w.history[0].name, "alice");
	send(2, proto::chat_json("next"));
	drain(2);
	EXPECT_EQ(next<proto::ChatLine>(3).seq, 2);
}

TEST_F(ChatHistoryTest, RoomAndHistoryVanishWhenTheLastPeerLeaves)
{
	join_new(1, "demo", "alice");
	join_new(2, "demo", "bob");
	for (int i = 0; i < 3; i++)
		send(1, proto::chat_json("x"));
	send(1, proto::leave_json());
	registry().disconnected(2);
	EXPECT_TRUE(registry().snapshot("demo").peers.empty());
	EXPECT_EQ(registry().metrics().rooms, 0);

	proto::Welcome w = join(3, "demo", "carol");
	EXPECT_TRUE(w.history.empty());
	EXPECT_TRUE(w.peers.empty());
	send(3, proto::chat_json("fresh"));
	EXPECT_EQ(next<proto::ChatLine>(3).seq, 1);
}

TEST_F(RegistryTest, ChatMetricsCountOncePerRecipient)
{
	join_new(1, "demo", "a");
	join_new(2, "demo", "b");
	join_new(3, "demo", "c");
	const Metrics before = registry().metrics();
	send(1, proto::chat_json("hi"));
	const Metrics &m = registry().metrics();
	EXPECT_EQ(m.received[idx(ClientType::Chat)] - before.received[idx(ClientType::Chat)], 1u);
	/* "delivered to another peer": the author's echo is the acknowledgement,
	 * not a delivery to another peer, so 2 in a room of 3 (our reading). */
	EXPECT_EQ(m.relayed[idx(ClientType::Chat)] - before.relayed[idx(ClientType::Chat)], 2u);
}

/* ---- media ---- */

TEST_F(RegistryTest, MediaGoesToOthersAndShowsInLaterWelcomes)
{
	RegistryConfig cfg;
	cfg.capacity = 4;
	start(cfg);
	std::string a = join_new(1, "demo", "a");
	join_new(2, "demo", "b");
	join_new(3, "demo", "c");
	for (ConnectionId conn : {1, 2, 3})
		drain(conn);

	send(1, proto::media_json(false, true));
	for (ConnectionId conn : {2, 3}) {
		proto::PeerMedia pm = next<proto::PeerMedia>(conn);
		EXPECT_EQ(pm.id, a);
		EXPECT_FALSE(pm.audio);
		EXPECT_TRUE(pm.video);
	}
	expect_all_quiet(); /* not echoed to the sender */

	RoomSnapshot s = registry().snapshot("demo");
	ASSERT_EQ(s.peers.size(), 3u);
	EXPECT_FALSE(s.peers[0].audio);
	EXPECT_TRUE(s.peers[0].video);

	proto::Welcome w = join(4, "demo", "d");
	ASSERT_EQ(w.peers.size(), 3u);
	EXPECT_EQ(w.peers[0].id, a);
	EXPECT_FALSE(w.peers[0].audio);
	EXPECT_TRUE(w.peers[0].video);
	EXPECT_TRUE(w.peers[1].audio);
	EXPECT_TRUE(w.peers[1].video);
	for (ConnectionId conn : {1, 2, 3})
		drain(conn);

	send(1, proto::media_json(true, false));
	for (ConnectionId conn : {2, 3, 4}) {
		proto::PeerMedia pm = next<proto::PeerMedia>(conn);
		EXPECT_TRUE(pm.audio);
		EXPECT_FALSE(pm.video);
	}
	s = registry().snapshot("demo");
	EXPECT_TRUE(s.peers[0].audio);
	EXPECT_FALSE(s.peers[0].video);
	expect_all_quiet();
}

/* ---- leaving ---- */

TEST_F(RegistryTest, LeaveClosesWith1000AndTellsTheOthers)
{
	join_new(1, "demo", "a");
	std::string b = join_new(2, "demo", "b");
	join_new(3, "demo", "c");
	for (ConnectionId conn : {1, 2, 3})
		drain(conn);

	send(2, proto::leave_json());
	auto closed = close_of(2);
	ASSERT_TRUE(closed);
	EXPECT_EQ(closed->code, 1000);
	EXPECT_EQ(next<proto::PeerLeft>(1).id, b);
	EXPECT_EQ(next<proto::PeerLeft>(3).id, b);
	expect_all_quiet();
	EXPECT_FALSE(registry().peer_id(2));

	/* The transport then reports the close: a no-op. */
	registry().disconnected(2);
	registry().disconnected(2);
	expect_all_quiet();
	ASSERT_EQ(registry().snapshot("demo").peers.size(), 2u);
	EXPECT_EQ(registry().metrics().peers, 2);
	EXPECT_EQ(registry().metrics().connections, 2);
}

TEST_F(RegistryTest, DisconnectTellsTheOthersOnce)
{
	std::string a = join_new(1, "demo", "a");
	join_new(2, "demo", "b");
	drain(1);
	drain(2);
	registry().disconnected(1);
	EXPECT_EQ(next<proto::PeerLeft>(2).id, a);
	registry().disconnected(1);
	expect_all_quiet();
	EXPECT_TRUE(outbox_.closes.empty()); /* the transport closed it, not us */
	ASSERT_EQ(registry().snapshot("demo").peers.size(), 1u);
}

TEST_F(RegistryTest, TimedOutTellsTheOthersAndIsCounted)
{
	std::string a = join_new(1, "demo", "a");
	join_new(2, "demo", "b");
	drain(1);
	drain(2);
	registry().timed_out(1);
	EXPECT_EQ(next<proto::PeerLeft>(2).id, a);
	EXPECT_TRUE(outbox_.closes.empty()); /* the transport closes it */
	EXPECT_EQ(registry().metrics().closes_timeout, 1u);
	EXPECT_EQ(registry().metrics().connections, 1);
	registry().timed_out(1);
	registry().disconnected(1);
	expect_all_quiet();
	EXPECT_EQ(registry().metrics().closes_timeout, 1u);
}

TEST_F(RegistryTest, NothingIsReadAfterTheRegistryClosed)
{
	join_new(1, "demo", "a");
	std::string b = join_new(2, "demo", "b");
	send(1, proto::leave_json());
	drain(1);
	drain(2);
	send(1, proto::chat_json("ghost"));
	send(1, proto::offer_json(b, "v=0"));
	send(1, proto::ping_json());
	expect_all_quiet();
	EXPECT_EQ(outbox_.closes.size(), 1u);
}

TEST_F(RegistryTest, DisconnectOfUnjoinedOrUnknownConnectionIsQuiet)
{
	join_new(1, "demo", "a");
	connect(2);
	registry().disconnected(2);
	registry().disconnected(2);
	registry().disconnected(42); /* never connected */
	expect_all_quiet();
	EXPECT_EQ(registry().metrics().connections, 1);
}

TEST_F(RegistryTest, EmptyRoomIsRemoved)
{
	join_new(1, "demo", "a");
	join_new(2, "demo", "b");
	join_new(3, "other", "c");
	EXPECT_EQ(registry().metrics().rooms, 2);
	send(1, proto::leave_json());
	EXPECT_EQ(registry().metrics().rooms, 2);
	registry().disconnected(2);
	EXPECT_EQ(registry().metrics().rooms, 1);
	RoomSnapshot s = registry().snapshot("demo");
	EXPECT_TRUE(s.peers.empty());
	EXPECT_EQ(s.room, "demo");
	registry().disconnected(3);
	EXPECT_EQ(registry().metrics().rooms, 0);
	EXPECT_EQ(registry().metrics().peers, 0);
	EXPECT_EQ(registry().metrics().connections, 0);
}

/* ---- metrics ---- */

TEST_F(RegistryTest, MetricsCountersMove)
{
	const Metrics &m = registry().metrics();
	EXPECT_EQ(m.connections, 0);
	EXPECT_EQ(m.rooms, 0);
	EXPECT_EQ(m.peers, 0);

	connect(1);
	connect(2);
	EXPECT_EQ(m.connections, 2);
	EXPECT_EQ(m.connections_total, 2u);
	EXPECT_EQ(m.peers, 0);

	send(1, proto::join_json("demo", "a"));
	send(2, proto::join_json("demo", "b"));
	EXPECT_EQ(m.peers, 2);
	EXPECT_EQ(m.rooms, 1);
	EXPECT_EQ(m.joins_total, 2u);
	EXPECT_EQ(m.received[idx(ClientType::Join)], 2u);

	send(1, proto::ping_json());
	EXPECT_EQ(m.received[idx(ClientType::Ping)], 1u);
	send(1, R"({"type":"nope"})");
	EXPECT_EQ(m.errors[idx(proto::ErrorCode::BadMessage)], 1u);
	send(1, proto::media_json(false, false));
	EXPECT_EQ(m.received[idx(ClientType::Media)], 1u);

	send(1, proto::leave_json());
	EXPECT_EQ(m.received[idx(ClientType::Leave)], 1u);
	EXPECT_EQ(m.peers, 1);
	EXPECT_EQ(m.connections, 1);
	registry().disconnected(2);
	EXPECT_EQ(m.peers, 0);
	EXPECT_EQ(m.rooms, 0);
	EXPECT_EQ(m.connections, 0);
	EXPECT_EQ(m.connections_total, 2u);
	EXPECT_EQ(m.joins_total, 2u);
}

TEST(RenderPrometheus, ContainsTheCounters)
{
	Metrics m;
	m.connections = 7001;
	m.rooms = 7002;
	m.peers = 7003;
	m.connections_total = 7004;
	m.joins_total = 7005;
	m.relayed[idx(ClientType::Offer)] = 7006;
	m.relayed[idx(ClientType::Chat)] = 7007;
	m.errors[idx(proto::ErrorCode::RoomFull)] = 7008;
	m.errors[idx(proto::ErrorCode::UnknownPeer)] = 7009;
	m.closes_too_large = 7010;
	m.closes_flooding = 7011;
	std::string text = render_prometheus(m);
	ASSERT_FALSE(text.empty());
	EXPECT_EQ(text.back(), '\n');
	EXPECT_NE(text.find("# TYPE"), std::string::npos);

	/* Every sample line is "name[{labels}] value"; find the line of a value. */
	auto line_with_value = [&text](const std::string &value) -> std::string {
		std::size_t pos = 0;
		while (pos < text.size()) {
			std::size_t end = text.find('\n', pos);
			std::string line = text.substr(pos, end - pos);
			pos = end == std::string::npos ? text.size() : end + 1;
			if (line.empty() || line[0] == '#')
				continue;
			std::size_t sp = line.rfind(' ');
			if (sp != std::string::npos && line.substr(sp + 1) == value)
				return line;
		}
		return {};
	};
	EXPECT_NE(line_with_value("7001").find("connections"), std::string::npos) << text;
	EXPECT_NE(line_with_value("7002").find("rooms"), std::string::npos) << text;
	EXPECT_NE(line_with_value("7003").find("peers"), std::string::npos) << text;
	EXPECT_NE(line_with_value("7006").find("offer"), std::string::npos) << text;
	EXPECT_NE(line_with_value("7007").find("chat"), std::string::npos) << text;
	/* Label values may keep the wire spelling or use underscores. */
	auto names_code = [](const std::string &line, const std::string &wire) {
		std::string underscored = wire;
		std::replace(underscored.begin(), underscored.end(), '-', '_');
		return line.find(wire) != std::string::npos ||
		       line.find(underscored) != std::string::npos;
	};
	EXPECT_TRUE(names_code(line_with_value("7008"), "room-full")) << text;
	EXPECT_TRUE(names_code(line_with_value("7009"), "unknown-peer")) << text;
	EXPECT_FALSE(line_with_value("7004").empty()) << text;
	EXPECT_FALSE(line_with_value("7005").empty()) << text;
	EXPECT_FALSE(line_with_value("7010").empty()) << text;
	EXPECT_FALSE(line_with_value("7011").empty()) << text;
}

TEST_F(RegistryTest, RenderedMetricsFollowTheRegistry)
{
	join_new(1, "demo", "a");
	join_new(2, "demo", "b");
	send(1, proto::chat_json("hi"));
	std::string text = render_prometheus(registry().metrics());
	EXPECT_EQ(text, render_prometheus(registry().metrics())); /* deterministic */
	registry().disconnected(2);
	EXPECT_NE(text, render_prometheus(registry().metrics()));
}

} // namespace
} // namespace meshcall::server::testing
