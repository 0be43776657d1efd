// SPDX-License-Identifier: LGPL-2.1-or-later
/* The server side of a TLS handshake, started only once the client's whole
 * first TLS record (its ClientHello) has arrived.
 *
 * glib-networking runs each handshake in a thread of GLib's shared pool, which
 * grows by a thread at a time when its threads are busy; a socket that never
 * sends its ClientHello held one for good, and 400 of them kept a real client
 * waiting for over a minute (issue 14). Waiting for the ClientHello here is
 * only a poll on the socket, with SO_RCVLOWAT set to the record's length so
 * that a client trickling bytes wakes nobody until it is all there. The
 * caller's handshake timeout bounds the rest. */
#pragma once

#include <functional>

#include <gio/gio.h>

namespace meshcall::server
{

class TlsHandshake
{
public:
	/* The TLS connection on success, nullptr on failure; never after the
	 * TlsHandshake is destroyed. */
	using Done = std::function<void(GTlsConnection *tls)>;

	/* Starts at once, on `context` (whose thread calls `done`). */
	TlsHandshake(GSocketConnection *connection, GTlsCertificate *certificate,
		     GMainContext *context, Done done);
	/* Cancels whatever is still running. */
	~TlsHandshake();
	TlsHandshake(const TlsHandshake &) = delete;
	TlsHandshake &operator=(const TlsHandshake &) = delete;

private:
	struct Pending;
	static gboolean on_readable(GSocket *, GIOCondition, gpointer self);
	static void on_handshake(GObject *tls, GAsyncResult *result, gpointer pending);
	/* 0: the first record is all there; > 0: bytes to wait for; < 0: give up. */
	int bytes_missing();
	void start_handshake();
	void finish(GTlsConnection *tls);

	GSocketConnection *connection_; /* owned */
	GTlsCertificate *certificate_;	/* owned */
	GMainContext *context_;
	Done done_;
	GSource *watch_ = nullptr;
	int low_water_mark_ = 1; /* SO_RCVLOWAT while waiting */
	GCancellable *cancellable_ = nullptr;
	Pending *pending_ = nullptr; /* the running handshake's link back to us */
};

} // namespace meshcall::server
