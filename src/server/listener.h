// SPDX-License-Identifier: LGPL-2.1-or-later
/* A listening socket the transport watches itself, instead of libsoup's
 * listener: libsoup 3.2.3 stops accepting for good the first time accept()
 * fails with EMFILE (docs/design.md, fact 14). This one pauses instead and
 * tries again every kRetryMs, so the server accepts again as soon as
 * descriptors free up; meanwhile new connections wait in the kernel's
 * backlog. */
#pragma once

#include <cstdint>
#include <functional>

#include <gio/gio.h>

namespace meshcall::server
{

class Listener
{
public:
	static constexpr unsigned kRetryMs = 100;

	/* Called with each accepted (non-blocking) socket, on `context`. */
	using Accepted = std::function<void(GSocket *socket)>;

	/* `socket`: bound and listening. Nothing happens before start(). */
	Listener(GSocket *socket, GMainContext *context, Accepted accepted);
	~Listener();
	Listener(const Listener &) = delete;
	Listener &operator=(const Listener &) = delete;

	void start();
	/* Stops accepting and closes the socket; on the context's thread. */
	void stop();

private:
	static gboolean on_ready(GSocket *, GIOCondition, gpointer self);
	static gboolean on_retry(gpointer self);
	void accept_some();
	void pause(int error);
	void watch();
	void unwatch();

	GSocket *socket_; /* owned */
	GMainContext *context_;
	Accepted accepted_;
	GSource *watch_ = nullptr;
	GSource *retry_ = nullptr;
	std::int64_t paused_since_us_ = 0; /* 0: accepting */
	bool stopped_ = false;
};

} // namespace meshcall::server
