// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall-switch-bench: what the other peer sees and hears when a peer
 * changes camera or microphone in the middle of a call.
 *
 * A sender (switchvideosrc and switchaudiosrc on the meshcalltest fake
 * devices into a meshcallbin) and a receiver (a receive-only meshcallbin)
 * share a room; both pipelines live in this process so that one clock times both
 * sides. Once the receiver decodes the sender's red camera steadily, the
 * bench switches the camera N times (Red → Green → Blue → Red …), then the
 * microphone N times in place (440 Hz ↔ 1000 Hz), then N times between a
 * microphone and `test` (a new source element each time). For each switch,
 * t0 is when `device` is set; the receiver's decoder output for the sender
 * is timed buffer by buffer and classified (the frame's centre colour, the
 * tone by Goertzel), and so is the switch source's own output at the
 * sender, to tell where a gap comes from. See bench/README.md. Run inside
 * tests/netns-run.sh. */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "incoming_media.h"
#include "media_timeline.h"
#include "proc_stats.h"
#include "room_member.h"

namespace meshcall::bench
{
namespace
{

struct Options {
	std::string server;
	std::string room = "switch-bench";
	int rounds = 20;
	double spacing = 1.5; /* seconds between switches */
	double timeout = 20;
	bool verbose = false;
};

/* The window a switch is judged in: from kBefore ahead of t0 until kAfter
 * past the first buffer of the new device (kGiveUp past t0 if none came). */
constexpr std::int64_t kBeforeUs = 500'000;
constexpr std::int64_t kAfterUs = 500'000;
constexpr std::int64_t kGiveUpUs = 5'000'000;

constexpr double kVideoGapTargetMs = 70, kVideoFirstTargetMs = 300, kAudioGapTargetMs = 50;

void usage()
{
	std::fprintf(stderr,
		     "usage: meshcall-switch-bench --server ws://127.0.0.1:PORT/ws [options]\n"
		     "  --rounds N     switches of each kind (20)\n"
		     "  --spacing S    seconds between switches (1.5)\n"
		     "  --room R       (switch-bench)\n"
		     "  --timeout S    for the call to come up (20)\n"
		     "  --verbose      every buffer around every switch, at both ends\n"
		     "Needs the meshcall and meshcalltest plugins (GST_PLUGIN_PATH_1_0).\n");
}

bool parse_args(int argc, char **argv, Options &o)
{
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&]() -> const char * {
			if (i + 1 >= argc) {
				std::fprintf(stderr, "%s needs a value\n", a.c_str());
				std::exit(2);
			}
			return argv[++i];
		};
		if (a == "--server")
			o.server = value();
		else if (a == "--room")
			o.room = value();
		else if (a == "--rounds")
			o.rounds = std::atoi(value());
		else if (a == "--spacing")
			o.spacing = std::atof(value());
		else if (a == "--timeout")
			o.timeout = std::atof(value());
		else if (a == "--verbose")
			o.verbose = true;
		else
			return false;
	}
	return !o.server.empty() && o.rounds > 0 && o.spacing > 0;
}

std::string member(const Options &o, const std::string &name, const std::string &sources)
{
	/* A small grid: composing what the peers show is not what we measure. */
	return sources + " meshcallbin name=m server=" + o.server + " room=" + o.room +
	       " display-name=" + name +
	       " ice-addresses=127.0.0.1 width=320 height=180 m.video_src ! fakesink m.audio_src ! "
	       "fakesink";
}

/* A sender-side element message, when it was posted. */
struct DeviceEvent {
	std::int64_t t_us;
	std::string name; /* device-switched, device-lost, device-failed */
	std::string kind;
	std::string device;
};

std::mutex g_device_events_lock;
std::vector<DeviceEvent> g_device_events; /* guarded by g_device_events_lock */

void record_device_event(const GstStructure *s, std::int64_t t)
{
	const char *name = gst_structure_get_name(s);
	if (!g_str_has_prefix(name, "device-"))
		return;
	const char *kind = gst_structure_get_string(s, "kind");
	const char *device = gst_structure_get_string(s, "device");
	std::lock_guard l(g_device_events_lock);
	g_device_events.push_back({t, name, kind ? kind : "", device ? device : ""});
}

/* The chain bins inside a switch source ("sourceN"; the funnel is "switch"). */
std::string chains_of(GstElement *switch_src)
{
	std::string names;
	GstIterator *it = gst_bin_iterate_elements(GST_BIN(switch_src));
	GValue v = G_VALUE_INIT;
	while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
		const char *n = GST_OBJECT_NAME(g_value_get_object(&v));
		if (!g_str_equal(n, "switch"))
			names += (names.empty() ? "" : ",") + std::string(n);
		g_value_reset(&v);
	}
	g_value_unset(&v);
	gst_iterator_free(it);
	return names;
}

struct Target {
	const char *device;
	Content content;
};

struct Switch {
	std::int64_t t0;
	Content from, to;
	std::string chains_before, chains_after;
	SwitchView rx, tx;		   /* at the receiver's decoder, at the switch source */
	double switched_ms = NAN;	   /* t0 → device-switched */
	std::vector<std::string> problems; /* device-failed / device-lost */
};

class Phase
{
public:
	Phase(const Options &o, GstElement *source, MediaTimeline &rx, MediaTimeline &tx)
	    : o_(o), source_(source), rx_(rx), tx_(tx)
	{
	}

	/* Sets `device` and waits until the receiver decodes the new device
	 * and kAfter more, and at least the spacing; false on a timeout. */
	bool step(Target target, Content from, std::vector<Switch> *out)
	{
		wait_until([&] { return now_us() >= next_; }, o_.spacing + 10);
		Switch sw{now_us(), from, target.content, chains_of(source_), {}, {}, {}, NAN, {}};
		g_object_set(source_, "device", target.device, nullptr);
		bool ok = wait_until([&] { return rx_.count_since(sw.t0, target.content) > 0; },
				     double(kGiveUpUs) / 1e6);
		const std::int64_t seen = now_us();
		windows_.emplace_back(sw.t0 - kBeforeUs, seen + kAfterUs);
		wait_until([&] { return now_us() >= seen + kAfterUs + 100'000; }, 2);
		sw.chains_after = chains_of(source_);
		next_ = sw.t0 + std::int64_t(o_.spacing * 1e6);
		if (out)
			out->push_back(std::move(sw));
		return ok;
	}

	/* Judges the switches once they are all done. */
	void analyse(std::vector<Switch> &switches) const
	{
		const std::vector<Sample> rx = rx_.snapshot(), tx = tx_.snapshot();
		std::vector<DeviceEvent> events;
		{
			std::lock_guard l(g_device_events_lock);
			events = g_device_events;
		}
		for (std::size_t i = 0; i < switches.size(); i++) {
			Switch &sw = switches[i];
			const std::int64_t until =
			    i + 1 < switches.size() ? switches[i + 1].t0 : sw.t0 + kGiveUpUs;
			sw.rx =
			    view_switch(rx, sw.t0, sw.from, sw.to, kBeforeUs, kAfterUs, kGiveUpUs);
			sw.tx =
			    view_switch(tx, sw.t0, sw.from, sw.to, kBeforeUs, kAfterUs, kGiveUpUs);
			for (const DeviceEvent &e : events) {
				if (e.t_us < sw.t0 || e.t_us >= until)
					continue;
				if (e.name == "device-switched" && std::isnan(sw.switched_ms))
					sw.switched_ms = double(e.t_us - sw.t0) / 1000.0;
				else if (e.name != "device-switched")
					sw.problems.push_back(e.name + " " + e.device);
			}
		}
	}

	/* Intervals between buffers away from the window of every switch this
	 * phase made, at the receiver and out of the switch source. */
	std::vector<double> normal_intervals(bool receiver,
					     Content content = Content::Unknown) const
	{
		return intervals_outside((receiver ? rx_ : tx_).snapshot(), windows_, content);
	}

	/* What the switch source put out and the receiver got, from 100 ms
	 * before t0 to 100 ms after the first new buffer at the receiver. */
	void dump(const Switch &sw) const
	{
		const std::int64_t end =
		    sw.t0 + (std::isnan(sw.rx.first_ms)
				 ? kGiveUpUs
				 : std::int64_t(sw.rx.first_ms * 1000) + 100'000);
		for (const auto &[label, timeline] :
		     {std::pair{"sender", &tx_}, std::pair{"receiver", &rx_}}) {
			std::int64_t prev = 0;
			for (const Sample &s : timeline->snapshot()) {
				if (s.t_us >= sw.t0 - 100'000 && s.t_us <= end)
					std::printf(
					    "      %-8s %+8.1f ms (+%5.1f)  pts %9.3f s  late "
					    "%6.1f ms  %s\n",
					    label, double(s.t_us - sw.t0) / 1000.0,
					    prev ? double(s.t_us - prev) / 1000.0 : 0.0,
					    double(s.pts) / 1e9, double(s.late_us) / 1000.0,
					    content_name(s.content));
				prev = s.t_us;
			}
		}
	}

private:
	const Options &o_;
	GstElement *source_;
	MediaTimeline &rx_, &tx_;
	std::int64_t next_ = 0;
	/* Every switch's window, as seen while switching (main thread). */
	std::vector<std::pair<std::int64_t, std::int64_t>> windows_;
};

/* How busy this process and the machine were during a phase: the figures
 * are only as good as the CPU the pipelines got. */
class LoadWindow
{
public:
	LoadWindow()
	    : t_(now_us()), self_(sample_proc(0)), wait_(runq_wait_threads(0)),
	      machine_(sample_machine())
	{
	}
	std::string describe() const
	{
		const double secs = double(now_us() - t_) / 1e6;
		const ProcSample self = sample_proc(0);
		const MachineSample machine = sample_machine();
		const double cpu = (self.cpu_s - self_.cpu_s) / secs * 100.0;
		const double busy = (machine.busy_s - machine_.busy_s) / secs * 100.0;
		char buf[256];
		std::snprintf(
		    buf, sizeof(buf),
		    "this process (both pipelines) %.0f %% of a core, its threads waited "
		    "for a CPU %.0f %% of the time (summed); other processes %.0f %% (of %d "
		    "cores)",
		    cpu, (runq_wait_threads(0) - wait_) / secs * 100.0, std::max(0.0, busy - cpu),
		    machine.cpus);
		return buf;
	}

private:
	std::int64_t t_;
	ProcSample self_;
	double wait_;
	MachineSample machine_;
};

/* One row of p50/p95/max over the switches. */
void print_row(const char *label, const std::vector<double> &v, const std::string &target = "")
{
	std::printf("  %-52s %7.1f %7.1f %7.1f   %s\n", label, percentile(v, 50), percentile(v, 95),
		    percentile(v, 100), target.c_str());
}

std::string goal(double p95, double limit)
{
	char buf[96];
	std::snprintf(buf, sizeof(buf), "target p95 ≤ %.0f ms: %s", limit,
		      p95 <= limit ? "met" : "NOT met");
	return buf;
}

/* The receiver's figures of one kind of switch, for the RESULT line. */
struct Figures {
	std::vector<double> gap, first;
	int failed = 0;
};

/* Per-switch lines and the p50/p95/max table of one kind of switch. */
Figures report(const char *title, const Phase &phase, std::vector<Switch> &switches, bool video,
	       double gap_target, const std::string &load, bool verbose)
{
	phase.analyse(switches);
	std::printf("\n%s\n  %s\n", title, load.c_str());
	std::printf("   #  %-28s %7s %7s %7s %7s %5s | %8s %7s %7s %7s  %s\n", "switch", "first",
		    "gap", video ? "pts-stp" : "pts-hol", "delay+", "other", "switched", "first",
		    "gap", video ? "pts-stp" : "pts-hol", "source chains");
	/* Video frames are a PTS step apart, audio buffers adjoin. */
	auto pts = [video](const SwitchView &v) { return video ? v.pts_step_ms : v.pts_hole_ms; };
	Figures f;
	std::vector<double> holes, delay, tx_first, tx_gap, tx_holes, switched;
	int new_sources = 0;
	for (std::size_t i = 0; i < switches.size(); i++) {
		const Switch &sw = switches[i];
		std::string name = std::string(content_name(sw.from)) + " → " + content_name(sw.to);
		std::printf("  %2zu  %-28s %7.1f %7.1f %7.1f %7.1f %5d | %8.1f %7.1f %7.1f %7.1f  "
			    "%s → %s\n",
			    i + 1, name.c_str(), sw.rx.first_ms, sw.rx.gap_ms, pts(sw.rx),
			    sw.rx.delay_step_ms, sw.rx.other, sw.switched_ms, sw.tx.first_ms,
			    sw.tx.gap_ms, pts(sw.tx), sw.chains_before.c_str(),
			    sw.chains_after.c_str());
		for (const std::string &p : sw.problems)
			std::printf("      PROBLEM: %s\n", p.c_str());
		if (verbose)
			phase.dump(sw);
		f.failed += std::isnan(sw.rx.first_ms);
		f.gap.push_back(sw.rx.gap_ms);
		f.first.push_back(sw.rx.first_ms);
		holes.push_back(pts(sw.rx));
		delay.push_back(sw.rx.delay_step_ms);
		switched.push_back(sw.switched_ms);
		tx_first.push_back(sw.tx.first_ms);
		tx_gap.push_back(sw.tx.gap_ms);
		tx_holes.push_back(pts(sw.tx));
		new_sources += sw.chains_before != sw.chains_after;
	}
	const char *unit = video ? "frame" : "buffer";
	std::printf("  %-52s %7s %7s %7s\n", "ms, over the switches", "p50", "p95", "max");
	print_row("receiver: longest gap between decoded buffers", f.gap,
		  goal(percentile(f.gap, 95), gap_target));
	print_row(video ? "receiver: t0 → first frame of the new camera"
			: "receiver: t0 → first buffer of the new tone",
		  f.first, video ? goal(percentile(f.first, 95), kVideoFirstTargetMs) : "");
	print_row(video ? "receiver: longest PTS step" : "receiver: longest hole in media time",
		  holes);
	print_row("receiver: delay added (lateness after − before)", delay);
	print_row("sender: t0 → device-switched", switched);
	print_row("sender: t0 → new device out of the switch source", tx_first);
	print_row("sender: longest gap out of the switch source", tx_gap);
	print_row(video ? "sender: longest PTS step, switch source"
			: "sender: longest hole in media time, switch source",
		  tx_holes);
	std::printf("  normal interval between %ss away from switches, ms:\n", unit);
	for (bool receiver : {true, false}) {
		std::printf("    %-24s", receiver ? "at the receiver" : "out of the switch source");
		std::vector<Content> contents{Content::Unknown};
		for (const Switch &sw : switches)
			if (std::find(contents.begin(), contents.end(), sw.to) == contents.end())
				contents.push_back(sw.to);
		for (Content c : contents) {
			const std::vector<double> normal = phase.normal_intervals(receiver, c);
			std::printf("  %s p50 %.1f p95 %.1f (%zu)%s",
				    c == Content::Unknown ? "all" : content_name(c),
				    percentile(normal, 50), percentile(normal, 95), normal.size(),
				    c == contents.back() ? "\n" : ";");
		}
	}
	std::printf("  switches that built a new source chain: %d of %zu; new device never "
		    "reached the receiver: %d\n",
		    new_sources, switches.size(), f.failed);
	std::fflush(stdout);
	return f;
}

/* The receiver decodes the sender's `content` steadily: `count` buffers in
 * the last second. */
bool steady(const MediaTimeline &t, Content content, int count, double timeout)
{
	return wait_until([&] { return t.count_since(now_us() - 1'000'000, content) >= count; },
			  timeout);
}

int run(const Options &o)
{
	if (GstElementFactory *f = gst_element_factory_find("meshcallfakesrc")) {
		gst_object_unref(f);
	} else {
		std::fprintf(stderr, "the meshcalltest plugin (fake devices) is not in "
				     "GST_PLUGIN_PATH_1_0: build with -Dtests=enabled\n");
		return 2;
	}
	/* Before the pipelines: their probes write here until they stop. */
	MediaTimeline rx_video, rx_audio, tx_video, tx_audio;
	RoomMember sender(
	    "sender",
	    member(o, "sender",
		   "switchvideosrc name=camera device=\"Fake Camera Red\" ! m.video_sink "
		   "switchaudiosrc name=mic device=\"Fake Microphone 440\" ! m.audio_sink"));
	/* Receive-only (no sink pads): a second VP8 encoder would take the CPU
	 * the measured pipelines need on a small machine. */
	RoomMember receiver("receiver", member(o, "receiver", ""));
	if (!sender.ok() || !receiver.ok())
		return 1;
	GstElement *camera = gst_bin_get_by_name(GST_BIN(sender.pipeline()), "camera");
	GstElement *mic = gst_bin_get_by_name(GST_BIN(sender.pipeline()), "mic");

	for (auto [element, timeline] : {std::pair{camera, &tx_video}, std::pair{mic, &tx_audio}}) {
		GstPad *src = gst_element_get_static_pad(element, "src");
		timeline->watch(src);
		gst_object_unref(src);
	}
	/* The receiver's decoder output for the sender: the room has no one else. */
	watch_incoming_streams(
	    receiver.pipeline(), [&](const std::string &, bool video, GstElement *depay) {
		    if (GstElement *decoder = element_after(depay)) {
			    GstPad *src = gst_element_get_static_pad(decoder, "src");
			    (video ? rx_video : rx_audio).watch(src);
			    gst_object_unref(src);
			    gst_object_unref(decoder);
		    }
	    });
	sender.on_element_message = record_device_event;

	sender.set_state(GST_STATE_PLAYING);
	if (!wait_until([&] { return !sender.id().empty() || sender.error(); }, o.timeout) ||
	    sender.error()) {
		std::fprintf(stderr, "the sender did not join\n");
		return 1;
	}
	receiver.set_state(GST_STATE_PLAYING);
	if (!steady(rx_video, Content::Red, 25, o.timeout) ||
	    !steady(rx_audio, Content::Tone440Loud, 40, o.timeout)) {
		std::fprintf(stderr,
			     "the receiver does not decode the sender's red camera and "
			     "440 Hz microphone (%zu video frames, %zu audio buffers)\n",
			     rx_video.size(), rx_audio.size());
		return 1;
	}
	wait_until([] { return false; }, 1.0);
	std::printf("the receiver decodes the sender; %d switches of each kind, %.1f s apart\n",
		    o.rounds, o.spacing);
	std::fflush(stdout);

	/* Each kind of switch cycles through its targets, starting from what
	 * plays now. */
	int failures = 0;
	auto cycle = [&](Phase &phase, std::vector<Target> targets, Content from,
			 std::vector<Switch> &out) {
		LoadWindow load;
		for (int i = 0; i < o.rounds; i++) {
			const Target &t = targets[std::size_t(i) % targets.size()];
			failures += !phase.step(t, from, &out);
			from = t.content;
		}
		return std::pair{from, load.describe()};
	};
	std::vector<Switch> video, in_place, new_source;
	Phase camera_phase(o, camera, rx_video, tx_video);
	auto [camera_now, video_load] = cycle(camera_phase,
					      {{"Fake Camera Green", Content::Green},
					       {"Fake Camera Blue", Content::Blue},
					       {"Fake Camera Red", Content::Red}},
					      Content::Red, video);
	/* The targets are for 30 fps cameras; Red sends 15 fps, so its frames
	 * (repeated by videorate) are 67 ms apart even between switches. */
	std::vector<Switch> video30;
	const Target blue{"Fake Camera Blue", Content::Blue};
	if (camera_now != blue.content) /* to a 30 fps camera first, not measured */
		camera_phase.step(blue, camera_now, nullptr);
	const std::string video30_load =
	    cycle(camera_phase, {{"Fake Camera Green", Content::Green}, blue}, blue.content,
		  video30)
		.second;
	Phase mic_phase(o, mic, rx_audio, tx_audio);
	const Target mic440{"Fake Microphone 440", Content::Tone440Loud};
	auto [mic_now, in_place_load] =
	    cycle(mic_phase, {{"Fake Microphone 1000", Content::Tone1000}, mic440}, mic440.content,
		  in_place);
	if (mic_now != mic440.content) /* back to 440 Hz, not measured */
		mic_phase.step(mic440, mic_now, nullptr);
	auto new_source_load =
	    cycle(mic_phase, {{"test", Content::Tone440Quiet}, mic440}, mic440.content, new_source)
		.second;
	wait_until([] { return false; }, 0.5);

	std::printf("\nper switch, ms after t0 (device set). At the receiver's decoder: first = "
		    "first buffer of the new device; gap = longest interval between buffers from "
		    "%.1f s before t0 to %.1f s after that first one; pts = longest PTS step "
		    "(video) or hole in media time (audio) there; delay+ = how much later than "
		    "before buffers arrive after the switch; other = buffers of neither device. "
		    "At the sender: switched = device-switched posted; first, gap, pts: the same "
		    "out of the switch source.\n",
		    kBeforeUs / 1e6, kAfterUs / 1e6);
	Figures fall = report("video: Fake Camera Red (15 fps) → Green → Blue (30 fps) → … "
			      "(switchvideosrc, 640x360 at 30 fps)",
			      camera_phase, video, true, kVideoGapTargetMs, video_load, o.verbose);
	Figures fv =
	    report("video between the 30 fps cameras: Fake Camera Green ↔ Blue "
		   "(switchvideosrc, 640x360 at 30 fps)",
		   camera_phase, video30, true, kVideoGapTargetMs, video30_load, o.verbose);
	Figures fa = report("audio, switched in place: Fake Microphone 440 ↔ 1000", mic_phase,
			    in_place, false, kAudioGapTargetMs, in_place_load, o.verbose);
	Figures fn = report("audio, new source: Fake Microphone 440 ↔ test", mic_phase, new_source,
			    false, kAudioGapTargetMs, new_source_load, o.verbose);

	std::printf("\nRESULT switches=%d failures=%d video_gap_p50_ms=%.1f video_gap_p95_ms=%.1f "
		    "video_gap_max_ms=%.1f video_first_p50_ms=%.1f video_first_p95_ms=%.1f "
		    "video_first_max_ms=%.1f audio_inplace_gap_p50_ms=%.1f "
		    "audio_inplace_gap_p95_ms=%.1f audio_inplace_gap_max_ms=%.1f "
		    "audio_new_gap_p50_ms=%.1f audio_new_gap_p95_ms=%.1f audio_new_gap_max_ms=%.1f "
		    "video_with_15fps_gap_p95_ms=%.1f video_with_15fps_first_p95_ms=%.1f\n",
		    o.rounds, failures, percentile(fv.gap, 50), percentile(fv.gap, 95),
		    percentile(fv.gap, 100), percentile(fv.first, 50), percentile(fv.first, 95),
		    percentile(fv.first, 100), percentile(fa.gap, 50), percentile(fa.gap, 95),
		    percentile(fa.gap, 100), percentile(fn.gap, 50), percentile(fn.gap, 95),
		    percentile(fn.gap, 100), percentile(fall.gap, 95), percentile(fall.first, 95));
	gst_object_unref(camera);
	gst_object_unref(mic);
	if (sender.error() || receiver.error())
		return 1;
	return failures ? 1 : 0;
}

} // namespace
} // namespace meshcall::bench

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	meshcall::bench::Options o;
	if (!meshcall::bench::parse_args(argc, argv, o)) {
		meshcall::bench::usage();
		return 2;
	}
	return meshcall::bench::run(o);
}
