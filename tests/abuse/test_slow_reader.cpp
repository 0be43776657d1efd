// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, finding 3: a peer that never reads made the server queue without
 * bound (9 MB to 337 MB in 60 s). Now it is closed with 1008 once it holds
 * more than --send-queue-limit (docs/protocol.md, "Liveness and limits"). */
#include "abuse_support.h"
#include "support/raw_ws.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using namespace meshcall::test::abuse;
namespace proto = meshcall::protocol;

namespace
{

constexpr long kRssLimitKb = 64 * 1024;
/* Under the default 100 messages/s. */
constexpr double kOffersPerSecond = 90;
constexpr double kGiveUpS = 25;

class SlowReaderTest : public ServerTest
{
};

bool saw_peer_left(WsClient *client, const std::string &id)
{
	for (const Incoming &in : client->queue()) {
		if (const auto *left = std::get_if<proto::PeerLeft>(&in.message))
			if (left->id == id)
				return true;
	}
	return false;
}

TEST_F(SlowReaderTest, APeerThatNeverReadsIsClosedAndTheRoomGoesOn)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	const int pid = server_.pid();
	proto::Welcome w;
	WsClient *sender = joined("slow", "sender", &w);
	ASSERT_TRUE(sender);
	WsClient *watcher = joined("slow", "watcher");
	ASSERT_TRUE(watcher);
	std::optional<proto::PeerJoined> watcher_joined = sender->expect<proto::PeerJoined>();
	ASSERT_TRUE(watcher_joined);

	/* Joins, then never reads a byte. */
	RawWsClient lazy;
	std::string error;
	ASSERT_TRUE(lazy.connect(server_.port(), &error)) << error;
	ASSERT_TRUE(lazy.send_frame(RawWsClient::kText, proto::join_json("slow", "lazy"), &error))
	    << error;
	std::optional<proto::PeerJoined> lazy_joined = sender->expect<proto::PeerJoined>();
	ASSERT_TRUE(lazy_joined);
	const std::string lazy_id = lazy_joined->peer.id;
	ASSERT_TRUE(watcher->expect<proto::PeerJoined>());

	const std::string offer = proto::offer_json(lazy_id, std::string(60000, 'v'));
	const long rss_before = rss_kb(pid);
	long rss_max = rss_before;
	const double start = monotonic_s();
	int sent = 0;
	bool evicted = false;
	while (!evicted && monotonic_s() - start < kGiveUpS) {
		while (sent < (monotonic_s() - start) * kOffersPerSecond) {
			sender->send(offer);
			sent++;
		}
		pump_for(0.02);
		rss_max = std::max(rss_max, rss_kb(pid));
		evicted = saw_peer_left(sender, lazy_id);
	}
	const double took = monotonic_s() - start;
	ASSERT_TRUE(evicted) << "lazy still in the room after " << sent << " offers of 60 KB";
	if (kRssIsMeaningful) {
		EXPECT_LT(rss_max, kRssLimitKb)
		    << "server RSS went from " << rss_before << " KiB to " << rss_max << " KiB";
	}
	EXPECT_TRUE(wait_until([&] { return saw_peer_left(watcher, lazy_id); }));
	RecordProperty("offers_before_close", sent);
	RecordProperty("seconds_before_close", std::to_string(took));
	RecordProperty("server_rss_max_kb", std::to_string(rss_max));

	/* What it was sent ends with the close, 1008. */
	EXPECT_EQ(lazy.read_close_code(&error), 1008) << error;

	/* The sender and the room go on. */
	sender->queue().clear();
	watcher->queue().clear();
	sender->send(proto::offer_json(watcher_joined->peer.id, "v=0 still here"));
	bool relayed = false;
	while (std::optional<Incoming> in = watcher->next()) {
		if (const auto *o = std::get_if<proto::RelayedOffer>(&in->message)) {
			relayed = o->from == w.id && o->sdp == "v=0 still here";
			break;
		}
	}
	EXPECT_TRUE(relayed);
	EXPECT_TRUE(sender->ping_pong());
}

} // namespace
