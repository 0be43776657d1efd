// SPDX-License-Identifier: LGPL-2.1-or-later
/* A hand-written WebSocket client over a plain blocking GSocketConnection, for
 * what libsoup will not do: stay silent (libsoup answers pings by itself) and
 * send invalid UTF-8 in a text frame. The server is another process, so
 * blocking I/O (with a socket timeout) cannot deadlock the test. */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <gio/gio.h>

namespace meshcall::test
{

class RawWsClient
{
public:
	static constexpr std::uint8_t kContinuation = 0x0;
	static constexpr std::uint8_t kText = 0x1;
	static constexpr std::uint8_t kClose = 0x8;

	RawWsClient() = default;
	RawWsClient(const RawWsClient &) = delete;
	RawWsClient &operator=(const RawWsClient &) = delete;
	~RawWsClient();

	/* TCP connect to 127.0.0.1:port and perform the upgrade on /ws. False
	 * (with *error) unless the answer is 101 with the right accept key. */
	bool connect(int port, std::string *error);
	/* One masked frame; `fin` false starts or continues a fragmented message. */
	bool send_frame(std::uint8_t opcode, std::string_view payload, std::string *error,
			bool fin = true);
	/* Reads one whole frame (blocking, up to the socket timeout). */
	bool read_frame(std::uint8_t *opcode, std::string *payload, std::string *error);
	/* Reads frames until a close frame and returns its code; -1 when the
	 * stream ends or times out first. */
	int read_close_code(std::string *error);

private:
	bool read_exact(void *buffer, std::size_t size, std::string *error);

	GSocketClient *client_ = nullptr;
	GSocketConnection *conn_ = nullptr;
};

} // namespace meshcall::test
