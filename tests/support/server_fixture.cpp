// SPDX-License-Identifier: LGPL-2.1-or-later
#include "server_fixture.h"

#include <glib/gstdio.h>

#include <cstdlib>
#include <sstream>

namespace meshcall::test
{

namespace
{

/* Wakes the loop up regularly so a deadline is noticed even when nothing happens. */
gboolean keep_awake(gpointer)
{
	return G_SOURCE_CONTINUE;
}

std::string error_text(const GError *error)
{
	return error ? error->message : "unknown error";
}

} // namespace

bool wait_until(const std::function<bool()> &pred, double timeout_s)
{
	const gint64 deadline =
	    g_get_monotonic_time() + static_cast<gint64>(timeout_s * G_USEC_PER_SEC);
	guint timer = g_timeout_add(20, keep_awake, nullptr);
	bool ok = true;
	while (!pred()) {
		if (g_get_monotonic_time() >= deadline) {
			ok = pred();
			break;
		}
		g_main_context_iteration(nullptr, TRUE);
	}
	g_source_remove(timer);
	return ok;
}

void pump_for(double seconds)
{
	const gint64 end = g_get_monotonic_time() + static_cast<gint64>(seconds * G_USEC_PER_SEC);
	wait_until([&] { return g_get_monotonic_time() >= end; }, seconds + 1);
}

std::string server_binary()
{
	if (const char *env = g_getenv("MESHCALL_SERVER"))
		return env;
	return MESHCALL_SERVER_PATH;
}

/* ---- ServerProcess ---- */

namespace
{

struct LineRead {
	bool done = false;
	std::optional<std::string> line;
	std::string error;
};

void on_line(GObject *source, GAsyncResult *result, gpointer data)
{
	auto *read = static_cast<LineRead *>(data);
	g_autoptr(GError) error = nullptr;
	gsize length = 0;
	g_autofree char *line = g_data_input_stream_read_line_finish_utf8(
	    G_DATA_INPUT_STREAM(source), result, &length, &error);
	if (line)
		read->line = line;
	else
		read->error = error ? error->message : "end of stream before the listening line";
	read->done = true;
}

} // namespace

ServerProcess::~ServerProcess()
{
	if (process_ && !exited_) {
		g_subprocess_force_exit(process_);
		wait_until([this] { return exited_; });
	}
	g_clear_object(&stdout_);
	g_clear_object(&process_);
}

bool ServerProcess::start(const std::vector<std::string> &args, std::string *error,
			  const std::vector<std::string> &env)
{
	const std::string binary = server_binary();
	std::vector<const char *> argv{binary.c_str(), "--listen", "127.0.0.1:0"};
	for (const std::string &a : args)
		argv.push_back(a.c_str());
	argv.push_back(nullptr);

	g_autoptr(GError) err = nullptr;
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	for (const std::string &entry : env) {
		const std::size_t eq = entry.find('=');
		g_subprocess_launcher_setenv(launcher, entry.substr(0, eq).c_str(),
					     entry.substr(eq + 1).c_str(), TRUE);
	}
	process_ = g_subprocess_launcher_spawnv(launcher, argv.data(), &err);
	if (!process_) {
		*error = "cannot spawn " + binary + ": " + error_text(err);
		return false;
	}
	/* The process lives as long as this object, which outlives the wait
	 * (the destructor waits for the exit). */
	g_subprocess_wait_async(
	    process_, nullptr,
	    [](GObject *source, GAsyncResult *result, gpointer data) {
		    auto *self = static_cast<ServerProcess *>(data);
		    GSubprocess *p = G_SUBPROCESS(source);
		    g_subprocess_wait_finish(p, result, nullptr);
		    self->exited_ = true;
		    self->exited_normally_ = g_subprocess_get_if_exited(p);
		    self->exit_status_ = self->exited_normally_ ? g_subprocess_get_exit_status(p)
								: -g_subprocess_get_term_sig(p);
	    },
	    this);

	stdout_ = g_data_input_stream_new(g_subprocess_get_stdout_pipe(process_));
	LineRead read;
	g_autoptr(GCancellable) cancel = g_cancellable_new();
	g_data_input_stream_read_line_async(stdout_, G_PRIORITY_DEFAULT, cancel, on_line, &read);
	if (!wait_until([&] { return read.done; }, 10)) {
		g_cancellable_cancel(cancel);
		wait_until([&] { return read.done; });
		*error = "no listening line on stdout within 10 s";
		return false;
	}
	if (!read.line) {
		*error = "reading the listening line: " + read.error;
		return false;
	}
	listening_line_ = *read.line;

	/* Exactly "listening on http://127.0.0.1:PORT/" (https:// with TLS). */
	std::string_view line = listening_line_;
	std::string_view prefix;
	for (std::string_view p :
	     {"listening on http://127.0.0.1:", "listening on https://127.0.0.1:"}) {
		if (line.substr(0, p.size()) == p)
			prefix = p;
	}
	std::string_view rest = line.substr(prefix.size());
	if (prefix.empty() || rest.size() < 2 || rest.back() != '/' ||
	    rest.find_first_not_of("0123456789") != rest.size() - 1) {
		*error = "unexpected listening line: \"" + listening_line_ + "\"";
		return false;
	}
	tls_ = prefix.find("https") != std::string_view::npos;
	port_ = std::atoi(std::string(rest.substr(0, rest.size() - 1)).c_str());
	if (port_ <= 0 || port_ > 65535) {
		*error = "bad port in \"" + listening_line_ + "\"";
		return false;
	}
	return true;
}

void ServerProcess::suspend()
{
	if (running())
		g_subprocess_send_signal(process_, SIGSTOP);
}

void ServerProcess::resume()
{
	if (running())
		g_subprocess_send_signal(process_, SIGCONT);
}

bool ServerProcess::stop(double timeout_s, int signal)
{
	if (!process_ || exited_)
		return true;
	g_subprocess_send_signal(process_, signal);
	if (wait_until([this] { return exited_; }, timeout_s))
		return true;
	g_subprocess_force_exit(process_);
	wait_until([this] { return exited_; });
	return false;
}

int ServerProcess::pid() const
{
	const char *id = process_ ? g_subprocess_get_identifier(process_) : nullptr;
	return id ? std::atoi(id) : 0;
}

std::string ServerProcess::base_url() const
{
	return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string ServerProcess::ws_url() const
{
	return std::string(tls_ ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port_) + "/ws";
}

/* ---- WsClient ---- */

namespace
{

struct PendingConnect {
	bool done = false;
	SoupWebsocketConnection *conn = nullptr;
	std::string error;
};

gboolean accept_only(SoupMessage *, GTlsCertificate *peer, GTlsCertificateFlags, gpointer trusted)
{
	return g_tls_certificate_is_same(peer, G_TLS_CERTIFICATE(trusted));
}

} // namespace

std::unique_ptr<WsClient> WsClient::connect(const std::string &url, const ClientOptions &options,
					    std::string *error, guint *http_status)
{
	std::unique_ptr<WsClient> client(new WsClient);
	client->session_ = soup_session_new();
	g_autoptr(SoupMessage) msg = soup_message_new("GET", url.c_str());
	if (!msg) {
		if (error)
			*error = "invalid URL " + url;
		return nullptr;
	}
	if (options.trusted_certificate)
		g_signal_connect(msg, "accept-certificate", G_CALLBACK(accept_only),
				 options.trusted_certificate);

	PendingConnect pending;
	g_autoptr(GCancellable) cancel = g_cancellable_new();
	soup_session_websocket_connect_async(
	    client->session_, msg, options.origin ? options.origin->c_str() : nullptr, nullptr,
	    G_PRIORITY_DEFAULT, cancel,
	    [](GObject *source, GAsyncResult *result, gpointer data) {
		    auto *p = static_cast<PendingConnect *>(data);
		    g_autoptr(GError) err = nullptr;
		    p->conn =
			soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &err);
		    if (!p->conn)
			    p->error = error_text(err);
		    p->done = true;
	    },
	    &pending);
	if (!wait_until([&] { return pending.done; })) {
		g_cancellable_cancel(cancel);
		wait_until([&] { return pending.done; });
		pending.error = "timed out connecting to " + url;
	}
	if (http_status)
		*http_status = soup_message_get_status(msg);
	if (!pending.conn) {
		if (error)
			*error = pending.error;
		return nullptr;
	}
	client->conn_ = pending.conn;
	/* A welcome with a full history can be several hundred KB. */
	g_object_set(client->conn_, "max-incoming-payload-size", guint64{2 * 1024 * 1024}, nullptr);
	g_signal_connect(client->conn_, "message", G_CALLBACK(on_message), client.get());
	g_signal_connect(client->conn_, "closed", G_CALLBACK(on_closed), client.get());
	return client;
}

WsClient::~WsClient()
{
	if (conn_) {
		g_signal_handlers_disconnect_by_data(conn_, this);
		if (soup_websocket_connection_get_state(conn_) == SOUP_WEBSOCKET_STATE_OPEN)
			soup_websocket_connection_close(conn_, SOUP_WEBSOCKET_CLOSE_NORMAL,
							nullptr);
		g_object_unref(conn_);
	}
	g_clear_object(&session_);
}

void WsClient::on_message(SoupWebsocketConnection *, gint type, GBytes *message, gpointer data)
{
	auto *self = static_cast<WsClient *>(data);
	gsize size = 0;
	const char *bytes = static_cast<const char *>(g_bytes_get_data(message, &size));
	std::string text(bytes ? bytes : "", size);
	if (type != SOUP_WEBSOCKET_DATA_TEXT) {
		ADD_FAILURE() << self->label_ << ": server sent a binary frame of " << size
			      << " bytes";
		return;
	}
	std::string why;
	std::optional<proto::ServerMessage> msg = proto::parse_server_message(text, &why);
	if (!msg) {
		ADD_FAILURE() << self->label_ << ": undecodable server message (" << why
			      << "): " << text.substr(0, 500);
		return;
	}
	self->queue_.push_back(Incoming{std::move(text), std::move(*msg)});
}

void WsClient::on_closed(SoupWebsocketConnection *conn, gpointer data)
{
	auto *self = static_cast<WsClient *>(data);
	self->closed_ = true;
	self->close_code_ = soup_websocket_connection_get_close_code(conn);
}

void WsClient::send(std::string_view text)
{
	g_autoptr(GBytes) bytes = g_bytes_new(text.data(), text.size());
	soup_websocket_connection_send_message(conn_, SOUP_WEBSOCKET_DATA_TEXT, bytes);
}

void WsClient::send_binary(std::string_view data)
{
	soup_websocket_connection_send_binary(conn_, data.data(), data.size());
}

void WsClient::close()
{
	if (conn_ && soup_websocket_connection_get_state(conn_) == SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_close(conn_, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
}

std::optional<Incoming> WsClient::next(double timeout_s)
{
	if (!wait_until([this] { return !queue_.empty() || closed_; }, timeout_s) || queue_.empty())
		return std::nullopt;
	Incoming in = std::move(queue_.front());
	queue_.pop_front();
	return in;
}

std::optional<proto::Error> WsClient::expect_error(std::string_view code, double timeout_s)
{
	std::optional<proto::Error> err = expect<proto::Error>(timeout_s);
	if (err && err->code != code) {
		ADD_FAILURE() << label_ << ": expected error " << code << ", got " << err->code
			      << " (" << err->message << ")";
		return std::nullopt;
	}
	return err;
}

std::optional<proto::Welcome> WsClient::join(std::string_view room, std::string_view name,
					     std::optional<std::string_view> token)
{
	send(proto::join_json(room, name, token));
	return expect<proto::Welcome>();
}

bool WsClient::ping_pong()
{
	send(proto::ping_json());
	return expect<proto::Pong>().has_value();
}

bool WsClient::expect_closed(int code, double timeout_s)
{
	if (!wait_until([this] { return closed_; }, timeout_s)) {
		ADD_FAILURE() << label_ << ": still open after " << timeout_s
			      << " s, expected close code " << code;
		return false;
	}
	if (close_code_ != code) {
		ADD_FAILURE() << label_ << ": closed with code " << close_code_ << ", expected "
			      << code;
		return false;
	}
	return true;
}

std::string ping_of_size(std::size_t size)
{
	const std::string head = R"({"type":"ping","pad":")";
	const std::string tail = R"("})";
	return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

void expect_next_chat(WsClient *client, const std::string &text, const std::string &from)
{
	std::optional<proto::ChatLine> line = client->expect<proto::ChatLine>();
	ASSERT_TRUE(line) << client->label() << " should see the marker chat next";
	EXPECT_EQ(line->text, text) << client->label();
	EXPECT_EQ(line->from, from) << client->label();
}

/* ---- HTTP ---- */

HttpResponse http_request(const std::string &method, const std::string &url,
			  const std::map<std::string, std::string> &headers,
			  std::optional<std::string> body)
{
	HttpResponse response;
	g_autoptr(SoupSession) session = soup_session_new();
	g_autoptr(SoupMessage) msg = soup_message_new(method.c_str(), url.c_str());
	if (!msg) {
		response.error = "invalid URL " + url;
		return response;
	}
	for (const auto &[name, value] : headers)
		soup_message_headers_replace(soup_message_get_request_headers(msg), name.c_str(),
					     value.c_str());
	if (body) {
		g_autoptr(GBytes) bytes = g_bytes_new(body->data(), body->size());
		soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
	}

	struct Pending {
		bool done = false;
		GBytes *bytes = nullptr;
		std::string error;
	} pending;
	soup_session_send_and_read_async(
	    session, msg, G_PRIORITY_DEFAULT, nullptr,
	    [](GObject *source, GAsyncResult *result, gpointer data) {
		    auto *p = static_cast<Pending *>(data);
		    g_autoptr(GError) err = nullptr;
		    p->bytes =
			soup_session_send_and_read_finish(SOUP_SESSION(source), result, &err);
		    if (!p->bytes)
			    p->error = error_text(err);
		    p->done = true;
	    },
	    &pending);
	if (!wait_until([&] { return pending.done; })) {
		soup_session_abort(session);
		wait_until([&] { return pending.done; });
		response.error = "timed out: " + method + " " + url;
	}
	if (!pending.bytes) {
		if (response.error.empty())
			response.error = pending.error;
		return response;
	}
	gsize size = 0;
	const char *data = static_cast<const char *>(g_bytes_get_data(pending.bytes, &size));
	response.body.assign(data ? data : "", size);
	g_bytes_unref(pending.bytes);
	response.status = soup_message_get_status(msg);
	if (const char *ct = soup_message_headers_get_content_type(
		soup_message_get_response_headers(msg), nullptr))
		response.content_type = ct;
	return response;
}

double metric_sum(const std::string &text, std::string_view name_part, std::string_view label_part)
{
	double sum = 0;
	std::istringstream lines(text);
	std::string line;
	while (std::getline(lines, line)) {
		if (line.empty() || line[0] == '#')
			continue;
		const std::size_t brace = line.find('{');
		const std::size_t space = line.find(' ');
		std::string name, labels;
		std::size_t value_at;
		if (brace != std::string::npos && brace < space) {
			const std::size_t close = line.find('}', brace);
			if (close == std::string::npos)
				continue;
			name = line.substr(0, brace);
			labels = line.substr(brace + 1, close - brace - 1);
			value_at = close + 1;
		} else {
			name = line.substr(0, space);
			value_at = space;
		}
		const std::string series = name + "{" + labels + "}";
		if (name.find(name_part) == std::string::npos ||
		    series.find(label_part) == std::string::npos)
			continue;
		sum += g_ascii_strtod(line.c_str() + value_at, nullptr);
	}
	return sum;
}

SelfSignedCert::~SelfSignedCert()
{
	if (dir.empty())
		return;
	g_remove(cert.c_str());
	g_remove(key.c_str());
	g_rmdir(dir.c_str());
}

bool SelfSignedCert::make(std::string *error)
{
	g_autoptr(GError) err = nullptr;
	g_autofree char *tmp = g_dir_make_tmp("meshcall-cert-XXXXXX", &err);
	if (!tmp) {
		*error = err->message;
		return false;
	}
	if (!run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
			  "/CN=127.0.0.1", "-days", "1", "-keyout", "k.pem", "-out", "c.pem"},
			 tmp, nullptr, error)) {
		g_remove((std::string(tmp) + "/c.pem").c_str());
		g_remove((std::string(tmp) + "/k.pem").c_str());
		g_rmdir(tmp);
		return false;
	}
	dir = tmp;
	cert = dir + "/c.pem";
	key = dir + "/k.pem";
	return true;
}

bool run_command(const std::vector<std::string> &args, const char *cwd, std::string *out,
		 std::string *error)
{
	std::vector<const char *> argv;
	for (const std::string &a : args)
		argv.push_back(a.c_str());
	argv.push_back(nullptr);
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(static_cast<GSubprocessFlags>(
		G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE));
	if (cwd)
		g_subprocess_launcher_set_cwd(launcher, cwd);
	g_autoptr(GError) err = nullptr;
	g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv(launcher, argv.data(), &err);
	if (!proc) {
		*error = error_text(err);
		return false;
	}
	g_autofree char *stdout_text = nullptr;
	g_autofree char *stderr_text = nullptr;
	if (!g_subprocess_communicate_utf8(proc, nullptr, nullptr, &stdout_text, &stderr_text,
					   &err)) {
		*error = error_text(err);
		return false;
	}
	if (out)
		*out = stdout_text ? stdout_text : "";
	if (!g_subprocess_get_successful(proc)) {
		*error = args[0] + " failed: " + (stderr_text ? stderr_text : "");
		return false;
	}
	return true;
}

/* ---- ServerTest ---- */

void ServerTest::start_server(const std::vector<std::string> &args,
			      const std::vector<std::string> &env)
{
	std::string error;
	ASSERT_TRUE(server_.start(args, &error, env)) << error;
}

WsClient *ServerTest::connect(const std::string &label, const ClientOptions &options)
{
	std::string error;
	std::unique_ptr<WsClient> client = WsClient::connect(server_.ws_url(), options, &error);
	if (!client) {
		ADD_FAILURE() << label << ": cannot connect to " << server_.ws_url() << ": "
			      << error;
		return nullptr;
	}
	client->set_label(label);
	clients_.push_back(std::move(client));
	return clients_.back().get();
}

WsClient *ServerTest::joined(const std::string &room, const std::string &name,
			     proto::Welcome *welcome, std::optional<std::string> token)
{
	WsClient *client = connect(name);
	if (!client)
		return nullptr;
	std::optional<proto::Welcome> w = client->join(room, name, token);
	if (!w)
		return nullptr;
	if (welcome)
		*welcome = std::move(*w);
	return client;
}

void ServerTest::TearDown()
{
	for (auto &client : clients_)
		client->close();
	clients_.clear();
	if (server_.running()) {
		EXPECT_TRUE(server_.stop()) << "server still running 5 s after SIGTERM";
	}
	if (server_.exited()) {
		EXPECT_TRUE(server_.exited_normally() && server_.exit_status() == 0)
		    << "server exit: normally=" << server_.exited_normally()
		    << " status/-signal=" << server_.exit_status();
	}
}

} // namespace meshcall::test
