// SPDX-License-Identifier: LGPL-2.1-or-later
/* The stream the transport hands to libsoup for each accepted connection: it
 * passes everything through to the socket (or to TLS over it) and tells an
 * observer what was written. libsoup 3.2 queues WebSocket frames without
 * bound and says nothing about how much is queued; counting what leaves is
 * how the transport knows, and so bounds a peer that does not read
 * (docs/protocol.md, "Liveness and limits").
 *
 * Closing it closes the socket at once, even under TLS: no close_notify, which
 * could block on a peer that does not read (libsoup sets require-close-notify
 * off on its side too). Every call comes on the thread of the context the
 * connection lives in. */
#pragma once

#include <gio/gio.h>

namespace meshcall::server
{

class StreamObserver
{
public:
	/* Bytes the socket (or TLS) took. */
	virtual void stream_written(gsize bytes) = 0;
	/* A write found the socket full. */
	virtual void stream_blocked() = 0;
	/* The socket is closed (once). */
	virtual void stream_closed() = 0;

protected:
	~StreamObserver() = default;
};

/* `io`: what is read and written (the socket connection, or TLS over it);
 * `socket_connection`: the GSocketConnection underneath, closed on close. */
GIOStream *counting_stream_new(GIOStream *io, GIOStream *socket_connection,
			       StreamObserver *observer);
/* nullptr: no more calls. */
void counting_stream_set_observer(GIOStream *stream, StreamObserver *observer);
/* Writes what fits, without blocking, straight to `io`: for an answer the
 * transport writes itself while libsoup reads. */
gssize counting_stream_write_raw(GIOStream *stream, const void *data, gsize size);

} // namespace meshcall::server
