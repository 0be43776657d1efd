// SPDX-License-Identifier: LGPL-2.1-or-later
/* RoomRegistry: which error wins (docs/protocol.md, "Which error wins"), validation
 * and frame sizes. */
#include "registry_fixture.h"

#include <string>
#include <vector>

namespace meshcall::server::testing
{
namespace
{

/* A ping padded with an ignored extra field to exactly `bytes` bytes. */
std::string ping_of_size(std::size_t bytes)
{
	const std::string head = R"({"type":"ping","pad":")";
	const std::string tail = R"("})";
	return head + std::string(bytes - head.size() - tail.size(), 'x') + tail;
}

class ErrorTest : public RegistryTest
{
protected:
	/* Still open, not joined, and able to join. */
	void expect_open_and_joinable(ConnectionId conn, std::string_view room = "fallback")
	{
		EXPECT_FALSE(close_of(conn));
		EXPECT_FALSE(registry().peer_id(conn));
		send(conn, proto::join_json(room, "late"));
		proto::Welcome w = next<proto::Welcome>(conn);
		EXPECT_EQ(w.room, room);
		EXPECT_EQ(registry().peer_id(conn), w.id);
	}
};

TEST_F(ErrorTest, UnknownTypeIsBadMessageBeforeJoin)
{
	connect(1);
	send(1, R"({"type":"dance"})");
	next_error(1, "bad-message");
	expect_open_and_joinable(1);
}

TEST_F(ErrorTest, UnknownTypeIsBadMessageAfterJoin)
{
	join(1, "demo", "a");
	join(2, "demo", "b");
	drain(1);
	send(1, R"({"type":"dance","to":"x"})");
	next_error(1, "bad-message");
	expect_all_quiet();
	EXPECT_TRUE(registry().peer_id(1));
}

TEST_F(ErrorTest, MalformedFramesAreBadMessage)
{
	connect(1);
	for (const char *frame : {"not json", "", "[1,2]", "\"join\"", "42", "null", "{}",
				  R"({"type":5})", R"({"type":null})", R"({"type":"join")"}) {
		send(1, frame);
		next_error(1, "bad-message");
		expect_quiet(1);
	}
	expect_open_and_joinable(1);
	/* and once joined */
	for (const char *frame : {"not json", "{}", R"({"type":["chat"]})"}) {
		send(1, frame);
		next_error(1, "bad-message");
	}
	EXPECT_FALSE(close_of(1));
}

TEST_F(ErrorTest, KnownTypesBeforeJoinAreNotJoined)
{
	connect(1);
	const std::string id = "0123456789abcdef";
	const std::vector<std::pair<std::string, std::string>> cases = {
	    {proto::offer_json(id, "v=0"), "offer"},
	    {proto::answer_json(id, "v=0"), "answer"},
	    {proto::candidate_json({id, "c", 0, std::nullopt}), "candidate"},
	    {proto::chat_json("hi"), "chat"},
	    {proto::media_json(false, false), "media"},
	    {proto::leave_json(), "leave"},
	};
	for (const auto &[frame, type] : cases) {
		send(1, frame);
		next_error(1, "not-joined", type);
	}
	expect_open_and_joinable(1);
}

/* "Before a successful join, any other known type but join/ping is
 * not-joined": read as winning over field validation, since the rule names
 * only an unknown type as the exception. */
TEST_F(ErrorTest, NotJoinedWinsOverFieldErrorsOfAKnownType)
{
	connect(1);
	send(1, R"({"type":"chat"})");
	next_error(1, "not-joined", "chat");
	send(1, R"({"type":"offer","to":5})");
	next_error(1, "not-joined", "offer");
	expect_open_and_joinable(1);
}

TEST_F(ErrorTest, PingIsAnsweredBeforeAndAfterJoin)
{
	connect(1);
	send(1, proto::ping_json());
	next<proto::Pong>(1);
	expect_quiet(1);
	EXPECT_FALSE(registry().peer_id(1));
	send(1, proto::join_json("demo", "a"));
	next<proto::Welcome>(1);
	join(2, "demo", "b");
	drain(1);
	send(1, proto::ping_json());
	next<proto::Pong>(1);
	expect_all_quiet(); /* pong is not broadcast */
}

TEST_F(ErrorTest, SecondJoinIsAlreadyJoined)
{
	proto::Welcome w = join(1, "demo", "a");
	join(2, "demo", "b");
	drain(1);
	send(1, proto::join_json("demo", "again"));
	next_error(1, "already-joined", "join");
	send(1, proto::join_json("other", "a"));
	next_error(1, "already-joined", "join");
	expect_all_quiet();
	EXPECT_FALSE(close_of(1));
	EXPECT_EQ(registry().peer_id(1), w.id);
	EXPECT_TRUE(registry().snapshot("other").peers.empty());
	ASSERT_EQ(registry().snapshot("demo").peers.size(), 2u);
	EXPECT_EQ(registry().snapshot("demo").peers[0].name, "a");
}

TEST_F(ErrorTest, JoinCheckOrderRoomThenNameThenFull)
{
	join(1, "full", "a");
	join(2, "full", "b");
	join(3, "full", "c");
	connect(4);
	send(4, proto::join_json("bad room!", "\x01"));
	next_error(4, "invalid-room", "join");
	send(4, proto::join_json("full", ""));
	next_error(4, "invalid-name", "join"); /* before room-full */
	send(4, proto::join_json("full", "d"));
	next_error(4, "room-full", "join");
	expect_open_and_joinable(4);
}

TEST_F(ErrorTest, MissingOrIllTypedRoomIsInvalidRoom)
{
	connect(1);
	for (const char *frame : {
		 R"({"type":"join","name":"a"})",
		 R"({"type":"join","room":null,"name":"a"})",
		 R"({"type":"join","room":5,"name":"a"})",
		 R"({"type":"join","room":["demo"],"name":"a"})",
		 R"({"type":"join","room":{"name":"demo"},"name":"a"})",
		 R"({"type":"join","room":true})",
	     }) {
		send(1, frame);
		next_error(1, "invalid-room", "join");
	}
	expect_open_and_joinable(1);
}

TEST_F(ErrorTest, RoomNameRules)
{
	connect(1);
	const std::string room64(64, 'r');
	for (const std::string &room :
	     {std::string(), std::string(65, 'r'), std::string("a b"), std::string("a.b"),
	      std::string("caf\xc3\xa9"), std::string("a/b"), std::string(" demo")}) {
		send(1, proto::join_json(room, "a"));
		next_error(1, "invalid-room", "join");
	}
	expect_open_and_joinable(1, room64);
	join(2, "Az09_-", "b");
}

TEST_F(ErrorTest, MissingOrIllTypedNameIsInvalidName)
{
	connect(1);
	for (const char *frame : {
		 R"({"type":"join","room":"demo"})",
		 R"({"type":"join","room":"demo","name":null})",
		 R"({"type":"join","room":"demo","name":7})",
		 R"({"type":"join","room":"demo","name":["a"]})",
		 R"({"type":"join","room":"demo","name":false})",
	     }) {
		send(1, frame);
		next_error(1, "invalid-name", "join");
	}
	expect_open_and_joinable(1, "demo");
}

TEST_F(ErrorTest, DisplayNameRules)
{
	connect(1);
	std::string e_acute64;
	for (int i = 0; i < 64; i++)
		e_acute64 += "\xc3\xa9"; /* 64 code points, 128 bytes */
	for (const std::string &name : {
		 std::string(),
		 std::string("   "),
		 std::string("\t\n"),
		 std::string("\xe3\x80\x80"), /* U+3000 ideographic space only */
		 std::string(65, 'n'),
		 e_acute64 + "x",
		 std::string("a\x01z"),
		 std::string("a\x7fz"),	    /* DEL */
		 std::string("a\xc2\x85z"), /* U+0085, a C1 control */
		 std::string("a\rz"),
	     }) {
		send(1, proto::join_json("demo", name));
		next_error(1, "invalid-name", "join");
	}
	EXPECT_FALSE(close_of(1));
	send(1, proto::join_json("demo", "\xe3\x80\x80" + e_acute64 + " \n"));
	proto::Welcome w = next<proto::Welcome>(1);
	EXPECT_EQ(w.name, e_acute64); /* Unicode white space trimmed, 64 code points ok */
	EXPECT_EQ(join(2, "demo", std::string(64, 'n')).name, std::string(64, 'n'));
	/* Names need not be unique. */
	EXPECT_EQ(join(3, "demo", std::string(64, 'n')).name, std::string(64, 'n'));
}

TEST_F(ErrorTest, JoinErrorsNotifyNobody)
{
	join(1, "demo", "a");
	drain(1);
	connect(2);
	send(2, proto::join_json("demo", " "));
	next_error(2, "invalid-name", "join");
	expect_all_quiet();
	EXPECT_EQ(registry().snapshot("demo").peers.size(), 1u);
}

TEST_F(ErrorTest, BinaryFrameIsBadMessage)
{
	connect(1);
	registry().received_binary(1, 10);
	next_error(1, "bad-message");
	expect_open_and_joinable(1, "demo");
	join(2, "demo", "b");
	drain(1);
	registry().received_binary(1, 0);
	next_error(1, "bad-message");
	expect_all_quiet();
	EXPECT_FALSE(close_of(1));
	EXPECT_TRUE(registry().peer_id(1));
}

/* The size rule speaks of messages, not of text frames only: a binary frame
 * over the limit is read as too-large (our reading), one within it is a
 * bad-message. */
TEST_F(ErrorTest, OverSizeBinaryFrameIsTooLarge)
{
	connect(1);
	registry().received_binary(1, 65536);
	next_error(1, "bad-message");
	EXPECT_FALSE(close_of(1));
	registry().received_binary(1, 65537);
	next_error(1, "too-large");
	ASSERT_TRUE(close_of(1));
	EXPECT_EQ(close_of(1)->code, 1009);
}

TEST_F(ErrorTest, FieldErrorsAfterJoinAreBadMessageAndDeliverNothing)
{
	join(1, "demo", "a");
	std::string b = join(2, "demo", "b").id;
	drain(1);
	const std::vector<std::pair<std::string, std::string>> cases = {
	    {R"({"type":"offer","to":")" + b + R"("})", "offer"},
	    {R"({"type":"offer","to":")" + b + R"(","sdp":""})", "offer"},
	    {R"({"type":"offer","to":")" + b + R"(","sdp":7})", "offer"},
	    {R"({"type":"offer","sdp":"v=0"})", "offer"},
	    {R"({"type":"answer","to":")" + b + R"(","sdp":null})", "answer"},
	    {R"({"type":"candidate","to":")" + b + R"(","candidate":"c"})", "candidate"},
	    {R"({"type":"candidate","to":")" + b + R"(","candidate":"c","sdpMLineIndex":-1})",
	     "candidate"},
	    {R"({"type":"candidate","to":")" + b + R"(","candidate":"c","sdpMLineIndex":1.5})",
	     "candidate"},
	    {R"({"type":"candidate","to":")" + b + R"(","candidate":"c","sdpMLineIndex":"0"})",
	     "candidate"},
	    {R"({"type":"candidate","to":")" + b +
		 R"(","candidate":"c","sdpMLineIndex":0,"sdpMid":3})",
	     "candidate"},
	    {R"({"type":"chat"})", "chat"},
	    {R"({"type":"chat","text":""})", "chat"},
	    {R"({"type":"chat","text":"  \n "})", "chat"},
	    {R"({"type":"chat","text":"a\rb"})", "chat"},
	    {R"({"type":"chat","text":"a\u0000b"})", "chat"},
	    {R"({"type":"chat","text":5})", "chat"},
	    {proto::chat_json(std::string(2001, 'c')), "chat"},
	    {R"({"type":"media","audio":true})", "media"},
	    {R"({"type":"media","audio":"yes","video":true})", "media"},
	    {R"({"type":"media","audio":1,"video":0})", "media"},
	};
	for (const auto &[frame, type] : cases) {
		SCOPED_TRACE(frame);
		send(1, frame);
		next_error(1, "bad-message", type);
		expect_all_quiet();
	}
	EXPECT_FALSE(close_of(1));
	/* The limits themselves are accepted. */
	send(1, proto::chat_json(std::string(2000, 'c')));
	EXPECT_EQ(next<proto::ChatLine>(2).text, std::string(2000, 'c'));
	drain(1);
	send(1, proto::offer_json(b, std::string(proto::kMaxSdpBytes, 's')));
	EXPECT_EQ(next<proto::RelayedOffer>(2).sdp.size(), proto::kMaxSdpBytes);
	send(1, proto::offer_json(b, std::string(proto::kMaxSdpBytes + 1, 's')));
	next_error(1, "bad-message", "offer");
	expect_all_quiet();
}

TEST_F(ErrorTest, Exactly65536BytesIsNotTooLarge)
{
	connect(1);
	std::string frame = ping_of_size(65536);
	ASSERT_EQ(frame.size(), 65536u);
	send(1, frame);
	next<proto::Pong>(1);
	EXPECT_FALSE(close_of(1));
}

TEST_F(ErrorTest, OverSizeIsTooLargeThenClose1009)
{
	connect(1);
	send(1, ping_of_size(65537));
	next_error(1, "too-large");
	expect_quiet(1);
	auto closed = close_of(1);
	ASSERT_TRUE(closed);
	EXPECT_EQ(closed->code, 1009);
	ASSERT_EQ(outbox_.log.size(), 2u);
	EXPECT_EQ(outbox_.log[0], "send 1 error");
	EXPECT_EQ(outbox_.log[1], "close 1 1009");
	EXPECT_EQ(registry().metrics().closes_too_large, 1u);
	EXPECT_EQ(registry().metrics().errors[idx(proto::ErrorCode::TooLarge)], 1u);
	EXPECT_EQ(registry().metrics().connections, 0);
}

TEST_F(ErrorTest, TooLargeFromAJoinedPeerRemovesIt)
{
	join(1, "demo", "a");
	std::string b = join(2, "demo", "b").id;
	drain(1);
	outbox_.log.clear();
	/* Not even JSON: the size is checked first. */
	send(2, std::string(200000, '{'));
	next_error(2, "too-large");
	ASSERT_TRUE(close_of(2));
	EXPECT_EQ(close_of(2)->code, 1009);
	EXPECT_EQ(next<proto::PeerLeft>(1).id, b);
	expect_all_quiet();
	EXPECT_FALSE(registry().peer_id(2));
	registry().disconnected(2); /* already forgotten: no-op */
	expect_all_quiet();
	EXPECT_EQ(registry().snapshot("demo").peers.size(), 1u);
}

} // namespace
} // namespace meshcall::server::testing
