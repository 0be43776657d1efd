// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall-e2e-bench: the meshcall app (its options, its App) with a role, to
 * time the way from one app's camera to another app's screen.
 *
 * --role send: a probe on the camera's src pad draws the wall-clock time (ms,
 * low 32 bits) into every frame (frame_stamp.h).
 *
 * --role receive: the headless "video-out" fakesink's handoff (at render
 * time, after its clock sync: when the frame would be shown) reads the stamp
 * back from the room grid; latency = now − stamp. The stamps are also read
 * where the grid leaves meshcallbin (before the sink's sync) and out of the
 * decoder of the sender's stream, to tell where the time goes. Timing starts
 * on SIGUSR1 (bench/e2e-latency.sh sends it once the `media` event is in),
 * after --warmup seconds; after --seconds of samples the figures go to
 * --report and the app leaves the room (exit 0; 1 when nothing was read).
 *
 * Both ends are processes on one machine, so both read the same wall clock.
 * See bench/README.md. */
#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "app.h"
#include "frame_stamp.h"
#include "incoming_media.h"
#include "options.h"

namespace meshcall::bench
{
namespace
{

struct BenchOptions {
	gchar *role = nullptr;
	double seconds = 30;
	double warmup = 2;
	double start_timeout = 20; /* for the first stamp after the warm-up */
	gchar *report = nullptr;   /* a file; stderr too */
};

const char *kUsage =
    "meshcall-e2e-bench: the meshcall app with a latency-measuring role\n"
    "  --role send|receive   draw time stamps into the camera's frames / read them\n"
    "                        from the room grid when shown\n"
    "  --seconds S           receive: seconds of samples to take (30)\n"
    "  --warmup S            receive: seconds skipped after SIGUSR1 (2)\n"
    "  --start-timeout S     receive: give up when no stamp is read in S s (20)\n"
    "  --report FILE         receive: the figures also go to FILE\n"
    "Every other option is the meshcall app's (below).\n\n";

/* Takes this program's options out of argv and leaves the app's. */
bool take_bench_options(int &argc, char **&argv, BenchOptions &o, std::string &error)
{
	const GOptionEntry entries[] = {
	    {"role", 0, 0, G_OPTION_ARG_STRING, &o.role, nullptr, nullptr},
	    {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &o.seconds, nullptr, nullptr},
	    {"warmup", 0, 0, G_OPTION_ARG_DOUBLE, &o.warmup, nullptr, nullptr},
	    {"start-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &o.start_timeout, nullptr, nullptr},
	    {"report", 0, 0, G_OPTION_ARG_FILENAME, &o.report, nullptr, nullptr},
	    {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(nullptr);
	g_option_context_add_main_entries(ctx, entries, nullptr);
	g_option_context_set_ignore_unknown_options(ctx, TRUE);
	g_option_context_set_help_enabled(ctx, FALSE);
	g_autoptr(GError) err = nullptr;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		error = err->message;
		return false;
	}
	if (!o.role || (std::strcmp(o.role, "send") && std::strcmp(o.role, "receive"))) {
		error = "--role send or --role receive";
		return false;
	}
	if (o.seconds <= 0 || o.warmup < 0 || o.start_timeout <= 0) {
		error = "--seconds and --start-timeout must be > 0, --warmup >= 0";
		return false;
	}
	return true;
}

std::uint32_t now_ms32()
{
	return std::uint32_t(g_get_real_time() / 1000);
}

/* ---- send ---- */

class StampWriter
{
public:
	explicit StampWriter(GstPad *pad)
	{
		gst_video_info_init(&info_);
		gst_pad_add_probe(pad,
				  GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER |
						  GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
				  on_probe, this, nullptr);
	}
	std::uint64_t stamped() const { return stamped_; }
	std::uint64_t refused() const { return refused_; }

private:
	static GstPadProbeReturn on_probe(GstPad *, GstPadProbeInfo *info, gpointer data)
	{
		auto *self = static_cast<StampWriter *>(data);
		if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
			GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
			if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
				GstCaps *caps;
				gst_event_parse_caps(event, &caps);
				self->have_info_ = gst_video_info_from_caps(&self->info_, caps);
			}
			return GST_PAD_PROBE_OK;
		}
		if (!self->have_info_) {
			self->refused_++;
			return GST_PAD_PROBE_OK;
		}
		/* The camera's buffers may be shared (a pool, a tee): draw on our own. */
		GstBuffer *buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
		GST_PAD_PROBE_INFO_DATA(info) = buffer;
		GstVideoFrame frame;
		if (!gst_video_frame_map(&frame, &self->info_, buffer, GST_MAP_WRITE)) {
			self->refused_++;
			return GST_PAD_PROBE_OK;
		}
		if (draw_stamp(frame, now_ms32()))
			self->stamped_++;
		else
			self->refused_++;
		gst_video_frame_unmap(&frame);
		return GST_PAD_PROBE_OK;
	}

	GstVideoInfo info_;	 /* streaming thread only */
	bool have_info_ = false; /* streaming thread only */
	std::atomic<std::uint64_t> stamped_{0}, refused_{0};
};

/* ---- receive ---- */

/* The stamp in a video buffer going through `pad`, if it can be read. */
std::optional<std::uint32_t> stamp_of(GstPad *pad, GstBuffer *buffer, int *width = nullptr,
				      int *height = nullptr)
{
	g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
	GstVideoInfo info;
	GstVideoFrame frame;
	if (!caps || !gst_video_info_from_caps(&info, caps) ||
	    !gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ))
		return std::nullopt;
	auto stamp = read_stamp(frame);
	gst_video_frame_unmap(&frame);
	if (width)
		*width = GST_VIDEO_INFO_WIDTH(&info);
	if (height)
		*height = GST_VIDEO_INFO_HEIGHT(&info);
	return stamp;
}

double query_latency_ms(GstElement *pipeline, GstPad *upstream_of = nullptr)
{
	GstQuery *q = gst_query_new_latency();
	double ms = NAN;
	if (upstream_of ? gst_pad_peer_query(upstream_of, q) : gst_element_query(pipeline, q)) {
		GstClockTime min = 0;
		gst_query_parse_latency(q, nullptr, &min, nullptr);
		ms = double(min) / GST_MSECOND;
	}
	gst_query_unref(q);
	return ms;
}

class StampReader
{
public:
	StampReader(GstElement *pipeline, GstElement *call, GstElement *sink, const BenchOptions &o)
	    : pipeline_(pipeline), call_(call), opt_(o)
	{
		g_object_set(sink, "signal-handoffs", TRUE, nullptr);
		g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), this);
		/* Before the sink's sync: when meshcallbin's grid put the frame out. */
		sink_pad_ = gst_element_get_static_pad(sink, "sink");
		gst_pad_add_probe(sink_pad_, GST_PAD_PROBE_TYPE_BUFFER, on_arrival, this, nullptr);
		/* Out of the decoder of the sender's stream, the only one in the room. */
		watch_incoming_streams(
		    pipeline, [this](const std::string &, bool video, GstElement *depay) {
			    GstElement *decoder = video ? element_after(depay) : nullptr;
			    if (!decoder)
				    return;
			    GstPad *src = gst_element_get_static_pad(decoder, "src");
			    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_decoded, this,
					      nullptr);
			    gst_object_unref(src);
			    gst_object_unref(decoder);
		    });
		g_unix_signal_add(SIGUSR1, on_start_signal, this);
	}
	~StampReader() { gst_object_unref(sink_pad_); }

	bool failed() const { return failed_; }

private:
	enum class Phase { Idle, Warmup, Measuring, Done };

	struct Sample {
		double shown_ms, arrived_ms, decoded_ms;
	};

	static gboolean on_start_signal(gpointer data)
	{
		static_cast<StampReader *>(data)->start();
		return G_SOURCE_REMOVE;
	}

	void start()
	{
		pipeline_latency_ms_ = query_latency_ms(pipeline_);
		video_latency_ms_ = query_latency_ms(pipeline_, sink_pad_);
		g_object_get(call_, "latency", &jitter_latency_ms_, nullptr);
		{
			std::lock_guard l(lock_);
			phase_ = Phase::Warmup;
			warmup_end_us_ = g_get_monotonic_time() + gint64(opt_.warmup * 1e6);
		}
		g_printerr("e2e: timing starts in %.1f s (jitter-buffer latency %u ms, "
			   "pipeline latency %.1f ms, video path %.1f ms)\n",
			   opt_.warmup, jitter_latency_ms_, pipeline_latency_ms_,
			   video_latency_ms_);
		g_timeout_add(1000, on_watchdog, this);
	}

	/* Streaming thread, before the sink waits for the frame's time. */
	static GstPadProbeReturn on_arrival(GstPad *pad, GstPadProbeInfo *info, gpointer data)
	{
		auto *self = static_cast<StampReader *>(data);
		const std::uint32_t now = now_ms32();
		GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
		int width = 0, height = 0;
		auto stamp = stamp_of(pad, buffer, &width, &height);
		self->grid_width_ = width;
		self->grid_height_ = height;
		/* The handoff that follows on this thread is for this buffer. */
		self->pending_ = {buffer, stamp, now};
		return GST_PAD_PROBE_OK;
	}

	/* The decoder's streaming thread. */
	static GstPadProbeReturn on_decoded(GstPad *pad, GstPadProbeInfo *info, gpointer data)
	{
		auto *self = static_cast<StampReader *>(data);
		const std::uint32_t now = now_ms32();
		auto stamp = stamp_of(pad, GST_PAD_PROBE_INFO_BUFFER(info));
		if (!stamp)
			return GST_PAD_PROBE_OK;
		std::lock_guard l(self->lock_);
		auto &d = self->decoded_;
		if (d.empty() || std::int32_t(*stamp - d.back().first) > 0)
			d.emplace_back(*stamp, now);
		if (d.size() > kMaxDecoded)
			d.pop_front();
		return GST_PAD_PROBE_OK;
	}

	/* When `stamp` left the decoder, in ms after it was stamped; NaN if unseen. */
	double decoded_latency_locked(std::uint32_t stamp)
	{
		while (!decoded_.empty() && std::int32_t(decoded_.front().first - stamp) < 0)
			decoded_.pop_front();
		if (decoded_.empty() || decoded_.front().first != stamp)
			return NAN;
		return double(std::int32_t(decoded_.front().second - stamp));
	}

	static void on_handoff(GstElement *, GstBuffer *buffer, GstPad *, gpointer data)
	{
		static_cast<StampReader *>(data)->shown(buffer, now_ms32());
	}

	void shown(GstBuffer *buffer, std::uint32_t now)
	{
		const Pending p = std::exchange(pending_, {});
		std::lock_guard l(lock_);
		if (phase_ == Phase::Warmup && g_get_monotonic_time() >= warmup_end_us_)
			phase_ = Phase::Measuring;
		if (phase_ != Phase::Measuring)
			return;
		const bool started = window_start_us_ != 0;
		if (started)
			frames_++;
		else
			frames_before_window_++;
		if (p.buffer != buffer || !p.stamp) {
			if (started)
				undecodable_++;
			return;
		}
		const std::uint32_t stamp = *p.stamp;
		/* Wall-clock ms modulo 2^32: differences are exact across the wrap. */
		const auto shown_ms = std::int32_t(now - stamp);
		const auto arrived_ms = std::int32_t(p.arrived - stamp);
		if (shown_ms < 0 || shown_ms > 60000) {
			if (started)
				implausible_++;
			return;
		}
		if (have_last_ && std::int32_t(stamp - last_stamp_) <= 0) {
			/* The compositor shows the last frame again when none came in. */
			if (started)
				repeats_++;
			return;
		}
		/* Sender frames are 33 ms apart: a longer step skipped some. */
		if (have_last_ && started) {
			const auto step = std::int32_t(stamp - last_stamp_);
			max_step_ms_ = std::max(max_step_ms_, step);
			if (step > kSkipStepMs)
				skips_++;
		}
		have_last_ = true;
		last_stamp_ = stamp;
		const gint64 t = g_get_monotonic_time();
		if (!started) {
			window_start_us_ = t;
			frames_ = 1;
		}
		last_sample_us_ = t;
		samples_.push_back(
		    {double(shown_ms), double(arrived_ms), decoded_latency_locked(stamp)});
		if (double(t - window_start_us_) / 1e6 >= opt_.seconds) {
			phase_ = Phase::Done;
			g_idle_add(on_done, this);
		}
	}

	static gboolean on_done(gpointer data)
	{
		static_cast<StampReader *>(data)->finish(nullptr);
		return G_SOURCE_REMOVE;
	}

	static gboolean on_watchdog(gpointer data)
	{
		auto *self = static_cast<StampReader *>(data);
		const gint64 now = g_get_monotonic_time();
		const char *why = nullptr;
		{
			std::lock_guard l(self->lock_);
			if (self->phase_ == Phase::Done)
				return G_SOURCE_REMOVE;
			const double since_warmup = double(now - self->warmup_end_us_) / 1e6;
			if (!self->window_start_us_ && since_warmup > self->opt_.start_timeout)
				why = "no stamp could be read from the grid";
			else if (self->window_start_us_ &&
				 double(now - self->last_sample_us_) / 1e6 >
				     self->opt_.start_timeout)
				why = "no new stamp for --start-timeout seconds";
			if (why)
				self->phase_ = Phase::Done;
		}
		if (!why)
			return G_SOURCE_CONTINUE;
		self->finish(why);
		return G_SOURCE_REMOVE;
	}

	/* Main context. Writes the figures and leaves the room (App::run's SIGINT). */
	void finish(const char *failure)
	{
		std::string text;
		{
			std::lock_guard l(lock_);
			text = report(failure);
		}
		g_printerr("%s", text.c_str());
		if (opt_.report) {
			g_autoptr(GError) err = nullptr;
			if (!g_file_set_contents(opt_.report, text.c_str(), -1, &err))
				g_printerr("e2e: cannot write %s: %s\n", opt_.report, err->message);
		}
		failed_ = failure != nullptr;
		kill(getpid(), SIGINT);
	}

	std::string report(const char *failure) const
	{
		std::vector<double> shown, arrived, decoded;
		for (const auto &s : samples_) {
			shown.push_back(s.shown_ms);
			arrived.push_back(s.arrived_ms);
			decoded.push_back(s.decoded_ms);
		}
		auto figures = [](const std::vector<double> &v) {
			g_autofree gchar *s = g_strdup_printf(
			    "p50 %.0f  p95 %.0f  min %.0f  max %.0f ms", percentile(v, 50),
			    percentile(v, 95), percentile(v, 0), percentile(v, 100));
			return std::string(s);
		};
		const double window_s =
		    window_start_us_ ? double(last_sample_us_ - window_start_us_) / 1e6 : 0;
		const double bad_pct =
		    frames_ ? 100.0 * double(undecodable_ + implausible_) / double(frames_) : NAN;
		auto line = [](const char *format, auto... args) {
			g_autofree gchar *s = g_strdup_printf(format, args...);
			return std::string(s);
		};
		std::string out;
		if (failure)
			out +=
			    line("e2e: FAILED: %s (%" G_GUINT64_FORMAT " grid frames shown after "
				 "the warm-up before the first stamp read)\n",
				 failure, frames_before_window_);
		out += line("e2e: receiver grid %dx%d, jitter-buffer latency %u ms; reported "
			    "latency: pipeline %.1f ms, video path %.1f ms\n",
			    grid_width_.load(), grid_height_.load(), jitter_latency_ms_,
			    pipeline_latency_ms_, video_latency_ms_);
		out += line("e2e: %.1f s window: %" G_GUINT64_FORMAT " grid frames shown, %zu "
			    "stamps read (first showing of each), %" G_GUINT64_FORMAT
			    " repeats, %" G_GUINT64_FORMAT " undecodable, %" G_GUINT64_FORMAT
			    " implausible (%.2f %% of frames unusable)\n",
			    window_s, frames_, samples_.size(), repeats_, undecodable_,
			    implausible_, bad_pct);
		out +=
		    line("e2e: sender frames never shown: %" G_GUINT64_FORMAT " steps over %d ms "
			 "between consecutive stamps shown, the longest %d ms\n",
			 skips_, kSkipStepMs, max_step_ms_);
		out += "e2e: shown (handoff, after the sink's sync): " + figures(shown) + "\n";
		out += "e2e: out of meshcallbin (before the sync):   " + figures(arrived) + "\n";
		out += "e2e: out of the receiver's decoder:          " + figures(decoded) + "\n";
		out += line("RESULT latency=%u count=%zu p50=%.0f p95=%.0f min=%.0f max=%.0f "
			    "unusable_pct=%.2f arrive_p50=%.0f arrive_p95=%.0f decoded_p50=%.0f "
			    "decoded_p95=%.0f pipeline_latency_ms=%.1f video_latency_ms=%.1f "
			    "skips=%" G_GUINT64_FORMAT " max_step_ms=%d repeats=%" G_GUINT64_FORMAT
			    " window_s=%.1f ok=%d\n",
			    jitter_latency_ms_, samples_.size(), percentile(shown, 50),
			    percentile(shown, 95), percentile(shown, 0), percentile(shown, 100),
			    bad_pct, percentile(arrived, 50), percentile(arrived, 95),
			    percentile(decoded, 50), percentile(decoded, 95), pipeline_latency_ms_,
			    video_latency_ms_, skips_, max_step_ms_, repeats_, window_s,
			    failure ? 0 : 1);
		return out;
	}

	struct Pending {
		GstBuffer *buffer = nullptr; /* identity only, never dereferenced */
		std::optional<std::uint32_t> stamp;
		std::uint32_t arrived = 0;
	};

	static constexpr std::size_t kMaxDecoded = 300; /* 10 s of frames */
	static constexpr std::int32_t kSkipStepMs = 50; /* 1.5 frames at 30 fps */

	GstElement *pipeline_;
	GstElement *call_;
	GstPad *sink_pad_; /* owned */
	const BenchOptions &opt_;
	/* Main context only (before timing starts). */
	guint jitter_latency_ms_ = 0;
	double pipeline_latency_ms_ = NAN, video_latency_ms_ = NAN;
	bool failed_ = false;
	/* The sink's streaming thread only. */
	Pending pending_;
	std::atomic<int> grid_width_{0}, grid_height_{0}; /* for the report */

	std::mutex lock_; /* guards the rest */
	Phase phase_ = Phase::Idle;
	gint64 warmup_end_us_ = 0;
	gint64 window_start_us_ = 0; /* first sample after the warm-up; 0: none yet */
	gint64 last_sample_us_ = 0;
	bool have_last_ = false;
	std::uint32_t last_stamp_ = 0;
	std::uint64_t frames_ = 0, repeats_ = 0, undecodable_ = 0, implausible_ = 0;
	std::uint64_t frames_before_window_ = 0; /* shown after the warm-up, before a stamp */
	std::uint64_t skips_ = 0;		 /* steps between stamps shown > kSkipStepMs */
	std::int32_t max_step_ms_ = 0;
	std::vector<Sample> samples_;
	/* Stamps out of the decoder, oldest first, with when (wall-clock ms). */
	std::deque<std::pair<std::uint32_t, std::uint32_t>> decoded_;
};

int run(int argc, char **argv)
{
	using namespace meshcall::app;
	bool help = false;
	for (int i = 1; i < argc; i++)
		help = help || !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h");
	if (help)
		std::fputs(kUsage, stdout); /* then the app's parser prints its own */
	BenchOptions bench;
	std::string error;
	if (!take_bench_options(argc, argv, bench, error) && !help) {
		g_printerr("meshcall-e2e-bench: %s\n", error.c_str());
		return kExitBadArguments;
	}
	Options options;
	switch (parse_options(argc, argv, options, error, gst_init_get_option_group())) {
	case ParseResult::ExitOk:
		return kExitOk;
	case ParseResult::BadArgs:
		g_printerr("meshcall-e2e-bench: %s\n", error.c_str());
		return kExitBadArguments;
	case ParseResult::Run:
		break;
	}
	const bool send = !std::strcmp(bench.role, "send");
	if (!send && !options.headless) {
		g_printerr("meshcall-e2e-bench: --role receive reads the grid at --headless's "
			   "\"video-out\" sink\n");
		return kExitBadArguments;
	}
	gst_init(nullptr, nullptr);
	int code;
	{
		App app(std::move(options));
		if ((code = app.build()) != kExitOk)
			return code;
		GstBin *pipeline = GST_BIN(app.pipeline());
		std::unique_ptr<StampWriter> writer;
		std::unique_ptr<StampReader> reader;
		if (send) {
			g_autoptr(GstElement) camera = gst_bin_get_by_name(pipeline, "camera");
			g_autoptr(GstPad) pad = gst_element_get_static_pad(camera, "src");
			writer = std::make_unique<StampWriter>(pad);
		} else {
			g_autoptr(GstElement) sink = gst_bin_get_by_name(pipeline, "video-out");
			if (!sink) {
				g_printerr(
				    "meshcall-e2e-bench: no \"video-out\" sink (--video-sink "
				    "replaces it)\n");
				return kExitBadArguments;
			}
			reader =
			    std::make_unique<StampReader>(app.pipeline(), app.call(), sink, bench);
		}
		code = app.run();
		if (writer)
			g_printerr("e2e: %" G_GUINT64_FORMAT " frames stamped, %" G_GUINT64_FORMAT
				   " not\n",
				   writer->stamped(), writer->refused());
		if (reader && reader->failed() && code == kExitOk)
			code = kExitFailure;
	}
	gst_deinit();
	g_free(bench.role);
	g_free(bench.report);
	return code;
}

} // namespace
} // namespace meshcall::bench

int main(int argc, char **argv)
{
	/* As the app's main.cpp: libcamera's probes would flood stderr. */
	g_setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", FALSE);
	return meshcall::bench::run(argc, argv);
}
