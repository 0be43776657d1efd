// SPDX-License-Identifier: LGPL-2.1-or-later
#include "server/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server:transport"

namespace meshcall::server
{

namespace
{

/* Accepts per wake-up: a connection burst must not starve the connections
 * this thread already serves. */
constexpr int kAcceptBatch = 64;

/* accept(2)'s errors that concern one connection only: go on with the next. */
bool error_of_one_connection(int error)
{
	switch (error) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
		return true;
	default:
		return false;
	}
}

} // namespace

Listener::Listener(GSocket *socket, GMainContext *context, Accepted accepted)
    : socket_(G_SOCKET(g_object_ref(socket))), context_(context), accepted_(std::move(accepted))
{
	g_socket_set_blocking(socket_, FALSE);
}

Listener::~Listener()
{
	unwatch();
	if (retry_) {
		g_source_destroy(retry_);
		g_source_unref(retry_);
	}
	g_object_unref(socket_);
}

void Listener::start()
{
	watch();
}

void Listener::stop()
{
	stopped_ = true;
	unwatch();
	if (retry_) {
		g_source_destroy(retry_);
		g_source_unref(std::exchange(retry_, nullptr));
	}
	g_socket_close(socket_, nullptr);
}

void Listener::watch()
{
	watch_ = g_socket_create_source(socket_, G_IO_IN, nullptr);
	g_source_set_callback(watch_, G_SOURCE_FUNC(on_ready), this, nullptr);
	g_source_attach(watch_, context_);
}

void Listener::unwatch()
{
	if (!watch_)
		return;
	g_source_destroy(watch_);
	g_source_unref(std::exchange(watch_, nullptr));
}

gboolean Listener::on_ready(GSocket *, GIOCondition, gpointer self)
{
	static_cast<Listener *>(self)->accept_some();
	return G_SOURCE_CONTINUE;
}

void Listener::accept_some()
{
	const int listen_fd = g_socket_get_fd(socket_);
	for (int i = 0; i < kAcceptBatch && !stopped_; i++) {
		int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			int error = errno;
			if (error == EAGAIN || error == EWOULDBLOCK)
				break;
			if (error_of_one_connection(error))
				continue;
			pause(error);
			return;
		}
		if (paused_since_us_) {
			g_message("accepting again after %" G_GINT64_FORMAT " ms",
				  (g_get_monotonic_time() - paused_since_us_) / 1000);
			paused_since_us_ = 0;
		}
		g_autoptr(GError) error = nullptr;
		g_autoptr(GSocket) socket = g_socket_new_from_fd(fd, &error);
		if (!socket) {
			g_warning("accepted socket unusable: %s", error->message);
			close(fd);
			continue;
		}
		accepted_(socket);
	}
}

/* Out of descriptors (EMFILE, ENFILE) or of kernel memory (ENOBUFS, ENOMEM),
 * or anything unexpected: never stop for good, look again shortly. */
void Listener::pause(int error)
{
	unwatch();
	if (!paused_since_us_) {
		paused_since_us_ = g_get_monotonic_time();
		g_warning("cannot accept connections (%s): trying again every %u ms",
			  g_strerror(error), kRetryMs);
	}
	retry_ = g_timeout_source_new(kRetryMs);
	g_source_set_callback(retry_, on_retry, this, nullptr);
	g_source_attach(retry_, context_);
}

gboolean Listener::on_retry(gpointer data)
{
	auto *self = static_cast<Listener *>(data);
	g_source_unref(std::exchange(self->retry_, nullptr));
	if (!self->stopped_) {
		self->watch();
		self->accept_some();
	}
	return G_SOURCE_REMOVE;
}

} // namespace meshcall::server
