// SPDX-License-Identifier: LGPL-2.1-or-later
/* SignalingServer: the thin libsoup 3 layer around RoomRegistry. It owns the
 * listening sockets, the WebSocket connections, liveness and shutdown; every
 * decision about messages is the registry's.
 *
 * Connections are sharded over worker threads, each with its own GMainContext
 * and SoupServer listening on the same port (SO_REUSEPORT). libsoup re-creates
 * a WebSocket's input GSource for every read, and GLib 2.74 walks a list of
 * every descriptor of the context to do so; shards keep that list short and
 * put both cores to work. The registry is shared behind one mutex; a message
 * for a connection of another worker goes through that worker's mailbox.
 *
 * Each worker accepts on its socket itself and hands connections to its
 * SoupServer, so that every phase has a deadline and the server outlives
 * fd exhaustion (server/listener.h, server/connections.h); TLS is done here
 * too, so libsoup sees plain streams (soup_server_is_https() is false). A
 * WebSocket's unsent bytes are bounded (server/send_queue.h). */
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <glib.h>

#include "server/conn_limits.h"
#include "server/room_registry.h"

namespace meshcall::server
{

struct ServerOptions {
	std::string listen = "0.0.0.0:8080"; /* ADDR:PORT, [v6]:PORT; port 0 picks one */
	std::string tls_cert;		     /* PEM files; both set: https/wss */
	std::string tls_key;
	std::vector<std::string> allowed_origins; /* empty: any Origin */
	double liveness_timeout_s = 45;
	unsigned threads = 0; /* worker threads; 0: one per processor */
	ConnectionLimits limits;
	RegistryConfig registry;
};

class SignalingServer
{
public:
	static std::unique_ptr<SignalingServer> start(ServerOptions options, GError **error);
	~SignalingServer();

	/* e.g. "http://127.0.0.1:8080/" with the port actually bound. */
	const std::string &url() const;

	/* Stops listening, closes every WebSocket with 1001 and calls `done`
	 * (on the thread-default main context of the caller) once all are
	 * closed or after a short grace period. */
	void shutdown(std::function<void()> done);

	unsigned threads() const;

	class Impl;

private:
	explicit SignalingServer(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

/* Parses "ADDR:PORT" / "[ADDR]:PORT"; false when malformed. */
bool parse_listen_address(const std::string &text, std::string *host, guint16 *port);

} // namespace meshcall::server
