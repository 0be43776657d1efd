// SPDX-License-Identifier: LGPL-2.1-or-later
/* The HTTP side of the server: room info, room creation, health, pages, metrics. */
#include <set>
#include <utility>

#include <json-glib/json-glib.h>

#include "support/crypto.h"
#include "support/server_fixture.h"

using namespace meshcall::test;
using meshcall::protocol::PeerJoined;
using meshcall::protocol::PeerMedia;
using meshcall::protocol::RelayedOffer;
using meshcall::protocol::Welcome;

namespace
{

constexpr const char *kSecret = "http-token-secret";

class HttpTest : public ServerTest
{
};

/* Parses a JSON object body; nullptr (and a failure) otherwise. */
JsonNode *parse_object(const std::string &body)
{
	g_autoptr(GError) err = nullptr;
	JsonNode *node = json_from_string(body.c_str(), &err);
	if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
		ADD_FAILURE() << "not a JSON object: " << body;
		if (node)
			json_node_unref(node);
		return nullptr;
	}
	return node;
}

std::string string_member(JsonObject *obj, const char *name)
{
	return json_object_get_string_member_with_default(obj, name, "<missing>");
}

bool starts_with(std::string_view s, std::string_view prefix)
{
	return s.substr(0, prefix.size()) == prefix;
}

TEST_F(HttpTest, RoomInfoListsThePeersOfARoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	HttpResponse r = get("/api/rooms/nobody-here");
	ASSERT_EQ(r.status, 200u) << r.error << r.body;
	EXPECT_TRUE(starts_with(r.content_type, "application/json")) << r.content_type;
	g_autoptr(JsonNode) empty = parse_object(r.body);
	ASSERT_TRUE(empty);
	JsonObject *obj = json_node_get_object(empty);
	EXPECT_EQ(string_member(obj, "room"), "nobody-here");
	EXPECT_EQ(json_object_get_int_member_with_default(obj, "capacity", 0), 3);
	ASSERT_TRUE(json_object_has_member(obj, "peers")) << r.body;
	JsonArray *peers = json_object_get_array_member(obj, "peers");
	ASSERT_TRUE(peers) << r.body;
	EXPECT_EQ(json_array_get_length(peers), 0u);

	Welcome wa, wb;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());
	b->send(meshcall::protocol::media_json(false, true));
	std::optional<PeerMedia> media = a->expect<PeerMedia>();
	ASSERT_TRUE(media);

	r = get("/api/rooms/alpha");
	ASSERT_EQ(r.status, 200u) << r.error << r.body;
	g_autoptr(JsonNode) full = parse_object(r.body);
	ASSERT_TRUE(full);
	obj = json_node_get_object(full);
	EXPECT_EQ(string_member(obj, "room"), "alpha");
	peers = json_object_get_array_member(obj, "peers");
	ASSERT_TRUE(peers) << r.body;
	ASSERT_EQ(json_array_get_length(peers), 2u) << r.body;
	std::set<std::string> seen;
	for (guint i = 0; i < 2; i++) {
		JsonObject *p = json_array_get_object_element(peers, i);
		ASSERT_TRUE(p) << r.body;
		const std::string id = string_member(p, "id");
		const std::string name = string_member(p, "name");
		seen.insert(id + "=" + name);
		if (id == wb.id) {
			EXPECT_FALSE(json_object_get_boolean_member_with_default(p, "audio", true))
			    << "bob muted his microphone: " << r.body;
			EXPECT_TRUE(json_object_get_boolean_member_with_default(p, "video", false));
		}
	}
	EXPECT_EQ(seen, (std::set<std::string>{wa.id + "=alice", wb.id + "=bob"})) << r.body;
}

TEST_F(HttpTest, InvalidRoomNameIs400)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	for (const std::string &room : std::vector<std::string>{
		 "bad.name", "sp%20ace", "%C3%A9t%C3%A9", std::string(65, 'a')}) {
		HttpResponse r = get("/api/rooms/" + room);
		EXPECT_EQ(r.status, 400u) << room << ": " << r.error << r.body;
	}
	EXPECT_EQ(get("/api/rooms/" + std::string(64, 'a')).status, 200u);
}

TEST_F(HttpTest, RoomInfoNeedsTheRoomsBearerTokenWhenTokensAreOn)
{
	ASSERT_NO_FATAL_FAILURE(start_server({"--token-secret", kSecret}));
	const std::int64_t exp = unix_now() + 60;
	auto bearer = [](const std::string &token) {
		return std::map<std::string, std::string>{{"Authorization", "Bearer " + token}};
	};
	EXPECT_EQ(get("/api/rooms/alpha").status, 401u) << "no Authorization";
	EXPECT_EQ(get("/api/rooms/alpha", bearer("garbage")).status, 401u);
	EXPECT_EQ(
	    get("/api/rooms/alpha", bearer(make_jwt(kSecret, claims_json("beta", exp)))).status,
	    401u)
	    << "token for another room";
	EXPECT_EQ(
	    get("/api/rooms/alpha", bearer(make_jwt("wrong", claims_json("alpha", exp)))).status,
	    401u)
	    << "forged token";
	EXPECT_EQ(get("/api/rooms/alpha",
		      bearer(make_jwt(kSecret, claims_json("alpha", unix_now() - 120))))
		      .status,
		  401u)
	    << "expired token";

	HttpResponse ok =
	    get("/api/rooms/alpha", bearer(make_jwt(kSecret, claims_json("alpha", exp))));
	EXPECT_EQ(ok.status, 200u) << ok.error << ok.body;
	EXPECT_EQ(get("/api/rooms/alpha", bearer(make_jwt(kSecret, claims_json("*", exp)))).status,
		  200u);

	EXPECT_EQ(get("/api/rooms/bad.name").status, 400u) << "400 comes before 401";
}

TEST_F(HttpTest, CreateRoomAnswers201WithAFreshRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	std::set<std::string> rooms;
	for (int i = 0; i < 2; i++) {
		HttpResponse r = http_request("POST", url("/api/rooms"));
		ASSERT_EQ(r.status, 201u) << r.error << r.body;
		g_autoptr(JsonNode) node = parse_object(r.body);
		ASSERT_TRUE(node);
		JsonObject *obj = json_node_get_object(node);
		const std::string room = string_member(obj, "room");
		EXPECT_GE(room.size(), 10u) << room;
		EXPECT_TRUE(meshcall::protocol::is_valid_room(room)) << room;
		EXPECT_EQ(string_member(obj, "url"), "/r/" + room);
		rooms.insert(room);

		HttpResponse page = get("/r/" + room);
		EXPECT_EQ(page.status, 200u);
	}
	EXPECT_EQ(rooms.size(), 2u) << "two POSTs made the same room";
	EXPECT_TRUE(joined(*rooms.begin(), "alice"));
}

TEST_F(HttpTest, HealthzAndPagesAnswer200)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	HttpResponse health = get("/healthz");
	EXPECT_EQ(health.status, 200u) << health.error;
	g_autofree char *trimmed = g_strstrip(g_strdup(health.body.c_str()));
	EXPECT_STREQ(trimmed, "ok");

	for (const char *path : {"/", "/r/demo", "/r/demo?name=pi-cam&autojoin=1"}) {
		HttpResponse page = get(path);
		EXPECT_EQ(page.status, 200u) << path << ": " << page.error;
		EXPECT_TRUE(starts_with(page.content_type, "text/html"))
		    << path << ": " << page.content_type;
		EXPECT_FALSE(page.body.empty()) << path;
	}
}

TEST_F(HttpTest, StaticFilesOfTheBrowserClient)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	const std::pair<const char *, const char *> files[] = {
	    {"/static/style.css", "text/css"},	     {"/static/start.js", "text/javascript"},
	    {"/static/room.js", "text/javascript"},  {"/static/peers.js", "text/javascript"},
	    {"/static/media.js", "text/javascript"}, {"/static/ui.js", "text/javascript"},
	};
	for (const auto &[path, type] : files) {
		HttpResponse file = get(path);
		EXPECT_EQ(file.status, 200u) << path << ": " << file.error;
		EXPECT_TRUE(starts_with(file.content_type, type))
		    << path << ": " << file.content_type;
		EXPECT_FALSE(file.body.empty()) << path;
	}
	for (const char *path : {"/static/", "/static/index.html", "/static/nope.js", "/room.js"})
		EXPECT_EQ(get(path).status, 404u) << path;
}

double error_count(const std::string &metrics, const char *code_dash, const char *code_underscore)
{
	return metric_sum(metrics, "error", code_dash) +
	       metric_sum(metrics, "error", code_underscore);
}

TEST_F(HttpTest, MetricsCountRelayedMessagesAndErrors)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Welcome wa, wb;
	WsClient *a = joined("alpha", "alice", &wa);
	ASSERT_TRUE(a);
	WsClient *b = joined("alpha", "bob", &wb);
	ASSERT_TRUE(b);
	ASSERT_TRUE(a->expect<PeerJoined>());

	HttpResponse before = get("/metrics");
	ASSERT_EQ(before.status, 200u) << before.error;
	EXPECT_TRUE(starts_with(before.content_type, "text/plain")) << before.content_type;
	const double offers0 = metric_sum(before.body, "relay", "offer");
	const double bad0 = error_count(before.body, "bad-message", "bad_message");
	const double unknown0 = error_count(before.body, "unknown-peer", "unknown_peer");

	b->send(meshcall::protocol::offer_json(wa.id, "v=0 counted"));
	ASSERT_TRUE(a->expect<RelayedOffer>());
	b->send("not json");
	ASSERT_TRUE(b->expect_error("bad-message"));
	b->send(meshcall::protocol::offer_json(wb.id, "v=0 to myself"));
	ASSERT_TRUE(b->expect_error("unknown-peer"));

	HttpResponse after = get("/metrics");
	ASSERT_EQ(after.status, 200u) << after.error;
	EXPECT_EQ(metric_sum(after.body, "relay", "offer"), offers0 + 1)
	    << "relayed offers did not move by one:\n"
	    << after.body;
	EXPECT_EQ(error_count(after.body, "bad-message", "bad_message"), bad0 + 1)
	    << "bad-message errors did not move by one:\n"
	    << after.body;
	EXPECT_EQ(error_count(after.body, "unknown-peer", "unknown_peer"), unknown0 + 1)
	    << "unknown-peer errors did not move by one (and nothing was relayed):\n"
	    << after.body;
}

} // namespace
