// SPDX-License-Identifier: LGPL-2.1-or-later
/* Issue 14, "TLS ... every secret option also readable from a file or the
 * environment": each way a token or TURN secret reaches the real server
 * (option, file, systemd credential, environment), which one wins, and the
 * errors for a file that cannot be used. Tokens and TURN credentials are
 * checked with tests/support/crypto.h, not the server's code. The unit tests
 * of the rules are tests/server/registry/test_secrets.cpp. */
#include "abuse/server_stderr.h"

#include <string>

#include "support/crypto.h"

using namespace meshcall::test;

namespace
{

class SecretSourcesTest : public ServerTest
{
protected:
	void SetUp() override
	{
		g_autofree char *tmp = g_dir_make_tmp("meshcall-secrets-XXXXXX", nullptr);
		ASSERT_TRUE(tmp);
		dir_ = tmp;
	}
	void TearDown() override
	{
		ServerTest::TearDown();
		for (const std::string &f : files_)
			g_remove(f.c_str());
		for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it)
			g_rmdir(it->c_str());
		g_rmdir(dir_.c_str());
	}
	std::string write(const std::string &name, const std::string &content)
	{
		std::string path = dir_ + "/" + name;
		EXPECT_TRUE(g_file_set_contents(path.c_str(), content.data(),
						static_cast<gssize>(content.size()), nullptr));
		files_.push_back(path);
		return path;
	}
	/* A $CREDENTIALS_DIRECTORY as systemd's LoadCredential= leaves it. */
	std::string credentials(const std::string &name, const std::string &content)
	{
		std::string dir = dir_ + "/credentials";
		if (g_mkdir(dir.c_str(), 0700) == 0)
			dirs_.push_back(dir);
		write("credentials/" + name, content);
		return dir;
	}
	/* Whether a join signed with `secret` is let in, and one without a
	 * token is refused. */
	void expect_tokens_signed_with(const std::string &secret)
	{
		WsClient *c = connect("joiner");
		ASSERT_TRUE(c);
		c->send(meshcall::protocol::join_json("demo", "a"));
		ASSERT_TRUE(c->expect_error("unauthorized"));
		c->send(meshcall::protocol::join_json(
		    "demo", "a", make_jwt("not-" + secret, claims_json("demo", unix_now() + 60))));
		ASSERT_TRUE(c->expect_error("unauthorized"));
		std::optional<meshcall::protocol::Welcome> w =
		    c->join("demo", "a", make_jwt(secret, claims_json("demo", unix_now() + 60)));
		ASSERT_TRUE(w);
	}
	/* meshcall-server with `args`, expected to refuse to start. */
	CommandResult refuse_to_start(const std::vector<std::string> &args,
				      const std::vector<std::string> &env = {})
	{
		std::vector<std::string> argv = {server_binary(), "--listen", "127.0.0.1:0"};
		argv.insert(argv.end(), args.begin(), args.end());
		CommandResult r = run_with_input(argv, "", env);
		EXPECT_TRUE(r.ran);
		EXPECT_EQ(r.exit_status, 2) << r.out << r.err;
		EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
		return r;
	}

	std::string dir_;
	std::vector<std::string> files_, dirs_;
};

TEST_F(SecretSourcesTest, TokenSecretFromAFile)
{
	std::string file = write("token-secret", "file-secret\n");
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret-file", file}));
	/* The newline is not part of the secret. */
	expect_tokens_signed_with("file-secret");
}

TEST_F(SecretSourcesTest, TokenSecretFromTheEnvironment)
{
	ASSERT_NO_FATAL_FAILURE(start_server({}, {"MESHCALL_TOKEN_SECRET=env-secret"}));
	expect_tokens_signed_with("env-secret");
}

TEST_F(SecretSourcesTest, TokenSecretFromASystemdCredential)
{
	std::string dir = credentials("meshcall-token-secret", "credential-secret\n");
	ASSERT_NO_FATAL_FAILURE(start_server({}, {"CREDENTIALS_DIRECTORY=" + dir}));
	expect_tokens_signed_with("credential-secret");
}

TEST_F(SecretSourcesTest, TokenSecretOnTheCommandLineStillWorks)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", "cli-secret"}));
	expect_tokens_signed_with("cli-secret");
}

TEST_F(SecretSourcesTest, AFileBeatsTheCredentialAndTheEnvironment)
{
	std::string file = write("token-secret", "file-secret");
	std::string dir = credentials("meshcall-token-secret", "credential-secret");
	ASSERT_NO_FATAL_FAILURE(
	    start_server({"--token-secret-file", file},
			 {"MESHCALL_TOKEN_SECRET=env-secret", "CREDENTIALS_DIRECTORY=" + dir}));
	expect_tokens_signed_with("file-secret");
}

TEST_F(SecretSourcesTest, TheCredentialBeatsTheEnvironment)
{
	std::string dir = credentials("meshcall-token-secret", "credential-secret");
	ASSERT_NO_FATAL_FAILURE(
	    start_server({}, {"MESHCALL_TOKEN_SECRET=env-secret", "CREDENTIALS_DIRECTORY=" + dir}));
	expect_tokens_signed_with("credential-secret");
}

TEST_F(SecretSourcesTest, TheTokenCommandReadsTheFileToo)
{
	std::string file = write("token-secret", "file-secret\r\n");
	CommandResult r = run_with_input({server_binary(), "token", "--room", "demo", "--ttl", "60",
					  "--token-secret-file", file},
					 "");
	ASSERT_EQ(r.exit_status, 0) << r.err;
	std::string token = r.out.substr(0, r.out.find('\n'));
	ASSERT_NO_FATAL_FAILURE(start_server({}, {"MESHCALL_TOKEN_SECRET=file-secret"}));
	WsClient *c = connect("joiner");
	ASSERT_TRUE(c);
	ASSERT_TRUE(c->join("demo", "a", token));
}

/* The TURN credential in a welcome, checked against `secret`. */
void expect_turn_credential_signed_with(const meshcall::protocol::Welcome &w,
					const std::string &secret)
{
	ASSERT_EQ(w.ice_servers.size(), 1u);
	const auto &turn = w.ice_servers[0];
	ASSERT_TRUE(turn.username && turn.credential);
	EXPECT_EQ(*turn.credential, base64(hmac_sha1_by_hand(secret, *turn.username)));
}

TEST_F(SecretSourcesTest, TurnSecretFromAFile)
{
	std::string file = write("turn-secret", "turn-file-secret\n");
	ASSERT_NO_FATAL_FAILURE(
	    start_server({"--turn", "turn:turn.example.org:3478", "--turn-secret-file", file},
			 {"MESHCALL_TURN_SECRET=turn-env-secret"}));
	meshcall::protocol::Welcome w;
	ASSERT_TRUE(joined("demo", "a", &w));
	expect_turn_credential_signed_with(w, "turn-file-secret");
}

TEST_F(SecretSourcesTest, TurnSecretFromTheEnvironment)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--turn", "turn:turn.example.org:3478"},
					     {"MESHCALL_TURN_SECRET=turn-env-secret"}));
	meshcall::protocol::Welcome w;
	ASSERT_TRUE(joined("demo", "a", &w));
	expect_turn_credential_signed_with(w, "turn-env-secret");
}

TEST_F(SecretSourcesTest, TurnSecretFromASystemdCredential)
{
	std::string dir = credentials("meshcall-turn-secret", "turn-credential-secret");
	ASSERT_NO_FATAL_FAILURE(start_server({"--turn", "turn:turn.example.org:3478"},
					     {"CREDENTIALS_DIRECTORY=" + dir}));
	meshcall::protocol::Welcome w;
	ASSERT_TRUE(joined("demo", "a", &w));
	expect_turn_credential_signed_with(w, "turn-credential-secret");
}

TEST_F(SecretSourcesTest, UnusableSecretsStopTheStartWithAClearError)
{
	const std::string absent = dir_ + "/absent";
	CommandResult r = refuse_to_start({"--token-secret-file", absent});
	EXPECT_NE(r.err.find("--token-secret-file: cannot read " + absent +
			     ": No such file or directory"),
		  std::string::npos)
	    << r.err;

	std::string empty = write("empty", "\n");
	r = refuse_to_start({"--token-secret-file", empty});
	EXPECT_NE(r.err.find("--token-secret-file: " + empty + " is empty"), std::string::npos)
	    << r.err;
	r = refuse_to_start({"--turn", "turn:t.example.org", "--turn-secret-file", empty});
	EXPECT_NE(r.err.find("--turn-secret-file: " + empty + " is empty"), std::string::npos)
	    << r.err;

	r = refuse_to_start({"--token-secret-file", dir_});
	EXPECT_NE(r.err.find("cannot read " + dir_), std::string::npos) << r.err;

	std::string file = write("s", "x");
	r = refuse_to_start({"--token-secret", "x", "--token-secret-file", file});
	EXPECT_NE(r.err.find("--token-secret and --token-secret-file are exclusive"),
		  std::string::npos)
	    << r.err;
	r = refuse_to_start({"--token-secret", ""});
	EXPECT_NE(r.err.find("--token-secret is empty"), std::string::npos) << r.err;

	/* A credential that is there must be usable; the environment is not a
	 * silent fallback. */
	std::string dir = credentials("meshcall-token-secret", "");
	r = refuse_to_start({}, {"CREDENTIALS_DIRECTORY=" + dir, "MESHCALL_TOKEN_SECRET=env"});
	EXPECT_NE(r.err.find("credential meshcall-token-secret: "), std::string::npos) << r.err;

	r = refuse_to_start({"--turn", "turn:t.example.org"}, {"MESHCALL_TURN_SECRET="});
	EXPECT_NE(r.err.find("--turn needs a secret"), std::string::npos) << r.err;
	r = refuse_to_start({"--turn-secret-file", file});
	EXPECT_NE(r.err.find("--turn-secret needs --turn"), std::string::npos) << r.err;

	r = run_with_input(
	    {server_binary(), "token", "--room", "demo", "--token-secret-file", absent}, "");
	EXPECT_EQ(r.exit_status, 2);
	EXPECT_EQ(r.out, "");
	EXPECT_NE(r.err.find("meshcall-server token: --token-secret-file: cannot read"),
		  std::string::npos)
	    << r.err;
}

} // namespace
