// SPDX-License-Identifier: LGPL-2.1-or-later
/* TLS: the server serves https/wss with the certificate it is given, and
 * nothing else on that port. */

#include "support/server_fixture.h"

using namespace meshcall::test;
using meshcall::protocol::Welcome;

/* In sanitizer builds LeakSanitizer's tracer segfaults at exit ("Tracer caught
 * signal 11") in a process that has done a GnuTLS handshake through the
 * dlopen()ed glib-networking module, client or server alike (reproduced with
 * a bare `openssl s_client` against the server), turning exit 0 into 1. Leak
 * checking is therefore off in this binary and its server only; every other
 * test keeps it. Without LSan this function is never called. */
extern "C" const char *__lsan_default_options()
{
	return "detect_leaks=0";
}

namespace
{

class TlsTest : public ServerTest
{
};

TEST_F(TlsTest, TlsServesWssWithTheGivenCertificateOnly)
{
	SelfSignedCert files;
	std::string error;
	ASSERT_TRUE(files.make(&error)) << error;
	g_autoptr(GError) err = nullptr;

	/* See __lsan_default_options() above: the same holds for the server. */
	ASSERT_NO_FATAL_FAILURE(start_server({"--tls-cert", files.cert, "--tls-key", files.key},
					     {"LSAN_OPTIONS=detect_leaks=0"}));
	EXPECT_EQ(server_.listening_line(),
		  "listening on https://127.0.0.1:" + std::to_string(server_.port()) + "/");
	ASSERT_TRUE(server_.tls());

	g_autoptr(GTlsCertificate) cert = g_tls_certificate_new_from_file(files.cert.c_str(), &err);
	ASSERT_TRUE(cert) << err->message;
	ClientOptions trusting;
	trusting.trusted_certificate = cert;
	WsClient *a = connect("alice", trusting);
	ASSERT_TRUE(a);
	std::optional<Welcome> w = a->join("secure", "alice");
	ASSERT_TRUE(w);
	EXPECT_EQ(w->room, "secure");

	/* Without accepting that certificate, or without TLS, no connection. */
	EXPECT_FALSE(WsClient::connect(server_.ws_url(), {}, &error)) << "untrusted cert accepted";
	const std::string plain = "ws://127.0.0.1:" + std::to_string(server_.port()) + "/ws";
	EXPECT_FALSE(WsClient::connect(plain, {}, &error)) << "plain ws:// on the TLS port worked";
}

} // namespace
