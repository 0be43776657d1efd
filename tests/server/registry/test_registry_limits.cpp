// SPDX-License-Identifier: LGPL-2.1-or-later
/* RoomRegistry: per-connection rate limits and flood closing, driven by the
 * FakeClock. Clock steps are chosen so that bucket levels land half-way
 * between integers: the outcome must not hinge on floating-point rounding. */
#include "registry_fixture.h"

#include <string>

namespace meshcall::server::testing
{
namespace
{

class RateLimitTest : public RegistryTest
{
protected:
	/* Sends `n` pings, each of which must be answered. */
	void pings_accepted(ConnectionId conn, int n)
	{
		for (int i = 0; i < n; i++) {
			send(conn, proto::ping_json());
			ASSERT_EQ(pending(conn), 1u) << "ping " << i + 1 << " of " << n;
			next<proto::Pong>(conn);
		}
	}
	/* Sends `n` pings, each of which must be refused. */
	void pings_refused(ConnectionId conn, int n)
	{
		for (int i = 0; i < n; i++) {
			send(conn, proto::ping_json());
			ASSERT_EQ(pending(conn), 1u) << "ping " << i + 1 << " of " << n;
			next_error(conn, "rate-limited", "ping");
		}
	}
	void chats_accepted(ConnectionId conn, int n)
	{
		for (int i = 0; i < n; i++) {
			send(conn, proto::chat_json("line"));
			ASSERT_EQ(pending(conn), 1u) << "chat " << i + 1 << " of " << n;
			next<proto::ChatLine>(conn);
		}
	}
	void chats_refused(ConnectionId conn, int n)
	{
		for (int i = 0; i < n; i++) {
			send(conn, proto::chat_json("line"));
			ASSERT_EQ(pending(conn), 1u) << "chat " << i + 1 << " of " << n;
			next_error(conn, "rate-limited", "chat");
		}
	}
};

TEST_F(RateLimitTest, DefaultsMatchTheProtocol)
{
	RateLimits r;
	EXPECT_EQ(r.messages_per_second, 100);
	EXPECT_EQ(r.message_burst, 200);
	EXPECT_EQ(r.chat_per_second, 5);
	EXPECT_EQ(r.chat_burst, 10);
	EXPECT_EQ(r.flood_refusals, 1000);
	EXPECT_EQ(r.flood_window_us, 10'000'000);
}

TEST_F(RateLimitTest, BurstOf200ThenRateLimited)
{
	connect(1);
	pings_accepted(1, 200);
	pings_refused(1, 1);
	EXPECT_FALSE(close_of(1));
	/* Every type is limited, join included. */
	send(1, proto::join_json("demo", "a"));
	next_error(1, "rate-limited", "join");
	EXPECT_FALSE(registry().peer_id(1));
	EXPECT_EQ(registry().metrics().errors[idx(proto::ErrorCode::RateLimited)], 2u);
}

TEST_F(RateLimitTest, RefusedRelayDeliversNothing)
{
	join(1, "demo", "a");
	std::string b = join(2, "demo", "b").id;
	drain(1);
	pings_accepted(1, 199); /* the join took one */
	send(1, proto::offer_json(b, "v=0"));
	next_error(1, "rate-limited", "offer");
	send(1, proto::chat_json("hi"));
	next_error(1, "rate-limited", "chat");
	expect_all_quiet();
	/* The other connection has its own bucket. */
	pings_accepted(2, 199);
}

TEST_F(RateLimitTest, MessageBucketRefills)
{
	connect(1);
	pings_accepted(1, 200);
	pings_refused(1, 3);
	clock_.advance_ms(15); /* +1.5 */
	pings_accepted(1, 1);
	pings_refused(1, 1);
	clock_.advance_ms(1000); /* 0.5 + 100 */
	pings_accepted(1, 100);
	pings_refused(1, 1);
	clock_.advance_ms(60'000); /* capped at the burst */
	pings_accepted(1, 200);
	pings_refused(1, 1);
	EXPECT_FALSE(close_of(1));
}

TEST_F(RateLimitTest, ConfiguredMessageRate)
{
	RegistryConfig cfg;
	cfg.rate.message_burst = 5;
	cfg.rate.messages_per_second = 2;
	start(cfg);
	connect(1);
	pings_accepted(1, 5);
	pings_refused(1, 1);
	clock_.advance_ms(750); /* +1.5 */
	pings_accepted(1, 1);
	pings_refused(1, 1);
}

TEST_F(RateLimitTest, ChatBurst10Then5PerSecond)
{
	join(1, "demo", "a");
	join(2, "demo", "b");
	drain(1);
	chats_accepted(1, 10);
	for (int seq = 1; seq <= 10; seq++)
		EXPECT_EQ(next<proto::ChatLine>(2).seq, seq);
	chats_refused(1, 1);
	expect_all_quiet(); /* the refused line reached nobody */

	/* Other messages still pass while chat is limited. */
	send(1, proto::ping_json());
	next<proto::Pong>(1);
	send(1, proto::media_json(false, true));
	next<proto::PeerMedia>(2);

	clock_.advance_ms(300); /* +1.5 lines */
	send(1, proto::chat_json("after"));
	EXPECT_EQ(next<proto::ChatLine>(1).seq, 11);
	EXPECT_EQ(next<proto::ChatLine>(2).seq, 11);
	chats_refused(1, 1);

	clock_.advance_ms(5000); /* capped at the chat burst */
	chats_accepted(1, 10);
	chats_refused(1, 1);
	drain(2);
}

TEST_F(RateLimitTest, RefusedChatLinesDoNotCountAgainstTheChatLimit)
{
	join(1, "demo", "a");
	/* Lines refused as bad-message are not chat lines sent. */
	for (int i = 0; i < 5; i++) {
		send(1, proto::chat_json(" "));
		next_error(1, "bad-message", "chat");
	}
	chats_accepted(1, 10);
	/* Lines refused for rate do not dig the bucket deeper. */
	chats_refused(1, 20);
	clock_.advance_ms(300); /* +1.5 lines */
	chats_accepted(1, 1);
	chats_refused(1, 1);
}

TEST_F(RateLimitTest, ConfiguredChatRate)
{
	RegistryConfig cfg;
	cfg.rate.chat_burst = 2;
	cfg.rate.chat_per_second = 1;
	start(cfg);
	join(1, "demo", "a");
	chats_accepted(1, 2);
	chats_refused(1, 1);
	clock_.advance_ms(1500);
	chats_accepted(1, 1);
	chats_refused(1, 1);
}

TEST_F(RateLimitTest, MoreThan1000RefusalsIn10sCloses1008)
{
	join(1, "demo", "a");
	std::string b = join(2, "demo", "b").id;
	drain(1);
	pings_accepted(2, 199);
	pings_refused(2, 1000);
	EXPECT_FALSE(close_of(2));
	expect_all_quiet();

	send(2, proto::ping_json()); /* refusal 1001 */
	auto closed = close_of(2);
	ASSERT_TRUE(closed);
	EXPECT_EQ(closed->code, 1008);
	drain(2); /* whether a last rate-limited precedes the close is open */
	EXPECT_EQ(next<proto::PeerLeft>(1).id, b);
	expect_all_quiet();
	EXPECT_EQ(registry().metrics().closes_flooding, 1u);
	EXPECT_FALSE(registry().peer_id(2));
	EXPECT_EQ(registry().snapshot("demo").peers.size(), 1u);
	registry().disconnected(2);
	expect_all_quiet();
}

TEST_F(RateLimitTest, RefusalsSpreadOverMoreThanTheWindowDoNotClose)
{
	RegistryConfig cfg;
	cfg.rate.message_burst = 1;
	cfg.rate.messages_per_second = 0.001; /* no refill within this test */
	cfg.rate.flood_refusals = 3;
	cfg.rate.flood_window_us = 10'000'000;
	start(cfg);
	connect(1);
	pings_accepted(1, 1);
	pings_refused(1, 3);
	clock_.advance_ms(11'000);
	pings_refused(1, 3);
	EXPECT_FALSE(close_of(1));
	send(1, proto::ping_json()); /* 4 within the last 10 s */
	auto closed = close_of(1);
	ASSERT_TRUE(closed);
	EXPECT_EQ(closed->code, 1008);
}

} // namespace
} // namespace meshcall::server::testing
