// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ws_client.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

namespace meshcall::bench
{

namespace
{

/* A server message may be 1 MiB (docs/protocol.md, "Precise rules"); refuse
 * anything far beyond that. */
constexpr std::uint64_t kMaxServerMessage = 16u << 20;
constexpr std::size_t kMaxHandshakeBytes = 16 * 1024;
/* Reads per readiness event: keeps one busy connection from starving the rest. */
constexpr int kMaxReadsPerEvent = 8;

std::array<char, 64 * 1024> read_scratch;

std::uint32_t rotl(std::uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}

/* SHA-1, only to check Sec-WebSocket-Accept (RFC 6455 section 4.1). */
std::array<std::uint8_t, 20> sha1(std::string_view data)
{
	std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
	std::string msg(data);
	const std::uint64_t bit_len = std::uint64_t(data.size()) * 8;
	msg.push_back(char(0x80));
	while (msg.size() % 64 != 56)
		msg.push_back(0);
	for (int i = 7; i >= 0; i--)
		msg.push_back(char(bit_len >> (i * 8)));
	for (std::size_t off = 0; off < msg.size(); off += 64) {
		std::uint32_t w[80];
		for (int i = 0; i < 16; i++) {
			const auto *p = reinterpret_cast<const std::uint8_t *>(&msg[off + i * 4]);
			w[i] = std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 |
			       std::uint32_t(p[2]) << 8 | p[3];
		}
		for (int i = 16; i < 80; i++)
			w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
		std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
		for (int i = 0; i < 80; i++) {
			std::uint32_t f, k;
			if (i < 20) {
				f = (b & c) | (~b & d);
				k = 0x5A827999;
			} else if (i < 40) {
				f = b ^ c ^ d;
				k = 0x6ED9EBA1;
			} else if (i < 60) {
				f = (b & c) | (b & d) | (c & d);
				k = 0x8F1BBCDC;
			} else {
				f = b ^ c ^ d;
				k = 0xCA62C1D6;
			}
			const std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
			e = d;
			d = c;
			c = rotl(b, 30);
			b = a;
			a = t;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
	}
	std::array<std::uint8_t, 20> out;
	for (int i = 0; i < 20; i++)
		out[i] = std::uint8_t(h[i / 4] >> (24 - 8 * (i % 4)));
	return out;
}

std::string base64(const std::uint8_t *data, std::size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	std::string out;
	for (std::size_t i = 0; i < len; i += 3) {
		const std::uint32_t n = std::uint32_t(data[i]) << 16 |
					(i + 1 < len ? std::uint32_t(data[i + 1]) << 8 : 0) |
					(i + 2 < len ? data[i + 2] : 0);
		out.push_back(alphabet[(n >> 18) & 63]);
		out.push_back(alphabet[(n >> 12) & 63]);
		out.push_back(i + 1 < len ? alphabet[(n >> 6) & 63] : '=');
		out.push_back(i + 2 < len ? alphabet[n & 63] : '=');
	}
	return out;
}

/* Frame masks need not be secret here (RFC 6455 wants them unpredictable to
 * defeat proxy cache poisoning; there is no proxy on loopback), only varied. */
std::uint32_t next_mask()
{
	static std::uint64_t state = monotonic_ns() | 1;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return std::uint32_t(state >> 16);
}

} // namespace

std::uint64_t monotonic_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

WsConnection::~WsConnection()
{
	if (fd_ >= 0)
		close(fd_);
}

bool WsConnection::start(int epfd, const sockaddr *addr, socklen_t addr_len,
			 std::string_view host_port, std::uint64_t tag, const char **error,
			 const sockaddr *source, socklen_t source_len)
{
	fd_ = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd_ < 0) {
		*error = strerror(errno);
		state_ = State::Closed;
		return false;
	}
	const int one = 1;
	setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The port is picked at connect(), per source address. */
	if (source &&
	    (setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
	     bind(fd_, source, source_len) < 0)) {
		*error = strerror(errno);
		close(fd_);
		fd_ = -1;
		state_ = State::Closed;
		return false;
	}
	if (connect(fd_, addr, addr_len) < 0 && errno != EINPROGRESS) {
		*error = strerror(errno);
		close(fd_);
		fd_ = -1;
		state_ = State::Closed;
		return false;
	}
	epfd_ = epfd;
	tag_ = tag;
	state_ = State::Connecting;

	std::uint8_t nonce[16];
	if (getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce)) {
		for (auto &b : nonce)
			b = std::uint8_t(next_mask());
	}
	const std::string key = base64(nonce, sizeof(nonce));
	const auto digest = sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
	const std::string accept = base64(digest.data(), digest.size());
	std::memcpy(accept_key_, accept.data(), 28);

	out_ = "GET /ws HTTP/1.1\r\nHost: ";
	out_ += host_port;
	out_ += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
	out_ += key;
	out_ += "\r\nSec-WebSocket-Version: 13\r\n\r\n";

	epoll_event ev{};
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u64 = tag_;
	want_write_ = true;
	if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd_, &ev) < 0) {
		*error = strerror(errno);
		close(fd_);
		fd_ = -1;
		state_ = State::Closed;
		return false;
	}
	return true;
}

void WsConnection::update_interest()
{
	const bool want = backlog() > 0 || state_ == State::Connecting;
	if (want == want_write_ || fd_ < 0)
		return;
	epoll_event ev{};
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
	ev.data.u64 = tag_;
	epoll_ctl(epfd_, EPOLL_CTL_MOD, fd_, &ev);
	want_write_ = want;
}

void WsConnection::finish(WsHandler &handler, int code, std::string_view reason)
{
	if (state_ == State::Closed)
		return;
	if (fd_ >= 0) {
		close(fd_); /* also removes it from the epoll set */
		fd_ = -1;
	}
	state_ = State::Closed;
	/* `reason` may point into in_, which goes now. */
	const std::string reason_copy(reason);
	std::string().swap(in_);
	std::string().swap(out_);
	std::string().swap(fragments_);
	out_sent_ = 0;
	handler.on_closed(*this, code, reason_copy);
}

void WsConnection::abort(WsHandler &handler)
{
	if (state_ != State::Idle)
		finish(handler, upgraded() ? 1006 : 0, "aborted");
}

void WsConnection::handle_events(std::uint32_t events, WsHandler &handler)
{
	if (state_ == State::Closed)
		return;
	if (state_ == State::Connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			finish(handler, 0, strerror(err));
			return;
		}
		state_ = State::Handshaking;
	}
	if (events & EPOLLOUT)
		on_writable(handler);
	if (state_ != State::Closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		on_readable(handler);
}

void WsConnection::on_writable(WsHandler &handler)
{
	while (backlog() > 0) {
		counters_.write_calls++;
		const ssize_t n = write(fd_, out_.data() + out_sent_, backlog());
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			finish(handler, upgraded() ? 1006 : 0, strerror(errno));
			return;
		}
		counters_.bytes_out += std::uint64_t(n);
		out_sent_ += std::size_t(n);
	}
	if (backlog() == 0) {
		out_.clear();
		out_sent_ = 0;
	} else if (out_sent_ > out_.size() / 2) {
		out_.erase(0, out_sent_);
		out_sent_ = 0;
	}
	update_interest();
}

void WsConnection::flush(WsHandler &handler)
{
	if (upgraded())
		on_writable(handler);
}

void WsConnection::on_readable(WsHandler &handler)
{
	for (int i = 0; i < kMaxReadsPerEvent && state_ != State::Closed; i++) {
		counters_.read_calls++;
		const ssize_t n = read(fd_, read_scratch.data(), read_scratch.size());
		if (n == 0) {
			finish(handler, upgraded() ? 1006 : 0, "connection closed by server");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			finish(handler, upgraded() ? 1006 : 0, strerror(errno));
			return;
		}
		counters_.bytes_in += std::uint64_t(n);
		if (quickack_) {
			const int one = 1;
			setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		}
		in_.append(read_scratch.data(), std::size_t(n));
		if (state_ == State::Handshaking && !parse_handshake(handler))
			return;
		if (upgraded())
			parse_frames(handler);
		if (std::size_t(n) < read_scratch.size())
			return;
	}
}

bool WsConnection::parse_handshake(WsHandler &handler)
{
	const std::size_t end = in_.find("\r\n\r\n");
	if (end == std::string::npos) {
		if (in_.size() > kMaxHandshakeBytes)
			finish(handler, 0, "oversized handshake response");
		return false;
	}
	const std::string_view head(in_.data(), end + 2);
	if (head.substr(0, 13) != "HTTP/1.1 101 ") {
		finish(handler, 0, "upgrade refused");
		return false;
	}
	bool accepted = false;
	for (std::size_t pos = head.find("\r\n") + 2; pos < head.size();) {
		const std::size_t eol = head.find("\r\n", pos);
		const std::string_view line = head.substr(pos, eol - pos);
		pos = eol + 2;
		constexpr std::string_view name = "sec-websocket-accept:";
		if (line.size() > name.size() &&
		    strncasecmp(line.data(), name.data(), name.size()) == 0) {
			std::string_view value = line.substr(name.size());
			while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
				value.remove_prefix(1);
			while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
				value.remove_suffix(1);
			accepted = value == std::string_view(accept_key_, 28);
		}
	}
	if (!accepted) {
		finish(handler, 0, "bad Sec-WebSocket-Accept");
		return false;
	}
	in_.erase(0, end + 4);
	state_ = State::Open;
	handler.on_open(*this);
	return state_ != State::Closed;
}

void WsConnection::parse_frames(WsHandler &handler)
{
	std::size_t pos = 0;
	const std::uint64_t now = monotonic_ns();
	while (state_ != State::Closed) {
		const auto *p = reinterpret_cast<const std::uint8_t *>(in_.data()) + pos;
		const std::size_t avail = in_.size() - pos;
		if (avail < 2)
			break;
		const bool fin = p[0] & 0x80;
		const std::uint8_t opcode = p[0] & 0x0f;
		const bool masked = p[1] & 0x80;
		std::uint64_t len = p[1] & 0x7f;
		std::size_t header = 2;
		if (len == 126) {
			if (avail < 4)
				break;
			len = std::uint64_t(p[2]) << 8 | p[3];
			header = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			header = 10;
		}
		if (len > kMaxServerMessage || masked || (p[0] & 0x70)) {
			/* RFC 6455 5.1: a client closes on a masked server frame. */
			counters_.protocol_errors++;
			send_close(masked || (p[0] & 0x70) ? 1002 : 1009);
			flush(handler);
			finish(handler, 1002, "protocol error from server");
			return;
		}
		if (avail < header + len)
			break;
		const std::string_view payload(in_.data() + pos + header, std::size_t(len));
		pos += header + std::size_t(len);

		switch (opcode) {
		case 0x0: /* continuation */
		case 0x1: /* text */
			if (fin && opcode == 0x1 && fragments_.empty()) {
				handler.on_text(*this, payload, now);
			} else {
				fragments_.append(payload);
				if (fin) {
					handler.on_text(*this, fragments_, now);
					fragments_.clear();
				}
			}
			break;
		case 0x2:
			counters_.binary_frames++;
			break;
		case 0x8: { /* close */
			int code = 1005;
			if (payload.size() >= 2)
				code = std::uint8_t(payload[0]) << 8 | std::uint8_t(payload[1]);
			if (!close_sent_)
				send_close(std::uint16_t(code == 1005 ? 1000 : code));
			flush(handler);
			finish(handler, code, payload.size() > 2 ? payload.substr(2) : "");
			return;
		}
		case 0x9: /* ping */
			if (state_ == State::Open) {
				queue_frame(0xA, payload);
				counters_.pings_answered++;
			}
			break;
		case 0xA: /* pong */
			break;
		default:
			counters_.protocol_errors++;
			break;
		}
	}
	if (state_ == State::Closed) /* the handler or a failed write closed it */
		return;
	in_.erase(0, pos);
	flush(handler);
}

void WsConnection::queue_frame(std::uint8_t opcode, std::string_view payload)
{
	std::uint8_t header[14];
	std::size_t n = 0;
	header[n++] = 0x80 | opcode;
	if (payload.size() < 126) {
		header[n++] = 0x80 | std::uint8_t(payload.size());
	} else if (payload.size() <= 0xffff) {
		header[n++] = 0x80 | 126;
		header[n++] = std::uint8_t(payload.size() >> 8);
		header[n++] = std::uint8_t(payload.size());
	} else {
		header[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			header[n++] = std::uint8_t(std::uint64_t(payload.size()) >> (i * 8));
	}
	const std::uint32_t mask = next_mask();
	std::uint8_t key[4];
	std::memcpy(key, &mask, 4);
	std::memcpy(header + n, key, 4);
	n += 4;
	out_.append(reinterpret_cast<const char *>(header), n);
	const std::size_t base = out_.size();
	out_.append(payload);
	char *dst = out_.data() + base;
	for (std::size_t i = 0; i < payload.size(); i++)
		dst[i] = char(std::uint8_t(dst[i]) ^ key[i & 3]);
}

bool WsConnection::send_text(std::string_view text)
{
	if (state_ != State::Open || close_sent_ || backlog() > backlog_limit_)
		return false;
	queue_frame(0x1, text);
	return true;
}

void WsConnection::send_close(std::uint16_t code)
{
	if (close_sent_ || (state_ != State::Open && state_ != State::Closing))
		return;
	const char payload[2] = {char(code >> 8), char(code & 0xff)};
	queue_frame(0x8, std::string_view(payload, 2));
	close_sent_ = true;
	state_ = State::Closing;
}

} // namespace meshcall::bench
