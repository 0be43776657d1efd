// SPDX-License-Identifier: LGPL-2.1-or-later
#include "abuse_support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace meshcall::test::abuse
{

double monotonic_s()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int open_fds(int pid)
{
	std::string path = "/proc/" + std::to_string(pid) + "/fd";
	DIR *dir = opendir(path.c_str());
	if (!dir)
		return -1;
	int n = 0;
	while (dirent *e = readdir(dir)) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(dir);
	return n;
}

long rss_kb(int pid)
{
	std::ifstream status("/proc/" + std::to_string(pid) + "/status");
	std::string line;
	while (std::getline(status, line)) {
		if (line.rfind("VmRSS:", 0) == 0)
			return std::atol(line.c_str() + 6);
	}
	return -1;
}

bool set_fd_limit(int pid, unsigned long limit)
{
	rlimit lim;
	if (prlimit(pid, RLIMIT_NOFILE, nullptr, &lim) != 0)
		return false;
	lim.rlim_cur = std::min<rlim_t>(limit, lim.rlim_max);
	return prlimit(pid, RLIMIT_NOFILE, &lim, nullptr) == 0;
}

std::string loopback_source(int index, int first, int count)
{
	return "127.0.0." + std::to_string(first + index % count);
}

int connect_from(const std::string &source, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	const int one = 1;
	/* The port is picked at connect(), per source address. */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	sockaddr_in from{};
	from.sin_family = AF_INET;
	inet_pton(AF_INET, source.c_str(), &from.sin_addr);
	sockaddr_in to{};
	to.sin_family = AF_INET;
	to.sin_port = htons(static_cast<std::uint16_t>(port));
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, reinterpret_cast<sockaddr *>(&from), sizeof(from)) != 0 ||
	    connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof(to)) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

namespace
{

/* Waits for `events` on fd until the deadline; false on timeout. */
bool wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - monotonic_s();
		if (left <= 0)
			return false;
		pollfd p{fd, events, 0};
		int n = poll(&p, 1, static_cast<int>(left * 1000) + 1);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* Whether `in` holds a whole HTTP response; sets its status. */
bool whole_response(const std::string &in, int *status)
{
	std::size_t end = in.find("\r\n\r\n");
	if (end == std::string::npos)
		return false;
	if (std::sscanf(in.c_str(), "HTTP/1.%*d %d", status) != 1)
		*status = -1;
	std::size_t length = 0;
	std::string head = in.substr(0, end);
	for (char &c : head)
		c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	if (std::size_t at = head.find("\r\ncontent-length:"); at != std::string::npos)
		length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
	return in.size() >= end + 4 + length;
}

} // namespace

TimedGet timed_get(int port, const std::string &path, double timeout_s)
{
	TimedGet result;
	const double start = monotonic_s();
	const double deadline = start + timeout_s;
	int fd = connect_from("127.0.0.1", port);
	if (fd < 0) {
		result.error = std::string("connect: ") + std::strerror(errno);
		return result;
	}
	std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	std::string in;
	int status = 0;
	if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
	    static_cast<ssize_t>(request.size())) {
		result.error = "send failed";
	} else {
		while (!whole_response(in, &status)) {
			if (!wait_fd(fd, POLLIN, deadline)) {
				result.error = "no whole response in time";
				break;
			}
			char buffer[4096];
			ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
			if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
				result.error = "connection ended before the response";
				break;
			}
			if (n > 0)
				in.append(buffer, static_cast<std::size_t>(n));
		}
	}
	close(fd);
	result.seconds = monotonic_s() - start;
	if (result.error.empty())
		result.status = status;
	return result;
}

int keepalive_requests(int port, int total, int concurrency,
		       const std::vector<std::string> &sources, int every_n,
		       const std::function<void(int done)> &every, double timeout_s)
{
	struct Slot {
		int fd = -1;
		std::string in;
	};
	const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	const double deadline = monotonic_s() + timeout_s;
	std::vector<Slot> slots(static_cast<std::size_t>(concurrency));
	int started = 0, done = 0, ok = 0;
	std::vector<pollfd> polls;
	while (done < total && monotonic_s() < deadline) {
		for (Slot &slot : slots) {
			if (slot.fd >= 0 || started >= total)
				continue;
			slot.fd = connect_from(
			    sources[static_cast<std::size_t>(started) % sources.size()], port);
			started++;
			if (slot.fd < 0 ||
			    send(slot.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
				static_cast<ssize_t>(request.size())) {
				if (slot.fd >= 0)
					close(slot.fd);
				slot.fd = -1;
				done++;
			}
		}
		polls.clear();
		for (Slot &slot : slots) {
			if (slot.fd >= 0)
				polls.push_back({slot.fd, POLLIN, 0});
		}
		if (polls.empty())
			continue;
		if (poll(polls.data(), polls.size(), 100) <= 0)
			continue;
		for (Slot &slot : slots) {
			if (slot.fd < 0)
				continue;
			char buffer[4096];
			ssize_t n = recv(slot.fd, buffer, sizeof(buffer), 0);
			if (n < 0 && errno == EAGAIN)
				continue;
			int status = 0;
			if (n > 0)
				slot.in.append(buffer, static_cast<std::size_t>(n));
			bool complete = whole_response(slot.in, &status);
			if (!complete && n > 0)
				continue;
			/* The client closes: the server has to notice. */
			close(slot.fd);
			slot.fd = -1;
			slot.in.clear();
			done++;
			if (complete && status == 200)
				ok++;
			if (every && every_n > 0 && done % every_n == 0)
				every(done);
		}
	}
	for (Slot &slot : slots) {
		if (slot.fd >= 0)
			close(slot.fd);
	}
	return ok;
}

/* ---- SilentWebSockets ---- */

SilentWebSockets::~SilentWebSockets()
{
	for (Socket &s : sockets_) {
		if (s.fd >= 0)
			close(s.fd);
	}
	if (epoll_fd_ >= 0)
		close(epoll_fd_);
}

bool SilentWebSockets::open(int port, int count, const std::vector<std::string> &sources)
{
	if (epoll_fd_ < 0)
		epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
	const std::string request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				    "Sec-WebSocket-Version: 13\r\n\r\n";
	sockets_.reserve(sockets_.size() + static_cast<std::size_t>(count));
	for (int i = 0; i < count; i++) {
		Socket s;
		s.fd = connect_from(sources[static_cast<std::size_t>(i) % sources.size()], port);
		if (s.fd < 0)
			return false;
		if (send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
		    static_cast<ssize_t>(request.size())) {
			close(s.fd);
			return false;
		}
		s.sent_at = monotonic_s();
		epoll_event ev{};
		ev.events = EPOLLIN;
		ev.data.u64 = sockets_.size();
		epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s.fd, &ev);
		sockets_.push_back(std::move(s));
	}
	return true;
}

void SilentWebSockets::read_from(Socket &s)
{
	char buffer[4096];
	for (;;) {
		ssize_t n = recv(s.fd, buffer, sizeof(buffer), 0);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			if (s.state != State::Closed)
				s.state = State::Ended;
			s.closed_at = monotonic_s();
			epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
			close(s.fd);
			s.fd = -1;
			return;
		}
		s.in.append(buffer, static_cast<std::size_t>(n));
	}
	if (s.state == State::Connecting) {
		std::size_t end = s.in.find("\r\n\r\n");
		if (end == std::string::npos)
			return;
		std::sscanf(s.in.c_str(), "HTTP/1.%*d %d", &s.http_status);
		s.state = s.http_status == 101 ? State::Upgraded : State::Refused;
		s.upgraded_at = monotonic_s();
		s.in.erase(0, end + 4);
	}
	/* Server frames are unmasked; only the close frame matters here. */
	while (s.state == State::Upgraded && s.in.size() >= 2) {
		const auto *p = reinterpret_cast<const unsigned char *>(s.in.data());
		std::size_t length = p[1] & 0x7f, header = 2;
		if (length == 126) {
			if (s.in.size() < 4)
				return;
			length = p[2] << 8 | p[3];
			header = 4;
		} else if (length == 127) {
			return; /* never for a close or a ping */
		}
		if (s.in.size() < header + length)
			return;
		if ((p[0] & 0x0f) == 0x8) {
			s.state = State::Closed;
			s.closed_at = monotonic_s();
			if (length >= 2) {
				s.close_code = p[header] << 8 | p[header + 1];
				s.close_reason = s.in.substr(header + 2, length - 2);
			}
		}
		s.in.erase(0, header + length);
	}
}

bool SilentWebSockets::pump_until(const std::function<bool()> &done, double timeout_s)
{
	const double deadline = monotonic_s() + timeout_s;
	epoll_event events[256];
	while (!done()) {
		double left = deadline - monotonic_s();
		if (left <= 0)
			return done();
		int n = epoll_wait(epoll_fd_, events, 256,
				   std::min(100, static_cast<int>(left * 1000) + 1));
		for (int i = 0; i < n; i++)
			read_from(sockets_[events[i].data.u64]);
	}
	return true;
}

int SilentWebSockets::count(State state) const
{
	int n = 0;
	for (const Socket &s : sockets_)
		n += s.state == state;
	return n;
}

} // namespace meshcall::test::abuse
