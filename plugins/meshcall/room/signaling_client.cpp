// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcallbin's signaling client (see signaling_client.h).
 *
 * Everything libsoup lives on the GMainContext given at construction: the
 * public methods only queue work for it as idle sources that hold a
 * std::weak_ptr to Impl, and every entry from the context pushes it as the
 * thread default so libsoup attaches its own sources there. As with any GIO
 * async API, a context other than the global default must be iterated by a
 * thread that has it as its thread default (libsoup's queue needs that).
 *
 * Destruction: when nobody is iterating the context, the destructor acquires
 * it and releases the soup objects at once. Otherwise only the final cleanup
 * source holds a strong reference, so Impl and its soup objects are released
 * on the context after the cleanup ran, or by that source's GDestroyNotify if
 * the context is finalised with the source still pending.
 *
 * Locks (lock order: gate_mutex, then queue_mutex; never the other way):
 * - gate_mutex (recursive) guards the callbacks and `closed`, and is held for
 *   the whole of every callback. close() takes it to set `closed`, so once
 *   close() returns no callback is running (on another thread) or will start.
 *   Being recursive, close() (or send_*, connect()) from inside a callback on
 *   the context thread does not deadlock; the callbacks are then released
 *   when that outermost callback returns. The cost: close() from another
 *   thread waits for a callback in progress, so it must not be called while
 *   holding a lock that a callback takes.
 * - queue_mutex guards the outgoing queue and the flags saying whether
 *   messages are accepted. It is never held while calling into libsoup or a
 *   callback.
 * Everything else in Impl is touched only on the context. */
#include "room/signaling_client.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <utility>
#include <variant>

#include <gst/gst.h>
#include <libsoup/soup.h>

#include "common/main_context.h"

GST_DEBUG_CATEGORY_STATIC(signaling_debug);
#define GST_CAT_DEFAULT signaling_debug

namespace meshcall
{

namespace proto = protocol;

namespace
{

/* Both the protocol `ping` and libsoup's WebSocket ping. */
constexpr guint kKeepaliveSeconds = 15;
/* With a ping every 15 s a live server answers well within this. */
constexpr std::chrono::milliseconds kDefaultSilenceLimit{20000};

void ensure_debug_category()
{
	static std::once_flag once;
	std::call_once(once, [] {
		GST_DEBUG_CATEGORY_INIT(signaling_debug, "meshcallbin-signaling", 0,
					"meshcallbin's signaling client");
	});
}

/* Makes `context` this thread's default for the scope, so that libsoup
 * attaches its own sources (I/O, keepalive, close timeout) to it. Only used
 * while this thread owns the context (dispatching it, or acquired by the
 * destructor), so acquiring it cannot fail. */
class ThreadDefaultContext
{
public:
	explicit ThreadDefaultContext(GMainContext *context) : context_(context)
	{
		g_main_context_push_thread_default(context_);
	}
	~ThreadDefaultContext() { g_main_context_pop_thread_default(context_); }
	ThreadDefaultContext(const ThreadDefaultContext &) = delete;
	ThreadDefaultContext &operator=(const ThreadDefaultContext &) = delete;

private:
	GMainContext *context_;
};

bool is_utf8(std::string_view text)
{
	return g_utf8_validate_len(text.data(), text.size(), nullptr);
}

/* The protocol serialisers need valid UTF-8; the server judges the rest. */
std::string valid_utf8(const std::string &text)
{
	if (is_utf8(text))
		return text;
	g_autofree char *fixed = g_utf8_make_valid(text.data(), text.size());
	return fixed;
}

template <class... Ts> struct Overloaded : Ts... {
	using Ts::operator()...;
};
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

GQuark attempt_quark()
{
	return g_quark_from_static_string("meshcall-signaling-attempt");
}

} // namespace

struct SignalingClient::Impl {
	Impl(GMainContext *ctx, Callbacks cbs) : context(ctx), callbacks(std::move(cbs)) {}
	~Impl();
	Impl(const Impl &) = delete;
	Impl &operator=(const Impl &) = delete;

	/* Borrowed: SignalingClient holds a reference until its destructor;
	 * after that Impl only runs while the context dispatches it. */
	GMainContext *const context;
	std::weak_ptr<Impl> self;
	/* What log lines name this client by: "signaling <room> at <url>", set
	 * by connect() before anything is logged; read on the context and by
	 * send_*() (a std::string set once, before they run). */
	std::string log_id = "signaling";

	/* ---- gate_mutex ---- */
	std::recursive_mutex gate_mutex;
	Callbacks callbacks; /* emptied once closed and no callback runs */
	bool closed = false;
	int delivering = 0; /* nesting depth of callbacks in progress */

	/* ---- queue_mutex ---- */
	std::mutex queue_mutex;
	std::deque<std::string> outgoing;
	bool active = false;	   /* from connect() until that connection ends */
	bool closing = false;	   /* close() was called: drop new messages */
	bool flush_posted = false; /* a flush task is pending */

	/* ---- context only ---- */
	SoupSession *session = nullptr;
	SoupMessage *handshake = nullptr;
	GCancellable *attempt = nullptr; /* the connect in progress */
	SoupWebsocketConnection *conn = nullptr;
	GSource *ping_timer = nullptr;
	GSource *silence_timer = nullptr; /* checks last_heard */
	gint64 last_heard = 0;		  /* monotonic µs of the last frame or pong */
	std::chrono::milliseconds silence_limit = kDefaultSilenceLimit; /* set before connect() */
	std::string join_text;
	bool joined = false; /* welcome received on this connection */

	bool is_closed()
	{
		std::lock_guard lock(gate_mutex);
		return closed;
	}
	bool is_open() const
	{
		return conn &&
		       soup_websocket_connection_get_state(conn) == SOUP_WEBSOCKET_STATE_OPEN;
	}

	/* Runs `run` on the context unless Impl is gone by then. */
	void post(std::function<void(Impl &)> run);
	template <typename Fn> void deliver(Fn &&fn);
	void close();
	void enqueue(std::string text);

	/* On the context. */
	void start_connect(const std::string &url);
	void connected(SoupWebsocketConnection *connection, const GError *error);
	void flush();
	void shut_down();
	void end_connection(CloseReason reason, int code, const std::string &detail);
	void stop_ping_timer();
	void release_connection(bool on_context);
	void dispatch(const proto::ServerMessage &message);

	static void on_connect_finished(GObject *source, GAsyncResult *result, gpointer data);
	static void on_message(SoupWebsocketConnection *conn, gint type, GBytes *message,
			       gpointer data);
	static void on_closed(SoupWebsocketConnection *conn, gpointer data);
	static void on_error(SoupWebsocketConnection *conn, GError *error, gpointer data);
	static gboolean on_ping_timer(gpointer data);
	static gboolean on_silence_timer(gpointer data);
	static void on_pong(SoupWebsocketConnection *conn, GBytes *message, gpointer data);
	static void delete_weak(gpointer data) { delete static_cast<std::weak_ptr<Impl> *>(data); }
};

SignalingClient::Impl::~Impl()
{
	/* Normally the final cleanup already released everything on the
	 * context; this is the context being finalised with it still pending. */
	release_connection(false);
}

/* Signaling work runs at default priority, ahead of idle work. */
static GSource *task_source()
{
	GSource *source = g_idle_source_new();
	g_source_set_priority(source, G_PRIORITY_DEFAULT);
	return source;
}

void SignalingClient::Impl::post(std::function<void(Impl &)> run)
{
	invoke_on(
	    [impl = self, run = std::move(run)] {
		    if (std::shared_ptr<Impl> strong = impl.lock()) {
			    ThreadDefaultContext scope(strong->context);
			    try {
				    run(*strong);
			    } catch (const std::exception &e) {
				    GST_ERROR_ID(strong->log_id.c_str(),
						 "signaling task failed: %s", e.what());
			    } catch (...) {
				    GST_ERROR_ID(strong->log_id.c_str(), "signaling task failed");
			    }
		    }
	    },
	    context, task_source(), "meshcall signaling task");
}

/* Runs `fn(callbacks)` unless close() was called. */
template <typename Fn> void SignalingClient::Impl::deliver(Fn &&fn)
{
	Callbacks released; /* destroyed after the lock is dropped */
	std::unique_lock lock(gate_mutex);
	if (closed)
		return;
	++delivering;
	try {
		fn(callbacks);
	} catch (const std::exception &e) {
		GST_ERROR_ID(log_id.c_str(), "a signaling callback threw: %s", e.what());
	} catch (...) {
		GST_ERROR_ID(log_id.c_str(), "a signaling callback threw");
	}
	--delivering;
	if (closed && delivering == 0)
		released = std::exchange(callbacks, Callbacks{});
	lock.unlock();
}

void SignalingClient::Impl::close()
{
	Callbacks released;
	{
		std::lock_guard lock(gate_mutex);
		if (closed)
			return;
		closed = true;
		if (delivering == 0)
			released = std::exchange(callbacks, Callbacks{});
	}
	{
		std::lock_guard lock(queue_mutex);
		closing = true;
	}
	post([](Impl &impl) { impl.shut_down(); });
}

void SignalingClient::Impl::enqueue(std::string text)
{
	bool post_flush = false;
	{
		std::lock_guard lock(queue_mutex);
		if (!active || closing) {
			GST_LOG_ID(log_id.c_str(), "not connected, dropping %s", text.c_str());
			return;
		}
		outgoing.push_back(std::move(text));
		post_flush = !std::exchange(flush_posted, true);
	}
	if (post_flush)
		post([](Impl &impl) { impl.flush(); });
}

/* Sends what was queued; while the handshake is still running the queue is
 * kept and flushed right after `join`. */
void SignalingClient::Impl::flush()
{
	std::deque<std::string> batch;
	{
		std::lock_guard lock(queue_mutex);
		flush_posted = false;
		if (!is_open())
			return;
		batch.swap(outgoing);
	}
	for (const std::string &text : batch)
		soup_websocket_connection_send_text(conn, text.c_str());
}

void SignalingClient::Impl::start_connect(const std::string &url)
{
	if (is_closed())
		return;
	release_connection(true);
	joined = false;

	session = soup_session_new();
	handshake = soup_message_new("GET", url.c_str());
	if (!handshake) {
		end_connection(CloseReason::Unreachable, 0, "libsoup refused the URL " + url);
		return;
	}
	/* The attempt's GCancellable carries the weak reference: the GTask
	 * keeps it alive until the callback ran, and frees it with itself even
	 * if the callback never runs. */
	attempt = g_cancellable_new();
	g_object_set_qdata_full(G_OBJECT(attempt), attempt_quark(), new std::weak_ptr<Impl>(self),
				delete_weak);
	GST_DEBUG_ID(log_id.c_str(), "connecting to %s", url.c_str());
	soup_session_websocket_connect_async(session, handshake, nullptr, nullptr,
					     G_PRIORITY_DEFAULT, attempt, on_connect_finished,
					     attempt);
}

void SignalingClient::Impl::on_connect_finished(GObject *source, GAsyncResult *result,
						gpointer data)
{
	auto *cancellable = static_cast<GCancellable *>(data);
	g_autoptr(GError) error = nullptr;
	SoupWebsocketConnection *connection =
	    soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error);

	auto *weak = static_cast<std::weak_ptr<Impl> *>(
	    g_object_get_qdata(G_OBJECT(cancellable), attempt_quark()));
	std::shared_ptr<Impl> impl = weak ? weak->lock() : nullptr;
	if (!impl || impl->attempt != cancellable) {
		/* Torn down meanwhile: the socket has no owner. */
		if (connection) {
			soup_websocket_connection_close(connection, proto::close_code::kNormal,
							nullptr);
			g_object_unref(connection);
		}
		return;
	}
	ThreadDefaultContext scope(impl->context);
	try {
		impl->connected(connection, error);
	} catch (const std::exception &e) {
		GST_ERROR_ID(impl->log_id.c_str(), "handling the handshake failed: %s", e.what());
	}
}

void SignalingClient::Impl::connected(SoupWebsocketConnection *connection, const GError *error)
{
	g_clear_object(&attempt);
	if (!connection) {
		std::string detail = error ? error->message : "WebSocket handshake failed";
		const guint status = handshake ? soup_message_get_status(handshake) : 0;
		if (status >= 100) {
			const char *reason = soup_message_get_reason_phrase(handshake);
			detail += " (HTTP " + std::to_string(status) +
				  (reason && *reason ? std::string(" ") + reason : "") + ")";
		}
		GST_DEBUG_ID(log_id.c_str(), "connection failed: %s", detail.c_str());
		end_connection(CloseReason::Unreachable, 0, detail);
		return;
	}

	conn = connection;
	g_clear_object(&handshake);
	soup_websocket_connection_set_max_incoming_payload_size(conn,
								proto::kMaxServerMessageBytes);
	soup_websocket_connection_set_keepalive_interval(conn, kKeepaliveSeconds);
	g_signal_connect(conn, "message", G_CALLBACK(on_message), this);
	g_signal_connect(conn, "closed", G_CALLBACK(on_closed), this);
	g_signal_connect(conn, "pong", G_CALLBACK(on_pong), this);
	g_signal_connect(conn, "error", G_CALLBACK(on_error), this);
	if (is_closed()) {
		shut_down();
		return;
	}

	GST_DEBUG_ID(log_id.c_str(), "connected, joining");
	soup_websocket_connection_send_text(conn, join_text.c_str());
	flush();

	ping_timer = g_timeout_source_new_seconds(kKeepaliveSeconds);
	g_source_set_static_name(ping_timer, "meshcall signaling ping");
	g_source_set_callback(ping_timer, on_ping_timer, new std::weak_ptr<Impl>(self),
			      delete_weak);
	g_source_attach(ping_timer, context);

	last_heard = g_get_monotonic_time();
	const auto check_every = std::clamp(silence_limit / 4, std::chrono::milliseconds(50),
					    std::chrono::milliseconds(1000));
	silence_timer = g_timeout_source_new(static_cast<guint>(check_every.count()));
	g_source_set_static_name(silence_timer, "meshcall signaling silence");
	g_source_set_callback(silence_timer, on_silence_timer, new std::weak_ptr<Impl>(self),
			      delete_weak);
	g_source_attach(silence_timer, context);
}

void SignalingClient::Impl::on_pong(SoupWebsocketConnection *, GBytes *, gpointer data)
{
	static_cast<Impl *>(data)->last_heard = g_get_monotonic_time();
}

gboolean SignalingClient::Impl::on_silence_timer(gpointer data)
{
	std::shared_ptr<Impl> impl = static_cast<std::weak_ptr<Impl> *>(data)->lock();
	if (!impl)
		return G_SOURCE_REMOVE;
	const gint64 silent_us = g_get_monotonic_time() - impl->last_heard;
	if (!impl->is_open() ||
	    silent_us <
		std::chrono::duration_cast<std::chrono::microseconds>(impl->silence_limit).count())
		return G_SOURCE_CONTINUE;
	ThreadDefaultContext scope(impl->context);
	GST_DEBUG_ID(impl->log_id.c_str(),
		     "nothing from the server for %" G_GINT64_FORMAT " ms: taking it for lost",
		     silent_us / 1000);
	/* Dropped, not closed: a close handshake would wait for the silent
	 * peer. The timers go with it (this source returns REMOVE anyway). */
	g_io_stream_close(soup_websocket_connection_get_io_stream(impl->conn), nullptr, nullptr);
	impl->release_connection(true);
	impl->end_connection(CloseReason::Lost, 0,
			     "the server has been silent for " +
				 std::to_string(silent_us / 1000000) + " s");
	return G_SOURCE_REMOVE;
}

gboolean SignalingClient::Impl::on_ping_timer(gpointer data)
{
	std::shared_ptr<Impl> impl = static_cast<std::weak_ptr<Impl> *>(data)->lock();
	if (!impl)
		return G_SOURCE_REMOVE;
	ThreadDefaultContext scope(impl->context);
	try {
		if (impl->is_open())
			soup_websocket_connection_send_text(impl->conn, proto::ping_json().c_str());
	} catch (const std::exception &e) {
		GST_ERROR_ID(impl->log_id.c_str(), "sending a ping failed: %s", e.what());
	}
	return G_SOURCE_CONTINUE;
}

void SignalingClient::Impl::stop_ping_timer()
{
	for (GSource **timer : {&ping_timer, &silence_timer}) {
		if (*timer) {
			g_source_destroy(*timer);
			g_clear_pointer(timer, g_source_unref);
		}
	}
}

/* After close(): flush, leave, close the socket. Keeps the connection so the
 * close handshake can complete; idempotent. */
void SignalingClient::Impl::shut_down()
{
	stop_ping_timer();
	if (attempt)
		g_cancellable_cancel(attempt);
	flush();
	if (is_open()) {
		if (joined)
			soup_websocket_connection_send_text(conn, proto::leave_json().c_str());
		soup_websocket_connection_close(conn, proto::close_code::kNormal, nullptr);
	}
	joined = false;
	std::lock_guard lock(queue_mutex);
	active = false;
	outgoing.clear();
}

void SignalingClient::Impl::end_connection(CloseReason reason, int code, const std::string &detail)
{
	stop_ping_timer();
	joined = false;
	{
		std::lock_guard lock(queue_mutex);
		active = false;
		outgoing.clear();
	}
	deliver([&](Callbacks &cb) {
		if (cb.closed)
			cb.closed(reason, code, detail);
	});
}

/* `on_context`: false only from ~Impl when the context is being finalised,
 * where nothing may be attached to it any more. */
void SignalingClient::Impl::release_connection(bool on_context)
{
	stop_ping_timer();
	if (attempt) {
		if (on_context)
			g_cancellable_cancel(attempt);
		g_clear_object(&attempt);
	}
	if (conn) {
		g_signal_handlers_disconnect_by_data(conn, this);
		if (on_context && is_open())
			soup_websocket_connection_close(conn, proto::close_code::kNormal, nullptr);
		g_clear_object(&conn);
	}
	g_clear_object(&handshake);
	if (session) {
		if (on_context)
			soup_session_abort(session);
		g_clear_object(&session);
	}
}

void SignalingClient::Impl::on_message(SoupWebsocketConnection *, gint type, GBytes *message,
				       gpointer data)
{
	auto *impl = static_cast<Impl *>(data);
	impl->last_heard = g_get_monotonic_time();
	gsize size = 0;
	const auto *bytes = static_cast<const char *>(g_bytes_get_data(message, &size));
	if (type != SOUP_WEBSOCKET_DATA_TEXT) {
		GST_DEBUG_ID(impl->log_id.c_str(),
			     "ignoring a binary frame of %" G_GSIZE_FORMAT " bytes", size);
		return;
	}
	try {
		std::string error;
		std::optional<proto::ServerMessage> parsed =
		    proto::parse_server_message(std::string_view(bytes, size), &error);
		if (!parsed) {
			GST_DEBUG_ID(impl->log_id.c_str(),
				     "ignoring an unparsable frame (%s): %.200s", error.c_str(),
				     bytes ? bytes : "");
			return;
		}
		ThreadDefaultContext scope(impl->context);
		impl->dispatch(*parsed);
	} catch (const std::exception &e) {
		GST_ERROR_ID(impl->log_id.c_str(), "handling a server message failed: %s",
			     e.what());
	}
}

void SignalingClient::Impl::dispatch(const proto::ServerMessage &message)
{
	std::visit(Overloaded{
		       [&](const proto::Welcome &m) {
			       GST_DEBUG_ID(log_id.c_str(), "welcome: id %s in room %s",
					    m.id.c_str(), m.room.c_str());
			       joined = true;
			       deliver([&](Callbacks &cb) {
				       if (cb.welcome)
					       cb.welcome(m);
			       });
		       },
		       [&](const proto::PeerJoined &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.peer_joined)
					       cb.peer_joined(m);
			       });
		       },
		       [&](const proto::PeerLeft &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.peer_left)
					       cb.peer_left(m);
			       });
		       },
		       [&](const proto::PeerMedia &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.peer_media)
					       cb.peer_media(m);
			       });
		       },
		       [&](const proto::RelayedOffer &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.offer)
					       cb.offer(m);
			       });
		       },
		       [&](const proto::RelayedAnswer &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.answer)
					       cb.answer(m);
			       });
		       },
		       [&](const proto::RelayedCandidate &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.candidate)
					       cb.candidate(m);
			       });
		       },
		       [&](const proto::RelayedReconnect &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.reconnect)
					       cb.reconnect(m);
			       });
		       },
		       [&](const proto::ChatLine &m) {
			       deliver([&](Callbacks &cb) {
				       if (cb.chat)
					       cb.chat(m);
			       });
		       },
		       [&](const proto::Pong &) { GST_LOG_ID(log_id.c_str(), "pong"); },
		       [&](const proto::Error &m) {
			       GST_DEBUG_ID(log_id.c_str(), "server error %s: %s", m.code.c_str(),
					    m.message.c_str());
			       deliver([&](Callbacks &cb) {
				       if (cb.error)
					       cb.error(m);
			       });
		       },
		   },
		   message);
}

void SignalingClient::Impl::on_closed(SoupWebsocketConnection *connection, gpointer data)
{
	auto *impl = static_cast<Impl *>(data);
	const int code = soup_websocket_connection_get_close_code(connection);
	const char *reason = soup_websocket_connection_get_close_data(connection);
	GST_DEBUG_ID(impl->log_id.c_str(), "connection closed, code %d", code);
	std::string detail = code ? "closed by the server with code " + std::to_string(code)
				  : std::string("connection lost");
	if (reason && *reason)
		detail += std::string(": ") + reason;
	ThreadDefaultContext scope(impl->context);
	try {
		/* The connection itself is released later (next connect() or
		 * the final cleanup), not inside its own signal. */
		impl->end_connection(CloseReason::Lost, code, detail);
	} catch (const std::exception &e) {
		GST_ERROR_ID(impl->log_id.c_str(), "handling the close failed: %s", e.what());
	}
}

void SignalingClient::Impl::on_error(SoupWebsocketConnection *, GError *error, gpointer data)
{
	GST_DEBUG_ID(static_cast<Impl *>(data)->log_id.c_str(), "WebSocket error: %s",
		     error ? error->message : "unknown");
}

/* ---- SignalingClient ---- */

SignalingClient::SignalingClient(GMainContext *context, Callbacks callbacks)
{
	ensure_debug_category();
	if (!context)
		context = g_main_context_default();
	impl_ = std::shared_ptr<Impl>(new Impl(g_main_context_ref(context), std::move(callbacks)));
	impl_->self = impl_;
}

SignalingClient::~SignalingClient()
{
	impl_->close();
	GMainContext *context = impl_->context;
	if (!g_main_context_is_owner(context) && g_main_context_acquire(context)) {
		/* Nobody is iterating the context (and perhaps nobody ever will
		 * again): own it and clean up now. Posting would leak when it is
		 * abandoned, because the SoupSession holds a reference on it. */
		{
			ThreadDefaultContext scope(context);
			impl_->shut_down();
			impl_->release_connection(true);
			impl_.reset();
		}
		g_main_context_release(context);
		g_main_context_unref(context);
		return;
	}
	/* The context is being dispatched, maybe by this very thread inside a
	 * callback: the last strong reference goes to a cleanup source, which
	 * runs after the shut_down() queued by close(). If the context is
	 * finalised first, the source's GDestroyNotify frees Impl. */
	invoke_on(
	    [impl = std::shared_ptr<Impl>(std::move(impl_))] {
		    ThreadDefaultContext scope(impl->context);
		    impl->shut_down();
		    impl->release_connection(true);
	    },
	    context, task_source(), "meshcall signaling cleanup");
	g_main_context_unref(context);
}

bool SignalingClient::connect(const std::string &server, JoinRequest join, std::string *error)
{
	std::optional<std::string> url = websocket_url_for(server);
	if (!url) {
		if (error)
			*error = "not a ws://, wss://, http:// or https:// URL: \"" + server + "\"";
		return false;
	}
	if (impl_->is_closed()) {
		if (error)
			*error = "the signaling client is closed";
		return false;
	}
	{
		std::lock_guard lock(impl_->queue_mutex);
		if (impl_->active) {
			if (error)
				*error = "already connected";
			return false;
		}
		impl_->active = true;
		impl_->outgoing.clear();
	}
	std::optional<std::string> token;
	if (join.token)
		token = valid_utf8(*join.token);
	std::optional<std::string> resume;
	if (join.resume)
		resume = valid_utf8(*join.resume);
	auto view = [](const std::optional<std::string> &v) {
		return v ? std::optional<std::string_view>(*v) : std::nullopt;
	};
	std::string join_text = proto::join_json(valid_utf8(join.room), valid_utf8(join.name),
						 view(token), view(resume));
	impl_->log_id = "signaling " + join.room + " at " + *url;
	impl_->post([url = *std::move(url), join_text = std::move(join_text)](Impl &impl) {
		impl.join_text = join_text;
		impl.start_connect(url);
	});
	return true;
}

void SignalingClient::send_offer(const std::string &to, std::string sdp)
{
	if (!is_utf8(to) || !is_utf8(sdp)) {
		GST_WARNING_ID(impl_->log_id.c_str(), "dropping an offer that is not UTF-8");
		return;
	}
	impl_->enqueue(proto::offer_json(to, sdp));
}

void SignalingClient::send_answer(const std::string &to, std::string sdp)
{
	if (!is_utf8(to) || !is_utf8(sdp)) {
		GST_WARNING_ID(impl_->log_id.c_str(), "dropping an answer that is not UTF-8");
		return;
	}
	impl_->enqueue(proto::answer_json(to, sdp));
}

void SignalingClient::send_candidate(const std::string &to, unsigned mline_index,
				     std::string candidate)
{
	if (!is_utf8(to) || !is_utf8(candidate)) {
		GST_WARNING_ID(impl_->log_id.c_str(), "dropping a candidate that is not UTF-8");
		return;
	}
	impl_->enqueue(proto::candidate_json(
	    proto::Candidate{to, std::move(candidate), mline_index, std::nullopt}));
}

void SignalingClient::send_reconnect(const std::string &to)
{
	if (!is_utf8(to)) {
		GST_WARNING_ID(impl_->log_id.c_str(), "dropping a reconnect that is not UTF-8");
		return;
	}
	impl_->enqueue(proto::reconnect_json(to));
}

void SignalingClient::send_chat(std::string text)
{
	if (!is_utf8(text)) {
		GST_WARNING_ID(impl_->log_id.c_str(), "dropping a chat line that is not UTF-8");
		return;
	}
	impl_->enqueue(proto::chat_json(text));
}

void SignalingClient::send_media(bool audio, bool video)
{
	impl_->enqueue(proto::media_json(audio, video));
}

void SignalingClient::set_silence_limit(std::chrono::milliseconds limit)
{
	impl_->silence_limit = limit;
}

void SignalingClient::close()
{
	impl_->close();
}

std::optional<std::string> websocket_url_for(const std::string &server)
{
	/* GUri lets white space and control characters through; no URL has them. */
	for (unsigned char ch : server) {
		if (ch <= 0x20 || ch == 0x7f)
			return std::nullopt;
	}
	g_autoptr(GUri) uri = g_uri_parse(server.c_str(), G_URI_FLAGS_ENCODED, nullptr);
	if (!uri)
		return std::nullopt;
	const char *scheme = g_uri_get_scheme(uri);
	const char *ws_scheme = nullptr;
	if (!g_ascii_strcasecmp(scheme, "ws") || !g_ascii_strcasecmp(scheme, "http"))
		ws_scheme = "ws";
	else if (!g_ascii_strcasecmp(scheme, "wss") || !g_ascii_strcasecmp(scheme, "https"))
		ws_scheme = "wss";
	else
		return std::nullopt;
	const char *host = g_uri_get_host(uri);
	if (!host || !*host)
		return std::nullopt;
	const char *path = g_uri_get_path(uri);
	if (!*path || !std::strcmp(path, "/"))
		path = "/ws";
	/* A WebSocket URL has no fragment (RFC 6455 §3). */
	g_autofree char *text =
	    g_uri_join(G_URI_FLAGS_ENCODED, ws_scheme, g_uri_get_userinfo(uri), host,
		       g_uri_get_port(uri), path, g_uri_get_query(uri), nullptr);
	return std::string(text);
}

} // namespace meshcall
