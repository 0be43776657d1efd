// SPDX-License-Identifier: LGPL-2.1-or-later
/* server/secrets.h: each way a secret comes in, their order, and the errors.
 * The same through the real binary is tests/abuse/test_secret_sources.cpp. */
#include <gtest/gtest.h>

#include <glib/gstdio.h>

#include <string>

#include "server/secrets.h"

namespace meshcall::server
{
namespace
{

class SecretsTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		g_autoptr(GError) error = nullptr;
		g_autofree char *dir = g_dir_make_tmp("meshcall-secrets-XXXXXX", &error);
		ASSERT_TRUE(dir) << error->message;
		dir_ = dir;
		g_unsetenv("CREDENTIALS_DIRECTORY");
		g_unsetenv("MESHCALL_TEST_SECRET");
	}
	void TearDown() override
	{
		for (const std::string &f : files_)
			g_remove(f.c_str());
		g_rmdir(dir_.c_str());
		g_unsetenv("CREDENTIALS_DIRECTORY");
		g_unsetenv("MESHCALL_TEST_SECRET");
	}
	std::string write(const std::string &name, const std::string &content)
	{
		std::string path = dir_ + "/" + name;
		EXPECT_TRUE(g_file_set_contents(path.c_str(), content.data(),
						static_cast<gssize>(content.size()), nullptr));
		files_.push_back(path);
		return path;
	}
	SecretSources sources(const char *value, const char *file)
	{
		return {"--test-secret", value, file, "meshcall-test-secret",
			"MESHCALL_TEST_SECRET"};
	}
	ChosenSecret choose(const char *value, const char *file, std::string *error = nullptr)
	{
		ChosenSecret out;
		std::string why;
		bool ok = choose_secret(sources(value, file), &out, &why);
		if (error)
			*error = ok ? "" : why;
		else
			EXPECT_TRUE(ok) << why;
		return out;
	}

	std::string dir_;
	std::vector<std::string> files_;
};

TEST_F(SecretsTest, FileHasItsTrailingNewlinesStripped)
{
	std::string secret, error;
	for (const char *content : {"s3cret", "s3cret\n", "s3cret\r\n", "s3cret\n\n"}) {
		ASSERT_TRUE(read_secret_file(write("f", content), &secret, &error)) << error;
		EXPECT_EQ(secret, "s3cret") << content;
	}
	/* Only at the end: inner white space and bytes are the secret's own. */
	ASSERT_TRUE(read_secret_file(write("g", " a b\nc\x01\n"), &secret, &error));
	EXPECT_EQ(secret, " a b\nc\x01");
}

TEST_F(SecretsTest, FileErrorsAreClear)
{
	std::string secret, error;
	EXPECT_FALSE(read_secret_file(dir_ + "/absent", &secret, &error));
	EXPECT_NE(error.find("cannot read " + dir_ + "/absent"), std::string::npos) << error;
	EXPECT_NE(error.find("No such file"), std::string::npos) << error;
	EXPECT_FALSE(read_secret_file(write("empty", ""), &secret, &error));
	EXPECT_NE(error.find("is empty"), std::string::npos) << error;
	EXPECT_FALSE(read_secret_file(write("newline", "\n"), &secret, &error));
	EXPECT_NE(error.find("is empty"), std::string::npos) << error;
	EXPECT_FALSE(read_secret_file(dir_, &secret, &error));
	EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
	EXPECT_FALSE(read_secret_file(write("big", std::string(kMaxSecretFileBytes + 1, 'x')),
				      &secret, &error));
	EXPECT_NE(error.find("larger than"), std::string::npos) << error;
	EXPECT_TRUE(
	    read_secret_file(write("max", std::string(kMaxSecretFileBytes, 'x')), &secret, &error));
}

TEST_F(SecretsTest, EachWayInInOrder)
{
	std::string file = write("file", "from-file\n");
	std::string creds = dir_ + "/creds";
	ASSERT_EQ(g_mkdir(creds.c_str(), 0700), 0);
	std::string credential = write("creds/meshcall-test-secret", "from-credential\n");

	/* Nothing anywhere: no secret, no error. */
	EXPECT_EQ(choose(nullptr, nullptr).value, "");
	g_setenv("MESHCALL_TEST_SECRET", "from-env", TRUE);
	ChosenSecret got = choose(nullptr, nullptr);
	EXPECT_EQ(got.value, "from-env");
	EXPECT_EQ(got.source, "$MESHCALL_TEST_SECRET");
	g_setenv("CREDENTIALS_DIRECTORY", creds.c_str(), TRUE);
	got = choose(nullptr, nullptr);
	EXPECT_EQ(got.value, "from-credential");
	EXPECT_EQ(got.source, "credential meshcall-test-secret");
	got = choose(nullptr, file.c_str());
	EXPECT_EQ(got.value, "from-file");
	EXPECT_EQ(got.source, "--test-secret-file " + file);
	got = choose("from-option", nullptr);
	EXPECT_EQ(got.value, "from-option");
	EXPECT_EQ(got.source, "--test-secret");

	/* A credential directory without this credential: not configured. */
	g_remove(credential.c_str());
	EXPECT_EQ(choose(nullptr, nullptr).value, "from-env");
	g_rmdir(creds.c_str());
	/* An empty variable is no secret (EnvironmentFile= lines left blank). */
	g_setenv("MESHCALL_TEST_SECRET", "", TRUE);
	EXPECT_EQ(choose(nullptr, nullptr).value, "");
}

TEST_F(SecretsTest, ConflictsAndUnusableSourcesAreErrors)
{
	std::string file = write("file", "x");
	std::string error;
	choose("value", file.c_str(), &error);
	EXPECT_EQ(error, "--test-secret and --test-secret-file are exclusive");
	choose("", nullptr, &error);
	EXPECT_EQ(error, "--test-secret is empty");
	std::string empty = write("empty", "\n");
	choose(nullptr, empty.c_str(), &error);
	EXPECT_EQ(error, "--test-secret-file: " + empty + " is empty");
	/* A given file never falls back to the environment. */
	g_setenv("MESHCALL_TEST_SECRET", "from-env", TRUE);
	choose(nullptr, (dir_ + "/absent").c_str(), &error);
	EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
	/* Nor does a credential that is there but empty. */
	g_setenv("CREDENTIALS_DIRECTORY", dir_.c_str(), TRUE);
	write("meshcall-test-secret", "");
	choose(nullptr, nullptr, &error);
	EXPECT_NE(error.find("credential meshcall-test-secret: "), std::string::npos) << error;
	EXPECT_NE(error.find("is empty"), std::string::npos) << error;
}

} // namespace
} // namespace meshcall::server
