// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: the bytes a client sends on one HTTP connection, read by
 * libsoup and answered by handle_http_request(), meshcall-server's handler for
 * every plain HTTP path (src/server/http_api.cpp). There is no socket: libsoup
 * reads the request from memory (soup_server_accept_iostream) and writes the
 * response to memory, so the handler gets the very SoupServerMessage it gets
 * in the server, and http_api.cpp needs no entry point for the fuzzer. A
 * server with no listener closes each connection after one response.
 *
 * The registry requires tokens and holds a room "demo" with two peers, so
 * GET /api/rooms/{room} reaches both the refusal and the room's snapshot; the
 * seeds carry a valid token (kSecret, room "*", expiring in 2100). */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <gio/gio.h>
#include <libsoup/soup.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define MESHCALL_LSAN 1
#endif
#endif

#include "protocol/protocol.h"
#include "server/auth.h"
#include "server/http_api.h"
#include "server/room_registry.h"

namespace server = meshcall::server;

namespace
{

constexpr const char *kSecret = "fuzz-secret";

/* Fixed, so an input behaves the same when replayed: 2025-11-24. */
class FixedClock : public server::Clock
{
public:
	std::int64_t monotonic_us() const override { return 5'000'000'000; }
	std::int64_t wall_ms() const override { return 1'764'000'000'000; }
};

/* The WebSocket side is not under test here. */
class DiscardingOutbox : public server::Outbox
{
public:
	void send(server::ConnectionId, const std::shared_ptr<const std::string> &) override {}
	void close(server::ConnectionId, int, std::string_view) override {}
};

server::RegistryConfig registry_config()
{
	server::RegistryConfig config;
	config.token_secret = kSecret;
	return config;
}

/*
 * libsoup interns the method of every request it reads (g_intern_string),
 * for the life of the process, so each made-up method grows the server for
 * good. Fuzzed methods would also grow GLib's quark table, which leaks its
 * first block by design when it grows: a leak report that is not ours. So
 * only requests whose method is interned already reach libsoup; the ones
 * below are, and cover every branch of the handler. The method is read the
 * way soup_headers_parse_request() reads it.
 */
constexpr const char *kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};

bool method_is_interned(std::string_view request)
{
	const std::size_t start = request.find_first_not_of("\r\n");
	if (start == std::string_view::npos)
		return true; /* no method: nothing to intern */
	const std::size_t end = request.find_first_of(" \t", start);
	if (end == std::string_view::npos)
		return true; /* no request line: libsoup refuses it first */
	/* g_intern_string() stops at a NUL, as does the string libsoup copies. */
	const std::string method(request.substr(start, end - start).data(),
				 ::strnlen(request.data() + start, end - start));
	return g_quark_try_string(method.c_str()) != 0;
}

/*
 * LeakSanitizer watches handle_http_request() only, not libsoup around it:
 * libsoup 3.2.3 leaks the request path of each request it refuses for its
 * Transfer-Encoding or Content-Length (parse_headers() in
 * soup-server-message-io-http1.c), and Debian's GLib has no frame pointers,
 * so at fuzzing speed a report cannot say whose allocation leaked, and no
 * suppression can match one.
 */
void leak_checks(bool on)
{
#ifdef MESHCALL_LSAN
	if (on)
		__lsan_enable();
	else
		__lsan_disable();
#endif
}

struct Fixture {
	FixedClock clock;
	DiscardingOutbox outbox;
	std::uint64_t next_id = 1;
	server::RoomRegistry registry{registry_config(), outbox, clock,
				      [this] { return next_id++; }};
	SoupServer *soup = nullptr;
	/* libsoup wants both ends' addresses; the handler logs the remote one. */
	GSocketAddress *local = g_inet_socket_address_new_from_string("127.0.0.1", 8080);
	GSocketAddress *remote = g_inet_socket_address_new_from_string("127.0.0.1", 40000);
	/* Set when libsoup is done with the current connection's one message. */
	bool done = false;

	Fixture()
	{
		const std::string token = server::create_token(kSecret, {"*", 4102444800, {}});
		for (server::ConnectionId conn : {1, 2}) {
			registry.connected(conn);
			registry.received_text(conn, meshcall::protocol::join_json(
							 "demo", conn == 1 ? "Ada" : "Bob", token));
		}

		for (const char *method : kMethods)
			g_intern_static_string(method);

		soup = soup_server_new("server-header", "meshcall-fuzz", nullptr);
		/* What transport.cpp registers for everything but /ws. */
		soup_server_add_handler(soup, nullptr, on_http, this, nullptr);
		g_signal_connect_swapped(soup, "request-finished", G_CALLBACK(on_done), this);
		g_signal_connect_swapped(soup, "request-aborted", G_CALLBACK(on_done), this);
	}

	static void on_http(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
			    gpointer user_data)
	{
		leak_checks(true);
		server::handle_http_request(msg, path, static_cast<Fixture *>(user_data)->registry);
		leak_checks(false);
	}

	static void on_done(gpointer user_data) { static_cast<Fixture *>(user_data)->done = true; }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	static Fixture *fixture = new Fixture; /* lives as long as the process */
	if (!method_is_interned(std::string_view(reinterpret_cast<const char *>(data), size)))
		return 0;

	leak_checks(false);
	g_autoptr(GInputStream) in = g_memory_input_stream_new_from_data(
	    g_memdup2(data, size), static_cast<gssize>(size), g_free);
	g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
	g_autoptr(GIOStream) stream = g_simple_io_stream_new(in, out);

	fixture->done = false;
	g_autoptr(GError) error = nullptr;
	if (!soup_server_accept_iostream(fixture->soup, stream, fixture->local, fixture->remote,
					 &error)) {
		std::fprintf(stderr, "soup_server_accept_iostream: %s\n", error->message);
		std::abort();
	}
	/* Memory never blocks, so this ends; libFuzzer's -timeout catches a
	 * request libsoup or the handler never finishes. */
	while (!fixture->done && !g_io_stream_is_closed(stream))
		g_main_context_iteration(nullptr, TRUE);
	leak_checks(true);
	return 0;
}
