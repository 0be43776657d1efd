// SPDX-License-Identifier: LGPL-2.1-or-later
/* mute-video / mute-audio between two meshcallbin pipelines in a room of a
 * real server, judged on what the other peer decodes: black frames and
 * silence keep flowing while muted (nothing is renegotiated), the room is
 * told, and unmuting brings the picture and the sound back. Runs inside a
 * private network namespace (tests/netns-run.sh). */
#include <cmath>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "call_fixture.h"

using namespace meshcall::test;

namespace
{

constexpr double kJoinTimeout = 5;
constexpr double kMediaTimeout = 10;
/* Our tone plays at half scale: about 0.35 RMS after Opus and the mixer.
 * Opus decodes digital silence to exact zeros. */
constexpr double kAudible = 0.1;
constexpr double kSilent = 0.005;

/* What a CallPeer's bus and audio_src show beyond what CallPeer keeps: the
 * meshcall-peer-media and meshcall-joined messages (seen from the posting
 * thread, since CallPeer owns the bus watch) and the RMS of the mix. */
class Observer
{
public:
	explicit Observer(CallPeer &peer) : peer_(peer)
	{
		GstBus *bus = gst_element_get_bus(peer.pipeline());
		gst_bus_enable_sync_message_emission(bus);
		handler_ =
		    g_signal_connect(bus, "sync-message::element", G_CALLBACK(on_message), this);
		gst_object_unref(bus);
		GstPad *pad = gst_element_get_static_pad(peer.meshcallbin(), "audio_src");
		probe_ = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_audio, this, nullptr);
		gst_object_unref(pad);
	}
	~Observer()
	{
		GstBus *bus = gst_element_get_bus(peer_.pipeline());
		g_signal_handler_disconnect(bus, handler_);
		gst_bus_disable_sync_message_emission(bus);
		gst_object_unref(bus);
		GstPad *pad = gst_element_get_static_pad(peer_.meshcallbin(), "audio_src");
		gst_pad_remove_probe(pad, probe_);
		gst_object_unref(pad);
		for (GstStructure *s : joined_)
			gst_structure_free(s);
	}

	/* The last meshcall-peer-media about `id` said audio/video were on. */
	bool peer_media_is(const std::string &id, bool audio, bool video) const
	{
		std::lock_guard l(lock_);
		for (auto it = media_.rbegin(); it != media_.rend(); ++it)
			if (it->id == id)
				return it->audio == audio && it->video == video;
		return false;
	}
	/* A copy of the first meshcall-joined structure, nullptr before it. */
	GstStructure *joined() const
	{
		std::lock_guard l(lock_);
		return joined_.empty() ? nullptr : gst_structure_copy(joined_.front());
	}
	/* RMS of audio_src (left channel) over the last ~200 ms, 0..1. */
	double rms() const
	{
		std::lock_guard l(lock_);
		double sum = 0;
		std::uint64_t n = 0;
		for (const auto &[s, count] : windows_) {
			sum += s;
			n += count;
		}
		return n ? std::sqrt(sum / n) / 32768.0 : 0;
	}

private:
	struct PeerMedia {
		std::string id;
		bool audio, video;
	};
	static void on_message(GstBus *, GstMessage *msg, gpointer data)
	{
		auto *self = static_cast<Observer *>(data);
		const GstStructure *s = gst_message_get_structure(msg);
		std::lock_guard l(self->lock_);
		if (gst_structure_has_name(s, "meshcall-joined")) {
			self->joined_.push_back(gst_structure_copy(s));
		} else if (gst_structure_has_name(s, "meshcall-peer-media")) {
			gboolean audio = TRUE, video = TRUE;
			gst_structure_get_boolean(s, "audio", &audio);
			gst_structure_get_boolean(s, "video", &video);
			self->media_.push_back(
			    {gst_structure_get_string(s, "id"), audio == TRUE, video == TRUE});
		}
	}
	static GstPadProbeReturn on_audio(GstPad *, GstPadProbeInfo *info, gpointer data)
	{
		auto *self = static_cast<Observer *>(data);
		GstMapInfo map;
		GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
		if (!gst_buffer_map(buf, &map, GST_MAP_READ))
			return GST_PAD_PROBE_OK;
		const auto *samples = reinterpret_cast<const std::int16_t *>(map.data);
		std::uint64_t frames = map.size / 4; /* S16LE stereo */
		double sum = 0;
		for (std::uint64_t i = 0; i < frames; i++)
			sum += double(samples[2 * i]) * samples[2 * i];
		gst_buffer_unmap(buf, &map);
		std::lock_guard l(self->lock_);
		self->windows_.emplace_back(sum, frames);
		std::uint64_t total = 0;
		for (const auto &w : self->windows_)
			total += w.second;
		while (total > 48 * 200 && self->windows_.size() > 1) {
			total -= self->windows_.front().second;
			self->windows_.pop_front();
		}
		return GST_PAD_PROBE_OK;
	}

	CallPeer &peer_;
	gulong handler_ = 0;
	gulong probe_ = 0;
	mutable std::mutex lock_;
	std::vector<PeerMedia> media_;
	std::vector<GstStructure *> joined_;
	std::deque<std::pair<double, std::uint64_t>> windows_; /* sum of squares, frames */
};

/* Decoded frames and audio buffers from `id`, from get-stats. */
std::pair<std::uint64_t, std::uint64_t> decoded_from(const CallPeer &p, const std::string &id)
{
	std::pair<std::uint64_t, std::uint64_t> out{0, 0};
	GstStructure *stats = nullptr;
	g_signal_emit_by_name(p.meshcallbin(), "get-stats", &stats);
	if (!stats)
		return out;
	const GValue *peers = gst_structure_get_value(stats, "peers");
	for (guint i = 0; peers && i < gst_value_array_get_size(peers); i++) {
		const GstStructure *s =
		    gst_value_get_structure(gst_value_array_get_value(peers, i));
		if (id == gst_structure_get_string(s, "id")) {
			gst_structure_get_uint64(s, "video-frames-rx", &out.first);
			gst_structure_get_uint64(s, "audio-buffers-rx", &out.second);
		}
	}
	gst_structure_free(stats);
	return out;
}

class Mute : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string err;
		ASSERT_TRUE(server.start({}, &err)) << err;
	}
	std::unique_ptr<CallPeer> peer(PeerOptions o)
	{
		return std::make_unique<CallPeer>(server.ws_url(), "mute", std::move(o));
	}
	/* Alice (red, 440 Hz), watched, then Bob join the room. */
	void start_call(PeerOptions bob_options = {"bob", kBlue, 660})
	{
		a = peer({"alice", kRed, 440});
		b = peer(std::move(bob_options));
		seen_by_a = std::make_unique<Observer>(*a);
		ASSERT_NO_FATAL_FAILURE(join(*a));
		ASSERT_NO_FATAL_FAILURE(join(*b));
	}
	static void join(CallPeer &p)
	{
		ASSERT_TRUE(p.play());
		ASSERT_WAIT(!p.id().empty() || p.error(), kJoinTimeout);
		ASSERT_FALSE(p.error()) << p.options().name << ": " << *p.error();
	}
	static bool tile_is(const CallPeer &viewer, const CallPeer &other, std::uint32_t rgb)
	{
		auto c = viewer.tile_colour(other.id());
		return c && c->near(rgb);
	}
	static std::string tile(const CallPeer &viewer, const CallPeer &other)
	{
		auto c = viewer.tile_colour(other.id());
		return "tile: " + (c ? c->str() : std::string("none"));
	}
	/* `viewer` keeps decoding video and audio from `sender`. */
	static void expect_media_flows(const CallPeer &viewer, const CallPeer &sender)
	{
		auto before = decoded_from(viewer, sender.id());
		ASSERT_WAIT(decoded_from(viewer, sender.id()).first >= before.first + 15 &&
				decoded_from(viewer, sender.id()).second >= before.second + 15,
			    kMediaTimeout)
		    << "media from " << sender.options().name << " stopped";
	}
	static void set(CallPeer &p, const char *property, bool value)
	{
		g_object_set(p.meshcallbin(), property, value ? TRUE : FALSE, nullptr);
	}

	ServerProcess server;
	std::unique_ptr<CallPeer> a, b;
	std::unique_ptr<Observer> seen_by_a; /* goes before the peers */
};

TEST_F(Mute, VideoTurnsBlackForTheOthersAndComesBack)
{
	ASSERT_NO_FATAL_FAILURE(start_call());
	ASSERT_WAIT(tile_is(*a, *b, kBlue), kMediaTimeout) << tile(*a, *b);

	set(*b, "mute-video", true);
	ASSERT_WAIT(seen_by_a->peer_media_is(b->id(), true, false), kJoinTimeout);
	ASSERT_WAIT(tile_is(*a, *b, 0x000000), kMediaTimeout) << tile(*a, *b);
	/* Replaced, not stopped: frames still arrive, and audio is untouched. */
	ASSERT_NO_FATAL_FAILURE(expect_media_flows(*a, *b));
	EXPECT_TRUE(tile_is(*a, *b, 0x000000)) << tile(*a, *b);
	EXPECT_GT(seen_by_a->rms(), kAudible);

	set(*b, "mute-video", false);
	ASSERT_WAIT(seen_by_a->peer_media_is(b->id(), true, true), kJoinTimeout);
	ASSERT_WAIT(tile_is(*a, *b, kBlue), kMediaTimeout) << tile(*a, *b);
	/* Bob saw Alice throughout. */
	EXPECT_TRUE(tile_is(*b, *a, kRed)) << tile(*b, *a);
	EXPECT_TRUE(a->warnings().empty()) << a->warnings()[0];
	EXPECT_TRUE(b->warnings().empty()) << b->warnings()[0];
}

TEST_F(Mute, AudioTurnsSilentForTheOthersAndComesBack)
{
	ASSERT_NO_FATAL_FAILURE(start_call());
	/* Alone with Bob, Alice's mix is Bob's audio. */
	ASSERT_WAIT(seen_by_a->rms() > kAudible, kMediaTimeout) << seen_by_a->rms();

	set(*b, "mute-audio", true);
	ASSERT_WAIT(seen_by_a->peer_media_is(b->id(), false, true), kJoinTimeout);
	ASSERT_WAIT(seen_by_a->rms() < kSilent, kMediaTimeout) << seen_by_a->rms();
	ASSERT_NO_FATAL_FAILURE(expect_media_flows(*a, *b));
	EXPECT_LT(seen_by_a->rms(), kSilent);
	EXPECT_TRUE(tile_is(*a, *b, kBlue)) << tile(*a, *b);

	set(*b, "mute-audio", false);
	ASSERT_WAIT(seen_by_a->peer_media_is(b->id(), true, true), kJoinTimeout);
	ASSERT_WAIT(seen_by_a->rms() > kAudible, kMediaTimeout) << seen_by_a->rms();
}

/* Muted before PLAYING: black and silent from the first frame, and the room
 * hears of it at once: as meshcall-peer-media by those already there, in
 * meshcall-joined's members by those joining later. */
TEST_F(Mute, MutedBeforePlayingIsMutedFromTheStart)
{
	PeerOptions bob{"bob", kBlue, 660};
	bob.extra = "mute-video=true mute-audio=true";
	ASSERT_NO_FATAL_FAILURE(start_call(bob));
	ASSERT_WAIT(seen_by_a->peer_media_is(b->id(), false, false), kJoinTimeout);
	ASSERT_WAIT(a->has_video_from(b->id()) && a->has_audio_from(b->id()), kMediaTimeout);
	ASSERT_NO_FATAL_FAILURE(expect_media_flows(*a, *b));
	EXPECT_TRUE(tile_is(*a, *b, 0x000000)) << tile(*a, *b);
	EXPECT_LT(seen_by_a->rms(), kSilent);

	/* Carol joins after: the welcome tells her. */
	auto c = peer({"carol", kGreen, 990});
	Observer seen_by_c(*c);
	ASSERT_NO_FATAL_FAILURE(join(*c));
	GstStructure *joined = seen_by_c.joined();
	ASSERT_TRUE(joined);
	const GValue *members = gst_structure_get_value(joined, "members");
	ASSERT_TRUE(members && GST_VALUE_HOLDS_ARRAY(members));
	ASSERT_EQ(gst_value_array_get_size(members), 2u);
	for (guint i = 0; i < 2; i++) {
		const GstStructure *m =
		    gst_value_get_structure(gst_value_array_get_value(members, i));
		gboolean audio = FALSE, video = FALSE;
		ASSERT_TRUE(gst_structure_get_boolean(m, "audio", &audio));
		ASSERT_TRUE(gst_structure_get_boolean(m, "video", &video));
		bool is_bob = b->id() == gst_structure_get_string(m, "id");
		EXPECT_EQ(audio, !is_bob) << gst_structure_get_string(m, "name");
		EXPECT_EQ(video, !is_bob) << gst_structure_get_string(m, "name");
	}
	gst_structure_free(joined);

	set(*b, "mute-video", false);
	set(*b, "mute-audio", false);
	ASSERT_WAIT(seen_by_a->peer_media_is(b->id(), true, true), kJoinTimeout);
	ASSERT_WAIT(tile_is(*a, *b, kBlue), kMediaTimeout) << tile(*a, *b);
	/* Carol is in Alice's mix now: listen for Bob's tone alone. */
	ASSERT_WAIT(a->tone_level(b->options().tone_hz, 200) > 0.05, kMediaTimeout)
	    << a->tone_level(b->options().tone_hz, 200);
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
