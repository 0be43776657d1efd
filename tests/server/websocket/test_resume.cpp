// SPDX-License-Identifier: LGPL-2.1-or-later
/* (1.1) Resume and reconnect through the real server: welcome.resume, the
 * same id after a restart with the same --state-dir, the takeover of a stale
 * socket with 1001, the resume secret's file, a state directory that cannot
 * be used, and the token kept out of the log. The rules in detail are the
 * registry's tests (tests/server/registry/test_registry_resume.cpp). */
#include <sys/stat.h>

#include <glib/gstdio.h>

#include <memory>
#include <string>
#include <vector>

#include "abuse/server_stderr.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using meshcall::protocol::PeerJoined;
using meshcall::protocol::RelayedReconnect;
using meshcall::protocol::Welcome;

namespace
{

/* Servers that are restarted, each a ServerProcess of its own; a temporary
 * state directory; clients that outlive a server. */
class ResumeTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		g_autoptr(GError) error = nullptr;
		g_autofree char *dir = g_dir_make_tmp("meshcall-resume-XXXXXX", &error);
		ASSERT_TRUE(dir) << error->message;
		tmp_ = dir;
		state_dir_ = tmp_ + "/state";
	}

	void TearDown() override
	{
		for (auto &client : clients_)
			client->close();
		clients_.clear();
		for (auto &server : servers_) {
			if (server->running()) {
				EXPECT_TRUE(server->stop())
				    << "server still running 5 s after SIGTERM";
				EXPECT_TRUE(server->exited_normally() && server->exit_status() == 0)
				    << "server exit status/-signal " << server->exit_status();
			}
		}
		servers_.clear();
		std::string out, error;
		EXPECT_TRUE(run_command({"rm", "-rf", tmp_}, nullptr, &out, &error)) << error;
	}

	/* A server with --state-dir `dir` (the test's own by default) and `env`
	 * (NAME=VALUE) added to its environment. */
	ServerProcess *start(std::vector<std::string> args = {}, std::string dir = {},
			     const std::vector<std::string> &env = {})
	{
		args.push_back("--state-dir");
		args.push_back(dir.empty() ? state_dir_ : dir);
		auto server = std::make_unique<ServerProcess>();
		std::string error;
		if (!server->start(args, &error, env)) {
			ADD_FAILURE() << error;
			return nullptr;
		}
		servers_.push_back(std::move(server));
		return servers_.back().get();
	}

	WsClient *connect(ServerProcess *server, const std::string &label)
	{
		std::string error;
		std::unique_ptr<WsClient> client = WsClient::connect(server->ws_url(), {}, &error);
		if (!client) {
			ADD_FAILURE() << label << ": cannot connect: " << error;
			return nullptr;
		}
		client->set_label(label);
		clients_.push_back(std::move(client));
		return clients_.back().get();
	}

	/* A new connection that joins, with `resume` when given. */
	WsClient *join(ServerProcess *server, const std::string &room, const std::string &name,
		       Welcome *welcome, std::optional<std::string> resume = std::nullopt)
	{
		WsClient *client = connect(server, name);
		if (!client)
			return nullptr;
		client->send(meshcall::protocol::join_json(room, name, std::nullopt, resume));
		std::optional<Welcome> w = client->expect<Welcome>();
		if (!w)
			return nullptr;
		*welcome = std::move(*w);
		return client;
	}

	/* alice, then bob, join room demo; alice's peer-joined for bob is read. */
	void alice_and_bob(ServerProcess *server, WsClient **a, Welcome *wa, WsClient **b,
			   Welcome *wb)
	{
		ASSERT_TRUE(*a = join(server, "demo", "alice", wa));
		ASSERT_TRUE(*b = join(server, "demo", "bob", wb));
		ASSERT_TRUE((*a)->expect<PeerJoined>());
	}

	double metric(ServerProcess *server, std::string_view name)
	{
		HttpResponse r = http_request("GET", server->base_url() + "/metrics");
		EXPECT_EQ(r.status, 200u) << r.error;
		return metric_sum(r.body, name);
	}

	std::string tmp_;
	std::string state_dir_;
	std::vector<std::unique_ptr<ServerProcess>> servers_;
	std::vector<std::unique_ptr<WsClient>> clients_;
};

TEST_F(ResumeTest, EveryWelcomeCarriesAResume)
{
	ServerProcess *server = start();
	ASSERT_TRUE(server);
	Welcome wa, wb;
	ASSERT_TRUE(join(server, "alpha", "alice", &wa));
	ASSERT_TRUE(join(server, std::string(64, 'r'), "bob", &wb));
	for (const Welcome *w : {&wa, &wb}) {
		ASSERT_TRUE(w->resume);
		EXPECT_FALSE(w->resume->empty());
		EXPECT_LE(w->resume->size(), meshcall::protocol::kMaxResumeBytes);
	}
}

TEST_F(ResumeTest, ARestartWithTheSameStateDirGivesTheSameIds)
{
	ServerProcess *first = start();
	ASSERT_TRUE(first);
	Welcome wa, wb;
	WsClient *a = join(first, "demo", "alice", &wa);
	ASSERT_TRUE(a);
	ASSERT_TRUE(join(first, "demo", "bob", &wb));

	const std::string secret = state_dir_ + "/resume-secret";
	GStatBuf st;
	ASSERT_EQ(g_stat(secret.c_str(), &st), 0) << secret;
	EXPECT_EQ(st.st_mode & 07777, 0600u);
	EXPECT_EQ(st.st_size, 32);
	ASSERT_EQ(g_stat(state_dir_.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0700u);

	/* Killed, as a crash would: nothing is said to anyone. */
	EXPECT_TRUE(first->stop(kTimeout, SIGKILL) || first->exited());
	ASSERT_TRUE(wait_until([&] { return a->closed(); }));

	ServerProcess *second = start();
	ASSERT_TRUE(second);
	Welcome wa2, wb2;
	WsClient *a2 = join(second, "demo", "alice", &wa2, wa.resume);
	ASSERT_TRUE(a2);
	EXPECT_EQ(wa2.id, wa.id);
	EXPECT_TRUE(wa2.peers.empty());
	ASSERT_TRUE(join(second, "demo", "bob", &wb2, wb.resume));
	EXPECT_EQ(wb2.id, wb.id);
	ASSERT_EQ(wb2.peers.size(), 1u);
	EXPECT_EQ(wb2.peers[0].id, wa.id);
	std::optional<PeerJoined> back = a2->expect<PeerJoined>();
	ASSERT_TRUE(back);
	EXPECT_EQ(back->peer.id, wb.id);
	EXPECT_EQ(metric(second, "meshcall_resumes_total"), 2);
	EXPECT_EQ(metric(second, "meshcall_resumes_refused_total"), 0);

	/* A server with another state directory has another secret. */
	ServerProcess *elsewhere = start({}, tmp_ + "/other-state");
	ASSERT_TRUE(elsewhere);
	Welcome wa3;
	ASSERT_TRUE(join(elsewhere, "demo", "alice", &wa3, wa.resume));
	EXPECT_NE(wa3.id, wa.id);
	EXPECT_EQ(metric(elsewhere, "meshcall_resumes_refused_total"), 1);
}

TEST_F(ResumeTest, ATakeoverClosesTheStaleSocketWith1001AndTheOthersSeeNothing)
{
	ServerProcess *server = start();
	ASSERT_TRUE(server);
	WsClient *a, *b;
	Welcome wa, wb;
	ASSERT_NO_FATAL_FAILURE(alice_and_bob(server, &a, &wa, &b, &wb));

	Welcome again;
	WsClient *a2 = join(server, "demo", "alice", &again, wa.resume);
	ASSERT_TRUE(a2);
	EXPECT_EQ(again.id, wa.id);
	ASSERT_EQ(again.peers.size(), 1u);
	EXPECT_EQ(again.peers[0].id, wb.id);
	EXPECT_TRUE(a->expect_closed(1001));

	/* Bob's next message is the pong: no peer-left, no peer-joined. */
	EXPECT_TRUE(b->ping_pong());
	EXPECT_TRUE(b->queue().empty());

	/* Bob's messages for alice reach her new connection. */
	b->send(meshcall::protocol::offer_json(wa.id, "v=0"));
	std::optional<meshcall::protocol::RelayedOffer> offer =
	    a2->expect<meshcall::protocol::RelayedOffer>();
	ASSERT_TRUE(offer);
	EXPECT_EQ(offer->from, wb.id);
	EXPECT_EQ(metric(server, "meshcall_resume_takeovers_total"), 1);
	EXPECT_EQ(metric(server, "meshcall_peers"), 2);
}

TEST_F(ResumeTest, ReconnectIsRelayedToAPeerOfTheRoomOnly)
{
	ServerProcess *server = start();
	ASSERT_TRUE(server);
	WsClient *a, *b;
	Welcome wa, wb, wc;
	ASSERT_NO_FATAL_FAILURE(alice_and_bob(server, &a, &wa, &b, &wb));
	WsClient *c = join(server, "elsewhere", "carol", &wc);
	ASSERT_TRUE(c);

	b->send(meshcall::protocol::reconnect_json(wa.id));
	std::optional<Incoming> in = a->next();
	ASSERT_TRUE(in);
	const auto *relayed = std::get_if<RelayedReconnect>(&in->message);
	ASSERT_TRUE(relayed) << in->text;
	EXPECT_EQ(relayed->from, wb.id);
	EXPECT_EQ(in->text, R"({"type":"reconnect","from":")" + wb.id + R"("})");

	c->send(meshcall::protocol::reconnect_json(wa.id));
	std::optional<meshcall::protocol::Error> refused = c->expect_error("unknown-peer");
	ASSERT_TRUE(refused);
	EXPECT_EQ(refused->ref, "reconnect");
	EXPECT_TRUE(a->ping_pong()) << "nothing from another room";
}

TEST_F(ResumeTest, AnUnusableStateDirIsSaidOnceAndTheServerRunsOn)
{
	const std::string file = tmp_ + "/a-file";
	ASSERT_TRUE(g_file_set_contents(file.c_str(), "x", 1, nullptr));
	const std::string unusable = file + "/state"; /* fails for root too */
	ServerStderr err;
	ServerProcess *server = nullptr;
	err.capture([&] { server = start({}, unusable); });
	ASSERT_TRUE(server);

	Welcome w;
	WsClient *a = join(server, "demo", "alice", &w);
	ASSERT_TRUE(a);
	ASSERT_TRUE(w.resume);
	Welcome again;
	ASSERT_TRUE(join(server, "demo", "alice", &again, w.resume));
	EXPECT_EQ(again.id, w.id) << "resumes work until the next restart";

	std::size_t warnings = 0;
	for (const std::string &line : err.lines()) {
		if (line.find("resume secret") == std::string::npos)
			continue;
		warnings++;
		EXPECT_NE(line.find("WARNING"), std::string::npos) << line;
		EXPECT_NE(line.find(unusable), std::string::npos) << line;
		EXPECT_NE(line.find("Not a directory"), std::string::npos) << line;
		EXPECT_NE(line.find("in memory"), std::string::npos) << line;
		EXPECT_NE(line.find("after a restart"), std::string::npos) << line;
	}
	EXPECT_EQ(warnings, 1u) << err.text();
}

TEST_F(ResumeTest, TheResumeNeverReachesTheLog)
{
	ServerStderr err;
	ServerProcess *verbose = nullptr;
	err.capture([&] { verbose = start({}, {}, {"G_MESSAGES_DEBUG=meshcall-server"}); });
	ASSERT_TRUE(verbose);

	WsClient *a, *b;
	Welcome wa, wb, again;
	ASSERT_NO_FATAL_FAILURE(alice_and_bob(verbose, &a, &wa, &b, &wb));
	ASSERT_TRUE(join(verbose, "demo", "alice", &again, wa.resume)); /* a takeover */
	ASSERT_TRUE(a->expect_closed(1001));
	WsClient *c = connect(verbose, "carol");
	ASSERT_TRUE(c);
	c->send(meshcall::protocol::join_json("no room!", "carol", std::nullopt, *wa.resume));
	ASSERT_TRUE(c->expect_error("invalid-room"));
	ASSERT_TRUE(verbose->stop());

	const std::string log = err.text();
	EXPECT_NE(log.find("taken over"), std::string::npos) << "the takeover is logged:\n" << log;
	for (const std::optional<std::string> &token : {wa.resume, wb.resume, again.resume}) {
		ASSERT_TRUE(token);
		const std::string signature = token->substr(token->find('.') + 1);
		EXPECT_EQ(log.find(*token), std::string::npos) << log;
		EXPECT_EQ(log.find(signature), std::string::npos) << log;
	}
}

} // namespace
