// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, finding 5: a WebSocket that never joined stayed open for ever, and
 * nothing capped the connections one address holds. docs/protocol.md, "Close
 * codes": 1008 for both, with a reason. */
#include <sys/socket.h>
#include <unistd.h>

#include "abuse_support.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using namespace meshcall::test::abuse;
using State = SilentWebSockets::State;

namespace
{

constexpr double kJoinTimeout = 3;

class WebSocketQuotaTest : public ServerTest
{
};

std::vector<std::string> sources(int first, int count)
{
	std::vector<std::string> out;
	for (int i = 0; i < count; i++)
		out.push_back(loopback_source(i, first, count));
	return out;
}

TEST_F(WebSocketQuotaTest, SilentWebSocketsAreClosedAfterTheJoinTimeoutWhileOthersJoin)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--join-timeout", std::to_string(kJoinTimeout)}));

	/* 5,000 from 25 addresses, 200 each: under the per-address limit. */
	SilentWebSockets silent;
	ASSERT_TRUE(silent.open(server_.port(), 5000, sources(10, 25)));
	ASSERT_TRUE(silent.pump_until([&] { return silent.count(State::Connecting) == 0; }, 20));
	/* Every one was upgraded; on a slow build the first may already be
	 * closed by their join timeout while the last are upgraded. */
	int upgraded = 0;
	for (const SilentWebSockets::Socket &s : silent.sockets())
		upgraded += s.upgraded_at > 0;
	ASSERT_EQ(upgraded, 5000);

	/* Meanwhile a real client gets in and joins at once. */
	const double before = monotonic_s();
	WsClient *alice = connect("alice");
	ASSERT_TRUE(alice);
	std::optional<meshcall::protocol::Welcome> welcome = alice->join("quota", "alice");
	const double took = monotonic_s() - before;
	ASSERT_TRUE(welcome);
	EXPECT_LT(took, 0.1) << "connect and join took " << took << " s";
	RecordProperty("join_seconds", std::to_string(took));

	/* Each silent one goes once its join timeout has passed, not before
	 * (counted from its upgrade request: the server upgraded it after). */
	ASSERT_TRUE(silent.pump_until([&] { return silent.count(State::Upgraded) == 0; },
				      kJoinTimeout + 10));
	int early = 0, late = 0, wrong = 0;
	for (const SilentWebSockets::Socket &s : silent.sockets()) {
		double after = s.closed_at - s.sent_at;
		early += after < kJoinTimeout;
		late += after > kJoinTimeout + 5;
		wrong += s.state != State::Closed || s.close_code != 1008 ||
			 s.close_reason.find("join") == std::string::npos;
	}
	EXPECT_EQ(silent.count(State::Closed), 5000);
	EXPECT_EQ(early, 0);
	EXPECT_EQ(late, 0);
	EXPECT_EQ(wrong, 0) << "e.g. code " << silent.sockets()[0].close_code << " \""
			    << silent.sockets()[0].close_reason << "\"";

	/* The client that joined stays. */
	EXPECT_TRUE(alice->ping_pong());
	EXPECT_FALSE(alice->closed());
}

TEST_F(WebSocketQuotaTest, OneAddressGetsItsLimitAndTheRestAreToldWhy)
{
	ASSERT_NO_FATAL_FAILURE(
	    start_server({"--max-connections-per-address", "100", "--join-timeout", "30"}));
	SilentWebSockets crowd;
	ASSERT_TRUE(crowd.open(server_.port(), 110, {"127.0.0.9"}));
	ASSERT_TRUE(crowd.pump_until(
	    [&] {
		    return crowd.count(State::Connecting) == 0 &&
			   crowd.count(State::Closed) + crowd.count(State::Ended) >= 10;
	    },
	    10));
	EXPECT_EQ(crowd.count(State::Upgraded), 100);
	int told = 0;
	for (const SilentWebSockets::Socket &s : crowd.sockets()) {
		if (s.state == State::Closed && s.close_code == 1008 &&
		    s.close_reason == "too many connections from your address")
			told++;
	}
	EXPECT_EQ(told, 10);

	/* Another address is not affected... */
	WsClient *bob = connect("bob");
	ASSERT_TRUE(bob);
	EXPECT_TRUE(bob->join("quota", "bob"));
	/* ...and plain HTTP from the full one gets 503. */
	int fd = connect_from("127.0.0.9", server_.port());
	ASSERT_GE(fd, 0);
	const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	ASSERT_EQ(send(fd, get.data(), get.size(), 0), static_cast<ssize_t>(get.size()));
	std::string answer;
	const double deadline = monotonic_s() + 5;
	char buffer[1024];
	while (answer.find("\r\n\r\n") == std::string::npos && monotonic_s() < deadline) {
		ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
		if (n > 0)
			answer.append(buffer, static_cast<std::size_t>(n));
		else if (n == 0)
			break;
		else
			pump_for(0.01);
	}
	close(fd);
	EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
}

TEST_F(WebSocketQuotaTest, AFullServerSaysSo)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--max-connections", "50"}));
	SilentWebSockets crowd;
	ASSERT_TRUE(crowd.open(server_.port(), 60, sources(10, 6)));
	ASSERT_TRUE(crowd.pump_until(
	    [&] {
		    return crowd.count(State::Connecting) == 0 &&
			   crowd.count(State::Closed) + crowd.count(State::Ended) >= 10;
	    },
	    10));
	EXPECT_EQ(crowd.count(State::Upgraded), 50);
	int told = 0;
	for (const SilentWebSockets::Socket &s : crowd.sockets()) {
		if (s.state == State::Closed && s.close_code == 1008 &&
		    s.close_reason == "the server is full, try again later")
			told++;
	}
	EXPECT_EQ(told, 10);
	TimedGet full = timed_get(server_.port(), "/healthz");
	EXPECT_EQ(full.status, 503) << full.error;
}

} // namespace
