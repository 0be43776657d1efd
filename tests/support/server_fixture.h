// SPDX-License-Identifier: LGPL-2.1-or-later
/* End-to-end fixture for every suite that needs the real meshcall-server: spawns it on
 * 127.0.0.1:0, talks to it with libsoup WebSocket/HTTP clients and waits by
 * pumping the default GMainContext until a condition holds, never by sleeping. */
#pragma once

#include <csignal>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <gio/gio.h>
#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include "protocol/protocol.h"

namespace meshcall::test
{

namespace proto = meshcall::protocol;

/* Generous for a loaded 2-core machine under ASan; a healthy server answers in ms. */
inline constexpr double kTimeout = 5.0;

/* Iterates the default main context until `pred` holds or `timeout_s` passes. */
bool wait_until(const std::function<bool()> &pred, double timeout_s = kTimeout);

/* Pumps the main context for `seconds` (for rules that are about elapsed time,
 * such as a rate limiter refilling; never to wait for a reply). */
void pump_for(double seconds);

#define ASSERT_WAIT(pred, timeout_s)                                                               \
	ASSERT_TRUE(                                                                               \
	    ::meshcall::test::wait_until([&] { return static_cast<bool>(pred); }, (timeout_s)))    \
	    << "timed out after " << (timeout_s) << " s waiting for: " #pred

/* Path of the binary under test: $MESHCALL_SERVER, else the one meson built. */
std::string server_binary();

/* One meshcall-server child process. Only ever signals the process it spawned. */
class ServerProcess
{
public:
	ServerProcess() = default;
	ServerProcess(const ServerProcess &) = delete;
	ServerProcess &operator=(const ServerProcess &) = delete;
	~ServerProcess();

	/* Spawns `meshcall-server --listen 127.0.0.1:0 <args>` (with `env`, a
	 * list of NAME=VALUE, added to the environment) and reads the listening
	 * line. On failure returns false with *error set. */
	bool start(const std::vector<std::string> &args, std::string *error,
		   const std::vector<std::string> &env = {});
	/* SIGTERM, then waits for the exit (pumping the main context so clients
	 * see their close frames). Returns false when it did not exit in time
	 * (it is then killed). */
	bool stop(double timeout_s = kTimeout, int signal = SIGTERM);

	/* SIGSTOP / SIGCONT: a hung server, whose sockets stay open. */
	void suspend();
	void resume();

	bool running() const { return process_ && !exited_; }
	bool exited() const { return exited_; }
	/* Valid once exited(): true for a normal exit, with its status. */
	bool exited_normally() const { return exited_normally_; }
	int exit_status() const { return exit_status_; }

	const std::string &listening_line() const { return listening_line_; }
	int port() const { return port_; }
	bool tls() const { return tls_; }
	/* The server's process id (0 before start()), for /proc and prlimit(2). */
	int pid() const;
	/* "http://127.0.0.1:PORT" (https with TLS), no trailing slash. */
	std::string base_url() const;
	/* "ws://127.0.0.1:PORT/ws" (wss with TLS). */
	std::string ws_url() const;

private:
	GSubprocess *process_ = nullptr;
	GDataInputStream *stdout_ = nullptr;
	bool exited_ = false;
	bool exited_normally_ = false;
	int exit_status_ = -1;
	std::string listening_line_;
	int port_ = 0;
	bool tls_ = false;
};

/* The wire name of a decoded server message type, for failure messages. */
template <typename T> constexpr const char *type_name()
{
	if constexpr (std::is_same_v<T, proto::Welcome>)
		return "welcome";
	else if constexpr (std::is_same_v<T, proto::PeerJoined>)
		return "peer-joined";
	else if constexpr (std::is_same_v<T, proto::PeerLeft>)
		return "peer-left";
	else if constexpr (std::is_same_v<T, proto::PeerMedia>)
		return "peer-media";
	else if constexpr (std::is_same_v<T, proto::RelayedOffer>)
		return "offer";
	else if constexpr (std::is_same_v<T, proto::RelayedAnswer>)
		return "answer";
	else if constexpr (std::is_same_v<T, proto::RelayedCandidate>)
		return "candidate";
	else if constexpr (std::is_same_v<T, proto::RelayedReconnect>)
		return "reconnect";
	else if constexpr (std::is_same_v<T, proto::ChatLine>)
		return "chat";
	else if constexpr (std::is_same_v<T, proto::Pong>)
		return "pong";
	else
		return "error";
}

/* One server message as received: the frame text and its decoded form. */
struct Incoming {
	std::string text;
	proto::ServerMessage message;
};

struct ClientOptions {
	std::optional<std::string> origin;
	/* With wss://, the only certificate the client accepts. */
	GTlsCertificate *trusted_certificate = nullptr;
};

/* A libsoup WebSocket client with a queue of decoded incoming messages. */
class WsClient
{
public:
	/* Connects (waiting up to kTimeout). Returns nullptr on failure with
	 * *error and *http_status (0 when no HTTP answer) set. */
	static std::unique_ptr<WsClient> connect(const std::string &url,
						 const ClientOptions &options = {},
						 std::string *error = nullptr,
						 guint *http_status = nullptr);
	WsClient(const WsClient &) = delete;
	WsClient &operator=(const WsClient &) = delete;
	~WsClient();

	void send(std::string_view text);
	void send_binary(std::string_view bytes);
	/* Starts a normal close (1000) if open. */
	void close();

	bool closed() const { return closed_; }
	/* The close code the server sent (0 when none arrived). */
	int close_code() const { return close_code_; }
	std::deque<Incoming> &queue() { return queue_; }

	/* Waits for the next message and pops it; nullopt (no failure reported)
	 * when none arrives in time. */
	std::optional<Incoming> next(double timeout_s = kTimeout);

	/* Waits for the next message and checks it is a T; on mismatch or
	 * timeout adds a test failure naming what came instead. */
	template <typename T> std::optional<T> expect(double timeout_s = kTimeout)
	{
		std::optional<Incoming> in = next(timeout_s);
		if (!in) {
			ADD_FAILURE() << label_ << ": timed out waiting for " << type_name<T>()
				      << (closed_ ? " (connection closed, code " +
							std::to_string(close_code_) + ")"
						  : "");
			return std::nullopt;
		}
		if (const T *msg = std::get_if<T>(&in->message))
			return *msg;
		ADD_FAILURE() << label_ << ": expected " << type_name<T>() << ", got: " << in->text;
		return std::nullopt;
	}
	/* expect<Error>() and checks its code. */
	std::optional<proto::Error> expect_error(std::string_view code,
						 double timeout_s = kTimeout);
	/* Sends join and expects welcome. */
	std::optional<proto::Welcome> join(std::string_view room, std::string_view name,
					   std::optional<std::string_view> token = std::nullopt);
	/* Sends ping and expects pong as the next message. */
	bool ping_pong();
	/* Waits for the connection to close; true when it did with `code`. */
	bool expect_closed(int code, double timeout_s = kTimeout);

	void set_label(std::string label) { label_ = std::move(label); }
	const std::string &label() const { return label_; }

private:
	WsClient() = default;
	static void on_message(SoupWebsocketConnection *conn, gint type, GBytes *message,
			       gpointer self);
	static void on_closed(SoupWebsocketConnection *conn, gpointer self);

	SoupSession *session_ = nullptr;
	SoupWebsocketConnection *conn_ = nullptr;
	std::deque<Incoming> queue_;
	bool closed_ = false;
	int close_code_ = 0;
	std::string label_ = "client";
};

/* A ping of exactly `size` bytes: {"type":"ping","pad":"xxx…"}. */
std::string ping_of_size(std::size_t size);

/* Checks that the next message `client` sees is the chat line `text` from `from`
 * (the "marker" that proves nothing else was delivered before it). */
void expect_next_chat(WsClient *client, const std::string &text, const std::string &from);

struct HttpResponse {
	guint status = 0; /* 0: the request failed (see error) */
	std::string body;
	std::string content_type;
	std::string error;
};

/* One HTTP request, waiting by pumping the main context. */
HttpResponse http_request(const std::string &method, const std::string &url,
			  const std::map<std::string, std::string> &headers = {},
			  std::optional<std::string> body = std::nullopt);

/* Prometheus text: the sum of every sample whose metric name contains
 * `name_part` and whose name or label set contains `label_part` (so both
 * `x_total{type="offer"}` and `x_offer_total` match "offer"). */
double metric_sum(const std::string &text, std::string_view name_part,
		  std::string_view label_part = {});

/* A fresh self-signed certificate for 127.0.0.1 (openssl req) in a
 * temporary directory, removed with it. */
struct SelfSignedCert {
	std::string dir, cert, key; /* empty until make() succeeded */
	SelfSignedCert() = default;
	SelfSignedCert(const SelfSignedCert &) = delete;
	SelfSignedCert &operator=(const SelfSignedCert &) = delete;
	~SelfSignedCert();
	bool make(std::string *error);
};

/* Runs a command to completion (argv[0] looked up in PATH); true on exit 0. */
bool run_command(const std::vector<std::string> &argv, const char *cwd, std::string *out,
		 std::string *error);

/* GTest fixture: owns the server and every client a test makes, and in
 * TearDown closes the clients, SIGTERMs the server and checks it exited 0. */
class ServerTest : public ::testing::Test
{
protected:
	void TearDown() override;

	/* Call as ASSERT_NO_FATAL_FAILURE(start_server({...})). */
	void start_server(const std::vector<std::string> &args = {},
			  const std::vector<std::string> &env = {});
	/* A connected client owned by the fixture; nullptr (and a failure) when
	 * connecting fails. */
	WsClient *connect(const std::string &label = "client", const ClientOptions &options = {});
	/* connect() + join(); nullptr (and a failure) when either fails. */
	WsClient *joined(const std::string &room, const std::string &name,
			 proto::Welcome *welcome = nullptr,
			 std::optional<std::string> token = std::nullopt);
	std::string url(std::string_view path) const
	{
		return server_.base_url() + std::string(path);
	}
	HttpResponse get(std::string_view path,
			 const std::map<std::string, std::string> &headers = {})
	{
		return http_request("GET", url(path), headers);
	}

	ServerProcess server_;
	std::vector<std::unique_ptr<WsClient>> clients_;
	/* Set by tests that stop the server themselves. */
	bool server_stopped_by_test_ = false;
};

} // namespace meshcall::test
