// SPDX-License-Identifier: LGPL-2.1-or-later
/* The HTTP endpoints of docs/protocol.md ("HTTP endpoints"): pages from the
 * GResource, REST, health, metrics. */
#include "server/http_api.h"

#include <sys/random.h>

#include <string>

#include "protocol/protocol.h"
#include "server/log.h"

#undef G_LOG_DOMAIN
#define G_LOG_DOMAIN "meshcall-server:http"

namespace meshcall::server
{

namespace
{

constexpr const char *kResourcePrefix = "/org/meshcall/web/";
/* A year, the value HSTS preload lists ask for; no includeSubDomains: the
 * server cannot speak for other hosts of its domain. */
constexpr const char *kHsts = "max-age=31536000";
constexpr std::size_t kFreshRoomLength = 12;

/* The files under /static/; anything else there is 404. */
struct StaticFile {
	const char *name;
	const char *content_type;
};
constexpr StaticFile kStaticFiles[] = {
    {"style.css", "text/css; charset=utf-8"},	    {"start.js", "text/javascript; charset=utf-8"},
    {"room.js", "text/javascript; charset=utf-8"},  {"peers.js", "text/javascript; charset=utf-8"},
    {"media.js", "text/javascript; charset=utf-8"}, {"ui.js", "text/javascript; charset=utf-8"},
};

void respond(SoupServerMessage *msg, guint status, const char *content_type, std::string body)
{
	soup_server_message_set_status(msg, status, nullptr);
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	soup_message_headers_replace(headers, "Cache-Control", "no-store");
	soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
	soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, body.data(),
					 body.size());
}

void respond_json_error(SoupServerMessage *msg, guint status, std::string_view code,
			std::string_view message)
{
	std::string body = "{\"error\":";
	protocol::append_json_string(body, code);
	body += ",\"message\":";
	protocol::append_json_string(body, message);
	body += '}';
	respond(msg, status, "application/json", std::move(body));
}

bool serve_resource(SoupServerMessage *msg, const char *file, const char *content_type)
{
	std::string path = std::string(kResourcePrefix) + file;
	g_autoptr(GBytes) bytes =
	    g_resources_lookup_data(path.c_str(), G_RESOURCE_LOOKUP_FLAGS_NONE, nullptr);
	if (!bytes)
		return false;
	soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
	soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
	soup_message_headers_replace(headers, "Content-Security-Policy",
				     "default-src 'self'; script-src 'self'; "
				     "connect-src 'self' ws: wss:; media-src 'self' blob:; "
				     "img-src 'self' data: blob:; object-src 'none'; "
				     "base-uri 'none'; frame-ancestors 'none'");
	soup_message_headers_set_content_type(headers, content_type, nullptr);
	soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
	return true;
}

std::string fresh_room_name()
{
	static constexpr char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789"; /* 32, unambiguous */
	unsigned char random[kFreshRoomLength];
	std::size_t got = 0;
	while (got < sizeof(random)) {
		ssize_t n = getrandom(random + got, sizeof(random) - got, 0);
		if (n > 0)
			got += static_cast<std::size_t>(n);
	}
	std::string name;
	for (unsigned char b : random)
		name.push_back(alphabet[b % 32]);
	return name;
}

std::string bearer_token(SoupServerMessage *msg)
{
	const char *auth = soup_message_headers_get_one(
	    soup_server_message_get_request_headers(msg), "Authorization");
	if (!auth || g_ascii_strncasecmp(auth, "Bearer ", 7) != 0)
		return {};
	std::string token(auth + 7);
	while (!token.empty() && token.front() == ' ')
		token.erase(0, 1);
	return token;
}

void room_info(SoupServerMessage *msg, std::string_view room, RoomRegistry &registry)
{
	if (!protocol::is_valid_room(room)) {
		respond_json_error(msg, SOUP_STATUS_BAD_REQUEST, "invalid-room",
				   "room must be 1-64 characters of A-Z a-z 0-9 _ -");
		return;
	}
	if (registry.tokens_required()) {
		std::string token = bearer_token(msg);
		if (token.empty() || !registry.token_allows(token, room)) {
			soup_message_headers_replace(soup_server_message_get_response_headers(msg),
						     "WWW-Authenticate", "Bearer");
			respond_json_error(msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
					   "a valid token for this room is required");
			return;
		}
	}
	RoomSnapshot snap = registry.snapshot(room);
	respond(msg, SOUP_STATUS_OK, "application/json",
		protocol::room_info_json(snap.room, snap.capacity, snap.peers));
}

const char *remote_host(SoupServerMessage *msg)
{
	const char *host = soup_server_message_get_remote_host(msg);
	return host ? host : "(unknown)";
}

void route(SoupServerMessage *msg, const char *path_c, RoomRegistry &registry)
{
	std::string_view path(path_c);
	std::string_view method(soup_server_message_get_method(msg));
	bool get = method == "GET" || method == "HEAD";

	if (path == "/api/rooms") {
		if (method != "POST") {
			respond_json_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method",
					   "use POST to create a room");
			return;
		}
		std::string room = fresh_room_name();
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
					     "Location", ("/r/" + room).c_str());
		respond(msg, SOUP_STATUS_CREATED, "application/json",
			protocol::room_created_json(room));
		return;
	}
	if (!get) {
		respond(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
		return;
	}
	if (path.starts_with("/api/rooms/")) {
		room_info(msg, path.substr(11), registry);
		return;
	}
	if (path == "/healthz") {
		respond(msg, SOUP_STATUS_OK, "text/plain", "ok");
		return;
	}
	if (path == "/metrics") {
		respond(msg, SOUP_STATUS_OK, "text/plain; version=0.0.4",
			render_prometheus(registry.metrics()));
		return;
	}
	if (path == "/" && serve_resource(msg, "index.html", "text/html; charset=utf-8"))
		return;
	if (path.starts_with("/r/") && protocol::is_valid_room(path.substr(3)) &&
	    serve_resource(msg, "room.html", "text/html; charset=utf-8"))
		return;
	if (path.starts_with("/static/")) {
		for (const StaticFile &file : kStaticFiles) {
			if (path.substr(8) == file.name &&
			    serve_resource(msg, file.name, file.content_type))
				return;
		}
	}
	respond(msg, SOUP_STATUS_NOT_FOUND, "text/plain", "not found\n");
}

} // namespace

void handle_http_request(SoupServerMessage *msg, const char *path, RoomRegistry &registry)
{
	route(msg, path, registry);
	MESHCALL_DEBUG_ABOUT(std::string("client ") + remote_host(msg), "%s %s: %u",
			     log_text(soup_server_message_get_method(msg), 32).c_str(),
			     log_text(path).c_str(), soup_server_message_get_status(msg));
}

void add_hsts_to_every_response(SoupServer *server)
{
	/* request-started comes before libsoup reads the request, so the header
	 * is there whoever answers: a handler, the Origin check, or libsoup
	 * refusing a malformed request. */
	g_signal_connect(server, "request-started",
			 G_CALLBACK(+[](SoupServer *, SoupServerMessage *msg, gpointer) {
				 soup_message_headers_replace(
				     soup_server_message_get_response_headers(msg),
				     "Strict-Transport-Security", kHsts);
			 }),
			 nullptr);
}

} // namespace meshcall::server
