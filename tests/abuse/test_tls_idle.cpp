// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, finding 2: sockets that never start their TLS handshake each held
 * a thread of GLib's pool, and with 400 of them a wss join took over a
 * minute. Now the handshake starts only once the ClientHello is in, and
 * --tls-handshake-timeout closes the silent ones. */
#include <sys/socket.h>
#include <unistd.h>

#include "abuse_support.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using namespace meshcall::test::abuse;

/* As in tests/server/websocket/test_tls.cpp: LeakSanitizer's tracer crashes
 * at exit in a process that did a GnuTLS handshake through glib-networking. */
extern "C" const char *__lsan_default_options()
{
	return "detect_leaks=0";
}

namespace
{

constexpr double kHandshakeTimeout = 3;

class TlsIdleTest : public ServerTest
{
};

TEST_F(TlsIdleTest, SocketsThatNeverStartTlsNeitherBlockAJoinNorStay)
{
	SelfSignedCert files;
	std::string error;
	ASSERT_TRUE(files.make(&error)) << error;
	g_autoptr(GError) err = nullptr;
	ASSERT_NO_FATAL_FAILURE(
	    start_server({"--tls-cert", files.cert, "--tls-key", files.key,
			  "--tls-handshake-timeout", std::to_string(kHandshakeTimeout)},
			 {"LSAN_OPTIONS=detect_leaks=0"}));
	g_autoptr(GTlsCertificate) cert = g_tls_certificate_new_from_file(files.cert.c_str(), &err);
	ASSERT_TRUE(cert) << err->message;

	/* 400 from four addresses (100 each, under the per-address limit);
	 * twenty more send the first bytes of a ClientHello and stop. */
	std::vector<int> idle;
	for (int i = 0; i < 420; i++) {
		int fd = connect_from(loopback_source(i, 2, 4), server_.port());
		ASSERT_GE(fd, 0);
		if (i >= 400) {
			ASSERT_EQ(send(fd, "\x16\x03\x01\x02\x00\x01", 6, 0), 6);
		}
		idle.push_back(fd);
	}
	const double opened = monotonic_s();
	pump_for(0.2);

	ClientOptions trusting;
	trusting.trusted_certificate = cert;
	const double before = monotonic_s();
	WsClient *alice = connect("alice", trusting);
	ASSERT_TRUE(alice);
	EXPECT_TRUE(alice->join("tls", "alice"));
	const double took = monotonic_s() - before;
	EXPECT_LT(took, 1.0) << "a wss join took " << took << " s";
	RecordProperty("wss_join_seconds", std::to_string(took));

	/* Each idle socket is closed by the server once its time is up. */
	std::vector<double> closed_after(idle.size(), -1);
	auto all_closed = [&] {
		bool all = true;
		for (std::size_t i = 0; i < idle.size(); i++) {
			if (closed_after[i] >= 0)
				continue;
			char byte;
			ssize_t n = recv(idle[i], &byte, 1, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				closed_after[i] = monotonic_s() - opened;
			else
				all = false;
		}
		return all;
	};
	EXPECT_TRUE(wait_until(all_closed, kHandshakeTimeout + 5));
	int early = 0, open = 0;
	for (double t : closed_after) {
		open += t < 0;
		early += t >= 0 && t < kHandshakeTimeout - 0.5;
	}
	EXPECT_EQ(open, 0);
	EXPECT_EQ(early, 0) << "closed before their handshake timeout";
	for (int fd : idle)
		close(fd);

	/* Meanwhile the joined client was left alone. */
	EXPECT_TRUE(alice->ping_pong());
}

} // namespace
