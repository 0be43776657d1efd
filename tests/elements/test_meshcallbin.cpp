// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallbin on its own against a real meshcall-server, with the test
 * playing the other peer over a plain WebSocket: the answer it gives a
 * recorded Chromium offer, the errors a user sees, and its documentation.
 * Runs inside a private network namespace (tests/netns-run.sh). */
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "peer/sdp_codecs.h"
#include "support/server_fixture.h"

using namespace meshcall;
using namespace meshcall::test;

namespace
{

std::string read_fixture(const char *name)
{
	const char *root = std::getenv("MESHCALL_SOURCE_ROOT");
	std::ifstream in(std::string(root ? root : ".") + "/tests/elements/data/" + name,
			 std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

/* A pipeline with one meshcallbin; collects its bus messages. */
class Pipeline
{
public:
	explicit Pipeline(const std::string &description)
	{
		GError *error = nullptr;
		pipeline_ = gst_parse_launch(description.c_str(), &error);
		EXPECT_TRUE(pipeline_) << (error ? error->message : "");
		g_clear_error(&error);
		if (!pipeline_)
			return;
		bin_ = gst_bin_get_by_name(GST_BIN(pipeline_), "m");
		GstBus *bus = gst_element_get_bus(pipeline_);
		watch_ = gst_bus_add_watch(
		    bus,
		    [](GstBus *, GstMessage *msg, gpointer d) -> gboolean {
			    static_cast<Pipeline *>(d)->messages_.push_back(gst_message_ref(msg));
			    return G_SOURCE_CONTINUE;
		    },
		    this);
		gst_object_unref(bus);
	}
	~Pipeline()
	{
		if (!pipeline_)
			return;
		gst_element_set_state(pipeline_, GST_STATE_NULL);
		g_source_remove(watch_);
		for (GstMessage *m : messages_)
			gst_message_unref(m);
		gst_object_unref(bin_);
		gst_object_unref(pipeline_);
	}
	GstStateChangeReturn play() { return gst_element_set_state(pipeline_, GST_STATE_PLAYING); }
	GstElement *bin() const { return bin_; }

	/* Text of the first ERROR message, "" when none. */
	std::string error() const
	{
		for (GstMessage *m : messages_) {
			if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR)
				continue;
			GError *err = nullptr;
			gst_message_parse_error(m, &err, nullptr);
			std::string text = err->message;
			g_error_free(err);
			return text;
		}
		return "";
	}
	/* The `code` in the details of the first ERROR message (where
	 * meshcallbin puts the protocol's error code), "" when none. */
	std::string error_code() const
	{
		for (GstMessage *m : messages_) {
			if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR)
				continue;
			const GstStructure *details = nullptr;
			gst_message_parse_error_details(m, &details);
			const char *code =
			    details ? gst_structure_get_string(details, "code") : nullptr;
			return code ? code : "";
		}
		return "";
	}
	/* A field of the first element message named `name`, "" when none. */
	std::string element_field(const char *name, const char *field) const
	{
		for (GstMessage *m : messages_) {
			const GstStructure *s = gst_message_get_structure(m);
			if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT &&
			    gst_structure_has_name(s, name))
				if (const char *v = gst_structure_get_string(s, field))
					return v;
		}
		return "";
	}
	/* The first element message named `name` (owned by us), nullptr when none. */
	const GstStructure *element_message(const char *name) const
	{
		for (GstMessage *m : messages_) {
			const GstStructure *s = gst_message_get_structure(m);
			if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT &&
			    gst_structure_has_name(s, name))
				return s;
		}
		return nullptr;
	}
	/* How many element messages named `name` arrived. */
	size_t count(const char *name) const
	{
		size_t n = 0;
		for (GstMessage *m : messages_)
			if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT &&
			    gst_structure_has_name(gst_message_get_structure(m), name))
				n++;
		return n;
	}

private:
	GstElement *pipeline_ = nullptr;
	GstElement *bin_ = nullptr;
	guint watch_ = 0;
	std::vector<GstMessage *> messages_;
};

/* The next message of type T the client receives, skipping others
 * (candidates, peer-joined); nullopt when none is queued yet. */
template <typename T> std::optional<T> next_of(WsClient *client)
{
	while (auto in = client->next(0.05))
		if (auto *m = std::get_if<T>(&in->message))
			return *m;
	return std::nullopt;
}

std::string sending_pipeline(const std::string &server, const std::string &room,
			     const std::string &extra = "")
{
	return "meshcallbin name=m server=" + server + " room=" + room +
	       " display-name=element ice-addresses=127.0.0.1 " + extra +
	       " videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! "
	       "m.video_sink audiotestsrc is-live=true ! m.audio_sink "
	       "m.video_src ! fakesink async=false m.audio_src ! fakesink async=false";
}

/* Swaps payload types `a` and `b` wherever an SDP line names payload types
 * (m=, rtpmap, fmtp with its apt=, rtcp-fb), keeping the offer consistent. */
std::string swap_payload_types(const std::string &sdp, int a, int b)
{
	std::string out;
	std::istringstream in(sdp);
	std::string line;
	const std::string sa = std::to_string(a), sb = std::to_string(b);
	while (std::getline(in, line)) {
		bool names_pts = line.rfind("m=", 0) == 0 || line.rfind("a=rtpmap:", 0) == 0 ||
				 line.rfind("a=fmtp:", 0) == 0 || line.rfind("a=rtcp-fb:", 0) == 0;
		std::string swapped;
		size_t i = 0;
		while (names_pts && i < line.size()) {
			if (!isdigit(static_cast<unsigned char>(line[i]))) {
				swapped += line[i++];
				continue;
			}
			size_t j = i;
			while (j < line.size() && isdigit(static_cast<unsigned char>(line[j])))
				j++;
			std::string num = line.substr(i, j - i);
			bool whole = (i == 0 || line[i - 1] == ' ' || line[i - 1] == ':' ||
				      line[i - 1] == '=') &&
				     (j == line.size() || line[j] == ' ' || line[j] == '\r' ||
				      line[j] == ';' || line[j] == '/');
			if (whole && num == sa)
				num = sb;
			else if (whole && num == sb)
				num = sa;
			swapped += num;
			i = j;
		}
		out += (names_pts ? swapped : line) + "\n";
	}
	return out;
}

class MeshcallbinTest : public ServerTest
{
protected:
	void answer_offer(const std::string &offer);
};

void MeshcallbinTest::answer_offer(const std::string &offer)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Pipeline p(sending_pipeline(server_.ws_url(), "browser"));
	ASSERT_NE(p.play(), GST_STATE_CHANGE_FAILURE);
	ASSERT_WAIT(!p.element_field("meshcall-joined", "id").empty(), kTimeout);
	std::string element_id = p.element_field("meshcall-joined", "id");

	/* The test is the browser: it joins second, so it offers. */
	WsClient *browser = joined("browser", "chromium");
	ASSERT_TRUE(browser);
	auto offered = sdp_media(offer);
	ASSERT_TRUE(offered);
	std::optional<int> opus = opus_pt(*offered);
	ASSERT_TRUE(opus);
	std::optional<int> vp8 = video_pt(*offered, VideoCodec::VP8);
	ASSERT_TRUE(vp8);
	ASSERT_NE(*vp8, *opus);
	browser->send(proto::offer_json(element_id, offer));

	std::optional<proto::RelayedAnswer> answer;
	ASSERT_WAIT((answer = next_of<proto::RelayedAnswer>(browser)), 10);
	EXPECT_EQ(answer->from, element_id);
	auto media = sdp_media(answer->sdp);
	ASSERT_TRUE(media) << answer->sdp;
	ASSERT_EQ(media->size(), 2u) << answer->sdp;
	EXPECT_EQ((*media)[0].kind, MediaKind::Audio);
	EXPECT_EQ((*media)[0].direction, "sendrecv") << answer->sdp;
	EXPECT_EQ((*media)[0].opus_pt, *opus) << answer->sdp;
	EXPECT_EQ((*media)[0].mid, "0");
	EXPECT_EQ((*media)[1].kind, MediaKind::Video);
	EXPECT_EQ((*media)[1].direction, "sendrecv") << answer->sdp;
	EXPECT_EQ((*media)[1].vp8_pt, *vp8) << answer->sdp;
	EXPECT_EQ((*media)[1].mid, "1");
	EXPECT_NE(answer->sdp.find("a=group:BUNDLE 0 1"), std::string::npos) << answer->sdp;
	EXPECT_EQ(p.error(), "");
}

TEST_F(MeshcallbinTest, AnswersAChromiumOfferSendrecvWithItsPayloadTypes)
{
	answer_offer(read_fixture("chromium-offer.sdp"));
}

/* The same offer with VP8 on 98 and Opus on 63: the answer must follow the
 * offer, not meshcallbin's own defaults (96, 111). */
TEST_F(MeshcallbinTest, AnswerFollowsOtherPayloadTypes)
{
	std::string offer = read_fixture("chromium-offer.sdp");
	offer = swap_payload_types(swap_payload_types(offer, 96, 98), 111, 63);
	auto media = sdp_media(offer);
	ASSERT_TRUE(media);
	ASSERT_EQ(video_pt(*media, VideoCodec::VP8), 98);
	ASSERT_EQ(opus_pt(*media), 63);
	answer_offer(offer);
}

TEST_F(MeshcallbinTest, OffersBothMediaSendrecvToAnEarlierPeer)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *browser = joined("browser", "chromium");
	ASSERT_TRUE(browser);
	Pipeline p(sending_pipeline(server_.ws_url(), "browser"));
	ASSERT_NE(p.play(), GST_STATE_CHANGE_FAILURE);

	std::optional<proto::RelayedOffer> offer;
	ASSERT_WAIT((offer = next_of<proto::RelayedOffer>(browser)), 10);
	auto media = sdp_media(offer->sdp);
	ASSERT_TRUE(media);
	ASSERT_EQ(media->size(), 2u) << offer->sdp;
	EXPECT_EQ((*media)[0].kind, MediaKind::Audio);
	EXPECT_EQ((*media)[0].direction, "sendrecv");
	EXPECT_TRUE((*media)[0].opus_pt);
	EXPECT_EQ((*media)[1].kind, MediaKind::Video);
	EXPECT_EQ((*media)[1].direction, "sendrecv");
	EXPECT_TRUE((*media)[1].vp8_pt);
	/* max-bundle (docs/design.md, fact 4): one BUNDLE group with both. */
	EXPECT_NE(offer->sdp.find("a=group:BUNDLE"), std::string::npos);
}

TEST_F(MeshcallbinTest, UnauthorizedIsAnElementErrorWithTheCodeInItsDetails)
{
	ASSERT_NO_FATAL_FAILURE(
	    start_server({"--token-secret", "0123456789abcdef0123456789abcdef"}));
	Pipeline p(sending_pipeline(server_.ws_url(), "locked", "token=not-a-jwt"));
	p.play();
	ASSERT_WAIT(!p.error().empty(), kTimeout);
	EXPECT_EQ(p.error_code(), "unauthorized") << p.error();
}

TEST_F(MeshcallbinTest, UnreachableServerIsAnElementError)
{
	/* A port nothing listens on. */
	GSocket *sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
				     G_SOCKET_PROTOCOL_TCP, nullptr);
	GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	GSocketAddress *addr = g_inet_socket_address_new(lo, 0);
	ASSERT_TRUE(g_socket_bind(sock, addr, FALSE, nullptr));
	GSocketAddress *bound = g_socket_get_local_address(sock, nullptr);
	int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	g_object_unref(bound);
	g_object_unref(addr);
	g_object_unref(lo);
	g_object_unref(sock);

	Pipeline p(sending_pipeline("ws://127.0.0.1:" + std::to_string(port) + "/ws", "any"));
	p.play();
	ASSERT_WAIT(!p.error().empty(), kTimeout);
	EXPECT_EQ(p.error_code(), "server-unreachable") << p.error();
}

TEST_F(MeshcallbinTest, InvalidRoomFailsTheStateChange)
{
	Pipeline p(sending_pipeline("ws://127.0.0.1:1/ws", "no/such room"));
	EXPECT_EQ(p.play(), GST_STATE_CHANGE_FAILURE);
	ASSERT_WAIT(!p.error().empty(), kTimeout);
	EXPECT_EQ(p.error_code(), "invalid-room") << p.error();
}

/* meshcall-joined lists who is already there, as the welcome does. */
TEST_F(MeshcallbinTest, JoinedListsTheMembersAlreadyThere)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	proto::Welcome first;
	WsClient *browser = joined("members", "chromium", &first);
	ASSERT_TRUE(browser);
	browser->send(proto::media_json(false, true));
	ASSERT_TRUE(browser->ping_pong()); /* the server has taken it in */
	Pipeline p(sending_pipeline(server_.ws_url(), "members"));
	ASSERT_NE(p.play(), GST_STATE_CHANGE_FAILURE);
	ASSERT_WAIT(p.element_message("meshcall-joined"), kTimeout);

	const GstStructure *s = p.element_message("meshcall-joined");
	int peers = -1, capacity = -1;
	EXPECT_TRUE(gst_structure_get_int(s, "peers", &peers));
	EXPECT_EQ(peers, 1);
	EXPECT_TRUE(gst_structure_get_int(s, "capacity", &capacity));
	EXPECT_EQ(capacity, 3);
	EXPECT_STREQ(gst_structure_get_string(s, "room"), "members");
	EXPECT_STREQ(gst_structure_get_string(s, "name"), "element");
	EXPECT_EQ(std::string(gst_structure_get_string(s, "id")).size(), 16u);
	const GValue *members = gst_structure_get_value(s, "members");
	ASSERT_TRUE(members);
	ASSERT_TRUE(GST_VALUE_HOLDS_ARRAY(members));
	ASSERT_EQ(gst_value_array_get_size(members), 1u);
	const GValue *v = gst_value_array_get_value(members, 0);
	ASSERT_TRUE(GST_VALUE_HOLDS_STRUCTURE(v));
	const GstStructure *m = gst_value_get_structure(v);
	EXPECT_TRUE(gst_structure_has_name(m, "peer"));
	EXPECT_EQ(gst_structure_get_string(m, "id"), first.id);
	EXPECT_STREQ(gst_structure_get_string(m, "name"), "chromium");
	gboolean audio = TRUE, video = FALSE;
	EXPECT_TRUE(gst_structure_get_boolean(m, "audio", &audio));
	EXPECT_TRUE(gst_structure_get_boolean(m, "video", &video));
	EXPECT_FALSE(audio) << "the browser said its microphone is off";
	EXPECT_TRUE(video);
}

TEST_F(MeshcallbinTest, JoinedHasNoMembersInAnEmptyRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	Pipeline p(sending_pipeline(server_.ws_url(), "empty"));
	ASSERT_NE(p.play(), GST_STATE_CHANGE_FAILURE);
	ASSERT_WAIT(p.element_message("meshcall-joined"), kTimeout);
	const GValue *members =
	    gst_structure_get_value(p.element_message("meshcall-joined"), "members");
	ASSERT_TRUE(members && GST_VALUE_HOLDS_ARRAY(members));
	EXPECT_EQ(gst_value_array_get_size(members), 0u);
}

/* The next peer-media about `id` that `client` receives (other messages
 * skipped); nullopt when none within `timeout_s`. */
std::optional<proto::PeerMedia> next_media(WsClient *client, const std::string &id,
					   double timeout_s = kTimeout)
{
	std::optional<proto::PeerMedia> media;
	wait_until(
	    [&] {
		    while (auto in = client->next(0.05))
			    if (auto *m = std::get_if<proto::PeerMedia>(&in->message))
				    if (m->id == id) {
					    media = *m;
					    return true;
				    }
		    return false;
	    },
	    timeout_s);
	return media;
}

/* Mute state reaches the room: set before PLAYING (sent right after the
 * welcome), changed while playing, and again after a rejoin. */
TEST_F(MeshcallbinTest, MuteIsToldToTheRoom)
{
	ASSERT_NO_FATAL_FAILURE(start_server());
	WsClient *browser = joined("muted", "chromium");
	ASSERT_TRUE(browser);
	Pipeline p(sending_pipeline(server_.ws_url(), "muted", "mute-video=true"));
	ASSERT_NE(p.play(), GST_STATE_CHANGE_FAILURE);
	ASSERT_WAIT(!p.element_field("meshcall-joined", "id").empty(), kTimeout);
	const std::string id = p.element_field("meshcall-joined", "id");

	auto media = next_media(browser, id);
	ASSERT_TRUE(media) << "no media message after the welcome";
	EXPECT_TRUE(media->audio);
	EXPECT_FALSE(media->video);

	g_object_set(p.bin(), "mute-audio", TRUE, nullptr);
	media = next_media(browser, id);
	ASSERT_TRUE(media);
	EXPECT_FALSE(media->audio);
	EXPECT_FALSE(media->video);

	g_object_set(p.bin(), "mute-video", FALSE, nullptr);
	media = next_media(browser, id);
	ASSERT_TRUE(media);
	EXPECT_FALSE(media->audio);
	EXPECT_TRUE(media->video);
	gboolean mute_audio = FALSE, mute_video = TRUE;
	g_object_get(p.bin(), "mute-audio", &mute_audio, "mute-video", &mute_video, nullptr);
	EXPECT_TRUE(mute_audio);
	EXPECT_FALSE(mute_video);

	/* Setting the same value again says nothing new. */
	g_object_set(p.bin(), "mute-video", FALSE, nullptr);
	EXPECT_FALSE(next_media(browser, id, 0.5));

	/* The server restarts on the same port: the element rejoins a room
	 * that assumes everyone unmuted, and corrects it. */
	const int port = server_.port();
	for (auto &client : clients_)
		client->close();
	clients_.clear();
	ASSERT_TRUE(server_.stop());
	ServerProcess again;
	std::string err;
	ASSERT_TRUE(again.start({"--listen", "127.0.0.1:" + std::to_string(port)}, &err)) << err;
	ASSERT_EQ(again.port(), port);
	{
		auto watcher = WsClient::connect(again.ws_url());
		ASSERT_TRUE(watcher);
		auto welcome = watcher->join("muted", "watcher");
		ASSERT_TRUE(welcome);
		/* Whichever of us joined first, the watcher learns the element's
		 * microphone is off: in its welcome or as peer-media. */
		std::string element_id;
		bool told = false;
		for (const auto &peer : welcome->peers)
			if (peer.name == "element") {
				element_id = peer.id;
				told = !peer.audio && peer.video;
			}
		std::optional<Incoming> in;
		auto read_news = [&] {
			while (!told && (in = watcher->next(0.05))) {
				if (auto *j = std::get_if<proto::PeerJoined>(&in->message))
					if (j->peer.name == "element")
						element_id = j->peer.id;
				if (auto *m = std::get_if<proto::PeerMedia>(&in->message))
					told = m->id == element_id && !m->audio && m->video;
			}
			return told;
		};
		/* The element retries with back-off (0.5 s, 1 s, 2 s, ...). */
		ASSERT_WAIT(read_news(), 15);
		ASSERT_WAIT(p.count("meshcall-joined") == 2, kTimeout);
		watcher->close();
	}
	EXPECT_TRUE(again.stop());
}

TEST(MeshcallbinDoc, EveryPropertySignalAndPadIsDocumented)
{
	GstElementFactory *f = gst_element_factory_find("meshcallbin");
	ASSERT_TRUE(f) << "meshcallbin not found: is GST_PLUGIN_PATH_1_0 set?";
	EXPECT_STRNE(gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_DESCRIPTION), "");
	GstElement *e = gst_element_factory_create(f, nullptr);
	guint n = 0;
	GParamSpec **props = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
	std::set<std::string> names;
	for (guint i = 0; i < n; i++) {
		names.insert(props[i]->name);
		if (props[i]->owner_type == G_OBJECT_TYPE(e)) {
			EXPECT_GT(strlen(g_param_spec_get_blurb(props[i])), 10u) << props[i]->name;
		}
	}
	g_free(props);
	for (const char *p : {"server", "room", "display-name", "token", "video-codec",
			      "video-bitrate", "ice-addresses", "stun-server", "turn-server",
			      "latency", "mute-audio", "mute-video", "video-encoder"})
		EXPECT_TRUE(names.count(p)) << p;
	for (const char *s :
	     {"peer-joined", "peer-left", "chat-received", "send-chat", "get-stats"})
		EXPECT_NE(g_signal_lookup(s, G_OBJECT_TYPE(e)), 0u) << s;
	for (const char *pad : {"video_sink", "audio_sink", "video_src", "audio_src"})
		EXPECT_TRUE(gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(e), pad))
		    << pad;
	for (const char *pad : {"video_src", "audio_src"}) {
		GstPad *p = gst_element_get_static_pad(e, pad);
		EXPECT_TRUE(p) << pad;
		if (p)
			gst_object_unref(p);
	}
	gst_object_unref(e);
	gst_object_unref(f);
}

} // namespace

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
