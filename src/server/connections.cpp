// SPDX-License-Identifier: LGPL-2.1-or-later
/* Accepted connections and their deadlines (see connections.h). */
#include "server/connections.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "server/log.h"
#include "server/tls_accept.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server:transport"

namespace meshcall::server
{

namespace
{

/* The connection, on the remote address object handed to libsoup: libsoup
 * gives that same object back for every message of the connection. */
GQuark conn_quark()
{
	static GQuark quark = g_quark_from_static_string("meshcall-accepted-connection");
	return quark;
}

std::int64_t seconds_to_us(double s)
{
	return static_cast<std::int64_t>(s * G_USEC_PER_SEC);
}

std::string address_text(GSocketAddress *address)
{
	g_autofree gchar *text =
	    address ? g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(address)) : nullptr;
	return text ? text : "(unknown)";
}

} // namespace

enum class AcceptedConnections::Phase {
	Tls,	  /* waiting for the ClientHello, or in the handshake */
	Head,	  /* libsoup reads the request head */
	Body,	  /* the body, our answer, the client reading it */
	Draining, /* a 413 went out ahead of libsoup; the client has kLingerS to read it */
	Closing,  /* shut down; libsoup notices and closes */
	Upgraded, /* a WebSocket: the transport's WebSocket code times it */
};

struct AcceptedConnections::Conn final : StreamObserver {
	AcceptedConnections *owner = nullptr;
	std::uint64_t serial = 0;
	GSocket *socket = nullptr;		 /* owned */
	GSocketConnection *connection = nullptr; /* owned */
	GSocketAddress *remote = nullptr;	 /* owned */
	std::string key;			 /* address_key(remote) */
	Refusal refusal = Refusal::None;
	Phase phase = Phase::Tls;
	std::int64_t deadline_us = 0; /* 0: none */
	std::unique_ptr<TlsHandshake> tls;
	GIOStream *stream = nullptr;	   /* libsoup's; valid while this exists */
	SoupServerMessage *held = nullptr; /* owned; paused after a 413 */
	gint64 body_bytes = 0;
	StreamObserver *forward = nullptr; /* the WebSocket's, after the upgrade */

	~Conn()
	{
		if (held)
			g_object_unref(held);
		if (remote && g_object_get_qdata(G_OBJECT(remote), conn_quark()) == this)
			g_object_set_qdata(G_OBJECT(remote), conn_quark(), nullptr);
		g_clear_object(&remote);
		g_clear_object(&connection);
		g_clear_object(&socket);
	}

	std::string describe() const { return "client " + address_text(remote); }

	void stream_written(gsize bytes) override
	{
		if (forward)
			forward->stream_written(bytes);
	}
	void stream_blocked() override
	{
		if (forward)
			forward->stream_blocked();
	}
	void stream_closed() override { owner->stream_closed(this); }
};

AcceptedConnections::AcceptedConnections(SoupServer *soup, GMainContext *context,
					 GTlsCertificate *certificate,
					 const ConnectionLimits &limits, ConnectionQuota &quota)
    : soup_(SOUP_SERVER(g_object_ref(soup))), context_(context),
      certificate_(certificate ? G_TLS_CERTIFICATE(g_object_ref(certificate)) : nullptr),
      limits_(limits), quota_(quota)
{
	g_signal_connect(soup_, "request-started", G_CALLBACK(on_request_started), this);
}

AcceptedConnections::~AcceptedConnections()
{
	g_signal_handlers_disconnect_by_data(soup_, this);
	std::vector<Conn *> left;
	for (auto &[serial, conn] : conns_)
		left.push_back(conn.get());
	for (Conn *conn : left) {
		if (conn->stream)
			counting_stream_set_observer(conn->stream, nullptr);
		drop(conn);
	}
	g_clear_object(&certificate_);
	g_object_unref(soup_);
}

void AcceptedConnections::accepted(GSocket *socket)
{
	const std::int64_t now = g_get_monotonic_time();
	g_autoptr(GSocketAddress) remote = g_socket_get_remote_address(socket, nullptr);
	if (!remote) {
		g_socket_close(socket, nullptr); /* gone already */
		return;
	}
	auto conn = std::make_unique<Conn>();
	conn->owner = this;
	conn->serial = next_serial_++;
	conn->socket = G_SOCKET(g_object_ref(socket));
	conn->remote = G_SOCKET_ADDRESS(g_object_ref(remote));
	conn->key = address_key(remote);
	switch (quota_.admit(conn->key)) {
	case ConnectionQuota::Admission::Admitted:
		break;
	case ConnectionQuota::Admission::ServerFull:
		conn->refusal = Refusal::ServerFull;
		break;
	case ConnectionQuota::Admission::AddressFull:
		conn->refusal = Refusal::AddressFull;
		break;
	}
	if (conn->refusal != Refusal::None) {
		log_refusal(conn.get(), now);
		if (answering_refusals_ >= kMaxAnsweredRefusals) {
			g_socket_close(socket, nullptr);
			return; /* never counted */
		}
		answering_refusals_++;
	}
	g_socket_set_option(socket, IPPROTO_TCP, TCP_NODELAY, TRUE, nullptr);
	conn->connection =
	    G_SOCKET_CONNECTION(g_socket_connection_factory_create_connection(socket));
	Conn *c = conn.get();
	conns_.emplace(c->serial, std::move(conn));
	if (!certificate_) {
		serve(c, G_IO_STREAM(c->connection));
		return;
	}
	c->phase = Phase::Tls;
	c->deadline_us = now + seconds_to_us(limits_.tls_handshake_timeout_s);
	c->tls = std::make_unique<TlsHandshake>(
	    c->connection, certificate_, context_,
	    [this, serial = c->serial](GTlsConnection *tls) { handshake_done(serial, tls); });
}

void AcceptedConnections::handshake_done(std::uint64_t serial, GTlsConnection *tls)
{
	auto it = conns_.find(serial);
	if (it == conns_.end())
		return;
	Conn *conn = it->second.get();
	if (!tls) {
		drop(conn);
		return;
	}
	g_object_ref(tls);
	conn->tls.reset(); /* we are in its callback, its last act */
	serve(conn, G_IO_STREAM(tls));
	g_object_unref(tls);
}

void AcceptedConnections::serve(Conn *conn, GIOStream *io)
{
	g_autoptr(GSocketAddress) local = g_socket_get_local_address(conn->socket, nullptr);
	if (!local) {
		drop(conn);
		return;
	}
	conn->phase = Phase::Head;
	conn->deadline_us = g_get_monotonic_time() + seconds_to_us(limits_.header_timeout_s);
	g_object_set_qdata(G_OBJECT(conn->remote), conn_quark(), conn);
	g_autoptr(GIOStream) stream = counting_stream_new(io, G_IO_STREAM(conn->connection), conn);
	conn->stream = stream;
	soup_server_accept_iostream(soup_, stream, local, conn->remote, nullptr);
}

AcceptedConnections::Conn *AcceptedConnections::lookup(SoupServerMessage *msg)
{
	GSocketAddress *remote = soup_server_message_get_remote_address(msg);
	return remote ? static_cast<Conn *>(g_object_get_qdata(G_OBJECT(remote), conn_quark()))
		      : nullptr;
}

void AcceptedConnections::on_request_started(SoupServer *, SoupServerMessage *msg, gpointer)
{
	if (!lookup(msg))
		return;
	/* After libsoup's own got-headers handler, which runs the early
	 * handlers (the Origin check). */
	g_signal_connect(msg, "got-headers", G_CALLBACK(on_got_headers), nullptr);
	g_signal_connect(msg, "got-chunk", G_CALLBACK(on_got_chunk), nullptr);
}

void AcceptedConnections::on_got_headers(SoupServerMessage *msg, gpointer)
{
	if (Conn *conn = lookup(msg))
		conn->owner->got_headers(conn, msg);
}

void AcceptedConnections::on_got_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer)
{
	Conn *conn = lookup(msg);
	if (!conn || conn->phase != Phase::Body)
		return;
	conn->body_bytes += static_cast<gint64>(g_bytes_get_size(chunk));
	if (conn->body_bytes > conn->owner->limits_.max_body_bytes)
		conn->owner->refuse_body(conn, msg, conn->body_bytes);
}

void AcceptedConnections::got_headers(Conn *conn, SoupServerMessage *msg)
{
	conn->phase = Phase::Body;
	conn->deadline_us = g_get_monotonic_time() + seconds_to_us(limits_.body_timeout_s);
	SoupMessageHeaders *request = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *response = soup_server_message_get_response_headers(msg);
	const bool upgrade = soup_message_headers_header_contains(request, "Upgrade", "websocket");
	if (!upgrade)
		soup_message_headers_replace(response, "Connection", "close");

	/* A refused WebSocket is upgraded and then closed with its reason,
	 * which a browser can show; plain HTTP gets 503. */
	if (conn->refusal != Refusal::None && !upgrade &&
	    soup_server_message_get_status(msg) == 0) {
		const char *why = conn->refusal == Refusal::ServerFull
				      ? "the server is full, try again later\n"
				      : "too many connections from your address\n";
		soup_server_message_set_status(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, nullptr);
		soup_message_headers_replace(response, "Retry-After", "10");
		soup_server_message_set_response(msg, "text/plain; charset=utf-8",
						 SOUP_MEMORY_STATIC, why, strlen(why));
	}

	switch (soup_message_headers_get_encoding(request)) {
	case SOUP_ENCODING_CONTENT_LENGTH: {
		goffset length = soup_message_headers_get_content_length(request);
		if (length > limits_.max_body_bytes)
			refuse_body(conn, msg, length);
		break;
	}
	default:
		/* Chunked: counted in got-chunk as it comes. */
		break;
	}
}

/* libsoup 3.2.3 reads a whole body before anything is answered, so the 413 is
 * written here, ahead of it, with the headers the response has so far (Date,
 * Server, and HSTS under TLS); then the write side is shut and libsoup
 * paused until the client has had kLingerS to read it. Nothing more of the
 * body is kept. */
void AcceptedConnections::refuse_body(Conn *conn, SoupServerMessage *msg, gint64 size)
{
	if (conn->phase != Phase::Body)
		return;
	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	soup_server_message_pause(msg);
	conn->held = SOUP_SERVER_MESSAGE(g_object_ref(msg));

	std::string body = "{\"error\":\"too-large\",\"message\":\"request bodies are limited to " +
			   std::to_string(limits_.max_body_bytes) + " bytes\"}";
	std::string raw = "HTTP/1.1 413 Content Too Large\r\n";
	SoupMessageHeadersIter iter;
	soup_message_headers_iter_init(&iter, soup_server_message_get_response_headers(msg));
	const char *name, *value;
	while (soup_message_headers_iter_next(&iter, &name, &value)) {
		if (g_ascii_strcasecmp(name, "Connection") != 0 &&
		    g_ascii_strcasecmp(name, "Content-Length") != 0 &&
		    g_ascii_strcasecmp(name, "Content-Type") != 0)
			raw += std::string(name) + ": " + value + "\r\n";
	}
	raw += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
	       "\r\nConnection: close\r\n\r\n" + body;
	counting_stream_write_raw(conn->stream, raw.data(), raw.size());
	g_socket_shutdown(conn->socket, FALSE, TRUE, nullptr);

	conn->phase = Phase::Draining;
	conn->deadline_us = g_get_monotonic_time() + seconds_to_us(kLingerS);
	MESHCALL_MESSAGE_ABOUT(conn->describe(),
			       "request body of %" G_GINT64_FORMAT
			       " bytes refused with 413 (limit %" G_GINT64_FORMAT ")",
			       size, limits_.max_body_bytes);
}

AcceptedConnections::Upgrade AcceptedConnections::upgraded(SoupServerMessage *msg,
							   StreamObserver *observer)
{
	Conn *conn = lookup(msg);
	if (!conn)
		return {};
	conn->phase = Phase::Upgraded;
	conn->deadline_us = 0;
	conn->forward = observer;
	return {conn->serial, conn->refusal};
}

void AcceptedConnections::detach(std::uint64_t handle)
{
	auto it = conns_.find(handle);
	if (it != conns_.end())
		it->second->forward = nullptr;
}

void AcceptedConnections::check_deadlines(std::int64_t now_us)
{
	std::vector<Conn *> due;
	for (auto &[serial, conn] : conns_) {
		if (conn->deadline_us && conn->deadline_us <= now_us)
			due.push_back(conn.get());
	}
	for (Conn *conn : due)
		expire(conn, now_us);
}

void AcceptedConnections::expire(Conn *conn, std::int64_t)
{
	switch (conn->phase) {
	case Phase::Tls:
		MESHCALL_DEBUG_ABOUT(conn->describe(), "no TLS handshake within %g s",
				     limits_.tls_handshake_timeout_s);
		drop(conn);
		return;
	case Phase::Head:
	case Phase::Body:
		MESHCALL_DEBUG_ABOUT(conn->describe(), "HTTP request %s not complete within %g s",
				     conn->phase == Phase::Head ? "head" : "and response",
				     conn->phase == Phase::Head ? limits_.header_timeout_s
								: limits_.body_timeout_s);
		break;
	case Phase::Draining:
	case Phase::Closing:
	case Phase::Upgraded:
		break;
	}
	/* libsoup's pending read or write fails, and it closes the
	 * connection its own way. */
	conn->phase = Phase::Closing;
	conn->deadline_us = 0;
	g_socket_shutdown(conn->socket, TRUE, TRUE, nullptr);
	if (SoupServerMessage *held = std::exchange(conn->held, nullptr)) {
		soup_server_message_unpause(held);
		g_object_unref(held);
	}
}

void AcceptedConnections::stream_closed(Conn *conn)
{
	conn->stream = nullptr;
	drop(conn);
}

void AcceptedConnections::drop(Conn *conn)
{
	/* Not closed here: a TLS handshake may still be using the socket in
	 * a thread of GLib's pool. The shutdown wakes it, and the descriptor
	 * closes with the last reference to the socket. */
	if (!conn->stream)
		g_socket_shutdown(conn->socket, TRUE, TRUE, nullptr);
	if (conn->refusal == Refusal::None)
		quota_.release(conn->key);
	else
		answering_refusals_--;
	conns_.erase(conn->serial);
}

void AcceptedConnections::close_all()
{
	std::vector<Conn *> unserved;
	for (auto &[serial, conn] : conns_) {
		if (conn->phase == Phase::Tls)
			unserved.push_back(conn.get());
	}
	for (Conn *conn : unserved)
		drop(conn);
}

void AcceptedConnections::log_refusal(Conn *conn, std::int64_t now_us)
{
	if (now_us - last_refusal_log_us_ < G_USEC_PER_SEC) {
		refusals_unlogged_++;
		return;
	}
	last_refusal_log_us_ = now_us;
	std::string more = refusals_unlogged_
			       ? " (and " + std::to_string(refusals_unlogged_) + " more since)"
			       : "";
	refusals_unlogged_ = 0;
	if (conn->refusal == Refusal::ServerFull)
		MESHCALL_MESSAGE_ABOUT(conn->describe(),
				       "refused: %" G_GINT64_FORMAT " connections open%s",
				       quota_.open(), more.c_str());
	else
		MESHCALL_MESSAGE_ABOUT(
		    conn->describe(), "refused: %" G_GINT64_FORMAT " connections from %s%s",
		    limits_.max_connections_per_address, conn->key.c_str(), more.c_str());
}

} // namespace meshcall::server
