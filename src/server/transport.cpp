/* libsoup 3 adapter: sockets in, RoomRegistry decisions out. */
#include "server/transport.h"

#include <algorithm>
#include <cinttypes>
#include <unordered_map>
#include <utility>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "server/http_api.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server"

namespace meshcall::server {

namespace {

/* libsoup drops a connection without a close frame when a frame exceeds its
 * own limit, so it is set well above the protocol's 64 KiB: everything in
 * between gets the documented too-large error and close 1009 from the
 * registry. */
constexpr guint64 kTransportPayloadLimit = 1024 * 1024;
constexpr int kListenBacklog = 4096;
constexpr guint kShutdownGraceMs = 2000;

} // namespace

bool parse_listen_address(const std::string &text, std::string *host, guint16 *port)
{
	std::size_t colon = text.rfind(':');
	if (colon == std::string::npos || colon + 1 >= text.size())
		return false;
	std::string h = text.substr(0, colon);
	if (h.size() >= 2 && h.front() == '[' && h.back() == ']')
		h = h.substr(1, h.size() - 2);
	if (h.empty() || !g_hostname_is_ip_address(h.c_str()))
		return false;
	guint64 p = 0;
	if (!g_ascii_string_to_unsigned(text.c_str() + colon + 1, 10, 0, 65535, &p, nullptr))
		return false;
	*host = h;
	*port = static_cast<guint16>(p);
	return true;
}

class SignalingServer::Impl : public Outbox
{
public:
	explicit Impl(ServerOptions opts)
		: options(std::move(opts)), registry(options.registry, *this, clock)
	{
	}
	~Impl() override;

	bool start(GError **error);
	void shutdown(std::function<void()> done);

	/* Outbox */
	void send(ConnectionId to, const std::shared_ptr<const std::string> &text) override;
	void close(ConnectionId conn, int code, std::string_view reason) override;

	struct Client {
		Impl *server = nullptr;
		ConnectionId id = 0;
		SoupWebsocketConnection *ws = nullptr; /* owned */
		std::int64_t last_seen_us = 0;
	};

	static void on_websocket(SoupServer *, SoupServerMessage *msg, const char *path,
				 SoupWebsocketConnection *ws, gpointer user_data);
	static void on_early_ws(SoupServer *, SoupServerMessage *msg, const char *path,
				GHashTable *, gpointer user_data);
	static void on_http(SoupServer *, SoupServerMessage *msg, const char *path,
			    GHashTable *, gpointer user_data);
	static void on_message(SoupWebsocketConnection *, gint type, GBytes *message,
			       gpointer user_data);
	static void on_pong(SoupWebsocketConnection *, GBytes *, gpointer user_data);
	static void on_closed(SoupWebsocketConnection *, gpointer user_data);
	static gboolean on_liveness_tick(gpointer user_data);

	void check_liveness();
	void maybe_finish_shutdown();

	ServerOptions options;
	Clock clock;
	RoomRegistry registry;
	SoupServer *soup = nullptr;
	std::string url;
	ConnectionId next_id = 1;
	std::unordered_map<ConnectionId, std::unique_ptr<Client>> clients;
	guint liveness_source = 0;
	std::int64_t liveness_timeout_us = 0;
	std::function<void()> shutdown_done;
	guint shutdown_timer = 0;
};

SignalingServer::Impl::~Impl()
{
	if (liveness_source)
		g_source_remove(liveness_source);
	if (shutdown_timer)
		g_source_remove(shutdown_timer);
	for (auto &[id, client] : clients) {
		g_signal_handlers_disconnect_by_data(client->ws, client.get());
		g_object_unref(client->ws);
	}
	clients.clear();
	if (soup) {
		soup_server_disconnect(soup);
		g_object_unref(soup);
	}
}

bool SignalingServer::Impl::start(GError **error)
{
	std::string host;
	guint16 port = 0;
	if (!parse_listen_address(options.listen, &host, &port)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--listen wants ADDR:PORT with a numeric address, not \"%s\"",
			    options.listen.c_str());
		return false;
	}

	bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
	g_autoptr(GTlsCertificate) cert = nullptr;
	if (tls) {
		cert = g_tls_certificate_new_from_files(options.tls_cert.c_str(),
							options.tls_key.c_str(), error);
		if (!cert)
			return false;
	}

	soup = soup_server_new("server-header", "meshcall-server", nullptr);
	if (cert)
		soup_server_set_tls_certificate(soup, cert);
	/* permessage-deflate costs a zlib state per connection for messages
	 * that are mostly short JSON. */
	soup_server_remove_websocket_extension(soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
	soup_server_add_early_handler(soup, "/ws", on_early_ws, this, nullptr);
	soup_server_add_websocket_handler(soup, "/ws", nullptr, nullptr, on_websocket, this,
					  nullptr);
	soup_server_add_handler(soup, nullptr, on_http, this, nullptr);

	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(host.c_str());
	g_autoptr(GSocketAddress) sockaddr = g_inet_socket_address_new(addr, port);
	g_autoptr(GSocket) sock = g_socket_new(g_inet_address_get_family(addr),
					       G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
	if (!sock)
		return false;
	/* GSocket's default backlog of 10 drops connection bursts. */
	g_socket_set_listen_backlog(sock, kListenBacklog);
	if (!g_socket_bind(sock, sockaddr, TRUE, error) || !g_socket_listen(sock, error))
		return false;
	if (!soup_server_listen_socket(soup, sock,
				       tls ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0),
				       error))
		return false;

	g_autoptr(GSocketAddress) bound = g_socket_get_local_address(sock, error);
	if (!bound)
		return false;
	guint16 bound_port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	bool v6 = g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6;
	url = std::string(tls ? "https://" : "http://") + (v6 ? "[" : "") + host +
	      (v6 ? "]" : "") + ":" + std::to_string(bound_port) + "/";

	liveness_timeout_us = static_cast<std::int64_t>(options.liveness_timeout_s * 1e6);
	/* Check often enough that a silent peer goes within a tenth of the timeout. */
	guint tick_ms = static_cast<guint>(
		std::clamp<std::int64_t>(liveness_timeout_us / 10000, 50, 1000));
	liveness_source = g_timeout_add(tick_ms, on_liveness_tick, this);
	return true;
}

void SignalingServer::Impl::on_early_ws(SoupServer *, SoupServerMessage *msg, const char *,
					GHashTable *, gpointer user_data)
{
	auto *self = static_cast<Impl *>(user_data);
	if (self->options.allowed_origins.empty())
		return;
	const char *origin = soup_message_headers_get_one(
		soup_server_message_get_request_headers(msg), "Origin");
	if (!origin)
		return; /* non-browser clients send none */
	for (const std::string &allowed : self->options.allowed_origins) {
		if (allowed == origin)
			return;
	}
	g_message("refused WebSocket upgrade from Origin %s", origin);
	soup_server_message_set_status(msg, SOUP_STATUS_FORBIDDEN, nullptr);
}

void SignalingServer::Impl::on_websocket(SoupServer *, SoupServerMessage *msg, const char *,
					 SoupWebsocketConnection *ws, gpointer user_data)
{
	auto *self = static_cast<Impl *>(user_data);
	if (self->shutdown_done) {
		soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
						"server shutting down");
		return;
	}
	auto client = std::make_unique<Client>();
	client->server = self;
	client->id = self->next_id++;
	client->ws = SOUP_WEBSOCKET_CONNECTION(g_object_ref(ws));
	client->last_seen_us = self->clock.monotonic_us();

	soup_websocket_connection_set_max_incoming_payload_size(ws, kTransportPayloadLimit);
	guint keepalive = static_cast<guint>(
		std::clamp(self->options.liveness_timeout_s / 3.0, 1.0, 15.0));
	soup_websocket_connection_set_keepalive_interval(ws, keepalive);
	g_signal_connect(ws, "message", G_CALLBACK(on_message), client.get());
	g_signal_connect(ws, "pong", G_CALLBACK(on_pong), client.get());
	g_signal_connect(ws, "closed", G_CALLBACK(on_closed), client.get());

	GSocketAddress *remote = soup_server_message_get_remote_address(msg);
	g_autofree gchar *remote_text =
		remote ? g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(remote)) : nullptr;
	g_debug("connection %" PRIu64 " from %s", client->id,
		remote_text ? remote_text : "(unknown)");

	ConnectionId id = client->id;
	self->clients.emplace(id, std::move(client));
	self->registry.connected(id);
}

void SignalingServer::Impl::on_message(SoupWebsocketConnection *, gint type, GBytes *message,
				       gpointer user_data)
{
	auto *client = static_cast<Client *>(user_data);
	Impl *self = client->server;
	client->last_seen_us = self->clock.monotonic_us();
	gsize size = 0;
	const char *data = static_cast<const char *>(g_bytes_get_data(message, &size));
	if (type == SOUP_WEBSOCKET_DATA_TEXT)
		self->registry.received_text(client->id, std::string_view(data, size));
	else
		self->registry.received_binary(client->id, size);
}

void SignalingServer::Impl::on_pong(SoupWebsocketConnection *, GBytes *, gpointer user_data)
{
	auto *client = static_cast<Client *>(user_data);
	client->last_seen_us = client->server->clock.monotonic_us();
}

void SignalingServer::Impl::on_closed(SoupWebsocketConnection *ws, gpointer user_data)
{
	auto *client = static_cast<Client *>(user_data);
	Impl *self = client->server;
	ConnectionId id = client->id;
	g_debug("connection %" PRIu64 " closed (code %u)", id,
		soup_websocket_connection_get_close_code(ws));
	self->registry.disconnected(id);
	g_signal_handlers_disconnect_by_data(ws, client);
	/* Still inside the connection's own signal emission: drop our
	 * reference once it has returned. */
	g_idle_add_full(G_PRIORITY_DEFAULT, [](gpointer obj) -> gboolean {
		g_object_unref(obj);
		return G_SOURCE_REMOVE;
	}, ws, nullptr);
	self->clients.erase(id);
	self->maybe_finish_shutdown();
}

void SignalingServer::Impl::send(ConnectionId to, const std::shared_ptr<const std::string> &text)
{
	auto it = clients.find(to);
	if (it == clients.end())
		return;
	SoupWebsocketConnection *ws = it->second->ws;
	if (soup_websocket_connection_get_state(ws) != SOUP_WEBSOCKET_STATE_OPEN)
		return;
	/* send_text needs a NUL-terminated string; std::string provides it. */
	soup_websocket_connection_send_text(ws, text->c_str());
}

void SignalingServer::Impl::close(ConnectionId conn, int code, std::string_view reason)
{
	auto it = clients.find(conn);
	if (it == clients.end())
		return;
	SoupWebsocketConnection *ws = it->second->ws;
	if (soup_websocket_connection_get_state(ws) != SOUP_WEBSOCKET_STATE_OPEN)
		return;
	std::string why(reason);
	soup_websocket_connection_close(ws, static_cast<gushort>(code), why.c_str());
}

gboolean SignalingServer::Impl::on_liveness_tick(gpointer user_data)
{
	static_cast<Impl *>(user_data)->check_liveness();
	return G_SOURCE_CONTINUE;
}

void SignalingServer::Impl::check_liveness()
{
	std::int64_t now = clock.monotonic_us();
	std::vector<ConnectionId> silent;
	for (auto &[id, client] : clients) {
		if (now - client->last_seen_us > liveness_timeout_us &&
		    soup_websocket_connection_get_state(client->ws) == SOUP_WEBSOCKET_STATE_OPEN)
			silent.push_back(id);
	}
	for (ConnectionId id : silent) {
		registry.timed_out(id);
		close(id, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "no traffic within the liveness timeout");
	}
}

void SignalingServer::Impl::shutdown(std::function<void()> done)
{
	if (shutdown_done)
		return;
	shutdown_done = std::move(done);
	soup_server_disconnect(soup);
	g_message("shutting down: closing %zu connections", clients.size());
	std::vector<ConnectionId> ids;
	ids.reserve(clients.size());
	for (auto &[id, client] : clients)
		ids.push_back(id);
	for (ConnectionId id : ids)
		close(id, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
	shutdown_timer = g_timeout_add(kShutdownGraceMs, [](gpointer data) -> gboolean {
		auto *self = static_cast<Impl *>(data);
		self->shutdown_timer = 0;
		g_message("shutdown: %zu connections did not finish closing",
			  self->clients.size());
		if (auto done = std::exchange(self->shutdown_done, [] {}))
			done();
		return G_SOURCE_REMOVE;
	}, this);
	maybe_finish_shutdown();
}

void SignalingServer::Impl::maybe_finish_shutdown()
{
	if (!shutdown_done || !clients.empty() || !shutdown_timer)
		return;
	g_source_remove(std::exchange(shutdown_timer, 0));
	auto done = std::exchange(shutdown_done, [] {});
	/* Let the queued close frames and FINs go out before the caller quits. */
	g_idle_add_full(G_PRIORITY_LOW, [](gpointer data) -> gboolean {
		auto *fn = static_cast<std::function<void()> *>(data);
		(*fn)();
		delete fn;
		return G_SOURCE_REMOVE;
	}, new std::function<void()>(std::move(done)), nullptr);
}

void SignalingServer::Impl::on_http(SoupServer *, SoupServerMessage *msg, const char *path,
				    GHashTable *, gpointer user_data)
{
	handle_http_request(msg, path, static_cast<Impl *>(user_data)->registry);
}

std::unique_ptr<SignalingServer> SignalingServer::start(ServerOptions options, GError **error)
{
	auto impl = std::make_unique<Impl>(std::move(options));
	if (!impl->start(error))
		return nullptr;
	return std::unique_ptr<SignalingServer>(new SignalingServer(std::move(impl)));
}

SignalingServer::SignalingServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SignalingServer::~SignalingServer() = default;

const std::string &SignalingServer::url() const
{
	return impl_->url;
}

void SignalingServer::shutdown(std::function<void()> done)
{
	impl_->shutdown(std::move(done));
}

const RoomRegistry &SignalingServer::registry() const
{
	return impl_->registry;
}

} // namespace meshcall::server
