// SPDX-License-Identifier: LGPL-2.1-or-later
#include "server/tls_accept.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server:transport"

namespace meshcall::server
{

namespace
{

constexpr unsigned char kHandshakeRecord = 0x16;
constexpr int kRecordHeader = 5;
/* RFC 8446 §5.1: a record holds at most 2^14 bytes, plus some slack. */
constexpr int kMaxRecord = kRecordHeader + (1 << 14) + 256;

void set_low_water_mark(int fd, int bytes)
{
	setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

} // namespace

/* Outlives the TlsHandshake when the handshake's callback comes after it. */
struct TlsHandshake::Pending {
	TlsHandshake *owner;
};

TlsHandshake::TlsHandshake(GSocketConnection *connection, GTlsCertificate *certificate,
			   GMainContext *context, Done done)
    : connection_(G_SOCKET_CONNECTION(g_object_ref(connection))),
      certificate_(G_TLS_CERTIFICATE(g_object_ref(certificate))), context_(context),
      done_(std::move(done))
{
	GSocket *socket = g_socket_connection_get_socket(connection_);
	watch_ = g_socket_create_source(socket, G_IO_IN, nullptr);
	g_source_set_callback(watch_, G_SOURCE_FUNC(on_readable), this, nullptr);
	g_source_attach(watch_, context_);
}

TlsHandshake::~TlsHandshake()
{
	if (watch_) {
		g_source_destroy(watch_);
		g_source_unref(watch_);
	}
	if (pending_)
		pending_->owner = nullptr;
	if (cancellable_) {
		g_cancellable_cancel(cancellable_);
		g_object_unref(cancellable_);
	}
	g_object_unref(certificate_);
	g_object_unref(connection_);
}

int TlsHandshake::bytes_missing()
{
	int fd = g_socket_get_fd(g_socket_connection_get_socket(connection_));
	unsigned char header[kRecordHeader];
	ssize_t n = recv(fd, header, sizeof(header), MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1; /* closed before saying anything */
	if (n < kRecordHeader)
		return kRecordHeader;
	if (header[0] != kHandshakeRecord)
		return 0; /* not TLS: the handshake will say so at once */
	int needed = std::min(kRecordHeader + (header[3] << 8 | header[4]), kMaxRecord);
	int available = 0;
	if (ioctl(fd, FIONREAD, &available) != 0)
		return -1;
	return available >= needed ? 0 : needed;
}

gboolean TlsHandshake::on_readable(GSocket *socket, GIOCondition, gpointer data)
{
	auto *self = static_cast<TlsHandshake *>(data);
	int missing = self->bytes_missing();
	/* Woken while that many bytes were wanted, and still short of them:
	 * the client closed or failed, which also wakes a poll. */
	if (missing > 0 && missing == self->low_water_mark_)
		missing = -1;
	if (missing > 0) {
		set_low_water_mark(g_socket_get_fd(socket), missing);
		self->low_water_mark_ = missing;
		return G_SOURCE_CONTINUE;
	}
	set_low_water_mark(g_socket_get_fd(socket), 1);
	g_source_unref(std::exchange(self->watch_, nullptr));
	if (missing < 0)
		self->finish(nullptr);
	else
		self->start_handshake();
	return G_SOURCE_REMOVE;
}

void TlsHandshake::start_handshake()
{
	g_autoptr(GError) error = nullptr;
	g_autoptr(GIOStream) tls =
	    g_tls_server_connection_new(G_IO_STREAM(connection_), certificate_, &error);
	if (!tls) {
		g_warning("cannot start TLS: %s", error->message);
		finish(nullptr);
		return;
	}
	/* As libsoup's own server connections: no HTTP/2. */
	static const gchar *const kProtocols[] = {"http/1.1", "http/1.0", nullptr};
	g_tls_connection_set_advertised_protocols(G_TLS_CONNECTION(tls), kProtocols);
	g_tls_connection_set_require_close_notify(G_TLS_CONNECTION(tls), FALSE);
	cancellable_ = g_cancellable_new();
	pending_ = new Pending{this};
	/* The callback comes on the thread-default context of this call. */
	g_main_context_push_thread_default(context_);
	g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, cancellable_,
					 on_handshake, pending_);
	g_main_context_pop_thread_default(context_);
}

void TlsHandshake::on_handshake(GObject *tls, GAsyncResult *result, gpointer data)
{
	auto *pending = static_cast<Pending *>(data);
	TlsHandshake *self = std::exchange(pending->owner, nullptr);
	delete pending;
	g_autoptr(GError) error = nullptr;
	bool ok = g_tls_connection_handshake_finish(G_TLS_CONNECTION(tls), result, &error);
	if (!self)
		return;
	self->pending_ = nullptr;
	if (!ok)
		g_debug("TLS handshake failed: %s", error->message);
	self->finish(ok ? G_TLS_CONNECTION(tls) : nullptr);
}

void TlsHandshake::finish(GTlsConnection *tls)
{
	/* `done` may destroy this object. */
	Done done = std::exchange(done_, nullptr);
	if (done)
		done(tls);
}

} // namespace meshcall::server
