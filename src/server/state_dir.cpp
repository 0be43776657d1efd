// SPDX-License-Identifier: LGPL-2.1-or-later
/* The state directory and the resume secret in it (state_dir.h). */
#include "server/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <glib.h>
#include <glib/gstdio.h>

#include "server/auth.h"

namespace meshcall::server
{

namespace
{

std::string errno_text(int err)
{
	return std::strerror(err);
}

/* Writes all of `data` to `fd`; false with errno set. */
bool write_all(int fd, const std::string &data)
{
	for (std::size_t done = 0; done < data.size();) {
		ssize_t n = write(fd, data.data() + done, data.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += static_cast<std::size_t>(n);
	}
	return true;
}

enum class ReadResult { Ok, Missing, Failed };

/* Reads the secret at `path` into out->bytes; on Failed out->problem says why. */
ReadResult read_secret(const std::string &path, ResumeSecret *out)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return ReadResult::Missing;
		out->problem = "cannot read " + path + ": " + errno_text(errno);
		return ReadResult::Failed;
	}
	/* One byte more than a secret tells a longer file apart. */
	std::string data(kResumeSecretBytes + 1, '\0');
	std::size_t got = 0;
	while (got < data.size()) {
		ssize_t n = read(fd, data.data() + got, data.size() - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			out->problem = "cannot read " + path + ": " + errno_text(errno);
			close(fd);
			return ReadResult::Failed;
		}
		if (n == 0)
			break;
		got += static_cast<std::size_t>(n);
	}
	close(fd);
	if (got != kResumeSecretBytes) {
		out->problem =
		    path + " holds " +
		    (got > kResumeSecretBytes ? "more than " + std::to_string(kResumeSecretBytes)
					      : std::to_string(got)) +
		    " bytes, not " + std::to_string(kResumeSecretBytes) +
		    " (remove it to have a new one made)";
		return ReadResult::Failed;
	}
	data.resize(got);
	out->bytes = std::move(data);
	return ReadResult::Ok;
}

/* A rename survives a crash only once the directory entry is on disk. */
void sync_dir(const std::string &dir)
{
	int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * Writes out->bytes to a temporary file and links it in as `path`: readers
 * see the whole secret or none. link(2), unlike rename(2), never replaces a
 * secret another server process (a test, a second instance) made meanwhile;
 * that one is read instead, so all of them sign alike. A file system
 * without hard links gets rename(2).
 */
ReadResult create_secret(const std::string &dir, const std::string &path, ResumeSecret *out)
{
	std::string tmp = dir + "/." + kResumeSecretFile + ".XXXXXX";
	int fd = g_mkstemp_full(tmp.data(), O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		out->problem = "cannot write in " + dir + ": " + errno_text(errno);
		return ReadResult::Failed;
	}
	bool written = write_all(fd, out->bytes) && fsync(fd) == 0;
	int err = errno;
	close(fd);
	if (!written) {
		g_unlink(tmp.c_str());
		out->problem = "cannot write " + tmp + ": " + errno_text(err);
		return ReadResult::Failed;
	}

	int linked = link(tmp.c_str(), path.c_str());
	err = errno;
	if (linked != 0 && (err == EPERM || err == EOPNOTSUPP || err == EMLINK)) {
		linked = rename(tmp.c_str(), path.c_str());
		err = errno;
	}
	g_unlink(tmp.c_str());
	if (linked != 0) {
		if (err == EEXIST)
			return ReadResult::Missing; /* made meanwhile: read that one */
		out->problem = "cannot create " + path + ": " + errno_text(err);
		return ReadResult::Failed;
	}
	sync_dir(dir);
	out->created = true;
	return ReadResult::Ok;
}

} // namespace

std::string choose_state_dir(const char *option)
{
	if (option)
		return option;
	const char *systemd = g_getenv("STATE_DIRECTORY");
	if (systemd && *systemd) {
		std::string first = systemd;
		return first.substr(0, first.find(':'));
	}
	/* The XDG base directory spec says to ignore a relative path. */
	const char *xdg = g_getenv("XDG_STATE_HOME");
	if (xdg && g_path_is_absolute(xdg))
		return std::string(xdg) + "/meshcall";
	const char *home = g_getenv("HOME");
	if (home && *home)
		return std::string(home) + "/.local/state/meshcall";
	return {};
}

ResumeSecret load_resume_secret(const std::string &dir)
{
	ResumeSecret secret;
	auto in_memory = [&secret] {
		secret.bytes = random_bytes(kResumeSecretBytes);
		secret.created = false;
		return secret;
	};
	if (dir.empty()) {
		secret.problem = "no state directory: neither --state-dir, $STATE_DIRECTORY, "
				 "$XDG_STATE_HOME nor $HOME is set";
		return in_memory();
	}
	secret.path = dir + "/" + kResumeSecretFile;
	if (g_mkdir_with_parents(dir.c_str(), 0700) != 0) {
		secret.problem = "cannot create " + dir + ": " + errno_text(errno);
		return in_memory();
	}

	/* Twice at most: a file that appears while this one is made is read. */
	for (int attempt = 0; attempt < 2; attempt++) {
		ReadResult read = read_secret(secret.path, &secret);
		if (read == ReadResult::Ok)
			return secret;
		if (read == ReadResult::Failed)
			return in_memory();
		secret.bytes = random_bytes(kResumeSecretBytes);
		ReadResult made = create_secret(dir, secret.path, &secret);
		if (made == ReadResult::Ok)
			return secret;
		if (made == ReadResult::Failed)
			return in_memory();
	}
	secret.problem = secret.path + " appeared and vanished while it was being made";
	return in_memory();
}

} // namespace meshcall::server
