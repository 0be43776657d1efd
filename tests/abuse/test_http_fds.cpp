// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, finding 1: libsoup 3.2.3 never noticed a client closing an idle
 * keep-alive connection, and once accept() failed with EMFILE it never
 * accepted again (docs/design.md, fact 14). */
#include <unistd.h>

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
	EXPECT_TRUE(set_fd_limit(pid, 1 << 20)); /* back to its hard limit */
}

} // namespace
