// SPDX-License-Identifier: LGPL-2.1-or-later
/* Join validation, chat and history, media state and the precise field and
 * size rules of docs/protocol.md, against the real server. */
#include "support/raw_ws.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using meshcall::protocol::ChatLine;
using meshcall::protocol::Error;
using meshcall::protocol::PeerJoined;
using meshcall::protocol::PeerMedia;
using meshcall::protocol::RelayedCandidate;
using meshcall::protocol::RelayedOffer;
using meshcall::protocol::Welcome;

namespace
{

class RoomTest : public ServerTest
{
};

/* `n` copies of a UTF-8 character. */
std::string repeat(std::string_view ch, std::size_t n)
{
	std::string s;
	s.reserve(ch.size() * n);
	for (std::size_t i = 0; i < n; i++)
		s += ch;
	return s;
}

TEST_F(RoomTest, JoinIsValidatedRoomFirstThenName)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *c = connect("carol");
	ASSERT_TRUE(c);
	const std::vector<std::pair<std::string, std::string>> refused = {
	    {R"({"type":"join","room":"bad room","name":""})", "invalid-room"},
	    {R"({"type":"join","name":"carol"})", "invalid-room"},
	    {R"({"type":"join","room":42,"name":"carol"})", "invalid-room"},
	    {R"({"type":"join","room":"","name":"carol"})", "invalid-room"},
	    {R"({"type":"join","room":")" + std::string(65, 'r') + R"(","name":"carol"})",
	     "invalid-room"},
	    {R"({"type":"join","room":"alpha"})", "invalid-name"},
	    {R"({"type":"join","room":"alpha","name":null})", "invalid-name"},
	    {R"({"type":"join","room":"alpha","name":"   "})", "invalid-name"},
	    {R"({"type":"join","room":"alpha","name":"bell\u0007"})", "invalid-name"},
	    /* U+0085 is both Cc and White_Space: only trimmed at the ends. */
	    {R"({"type":"join","room":"alpha","name":"c\u00851"})", "invalid-name"},
	    {R"({"type":"join","room":"alpha","name":"c1\u0080"})", "invalid-name"},
	    {R"({"type":"join","room":"alpha","name":"del\u007f"})", "invalid-name"},
	    {R"({"type":"join","room":"alpha","name":")" + repeat("é", 65) + R"("})",
	     "invalid-name"},
	};
	for (const auto &[join, code] : refused) {
		c->send(join);
		ASSERT_TRUE(c->expect_error(code)) << "for " << join;
	}

	/* The trimmed name is the one stored and shown; 64 code points fit. */
	Welcome wa;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	std::optional<Welcome> w = c->join("alpha", "\u3000 " + repeat("é", 64) + "\t ");
	ASSERT_TRUE(w);
	EXPECT_EQ(w->name, repeat("é", 64));
	std::optional<PeerJoined> pj = a->expect<PeerJoined>();
	ASSERT_TRUE(pj);
	EXPECT_EQ(pj->peer.name, repeat("é", 64));
	EXPECT_TRUE(pj->peer.audio && pj->peer.video) << "audio/video default to true";
}

TEST_F(RoomTest, EverythingButJoinAndPingNeedsAJoinFirst)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *c = connect("carol");
	ASSERT_TRUE(c);
	meshcall::protocol::Candidate cand;
	cand.to = "0123456789abcdef";
	for (const std::string &msg :
	     {meshcall::protocol::offer_json("0123456789abcdef", "v=0"),
	      meshcall::protocol::answer_json("0123456789abcdef", "v=0"),
	      meshcall::protocol::candidate_json(cand), meshcall::protocol::chat_json("hi"),
	      meshcall::protocol::media_json(true, false), meshcall::protocol::leave_json()}) {
		c->send(msg);
		ASSERT_TRUE(c->expect_error("not-joined")) << "for " << msg;
	}
	EXPECT_TRUE(c->join("alpha", "carol"));
	EXPECT_TRUE(joined("alpha", "carol")) << "names need not be unique";
}

TEST_F(RoomTest, RelayedMessagesKeepTheirOrder)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wa, wb;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());
	const int count = 150; /* within the default burst of 200 */
	for (int i = 0; i < count; i++) {
		meshcall::protocol::Candidate cand;
		cand.to = wa.id;
		cand.candidate = "candidate:" + std::to_string(i) + " 1 udp 1 127.0.0.1 9 typ host";
		cand.sdp_mline_index = i;
		b->send(meshcall::protocol::candidate_json(cand));
	}
	for (int i = 0; i < count; i++) {
		std::optional<RelayedCandidate> cand = a->expect<RelayedCandidate>();
		ASSERT_TRUE(cand) << "candidate " << i;
		ASSERT_EQ(cand->sdp_mline_index, i);
	}
}

TEST_F(RoomTest, ChatReachesEveryoneIncludingTheAuthorInSeqOrder)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wa, wb;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());

	const std::int64_t now_ms = g_get_real_time() / 1000;
	const std::string text = "  hello\n\tworld ✓  "; /* relayed exactly, untrimmed */
	a->send(meshcall::protocol::chat_json(text));
	for (WsClient *client : {a, b}) {
		std::optional<ChatLine> line = client->expect<ChatLine>();
		ASSERT_TRUE(line);
		EXPECT_EQ(line->seq, 1);
		EXPECT_EQ(line->from, wa.id);
		EXPECT_EQ(line->name, "alice");
		EXPECT_EQ(line->text, text);
		EXPECT_NEAR(static_cast<double>(line->ts), static_cast<double>(now_ms), 60000);
	}
	b->send(meshcall::protocol::chat_json("second"));
	for (WsClient *client : {a, b}) {
		std::optional<ChatLine> line = client->expect<ChatLine>();
		ASSERT_TRUE(line);
		EXPECT_EQ(line->seq, 2);
		EXPECT_EQ(line->from, wb.id);
		EXPECT_EQ(line->name, "bob");
	}

	for (const std::string &bad :
	     {std::string("\r\n"), std::string("a\rb"), std::string(" \n "),
	      std::string("bell\x07"), repeat("ü", 2001)}) {
		a->send(meshcall::protocol::chat_json(bad));
		ASSERT_TRUE(a->expect_error("bad-message"))
		    << "chat text of " << bad.size() << " bytes";
	}
	a->send(meshcall::protocol::chat_json(repeat("ü", 2000)));
	for (WsClient *client : {a, b}) {
		std::optional<ChatLine> line = client->expect<ChatLine>();
		ASSERT_TRUE(line) << "2,000 characters are allowed";
		EXPECT_EQ(line->seq, 3) << "refused lines take no seq";
	}
}

TEST_F(RoomTest, HistoryKeepsTheLast50LinesAndVanishesWithTheRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--chat-rate", "1000", "--chat-burst", "1000",
					      "--rate-limit", "1000", "--rate-burst", "1000"}));
	Welcome wa;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	/* 2,000 four-byte characters a line: the biggest history there is. */
	auto line_text = [](int i) { return std::to_string(i) + repeat("😀", 1995); };
	const int lines = 55;
	for (int i = 1; i <= lines; i++)
		a->send(meshcall::protocol::chat_json(line_text(i)));
	ASSERT_WAIT(a->queue().size() >= static_cast<std::size_t>(lines) || a->closed(), 10);
	a->queue().clear();

	WsClient *b = connect("bob");
	ASSERT_TRUE(b);
	b->send(meshcall::protocol::join_json("alpha", "bob"));
	std::optional<Incoming> in = b->next();
	ASSERT_TRUE(in) << "no welcome";
	EXPECT_LE(in->text.size(), meshcall::protocol::kMaxServerMessageBytes)
	    << "a client need only accept 1 MiB";
	const Welcome *w = std::get_if<Welcome>(&in->message);
	ASSERT_TRUE(w) << in->text.substr(0, 200);
	ASSERT_EQ(w->history.size(), 50u);
	for (std::size_t i = 0; i < 50; i++) {
		const int seq = lines - 50 + 1 + static_cast<int>(i);
		EXPECT_EQ(w->history[i].seq, seq);
		EXPECT_EQ(w->history[i].from, wa.id);
		EXPECT_EQ(w->history[i].name, "alice");
		EXPECT_EQ(w->history[i].text, line_text(seq)) << "line " << seq;
	}

	a->send(meshcall::protocol::leave_json());
	b->send(meshcall::protocol::leave_json());
	ASSERT_TRUE(a->expect_closed(1000));
	ASSERT_TRUE(b->expect_closed(1000));
	Welcome wc;
	WsClient *c = joined("alpha", "carol", &wc);
	ASSERT_TRUE(c);
	EXPECT_TRUE(wc.history.empty()) << "the room should have vanished with its last peer";
	c->send(meshcall::protocol::chat_json("fresh"));
	std::optional<ChatLine> line = c->expect<ChatLine>();
	ASSERT_TRUE(line);
	EXPECT_EQ(line->seq, 1);
}

TEST_F(RoomTest, ChatHasItsOwnRateLimit)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--chat-rate", "1", "--chat-burst", "3"}));
	WsClient *a = joined("alpha", "alice");
	ASSERT_TRUE(a);
	for (int i = 0; i < 6; i++)
		a->send(meshcall::protocol::chat_json("line " + std::to_string(i)));
	ASSERT_WAIT(a->queue().size() >= 6 || a->closed(), kTimeout);
	int echoed = 0, limited = 0;
	for (const Incoming &in : a->queue()) {
		if (std::holds_alternative<ChatLine>(in.message))
			echoed++;
		else if (const Error *e = std::get_if<Error>(&in.message);
			 e && e->code == "rate-limited")
			limited++;
	}
	EXPECT_GE(echoed, 3);
	EXPECT_LE(echoed, 4);
	EXPECT_EQ(echoed + limited, 6);
	a->queue().clear();
	EXPECT_TRUE(a->ping_pong()) << "pings are not chat";
}

TEST_F(RoomTest, MediaStateIsBroadcastAndShownToNewcomers)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wa, wb;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());

	b->send(meshcall::protocol::media_json(false, true));
	std::optional<PeerMedia> m = a->expect<PeerMedia>();
	ASSERT_TRUE(m);
	EXPECT_EQ(m->id, wb.id);
	EXPECT_FALSE(m->audio);
	EXPECT_TRUE(m->video);

	Welcome wc;
	ASSERT_TRUE(joined("alpha", "carol", &wc));
	bool found = false;
	for (const auto &p : wc.peers) {
		if (p.id == wb.id) {
			found = true;
			EXPECT_FALSE(p.audio);
			EXPECT_TRUE(p.video);
		}
	}
	EXPECT_TRUE(found);

	/* The author gets no peer-media about itself. */
	b->send(meshcall::protocol::chat_json("marker"));
	ASSERT_TRUE(b->expect<PeerJoined>()); /* carol */
	ASSERT_NO_FATAL_FAILURE(expect_next_chat(b, "marker", wb.id));
}

TEST_F(RoomTest, NullMeansAbsentAndSdpIsLimitedTo60000Bytes)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *a = connect("alice");
	ASSERT_TRUE(a);
	a->send(R"({"type":"join","room":"alpha","name":"alice","token":null})");
	std::optional<Welcome> wa = a->expect<Welcome>();
	ASSERT_TRUE(wa) << "a null token is an absent token";
	Welcome wb;
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());

	b->send(R"({"type":"candidate","to":")" + wa->id +
		R"(","candidate":"","sdpMLineIndex":0,"sdpMid":null})");
	std::optional<Incoming> in = a->next();
	ASSERT_TRUE(in);
	const RelayedCandidate *cand = std::get_if<RelayedCandidate>(&in->message);
	ASSERT_TRUE(cand) << in->text;
	EXPECT_FALSE(cand->sdp_mid.has_value()) << in->text;

	const std::string sdp(60000, 's');
	b->send(meshcall::protocol::offer_json(wa->id, sdp));
	std::optional<RelayedOffer> offer = a->expect<RelayedOffer>();
	ASSERT_TRUE(offer) << "an sdp of exactly 60,000 bytes is allowed";
	EXPECT_EQ(offer->sdp, sdp);
	b->send(meshcall::protocol::offer_json(wa->id, sdp + "s"));
	EXPECT_TRUE(b->expect_error("bad-message"));
	b->send(meshcall::protocol::offer_json(wa->id, ""));
	EXPECT_TRUE(b->expect_error("bad-message")) << "empty sdp";
	b->send(meshcall::protocol::chat_json("marker"));
	ASSERT_NO_FATAL_FAILURE(expect_next_chat(a, "marker", wb.id));
}

TEST_F(RoomTest, SizeLimitAppliesToTheReassembledMessage)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	std::string error;
	const std::string exact = ping_of_size(65536);
	RawWsClient ok;
	ASSERT_TRUE(ok.connect(server_.port(), &error)) << error;
	ASSERT_TRUE(ok.send_frame(RawWsClient::kText, exact.substr(0, 40000), &error, false));
	ASSERT_TRUE(ok.send_frame(RawWsClient::kContinuation, exact.substr(40000), &error));
	std::uint8_t opcode = 0;
	std::string frame;
	ASSERT_TRUE(ok.read_frame(&opcode, &frame, &error)) << error;
	EXPECT_EQ(opcode, RawWsClient::kText);
	std::optional<meshcall::protocol::ServerMessage> pong =
	    meshcall::protocol::parse_server_message(frame);
	EXPECT_TRUE(pong && std::holds_alternative<meshcall::protocol::Pong>(*pong)) << frame;

	const std::string over = ping_of_size(65537);
	RawWsClient big;
	ASSERT_TRUE(big.connect(server_.port(), &error)) << error;
	ASSERT_TRUE(big.send_frame(RawWsClient::kText, over.substr(0, 40000), &error, false));
	ASSERT_TRUE(big.send_frame(RawWsClient::kContinuation, over.substr(40000), &error));
	ASSERT_TRUE(big.read_frame(&opcode, &frame, &error)) << error;
	ASSERT_EQ(opcode, RawWsClient::kText) << "expected the too-large error before the close";
	std::optional<meshcall::protocol::ServerMessage> msg =
	    meshcall::protocol::parse_server_message(frame);
	ASSERT_TRUE(msg && std::holds_alternative<Error>(*msg)) << frame;
	EXPECT_EQ(std::get<Error>(*msg).code, "too-large");
	EXPECT_EQ(big.read_close_code(&error), 1009) << error;
}

} // namespace
