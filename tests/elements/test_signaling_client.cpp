// SPDX-License-Identifier: LGPL-2.1-or-later
/* SignalingClient against the real meshcall-server (and, for frames the real
 * server never sends, an in-process libsoup server). Every client here uses
 * the default GMainContext, which wait_until() pumps. */
#include "room/signaling_client.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gst/gst.h>
#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include "support/crypto.h"
#include "support/server_fixture.h"

using meshcall::SignalingClient;
using meshcall::websocket_url_for;
using namespace meshcall::test;
using CloseReason = SignalingClient::CloseReason;

namespace
{

/* GStreamer is initialised only when GST_DEBUG asks for logs: gst_init()
 * makes GLib's quark table outgrow its first block, which GLib leaks by
 * design, and LeakSanitizer would report that in the ASan build. */
class GstEnvironment : public ::testing::Environment
{
public:
	void SetUp() override
	{
		if (g_getenv("GST_DEBUG"))
			gst_init(nullptr, nullptr);
	}
};
::testing::Environment *const gst_environment =
    ::testing::AddGlobalTestEnvironment(new GstEnvironment);

/* Everything one client's callbacks saw, in order. */
struct Events {
	struct Closed {
		CloseReason reason;
		int code;
		std::string detail;
	};
	std::vector<proto::Welcome> welcomes;
	std::vector<proto::PeerJoined> peer_joined;
	std::vector<proto::PeerLeft> peer_left;
	std::vector<proto::PeerMedia> peer_media;
	std::vector<proto::RelayedOffer> offers;
	std::vector<proto::RelayedAnswer> answers;
	std::vector<proto::RelayedCandidate> candidates;
	std::vector<proto::ChatLine> chats;
	std::vector<proto::Error> errors;
	std::vector<Closed> closed;
	int total = 0;
};

SignalingClient::Callbacks record_into(Events &e)
{
	SignalingClient::Callbacks cb;
	cb.welcome = [&e](const proto::Welcome &m) {
		e.welcomes.push_back(m);
		++e.total;
	};
	cb.peer_joined = [&e](const proto::PeerJoined &m) {
		e.peer_joined.push_back(m);
		++e.total;
	};
	cb.peer_left = [&e](const proto::PeerLeft &m) {
		e.peer_left.push_back(m);
		++e.total;
	};
	cb.peer_media = [&e](const proto::PeerMedia &m) {
		e.peer_media.push_back(m);
		++e.total;
	};
	cb.offer = [&e](const proto::RelayedOffer &m) {
		e.offers.push_back(m);
		++e.total;
	};
	cb.answer = [&e](const proto::RelayedAnswer &m) {
		e.answers.push_back(m);
		++e.total;
	};
	cb.candidate = [&e](const proto::RelayedCandidate &m) {
		e.candidates.push_back(m);
		++e.total;
	};
	cb.chat = [&e](const proto::ChatLine &m) {
		e.chats.push_back(m);
		++e.total;
	};
	cb.error = [&e](const proto::Error &m) {
		e.errors.push_back(m);
		++e.total;
	};
	cb.closed = [&e](CloseReason reason, int code, const std::string &detail) {
		e.closed.push_back({reason, code, detail});
		++e.total;
	};
	return cb;
}

/* One SignalingClient and what it saw (events outlive the client). */
struct Peer {
	Events events;
	std::unique_ptr<SignalingClient> client;
	std::string id() const { return events.welcomes.empty() ? "" : events.welcomes[0].id; }
};

std::string candidate_text(int i)
{
	return "candidate:" + std::to_string(i) + " 1 udp 2122260223 192.0.2." +
	       std::to_string(i % 250 + 1) + " " + std::to_string(50000 + i) + " typ host";
}

/* A port on 127.0.0.1 that nothing listens on. */
int unused_port()
{
	g_autoptr(GError) error = nullptr;
	g_autoptr(GSocket) socket =
	    g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
	if (!socket)
		return 0;
	g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) address = g_inet_socket_address_new(loopback, 0);
	if (!g_socket_bind(socket, address, FALSE, &error))
		return 0;
	g_autoptr(GSocketAddress) bound = g_socket_get_local_address(socket, &error);
	const int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	g_socket_close(socket, nullptr);
	return port;
}

class SignalingClientTest : public ::testing::Test
{
protected:
	void TearDown() override
	{
		peers_.clear();
		if (!server_stopped_by_test_ && server_.running()) {
			EXPECT_TRUE(server_.stop());
			EXPECT_TRUE(server_.exited_normally() && server_.exit_status() == 0)
			    << "server exit status " << server_.exit_status();
		}
		/* Let the clients' cleanups run before the next test. */
		pump_for(0.05);
	}

	void start_server(const std::vector<std::string> &args = {})
	{
		std::string error;
		ASSERT_TRUE(server_.start(args, &error)) << error;
	}

	/* A client, not yet connected. */
	Peer *add_peer()
	{
		auto peer = std::make_unique<Peer>();
		peer->client = std::make_unique<SignalingClient>(g_main_context_default(),
								 record_into(peer->events));
		peers_.push_back(std::move(peer));
		return peers_.back().get();
	}

	Peer *connect(const std::string &room, const std::string &name,
		      std::optional<std::string> token = std::nullopt)
	{
		Peer *peer = add_peer();
		std::string error;
		EXPECT_TRUE(peer->client->connect(server_.ws_url(), {room, name, token}, &error))
		    << error;
		return peer;
	}

	/* connect() and waits for the welcome; nullptr (and a failure) without. */
	Peer *join(const std::string &room, const std::string &name,
		   std::optional<std::string> token = std::nullopt)
	{
		Peer *peer = connect(room, name, std::move(token));
		if (!wait_until([&] { return !peer->events.welcomes.empty(); })) {
			ADD_FAILURE() << name << ": no welcome";
			return nullptr;
		}
		return peer;
	}

	/* `from` sends a chat line; returns once every peer in `all` saw it, so
	 * anything the server sent them before has been delivered too. */
	void marker(Peer *from, const std::vector<Peer *> &all, const std::string &text)
	{
		from->client->send_chat(text);
		for (Peer *p : all)
			ASSERT_WAIT(!p->events.chats.empty() && p->events.chats.back().text == text,
				    kTimeout);
	}

	ServerProcess server_;
	std::vector<std::unique_ptr<Peer>> peers_;
	bool server_stopped_by_test_ = false;
};

TEST(WebsocketUrlFor, MapsServerStrings)
{
	const std::vector<std::pair<std::string, std::optional<std::string>>> table = {
	    {"ws://example.org/ws", "ws://example.org/ws"},
	    {"wss://example.org/ws", "wss://example.org/ws"},
	    {"ws://example.org", "ws://example.org/ws"},
	    {"ws://example.org/", "ws://example.org/ws"},
	    {"wss://example.org:8443", "wss://example.org:8443/ws"},
	    {"ws://example.org/custom/path", "ws://example.org/custom/path"},
	    {"ws://example.org/ws?x=1", "ws://example.org/ws?x=1"},
	    {"http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws"},
	    {"http://127.0.0.1:8080/", "ws://127.0.0.1:8080/ws"},
	    {"https://meet.example.org", "wss://meet.example.org/ws"},
	    {"https://meet.example.org/signal", "wss://meet.example.org/signal"},
	    {"HTTPS://meet.example.org/", "wss://meet.example.org/ws"},
	    {"http://[::1]:9000", "ws://[::1]:9000/ws"},
	    {"ws://example.org/ws#fragment", "ws://example.org/ws"},
	    {"", std::nullopt},
	    {"example.org", std::nullopt},
	    {"example.org:8080", std::nullopt},
	    {"127.0.0.1:8080", std::nullopt},
	    {"ftp://example.org/", std::nullopt},
	    {"file:///tmp/x", std::nullopt},
	    {"ws://", std::nullopt},
	    {"http:///ws", std::nullopt},
	    {"ws://exa mple.org/", std::nullopt},
	    {"not a url", std::nullopt},
	    {" ws://example.org/", std::nullopt},
	    {"ws://example.org/ws\n", std::nullopt},
	};
	for (const auto &[input, expected] : table)
		EXPECT_EQ(websocket_url_for(input), expected) << "input: \"" << input << "\"";
}

TEST(SignalingClientConnect, RejectsUnusableUrlsAtOnce)
{
	Events events;
	SignalingClient client(g_main_context_default(), record_into(events));
	std::string error;
	EXPECT_FALSE(client.connect("ftp://127.0.0.1/", {"room", "name", std::nullopt}, &error));
	EXPECT_NE(error.find("ftp://127.0.0.1/"), std::string::npos) << error;
	/* The client stays usable; sends are dropped while not connected. */
	client.send_chat("nobody hears this");
	pump_for(0.05);
	EXPECT_EQ(events.total, 0);
}

TEST_F(SignalingClientTest, WelcomeCarriesIdRoomNameAndCapacity)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "  pi-cam  ");
	ASSERT_TRUE(a);
	ASSERT_EQ(a->events.welcomes.size(), 1u);
	const proto::Welcome &w = a->events.welcomes[0];
	ASSERT_EQ(w.id.size(), 16u) << w.id;
	EXPECT_EQ(w.id.find_first_not_of("0123456789abcdef"), std::string::npos) << w.id;
	EXPECT_EQ(w.room, "alpha");
	EXPECT_EQ(w.name, "pi-cam"); /* trimmed by the server */
	EXPECT_EQ(w.capacity, 3);
	EXPECT_TRUE(w.peers.empty());
	EXPECT_TRUE(w.history.empty());
	EXPECT_TRUE(a->events.closed.empty());
	EXPECT_TRUE(a->events.errors.empty());
}

TEST_F(SignalingClientTest, HttpUrlOfTheServerIsMappedToItsWebSocket)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = add_peer();
	std::string error;
	ASSERT_TRUE(a->client->connect(server_.base_url(), {"alpha", "a", std::nullopt}, &error))
	    << error;
	ASSERT_WAIT(!a->events.welcomes.empty(), kTimeout);
}

TEST_F(SignalingClientTest, SecondClientIsAnnouncedAsPeerJoined)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	ASSERT_WAIT(a->events.peer_joined.size() == 1, kTimeout);
	EXPECT_EQ(a->events.peer_joined[0].peer.id, b->id());
	EXPECT_EQ(a->events.peer_joined[0].peer.name, "bob");
	EXPECT_TRUE(a->events.peer_joined[0].peer.audio);
	EXPECT_TRUE(a->events.peer_joined[0].peer.video);
	const proto::Welcome &wb = b->events.welcomes[0];
	ASSERT_EQ(wb.peers.size(), 1u);
	EXPECT_EQ(wb.peers[0].id, a->id());
	EXPECT_EQ(wb.peers[0].name, "alice");
	EXPECT_NE(a->id(), b->id());
}

TEST_F(SignalingClientTest, RelaysOfferAnswerAndFiftyCandidatesInOrder)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);

	const std::string offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=bob\r\n";
	b->client->send_offer(a->id(), offer);
	for (int i = 0; i < 50; i++)
		b->client->send_candidate(a->id(), i % 2, candidate_text(i));
	b->client->send_candidate(a->id(), 1, ""); /* end of candidates */
	ASSERT_WAIT(a->events.candidates.size() == 51, kTimeout);
	ASSERT_EQ(a->events.offers.size(), 1u);
	EXPECT_EQ(a->events.offers[0].from, b->id());
	EXPECT_EQ(a->events.offers[0].sdp, offer);
	for (int i = 0; i < 50; i++) {
		const proto::RelayedCandidate &c = a->events.candidates[i];
		EXPECT_EQ(c.from, b->id()) << i;
		EXPECT_EQ(c.candidate, candidate_text(i)) << i;
		EXPECT_EQ(c.sdp_mline_index, i % 2) << i;
		EXPECT_FALSE(c.sdp_mid) << i;
	}
	EXPECT_EQ(a->events.candidates[50].candidate, "");
	EXPECT_EQ(a->events.candidates[50].sdp_mline_index, 1);

	const std::string answer = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=alice\r\n";
	a->client->send_answer(b->id(), answer);
	a->client->send_candidate(b->id(), 0, candidate_text(7));
	ASSERT_WAIT(b->events.candidates.size() == 1, kTimeout);
	ASSERT_EQ(b->events.answers.size(), 1u);
	EXPECT_EQ(b->events.answers[0].from, a->id());
	EXPECT_EQ(b->events.answers[0].sdp, answer);
	EXPECT_EQ(b->events.candidates[0].candidate, candidate_text(7));
	EXPECT_TRUE(a->events.errors.empty());
	EXPECT_TRUE(b->events.errors.empty());
}

TEST_F(SignalingClientTest, MediaStateReachesThePeer)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	b->client->send_media(false, true);
	ASSERT_WAIT(a->events.peer_media.size() == 1, kTimeout);
	EXPECT_EQ(a->events.peer_media[0].id, b->id());
	EXPECT_FALSE(a->events.peer_media[0].audio);
	EXPECT_TRUE(a->events.peer_media[0].video);
}

TEST_F(SignalingClientTest, ChatIsEchoedInSeqOrderToEveryone)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	const std::vector<std::string> lines = {"one", "deux\twith a tab", "drei 🎉\nzwei Zeilen"};
	for (const std::string &line : lines)
		a->client->send_chat(line);
	ASSERT_WAIT(a->events.chats.size() == 3 && b->events.chats.size() == 3, kTimeout);
	for (Peer *p : {a, b}) {
		for (std::size_t i = 0; i < lines.size(); i++) {
			const proto::ChatLine &c = p->events.chats[i];
			EXPECT_EQ(c.seq, static_cast<std::int64_t>(i + 1));
			EXPECT_EQ(c.text, lines[i]);
			EXPECT_EQ(c.from, a->id());
			EXPECT_EQ(c.name, "alice");
			EXPECT_GT(c.ts, 0);
		}
	}
}

TEST_F(SignalingClientTest, FourthJoinerGetsRoomFullAndOthersSeeNothing)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	Peer *c = join("alpha", "carol");
	ASSERT_TRUE(c);
	ASSERT_WAIT(a->events.peer_joined.size() == 2 && b->events.peer_joined.size() == 1,
		    kTimeout);

	Peer *d = connect("alpha", "dave");
	ASSERT_WAIT(d->events.errors.size() == 1, kTimeout);
	EXPECT_EQ(d->events.errors[0].code, "room-full");
	EXPECT_TRUE(d->events.welcomes.empty());
	EXPECT_TRUE(d->events.closed.empty()); /* the connection stays open */

	/* Closing a client that never joined sends no leave. */
	d->client->close();
	ASSERT_NO_FATAL_FAILURE(marker(a, {a, b, c}, "after dave"));
	EXPECT_EQ(a->events.peer_joined.size(), 2u);
	EXPECT_EQ(b->events.peer_joined.size(), 1u);
	EXPECT_EQ(c->events.peer_joined.size(), 0u);
	for (Peer *p : {a, b, c}) {
		EXPECT_TRUE(p->events.peer_left.empty());
		EXPECT_TRUE(p->events.errors.empty());
	}
	EXPECT_EQ(d->events.total, 1);
}

TEST_F(SignalingClientTest, TokensAreSentAndRefusedOnesReportUnauthorized)
{
	constexpr const char *kSecret = "token-secret-for-element-tests";
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret}));
	const std::int64_t now = unix_now();

	Peer *none = connect("alpha", "carol");
	Peer *other_room =
	    connect("alpha", "carol", make_jwt(kSecret, claims_json("beta", now + 60)));
	Peer *forged =
	    connect("alpha", "carol", make_jwt("not-the-secret", claims_json("alpha", now + 60)));
	for (Peer *p : {none, other_room, forged}) {
		ASSERT_WAIT(p->events.errors.size() == 1, kTimeout);
		EXPECT_EQ(p->events.errors[0].code, "unauthorized");
		EXPECT_TRUE(p->events.welcomes.empty());
		EXPECT_TRUE(p->events.closed.empty());
	}

	Peer *ok = join("alpha", "carol", make_jwt(kSecret, claims_json("alpha", now + 60)));
	ASSERT_TRUE(ok);
	EXPECT_EQ(ok->events.welcomes[0].room, "alpha");
	/* A token's name claim overrides the display name. */
	Peer *named =
	    join("alpha", "ignored", make_jwt(kSecret, claims_json("*", now + 60, "dana")));
	ASSERT_TRUE(named);
	EXPECT_EQ(named->events.welcomes[0].name, "dana");
}

TEST_F(SignalingClientTest, NothingListeningIsUnreachable)
{
	const int port = unused_port();
	ASSERT_GT(port, 0);
	Peer *a = add_peer();
	std::string error;
	ASSERT_TRUE(a->client->connect("ws://127.0.0.1:" + std::to_string(port) + "/ws",
				       {"alpha", "alice", std::nullopt}, &error))
	    << error;
	a->client->send_chat("queued while connecting, then dropped");
	ASSERT_WAIT(a->events.closed.size() == 1, kTimeout);
	EXPECT_EQ(a->events.closed[0].reason, CloseReason::Unreachable);
	EXPECT_FALSE(a->events.closed[0].detail.empty());
	EXPECT_EQ(a->events.total, 1);
	pump_for(0.1);
	EXPECT_EQ(a->events.total, 1); /* at most once per connect() */
}

TEST_F(SignalingClientTest, HttpErrorOfTheHandshakeIsUnreachable)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = add_peer();
	std::string error;
	ASSERT_TRUE(a->client->connect(server_.base_url() + "/no-websocket-here",
				       {"alpha", "alice", std::nullopt}, &error))
	    << error;
	ASSERT_WAIT(a->events.closed.size() == 1, kTimeout);
	EXPECT_EQ(a->events.closed[0].reason, CloseReason::Unreachable);
	EXPECT_NE(a->events.closed[0].detail.find("HTTP 4"), std::string::npos)
	    << a->events.closed[0].detail;
}

TEST_F(SignalingClientTest, CanConnectAgainAfterTheConnectionEnded)
{
	const int port = unused_port();
	ASSERT_GT(port, 0);
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = add_peer();
	std::string error;
	ASSERT_TRUE(a->client->connect("ws://127.0.0.1:" + std::to_string(port),
				       {"alpha", "alice", std::nullopt}, &error));
	EXPECT_FALSE(a->client->connect(server_.ws_url(), {"alpha", "alice", std::nullopt}, &error))
	    << "a second connect() while one is under way";
	ASSERT_WAIT(a->events.closed.size() == 1, kTimeout);
	ASSERT_TRUE(a->client->connect(server_.ws_url(), {"alpha", "alice", std::nullopt}, &error))
	    << error;
	ASSERT_WAIT(a->events.welcomes.size() == 1, kTimeout);
	EXPECT_EQ(a->events.closed.size(), 1u);
}

TEST_F(SignalingClientTest, ServerShutdownIsLost)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	server_stopped_by_test_ = true;
	ASSERT_TRUE(server_.stop());
	ASSERT_WAIT(a->events.closed.size() == 1, kTimeout);
	EXPECT_EQ(a->events.closed[0].reason, CloseReason::Lost);
	EXPECT_EQ(a->events.closed[0].code, proto::close_code::kGoingAway);
	EXPECT_NE(a->events.closed[0].detail.find("1001"), std::string::npos)
	    << a->events.closed[0].detail;
	/* Sends after the loss are dropped quietly. */
	a->client->send_chat("into the void");
	pump_for(0.05);
	EXPECT_EQ(a->events.closed.size(), 1u);
}

/* A hung server keeps its sockets open: only its silence tells. */
TEST_F(SignalingClientTest, SilentServerIsLostAfterTheSilenceLimit)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = add_peer();
	a->client->set_silence_limit(std::chrono::milliseconds(1500));
	std::string error;
	ASSERT_TRUE(a->client->connect(server_.ws_url(), {"alpha", "alice", std::nullopt}, &error))
	    << error;
	ASSERT_WAIT(a->events.welcomes.size() == 1, kTimeout);
	/* Talking keeps it alive: pings answered for longer than the limit. */
	const gint64 live_until = g_get_monotonic_time() + 2500000;
	while (g_get_monotonic_time() < live_until) {
		a->client->send_chat("still there?");
		pump_for(0.3);
	}
	EXPECT_TRUE(a->events.closed.empty());

	server_.suspend();
	const gint64 stopped = g_get_monotonic_time();
	ASSERT_WAIT(a->events.closed.size() == 1, kTimeout);
	const double after = (g_get_monotonic_time() - stopped) / 1e6;
	EXPECT_EQ(a->events.closed[0].reason, CloseReason::Lost);
	EXPECT_NE(a->events.closed[0].detail.find("silent"), std::string::npos)
	    << a->events.closed[0].detail;
	EXPECT_GE(after, 1.2);
	EXPECT_LT(after, 4.0);
	server_.resume();
}

TEST_F(SignalingClientTest, CloseSendsLeaveAndSilencesCallbacks)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	const int b_total = b->events.total;
	b->client->send_chat("last words");
	b->client->close();
	b->client->close(); /* idempotent */
	ASSERT_WAIT(a->events.peer_left.size() == 1, kTimeout);
	EXPECT_EQ(a->events.peer_left[0].id, b->id());
	/* Queued before close(), so it went out before the leave. */
	ASSERT_EQ(a->events.chats.size(), 1u);
	EXPECT_EQ(a->events.chats[0].text, "last words");

	ASSERT_NO_FATAL_FAILURE(marker(a, {a}, "anyone?"));
	b->client->send_chat("after close");
	pump_for(0.1);
	EXPECT_EQ(b->events.total, b_total) << "a callback ran after close()";
	EXPECT_EQ(a->events.chats.size(), 2u);
	std::string error;
	EXPECT_FALSE(b->client->connect(server_.ws_url(), {"alpha", "bob", std::nullopt}, &error));
}

TEST_F(SignalingClientTest, CloseFromInsideACallbackStopsFurtherCallbacks)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);

	int chats = 0;
	int after_close = 0;
	bool closed = false;
	std::unique_ptr<SignalingClient> b;
	SignalingClient::Callbacks cb;
	std::string b_id;
	cb.welcome = [&](const proto::Welcome &w) { b_id = w.id; };
	cb.chat = [&](const proto::ChatLine &) {
		if (closed)
			after_close++;
		chats++;
		b->close();
		b->close();
		closed = true;
	};
	cb.peer_left = [&](const proto::PeerLeft &) { after_close += closed; };
	cb.closed = [&](CloseReason, int, const std::string &) { after_close += closed; };
	b = std::make_unique<SignalingClient>(g_main_context_default(), std::move(cb));
	std::string error;
	ASSERT_TRUE(b->connect(server_.ws_url(), {"alpha", "bob", std::nullopt}, &error)) << error;
	ASSERT_WAIT(!b_id.empty(), kTimeout);

	/* Three lines in one burst: b closes on the first. */
	for (const char *text : {"1", "2", "3"})
		a->client->send_chat(text);
	ASSERT_WAIT(a->events.peer_left.size() == 1, kTimeout);
	EXPECT_EQ(a->events.peer_left[0].id, b_id);
	pump_for(0.1);
	EXPECT_EQ(chats, 1);
	EXPECT_EQ(after_close, 0);
	b.reset();
	pump_for(0.05);
}

TEST_F(SignalingClientTest, DestroyingTheClientInsideItsCallbackIsSafe)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	std::unique_ptr<SignalingClient> b;
	int chats = 0;
	SignalingClient::Callbacks cb;
	std::string b_id;
	cb.welcome = [&](const proto::Welcome &w) { b_id = w.id; };
	cb.chat = [&](const proto::ChatLine &) {
		chats++;
		b.reset();
	};
	b = std::make_unique<SignalingClient>(g_main_context_default(), std::move(cb));
	std::string error;
	ASSERT_TRUE(b->connect(server_.ws_url(), {"alpha", "bob", std::nullopt}, &error)) << error;
	ASSERT_WAIT(!b_id.empty(), kTimeout);
	for (const char *text : {"1", "2"})
		a->client->send_chat(text);
	ASSERT_WAIT(a->events.peer_left.size() == 1, kTimeout);
	EXPECT_EQ(a->events.peer_left[0].id, b_id);
	EXPECT_FALSE(b);
	EXPECT_EQ(chats, 1);
}

TEST_F(SignalingClientTest, CloseFromAnotherThreadWaitsForARunningCallback)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);

	std::atomic<int> offers{0};
	std::atomic<bool> close_returned{false};
	std::atomic<int> late{0};
	SignalingClient::Callbacks cb;
	std::string b_id;
	cb.welcome = [&](const proto::Welcome &w) { b_id = w.id; };
	cb.offer = [&](const proto::RelayedOffer &) {
		if (close_returned)
			late++;
		offers++;
		g_usleep(1000); /* widen the window for close() to land mid-callback */
		if (close_returned)
			late++;
	};
	cb.closed = [&](CloseReason, int, const std::string &) { late += close_returned ? 1 : 0; };
	SignalingClient b(g_main_context_default(), std::move(cb));
	std::string error;
	ASSERT_TRUE(b.connect(server_.ws_url(), {"alpha", "bob", std::nullopt}, &error)) << error;
	ASSERT_WAIT(!b_id.empty(), kTimeout);

	for (int i = 0; i < 150; i++)
		a->client->send_offer(b_id, "v=0\r\ns=offer " + std::to_string(i) + "\r\n");
	std::atomic<bool> done{false};
	std::thread closer([&] {
		const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
		while (offers < 20 && std::chrono::steady_clock::now() < deadline)
			std::this_thread::sleep_for(std::chrono::microseconds(200));
		b.close();
		close_returned = true;
		done = true;
	});
	const bool finished = wait_until([&] { return done.load(); });
	closer.join();
	ASSERT_TRUE(finished);
	ASSERT_WAIT(a->events.peer_left.size() == 1, kTimeout);
	pump_for(0.1);
	EXPECT_GE(offers.load(), 20);
	EXPECT_EQ(late.load(), 0);
}

TEST_F(SignalingClientTest, SendsFromAnotherThreadArriveInOrder)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	const std::string to = a->id();
	std::thread sender([&] {
		b->client->send_offer(to, "v=0\r\ns=threaded\r\n");
		for (int i = 0; i < 100; i++)
			b->client->send_candidate(to, i % 3, candidate_text(i));
		b->client->send_answer(to, "v=0\r\ns=last\r\n");
	});
	sender.join();
	ASSERT_WAIT(a->events.answers.size() == 1, kTimeout);
	ASSERT_EQ(a->events.offers.size(), 1u);
	ASSERT_EQ(a->events.candidates.size(), 100u);
	for (int i = 0; i < 100; i++) {
		EXPECT_EQ(a->events.candidates[i].candidate, candidate_text(i)) << i;
		EXPECT_EQ(a->events.candidates[i].sdp_mline_index, i % 3) << i;
	}
	EXPECT_TRUE(b->events.errors.empty());
}

TEST_F(SignalingClientTest, SendsFromManyThreadsKeepEachThreadsOrder)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	const std::string to = a->id();
	std::vector<std::thread> senders;
	for (int t = 0; t < 4; t++) {
		senders.emplace_back([&, t] {
			for (int i = 0; i < 40; i++)
				b->client->send_candidate(to, t, candidate_text(t * 1000 + i));
		});
	}
	for (std::thread &s : senders)
		s.join();
	ASSERT_WAIT(a->events.candidates.size() == 160, kTimeout);
	int next[4] = {0, 0, 0, 0};
	for (const proto::RelayedCandidate &c : a->events.candidates) {
		const auto t = static_cast<int>(c.sdp_mline_index);
		ASSERT_TRUE(t >= 0 && t < 4);
		EXPECT_EQ(c.candidate, candidate_text(t * 1000 + next[t]));
		next[t]++;
	}
}

TEST_F(SignalingClientTest, AcceptsAWelcomeWithAFullHistoryOfLongLines)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--chat-rate", "1000", "--chat-burst", "1000"}));
	Peer *a = join("big", "alice");
	ASSERT_TRUE(a);
	/* 2000 code points each, nearly all 4-byte emoji: ~8 KB a line. */
	std::vector<std::string> lines;
	std::size_t bytes = 0;
	for (int i = 0; i < 50; i++) {
		std::string line = std::to_string(i) + ":";
		while (g_utf8_strlen(line.c_str(), -1) < 2000)
			line += (i % 2) ? "😀" : "🎉";
		bytes += line.size();
		lines.push_back(std::move(line));
	}
	ASSERT_GT(bytes, 390000u); /* far over libsoup's default 128 KiB */
	for (const std::string &line : lines)
		a->client->send_chat(line);
	ASSERT_WAIT(a->events.chats.size() == 50, 2 * kTimeout);
	EXPECT_TRUE(a->events.errors.empty());

	Peer *b = join("big", "bob");
	ASSERT_TRUE(b);
	const proto::Welcome &w = b->events.welcomes[0];
	ASSERT_EQ(w.history.size(), 50u);
	for (std::size_t i = 0; i < 50; i++) {
		EXPECT_EQ(w.history[i].seq, static_cast<std::int64_t>(i + 1));
		EXPECT_EQ(w.history[i].text, lines[i]) << "line " << i;
		EXPECT_EQ(w.history[i].from, a->id());
	}
	EXPECT_TRUE(b->events.closed.empty());
}

TEST_F(SignalingClientTest, DestroyingTheClientLeavesTheRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	Peer *b = join("alpha", "bob");
	ASSERT_TRUE(b);
	Peer *c = join("alpha", "carol");
	ASSERT_TRUE(c);
	ASSERT_WAIT(a->events.peer_joined.size() == 2, kTimeout);

	/* On this thread, between iterations of the context. */
	const std::string b_id = b->id();
	b->client.reset();
	ASSERT_WAIT(a->events.peer_left.size() == 1, kTimeout);
	EXPECT_EQ(a->events.peer_left[0].id, b_id);

	/* On another thread while this one iterates the context. */
	const std::string c_id = c->id();
	std::atomic<bool> done{false};
	std::thread destroyer([&] {
		c->client.reset();
		done = true;
	});
	const bool destroyed = wait_until([&] { return done.load(); });
	destroyer.join();
	ASSERT_TRUE(destroyed);
	ASSERT_WAIT(a->events.peer_left.size() == 2, kTimeout);
	EXPECT_EQ(a->events.peer_left[1].id, c_id);
}

TEST_F(SignalingClientTest, DestroyingWhileConnectingIsQuiet)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	for (int iterations = 0; iterations < 4; iterations++) {
		Peer *p = connect("alpha", "ghost");
		for (int i = 0; i < iterations; i++)
			g_main_context_iteration(nullptr, FALSE);
		p->client.reset();
		EXPECT_EQ(p->events.total, 0);
	}
	ASSERT_NO_FATAL_FAILURE(marker(a, {a}, "still here"));
	pump_for(0.2);
	/* Whoever got as far as joining has left again. */
	EXPECT_EQ(a->events.peer_joined.size(), a->events.peer_left.size());
}

TEST_F(SignalingClientTest, ContextFinalisedBeforeTheCleanupRanFreesEverything)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	GMainContext *context = g_main_context_new();
	Events events;
	/* Another thread owns the context while the client is destroyed, so
	 * the cleanup has to be posted to it. */
	std::mutex mutex;
	std::condition_variable cond;
	bool owned = false;
	bool release = false;
	std::thread owner([&] {
		std::unique_lock lock(mutex);
		owned = g_main_context_acquire(context);
		cond.notify_all();
		cond.wait(lock, [&] { return release; });
		if (owned)
			g_main_context_release(context);
	});
	{
		std::unique_lock lock(mutex);
		cond.wait(lock, [&] { return owned; });
	}
	{
		SignalingClient client(context, record_into(events));
		std::string error;
		EXPECT_TRUE(
		    client.connect(server_.ws_url(), {"alpha", "ghost", std::nullopt}, &error));
		client.send_chat("never sent");
	}
	{
		std::lock_guard lock(mutex);
		release = true;
	}
	cond.notify_all();
	owner.join();
	/* Never iterated: finalising the context destroys the pending sources,
	 * whose destroy notifies free the client (LeakSanitizer checks this in
	 * the ASan build). */
	g_main_context_unref(context);
	EXPECT_EQ(events.total, 0);
}

TEST_F(SignalingClientTest, ContextFinalisedAfterItRanTheConnectionFreesEverything)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Peer *a = join("alpha", "alice");
	ASSERT_TRUE(a);
	GMainContext *context = g_main_context_new();
	Events events;
	{
		SignalingClient client(context, record_into(events));
		std::string error;
		ASSERT_TRUE(
		    client.connect(server_.ws_url(), {"alpha", "ghost", std::nullopt}, &error));
		/* libsoup's own sources want their context as the thread default
		 * of whoever iterates it, as GIO expects. */
		g_main_context_push_thread_default(context);
		const gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
		while (events.welcomes.empty() && g_get_monotonic_time() < deadline) {
			if (!g_main_context_iteration(context, FALSE))
				g_usleep(1000);
		}
		g_main_context_pop_thread_default(context);
		ASSERT_EQ(events.welcomes.size(), 1u);
	}
	/* The cleanup never ran on `context`; finalising it must still free
	 * the socket, so the server sees the peer go. */
	g_main_context_unref(context);
	ASSERT_WAIT(a->events.peer_left.size() == 1, kTimeout);
	EXPECT_EQ(events.total, 1);
}

/* ---- against an in-process server, for frames meshcall-server never sends ---- */

class FakeServer
{
public:
	FakeServer()
	{
		server_ = soup_server_new(nullptr, nullptr);
		soup_server_add_websocket_handler(server_, "/ws", nullptr, nullptr, on_websocket,
						  this, nullptr);
		g_autoptr(GError) error = nullptr;
		if (!soup_server_listen_local(server_, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error)) {
			ADD_FAILURE() << error->message;
			return;
		}
		GSList *uris = soup_server_get_uris(server_);
		port_ = g_uri_get_port(static_cast<GUri *>(uris->data));
		g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
	}
	~FakeServer()
	{
		if (conn_) {
			g_signal_handlers_disconnect_by_data(conn_, this);
			g_object_unref(conn_);
		}
		soup_server_disconnect(server_);
		g_object_unref(server_);
	}
	FakeServer(const FakeServer &) = delete;
	FakeServer &operator=(const FakeServer &) = delete;

	std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }
	const std::vector<std::string> &received() const { return received_; }
	/* Run when the first text frame arrives. */
	std::function<void(SoupWebsocketConnection *)> on_first_message;

private:
	static void on_websocket(SoupServer *, SoupServerMessage *, const char *,
				 SoupWebsocketConnection *conn, gpointer data)
	{
		auto *self = static_cast<FakeServer *>(data);
		self->conn_ = SOUP_WEBSOCKET_CONNECTION(g_object_ref(conn));
		g_signal_connect(conn, "message", G_CALLBACK(on_message), self);
	}
	static void on_message(SoupWebsocketConnection *conn, gint type, GBytes *message,
			       gpointer data)
	{
		auto *self = static_cast<FakeServer *>(data);
		if (type != SOUP_WEBSOCKET_DATA_TEXT)
			return;
		gsize size = 0;
		const auto *bytes = static_cast<const char *>(g_bytes_get_data(message, &size));
		self->received_.emplace_back(bytes, size);
		if (self->received_.size() == 1 && self->on_first_message)
			self->on_first_message(conn);
	}

	SoupServer *server_ = nullptr;
	SoupWebsocketConnection *conn_ = nullptr;
	int port_ = 0;
	std::vector<std::string> received_;
};

proto::Welcome fake_welcome()
{
	proto::Welcome w;
	w.id = "0123456789abcdef";
	w.name = "alice";
	w.room = "fake";
	return w;
}

TEST(SignalingClientFakeServer, JoinsFirstAndIgnoresBinaryAndUnparsableFrames)
{
	FakeServer server;
	server.on_first_message = [](SoupWebsocketConnection *conn) {
		soup_websocket_connection_send_binary(conn, "\x01\x02\x03", 3);
		soup_websocket_connection_send_text(conn, "not json");
		soup_websocket_connection_send_text(conn, R"({"type":"no-such-type"})");
		soup_websocket_connection_send_text(conn, R"({"type":"chat","seq":"x"})");
		soup_websocket_connection_send_text(conn, proto::pong_json().c_str());
		soup_websocket_connection_send_text(conn,
						    proto::welcome_json(fake_welcome()).c_str());
		soup_websocket_connection_send_text(
		    conn, proto::peer_left_json("fedcba9876543210").c_str());
	};
	Events events;
	SignalingClient client(g_main_context_default(), record_into(events));
	std::string error;
	ASSERT_TRUE(client.connect(server.url(), {"fake", "alice", std::string("tok")}, &error))
	    << error;
	client.send_media(true, false); /* queued until after the join */
	ASSERT_WAIT(events.peer_left.size() == 1, kTimeout);
	EXPECT_EQ(events.total, 2);
	ASSERT_EQ(events.welcomes.size(), 1u);
	EXPECT_EQ(events.welcomes[0].id, "0123456789abcdef");

	ASSERT_WAIT(server.received().size() >= 2, kTimeout);
	EXPECT_EQ(server.received()[0], proto::join_json("fake", "alice", "tok"));
	EXPECT_EQ(server.received()[1], proto::media_json(true, false));
}

TEST(SignalingClientFakeServer, SendsAProtocolPingEvery15Seconds)
{
	FakeServer server;
	server.on_first_message = [](SoupWebsocketConnection *conn) {
		soup_websocket_connection_send_text(conn,
						    proto::welcome_json(fake_welcome()).c_str());
	};
	Events events;
	SignalingClient client(g_main_context_default(), record_into(events));
	std::string error;
	ASSERT_TRUE(client.connect(server.url(), {"fake", "alice", std::nullopt}, &error));
	ASSERT_WAIT(events.welcomes.size() == 1, kTimeout);
	const gint64 start = g_get_monotonic_time();
	ASSERT_WAIT(server.received().size() >= 2, 20.0);
	const double elapsed = (g_get_monotonic_time() - start) / 1e6;
	EXPECT_EQ(server.received()[1], proto::ping_json());
	EXPECT_GT(elapsed, 13.0);
	EXPECT_LT(elapsed, 17.0);
	/* Closing after a welcome leaves. */
	client.close();
	ASSERT_WAIT(server.received().size() >= 3, kTimeout);
	EXPECT_EQ(server.received()[2], proto::leave_json());
}

} // namespace
