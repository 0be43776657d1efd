// SPDX-License-Identifier: LGPL-2.1-or-later
/* RoomRegistry and the (1.1) size rules of docs/protocol.md: chat text of at
 * most 4,000 characters as sent, and a welcome whose history is trimmed,
 * oldest lines first, to stay within 768 KiB as the server writes it. */
#include "registry_fixture.h"

#include <string>

namespace meshcall::server::testing
{
namespace
{

const std::string kLineSeparator = "\xe2\x80\xa8"; /* U+2028: 3 bytes, written as 6 */

std::string repeat(const std::string &s, std::size_t n)
{
	std::string out;
	for (std::size_t i = 0; i < n; i++)
		out += s;
	return out;
}

/* The largest a line can be once escaped: 4,000 characters as sent, one of
 * them visible (so 1 after trimming), every other one a U+2028 that the
 * server writes as the six bytes \u2028. */
std::string widest_text(int seq)
{
	return std::to_string(seq % 10) + repeat(kLineSeparator, proto::kMaxSentTextChars - 1);
}

/* 64 characters after trimming, 62 of them U+2028. */
const std::string kWidestName = "a" + repeat(kLineSeparator, 62) + "z";

class HistorySizeTest : public RegistryTest
{
protected:
	void SetUp() override
	{
		RegistryConfig cfg;
		cfg.capacity = 20;
		cfg.rate.chat_burst = 1000; /* about size, not rate */
		cfg.rate.chat_per_second = 1000;
		cfg.rate.message_burst = 1000;
		start(cfg);
	}

	/* Joins `conn` and returns the welcome exactly as written, and decoded. */
	std::string join_raw(ConnectionId conn, proto::Welcome *welcome)
	{
		connect(conn);
		send(conn, proto::join_json("demo", kWidestName));
		EXPECT_FALSE(outbox_.inbox[conn].empty());
		std::string raw =
		    outbox_.inbox[conn].empty() ? "" : outbox_.inbox[conn].front().raw;
		*welcome = next<proto::Welcome>(conn);
		return raw;
	}
};

TEST_F(HistorySizeTest, FiftyWidestLinesAreTrimmedToFitTheWelcome)
{
	std::string a = join_new(1, "demo", kWidestName);
	std::vector<std::size_t> line_bytes = {0}; /* by seq */
	for (int seq = 1; seq <= 50; seq++) {
		send(1, proto::chat_json(widest_text(seq)));
		const std::string &raw = outbox_.inbox[1].back().raw;
		line_bytes.push_back(raw.size());
		clock_.advance_ms(1);
	}
	drain(1);
	/* Each line is ~24 KB written: the 50 of them would make a welcome of
	 * about 1.2 MB, over a client's 1 MiB. */
	ASSERT_GT(line_bytes[50], 6 * (proto::kMaxSentTextChars - 1));

	proto::Welcome w;
	std::string raw = join_raw(2, &w);
	EXPECT_LE(raw.size(), proto::kMaxWelcomeBytes);
	ASSERT_FALSE(w.history.empty());
	ASSERT_LT(w.history.size(), 50u) << "nothing was trimmed";
	/* The newest lines, consecutive, in seq order, unchanged. */
	const std::int64_t first = 51 - static_cast<std::int64_t>(w.history.size());
	for (std::size_t i = 0; i < w.history.size(); i++) {
		const proto::ChatLine &l = w.history[i];
		EXPECT_EQ(l.seq, first + static_cast<std::int64_t>(i));
		EXPECT_EQ(l.text, widest_text(static_cast<int>(l.seq)));
		EXPECT_EQ(l.from, a);
		EXPECT_EQ(l.name, kWidestName);
	}
	/* As many as fit: the next older line (and its comma) would not. */
	EXPECT_GT(raw.size() + line_bytes[static_cast<std::size_t>(first - 1)] + 1,
		  proto::kMaxWelcomeBytes);
}

TEST_F(HistorySizeTest, EachWelcomeFitsWhateverThePeersTake)
{
	/* More peers, with the widest names, leave less room for history; every
	 * welcome, to every joiner, still fits. */
	join_new(1, "demo", kWidestName);
	for (int seq = 1; seq <= 50; seq++)
		send(1, proto::chat_json(widest_text(seq)));
	std::size_t previous = 50;
	for (ConnectionId conn = 2; conn <= 20; conn++) {
		proto::Welcome w;
		std::string raw = join_raw(conn, &w);
		EXPECT_LE(raw.size(), proto::kMaxWelcomeBytes) << "joiner " << conn;
		EXPECT_LE(w.history.size(), previous) << "joiner " << conn;
		ASSERT_FALSE(w.history.empty());
		EXPECT_EQ(w.history.back().seq, 50);
		previous = w.history.size();
		for (ConnectionId other = 1; other < conn; other++)
			drain(other);
	}
}

TEST_F(HistorySizeTest, HistoryThatFitsIsKeptWhole)
{
	/* 2,000 four-byte characters a line: 400 KB for 50 lines, all kept. */
	join_new(1, "demo", "alice");
	const std::string emoji = "\xf0\x9f\x98\x80";
	for (int seq = 1; seq <= 50; seq++)
		send(1, proto::chat_json(repeat(emoji, 2000)));
	proto::Welcome w;
	std::string raw = join_raw(2, &w);
	EXPECT_GT(raw.size(), 400'000u);
	EXPECT_LE(raw.size(), proto::kMaxWelcomeBytes);
	ASSERT_EQ(w.history.size(), 50u);
	EXPECT_EQ(w.history.front().seq, 1);
	EXPECT_EQ(w.history.back().seq, 50);
}

TEST_F(HistorySizeTest, TextIsLimitedAsSentToo)
{
	join_new(1, "demo", "alice");
	drain(1);
	/* 4,000 characters as sent, 1 after trimming: a line. */
	send(1, proto::chat_json("x" + repeat(" ", 3999)));
	EXPECT_EQ(next<proto::ChatLine>(1).seq, 1);
	/* 4,001: padding alone no longer gets a line through. */
	send(1, proto::chat_json("x" + repeat(" ", 4000)));
	next_error(1, "bad-message", "chat");
	send(1,
	     proto::chat_json(repeat(kLineSeparator, 2000) + "x" + repeat(kLineSeparator, 2000)));
	next_error(1, "bad-message", "chat");
	/* 2,000 after trimming and 4,000 as sent, both at their limit. */
	send(1, proto::chat_json(repeat("\t", 1000) + repeat("y", 2000) + repeat("\n", 1000)));
	EXPECT_EQ(next<proto::ChatLine>(1).seq, 2);
	expect_quiet(1);
}

} // namespace
} // namespace meshcall::server::testing
