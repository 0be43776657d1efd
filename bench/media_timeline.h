// SPDX-License-Identifier: LGPL-2.1-or-later
/* What passed a pad, when, and what it showed or sounded like: the raw
 * material of switch_bench.cpp. A probe on a raw video or S16LE audio pad
 * records, for each buffer, CLOCK_MONOTONIC at the probe, its PTS and
 * duration, and a class: the colour of the frame's centre, or which tone
 * (Goertzel) the buffer carries. */
#pragma once

#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <gst/gst.h>

namespace meshcall::bench
{

/* What a buffer shows or sounds like. */
enum class Content {
	Unknown, /* neither of the below (a blend, bars, another format) */
	Red,
	Green,
	Blue,
	Silence,
	Tone440Loud,  /* "Fake Microphone 440": 440 Hz at half scale */
	Tone440Quiet, /* switchaudiosrc's `test`: 440 Hz at 0.3 of full scale */
	Tone1000,     /* "Fake Microphone 1000": 1000 Hz at half scale */
};
const char *content_name(Content c);

struct Sample {
	std::int64_t t_us; /* CLOCK_MONOTONIC when the buffer passed */
	GstClockTime pts;
	GstClockTime duration;
	Content content;
	/* Running time of the pipeline when it passed minus the buffer's own:
	 * how late it is; a switch that adds delay shows as a step. */
	std::int64_t late_us = 0;
	/* Audio: Goertzel amplitudes (1: a full-scale sine) in the first channel. */
	float a440 = 0, a1000 = 0;
};

class MediaTimeline
{
public:
	/* Records every buffer through `pad` (raw video or S16LE audio). */
	void watch(GstPad *pad);
	void add(const Sample &s);
	std::vector<Sample> snapshot() const;
	std::size_t size() const;
	/* Buffers carrying `c` that passed at or after `t_us`. */
	int count_since(std::int64_t t_us, Content c) const;

private:
	mutable std::mutex lock_;
	std::vector<Sample> samples_; /* guarded by lock_ */
};

/* One switch, seen in one timeline. */
struct SwitchView {
	double first_ms = NAN;	  /* t0 → first buffer of the new content */
	double gap_ms = NAN;	  /* longest interval between buffers in the window */
	double pts_step_ms = NAN; /* longest step from one buffer's PTS to the next's */
	double pts_hole_ms = NAN; /* longest stretch of media time no buffer covers */
	int other = 0;		  /* buffers in the window that are neither old nor new */
	/* Median lateness over the window's part after the first new buffer
	 * minus over its part before t0: delay the switch added for good. */
	double delay_step_ms = NAN;
};

/* The window runs from `before_us` ahead of t0 to `after_us` past the first
 * buffer of `to` (or past t0 + `give_up_us` when it never came). */
SwitchView view_switch(const std::vector<Sample> &samples, std::int64_t t0, Content from,
		       Content to, std::int64_t before_us, std::int64_t after_us,
		       std::int64_t give_up_us);

/* Intervals between consecutive buffers that both passed outside every
 * [start, end) window, in ms; only those ending in a buffer of `content`
 * unless that is Unknown. */
std::vector<double>
intervals_outside(const std::vector<Sample> &samples,
		  const std::vector<std::pair<std::int64_t, std::int64_t>> &windows,
		  Content content = Content::Unknown);

} // namespace meshcall::bench
