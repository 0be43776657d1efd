// SPDX-License-Identifier: LGPL-2.1-or-later
/* Fixture for the `integration` suite: pipelines with a meshcallbin in a room
 * of a real meshcall-server, observed through the element's public surface
 * (signals, bus messages, get-stats) and its decoded output (video_src grid,
 * audio_src mix) captured by appsinks.
 *
 * ICE runs inside the private network namespace the test binary is started
 * in (tests/netns-run.sh); peers gather on 127.0.0.1 only. */
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "support/server_fixture.h"

namespace meshcall::test
{

struct PeerOptions {
	std::string name;
	std::uint32_t rgb = 0xff0000; /* solid colour of our test pattern */
	int tone_hz = 440;	      /* frequency of our test tone */
	bool video = true;	      /* request video_sink */
	bool audio = true;	      /* request audio_sink */
	std::string codec = "vp8";
	std::string extra; /* more meshcallbin properties, "k=v k=v" */
	/* gst-launch descriptions replacing the test sources, e.g.
	 * "switchvideosrc name=camera device=..." */
	std::string video_source;
	std::string audio_source;
};

struct TileInfo {
	std::string peer;
	std::string name;
	int x = 0, y = 0, width = 0, height = 0;
};

struct ChatEntry {
	std::uint64_t seq = 0;
	std::string from;
	std::string name;
	std::string text;
};

/* Average colour of a region, 0-255 per channel. */
struct Rgb {
	double r = 0, g = 0, b = 0;
	bool near(std::uint32_t rgb, double tolerance = 48) const;
	std::string str() const;
};

class CallPeer
{
public:
	CallPeer(const std::string &server_url, const std::string &room, PeerOptions options);
	~CallPeer();
	CallPeer(const CallPeer &) = delete;
	CallPeer &operator=(const CallPeer &) = delete;

	bool play();
	void stop(); /* to NULL */

	GstElement *pipeline() const { return pipeline_; }
	GstElement *meshcallbin() const { return bin_; }
	const PeerOptions &options() const { return options_; }

	/* Observed state; read on the main context thread. */
	std::string id() const;
	std::map<std::string, std::string> peers() const; /* id → name, present now */
	bool has_video_from(const std::string &id) const;
	bool has_audio_from(const std::string &id) const;
	std::vector<TileInfo> layout() const;
	std::vector<ChatEntry> chat() const;
	std::optional<std::string> error() const;
	std::vector<std::string> warnings() const;
	unsigned peer_left_count() const;
	/* Time the first decoded frame of `peer` was announced. */
	std::optional<std::chrono::steady_clock::time_point>
	first_video(const std::string &peer) const;

	/* Average colour of the centre of `peer`'s tile in the latest grid
	 * frame; nullopt when there is no frame or no such tile. */
	std::optional<Rgb> tile_colour(const std::string &peer) const;
	/* Relative power of `hz` in the last `ms` of audio_src (left channel),
	 * normalised to 0..1 of a full-scale sine. */
	double tone_level(double hz, int ms = 200) const;
	/* Sample frames received on audio_src so far (48 kHz). */
	std::uint64_t audio_frames() const;
	std::uint64_t grid_frames() const;

	/* get-stats: per-peer decoded video frames. */
	std::map<std::string, std::uint64_t> video_frames_rx() const;
	/* Elements of the whole pipeline (recursively) and pads of meshcallbin. */
	unsigned element_count() const;
	unsigned bin_pad_count() const;
	/* Elements whose factory is of klass `klass_part` (e.g. "Encoder/Video"). */
	unsigned count_elements_of_klass(const std::string &klass_part) const;
	/* Factory names of those elements, one entry per element. */
	std::vector<std::string> factories_of_klass(const std::string &klass_part) const;
	/* Elements of the whole pipeline (recursively) made by `factory`. */
	unsigned count_elements_of_factory(const std::string &factory) const;
	/* Names of elements inside meshcallbin that mention `id`. */
	std::vector<std::string> elements_mentioning(const std::string &id) const;

private:
	static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer self);
	static GstFlowReturn on_video_sample(GstElement *sink, gpointer self);
	static GstFlowReturn on_audio_sample(GstElement *sink, gpointer self);

	PeerOptions options_;
	GstElement *pipeline_ = nullptr;
	GstElement *bin_ = nullptr;
	guint bus_watch_ = 0;

	mutable std::mutex lock_;
	std::string id_;
	std::map<std::string, std::string> peers_;
	std::map<std::string, std::chrono::steady_clock::time_point> video_from_;
	std::set<std::string> audio_from_;
	std::vector<TileInfo> layout_;
	std::vector<ChatEntry> chat_;
	std::optional<std::string> error_;
	std::vector<std::string> warnings_;
	unsigned peer_left_ = 0;
	std::vector<std::uint8_t> frame_; /* latest RGB grid frame */
	int frame_w_ = 0, frame_h_ = 0, frame_stride_ = 0;
	std::uint64_t frames_ = 0;
	std::vector<std::int16_t> audio_; /* ring of left-channel samples, 48 kHz */
	size_t audio_pos_ = 0;
	bool audio_full_ = false;
	std::uint64_t audio_frames_ = 0;
};

/* Samples the decoded video frame counters (get-stats) of some streams every
 * 40 ms and keeps, per stream, the longest time without an increase.
 *
 * The timer runs on a GMainContext of its own, in a thread of its own: on the
 * main context it would measure the main context's stalls instead (the test
 * itself blocks it, e.g. in an in-process leaver's state change; samples came
 * up to 1.8 s apart on a loaded machine while frames kept coming), and its
 * blocking get-stats calls would delay the peer removal being timed. */
class FlowMonitor
{
public:
	using Clock = std::chrono::steady_clock;
	struct Stream {
		const CallPeer *at;
		std::string peer;
	};

	explicit FlowMonitor(std::vector<Stream> streams);
	~FlowMonitor() { stop(); }
	FlowMonitor(const FlowMonitor &) = delete;
	FlowMonitor &operator=(const FlowMonitor &) = delete;

	/* Stops sampling, after one last sample. */
	void stop();
	/* The longest stall of any stream (up to the last sample), and when it
	 * ended (`ended`: the sample that saw frames again). */
	Clock::duration max_gap(std::string *which = nullptr,
				Clock::time_point *ended = nullptr) const;
	/* The longest time between two samples (how late the timer ran). */
	Clock::duration max_interval() const;
	unsigned samples() const;

private:
	struct State {
		Stream stream;
		std::uint64_t frames = 0;
		Clock::time_point last_increase = Clock::now();
		Clock::duration max_gap{};
		Clock::time_point max_gap_end{};
	};

	void sample();

	mutable std::mutex lock_;
	std::vector<State> state_;	 /* guarded by lock_ (the streams are constant) */
	Clock::time_point last_sample_;	 /* guarded by lock_ */
	Clock::duration max_interval_{}; /* guarded by lock_ */
	unsigned samples_ = 0;		 /* guarded by lock_ */
	GMainContext *context_ = nullptr;
	GMainLoop *loop_ = nullptr;
	GThread *thread_ = nullptr;
};

/* A FlowMonitor duration in milliseconds, for messages. */
inline double ms(FlowMonitor::Clock::duration d)
{
	return std::chrono::duration<double, std::milli>(d).count();
}

/* Colours and tones the tests give their peers. */
inline constexpr std::uint32_t kRed = 0xe01010, kGreen = 0x10c010, kBlue = 0x1010e0,
			       kYellow = 0xe0e010;

/* Inside the test's network namespace every peer gathers on loopback only. */
inline const char *kIceAddresses = "127.0.0.1";

/* gst_init, with G_DEBUG=fatal-criticals sparing only one known GStreamer
 * 1.22.0 race (see call_fixture.cpp). */
void init_gstreamer(int *argc, char ***argv);
/* How often that race was let through. */
unsigned upstream_rtpsession_races();

} // namespace meshcall::test
