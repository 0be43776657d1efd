// SPDX-License-Identifier: LGPL-2.1-or-later
/* libsoup 3 adapter: sockets in, RoomRegistry decisions out, sharded over
 * worker threads (see transport.h for why). */
#include "server/transport.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "server/connections.h"
#include "server/http_api.h"
#include "server/listener.h"
#include "server/log.h"
#include "server/send_queue.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server:transport"

namespace meshcall::server
{

namespace
{

/* libsoup drops a connection without a close frame when a frame exceeds its
 * own limit, so it is set well above the protocol's 64 KiB: everything in
 * between gets the documented too-large error and close 1009 from the
 * registry. */
constexpr guint64 kTransportPayloadLimit = 1024 * 1024;
constexpr int kListenBacklog = 4096;
constexpr guint kShutdownGraceMs = 2000;
/* The low bits of a ConnectionId name the worker that owns it. */
constexpr unsigned kWorkerBits = 6;
constexpr unsigned kMaxWorkers = 1u << kWorkerBits;

GSource *attach_timeout(GMainContext *context, guint interval_ms, GSourceFunc func, gpointer data)
{
	GSource *source = g_timeout_source_new(interval_ms);
	g_source_set_callback(source, func, data, nullptr);
	g_source_attach(source, context);
	return source;
}

/* A source that runs `func` once each time g_source_set_ready_time(s, 0) is
 * called on it: cheaper than an idle source per wake-up. */
GSource *attach_wakeup(GMainContext *context, GSourceFunc func, gpointer data)
{
	static GSourceFuncs funcs = {
	    nullptr,
	    nullptr,
	    [](GSource *source, GSourceFunc callback, gpointer user_data) -> gboolean {
		    g_source_set_ready_time(source, -1);
		    return callback(user_data);
	    },
	    nullptr,
	    nullptr,
	    nullptr};
	GSource *source = g_source_new(&funcs, sizeof(GSource));
	g_source_set_callback(source, func, data, nullptr);
	g_source_set_ready_time(source, -1);
	g_source_attach(source, context);
	return source;
}

std::int64_t seconds_to_us(double s)
{
	return static_cast<std::int64_t>(s * G_USEC_PER_SEC);
}

void unref_later(GMainContext *context, gpointer object)
{
	GSource *idle = g_idle_source_new();
	g_source_set_callback(
	    idle,
	    [](gpointer obj) -> gboolean {
		    g_object_unref(obj);
		    return G_SOURCE_REMOVE;
	    },
	    object, nullptr);
	g_source_attach(idle, context);
	g_source_unref(idle);
}

/* Binds like g_socket_bind(…, TRUE, …), plus SO_REUSEPORT when every worker
 * listens on the port: g_socket_bind() turns SO_REUSEPORT off for streams. */
bool bind_shared(GSocket *sock, GSocketAddress *address, bool reuse_port, GError **error)
{
	if (!g_socket_set_option(sock, SOL_SOCKET, SO_REUSEADDR, 1, error))
		return false;
	if (reuse_port && !g_socket_set_option(sock, SOL_SOCKET, SO_REUSEPORT, 1, error))
		return false;
	struct sockaddr_storage native;
	if (!g_socket_address_to_native(address, &native, sizeof(native), error))
		return false;
	if (bind(g_socket_get_fd(sock), reinterpret_cast<struct sockaddr *>(&native),
		 static_cast<socklen_t>(g_socket_address_get_native_size(address))) != 0) {
		int err = errno;
		g_autofree gchar *text =
		    g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(address));
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "cannot bind to %s: %s",
			    text, g_strerror(err));
		return false;
	}
	return true;
}

/* "127.0.0.1:41234", for log lines. */
std::string address_text(GSocketAddress *address)
{
	g_autofree gchar *text =
	    address ? g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(address)) : nullptr;
	return text ? text : "(unknown)";
}

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

class Worker;

class SignalingServer::Impl : public Outbox
{
public:
	explicit Impl(ServerOptions opts)
	    : options(std::move(opts)), registry(options.registry, *this, clock),
	      quota(options.limits.max_connections, options.limits.max_connections_per_address)
	{
	}
	~Impl() override;

	bool start(GError **error);
	void shutdown(std::function<void()> done);
	void worker_drained();

	/* Outbox; called with registry_lock held, from any worker thread. */
	void send(ConnectionId to, const std::shared_ptr<const std::string> &text) override;
	void close(ConnectionId conn, int code, std::string_view reason) override;
	/* The worker whose thread owns the connection (the id's low bits). */
	Worker &owner(ConnectionId conn);

	ServerOptions options;
	Clock clock;
	/* Lock order: registry_lock, then a worker's mailbox_lock. */
	std::mutex registry_lock;
	RoomRegistry registry; /* guarded by registry_lock */
	std::vector<std::unique_ptr<Worker>> workers;
	std::atomic<std::uint64_t> next_serial{1};
	std::string url;
	std::int64_t liveness_timeout_us = 0;
	std::int64_t join_timeout_us = 0;
	guint tick_ms = 1000;  /* how often workers look at their deadlines */
	ConnectionQuota quota; /* every worker's connections */

	/* Shutdown, on the caller's context. */
	GMainContext *shutdown_context = nullptr;
	std::function<void()> shutdown_done;
	std::atomic<unsigned> workers_open{0};
	GSource *shutdown_timer = nullptr;
};

/* One shard: a thread with its own main context, SoupServer and connections. */
class Worker
{
public:
	struct Client final : StreamObserver {
		Worker *worker = nullptr;
		ConnectionId id = 0;
		SoupWebsocketConnection *ws = nullptr; /* owned */
		GSocketAddress *remote = nullptr;      /* owned; named in log lines */
		std::int64_t last_seen_us = 0;
		std::uint64_t conn = 0; /* its handle in the worker's AcceptedConnections */
		/* Refused for a quota: closed at once, never in the registry. */
		bool refused = false;
		/* Closed with 1008 unless the registry has it joined by then. */
		bool joined = false;
		std::int64_t join_deadline_us = 0;
		SendQueue out;
		/* Since when the socket has taken nothing (0: it takes). */
		std::int64_t blocked_since_us = 0;
		/* Being closed for not reading: nothing more goes out. */
		bool evicted = false;

		explicit Client(std::size_t send_limit) : out(send_limit) {}
		Client(const Client &) = delete;
		Client &operator=(const Client &) = delete;
		~Client()
		{
			if (remote)
				g_object_unref(remote);
		}

		void stream_written(gsize bytes) override
		{
			blocked_since_us = 0;
			out.written(bytes);
			if (out.can_take())
				worker->schedule(id, Work::Pump);
		}
		void stream_blocked() override
		{
			if (!blocked_since_us)
				blocked_since_us = g_get_monotonic_time();
		}
		void stream_closed() override {}

		/* "conn 1090 from 127.0.0.1:41234", as the registry's lines
		 * name the same connection "conn 1090". */
		std::string describe() const
		{
			return "conn " + std::to_string(id) + " from " + address_text(remote);
		}
	};

	/* An Outbox call for one of this worker's connections. */
	struct Delivery {
		ConnectionId to = 0;
		std::shared_ptr<const std::string> text; /* null: close */
		int close_code = 0;
		std::string reason;
	};

	Worker(SignalingServer::Impl &server, unsigned index)
	    : server_(server), index_(index), context_(g_main_context_new()),
	      loop_(g_main_loop_new(context_, FALSE))
	{
	}
	~Worker();

	bool listen(GSocket *socket, GTlsCertificate *cert, GError **error);
	void run();
	void stop_thread();

	/* Any thread, registry_lock held. */
	void deliver(Delivery delivery);
	/* This thread, whatever it holds: done later from the loop. */
	enum class Work { Pump, Evict };
	void schedule(ConnectionId id, Work work);
	/* Any thread: close everything, then tell the server. */
	void begin_shutdown();

	unsigned index() const { return index_; }

private:
	static void on_websocket(SoupServer *, SoupServerMessage *msg, const char *,
				 SoupWebsocketConnection *ws, gpointer user_data);
	static void on_early_ws(SoupServer *, SoupServerMessage *msg, const char *, GHashTable *,
				gpointer user_data);
	static void on_http(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
			    gpointer user_data);
	static void on_message(SoupWebsocketConnection *, gint type, GBytes *message,
			       gpointer user_data);
	static void on_pong(SoupWebsocketConnection *, GBytes *, gpointer user_data);
	static void on_closed(SoupWebsocketConnection *ws, gpointer user_data);
	static gboolean on_mailbox(gpointer user_data);
	static gboolean on_work(gpointer user_data);
	static gboolean on_liveness_tick(gpointer user_data);

	void apply(const Delivery &d);
	/* Gives libsoup what the client's send window allows. */
	void hand_over(Client &client);
	/* The client holds more than its send queue's limit (or took nothing
	 * for the liveness timeout): forget it and close with 1008. */
	void evict(Client &client);
	void check_liveness();
	void check_joins(std::int64_t now);
	void close_all();
	void maybe_drained();

	SignalingServer::Impl &server_;
	const unsigned index_;
	GMainContext *context_;
	GMainLoop *loop_;
	GThread *thread_ = nullptr;
	SoupServer *soup_ = nullptr;
	std::unique_ptr<AcceptedConnections> conns_;
	std::unique_ptr<Listener> listener_;
	GSource *liveness_ = nullptr;
	GSource *mailbox_source_ = nullptr;
	GSource *work_source_ = nullptr;
	/* Owned by this worker's thread: work for on_work(). */
	std::vector<std::pair<ConnectionId, Work>> work_;

	/* Owned by this worker's thread. */
	std::unordered_map<ConnectionId, std::unique_ptr<Client>> clients_;
	bool shutting_down_ = false;
	bool drained_ = false;

	std::mutex mailbox_lock_;
	std::vector<Delivery> mailbox_; /* guarded by mailbox_lock_ */

	friend class SignalingServer::Impl;
};

namespace
{
thread_local Worker *current_worker = nullptr;
} // namespace

Worker::~Worker()
{
	if (liveness_) {
		g_source_destroy(liveness_);
		g_source_unref(liveness_);
	}
	for (GSource *source : {mailbox_source_, work_source_}) {
		if (source) {
			g_source_destroy(source);
			g_source_unref(source);
		}
	}
	listener_.reset();
	for (auto &[id, client] : clients_) {
		conns_->detach(client->conn);
		g_signal_handlers_disconnect_by_data(client->ws, client.get());
		g_object_unref(client->ws);
	}
	clients_.clear();
	g_main_context_push_thread_default(context_);
	if (soup_) {
		soup_server_disconnect(soup_);
		g_object_unref(soup_);
	}
	/* Let whatever the closed connections left behind run down, then
	 * forget those still open (conns_ holds the last reference to soup_). */
	while (g_main_context_iteration(context_, FALSE)) {
	}
	conns_.reset();
	g_main_context_pop_thread_default(context_);
	while (g_main_context_iteration(context_, FALSE)) {
	}
	g_main_loop_unref(loop_);
	g_main_context_unref(context_);
}

bool Worker::listen(GSocket *socket, GTlsCertificate *cert, GError **)
{
	/* libsoup attaches its sources to the thread-default context of the
	 * caller; this runs before the worker thread starts. */
	g_main_context_push_thread_default(context_);
	soup_ = soup_server_new("server-header", "meshcall-server", nullptr);
	if (cert)
		add_hsts_to_every_response(soup_);
	/* permessage-deflate costs a zlib state per connection for messages
	 * that are mostly short JSON. */
	soup_server_remove_websocket_extension(soup_, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
	soup_server_add_early_handler(soup_, "/ws", on_early_ws, this, nullptr);
	soup_server_add_websocket_handler(soup_, "/ws", nullptr, nullptr, on_websocket, this,
					  nullptr);
	soup_server_add_handler(soup_, nullptr, on_http, this, nullptr);
	/* No soup_server_listen_*(): see server/connections.h. */
	conns_ = std::make_unique<AcceptedConnections>(soup_, context_, cert,
						       server_.options.limits, server_.quota);
	g_main_context_pop_thread_default(context_);
	listener_ = std::make_unique<Listener>(socket, context_,
					       [this](GSocket *s) { conns_->accepted(s); });
	listener_->start();

	mailbox_source_ = attach_wakeup(context_, on_mailbox, this);
	work_source_ = attach_wakeup(context_, on_work, this);
	liveness_ = attach_timeout(context_, server_.tick_ms, on_liveness_tick, this);
	return true;
}

void Worker::run()
{
	std::string name = "meshcall-w" + std::to_string(index_);
	thread_ = g_thread_new(
	    name.c_str(),
	    [](gpointer data) -> gpointer {
		    auto *self = static_cast<Worker *>(data);
		    current_worker = self;
		    g_main_context_push_thread_default(self->context_);
		    g_main_loop_run(self->loop_);
		    g_main_context_pop_thread_default(self->context_);
		    return nullptr;
	    },
	    this);
}

void Worker::stop_thread()
{
	if (!thread_)
		return;
	g_main_loop_quit(loop_);
	g_thread_join(std::exchange(thread_, nullptr));
}

void Worker::on_early_ws(SoupServer *, SoupServerMessage *msg, const char *, GHashTable *,
			 gpointer user_data)
{
	auto *self = static_cast<Worker *>(user_data);
	const auto &allowed = self->server_.options.allowed_origins;
	if (allowed.empty())
		return;
	const char *origin =
	    soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Origin");
	if (!origin)
		return; /* non-browser clients send none */
	if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end())
		return;
	const char *host = soup_server_message_get_remote_host(msg);
	MESHCALL_REFUSAL_ABOUT(host ? host : "", g_get_monotonic_time(),
			       "client " +
				   address_text(soup_server_message_get_remote_address(msg)),
			       "refused WebSocket upgrade from Origin " + log_text(origin));
	soup_server_message_set_status(msg, SOUP_STATUS_FORBIDDEN, nullptr);
}

void Worker::on_websocket(SoupServer *, SoupServerMessage *msg, const char *,
			  SoupWebsocketConnection *ws, gpointer user_data)
{
	auto *self = static_cast<Worker *>(user_data);
	if (self->shutting_down_) {
		soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
						"server shutting down");
		return;
	}
	const ServerOptions &options = self->server_.options;
	auto client =
	    std::make_unique<Client>(static_cast<std::size_t>(options.limits.send_queue_bytes));
	client->worker = self;
	client->id = (self->server_.next_serial++ << kWorkerBits) | self->index_;
	client->ws = SOUP_WEBSOCKET_CONNECTION(g_object_ref(ws));
	client->last_seen_us = self->server_.clock.monotonic_us();

	soup_websocket_connection_set_max_incoming_payload_size(ws, kTransportPayloadLimit);
	guint keepalive = static_cast<guint>(
	    std::clamp(self->server_.options.liveness_timeout_s / 3.0, 1.0, 15.0));
	soup_websocket_connection_set_keepalive_interval(ws, keepalive);
	g_signal_connect(ws, "message", G_CALLBACK(on_message), client.get());
	g_signal_connect(ws, "pong", G_CALLBACK(on_pong), client.get());
	g_signal_connect(ws, "closed", G_CALLBACK(on_closed), client.get());

	if (GSocketAddress *remote = soup_server_message_get_remote_address(msg))
		client->remote = G_SOCKET_ADDRESS(g_object_ref(remote));
	MESHCALL_DEBUG_ABOUT(client->describe(), "connected on worker %u", self->index_);

	AcceptedConnections::Upgrade upgrade = self->conns_->upgraded(msg, client.get());
	client->conn = upgrade.handle;
	client->join_deadline_us = client->last_seen_us + self->server_.join_timeout_us;
	ConnectionId id = client->id;
	Client &added = *self->clients_.emplace(id, std::move(client)).first->second;
	/* Over a quota: upgraded only to say why, which a browser can show
	 * (docs/protocol.md, "Close codes"). 1008 for both: libsoup 3.2.3
	 * sends no code below 3000 that it does not know, 1013 included. */
	if (upgrade.refusal != AcceptedConnections::Refusal::None) {
		added.refused = true;
		soup_websocket_connection_close(ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
						upgrade.refusal ==
							AcceptedConnections::Refusal::ServerFull
						    ? "the server is full, try again later"
						    : "too many connections from your address");
		return;
	}
	const char *host = soup_server_message_get_remote_host(msg);
	std::lock_guard lock(self->server_.registry_lock);
	self->server_.registry.connected(id, host ? host : "");
}

void Worker::on_message(SoupWebsocketConnection *, gint type, GBytes *message, gpointer user_data)
{
	auto *client = static_cast<Client *>(user_data);
	SignalingServer::Impl &server = client->worker->server_;
	client->last_seen_us = server.clock.monotonic_us();
	gsize size = 0;
	const char *data = static_cast<const char *>(g_bytes_get_data(message, &size));
	std::lock_guard lock(server.registry_lock);
	if (type == SOUP_WEBSOCKET_DATA_TEXT)
		server.registry.received_text(client->id, std::string_view(data, size));
	else
		server.registry.received_binary(client->id, size);
}

void Worker::on_pong(SoupWebsocketConnection *, GBytes *, gpointer user_data)
{
	auto *client = static_cast<Client *>(user_data);
	client->last_seen_us = client->worker->server_.clock.monotonic_us();
}

void Worker::on_closed(SoupWebsocketConnection *ws, gpointer user_data)
{
	auto *client = static_cast<Client *>(user_data);
	Worker *self = client->worker;
	ConnectionId id = client->id;
	MESHCALL_DEBUG_ABOUT(client->describe(), "closed (code %u)",
			     soup_websocket_connection_get_close_code(ws));
	if (!client->refused) {
		std::lock_guard lock(self->server_.registry_lock);
		self->server_.registry.disconnected(id);
	}
	self->conns_->detach(client->conn);
	g_signal_handlers_disconnect_by_data(ws, client);
	/* Still inside the connection's own signal emission: drop our
	 * reference once it has returned. */
	unref_later(self->context_, ws);
	self->clients_.erase(id);
	self->maybe_drained();
}

void Worker::deliver(Delivery delivery)
{
	{
		std::lock_guard lock(mailbox_lock_);
		/* On the owning thread with nothing queued the frame can go out at
		 * once (nothing else appends on this thread meanwhile, other
		 * threads only append); otherwise it queues behind the others,
		 * which keeps every recipient's messages in registry order. */
		if (current_worker != this || !mailbox_.empty()) {
			if (mailbox_.empty())
				g_source_set_ready_time(mailbox_source_, 0);
			mailbox_.push_back(std::move(delivery));
			return;
		}
	}
	apply(delivery);
}

gboolean Worker::on_mailbox(gpointer user_data)
{
	auto *self = static_cast<Worker *>(user_data);
	std::vector<Delivery> batch;
	{
		std::lock_guard lock(self->mailbox_lock_);
		batch.swap(self->mailbox_);
	}
	for (const Delivery &d : batch)
		self->apply(d);
	return G_SOURCE_CONTINUE;
}

void Worker::apply(const Delivery &d)
{
	auto it = clients_.find(d.to);
	if (it == clients_.end())
		return;
	Client &client = *it->second;
	if (client.evicted ||
	    soup_websocket_connection_get_state(client.ws) != SOUP_WEBSOCKET_STATE_OPEN)
		return;
	if (!d.text) {
		soup_websocket_connection_close(client.ws, static_cast<gushort>(d.close_code),
						d.reason.c_str());
		return;
	}
	if (!client.out.push(d.text)) {
		/* registry_lock may be held here: the registry hears of it later. */
		client.evicted = true;
		client.out.drop_queued();
		schedule(client.id, Work::Evict);
		return;
	}
	hand_over(client);
}

void Worker::hand_over(Client &client)
{
	while (!client.evicted &&
	       soup_websocket_connection_get_state(client.ws) == SOUP_WEBSOCKET_STATE_OPEN) {
		SendQueue::Text text = client.out.take();
		if (!text)
			break;
		/* send_text needs a NUL-terminated string; std::string has one. */
		soup_websocket_connection_send_text(client.ws, text->c_str());
	}
}

void Worker::schedule(ConnectionId id, Work work)
{
	if (work_.empty())
		g_source_set_ready_time(work_source_, 0);
	work_.emplace_back(id, work);
}

gboolean Worker::on_work(gpointer user_data)
{
	auto *self = static_cast<Worker *>(user_data);
	std::vector<std::pair<ConnectionId, Work>> batch;
	batch.swap(self->work_);
	for (auto [id, work] : batch) {
		auto it = self->clients_.find(id);
		if (it == self->clients_.end())
			continue;
		if (work == Work::Pump)
			self->hand_over(*it->second);
		else
			self->evict(*it->second);
	}
	return G_SOURCE_CONTINUE;
}

void Worker::evict(Client &client)
{
	MESHCALL_MESSAGE_ABOUT(
	    client.describe(),
	    "not reading: over %" G_GINT64_FORMAT " bytes unsent or none taken for %g s, closed",
	    server_.options.limits.send_queue_bytes, server_.options.liveness_timeout_s);
	client.evicted = true;
	client.out.drop_queued();
	{
		std::lock_guard lock(server_.registry_lock);
		server_.registry.disconnected(client.id);
	}
	if (soup_websocket_connection_get_state(client.ws) == SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_close(client.ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
						"not reading: too much unsent");
}

gboolean Worker::on_liveness_tick(gpointer user_data)
{
	static_cast<Worker *>(user_data)->check_liveness();
	return G_SOURCE_CONTINUE;
}

void Worker::check_liveness()
{
	std::int64_t now = server_.clock.monotonic_us();
	conns_->check_deadlines(g_get_monotonic_time());
	check_joins(now);
	std::vector<ConnectionId> silent;
	for (auto &[id, client] : clients_) {
		if (soup_websocket_connection_get_state(client->ws) != SOUP_WEBSOCKET_STATE_OPEN)
			continue;
		if (now - client->last_seen_us > server_.liveness_timeout_us)
			silent.push_back(id);
		/* Sending to us is no proof of reading: a client whose socket
		 * takes nothing for as long goes too (it may ping libsoup, whose
		 * pongs then pile up unbounded). */
		else if (client->blocked_since_us && !client->evicted &&
			 g_get_monotonic_time() - client->blocked_since_us >
			     server_.liveness_timeout_us) {
			client->evicted = true;
			schedule(id, Work::Evict);
		}
	}
	if (silent.empty())
		return;
	{
		std::lock_guard lock(server_.registry_lock);
		for (ConnectionId id : silent)
			server_.registry.timed_out(id);
	}
	for (ConnectionId id : silent)
		apply({id, nullptr, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
		       "no traffic within the liveness timeout"});
}

/* Joined clients are looked up once, at their deadline. */
void Worker::check_joins(std::int64_t now)
{
	std::vector<Client *> due;
	for (auto &[id, client] : clients_) {
		if (!client->joined && !client->refused && client->join_deadline_us <= now &&
		    soup_websocket_connection_get_state(client->ws) == SOUP_WEBSOCKET_STATE_OPEN)
			due.push_back(client.get());
	}
	if (due.empty())
		return;
	{
		std::lock_guard lock(server_.registry_lock);
		for (Client *client : due)
			client->joined = server_.registry.peer_id(client->id).has_value();
	}
	const double timeout_s = server_.options.limits.join_timeout_s;
	for (Client *client : due) {
		if (client->joined)
			continue;
		MESHCALL_DEBUG_ABOUT(client->describe(), "no join within %g s, closed", timeout_s);
		char reason[64];
		g_snprintf(reason, sizeof(reason), "no join within %g s", timeout_s);
		client->joined = true; /* closed once */
		soup_websocket_connection_close(client->ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
						reason);
	}
}

void Worker::begin_shutdown()
{
	g_main_context_invoke(
	    context_,
	    [](gpointer data) -> gboolean {
		    static_cast<Worker *>(data)->close_all();
		    return G_SOURCE_REMOVE;
	    },
	    this);
}

void Worker::close_all()
{
	shutting_down_ = true;
	listener_->stop();
	conns_->close_all();
	soup_server_disconnect(soup_);
	std::vector<ConnectionId> ids;
	ids.reserve(clients_.size());
	for (auto &[id, client] : clients_)
		ids.push_back(id);
	for (ConnectionId id : ids)
		apply({id, nullptr, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down"});
	maybe_drained();
}

void Worker::maybe_drained()
{
	if (!shutting_down_ || drained_ || !clients_.empty())
		return;
	drained_ = true;
	server_.worker_drained();
}

void Worker::on_http(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *,
		     gpointer user_data)
{
	auto *self = static_cast<Worker *>(user_data);
	std::lock_guard lock(self->server_.registry_lock);
	handle_http_request(msg, path, self->server_.registry);
}

/* ---- SignalingServer::Impl ---- */

SignalingServer::Impl::~Impl()
{
	for (auto &w : workers)
		w->stop_thread();
	workers.clear();
	if (shutdown_timer) {
		g_source_destroy(shutdown_timer);
		g_source_unref(shutdown_timer);
	}
	if (shutdown_context)
		g_main_context_unref(shutdown_context);
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

	unsigned count = options.threads ? options.threads : g_get_num_processors();
	count = std::clamp(count, 1u, kMaxWorkers);
	liveness_timeout_us = seconds_to_us(options.liveness_timeout_s);
	join_timeout_us = seconds_to_us(options.limits.join_timeout_s);
	/* Deadlines are looked at often enough to be met within a tenth of the
	 * shortest timeout. */
	const ConnectionLimits &l = options.limits;
	double shortest = std::min({options.liveness_timeout_s, l.tls_handshake_timeout_s,
				    l.header_timeout_s, l.body_timeout_s, l.join_timeout_s});
	tick_ms = static_cast<guint>(std::clamp(shortest * 100, 50.0, 1000.0));

	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(host.c_str());
	for (unsigned i = 0; i < count; i++) {
		g_autoptr(GSocket) sock =
		    g_socket_new(g_inet_address_get_family(addr), G_SOCKET_TYPE_STREAM,
				 G_SOCKET_PROTOCOL_TCP, error);
		if (!sock)
			return false;
		/* GSocket's default backlog of 10 drops connection bursts. */
		g_socket_set_listen_backlog(sock, kListenBacklog);
		g_autoptr(GSocketAddress) sockaddr = g_inet_socket_address_new(addr, port);
		if (!bind_shared(sock, sockaddr, count > 1, error) || !g_socket_listen(sock, error))
			return false;
		if (i == 0) {
			g_autoptr(GSocketAddress) bound = g_socket_get_local_address(sock, error);
			if (!bound)
				return false;
			port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
		}
		auto worker = std::make_unique<Worker>(*this, i);
		if (!worker->listen(sock, cert, error))
			return false;
		workers.push_back(std::move(worker));
	}

	bool v6 = g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6;
	url = std::string(tls ? "https://" : "http://") + (v6 ? "[" : "") + host + (v6 ? "]" : "") +
	      ":" + std::to_string(port) + "/";
	for (auto &w : workers)
		w->run();
	return true;
}

Worker &SignalingServer::Impl::owner(ConnectionId conn)
{
	return *workers[conn & (kMaxWorkers - 1)];
}

void SignalingServer::Impl::send(ConnectionId to, const std::shared_ptr<const std::string> &text)
{
	owner(to).deliver({to, text, 0, {}});
}

void SignalingServer::Impl::close(ConnectionId conn, int code, std::string_view reason)
{
	owner(conn).deliver({conn, nullptr, code, std::string(reason)});
}

void SignalingServer::Impl::shutdown(std::function<void()> done)
{
	if (shutdown_done)
		return;
	shutdown_done = std::move(done);
	shutdown_context = g_main_context_ref_thread_default();
	{
		std::lock_guard lock(registry_lock);
		g_message("shutting down: closing %" G_GINT64_FORMAT " connections",
			  registry.metrics().connections);
		registry.shutting_down();
	}
	workers_open = static_cast<unsigned>(workers.size());
	shutdown_timer = attach_timeout(
	    shutdown_context, kShutdownGraceMs,
	    [](gpointer data) -> gboolean {
		    auto *self = static_cast<Impl *>(data);
		    g_message("shutdown: connections still closing after %u ms, stopping anyway",
			      kShutdownGraceMs);
		    if (auto done = std::exchange(self->shutdown_done, [] {}))
			    done();
		    return G_SOURCE_REMOVE;
	    },
	    this);
	for (auto &w : workers)
		w->begin_shutdown();
}

/* On a worker thread, once all of its connections have closed. */
void SignalingServer::Impl::worker_drained()
{
	if (--workers_open != 0)
		return;
	g_main_context_invoke(
	    shutdown_context,
	    [](gpointer data) -> gboolean {
		    auto *self = static_cast<Impl *>(data);
		    if (self->shutdown_timer)
			    g_source_destroy(self->shutdown_timer);
		    if (auto done = std::exchange(self->shutdown_done, [] {}))
			    done();
		    return G_SOURCE_REMOVE;
	    },
	    this);
}

std::unique_ptr<SignalingServer> SignalingServer::start(ServerOptions options, GError **error)
{
	auto impl = std::make_unique<Impl>(std::move(options));
	if (!impl->start(error))
		return nullptr;
	return std::unique_ptr<SignalingServer>(new SignalingServer(std::move(impl)));
}

SignalingServer::SignalingServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl))
{
}

SignalingServer::~SignalingServer() = default;

const std::string &SignalingServer::url() const
{
	return impl_->url;
}

void SignalingServer::shutdown(std::function<void()> done)
{
	impl_->shutdown(std::move(done));
}

unsigned SignalingServer::threads() const
{
	return static_cast<unsigned>(impl_->workers.size());
}

} // namespace meshcall::server
