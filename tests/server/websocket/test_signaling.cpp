// SPDX-License-Identifier: LGPL-2.1-or-later
/* Rooms, relaying, errors, limits, liveness and shutdown of the real server. */
#include <set>

#include <json-glib/json-glib.h>

#include "support/raw_ws.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using meshcall::protocol::ChatLine;
using meshcall::protocol::Error;
using meshcall::protocol::PeerJoined;
using meshcall::protocol::PeerLeft;
using meshcall::protocol::Pong;
using meshcall::protocol::RelayedAnswer;
using meshcall::protocol::RelayedCandidate;
using meshcall::protocol::RelayedOffer;
using meshcall::protocol::Welcome;

namespace
{

class SignalingTest : public ServerTest
{
};

/* The JSON members of `text` that are not in `allowed`, comma separated. */
std::string fields_outside(const std::string &text, const std::set<std::string> &allowed)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	if (!json_parser_load_from_data(parser, text.c_str(), text.size(), nullptr))
		return "<not JSON>";
	JsonNode *root = json_parser_get_root(parser);
	if (!JSON_NODE_HOLDS_OBJECT(root))
		return "<not an object>";
	std::string extra;
	g_autoptr(GList) members = json_object_get_members(json_node_get_object(root));
	for (GList *m = members; m; m = m->next) {
		if (!allowed.count(static_cast<const char *>(m->data)))
			extra += std::string(extra.empty() ? "" : ",") +
				 static_cast<const char *>(m->data);
	}
	return extra;
}

TEST_F(SignalingTest, RelaysReachOnlyTheAddresseeStampedWithTheTrueSender)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wa, wb, wc;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	std::optional<PeerJoined> pj = a->expect<PeerJoined>();
	ASSERT_TRUE(pj);
	EXPECT_EQ(pj->peer.id, wb.id);
	EXPECT_EQ(pj->peer.name, "bob");
	WsClient *c = joined("alpha", "carol", &wc);
	ASSERT_TRUE(c);
	for (WsClient *old : {a, b}) {
		pj = old->expect<PeerJoined>();
		ASSERT_TRUE(pj);
		EXPECT_EQ(pj->peer.id, wc.id);
		EXPECT_EQ(pj->peer.name, "carol");
	}

	for (const Welcome *w : {&wa, &wb, &wc}) {
		EXPECT_TRUE(meshcall::protocol::is_valid_peer_id(w->id)) << w->id;
		EXPECT_EQ(w->room, "alpha");
		EXPECT_EQ(w->capacity, 3);
	}
	EXPECT_NE(wa.id, wb.id);
	EXPECT_NE(wb.id, wc.id);
	EXPECT_NE(wa.id, wc.id);
	EXPECT_TRUE(wa.peers.empty());
	ASSERT_EQ(wb.peers.size(), 1u);
	EXPECT_EQ(wb.peers[0].id, wa.id);
	ASSERT_EQ(wc.peers.size(), 2u);
	std::set<std::string> seen{wc.peers[0].id, wc.peers[1].id};
	EXPECT_EQ(seen, (std::set<std::string>{wa.id, wb.id}));

	/* Carol offers to Alice pretending to be Bob, with an extra field. */
	c->send(R"({"type":"offer","to":")" + wa.id + R"(","from":")" + wb.id +
		R"(","sdp":"v=0 c2a","evil":{"x":1}})");
	std::optional<Incoming> in = a->next();
	ASSERT_TRUE(in) << "alice got no offer";
	const RelayedOffer *offer = std::get_if<RelayedOffer>(&in->message);
	ASSERT_TRUE(offer) << "alice expected an offer, got: " << in->text;
	EXPECT_EQ(offer->from, wc.id) << "from must be carol's id, not the one she wrote";
	EXPECT_EQ(offer->sdp, "v=0 c2a");
	EXPECT_EQ(fields_outside(in->text, {"type", "from", "sdp"}), "") << in->text;

	a->send(meshcall::protocol::answer_json(wc.id, "v=0 a2c"));
	in = c->next();
	ASSERT_TRUE(in) << "carol got no answer";
	const RelayedAnswer *answer = std::get_if<RelayedAnswer>(&in->message);
	ASSERT_TRUE(answer) << in->text;
	EXPECT_EQ(answer->from, wa.id);
	EXPECT_EQ(answer->sdp, "v=0 a2c");
	EXPECT_EQ(fields_outside(in->text, {"type", "from", "sdp"}), "") << in->text;

	/* Bob trickles a candidate to Carol with a forged from and junk. */
	b->send(
	    R"({"type":"candidate","to":")" + wc.id +
	    R"(","from":"0000000000000000","candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",)"
	    R"("sdpMLineIndex":1,"sdpMid":"1","usernameFragment":"junk"})");
	in = c->next();
	ASSERT_TRUE(in) << "carol got no candidate";
	const RelayedCandidate *cand = std::get_if<RelayedCandidate>(&in->message);
	ASSERT_TRUE(cand) << in->text;
	EXPECT_EQ(cand->from, wb.id);
	EXPECT_EQ(cand->candidate, "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host");
	EXPECT_EQ(cand->sdp_mline_index, 1);
	EXPECT_EQ(cand->sdp_mid, std::optional<std::string>("1"));
	EXPECT_EQ(
	    fields_outside(in->text, {"type", "from", "candidate", "sdpMLineIndex", "sdpMid"}), "")
	    << in->text;

	/* End of candidates from Carol to Bob, without sdpMid. */
	meshcall::protocol::Candidate eoc;
	eoc.to = wb.id;
	c->send(meshcall::protocol::candidate_json(eoc));
	in = b->next();
	ASSERT_TRUE(in) << "bob got no end-of-candidates";
	cand = std::get_if<RelayedCandidate>(&in->message);
	ASSERT_TRUE(cand) << in->text;
	EXPECT_EQ(cand->from, wc.id);
	EXPECT_EQ(cand->candidate, "");
	EXPECT_EQ(cand->sdp_mline_index, 0);
	EXPECT_FALSE(cand->sdp_mid.has_value()) << in->text;

	/* Nothing else went anywhere: the marker is the next thing everyone sees. */
	a->send(meshcall::protocol::chat_json("marker"));
	for (WsClient *client : {a, b, c})
		ASSERT_NO_FATAL_FAILURE(expect_next_chat(client, "marker", wa.id));
}

TEST_F(SignalingTest, FourthClientGetsRoomFullAndMayJoinAnotherRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wa;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob");
	ASSERT_TRUE(b);
	WsClient *c = joined("alpha", "carol");
	ASSERT_TRUE(c);
	ASSERT_TRUE(a->expect<PeerJoined>());
	ASSERT_TRUE(a->expect<PeerJoined>());
	ASSERT_TRUE(b->expect<PeerJoined>());

	WsClient *d = connect("dave");
	ASSERT_TRUE(d);
	d->send(meshcall::protocol::join_json("alpha", "dave"));
	std::optional<Error> err = d->expect_error("room-full");
	ASSERT_TRUE(err);
	std::optional<Welcome> w = d->join("beta", "dave");
	ASSERT_TRUE(w) << "a refused join must leave the connection free to join elsewhere";
	EXPECT_EQ(w->room, "beta");
	EXPECT_TRUE(w->peers.empty());

	a->send(meshcall::protocol::chat_json("still three"));
	for (WsClient *client : {a, b, c})
		ASSERT_NO_FATAL_FAILURE(expect_next_chat(client, "still three", wa.id));
}

TEST_F(SignalingTest, CapacityOptionIsHonoured)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--capacity", "2"}));
	Welcome wa;
	ASSERT_TRUE(joined("duo", "alice", &wa));
	EXPECT_EQ(wa.capacity, 2);
	ASSERT_TRUE(joined("duo", "bob"));
	WsClient *c = connect("carol");
	ASSERT_TRUE(c);
	c->send(meshcall::protocol::join_json("duo", "carol"));
	EXPECT_TRUE(c->expect_error("room-full"));
}

TEST_F(SignalingTest, UnknownPeerIsRefusedAndNothingIsDelivered)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wa, wb, wx;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());
	WsClient *x = joined("beta", "xavier", &wx);
	ASSERT_TRUE(x);

	a->send(meshcall::protocol::offer_json(wx.id, "v=0 stray"));
	std::optional<Error> err = a->expect_error("unknown-peer");
	ASSERT_TRUE(err) << "a peer of another room is not addressable";
	if (err->ref) {
		EXPECT_EQ(*err->ref, "offer");
	}
	a->send(meshcall::protocol::answer_json(wa.id, "v=0 to myself"));
	EXPECT_TRUE(a->expect_error("unknown-peer")) << "to equal to my own id";
	meshcall::protocol::Candidate cand;
	cand.to = "0123456789abcdef";
	cand.candidate = "candidate:1 1 udp 1 127.0.0.1 9 typ host";
	a->send(meshcall::protocol::candidate_json(cand));
	EXPECT_TRUE(a->expect_error("unknown-peer"));

	a->send(meshcall::protocol::chat_json("marker-alpha"));
	ASSERT_NO_FATAL_FAILURE(expect_next_chat(a, "marker-alpha", wa.id));
	ASSERT_NO_FATAL_FAILURE(expect_next_chat(b, "marker-alpha", wa.id));
	x->send(meshcall::protocol::chat_json("marker-beta"));
	ASSERT_NO_FATAL_FAILURE(expect_next_chat(x, "marker-beta", wx.id));
}

TEST_F(SignalingTest, MalformedMessagesAreBadMessageAndTheConnectionStaysUsable)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *a = connect("alice");
	ASSERT_TRUE(a);
	a->send(R"({"type":"dance"})");
	ASSERT_TRUE(a->expect_error("bad-message")) << "unknown type before join";
	a->send(meshcall::protocol::offer_json("0123456789abcdef", "v=0"));
	ASSERT_TRUE(a->expect_error("not-joined"));
	ASSERT_TRUE(a->ping_pong()) << "ping is allowed before join";

	Welcome wa, wb;
	std::optional<Welcome> w = a->join("alpha", "alice");
	ASSERT_TRUE(w);
	wa = *w;
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());

	a->send_binary(meshcall::protocol::ping_json());
	ASSERT_TRUE(a->expect_error("bad-message")) << "binary frame";
	EXPECT_TRUE(a->ping_pong());

	const std::vector<std::string> bad = {
	    "not json",
	    "[1,2,3]",
	    R"("a string")",
	    R"({"no":"type"})",
	    R"({"type":42})",
	    R"({"type":"dance","to":")" + wb.id + R"("})",
	    R"({"type":"offer","sdp":"v=0"})",
	    R"({"type":"offer","to":")" + wb.id + R"("})",
	    R"({"type":"answer","to":")" + wb.id + R"(","sdp":7})",
	    R"({"type":"candidate","to":")" + wb.id + R"(","candidate":"x"})",
	    R"({"type":"candidate","to":")" + wb.id + R"(","candidate":"x","sdpMLineIndex":-1})",
	    R"({"type":"chat"})",
	    R"({"type":"media","audio":"yes","video":true})",
	};
	for (const std::string &text : bad) {
		a->send(text);
		ASSERT_TRUE(a->expect_error("bad-message")) << "for " << text;
		ASSERT_TRUE(a->ping_pong()) << "after " << text;
	}
	EXPECT_FALSE(a->closed());

	a->send(R"({"type":"join","room":"alpha","name":"again"})");
	EXPECT_TRUE(a->expect_error("already-joined"));

	a->send(meshcall::protocol::chat_json("marker"));
	ASSERT_NO_FATAL_FAILURE(expect_next_chat(b, "marker", wa.id));
}

TEST_F(SignalingTest, MessageOfExactly65536BytesIsAccepted)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);
	const std::string ping = ping_of_size(65536);
	ASSERT_EQ(ping.size(), 65536u);
	a->send(ping);
	EXPECT_TRUE(a->expect<Pong>());
	EXPECT_FALSE(a->closed());
}

TEST_F(SignalingTest, MessageOver65536BytesIsTooLargeAndCloses1009)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);
	a->send(ping_of_size(65537));
	EXPECT_TRUE(a->expect_error("too-large"));
	EXPECT_TRUE(a->expect_closed(1009));
}

TEST_F(SignalingTest, FloodingIsRateLimitedThenClosed1008)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--rate-limit", "10", "--rate-burst", "10"}));
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);

	/* 500 at once: ~490 refusals, well under the 1,000 that close. */
	const std::size_t first = 500;
	for (std::size_t i = 0; i < first; i++)
		a->send(meshcall::protocol::ping_json());
	ASSERT_WAIT(a->queue().size() >= first || a->closed(), 10);
	ASSERT_FALSE(a->closed()) << "closed after only " << first << " messages, code "
				  << a->close_code();
	std::size_t pongs = 0, limited = 0;
	for (const Incoming &in : a->queue()) {
		if (std::holds_alternative<Pong>(in.message))
			pongs++;
		else if (const Error *e = std::get_if<Error>(&in.message);
			 e && e->code == "rate-limited")
			limited++;
		else
			ADD_FAILURE() << "unexpected " << in.text;
	}
	a->queue().clear();
	EXPECT_GE(pongs, 9u) << "the burst is 10 and the join took one";
	EXPECT_LE(pongs, 100u) << "10/s cannot allow this many";
	EXPECT_GE(limited, first - 100);

	/* The limiter refills: the connection is still usable. */
	pump_for(0.5);
	ASSERT_TRUE(a->ping_pong());

	/* Sustained flooding: past 1,000 refusals within 10 s it is closed. */
	for (int i = 0; i < 700; i++)
		a->send(meshcall::protocol::ping_json());
	EXPECT_TRUE(a->expect_closed(1008, 10));
}

TEST_F(SignalingTest, LeaveClosesWith1000AndPeersSeePeerLeft)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wb;
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());
	b->send(meshcall::protocol::leave_json());
	EXPECT_TRUE(b->expect_closed(1000));
	std::optional<PeerLeft> left = a->expect<PeerLeft>();
	ASSERT_TRUE(left);
	EXPECT_EQ(left->id, wb.id);
}

TEST_F(SignalingTest, SilentClientIsDroppedAfterTheLivenessTimeout)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--liveness-timeout", "2"}));
	Welcome wa;
	WsClient *a = joined("live", "alice", &wa);
	ASSERT_TRUE(a);

	/* libsoup answers pings on its own, so the silent peer is hand-made. */
	RawWsClient silent;
	std::string error;
	ASSERT_TRUE(silent.connect(server_.port(), &error)) << error;
	ASSERT_TRUE(silent.send_frame(RawWsClient::kText,
				      meshcall::protocol::join_json("live", "silent"), &error))
	    << error;
	std::uint8_t opcode = 0;
	std::string frame;
	ASSERT_TRUE(silent.read_frame(&opcode, &frame, &error)) << error;
	ASSERT_EQ(opcode, RawWsClient::kText);
	std::optional<meshcall::protocol::ServerMessage> msg =
	    meshcall::protocol::parse_server_message(frame);
	ASSERT_TRUE(msg && std::holds_alternative<Welcome>(*msg)) << frame;
	const std::string silent_id = std::get<Welcome>(*msg).id;
	const gint64 silent_since = g_get_monotonic_time();

	std::optional<PeerJoined> pj = a->expect<PeerJoined>();
	ASSERT_TRUE(pj);
	EXPECT_EQ(pj->peer.id, silent_id);

	/* Timeout 2 s, pings every second: gone within ~3 s, not before 2 s. */
	std::optional<PeerLeft> left = a->expect<PeerLeft>(8);
	ASSERT_TRUE(left) << "the silent peer was never dropped";
	EXPECT_EQ(left->id, silent_id);
	const double elapsed = (g_get_monotonic_time() - silent_since) / 1e6;
	EXPECT_GE(elapsed, 1.5) << "dropped before the timeout";
	EXPECT_LE(elapsed, 6.0);

	/* Alice said nothing either, but her client answered the pings. */
	EXPECT_FALSE(a->closed()) << "close code " << a->close_code();
	EXPECT_TRUE(a->ping_pong());

	EXPECT_EQ(silent.read_close_code(&error), 1001) << error;
}

TEST_F(SignalingTest, AppLevelPingCountsAsTraffic)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--liveness-timeout", "2"}));
	Welcome wa;
	WsClient *a = joined("live", "alice", &wa);
	ASSERT_TRUE(a);

	/* Never answers WebSocket pings, but sends a ping message every 0.5 s. */
	RawWsClient browser_like;
	std::string error;
	ASSERT_TRUE(browser_like.connect(server_.port(), &error)) << error;
	ASSERT_TRUE(browser_like.send_frame(
	    RawWsClient::kText, meshcall::protocol::join_json("live", "browser"), &error))
	    << error;
	ASSERT_TRUE(a->expect<PeerJoined>());
	for (int i = 0; i < 8; i++) {
		pump_for(0.5);
		ASSERT_TRUE(browser_like.send_frame(RawWsClient::kText,
						    meshcall::protocol::ping_json(), &error))
		    << "after " << (i + 1) * 0.5 << " s: " << error;
	}
	/* 4 s with a 2 s timeout: still there. */
	ASSERT_TRUE(a->queue().empty()) << "alice saw: " << a->queue().front().text;
	a->send(meshcall::protocol::chat_json("marker"));
	ASSERT_NO_FATAL_FAILURE(expect_next_chat(a, "marker", wa.id));
}

TEST_F(SignalingTest, AbruptDisconnectIsPeerLeft)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);
	std::string error;
	std::string gone_id;
	{
		RawWsClient raw;
		ASSERT_TRUE(raw.connect(server_.port(), &error)) << error;
		ASSERT_TRUE(raw.send_frame(RawWsClient::kText,
					   meshcall::protocol::join_json("alpha", "vanishing"),
					   &error));
		std::optional<PeerJoined> pj = a->expect<PeerJoined>();
		ASSERT_TRUE(pj);
		gone_id = pj->peer.id;
	} /* TCP closed without a close frame */
	std::optional<PeerLeft> left = a->expect<PeerLeft>();
	ASSERT_TRUE(left);
	EXPECT_EQ(left->id, gone_id);
}

TEST_F(SignalingTest, InvalidUtf8InATextFrameCloses1007)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	RawWsClient raw;
	std::string error;
	ASSERT_TRUE(raw.connect(server_.port(), &error)) << error;
	ASSERT_TRUE(raw.send_frame(RawWsClient::kText, "{\"type\":\"ping\",\"x\":\"\xc3\x28\xff\"}",
				   &error))
	    << error;
	EXPECT_EQ(raw.read_close_code(&error), 1007) << error;
}

TEST_F(SignalingTest, SigtermClosesEveryClientWith1001AndExitsZero)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob");
	ASSERT_TRUE(b);
	WsClient *lobby = connect("not-joined");
	ASSERT_TRUE(lobby);
	ASSERT_TRUE(lobby->ping_pong());

	EXPECT_TRUE(server_.stop()) << "still running 5 s after SIGTERM";
	for (WsClient *client : {a, b, lobby})
		EXPECT_TRUE(client->expect_closed(1001));
	ASSERT_TRUE(server_.exited());
	EXPECT_TRUE(server_.exited_normally());
	EXPECT_EQ(server_.exit_status(), 0);
}

TEST_F(SignalingTest, SigintAlsoClosesWith1001AndExitsZero)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);
	EXPECT_TRUE(server_.stop(kTimeout, SIGINT)) << "still running 5 s after SIGINT";
	EXPECT_TRUE(a->expect_closed(1001));
	ASSERT_TRUE(server_.exited());
	EXPECT_TRUE(server_.exited_normally());
	EXPECT_EQ(server_.exit_status(), 0);
}

} // namespace
