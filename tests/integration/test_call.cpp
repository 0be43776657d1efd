// SPDX-License-Identifier: LGPL-2.1-or-later
/* Calls of two and three meshcallbin pipelines through a real server. */
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "call_fixture.h"

using namespace meshcall::test;

namespace
{

/* Tones that are not harmonics of one another, each on a bin of the
 * Goertzel windows below (multiples of 10 Hz). */
constexpr int kToneA = 440, kToneB = 660, kToneC = 990;
/* Our sources play at half scale. Over a 500 ms window, a present tone comes
 * out of Opus and the mixer at 0.49-0.50 and an absent one below 0.001; on a
 * CPU starved by other work (load average 10-15 on 2 cores), gaps in the mix
 * lower the first and splatter up to 0.004 into the second. A peer hearing
 * itself would measure about 0.5. */
constexpr double kTonePresent = 0.05;
constexpr double kToneAbsent = 0.01;
constexpr int kToneWindowMs = 500;

/* A healthy pair connects in well under a second on loopback; these leave
 * room for a loaded 2-core machine without hiding a stall. */
constexpr double kJoinTimeout = 5;
constexpr double kMediaTimeout = 10;

class Call : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string err;
		ASSERT_TRUE(server.start({"--capacity", "3"}, &err)) << err;
	}
	std::unique_ptr<CallPeer> peer(PeerOptions o, const std::string &room = "call")
	{
		return std::make_unique<CallPeer>(server.ws_url(), room, std::move(o));
	}
	/* Plays `p` and waits for its welcome. */
	static void join(CallPeer &p)
	{
		ASSERT_TRUE(p.play());
		ASSERT_WAIT(!p.id().empty() || p.error(), kJoinTimeout);
		ASSERT_FALSE(p.error()) << p.options().name << ": " << *p.error();
	}
	/* Every peer has decoded video from every other. */
	static bool all_see_each_other(const std::vector<CallPeer *> &peers)
	{
		for (CallPeer *a : peers)
			for (CallPeer *b : peers)
				if (a != b && !a->has_video_from(b->id()))
					return false;
		return true;
	}
	/* `p`'s tile of `other` shows `other`'s colour. */
	static bool tile_shows(const CallPeer &p, const CallPeer &other)
	{
		auto c = p.tile_colour(other.id());
		return c && c->near(other.options().rgb);
	}
	static std::string describe_tile(const CallPeer &p, const CallPeer &other)
	{
		auto c = p.tile_colour(other.id());
		return p.options().name + "'s tile of " + other.options().name + ": " +
		       (c ? c->str() : "none");
	}
	static std::optional<TileInfo> tile_of(const CallPeer &p, const std::string &id)
	{
		for (const TileInfo &t : p.layout())
			if (t.peer == id)
				return t;
		return std::nullopt;
	}
	ServerProcess server;
};

TEST_F(Call, TwoPeersSeeEachOther)
{
	auto a = peer({"alice", kRed, 440});
	auto b = peer({"bob", kBlue, 880});
	ASSERT_TRUE(a->play());
	ASSERT_WAIT(!a->id().empty(), 5);
	ASSERT_TRUE(b->play());
	ASSERT_WAIT(!b->id().empty(), 5);
	ASSERT_WAIT(a->has_video_from(b->id()) && b->has_video_from(a->id()), 10);
	ASSERT_WAIT(a->tile_colour(b->id()) && a->tile_colour(b->id())->near(kBlue), 5);
	ASSERT_WAIT(b->tile_colour(a->id()) && b->tile_colour(a->id())->near(kRed), 5);
}

/* Three pipelines in one room: each sees and hears the two others, and only
 * them. */
TEST_F(Call, ThreeWayCall)
{
	auto a = peer({"alice", kRed, kToneA});
	auto b = peer({"bob", kGreen, kToneB});
	auto c = peer({"carol", kBlue, kToneC});
	std::vector<CallPeer *> all = {a.get(), b.get(), c.get()};
	ASSERT_NO_FATAL_FAILURE(join(*a));
	ASSERT_NO_FATAL_FAILURE(join(*b));
	auto last_start = std::chrono::steady_clock::now();
	ASSERT_NO_FATAL_FAILURE(join(*c));
	/* The acceptance bound: decoded video both ways within 5 s of the last
	 * peer starting. */
	ASSERT_WAIT(all_see_each_other(all), 5);
	RecordProperty("all_connected_ms",
		       static_cast<int>(std::chrono::duration<double, std::milli>(
					    std::chrono::steady_clock::now() - last_start)
					    .count()));
	for (CallPeer *p : all)
		for (CallPeer *o : all)
			if (p != o) {
				double s = std::chrono::duration<double>(*p->first_video(o->id()) -
									 last_start)
					       .count();
				EXPECT_LT(s, 5.0);
			}

	for (CallPeer *p : all) {
		for (CallPeer *o : all) {
			if (p == o)
				continue;
			ASSERT_WAIT(tile_shows(*p, *o), kMediaTimeout) << describe_tile(*p, *o);
			auto tile = tile_of(*p, o->id());
			ASSERT_TRUE(tile);
			EXPECT_EQ(tile->name, o->options().name);
		}
		EXPECT_EQ(p->layout().size(), 2u) << p->options().name;
		EXPECT_FALSE(tile_of(*p, p->id())) << p->options().name << " shows itself";
	}

	for (CallPeer *p : all) {
		SCOPED_TRACE(p->options().name);
		auto others_present = [&](int window_ms) {
			for (CallPeer *o : all)
				if (o != p &&
				    p->tone_level(o->options().tone_hz, window_ms) <= kTonePresent)
					return false;
			return true;
		};
		ASSERT_WAIT(others_present(kToneWindowMs), kMediaTimeout);
		/* Judge a window that lies wholly after the tones started: their
		 * onset splatters energy over every frequency. On a starved CPU
		 * the mix may still have gaps, so wait for one where both are
		 * there. */
		std::uint64_t onset = p->audio_frames();
		ASSERT_WAIT(p->audio_frames() >= onset + 48 * kToneWindowMs &&
				others_present(kToneWindowMs),
			    kMediaTimeout);
		EXPECT_LT(p->tone_level(p->options().tone_hz, kToneWindowMs), kToneAbsent)
		    << "hears itself";
	}
}

/* Encode once, fan out: one encoder per medium whatever the number of peers,
 * and one webrtcbin per remote peer. */
TEST_F(Call, EncodesOncePerMedium)
{
	auto a = peer({"alice", kRed, kToneA});
	auto b = peer({"bob", kGreen, kToneB});
	auto c = peer({"carol", kBlue, kToneC});
	auto check = [](const CallPeer &p, unsigned remote_peers) {
		SCOPED_TRACE(p.options().name + " with " + std::to_string(remote_peers) +
			     " remote peer(s)");
		EXPECT_EQ(p.count_elements_of_klass("Encoder/Video"), 1u);
		EXPECT_EQ(p.count_elements_of_klass("Encoder/Audio"), 1u);
		EXPECT_EQ(p.count_elements_of_factory("webrtcbin"), remote_peers);
	};

	ASSERT_NO_FATAL_FAILURE(join(*a));
	ASSERT_NO_FATAL_FAILURE(join(*b));
	ASSERT_WAIT(all_see_each_other({a.get(), b.get()}), kMediaTimeout);
	check(*a, 1);
	check(*b, 1);

	ASSERT_NO_FATAL_FAILURE(join(*c));
	ASSERT_WAIT(all_see_each_other({a.get(), b.get(), c.get()}), kMediaTimeout);
	check(*a, 2);
	check(*b, 2);
	check(*c, 2);
}

/* A fourth peer in a room of capacity 3 is refused, and the call of the
 * three goes on as if nothing happened. */
TEST_F(Call, FourthPeerIsRefusedAndTheCallGoesOn)
{
	auto a = peer({"alice", kRed, kToneA});
	auto b = peer({"bob", kGreen, kToneB});
	auto c = peer({"carol", kBlue, kToneC});
	std::vector<CallPeer *> all = {a.get(), b.get(), c.get()};
	for (CallPeer *p : all)
		ASSERT_NO_FATAL_FAILURE(join(*p));
	ASSERT_WAIT(all_see_each_other(all), kMediaTimeout);
	std::map<CallPeer *, std::map<std::string, std::string>> peers_before;
	for (CallPeer *p : all) {
		peers_before[p] = p->peers();
		ASSERT_EQ(peers_before[p].size(), 2u);
	}

	auto d = peer({"dave", kYellow, 1210});
	ASSERT_TRUE(d->play());
	ASSERT_WAIT(d->error(), kJoinTimeout);
	EXPECT_NE(d->error()->find("room-full"), std::string::npos) << *d->error();
	EXPECT_TRUE(d->id().empty());

	/* Media keeps flowing from every remote peer after the refusal: decoded
	 * frames go on increasing... */
	std::map<CallPeer *, std::map<std::string, std::uint64_t>> frames_before;
	for (CallPeer *p : all)
		frames_before[p] = p->video_frames_rx();
	auto all_advanced = [&] {
		for (CallPeer *p : all) {
			auto now = p->video_frames_rx();
			for (CallPeer *o : all) {
				if (o == p)
					continue;
				/* About half a second of video at 30 fps. */
				if (now[o->id()] < frames_before[p][o->id()] + 15)
					return false;
			}
		}
		return true;
	};
	ASSERT_WAIT(all_advanced(), kMediaTimeout);
	/* ...and, that much later, nobody saw anyone join or leave. */
	for (CallPeer *p : all) {
		EXPECT_EQ(p->peers(), peers_before[p]) << p->options().name;
		EXPECT_EQ(p->peer_left_count(), 0u) << p->options().name;
		EXPECT_EQ(p->layout().size(), 2u) << p->options().name;
		EXPECT_TRUE(p->warnings().empty()) << p->options().name << ": " << p->warnings()[0];
	}
	/* The refused peer gave up rather than retrying its way in. */
	EXPECT_TRUE(d->id().empty());
	EXPECT_TRUE(d->peers().empty());
}

/* A peer without camera or microphone (no sink pads) still sees and hears
 * the others, whether it offers (joins last) or answers (joins first). */
class ReceiveOnly : public Call
{
protected:
	void expect_receives(CallPeer &viewer, const std::vector<CallPeer *> &senders)
	{
		for (CallPeer *s : senders) {
			SCOPED_TRACE(s->options().name);
			ASSERT_WAIT(viewer.has_video_from(s->id()), kMediaTimeout);
			ASSERT_WAIT(tile_shows(viewer, *s), kMediaTimeout)
			    << describe_tile(viewer, *s);
			ASSERT_WAIT(viewer.has_audio_from(s->id()), kMediaTimeout);
			ASSERT_WAIT(viewer.tone_level(s->options().tone_hz) > kTonePresent,
				    kMediaTimeout);
		}
		/* It has nothing to send, so nothing to encode. */
		EXPECT_EQ(viewer.count_elements_of_klass("Encoder/Video"), 0u);
		EXPECT_EQ(viewer.count_elements_of_klass("Encoder/Audio"), 0u);
		EXPECT_EQ(viewer.count_elements_of_factory("webrtcbin"), senders.size());
		EXPECT_TRUE(viewer.warnings().empty()) << viewer.warnings()[0];
		for (CallPeer *s : senders)
			EXPECT_TRUE(s->warnings().empty())
			    << s->options().name << ": " << s->warnings()[0];
	}
	PeerOptions viewer_options()
	{
		PeerOptions o{"viewer"};
		o.video = false;
		o.audio = false;
		return o;
	}
};

TEST_F(ReceiveOnly, JoiningLastItOffers)
{
	auto a = peer({"alice", kRed, kToneA});
	auto b = peer({"bob", kGreen, kToneB});
	auto v = peer(viewer_options());
	ASSERT_NO_FATAL_FAILURE(join(*a));
	ASSERT_NO_FATAL_FAILURE(join(*b));
	ASSERT_NO_FATAL_FAILURE(join(*v));
	expect_receives(*v, {a.get(), b.get()});
	/* The senders still see each other. */
	ASSERT_WAIT(all_see_each_other({a.get(), b.get()}), kMediaTimeout);
}

TEST_F(ReceiveOnly, JoiningFirstItAnswers)
{
	auto v = peer(viewer_options());
	auto a = peer({"alice", kRed, kToneA});
	auto b = peer({"bob", kGreen, kToneB});
	ASSERT_NO_FATAL_FAILURE(join(*v));
	ASSERT_NO_FATAL_FAILURE(join(*a));
	ASSERT_NO_FATAL_FAILURE(join(*b));
	expect_receives(*v, {a.get(), b.get()});
	ASSERT_WAIT(all_see_each_other({a.get(), b.get()}), kMediaTimeout);
}

/* With video-codec=h264 the one encoder is an H.264 encoder, and the peers
 * decode each other. */
TEST_F(Call, H264)
{
	PeerOptions ao{"alice", kRed, kToneA}, bo{"bob", kBlue, kToneB};
	ao.codec = bo.codec = "h264";
	auto a = peer(ao);
	auto b = peer(bo);
	ASSERT_NO_FATAL_FAILURE(join(*a));
	ASSERT_NO_FATAL_FAILURE(join(*b));
	ASSERT_WAIT(all_see_each_other({a.get(), b.get()}), kMediaTimeout);
	ASSERT_WAIT(tile_shows(*a, *b), kMediaTimeout) << describe_tile(*a, *b);
	ASSERT_WAIT(tile_shows(*b, *a), kMediaTimeout) << describe_tile(*b, *a);
	for (CallPeer *p : {a.get(), b.get()}) {
		SCOPED_TRACE(p->options().name);
		auto encoders = p->factories_of_klass("Encoder/Video");
		ASSERT_EQ(encoders.size(), 1u);
		EXPECT_TRUE(encoders[0] == "x264enc" || encoders[0] == "openh264enc")
		    << encoders[0];
		auto decoders = p->factories_of_klass("Decoder/Video");
		ASSERT_EQ(decoders.size(), 1u);
		EXPECT_TRUE(decoders[0] == "avdec_h264" || decoders[0] == "openh264dec")
		    << decoders[0];
	}
}

/* Chat lines reach every peer, the author included, in seq order and
 * unchanged; send-chat refuses what it cannot send. */
TEST_F(Call, Chat)
{
	auto a = peer({"alice", kRed, kToneA});
	auto b = peer({"bob", kGreen, kToneB});
	auto c = peer({"carol", kBlue, kToneC});
	std::vector<CallPeer *> all = {a.get(), b.get(), c.get()};
	auto send = [](CallPeer &p, const char *text) {
		gboolean ok = FALSE;
		g_signal_emit_by_name(p.meshcallbin(), "send-chat", text, &ok);
		return ok == TRUE;
	};

	/* Not joined yet: nothing to send it through. */
	EXPECT_FALSE(send(*a, "too early"));
	for (CallPeer *p : all)
		ASSERT_NO_FATAL_FAILURE(join(*p));
	for (CallPeer *p : all)
		ASSERT_WAIT(p->peers().size() == 2, kJoinTimeout) << p->options().name;

	/* Not chat text (docs/protocol.md, "Validation"): refused before reaching the server. */
	EXPECT_FALSE(send(*a, ""));
	EXPECT_FALSE(send(*a, "   "));
	EXPECT_FALSE(send(*a, "carriage\rreturn"));
	EXPECT_FALSE(send(*a, "bell\a"));

	const std::vector<std::string> texts = {"hello", "second line", "tabs\tand\nnewlines",
						"unicode: héllo ✓", "fifth"};
	for (const auto &t : texts)
		ASSERT_TRUE(send(*a, t.c_str())) << t;
	ASSERT_TRUE(send(*b, "reply from bob"));

	/* Bob's line races Alice's on another connection, so it may land
	 * anywhere among them; the room's order is whatever seq says, the same
	 * for everyone. */
	const size_t total = texts.size() + 1;
	for (CallPeer *p : all)
		ASSERT_WAIT(p->chat().size() >= total, kJoinTimeout) << p->options().name;
	const auto reference = a->chat();
	for (CallPeer *p : all) {
		SCOPED_TRACE(p->options().name);
		auto lines = p->chat();
		ASSERT_EQ(lines.size(), total);
		std::vector<std::string> from_alice, from_bob;
		for (size_t i = 0; i < lines.size(); i++) {
			/* The refused lines never reached the room: seq starts at 1. */
			EXPECT_EQ(lines[i].seq, i + 1);
			EXPECT_EQ(lines[i].from, reference[i].from);
			EXPECT_EQ(lines[i].text, reference[i].text);
			if (lines[i].from == a->id()) {
				EXPECT_EQ(lines[i].name, "alice");
				from_alice.push_back(lines[i].text);
			} else {
				EXPECT_EQ(lines[i].from, b->id());
				EXPECT_EQ(lines[i].name, "bob");
				from_bob.push_back(lines[i].text);
			}
		}
		EXPECT_EQ(from_alice, texts);
		EXPECT_EQ(from_bob, std::vector<std::string>{"reply from bob"});
		EXPECT_TRUE(p->warnings().empty()) << p->warnings()[0];
	}
}

/* A peer whose pipeline goes to NULL leaves: the others get peer-left and
 * lose its tile; the remaining tile takes the whole grid. */
TEST_F(Call, PeerLeavingIsAnnounced)
{
	auto a = peer({"alice", kRed, kToneA});
	auto b = peer({"bob", kGreen, kToneB});
	auto c = peer({"carol", kBlue, kToneC});
	std::vector<CallPeer *> all = {a.get(), b.get(), c.get()};
	for (CallPeer *p : all)
		ASSERT_NO_FATAL_FAILURE(join(*p));
	ASSERT_WAIT(all_see_each_other(all), kMediaTimeout);

	const std::string gone = c->id();
	c->stop();
	for (CallPeer *p : {a.get(), b.get()}) {
		SCOPED_TRACE(p->options().name);
		CallPeer &other = p == a.get() ? *b : *a;
		ASSERT_WAIT(p->peer_left_count() == 1 && !tile_of(*p, gone), kJoinTimeout);
		EXPECT_EQ(p->peers().count(gone), 0u);
		EXPECT_EQ(p->peers().count(other.id()), 1u);
		auto layout = p->layout();
		ASSERT_EQ(layout.size(), 1u);
		EXPECT_EQ(layout[0].peer, other.id());
		EXPECT_EQ(layout[0].width, 640);
		EXPECT_EQ(layout[0].height, 360);
		EXPECT_TRUE(p->elements_mentioning(gone).empty());
		EXPECT_EQ(p->count_elements_of_factory("webrtcbin"), 1u);
		/* The grid goes on, re-laid, with the right peer in the tile. */
		ASSERT_WAIT(tile_shows(*p, other), kMediaTimeout) << describe_tile(*p, other);
	}
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
