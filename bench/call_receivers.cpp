// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall-call-receivers: the remote side of call-cpu.sh.
 *
 * Joins N receive-only meshcallbins (no sink pads: they send nothing, so the
 * measured sender pays only for sending) to a room, waits until every one of
 * them decodes the video of the peer named --sender, lets the call warm up,
 * then samples the sender's CPU time and RSS from /proc over a window while
 * checking that every receiver keeps decoding its video. Prints a RESULT line
 * for the script. See bench/README.md. Run inside tests/netns-run.sh. */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "proc_stats.h"
#include "room_member.h"

namespace meshcall::bench
{
namespace
{

struct Options {
	std::string server;
	std::string room = "call-cpu";
	int peers = 1;
	std::string sender = "measured";
	long sender_pid = 0;
	double warmup = 5;
	double window = 20;
	double timeout = 60;
};

void usage()
{
	std::fprintf(stderr,
		     "usage: meshcall-call-receivers --server ws://127.0.0.1:PORT/ws --peers N "
		     "--sender-pid PID [options]\n"
		     "  --room R        (call-cpu)\n"
		     "  --sender NAME   display-name of the measured peer (measured)\n"
		     "  --warmup S      after every receiver decodes (5)\n"
		     "  --window S      measured window (20)\n"
		     "  --timeout S     for all receivers to decode the sender (60)\n");
}

bool parse_args(int argc, char **argv, Options &o)
{
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (i + 1 >= argc)
			return false;
		const char *v = argv[++i];
		if (a == "--server")
			o.server = v;
		else if (a == "--room")
			o.room = v;
		else if (a == "--peers")
			o.peers = std::atoi(v);
		else if (a == "--sender")
			o.sender = v;
		else if (a == "--sender-pid")
			o.sender_pid = std::atol(v);
		else if (a == "--warmup")
			o.warmup = std::atof(v);
		else if (a == "--window")
			o.window = std::atof(v);
		else if (a == "--timeout")
			o.timeout = std::atof(v);
		else
			return false;
	}
	return !o.server.empty() && o.peers >= 0 && o.sender_pid > 0 && o.window > 0;
}

void pause_for(double seconds)
{
	wait_until([] { return false; }, seconds);
}

int run(const Options &o)
{
	std::vector<std::unique_ptr<RoomMember>> rx;
	for (int i = 0; i < o.peers; i++) {
		std::string name = "rx-" + std::to_string(i + 1);
		/* A small grid: the receivers' own compositing is not what we measure,
		 * and they share the machine with the sender. */
		std::string desc = "meshcallbin name=m server=" + o.server + " room=" + o.room +
				   " display-name=" + name +
				   " ice-addresses=127.0.0.1 width=160 height=90 "
				   "m.video_src ! fakesink m.audio_src ! fakesink";
		auto m = std::make_unique<RoomMember>(name, desc);
		if (!m->ok())
			return 1;
		m->set_state(GST_STATE_PLAYING);
		if (!wait_until([&] { return !m->id().empty() || m->error(); }, o.timeout) ||
		    m->error()) {
			std::fprintf(stderr, "%s could not join\n", name.c_str());
			return 1;
		}
		rx.push_back(std::move(m));
	}

	const std::int64_t t_joined = now_us();
	std::string sender_id;
	/* With --peers 0 the sender is alone: what it costs before anyone joins. */
	bool decoding = wait_until(
	    [&] {
		    for (auto &m : rx) {
			    if (m->error())
				    return true;
			    auto id = m->peer_named(o.sender);
			    if (!id || !m->video_from(*id))
				    return false;
			    sender_id = *id;
		    }
		    return true;
	    },
	    o.timeout);
	for (auto &m : rx)
		if (m->error())
			return 1;
	if (!decoding) {
		std::fprintf(stderr, "not every receiver decodes the sender's video after %.0f s:",
			     o.timeout);
		for (auto &m : rx) {
			auto id = m->peer_named(o.sender);
			std::fprintf(stderr, " %s=%s", m->label().c_str(),
				     !id		  ? "no-sender"
				     : m->video_from(*id) ? "ok"
							  : "no-video");
		}
		std::fprintf(stderr, "\n");
		return 1;
	}
	std::printf("   %d receiver(s) decode %s's video (%.1f s after the last joined); "
		    "warming up %.0f s\n",
		    o.peers, o.sender.c_str(), double(now_us() - t_joined) / 1e6, o.warmup);
	std::fflush(stdout);
	pause_for(o.warmup);

	std::vector<std::uint64_t> frames0;
	for (auto &m : rx)
		frames0.push_back(m->video_frames_from(sender_id));
	const ProcSample s0 = sample_proc(o.sender_pid);
	const double wait0 = runq_wait_threads(o.sender_pid);
	const MachineSample m0 = sample_machine();
	const ProcSample self0 = sample_proc(0);
	const std::int64_t t0 = now_us();
	pause_for(o.window);
	const std::int64_t t1 = now_us();
	const ProcSample s1 = sample_proc(o.sender_pid);
	const double wait1 = runq_wait_threads(o.sender_pid);
	const MachineSample m1 = sample_machine();
	const ProcSample self1 = sample_proc(0);
	const double secs = double(t1 - t0) / 1e6;

	double min_fps = rx.empty() ? 0 : 1e9, max_fps = 0;
	for (std::size_t i = 0; i < rx.size(); i++) {
		double fps = double(rx[i]->video_frames_from(sender_id) - frames0[i]) / secs;
		min_fps = std::min(min_fps, fps);
		max_fps = std::max(max_fps, fps);
	}
	if (s1.cpu_s < 0 || s0.cpu_s < 0) {
		std::fprintf(stderr, "the sender (pid %ld) is gone\n", o.sender_pid);
		return 1;
	}
	const double cpu_per_min = (s1.cpu_s - s0.cpu_s) / secs * 60.0;
	/* Summed over threads: can exceed 100 % (threads waiting at once). */
	const double runq = (wait1 - wait0) / secs * 100.0;
	const double machine = (m1.busy_s - m0.busy_s) / secs * 100.0;
	const double rx_cpu = (self1.cpu_s - self0.cpu_s) / secs * 100.0;
	const double other = machine - (s1.cpu_s - s0.cpu_s) / secs * 100.0 - rx_cpu;
	std::printf("   sender: %.2f CPU s/min (%.1f %% of a core), RSS %.1f MB; its threads "
		    "waited for a CPU %.0f %% of the time (summed)\n",
		    cpu_per_min, cpu_per_min / 60.0 * 100.0, double(s1.rss_kb) / 1024.0, runq);
	std::printf("   receivers decode %.1f-%.1f fps of its video; receivers' process %.0f %%, "
		    "other processes %.0f %% (of %d cores)\n",
		    min_fps, max_fps, rx_cpu, std::max(0.0, other), m1.cpus);
	if (!rx.empty() && min_fps < 25)
		std::printf("   WARNING: a receiver decoded < 25 fps: the sender or the machine "
			    "could not keep up\n");
	std::printf("RESULT peers=%d cpu_s_per_min=%.2f rss_mb=%.1f min_fps=%.1f max_fps=%.1f "
		    "runq_pct=%.1f other_pct=%.0f\n",
		    o.peers, cpu_per_min, double(s1.rss_kb) / 1024.0, min_fps, max_fps, runq,
		    std::max(0.0, other));
	std::fflush(stdout);
	rx.clear();
	return 0;
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
