// SPDX-License-Identifier: LGPL-2.1-or-later
/* server/state_dir.h: where the state directory is, and the resume secret
 * kept in it. The same through the real binary (a restart keeps ids, an
 * unusable directory) is tests/server/websocket/test_resume.cpp. */
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <optional>
#include <string>

#include "server/state_dir.h"

namespace meshcall::server
{
namespace
{

/* The environment variables choose_state_dir() reads, restored afterwards. */
class StateDirTest : public ::testing::Test
{
protected:
	static constexpr const char *kVars[] = {"STATE_DIRECTORY", "XDG_STATE_HOME", "HOME"};

	void SetUp() override
	{
		for (const char *var : kVars) {
			const char *value = g_getenv(var);
			saved_.push_back(value ? std::optional<std::string>(value) : std::nullopt);
			g_unsetenv(var);
		}
		g_autoptr(GError) error = nullptr;
		g_autofree char *dir = g_dir_make_tmp("meshcall-state-XXXXXX", &error);
		ASSERT_TRUE(dir) << error->message;
		tmp_ = dir;
	}
	void TearDown() override
	{
		for (std::size_t i = 0; i < std::size(kVars); i++) {
			if (saved_[i])
				g_setenv(kVars[i], saved_[i]->c_str(), TRUE);
			else
				g_unsetenv(kVars[i]);
		}
		remove_tree(tmp_);
	}

	static void remove_tree(const std::string &path)
	{
		if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR) &&
		    !g_file_test(path.c_str(), G_FILE_TEST_IS_SYMLINK)) {
			if (GDir *dir = g_dir_open(path.c_str(), 0, nullptr)) {
				while (const char *name = g_dir_read_name(dir))
					remove_tree(path + "/" + name);
				g_dir_close(dir);
			}
			g_rmdir(path.c_str());
		} else {
			g_remove(path.c_str());
		}
	}

	static std::string contents(const std::string &path)
	{
		g_autofree char *data = nullptr;
		gsize size = 0;
		if (!g_file_get_contents(path.c_str(), &data, &size, nullptr))
			return {};
		return std::string(data, size);
	}

	static unsigned mode_of(const std::string &path)
	{
		GStatBuf st;
		if (g_stat(path.c_str(), &st) != 0)
			return 0;
		return st.st_mode & 07777;
	}

	/* Names in `dir`, to see that no temporary file is left behind. */
	static std::vector<std::string> entries(const std::string &dir)
	{
		std::vector<std::string> names;
		if (GDir *d = g_dir_open(dir.c_str(), 0, nullptr)) {
			while (const char *name = g_dir_read_name(d))
				names.emplace_back(name);
			g_dir_close(d);
		}
		return names;
	}

	std::vector<std::optional<std::string>> saved_;
	std::string tmp_;
};

TEST_F(StateDirTest, TheFirstOfOptionSystemdXdgAndHome)
{
	EXPECT_EQ(choose_state_dir(nullptr), "") << "nothing set at all";
	g_setenv("HOME", "/home/h", TRUE);
	EXPECT_EQ(choose_state_dir(nullptr), "/home/h/.local/state/meshcall");
	g_setenv("XDG_STATE_HOME", "relative/state", TRUE);
	EXPECT_EQ(choose_state_dir(nullptr), "/home/h/.local/state/meshcall")
	    << "the XDG spec has a relative $XDG_STATE_HOME ignored";
	g_setenv("XDG_STATE_HOME", "/xdg/state", TRUE);
	EXPECT_EQ(choose_state_dir(nullptr), "/xdg/state/meshcall");
	g_setenv("STATE_DIRECTORY", "/var/lib/meshcall", TRUE);
	EXPECT_EQ(choose_state_dir(nullptr), "/var/lib/meshcall");
	g_setenv("STATE_DIRECTORY", "/var/lib/meshcall:/var/lib/other", TRUE);
	EXPECT_EQ(choose_state_dir(nullptr), "/var/lib/meshcall")
	    << "systemd lists several StateDirectory= paths with colons";
	EXPECT_EQ(choose_state_dir("/opt/state"), "/opt/state");
	g_setenv("STATE_DIRECTORY", "", TRUE);
	EXPECT_EQ(choose_state_dir(nullptr), "/xdg/state/meshcall") << "empty counts as unset";
}

TEST_F(StateDirTest, SecretIsMadeOnceWithMode0600AndReadAfterwards)
{
	const std::string dir = tmp_ + "/a/b/meshcall";
	ResumeSecret first = load_resume_secret(dir);
	EXPECT_EQ(first.problem, "");
	EXPECT_TRUE(first.created);
	EXPECT_EQ(first.path, dir + "/resume-secret");
	ASSERT_EQ(first.bytes.size(), kResumeSecretBytes);
	EXPECT_NE(first.bytes, std::string(kResumeSecretBytes, '\0'));
	EXPECT_EQ(contents(first.path), first.bytes);
	EXPECT_EQ(mode_of(first.path), 0600u);
	EXPECT_EQ(mode_of(dir), 0700u);
	EXPECT_EQ(entries(dir), std::vector<std::string>{"resume-secret"})
	    << "no temporary file stays behind";

	ResumeSecret again = load_resume_secret(dir);
	EXPECT_EQ(again.problem, "");
	EXPECT_FALSE(again.created);
	EXPECT_EQ(again.bytes, first.bytes);

	/* Another directory, another secret. */
	ResumeSecret other = load_resume_secret(tmp_ + "/other");
	EXPECT_EQ(other.problem, "");
	EXPECT_NE(other.bytes, first.bytes);
}

TEST_F(StateDirTest, AnExistingDirectoryKeepsItsMode)
{
	ASSERT_EQ(g_chmod(tmp_.c_str(), 0750), 0);
	ResumeSecret secret = load_resume_secret(tmp_);
	EXPECT_EQ(secret.problem, "");
	EXPECT_EQ(mode_of(tmp_), 0750u) << "the operator's directory is theirs";
	EXPECT_EQ(mode_of(secret.path), 0600u);
}

TEST_F(StateDirTest, AnUnusableDirectoryGivesAReasonAndASecretInMemory)
{
	const std::string file = tmp_ + "/a-file";
	ASSERT_TRUE(g_file_set_contents(file.c_str(), "x", 1, nullptr));
	/* A path below a regular file fails even for root. */
	ResumeSecret secret = load_resume_secret(file + "/state");
	EXPECT_NE(secret.problem.find(file + "/state"), std::string::npos) << secret.problem;
	EXPECT_NE(secret.problem.find("Not a directory"), std::string::npos) << secret.problem;
	EXPECT_EQ(secret.bytes.size(), kResumeSecretBytes);
	EXPECT_FALSE(secret.created);

	ResumeSecret other = load_resume_secret(file + "/state");
	EXPECT_NE(other.bytes, secret.bytes) << "each in-memory secret is fresh";

	ResumeSecret none = load_resume_secret("");
	EXPECT_NE(none.problem.find("no state directory"), std::string::npos) << none.problem;
	EXPECT_EQ(none.bytes.size(), kResumeSecretBytes);
}

TEST_F(StateDirTest, AFileThatIsNoSecretIsKeptAndNamed)
{
	const std::string path = tmp_ + "/resume-secret";
	for (const std::string &bad : {std::string("short"), std::string(33, 's'), std::string()}) {
		SCOPED_TRACE(std::to_string(bad.size()) + " bytes");
		ASSERT_TRUE(g_file_set_contents(path.c_str(), bad.data(),
						static_cast<gssize>(bad.size()), nullptr));
		ResumeSecret secret = load_resume_secret(tmp_);
		EXPECT_NE(secret.problem.find(path), std::string::npos) << secret.problem;
		EXPECT_NE(secret.problem.find("not 32"), std::string::npos) << secret.problem;
		EXPECT_EQ(secret.bytes.size(), kResumeSecretBytes);
		EXPECT_EQ(contents(path), bad) << "never overwritten: it may be the operator's";
	}

	/* Unreadable, even for root: a directory where the file should be. */
	g_remove(path.c_str());
	ASSERT_EQ(g_mkdir(path.c_str(), 0700), 0);
	ResumeSecret secret = load_resume_secret(tmp_);
	EXPECT_NE(secret.problem.find("cannot read " + path), std::string::npos) << secret.problem;
	EXPECT_EQ(secret.bytes.size(), kResumeSecretBytes);
}

TEST_F(StateDirTest, ASecretOfAnyBytesIsRead)
{
	std::string bytes(kResumeSecretBytes, '\0');
	for (std::size_t i = 0; i < bytes.size(); i++)
		bytes[i] = static_cast<char>(i * 37 % 256); /* NULs and newlines included */
	const std::string path = tmp_ + "/resume-secret";
	ASSERT_TRUE(g_file_set_contents(path.c_str(), bytes.data(),
					static_cast<gssize>(bytes.size()), nullptr));
	ResumeSecret secret = load_resume_secret(tmp_);
	EXPECT_EQ(secret.problem, "");
	EXPECT_FALSE(secret.created);
	EXPECT_EQ(secret.bytes, bytes);
}

} // namespace
} // namespace meshcall::server
