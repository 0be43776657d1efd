// SPDX-License-Identifier: LGPL-2.1-or-later
/* Two small GObject types: an output stream that counts and a GIOStream that
 * pairs it with the connection's own input stream (see counting_stream.h). */
#include "server/counting_stream.h"

#include <utility>

namespace meshcall::server
{
namespace
{

/* ---- the counting output stream ---- */

struct CountingOutput {
	GOutputStream parent;
	GOutputStream *base;	  /* owned */
	StreamObserver *observer; /* not owned; nullptr once detached */
};
struct CountingOutputClass {
	GOutputStreamClass parent_class;
};

GType counting_output_get_type();
#define COUNTING_OUTPUT(obj)                                                                       \
	(G_TYPE_CHECK_INSTANCE_CAST((obj), counting_output_get_type(), CountingOutput))

void counting_output_pollable_init(GPollableOutputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE(CountingOutput, counting_output, G_TYPE_OUTPUT_STREAM,
			G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_OUTPUT_STREAM,
					      counting_output_pollable_init))

void counted(CountingOutput *self, gssize n, GError *const *error)
{
	if (!self->observer)
		return;
	if (n > 0)
		self->observer->stream_written(static_cast<gsize>(n));
	else if (n < 0 && error && *error &&
		 g_error_matches(*error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		self->observer->stream_blocked();
}

gssize counting_output_write(GOutputStream *stream, const void *buffer, gsize count,
			     GCancellable *cancellable, GError **error)
{
	auto *self = COUNTING_OUTPUT(stream);
	gssize n = g_output_stream_write(self->base, buffer, count, cancellable, error);
	counted(self, n, error);
	return n;
}

gboolean counting_output_flush(GOutputStream *stream, GCancellable *cancellable, GError **error)
{
	return g_output_stream_flush(COUNTING_OUTPUT(stream)->base, cancellable, error);
}

/* The GIOStream closes the socket; this half has nothing of its own. */
gboolean counting_output_close(GOutputStream *, GCancellable *, GError **)
{
	return TRUE;
}

void counting_output_finalize(GObject *object)
{
	g_clear_object(&COUNTING_OUTPUT(object)->base);
	G_OBJECT_CLASS(counting_output_parent_class)->finalize(object);
}

void counting_output_class_init(CountingOutputClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = counting_output_finalize;
	GOutputStreamClass *out = G_OUTPUT_STREAM_CLASS(klass);
	out->write_fn = counting_output_write;
	out->flush = counting_output_flush;
	out->close_fn = counting_output_close;
}

void counting_output_init(CountingOutput *)
{
}

gboolean counting_output_can_poll(GPollableOutputStream *stream)
{
	GOutputStream *base = COUNTING_OUTPUT(stream)->base;
	return G_IS_POLLABLE_OUTPUT_STREAM(base) &&
	       g_pollable_output_stream_can_poll(G_POLLABLE_OUTPUT_STREAM(base));
}

gboolean counting_output_is_writable(GPollableOutputStream *stream)
{
	return g_pollable_output_stream_is_writable(
	    G_POLLABLE_OUTPUT_STREAM(COUNTING_OUTPUT(stream)->base));
}

GSource *counting_output_create_source(GPollableOutputStream *stream, GCancellable *cancellable)
{
	/* The source must name this stream, not the base, to its callback. */
	GSource *base_source = g_pollable_output_stream_create_source(
	    G_POLLABLE_OUTPUT_STREAM(COUNTING_OUTPUT(stream)->base), nullptr);
	GSource *source = g_pollable_source_new_full(stream, base_source, cancellable);
	g_source_unref(base_source);
	return source;
}

gssize counting_output_write_nonblocking(GPollableOutputStream *stream, const void *buffer,
					 gsize count, GError **error)
{
	auto *self = COUNTING_OUTPUT(stream);
	gssize n = g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(self->base),
							      buffer, count, nullptr, error);
	counted(self, n, error);
	return n;
}

void counting_output_pollable_init(GPollableOutputStreamInterface *iface)
{
	iface->can_poll = counting_output_can_poll;
	iface->is_writable = counting_output_is_writable;
	iface->create_source = counting_output_create_source;
	iface->write_nonblocking = counting_output_write_nonblocking;
}

/* ---- the GIOStream ---- */

struct CountingStream {
	GIOStream parent;
	GIOStream *io;		      /* owned */
	GIOStream *socket_connection; /* owned */
	CountingOutput *output;	      /* owned */
	StreamObserver *observer;     /* not owned; nullptr once detached */
	gboolean socket_closed;
};
struct CountingStreamClass {
	GIOStreamClass parent_class;
};

GType counting_stream_get_type();
#define COUNTING_STREAM(obj)                                                                       \
	(G_TYPE_CHECK_INSTANCE_CAST((obj), counting_stream_get_type(), CountingStream))

G_DEFINE_TYPE(CountingStream, counting_stream, G_TYPE_IO_STREAM)

GInputStream *counting_stream_get_input(GIOStream *stream)
{
	return g_io_stream_get_input_stream(COUNTING_STREAM(stream)->io);
}

GOutputStream *counting_stream_get_output(GIOStream *stream)
{
	return G_OUTPUT_STREAM(COUNTING_STREAM(stream)->output);
}

void close_socket(CountingStream *self)
{
	if (self->socket_closed)
		return;
	self->socket_closed = TRUE;
	/* A GSocketConnection closes without blocking. */
	g_io_stream_close(self->socket_connection, nullptr, nullptr);
	if (StreamObserver *observer = std::exchange(self->observer, nullptr)) {
		self->output->observer = nullptr;
		observer->stream_closed();
	}
}

gboolean counting_stream_close(GIOStream *stream, GCancellable *, GError **)
{
	close_socket(COUNTING_STREAM(stream));
	return TRUE;
}

/* GIOStream's default would run the close in a thread of GLib's pool; closing
 * a socket never blocks, so it is done here, as GSocketConnection does. */
void counting_stream_close_async(GIOStream *stream, int, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(stream, cancellable, callback, user_data);
	close_socket(COUNTING_STREAM(stream));
	g_task_return_boolean(task, TRUE);
	g_object_unref(task);
}

gboolean counting_stream_close_finish(GIOStream *, GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

void counting_stream_finalize(GObject *object)
{
	auto *self = COUNTING_STREAM(object);
	close_socket(self); /* GIOStream's dispose closed it, unless detached first */
	g_clear_object(&self->output);
	g_clear_object(&self->io);
	g_clear_object(&self->socket_connection);
	G_OBJECT_CLASS(counting_stream_parent_class)->finalize(object);
}

void counting_stream_class_init(CountingStreamClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = counting_stream_finalize;
	GIOStreamClass *io = G_IO_STREAM_CLASS(klass);
	io->get_input_stream = counting_stream_get_input;
	io->get_output_stream = counting_stream_get_output;
	io->close_fn = counting_stream_close;
	io->close_async = counting_stream_close_async;
	io->close_finish = counting_stream_close_finish;
}

void counting_stream_init(CountingStream *)
{
}

} // namespace

GIOStream *counting_stream_new(GIOStream *io, GIOStream *socket_connection,
			       StreamObserver *observer)
{
	auto *output =
	    static_cast<CountingOutput *>(g_object_new(counting_output_get_type(), nullptr));
	output->base = G_OUTPUT_STREAM(g_object_ref(g_io_stream_get_output_stream(io)));
	output->observer = observer;
	auto *self =
	    static_cast<CountingStream *>(g_object_new(counting_stream_get_type(), nullptr));
	self->io = G_IO_STREAM(g_object_ref(io));
	self->socket_connection = G_IO_STREAM(g_object_ref(socket_connection));
	self->output = output;
	self->observer = observer;
	return G_IO_STREAM(self);
}

void counting_stream_set_observer(GIOStream *stream, StreamObserver *observer)
{
	auto *self = COUNTING_STREAM(stream);
	if (self->socket_closed)
		return;
	self->observer = observer;
	self->output->observer = observer;
}

gssize counting_stream_write_raw(GIOStream *stream, const void *data, gsize size)
{
	GOutputStream *out = g_io_stream_get_output_stream(COUNTING_STREAM(stream)->io);
	return g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(out), data, size,
							  nullptr, nullptr);
}

} // namespace meshcall::server
