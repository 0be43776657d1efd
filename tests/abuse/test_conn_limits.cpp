// SPDX-License-Identifier: LGPL-2.1-or-later
/* The pure parts of the limits: connection counting per address, the
 * address a client counts as, option checks, and the send queue's bound. */
#include <gtest/gtest.h>

#include "server/conn_limits.h"
#include "server/send_queue.h"

using namespace meshcall::server;
using Admission = ConnectionQuota::Admission;

namespace
{

std::string key_of(const char *ip)
{
	g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string(ip, 1234);
	return address_key(address);
}

TEST(ConnectionQuota, CountsPerAddressAndInTotal)
{
	ConnectionQuota quota(3, 2);
	EXPECT_EQ(quota.admit("a"), Admission::Admitted);
	EXPECT_EQ(quota.admit("a"), Admission::Admitted);
	EXPECT_EQ(quota.admit("a"), Admission::AddressFull);
	EXPECT_EQ(quota.admit("b"), Admission::Admitted);
	EXPECT_EQ(quota.admit("c"), Admission::ServerFull);
	EXPECT_EQ(quota.open(), 3);
	quota.release("a");
	EXPECT_EQ(quota.admit("c"), Admission::Admitted);
	EXPECT_EQ(quota.admit("a"), Admission::ServerFull);
	/* Refusals were never counted: releasing only what was admitted. */
	for (const char *key : {"a", "b", "c"})
		quota.release(key);
	EXPECT_EQ(quota.open(), 0);
	quota.release("never-admitted");
	EXPECT_EQ(quota.open(), 0);
}

TEST(ConnectionQuota, ZeroPerAddressMeansNoLimitThere)
{
	ConnectionQuota quota(1000, 0);
	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(quota.admit("proxy"), Admission::Admitted);
	EXPECT_EQ(quota.admit("proxy"), Admission::ServerFull);
}

TEST(AddressKey, IPv4AsItIsIPv6ByItsSlash64)
{
	EXPECT_EQ(key_of("192.0.2.7"), "192.0.2.7");
	EXPECT_EQ(key_of("::ffff:192.0.2.7"), "192.0.2.7");
	EXPECT_EQ(key_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
	EXPECT_EQ(key_of("2001:db8:1:2:bbbb::9"), key_of("2001:db8:1:2:aaaa::1"));
	EXPECT_NE(key_of("2001:db8:1:3::1"), key_of("2001:db8:1:2::1"));
}

TEST(LimitOptions, DefaultsAreValidAndNonsenseIsNot)
{
	std::string why;
	EXPECT_TRUE(validate_limits(ConnectionLimits{}, &why)) << why;
	ConnectionLimits l;
	l.join_timeout_s = 0;
	EXPECT_FALSE(validate_limits(l, &why));
	l = {};
	l.send_queue_bytes = 64 * 1024; /* a welcome could not fit */
	EXPECT_FALSE(validate_limits(l, &why));
	l = {};
	l.max_connections = 0;
	EXPECT_FALSE(validate_limits(l, &why));
	l = {};
	l.max_connections_per_address = 0;
	EXPECT_TRUE(validate_limits(l, &why)) << why;
	/* Every option is there, and ends with the empty entry. */
	std::vector<GOptionEntry> entries = limit_option_entries(l);
	ASSERT_EQ(entries.size(), 9u);
	EXPECT_EQ(entries.back().long_name, nullptr);
}

TEST(SendQueue, LibsoupGetsAWindowAndTheRestWaits)
{
	SendQueue q(1024 * 1024);
	auto text = std::make_shared<const std::string>(40000, 'x');
	const std::size_t frame = SendQueue::frame_bytes(40000);
	EXPECT_EQ(frame, 40004u);
	for (int i = 0; i < 3; i++)
		ASSERT_TRUE(q.push(text));
	/* Two fit the 64 KiB window (the second starts below it). */
	EXPECT_TRUE(q.take());
	EXPECT_TRUE(q.take());
	EXPECT_FALSE(q.take());
	EXPECT_EQ(q.held(), 3 * frame);
	q.written(frame);
	EXPECT_TRUE(q.take());
	q.written(10 * frame); /* libsoup's own frames: never below zero */
	EXPECT_EQ(q.held(), 0u);
}

TEST(SendQueue, KeepsTheOrder)
{
	SendQueue q(1024 * 1024);
	std::string taken;
	for (char c : std::string("abcdefgh")) {
		ASSERT_TRUE(q.push(std::make_shared<const std::string>(30000, c)));
		if (c == 'c' || c == 'f') {
			while (SendQueue::Text t = q.take())
				taken += t->front();
			q.written(q.held());
		}
	}
	while (SendQueue::Text t = q.take()) {
		taken += t->front();
		q.written(SendQueue::frame_bytes(t->size()));
	}
	EXPECT_EQ(taken, "abcdefgh");
	EXPECT_EQ(q.held(), 0u);
}

TEST(SendQueue, RefusesWhatWouldGoOverTheLimit)
{
	SendQueue q(1024 * 1024);
	auto text = std::make_shared<const std::string>(60000, 'x');
	int pushed = 0;
	while (q.push(text))
		pushed++;
	EXPECT_EQ(pushed, 17); /* 17 × 60,004 ≤ 1 MiB < 18 × 60,004 */
	EXPECT_LE(q.held(), 1024u * 1024);
	q.drop_queued();
	EXPECT_EQ(q.held(), 0u);
	EXPECT_TRUE(q.push(text));
}

} // namespace
