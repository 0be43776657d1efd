// SPDX-License-Identifier: LGPL-2.1-or-later
/* The (1.1) size rules of docs/protocol.md on the protocol library's side:
 * chat text at most 4,000 characters as sent (besides 1–2,000 after
 * trimming), and what the welcome's 768 KiB cap rests on: a history line
 * costs in a welcome exactly its chat message plus a comma, and 50 lines of
 * the widest text a client may send are over the cap. */
#include <gtest/gtest.h>

#include <string>

#include "protocol/protocol.h"

namespace
{

using namespace meshcall::protocol;

const std::string kLineSeparator = "\xe2\x80\xa8";    /* U+2028, White_Space; written \u2028 */
const std::string kIdeographicSpace = "\xe3\x80\x80"; /* U+3000, White_Space */
const std::string kEmoji = "\xf0\x9f\x98\x80";	      /* U+1F600 */
const std::string kIdA = "0123456789abcdef";

std::string repeat(const std::string &s, std::size_t n)
{
	std::string out;
	out.reserve(s.size() * n);
	for (std::size_t i = 0; i < n; i++)
		out += s;
	return out;
}

TEST(SentTextLimit, CountsEveryCharacterAsSent)
{
	const struct {
		std::string text;
		bool valid;
	} cases[] = {
	    {"x" + repeat(" ", 3999), true},
	    {"x" + repeat(" ", 4000), false},
	    {repeat(" ", 2000) + "x" + repeat(" ", 1999), true},
	    {repeat(" ", 2000) + "x" + repeat(" ", 2000), false},
	    {"x" + repeat(kLineSeparator, 3999), true},
	    {"x" + repeat(kLineSeparator, 4000), false},
	    {repeat(kIdeographicSpace, 4000) + "x", false},
	    {repeat("x", 2000) + repeat("\n", 2000), true},
	    {repeat("x", 2000) + repeat("\n", 2001), false},
	    /* Characters, not bytes: 4,000 emoji are 16,000 bytes. */
	    {repeat(kEmoji, 2000) + repeat("\t", 2000), true},
	    {repeat(kEmoji, 2001) + repeat("\t", 1999), false}, /* 2,001 after trimming */
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(std::to_string(c.text.size()) + " bytes, starting \"" +
			     c.text.substr(0, 8) + "\"");
		EXPECT_EQ(is_valid_chat_text(c.text), c.valid);
		ClientParse parsed = parse_client_message(chat_json(c.text));
		EXPECT_EQ(parsed.ok(), c.valid);
		if (!parsed.ok()) {
			EXPECT_EQ(parsed.error.code, ErrorCode::BadMessage);
			EXPECT_EQ(parsed.error.ref, ClientType::Chat);
		}
	}
}

ChatLine widest_line(std::int64_t seq)
{
	/* 64 characters of name and 4,000 of text, nearly all U+2028. */
	return {seq, kIdA, "a" + repeat(kLineSeparator, 62) + "z",
		"x" + repeat(kLineSeparator, kMaxSentTextChars - 1), 1764000000000 + seq};
}

TEST(WelcomeSize, AHistoryLineCostsItsChatMessagePlusAComma)
{
	Welcome w;
	w.id = kIdA;
	w.name = "n";
	w.room = "demo";
	w.peers = {{"fedcba9876543210", "peer", true, true}};
	const std::size_t base = welcome_json(w).size();
	std::size_t expected = base;
	for (std::int64_t seq = 1; seq <= 3; seq++) {
		ChatLine line =
		    seq == 2 ? ChatLine{2, kIdA, "q\"", "a\\b\n\t", 7} : widest_line(seq);
		expected += chat_line_json(line).size() + (seq > 1 ? 1 : 0);
		w.history.push_back(line);
		EXPECT_EQ(welcome_json(w).size(), expected) << seq << " lines";
	}
}

TEST(WelcomeSize, FiftyWidestLinesWouldNotFit)
{
	/* Why the server trims: each such line is written as ~24 KB, so 50 of
	 * them exceed both the 768 KiB cap and a client's 1 MiB limit. */
	const std::size_t line_bytes = chat_line_json(widest_line(1)).size();
	EXPECT_GT(line_bytes, 6 * (kMaxSentTextChars - 1));
	EXPECT_GT(50 * line_bytes, kMaxServerMessageBytes);
	EXPECT_LT(kMaxWelcomeBytes, kMaxServerMessageBytes);
}

} // namespace
