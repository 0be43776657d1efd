// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcallbin's signaling client: one libsoup 3 WebSocket to
 * meshcall-server speaking docs/protocol.md through src/protocol.
 *
 * Threading: every libsoup object lives on the GMainContext given at
 * construction (the default one in meshcallbin, which gst-launch and every
 * GTK application iterate). The send_* methods and close() may be called from
 * any thread (webrtcbin calls back on its own threads); they hop to that
 * context. Callbacks always run on that context, and never after close()
 * returned. */
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <glib.h>

#include "protocol/protocol.h"

namespace meshcall
{

class SignalingClient
{
public:
	/* Why the connection ended, for ClosedCallback. */
	enum class CloseReason {
		Unreachable, /* never connected (refused, DNS, TLS, HTTP error) */
		Lost,	     /* was open, closed by the server or the network */
		Left,	     /* our own leave()/close() */
	};

	struct Callbacks {
		std::function<void(const protocol::Welcome &)> welcome;
		std::function<void(const protocol::PeerJoined &)> peer_joined;
		std::function<void(const protocol::PeerLeft &)> peer_left;
		std::function<void(const protocol::PeerMedia &)> peer_media;
		std::function<void(const protocol::RelayedOffer &)> offer;
		std::function<void(const protocol::RelayedAnswer &)> answer;
		std::function<void(const protocol::RelayedCandidate &)> candidate;
		/* (1.1) the peer asks us to offer it a new connection. */
		std::function<void(const protocol::RelayedReconnect &)> reconnect;
		std::function<void(const protocol::ChatLine &)> chat;
		/* An `error` message from the server (room-full, unauthorized, …). */
		std::function<void(const protocol::Error &)> error;
		/* The WebSocket is gone; `detail` is human readable (close code,
		 * GError message). Called at most once per connect(). */
		std::function<void(CloseReason, int close_code, const std::string &detail)> closed;
	};

	struct JoinRequest {
		std::string room;
		std::string name;
		std::optional<std::string> token;
		/* (1.1) welcome.resume of an earlier connection: the same id
		 * back if the server still takes it. */
		std::optional<std::string> resume;
	};

	SignalingClient(GMainContext *context, Callbacks callbacks);
	~SignalingClient(); /* implies close() */
	SignalingClient(const SignalingClient &) = delete;
	SignalingClient &operator=(const SignalingClient &) = delete;

	/* `server` is a ws:// or wss:// URL; http(s):// is accepted and mapped to
	 * ws(s)://, and a URL without a path gets "/ws". Returns false (with
	 * *error) only when the URL cannot be parsed; connection failures are
	 * reported through Callbacks::closed(Unreachable). Sends `join` as soon as
	 * the socket is open, then keeps it alive with protocol `ping`s. */
	bool connect(const std::string &server, JoinRequest join, std::string *error);

	/* Thread-safe; dropped silently when not connected. */
	void send_offer(const std::string &to, std::string sdp);
	void send_answer(const std::string &to, std::string sdp);
	void send_candidate(const std::string &to, unsigned mline_index, std::string candidate);
	void send_reconnect(const std::string &to);
	void send_chat(std::string text);
	void send_media(bool audio, bool video);

	/* Sends `leave` when joined, closes the socket (1000) and stops all
	 * callbacks. Thread-safe and idempotent; returns at once. */
	void close();

	/* A server from which nothing (no message, no pong) has arrived for
	 * this long is taken for lost: the socket is dropped and
	 * Callbacks::closed(Lost) follows, as when the connection breaks. A
	 * hung server or a dead path often leaves TCP open for minutes. Set
	 * before connect(); default 20 s. */
	void set_silence_limit(std::chrono::milliseconds limit);

private:
	struct Impl;
	std::shared_ptr<Impl> impl_;
};

/* Maps a user's server string to the WebSocket URL used (see connect()). */
std::optional<std::string> websocket_url_for(const std::string &server);

} // namespace meshcall
