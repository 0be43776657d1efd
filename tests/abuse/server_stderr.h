// SPDX-License-Identifier: LGPL-2.1-or-later
/* What the abuse tests of log lines, TLS and secrets share: the stderr of a
 * meshcall-server started through the fixture, raw HTTP exchanges that no
 * well-behaved client library would send, and running a command with input.
 * Header-only: each test binary is one .cpp (tests/abuse/meson.build). */
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "support/server_fixture.h"

namespace meshcall::test
{

/* The server inherits the test's descriptor 2 when the fixture spawns it, so
 * pointing it at a file for the duration of start() gives the server that
 * file as its stderr, and only the server: the test's own is restored. */
class ServerStderr
{
public:
	ServerStderr()
	{
		g_autoptr(GError) error = nullptr;
		g_autofree char *path = nullptr;
		fd_ = g_file_open_tmp("meshcall-stderr-XXXXXX", &path, &error);
		if (path)
			path_ = path;
	}
	~ServerStderr()
	{
		if (fd_ >= 0)
			close(fd_);
		if (!path_.empty())
			g_remove(path_.c_str());
	}
	ServerStderr(const ServerStderr &) = delete;
	ServerStderr &operator=(const ServerStderr &) = delete;

	/* Calls `start` (which spawns the server) with stderr on the file. */
	template <typename Start> void capture(Start &&start)
	{
		ASSERT_GE(fd_, 0) << "no temporary file";
		std::fflush(stderr);
		int saved = dup(STDERR_FILENO);
		ASSERT_GE(saved, 0);
		dup2(fd_, STDERR_FILENO);
		start();
		std::fflush(stderr);
		dup2(saved, STDERR_FILENO);
		close(saved);
	}

	/* Everything the server wrote so far. */
	std::string text() const
	{
		g_autofree char *contents = nullptr;
		gsize length = 0;
		if (!g_file_get_contents(path_.c_str(), &contents, &length, nullptr))
			return {};
		return std::string(contents, length);
	}

	/* The lines, each with its newline. */
	std::vector<std::string> lines() const
	{
		std::vector<std::string> out;
		std::string all = text();
		std::size_t start = 0;
		while (start < all.size()) {
			std::size_t end = all.find('\n', start);
			end = end == std::string::npos ? all.size() : end + 1;
			out.push_back(all.substr(start, end - start));
			start = end;
		}
		return out;
	}

private:
	int fd_ = -1;
	std::string path_;
};

/* Sends `request` as is on a fresh TCP connection to 127.0.0.1:port from
 * `from` (any 127.x.y.z is this machine on Linux, so a test can be several
 * client addresses) and returns whatever comes back until the server closes
 * (or 5 s pass). */
inline std::string raw_http(int port, const std::string &request, const char *from = "127.0.0.1")
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_socket_client_set_timeout(client, 5);
	g_autoptr(GInetAddress) local_ip = g_inet_address_new_from_string(from);
	g_autoptr(GSocketAddress) local = g_inet_socket_address_new(local_ip, 0);
	g_socket_client_set_local_address(client, local);
	g_autoptr(GSocketConnection) conn =
	    g_socket_client_connect_to_host(client, "127.0.0.1", port, nullptr, nullptr);
	if (!conn)
		return {};
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	if (!g_output_stream_write_all(out, request.data(), request.size(), nullptr, nullptr,
				       nullptr))
		return {};
	std::string answer;
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	char buffer[4096];
	for (;;) {
		gssize n = g_input_stream_read(in, buffer, sizeof(buffer), nullptr, nullptr);
		if (n <= 0)
			break;
		answer.append(buffer, static_cast<std::size_t>(n));
	}
	return answer;
}

struct CommandResult {
	bool ran = false;
	int exit_status = -1;
	std::string out, err;
};

/* Runs argv with `input` on its stdin and `env` (NAME=VALUE) added. */
inline CommandResult run_with_input(const std::vector<std::string> &args, const std::string &input,
				    const std::vector<std::string> &env = {})
{
	CommandResult result;
	std::vector<const char *> argv;
	for (const std::string &a : args)
		argv.push_back(a.c_str());
	argv.push_back(nullptr);
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(static_cast<GSubprocessFlags>(
		G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
		G_SUBPROCESS_FLAGS_STDERR_PIPE));
	for (const std::string &entry : env) {
		const std::size_t eq = entry.find('=');
		g_subprocess_launcher_setenv(launcher, entry.substr(0, eq).c_str(),
					     entry.substr(eq + 1).c_str(), TRUE);
	}
	g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv(launcher, argv.data(), nullptr);
	if (!proc)
		return result;
	g_autoptr(GBytes) in = g_bytes_new(input.data(), input.size());
	g_autoptr(GBytes) out = nullptr;
	g_autoptr(GBytes) err = nullptr;
	if (!g_subprocess_communicate(proc, in, nullptr, &out, &err, nullptr))
		return result;
	result.ran = true;
	result.exit_status =
	    g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	auto text = [](GBytes *bytes) {
		gsize size = 0;
		const char *data =
		    bytes ? static_cast<const char *>(g_bytes_get_data(bytes, &size)) : nullptr;
		return std::string(data ? data : "", size);
	};
	result.out = text(out);
	result.err = text(err);
	return result;
}

} // namespace meshcall::test
