// SPDX-License-Identifier: LGPL-2.1-or-later
#include "raw_ws.h"

#include <cstring>
#include <vector>

namespace meshcall::test
{

namespace
{

/* RFC 6455 §1.3's sample key and the accept value it must produce. */
constexpr const char *kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char *kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string error_text(const GError *error)
{
	return error ? error->message : "unknown error";
}

} // namespace

RawWsClient::~RawWsClient()
{
	if (conn_)
		g_io_stream_close(G_IO_STREAM(conn_), nullptr, nullptr);
	g_clear_object(&conn_);
	g_clear_object(&client_);
}

bool RawWsClient::connect(int port, std::string *error)
{
	client_ = g_socket_client_new();
	g_socket_client_set_timeout(client_, 5);
	g_autoptr(GError) err = nullptr;
	conn_ = g_socket_client_connect_to_host(client_, "127.0.0.1", port, nullptr, &err);
	if (!conn_) {
		*error = "connect: " + error_text(err);
		return false;
	}
	const std::string request = "GET /ws HTTP/1.1\r\n"
				    "Host: 127.0.0.1:" +
				    std::to_string(port) +
				    "\r\n"
				    "Upgrade: websocket\r\n"
				    "Connection: Upgrade\r\n"
				    "Sec-WebSocket-Key: " +
				    kKey +
				    "\r\n"
				    "Sec-WebSocket-Version: 13\r\n"
				    "\r\n";
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn_));
	if (!g_output_stream_write_all(out, request.data(), request.size(), nullptr, nullptr,
				       &err)) {
		*error = "writing the upgrade: " + error_text(err);
		return false;
	}
	std::string head;
	while (head.size() < 8192 &&
	       (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n"))) {
		char c;
		if (!read_exact(&c, 1, error))
			return false;
		head.push_back(c);
	}
	if (head.rfind("HTTP/1.1 101", 0) != 0) {
		*error = "upgrade refused: " + head;
		return false;
	}
	g_autofree char *lower = g_ascii_strdown(head.c_str(), -1);
	const std::string accept_line = std::string("sec-websocket-accept: ") + kAccept;
	g_autofree char *accept_lower = g_ascii_strdown(accept_line.c_str(), -1);
	if (!strstr(lower, accept_lower)) {
		*error = "wrong or missing Sec-WebSocket-Accept: " + head;
		return false;
	}
	return true;
}

bool RawWsClient::send_frame(std::uint8_t opcode, std::string_view payload, std::string *error,
			     bool fin)
{
	std::vector<std::uint8_t> frame;
	frame.push_back((fin ? 0x80 : 0x00) | opcode);
	const std::size_t n = payload.size();
	if (n < 126) {
		frame.push_back(0x80 | static_cast<std::uint8_t>(n));
	} else if (n <= 0xffff) {
		frame.push_back(0x80 | 126);
		frame.push_back(static_cast<std::uint8_t>(n >> 8));
		frame.push_back(static_cast<std::uint8_t>(n));
	} else {
		frame.push_back(0x80 | 127);
		for (int shift = 56; shift >= 0; shift -= 8)
			frame.push_back(
			    static_cast<std::uint8_t>(static_cast<std::uint64_t>(n) >> shift));
	}
	const guint32 key = g_random_int();
	const std::uint8_t mask[4] = {
	    static_cast<std::uint8_t>(key >> 24), static_cast<std::uint8_t>(key >> 16),
	    static_cast<std::uint8_t>(key >> 8), static_cast<std::uint8_t>(key)};
	frame.insert(frame.end(), mask, mask + 4);
	for (std::size_t i = 0; i < n; i++)
		frame.push_back(static_cast<std::uint8_t>(payload[i]) ^ mask[i % 4]);

	g_autoptr(GError) err = nullptr;
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn_));
	if (!g_output_stream_write_all(out, frame.data(), frame.size(), nullptr, nullptr, &err)) {
		*error = "write: " + error_text(err);
		return false;
	}
	return true;
}

bool RawWsClient::read_exact(void *buffer, std::size_t size, std::string *error)
{
	g_autoptr(GError) err = nullptr;
	gsize got = 0;
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn_));
	if (!g_input_stream_read_all(in, buffer, size, &got, nullptr, &err)) {
		*error = "read: " + error_text(err);
		return false;
	}
	if (got != size) {
		*error = "read: connection closed";
		return false;
	}
	return true;
}

bool RawWsClient::read_frame(std::uint8_t *opcode, std::string *payload, std::string *error)
{
	std::uint8_t head[2];
	if (!read_exact(head, 2, error))
		return false;
	*opcode = head[0] & 0x0f;
	std::uint64_t n = head[1] & 0x7f;
	if (n == 126 || n == 127) {
		std::uint8_t ext[8];
		const std::size_t len = n == 126 ? 2 : 8;
		if (!read_exact(ext, len, error))
			return false;
		n = 0;
		for (std::size_t i = 0; i < len; i++)
			n = (n << 8) | ext[i];
	}
	std::uint8_t mask[4] = {0, 0, 0, 0};
	const bool masked = head[1] & 0x80;
	if (masked && !read_exact(mask, 4, error))
		return false;
	if (n > 16 * 1024 * 1024) {
		*error = "absurd frame length";
		return false;
	}
	payload->assign(n, '\0');
	if (n && !read_exact(payload->data(), n, error))
		return false;
	if (masked) {
		for (std::size_t i = 0; i < n; i++)
			(*payload)[i] = static_cast<char>((*payload)[i] ^ mask[i % 4]);
	}
	return true;
}

int RawWsClient::read_close_code(std::string *error)
{
	for (;;) {
		std::uint8_t opcode;
		std::string payload;
		if (!read_frame(&opcode, &payload, error))
			return -1;
		if (opcode != kClose)
			continue;
		if (payload.size() < 2)
			return 1005; /* no status code present */
		return (static_cast<std::uint8_t>(payload[0]) << 8) |
		       static_cast<std::uint8_t>(payload[1]);
	}
}

} // namespace meshcall::test
