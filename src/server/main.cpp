// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall-server: the signaling server of docs/protocol.md, with the browser client
 * compiled in.
 *
 *   meshcall-server [--listen ADDR:PORT] [--capacity N] ...
 *   meshcall-server token --room R --ttl SECONDS [--name N] [--token-secret-file F]
 */
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <glib-unix.h>
#include <glib.h>

#include "protocol/protocol.h"
#include "server/auth.h"
#include "server/log.h"
#include "server/secrets.h"
#include "server/state_dir.h"
#include "server/transport.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server:main"

using namespace meshcall;

namespace
{

constexpr int kExitUsage = 2;

std::vector<std::string> strv_to_vector(gchar **strv)
{
	std::vector<std::string> out;
	for (gchar **s = strv; s && *s; s++)
		out.emplace_back(*s);
	return out;
}

/* The server's areas log as "meshcall-server:<area>" (server/log.h). */
constexpr const char *kServerDomain = "meshcall-server";

/* One line per record of the server's areas on stderr,
 * "12:34:56.789 meshcall-server:registry: text"; other libraries' records go
 * to GLib's default writer. */
GLogWriterOutput write_log(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer)
{
	const char *message = nullptr;
	const char *domain = nullptr;
	for (gsize i = 0; i < n_fields; i++) {
		if (!std::strcmp(fields[i].key, "MESSAGE"))
			message = static_cast<const char *>(fields[i].value);
		else if (!std::strcmp(fields[i].key, "GLIB_DOMAIN"))
			domain = static_cast<const char *>(fields[i].value);
	}
	if (domain && !g_str_has_prefix(domain, kServerDomain))
		return g_log_writer_default(level, fields, n_fields, nullptr);
	if (!server::log_enabled(level, domain))
		return G_LOG_WRITER_HANDLED;
	domain = domain ? domain : kServerDomain;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm local;
	localtime_r(&ts.tv_sec, &local);
	const char *tag = (level & G_LOG_LEVEL_ERROR)	   ? "ERROR "
			  : (level & G_LOG_LEVEL_CRITICAL) ? "CRITICAL "
			  : (level & G_LOG_LEVEL_WARNING)  ? "WARNING "
			  : (level & G_LOG_LEVEL_DEBUG)	   ? "debug "
							   : "";
	/* A line is at most kMaxLogLineBytes, newline included, and holds no
	 * control character whatever the message quotes (server/log.h). */
	char prefix[128];
	int n = std::snprintf(prefix, sizeof(prefix), "%02d:%02d:%02d.%03ld %s: %s", local.tm_hour,
			      local.tm_min, local.tm_sec, ts.tv_nsec / 1000000, domain, tag);
	std::size_t used = n > 0 ? std::min<std::size_t>(static_cast<std::size_t>(n), 96) : 0;
	std::string text =
	    server::log_line_text(message ? message : "", server::kMaxLogLineBytes - used - 1);
	std::fprintf(stderr, "%.*s%s\n", static_cast<int>(used), prefix, text.c_str());
	return G_LOG_WRITER_HANDLED;
}

/* A server holding thousands of WebSockets needs more than the default 1024
 * descriptors; take what the hard limit allows, for this process only. */
void raise_fd_limit()
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
}

/* Secrets come from the command line, a file, a systemd credential or the
 * environment, in that order (server/secrets.h). */
server::SecretSources token_secret_sources(const char *value, const char *file)
{
	return {"--token-secret", value, file, "meshcall-token-secret", "MESHCALL_TOKEN_SECRET"};
}

server::SecretSources turn_secret_sources(const char *value, const char *file)
{
	return {"--turn-secret", value, file, "meshcall-turn-secret", "MESHCALL_TURN_SECRET"};
}

int run_token_command(int argc, char **argv)
{
	g_autofree gchar *room = nullptr;
	g_autofree gchar *name = nullptr;
	g_autofree gchar *secret = nullptr;
	g_autofree gchar *secret_file = nullptr;
	gint64 ttl = 3600;
	GOptionEntry entries[] = {
	    {"room", 0, 0, G_OPTION_ARG_STRING, &room, "Room the token admits to (or * for any)",
	     "ROOM"},
	    {"ttl", 0, 0, G_OPTION_ARG_INT64, &ttl, "Lifetime in seconds (default 3600)",
	     "SECONDS"},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &name, "Display name claim", "NAME"},
	    {"token-secret", 0, 0, G_OPTION_ARG_STRING, &secret,
	     "HS256 secret (visible in ps: prefer the file or $MESHCALL_TOKEN_SECRET)", "SECRET"},
	    {"token-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &secret_file,
	     "Read the HS256 secret from FILE (trailing newlines stripped)", "FILE"},
	    {},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- print a join token");
	g_option_context_add_main_entries(ctx, entries, nullptr);
	g_autoptr(GError) error = nullptr;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		std::fprintf(stderr, "meshcall-server token: %s\n", error->message);
		return kExitUsage;
	}
	server::ChosenSecret chosen;
	std::string why;
	if (!server::choose_secret(token_secret_sources(secret, secret_file), &chosen, &why)) {
		std::fprintf(stderr, "meshcall-server token: %s\n", why.c_str());
		return kExitUsage;
	}
	if (!room || chosen.value.empty() || ttl <= 0) {
		std::fprintf(stderr, "meshcall-server token: --room, a positive --ttl and a secret "
				     "(--token-secret-file, --token-secret or "
				     "$MESHCALL_TOKEN_SECRET) are needed\n");
		return kExitUsage;
	}
	if (std::strcmp(room, "*") != 0 && !protocol::is_valid_room(room)) {
		std::fprintf(stderr, "meshcall-server token: invalid room name \"%s\"\n",
			     server::log_text(room).c_str());
		return kExitUsage;
	}
	server::TokenClaims claims;
	claims.room = room;
	claims.exp = server::saturating_add(g_get_real_time() / G_USEC_PER_SEC, ttl);
	if (name)
		claims.name = std::string(name);
	std::printf("%s\n", server::create_token(chosen.value, claims).c_str());
	return 0;
}

/* TLS 1.2 and later only (issue 14 found 1.0 and 1.1 accepted). The GnuTLS
 * backend of glib-networking (2.74 in Debian 12) builds its priority once,
 * when the first TLS connection is made: from $G_TLS_GNUTLS_PRIORITY when
 * set, which then replaces its default ("%COMPAT" appended to GnuTLS's own)
 * as a whole. So this runs before any TLS object exists, and a priority the
 * user set is theirs to keep. */
constexpr const char *kTlsPriority = "NORMAL:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1";

void restrict_tls_versions()
{
	g_setenv("G_TLS_GNUTLS_PRIORITY", kTlsPriority, FALSE);
}

struct RunOptions {
	gchar *listen = nullptr;
	gint capacity = 3;
	gchar *tls_cert = nullptr;
	gchar *tls_key = nullptr;
	gchar *token_secret = nullptr;
	gchar *token_secret_file = nullptr;
	gchar **allowed_origins = nullptr;
	gchar **stun = nullptr;
	gchar *turn = nullptr;
	gchar *turn_secret = nullptr;
	gchar *turn_secret_file = nullptr;
	gint64 turn_ttl = 24 * 3600;
	gdouble rate_limit = 100;
	gdouble rate_burst = 200;
	gdouble chat_rate = 5;
	gdouble chat_burst = 10;
	gdouble liveness_timeout = 45;
	gint threads = 0;
	gchar *state_dir = nullptr;

	~RunOptions()
	{
		g_free(state_dir);
		g_free(listen);
		g_free(tls_cert);
		g_free(tls_key);
		g_free(token_secret);
		g_free(token_secret_file);
		g_strfreev(allowed_origins);
		g_strfreev(stun);
		g_free(turn);
		g_free(turn_secret);
		g_free(turn_secret_file);
	}
};

constexpr const char *kHelpDescription =
    "Secrets: --token-secret and --turn-secret show in ps to every user of the machine.\n"
    "Each secret is taken from the first of: the option or its -file variant (not both;\n"
    "a file has trailing newlines stripped, and an unreadable or empty one is an error),\n"
    "the systemd credential meshcall-token-secret / meshcall-turn-secret\n"
    "($CREDENTIALS_DIRECTORY, LoadCredential=), then $MESHCALL_TOKEN_SECRET /\n"
    "$MESHCALL_TURN_SECRET (empty counts as unset).\n"
    "\n"
    "TLS: versions 1.2 and later only, and every HTTP response carries\n"
    "Strict-Transport-Security: max-age=31536000. A GnuTLS priority string in\n"
    "$G_TLS_GNUTLS_PRIORITY replaces the server's\n"
    "(NORMAL:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1).\n"
    "\n"
    "State: the resume secret, which signs welcome.resume so that clients get their\n"
    "ids back after a restart, is kept in DIR/resume-secret (mode 0600, made when\n"
    "missing). DIR is --state-dir, else $STATE_DIRECTORY (systemd's StateDirectory=),\n"
    "else $XDG_STATE_HOME/meshcall, else ~/.local/state/meshcall. When it cannot be\n"
    "kept there the server says why and runs with one in memory.\n"
    "\n"
    "Logs: stderr, one line per event, at most 1 KB; text a client chose is escaped\n"
    "(\\xNN) and cut; refusals are logged at most a few per second per client address.\n"
    "\n"
    "Subcommand:\n"
    "  meshcall-server token --room R --ttl S [--name N] [--token-secret-file F]\n"
    "      prints a join token (secret as above)\n";

int run_server(int argc, char **argv)
{
	RunOptions o;
	GOptionEntry entries[] = {
	    {"listen", 'l', 0, G_OPTION_ARG_STRING, &o.listen,
	     "Address and port (default 0.0.0.0:8080; port 0 picks a free one)", "ADDR:PORT"},
	    {"capacity", 'c', 0, G_OPTION_ARG_INT, &o.capacity, "Peers per room (default 3)", "N"},
	    {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_cert,
	     "PEM certificate: serve https/wss (TLS 1.2+, HSTS)", "FILE"},
	    {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_key, "PEM private key", "FILE"},
	    {"token-secret", 0, 0, G_OPTION_ARG_STRING, &o.token_secret,
	     "Require HS256 join tokens signed with this (shows in ps; see below)", "SECRET"},
	    {"token-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &o.token_secret_file,
	     "Require join tokens signed with the secret in FILE", "FILE"},
	    {"allowed-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.allowed_origins,
	     "Allow WebSocket upgrades from this Origin only (repeatable)", "ORIGIN"},
	    {"stun", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.stun,
	     "STUN server URL for clients (repeatable)", "URL"},
	    {"turn", 0, 0, G_OPTION_ARG_STRING, &o.turn,
	     "TURN server URL for clients (needs a TURN secret)", "URL"},
	    {"turn-secret", 0, 0, G_OPTION_ARG_STRING, &o.turn_secret,
	     "Shared secret of the TURN server (coturn use-auth-secret; shows in ps)", "SECRET"},
	    {"turn-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &o.turn_secret_file,
	     "Read the TURN shared secret from FILE", "FILE"},
	    {"turn-ttl", 0, 0, G_OPTION_ARG_INT64, &o.turn_ttl,
	     "TURN credential lifetime (default 86400, at most a year)", "SECONDS"},
	    {"rate-limit", 0, 0, G_OPTION_ARG_DOUBLE, &o.rate_limit,
	     "Messages per second per connection (default 100)", "N"},
	    {"rate-burst", 0, 0, G_OPTION_ARG_DOUBLE, &o.rate_burst,
	     "Message burst per connection (default 200)", "N"},
	    {"chat-rate", 0, 0, G_OPTION_ARG_DOUBLE, &o.chat_rate,
	     "Chat lines per second per connection (default 5)", "N"},
	    {"chat-burst", 0, 0, G_OPTION_ARG_DOUBLE, &o.chat_burst,
	     "Chat burst per connection (default 10)", "N"},
	    {"liveness-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.liveness_timeout,
	     "Drop a connection silent this long (default 45)", "SECONDS"},
	    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.state_dir,
	     "Keep the resume secret here (default: see State below)", "DIR"},
	    {"threads", 0, 0, G_OPTION_ARG_INT, &o.threads,
	     "Worker threads sharing the connections (default: one per processor, at most 64)",
	     "N"},
	    {},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- meshcall signaling server");
	g_option_context_set_description(ctx, kHelpDescription);
	g_option_context_add_main_entries(ctx, entries, nullptr);
	/* Timeouts and quotas, with their defaults (server/conn_limits.h). */
	server::ConnectionLimits limits;
	std::vector<GOptionEntry> limit_entries = server::limit_option_entries(limits);
	g_option_context_add_main_entries(ctx, limit_entries.data(), nullptr);
	g_autoptr(GError) error = nullptr;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		std::fprintf(stderr, "meshcall-server: %s\n", error->message);
		return kExitUsage;
	}
	if (argc > 1) {
		std::fprintf(stderr, "meshcall-server: unexpected argument \"%s\"\n",
			     server::log_text(argv[1]).c_str());
		return kExitUsage;
	}

	server::ServerOptions opts;
	if (o.listen)
		opts.listen = o.listen;
	auto usage = [](const std::string &what) {
		std::fprintf(stderr, "meshcall-server: %s\n", what.c_str());
		return kExitUsage;
	};
	/* A year: far beyond any sensible credential, far from overflowing. */
	constexpr gint64 kMaxTurnTtl = 366 * 24 * 3600;
	if (o.capacity < 1)
		return usage("--capacity must be at least 1");
	if (o.threads < 0 || o.threads > 64)
		return usage("--threads must be between 1 and 64 (0: one per processor)");
	if (!!o.tls_cert != !!o.tls_key)
		return usage("--tls-cert and --tls-key go together");
	if (o.state_dir && !*o.state_dir)
		return usage("--state-dir is empty");
	if (o.turn_ttl <= 0 || o.turn_ttl > kMaxTurnTtl || o.liveness_timeout <= 0 ||
	    o.rate_limit <= 0 || o.rate_burst < 1 || o.chat_rate <= 0 || o.chat_burst < 1)
		return usage("rates, bursts, TTLs (at most a year) and timeouts must be positive");

	server::ChosenSecret token_secret, turn_secret;
	std::string why;
	if (!server::choose_secret(token_secret_sources(o.token_secret, o.token_secret_file),
				   &token_secret, &why))
		return usage(why);
	if ((o.turn_secret || o.turn_secret_file) && !o.turn)
		return usage("--turn-secret needs --turn");
	if (o.turn) {
		if (!server::choose_secret(turn_secret_sources(o.turn_secret, o.turn_secret_file),
					   &turn_secret, &why))
			return usage(why);
		if (turn_secret.value.empty())
			return usage("--turn needs a secret: --turn-secret-file, --turn-secret or "
				     "$MESHCALL_TURN_SECRET");
	}

	opts.tls_cert = o.tls_cert ? o.tls_cert : "";
	opts.tls_key = o.tls_key ? o.tls_key : "";
	opts.allowed_origins = strv_to_vector(o.allowed_origins);
	opts.liveness_timeout_s = o.liveness_timeout;
	opts.threads = static_cast<unsigned>(o.threads);
	if (std::string why_limits; !server::validate_limits(limits, &why_limits))
		return usage(why_limits.c_str());
	opts.limits = limits;
	server::RegistryConfig &reg = opts.registry;
	reg.capacity = o.capacity;
	reg.rate.messages_per_second = o.rate_limit;
	reg.rate.message_burst = o.rate_burst;
	reg.rate.chat_per_second = o.chat_rate;
	reg.rate.chat_burst = o.chat_burst;
	reg.token_secret = token_secret.value;
	reg.stun_urls = strv_to_vector(o.stun);
	if (o.turn)
		reg.turn = server::TurnSettings{o.turn, turn_secret.value, o.turn_ttl};
	/* Never a reason not to start: without the file, resumes work until
	 * the next restart. The secret's path is logged, never its bytes. */
	server::ResumeSecret resume =
	    server::load_resume_secret(server::choose_state_dir(o.state_dir));
	if (!resume.problem.empty())
		g_warning("resume secret: %s; using one kept in memory, so clients cannot resume "
			  "their ids after a restart",
			  server::log_text(resume.problem).c_str());
	else
		g_message("resume secret %s %s", resume.created ? "created in" : "read from",
			  server::log_text(resume.path).c_str());
	reg.resume_secret = std::move(resume.bytes);

	restrict_tls_versions();
	raise_fd_limit();
	g_autoptr(GMainLoop) loop = g_main_loop_new(nullptr, FALSE);

	/* Handlers go in before the listening line: whoever reads it may
	 * signal at once. */
	struct Stop {
		server::SignalingServer *srv = nullptr;
		GMainLoop *loop;
	} stop{nullptr, loop};
	auto on_signal = [](gpointer data) -> gboolean {
		auto *s = static_cast<Stop *>(data);
		g_message("signal received, shutting down");
		GMainLoop *loop = s->loop;
		if (s->srv)
			s->srv->shutdown([loop] { g_main_loop_quit(loop); });
		else
			g_main_loop_quit(loop);
		return G_SOURCE_CONTINUE;
	};
	guint sigint = g_unix_signal_add(SIGINT, on_signal, &stop);
	guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &stop);

	auto srv = server::SignalingServer::start(std::move(opts), &error);
	if (!srv) {
		g_printerr("meshcall-server: cannot start: %s\n", error->message);
		return 1;
	}
	stop.srv = srv.get();
	std::printf("listening on %s\n", srv->url().c_str());
	std::fflush(stdout);
	/* Where each secret came from, never the secret: with four ways in,
	 * the one in force is worth a line. */
	auto on_from = [](bool on, const std::string &from) {
		return on ? "on (" + from + ")" : std::string("off");
	};
	std::string tls_priority = server::log_text(g_getenv("G_TLS_GNUTLS_PRIORITY"));
	g_message("capacity %d, tokens %s, TURN %s, TLS %s, %u worker threads", reg.capacity,
		  on_from(!token_secret.value.empty(), token_secret.source).c_str(),
		  on_from(o.turn, turn_secret.source).c_str(),
		  on_from(o.tls_cert, "GnuTLS priority " + tls_priority).c_str(), srv->threads());

	g_main_loop_run(loop);
	g_source_remove(sigint);
	g_source_remove(sigterm);
	srv.reset();
	g_message("stopped");
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	g_log_set_writer_func(write_log, nullptr, nullptr);
	if (argc > 1 && std::strcmp(argv[1], "token") == 0)
		return run_token_command(argc - 1, argv + 1);
	return run_server(argc, argv);
}
