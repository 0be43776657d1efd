// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, finding 6 ("a room made unjoinable"): chat was counted after
 * trimming, so 50 padded lines made a welcome of 3.25 MB, over a client's
 * 1 MiB. Against the real server: padding beyond 4,000 characters as sent is
 * refused, and 50 lines of the widest text allowed (U+2028, which the server
 * writes as six bytes) give a welcome within 768 KiB that keeps the newest
 * lines in seq order. The registry's own tests are
 * tests/server/registry/test_registry_history.cpp. */
#include "support/server_fixture.h"

#include <string>

using namespace meshcall::test;
namespace proto = meshcall::protocol;

namespace
{

const std::string kLineSeparator = "\xe2\x80\xa8";

std::string repeat(const std::string &s, std::size_t n)
{
	std::string out;
	for (std::size_t i = 0; i < n; i++)
		out += s;
	return out;
}

class WelcomeSizeTest : public ServerTest
{
};

TEST_F(WelcomeSizeTest, FiftyWidestLinesLeaveTheRoomJoinable)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--chat-burst", "60", "--chat-rate", "60"}));
	const std::string name = "a" + repeat(kLineSeparator, 62) + "z";
	proto::Welcome wa;
	WsClient *a = joined("padded", name, &wa);
	ASSERT_TRUE(a);

	/* The old attack: white space beyond 4,000 characters as sent. */
	a->send(proto::chat_json("x" + repeat(" ", 4000)));
	ASSERT_TRUE(a->expect_error("bad-message"));

	for (int seq = 1; seq <= 50; seq++) {
		/* Sent as raw UTF-8: 12 KB a frame, 24 KB once the server escapes it. */
		a->send(R"({"type":"chat","text":")" + std::to_string(seq % 10) +
			repeat(kLineSeparator, proto::kMaxSentTextChars - 1) + R"("})");
		std::optional<proto::ChatLine> echo = a->expect<proto::ChatLine>();
		ASSERT_TRUE(echo);
		ASSERT_EQ(echo->seq, seq);
	}

	WsClient *b = connect("bob");
	ASSERT_TRUE(b);
	b->send(proto::join_json("padded", "bob"));
	std::optional<Incoming> in = b->next();
	ASSERT_TRUE(in);
	const auto *w = std::get_if<proto::Welcome>(&in->message);
	ASSERT_TRUE(w) << in->text.substr(0, 200);
	EXPECT_LE(in->text.size(), proto::kMaxWelcomeBytes);
	ASSERT_GE(w->history.size(), 25u);
	ASSERT_LT(w->history.size(), 50u);
	for (std::size_t i = 0; i < w->history.size(); i++) {
		EXPECT_EQ(w->history[i].seq,
			  static_cast<std::int64_t>(50 - w->history.size() + 1 + i));
		EXPECT_EQ(w->history[i].from, wa.id);
		EXPECT_EQ(w->history[i].name, name);
	}
}

} // namespace
