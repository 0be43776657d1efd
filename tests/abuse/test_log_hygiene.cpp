// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, "Logs a terminal can trust": hostile Origins, names, paths and
 * methods reach the real server, and every line it writes on stderr is at
 * most 1 KB, valid UTF-8 and free of control characters (so free of terminal
 * escapes); refusals are logged a few per second per client address, the
 * rest counted. The unit tests of the escaping and the throttle are
 * tests/server/registry/test_log_text.cpp. */
#include "abuse/server_stderr.h"

#include <string>
#include <vector>

using namespace meshcall::test;

namespace
{

constexpr const char *kAllowed = "https://call.example.org";

std::string upgrade_with_origin(int port, const std::string &origin)
{
	return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
	       "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	       "Origin: " +
	       origin + "\r\nConnection: close\r\n\r\n";
}

/* Why `line` could not be trusted on a terminal, or "" when it can. */
std::string untrusted(const std::string &line)
{
	if (line.size() > 1024)
		return "longer than 1 KB (" + std::to_string(line.size()) + " bytes)";
	if (line.empty() || line.back() != '\n')
		return "not a whole line";
	std::string body = line.substr(0, line.size() - 1);
	if (!g_utf8_validate(body.data(), static_cast<gssize>(body.size()), nullptr))
		return "not UTF-8";
	for (const char *p = body.c_str(); p < body.c_str() + body.size();
	     p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return "control character U+" + std::to_string(c);
		if (c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069))
			return "line separator or bidi control U+" + std::to_string(c);
	}
	return {};
}

std::size_t count_lines_with(const std::vector<std::string> &lines, const std::string &a,
			     const std::string &b = {})
{
	std::size_t n = 0;
	for (const std::string &line : lines)
		n += line.find(a) != std::string::npos && line.find(b) != std::string::npos;
	return n;
}

class LogHygieneTest : public ServerTest
{
protected:
	void start()
	{
		stderr_.capture([&] {
			start_server({"--allowed-origin", kAllowed},
				     {"G_MESSAGES_DEBUG=meshcall-server"});
		});
	}
	/* Every line so far, each checked. */
	std::vector<std::string> checked_lines()
	{
		std::vector<std::string> lines = stderr_.lines();
		for (const std::string &line : lines)
			EXPECT_EQ(untrusted(line), "") << line.substr(0, 300);
		return lines;
	}
	bool logged(const std::string &needle)
	{
		return wait_until([&] { return stderr_.text().find(needle) != std::string::npos; },
				  kTimeout);
	}

	ServerStderr stderr_;
};

TEST_F(LogHygieneTest, HostileOriginsNamesAndPathsMakeTrustworthyLines)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const int port = server_.port();

	/* Each from an address of its own, so the throttle drops none. */
	const std::vector<std::pair<std::string, std::string>> origins = {
	    {"https://evil\x1b[2J\x1b[31mRED\x1b[0m", "https://evil\\x1b[2J\\x1b[31mRED\\x1b[0m"},
	    {"https://evil\x1b]0;pwned\x07", "https://evil\\x1b]0;pwned\\x07"},
	    {"https://c1\xc2\x9b"
	     "31m",
	     "https://c1\\xc2\\x9b31m"},
	    {"https://\xe2\x80\xaegro.live", "https://\\xe2\\x80\\xaegro.live"},
	    /* libsoup itself turns bytes that are not UTF-8 in a header into
	     * U+FFFD, which prints as it is; DEL is ours to escape. */
	    {"https://bad\xff\xfe\x7f", "https://bad\xef\xbf\xbd\xef\xbf\xbd\\x7f"},
	    {"https://a\rb", ""}, /* libsoup may refuse the header itself */
	    {"https://" + std::string(20000, 'a'), "https://aaaa"},
	};
	int n = 2;
	for (const auto &[origin, escaped] : origins) {
		std::string from = "127.0.0." + std::to_string(n++);
		std::string answer =
		    raw_http(port, upgrade_with_origin(port, origin), from.c_str());
		EXPECT_EQ(answer.rfind("HTTP/1.1 101", 0), std::string::npos) << escaped;
		if (!escaped.empty()) {
			EXPECT_TRUE(logged("refused WebSocket upgrade from Origin " + escaped))
			    << escaped;
		}
	}
	/* The 20 KB Origin was cut inside its line. */
	EXPECT_TRUE(logged(" bytes]"));

	/* Names the protocol allows but a terminal would act on, and one it
	 * refuses (its refusal is logged without it). */
	std::string rlo64;
	for (int i = 0; i < 64; i++)
		rlo64 += "\xe2\x80\xae"; /* U+202E, 64 times: 768 bytes escaped */
	const std::vector<std::pair<std::string, std::string>> names = {
	    {"\xe2\x80\xaegnp.exe", "joined as \\xe2\\x80\\xaegnp.exe"},
	    {"two\xe2\x80\xa8lines", "joined as two\\xe2\\x80\\xa8lines"},
	    {"back\\x1b", "joined as back\\\\x1b"},
	    {rlo64, "joined as \\xe2\\x80\\xae"},
	};
	int room = 0;
	for (const auto &[name, expected] : names) {
		WsClient *c = connect("hostile-name");
		ASSERT_TRUE(c);
		ASSERT_TRUE(c->join("r" + std::to_string(room++), name));
		if (!expected.empty()) {
			EXPECT_TRUE(logged(expected)) << expected;
		}
	}
	WsClient *refused = connect("escape-name");
	ASSERT_TRUE(refused);
	refused->send(R"({"type":"join","room":"x","name":"\u001b[2Jwiped"})");
	ASSERT_TRUE(refused->expect_error("invalid-name"));
	EXPECT_TRUE(logged("join refused: invalid-name"));

	/* Paths and methods, in the HTTP debug lines. */
	raw_http(port, "GET /%1b%5b2J%1b]0;x%07/%e2%80%ae HTTP/1.1\r\nHost: x\r\n"
		       "Connection: close\r\n\r\n");
	raw_http(port, "GET /" + std::string(8000, 'p') +
			   " HTTP/1.1\r\nHost: x\r\n"
			   "Connection: close\r\n\r\n");
	raw_http(port, "BREW\x1b[5m /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	ASSERT_EQ(get("/healthz").status, 200u);
	EXPECT_TRUE(logged("GET /healthz: 200"));

	ASSERT_TRUE(server_.stop());
	std::vector<std::string> lines = checked_lines();
	EXPECT_GT(lines.size(), 15u);
}

TEST_F(LogHygieneTest, RefusalsAreThrottledPerAddressAndCounted)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const int port = server_.port();
	const std::string flooder = "client 127.0.0.2:";
	const std::string request = upgrade_with_origin(port, "https://flood.example");

	gint64 t0 = g_get_monotonic_time();
	constexpr int kFlood = 200;
	for (int i = 0; i < kFlood; i++)
		raw_http(port, request, "127.0.0.2");
	double elapsed_s = (g_get_monotonic_time() - t0) / 1e6;
	/* Another address is not silenced by the flood. */
	raw_http(port, upgrade_with_origin(port, "https://bystander.example"), "127.0.0.3");
	EXPECT_TRUE(logged("Origin https://bystander.example"));

	std::vector<std::string> lines = checked_lines();
	std::size_t logged_refusals = count_lines_with(lines, flooder, "refused WebSocket upgrade");
	EXPECT_GE(logged_refusals, 5u);
	EXPECT_LE(logged_refusals, 5 + static_cast<std::size_t>(2 * elapsed_s) + 1)
	    << "in " << elapsed_s << " s";
	EXPECT_EQ(count_lines_with(lines, flooder, "counted, not logged"), 1u);

	/* Half a second later the next refusal is logged with the count. */
	pump_for(0.6);
	raw_http(port, request, "127.0.0.2");
	EXPECT_TRUE(logged("more refusals from this address were not logged"));

	/* The registry's refusals share the rule: 150 bad messages on one
	 * connection make a handful of lines. */
	WsClient *c = connect("bad-messages");
	ASSERT_TRUE(c);
	for (int i = 0; i < 150; i++)
		c->send("{\x1b[31m");
	for (int i = 0; i < 150; i++)
		ASSERT_TRUE(c->expect_error("bad-message"));
	ASSERT_TRUE(server_.stop());
	lines = checked_lines();
	std::size_t bad = count_lines_with(lines, "message refused: bad-message");
	EXPECT_GE(bad, 5u);
	EXPECT_LE(bad, 12u);
}

} // namespace
