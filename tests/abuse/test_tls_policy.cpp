// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, "TLS": the server speaks TLS 1.2 and later only, and with TLS on
 * every HTTP response carries Strict-Transport-Security. The clients are
 * `openssl s_client` runs: OPENSSL_CONF=/dev/null and @SECLEVEL=0 take
 * Debian's own client-side floor (TLS 1.2) away, so a refusal of TLS 1.1 is
 * the server's; a server given a GnuTLS priority that allows 1.1 shows that
 * the same client gets through there (and that the user's priority wins). */
#include "abuse/server_stderr.h"

#include <string>

using namespace meshcall::test;

namespace
{

constexpr const char *kHsts = "Strict-Transport-Security: max-age=31536000";

class TlsPolicyTest : public ServerTest
{
protected:
	void SetUp() override
	{
		g_autofree char *openssl = g_find_program_in_path("openssl");
		if (!openssl)
			GTEST_SKIP() << "no openssl";
		std::string error;
		ASSERT_TRUE(files_.make(&error)) << error;
	}

	void start_tls(const std::vector<std::string> &env = {})
	{
		std::vector<std::string> all = env;
		/* LeakSanitizer's tracer crashes after a GnuTLS handshake; see
		 * tests/server/websocket/test_tls.cpp. */
		all.push_back("LSAN_OPTIONS=detect_leaks=0");
		start_server({"--tls-cert", files_.cert, "--tls-key", files_.key,
			      "--allowed-origin", "https://call.example.org"},
			     all);
		ASSERT_TRUE(server_.tls());
	}

	/* One request over `openssl s_client` with the given protocol option;
	 * its whole output (handshake summary, then the HTTP answer). */
	CommandResult request(const std::string &version, const std::string &head)
	{
		return run_with_input({"timeout", "10", "openssl", "s_client", version, "-cipher",
				       "DEFAULT:@SECLEVEL=0", "-ign_eof", "-connect",
				       "127.0.0.1:" + std::to_string(server_.port())},
				      head, {"OPENSSL_CONF=/dev/null"});
	}
	static std::string get(const std::string &path, const std::string &extra = {})
	{
		return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
		       "Connection: close\r\n\r\n";
	}

	SelfSignedCert files_;
};

TEST_F(TlsPolicyTest, Tls11IsRefused)
{
	ASSERT_NO_FATAL_FAILURE(start_tls());
	for (const char *old : {"-tls1_1", "-tls1"}) {
		CommandResult r = request(old, get("/healthz"));
		ASSERT_TRUE(r.ran);
		EXPECT_NE(r.exit_status, 0) << old;
		EXPECT_EQ(r.out.find("HTTP/1.1 200"), std::string::npos) << old << ":\n" << r.out;
		EXPECT_NE(r.out.find("Cipher is (NONE)"), std::string::npos) << old << ":\n"
									     << r.out;
	}
	/* The server is still there for everybody else. */
	CommandResult ok = request("-tls1_2", get("/healthz"));
	EXPECT_NE(ok.out.find("HTTP/1.1 200 OK"), std::string::npos) << ok.out << ok.err;
}

TEST_F(TlsPolicyTest, TheSameClientGetsThroughWhereTheUserAllowsTls11)
{
	/* The control for the test above: the client can speak TLS 1.1, and a
	 * priority set by the user replaces the server's. */
	ASSERT_NO_FATAL_FAILURE(start_tls({"G_TLS_GNUTLS_PRIORITY=NORMAL:%COMPAT"}));
	CommandResult r = request("-tls1_1", get("/healthz"));
	EXPECT_NE(r.out.find("Protocol  : TLSv1.1"), std::string::npos) << r.out << r.err;
	EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out << r.err;
}

TEST_F(TlsPolicyTest, Tls12IsServedWithHstsOnEveryResponse)
{
	ASSERT_NO_FATAL_FAILURE(start_tls());
	const struct {
		std::string head;
		std::string status;
	} requests[] = {
	    {get("/healthz"), "HTTP/1.1 200 OK"},
	    {get("/"), "HTTP/1.1 200 OK"},
	    {get("/api/rooms/demo"), "HTTP/1.1 200 OK"},
	    {get("/no/such/page"), "HTTP/1.1 404"},
	    /* Refused by the Origin check, before any handler. */
	    {get("/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			"Sec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n"),
	     "HTTP/1.1 403"},
	    /* Refused by libsoup itself. */
	    {"NOT HTTP AT ALL\r\n\r\n", "HTTP/1.0 400"},
	};
	for (const auto &req : requests) {
		CommandResult r = request("-tls1_2", req.head);
		SCOPED_TRACE(req.head.substr(0, 30));
		EXPECT_NE(r.out.find("Protocol  : TLSv1.2"), std::string::npos) << r.out << r.err;
		EXPECT_NE(r.out.find(req.status), std::string::npos) << r.out;
		EXPECT_NE(r.out.find(kHsts), std::string::npos) << r.out;
	}
	/* TLS 1.3 too, the default of today's clients. */
	CommandResult r = request("-tls1_3", get("/healthz"));
	EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out << r.err;
	EXPECT_NE(r.out.find(kHsts), std::string::npos) << r.out;
}

TEST(PlainHttp, NoHstsWithoutTls)
{
	/* RFC 6797 §7.2: a host must not send it over plain HTTP. */
	ServerProcess server;
	std::string error;
	ASSERT_TRUE(server.start({}, &error)) << error;
	std::string answer = raw_http(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n"
						     "Connection: close\r\n\r\n");
	EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK", 0), 0u) << answer;
	EXPECT_EQ(answer.find("Strict-Transport-Security"), std::string::npos) << answer;
	EXPECT_TRUE(server.stop());
}

} // namespace
