// SPDX-License-Identifier: LGPL-2.1-or-later
/* server/log.h: client-supplied text made safe for a log line, and the
 * per-address throttle of logged refusals (issue 14, "Logs a terminal can
 * trust"). The end-to-end check on the real server's stderr is in
 * tests/abuse/test_log_hygiene.cpp. */
#include <gtest/gtest.h>

#include <string>

#include "server/log.h"

namespace meshcall::server
{
namespace
{

using namespace std::string_literals;

/* No byte a terminal acts on: nothing below 0x20, no DEL, no C1 in UTF-8. */
bool printable(const std::string &text)
{
	if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr))
		return false;
	for (const char *p = text.c_str(); *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x202e)
			return false;
	}
	return true;
}

TEST(LogText, EscapesWhatATerminalWouldActOn)
{
	const struct {
		std::string in, out;
	} cases[] = {
	    {"https://call.example.org", "https://call.example.org"},
	    {"Zoë 🙂", "Zoë 🙂"},
	    {"a\x1b[2J\x1b]0;pwned\x07z", "a\\x1b[2J\\x1b]0;pwned\\x07z"},
	    {"line\r\nforged 12:00:00.000 meshcall-server:main: ok",
	     "line\\x0d\\x0aforged 12:00:00.000 meshcall-server:main: ok"},
	    {"nul\0x"s, "nul\\x00x"},
	    {"del\x7f", "del\\x7f"},
	    {"csi\xc2\x9b"
	     "31m",
	     "csi\\xc2\\x9b31m"},				       /* U+009B, C1 */
	    {"evil\xe2\x80\xaetxt.exe", "evil\\xe2\\x80\\xaetxt.exe"}, /* U+202E */
	    {"a\xe2\x80\xa8"
	     "b",
	     "a\\xe2\\x80\\xa8b"}, /* U+2028 */
	    {"bad\xff\xfe utf8\xc3", "bad\\xff\\xfe utf8\\xc3"},
	    {"overlong\xc0\xaf", "overlong\\xc0\\xaf"},
	    {"back\\slash", "back\\\\slash"},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.out);
		std::string got = log_text(c.in);
		EXPECT_EQ(got, c.out);
		EXPECT_TRUE(printable(got));
	}
}

TEST(LogText, CutsLongTextAndSaysHowMuch)
{
	std::string origin = "https://" + std::string(60000, 'a');
	std::string got = log_text(origin);
	EXPECT_LE(got.size(), kMaxLogTextBytes);
	EXPECT_EQ(got.substr(0, 8), "https://");
	EXPECT_NE(got.find(" [+"), std::string::npos) << got;
	EXPECT_EQ(got.substr(got.size() - 7), " bytes]");

	/* Escapes count towards the limit: 60,000 ESC would be 240,000 bytes. */
	got = log_text(std::string(60000, '\x1b'), 100);
	EXPECT_LE(got.size(), 100u);
	EXPECT_TRUE(printable(got));
	/* A cut never splits an escape or a character. */
	got = log_text(std::string(300, '\x1b'), 64);
	std::string kept = got.substr(0, got.find(" [+"));
	EXPECT_EQ(kept.size() % 4, 0u) << got;
	got = log_text("🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂", 40);
	EXPECT_TRUE(printable(got)) << got;
	/* Exactly at the limit: not cut. */
	EXPECT_EQ(log_text(std::string(kMaxLogTextBytes, 'x')), std::string(kMaxLogTextBytes, 'x'));
}

TEST(LogText, WholeLinesKeepBackslashesAndAreBounded)
{
	/* The writer's pass leaves log_text() output as it is. */
	std::string field = log_text("a\\b\x1b");
	EXPECT_EQ(log_line_text("name " + field, 1000), "name " + field);
	std::string line = log_line_text(std::string(5000, '\x01'), 1000);
	EXPECT_LE(line.size(), 1000u);
	EXPECT_TRUE(printable(line));
}

TEST(RefusalThrottle, AFewPerSecondPerAddressThenCounted)
{
	RefusalThrottle throttle;
	using A = RefusalThrottle::Action;
	std::int64_t now = 1'000'000'000;
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(throttle.admit("192.0.2.1", now).action, A::Log) << i;
	/* Said once, then silence. */
	EXPECT_EQ(throttle.admit("192.0.2.1", now).action, A::AnnounceDropping);
	for (int i = 0; i < 100; i++)
		EXPECT_EQ(throttle.admit("192.0.2.1", now).action, A::Drop);
	/* Another address has its own budget. */
	EXPECT_EQ(throttle.admit("192.0.2.2", now).action, A::Log);
	/* Half a second refills one line, which carries the count. */
	now += 500'000;
	RefusalThrottle::Verdict v = throttle.admit("192.0.2.1", now);
	EXPECT_EQ(v.action, A::Log);
	EXPECT_EQ(v.dropped_before, 101u);
	EXPECT_EQ(throttle.admit("192.0.2.1", now).action, A::Drop);
	/* A sustained flood logs kPerSecond lines a second (here 1.25 s). */
	int logged = 0;
	for (int ms = 0; ms < 1250; ms++) {
		now += 1000;
		logged += throttle.admit("192.0.2.1", now).action == A::Log;
	}
	EXPECT_EQ(logged, 2);
	/* After a quiet spell the budget is whole again and a new run is
	 * announced again. */
	now += 10'000'000;
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(throttle.admit("192.0.2.1", now).action, A::Log) << i;
	EXPECT_EQ(throttle.admit("192.0.2.1", now).action, A::AnnounceDropping);
	/* A clock that goes back refills nothing and breaks nothing. */
	EXPECT_EQ(throttle.admit("192.0.2.1", now - 5'000'000).action, A::Drop);
}

TEST(RefusalThrottle, ManyAddressesShareOneBoundedBudget)
{
	RefusalThrottle throttle;
	using A = RefusalThrottle::Action;
	std::int64_t now = 1'000'000'000;
	for (std::size_t i = 0; i < RefusalThrottle::kMaxAddresses; i++) {
		std::string address = "2001:db8::" + std::to_string(i);
		for (int j = 0; j < 7; j++)
			throttle.admit(address, now); /* each busy: nothing to forget */
	}
	/* Past the bound, new addresses share one budget of kBurst. */
	int logged = 0;
	for (int i = 0; i < 1000; i++)
		logged += throttle.admit("2001:db8:1::" + std::to_string(i), now).action == A::Log;
	EXPECT_EQ(logged, 5);
	/* Once the tracked ones are quiet again (and reported), they are
	 * forgotten and a newcomer gets its own budget. */
	now += 60'000'000;
	for (std::size_t i = 0; i < RefusalThrottle::kMaxAddresses; i++)
		throttle.admit("2001:db8::" + std::to_string(i), now);
	now += 60'000'000;
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(throttle.admit("198.51.100.7", now).action, A::Log) << i;
}

} // namespace
} // namespace meshcall::server
