// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, finding 1: libsoup 3.2.3 never noticed a client closing an idle
 * keep-alive connection, and once accept() failed with EMFILE it never
 * accepted again (docs/design.md, fact 14). */
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "abuse_support.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using namespace meshcall::test::abuse;

namespace
{

class HttpDescriptorsTest : public ServerTest
{
};

std::vector<std::string> sources(int first, int count)
{
	std::vector<std::string> out;
	for (int i = 0; i < count; i++)
		out.push_back(loopback_source(i, first, count));
	return out;
}

TEST_F(HttpDescriptorsTest, KeepAliveRequestsClosedByTheClientLeaveNoDescriptorBehind)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	const int pid = server_.pid();
	ASSERT_TRUE(timed_get(server_.port(), "/healthz").status == 200);
	const int baseline = open_fds(pid);
	ASSERT_GT(baseline, 0);

	/* Every 2,500 responses, a fresh client must still be answered at once. */
	double slowest = 0;
	int probes = 0, probe_failures = 0;
	const int ok = keepalive_requests(
	    server_.port(), 25000, 16, sources(2, 8), 2500,
	    [&](int) {
		    TimedGet probe = timed_get(server_.port(), "/healthz");
		    probes++;
		    probe_failures += probe.status != 200;
		    slowest = std::max(slowest, probe.seconds);
	    },
	    120);
	EXPECT_EQ(ok, 25000);
	EXPECT_EQ(probes, 10);
	EXPECT_EQ(probe_failures, 0);
	EXPECT_LT(slowest, 0.1) << "a /healthz during the loop took " << slowest << " s";
	RecordProperty("slowest_healthz_seconds", std::to_string(slowest));

	ASSERT_WAIT(open_fds(pid) <= baseline, 5.0);
	TimedGet after = timed_get(server_.port(), "/healthz");
	EXPECT_EQ(after.status, 200) << after.error;
	EXPECT_LT(after.seconds, 0.1);
}

TEST_F(HttpDescriptorsTest, AcceptsAgainWithinASecondOnceDescriptorsFreeUp)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	const int pid = server_.pid();
	ASSERT_EQ(timed_get(server_.port(), "/healthz").status, 200);
	/* Room for 60 more connections, then EMFILE. */
	const int limit = open_fds(pid) + 60;
	ASSERT_TRUE(set_fd_limit(pid, static_cast<unsigned long>(limit)));

	/* Idle sockets from other addresses than the probe's (127.0.0.1):
	 * the server takes what it can, the rest wait in its backlog. */
	std::vector<int> idle;
	for (int i = 0; i < 200; i++) {
		int fd = connect_from(loopback_source(i, 2, 4), server_.port());
		ASSERT_GE(fd, 0);
		idle.push_back(fd);
	}
	ASSERT_WAIT(open_fds(pid) >= limit, 5.0);
	TimedGet starved = timed_get(server_.port(), "/healthz", 0.5);
	EXPECT_EQ(starved.status, 0) << "the server was not out of descriptors";

	for (int fd : idle)
		close(fd);
	const double freed = monotonic_s();
	TimedGet again;
	while (monotonic_s() - freed < 3) {
		again = timed_get(server_.port(), "/healthz", 0.5);
		if (again.status == 200)
			break;
	}
	const double took = monotonic_s() - freed;
	EXPECT_EQ(again.status, 200) << again.error;
	EXPECT_LT(took, 1.0) << "accepting again took " << took << " s";
	RecordProperty("accepting_again_seconds", std::to_string(took));
	EXPECT_TRUE(set_fd_limit(pid, 1 << 20)); /* back to its hard limit */
}

TEST_F(HttpDescriptorsTest, HalfSentRequestsAreClosedAfterTheHeaderTimeout)
{
	constexpr double kHeaderTimeout = 2;
	ASSERT_NO_FATAL_FAILURE(start_server({"--header-timeout", std::to_string(kHeaderTimeout)}));
	const int pid = server_.pid();
	const int baseline = open_fds(pid);
	/* 500 from five addresses, each stopping inside its request head. */
	std::vector<int> slow;
	for (int i = 0; i < 500; i++) {
		int fd = connect_from(loopback_source(i, 2, 5), server_.port());
		ASSERT_GE(fd, 0);
		ASSERT_EQ(send(fd, "GET /healthz HTTP/1.1\r\nHost: 127", 33, 0), 33);
		slow.push_back(fd);
	}
	const double sent = monotonic_s();
	ASSERT_WAIT(open_fds(pid) >= baseline + 500, 5.0);
	std::vector<double> closed_after(slow.size(), -1);
	auto all_closed = [&] {
		bool all = true;
		for (std::size_t i = 0; i < slow.size(); i++) {
			if (closed_after[i] >= 0)
				continue;
			char buffer[512];
			ssize_t n = recv(slow[i], buffer, sizeof(buffer), MSG_DONTWAIT);
			if (n >= 0 || errno != EAGAIN)
				closed_after[i] = monotonic_s() - sent;
			else
				all = false;
		}
		return all;
	};
	EXPECT_TRUE(wait_until(all_closed, kHeaderTimeout + 5));
	int early = 0;
	for (double t : closed_after)
		early += t >= 0 && t < kHeaderTimeout - 0.5;
	EXPECT_EQ(early, 0);
	ASSERT_WAIT(open_fds(pid) <= baseline, 5.0);
	for (int fd : slow)
		close(fd);
}

} // namespace
