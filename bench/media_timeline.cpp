// SPDX-License-Identifier: LGPL-2.1-or-later
#include "media_timeline.h"

#include <algorithm>
#include <array>

#include <gst/video/video.h>

#include "room_member.h"

namespace meshcall::bench
{

const char *content_name(Content c)
{
	switch (c) {
	case Content::Red:
		return "red";
	case Content::Green:
		return "green";
	case Content::Blue:
		return "blue";
	case Content::Silence:
		return "silence";
	case Content::Tone440Loud:
		return "440 Hz (mic)";
	case Content::Tone440Quiet:
		return "440 Hz (test)";
	case Content::Tone1000:
		return "1000 Hz";
	case Content::Unknown:
		break;
	}
	return "other";
}

namespace
{

/* The colour at the centre of a raw frame (the label meshcallbin draws sits
 * at the bottom left, the sender's borders at the sides). */
Content classify_frame(const GstCaps *caps, GstBuffer *buf)
{
	GstVideoInfo info;
	if (!gst_video_info_from_caps(&info, caps) || GST_VIDEO_INFO_N_COMPONENTS(&info) < 3)
		return Content::Unknown;
	GstVideoFrame frame;
	if (!gst_video_frame_map(&frame, &info, buf, GST_MAP_READ))
		return Content::Unknown;
	std::array<double, 3> c{};
	for (int i = 0; i < 3; i++) {
		const int w = GST_VIDEO_FRAME_COMP_WIDTH(&frame, i);
		const int h = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, i);
		const int stride = GST_VIDEO_FRAME_COMP_STRIDE(&frame, i);
		const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, i);
		const auto *data =
		    static_cast<const guint8 *>(GST_VIDEO_FRAME_COMP_DATA(&frame, i));
		/* A 4x4 block of the component's own resolution: the encoder's
		 * ringing at a pixel is averaged out. */
		int n = 0;
		for (int y = h / 2 - 2; y < h / 2 + 2; y++)
			for (int x = w / 2 - 2; x < w / 2 + 2; x++, n++)
				c[i] += data[y * stride + x * pstride];
		c[i] /= n;
	}
	const bool yuv = GST_VIDEO_INFO_IS_YUV(&info);
	gst_video_frame_unmap(&frame);
	double r = c[0], g = c[1], b = c[2];
	if (yuv) { /* BT.601, limited range: what vp8dec and videoconvert give */
		const double y = 1.164 * (c[0] - 16), u = c[1] - 128, v = c[2] - 128;
		r = y + 1.596 * v;
		g = y - 0.813 * v - 0.391 * u;
		b = y + 2.018 * u;
	}
	struct Ref {
		Content content;
		double r, g, b;
	};
	for (const Ref &ref : {Ref{Content::Red, 255, 0, 0}, Ref{Content::Green, 0, 255, 0},
			       Ref{Content::Blue, 0, 0, 255}}) {
		const double d = std::hypot(r - ref.r, g - ref.g, b - ref.b);
		if (d < 100)
			return ref.content;
	}
	return Content::Unknown;
}

/* Amplitude of `hz` in the first channel of S16LE samples (1: full scale). */
double goertzel(const gint16 *s, std::size_t frames, int channels, int rate, double hz)
{
	const double k = 2 * std::cos(2 * M_PI * hz / rate);
	double s1 = 0, s2 = 0;
	for (std::size_t i = 0; i < frames; i++) {
		const double s0 = s[i * channels] / 32768.0 + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	const double power = s1 * s1 + s2 * s2 - k * s1 * s2;
	return 2 * std::sqrt(std::max(power, 0.0)) / double(frames);
}

/* Which of the bench's tones a buffer carries. The fake microphones play at
 * half scale, switchaudiosrc's `test` at 0.3. */
Content classify_audio(const GstCaps *caps, GstBuffer *buf, Sample &sample)
{
	const GstStructure *st = gst_caps_get_structure(caps, 0);
	const char *format = gst_structure_get_string(st, "format");
	int rate = 0, channels = 1;
	gst_structure_get_int(st, "rate", &rate);
	gst_structure_get_int(st, "channels", &channels);
	if (!format || !g_str_equal(format, "S16LE") || rate <= 0 || channels <= 0)
		return Content::Unknown;
	GstMapInfo map;
	if (!gst_buffer_map(buf, &map, GST_MAP_READ))
		return Content::Unknown;
	const auto *s = reinterpret_cast<const gint16 *>(map.data);
	const std::size_t frames = map.size / (2 * std::size_t(channels));
	double sum = 0;
	for (std::size_t i = 0; i < frames; i++)
		sum += double(s[i * channels]) * s[i * channels];
	const double rms = frames ? std::sqrt(sum / double(frames)) / 32768.0 : 0;
	sample.a440 = float(frames ? goertzel(s, frames, channels, rate, 440) : 0);
	sample.a1000 = float(frames ? goertzel(s, frames, channels, rate, 1000) : 0);
	gst_buffer_unmap(buf, &map);
	if (frames == 0)
		return Content::Unknown;
	if (rms < 0.01)
		return Content::Silence;
	const double a440 = sample.a440, a1000 = sample.a1000;
	if (a1000 > 0.35 && a440 < 0.1)
		return Content::Tone1000;
	if (a440 > 0.4 && a1000 < 0.1)
		return Content::Tone440Loud;
	if (a440 > 0.2 && a440 < 0.38 && a1000 < 0.1)
		return Content::Tone440Quiet;
	return Content::Unknown;
}

/* The pipeline's running time now minus the buffer's; 0 if unknown. */
std::int64_t lateness_us(GstPad *pad, GstBuffer *buf)
{
	GstElement *element = GST_ELEMENT(GST_PAD_PARENT(pad));
	GstClock *clock = element ? gst_element_get_clock(element) : nullptr;
	if (!clock)
		return 0;
	const GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(element);
	gst_object_unref(clock);
	GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
	if (!ev)
		return 0;
	const GstSegment *seg = nullptr;
	gst_event_parse_segment(ev, &seg);
	const GstClockTime rt =
	    gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
	gst_event_unref(ev);
	return GST_CLOCK_TIME_IS_VALID(rt) ? (std::int64_t(now) - std::int64_t(rt)) / 1000 : 0;
}

double median_lateness_ms(const std::vector<Sample> &samples, std::int64_t from, std::int64_t to)
{
	std::vector<double> v;
	for (const Sample &s : samples)
		if (s.t_us >= from && s.t_us < to)
			v.push_back(double(s.late_us) / 1000.0);
	if (v.empty())
		return NAN;
	std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
	return v[v.size() / 2];
}

} // namespace

void MediaTimeline::watch(GstPad *pad)
{
	gst_pad_add_probe(
	    pad, GST_PAD_PROBE_TYPE_BUFFER,
	    [](GstPad *pad, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
		    const std::int64_t t = now_us();
		    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
		    Sample s{t, GST_BUFFER_PTS(buf), GST_BUFFER_DURATION(buf), Content::Unknown};
		    s.late_us = lateness_us(pad, buf);
		    if (GstCaps *caps = gst_pad_get_current_caps(pad)) {
			    const GstStructure *st = gst_caps_get_structure(caps, 0);
			    if (gst_structure_has_name(st, "video/x-raw"))
				    s.content = classify_frame(caps, buf);
			    else if (gst_structure_has_name(st, "audio/x-raw"))
				    s.content = classify_audio(caps, buf, s);
			    gst_caps_unref(caps);
		    }
		    static_cast<MediaTimeline *>(d)->add(s);
		    return GST_PAD_PROBE_OK;
	    },
	    this, nullptr);
}

void MediaTimeline::add(const Sample &s)
{
	std::lock_guard l(lock_);
	samples_.push_back(s);
}

std::vector<Sample> MediaTimeline::snapshot() const
{
	std::lock_guard l(lock_);
	return samples_;
}

std::size_t MediaTimeline::size() const
{
	std::lock_guard l(lock_);
	return samples_.size();
}

int MediaTimeline::count_since(std::int64_t t_us, Content c) const
{
	std::lock_guard l(lock_);
	int n = 0;
	for (auto it = samples_.rbegin(); it != samples_.rend() && it->t_us >= t_us; ++it)
		n += it->content == c;
	return n;
}

SwitchView view_switch(const std::vector<Sample> &samples, std::int64_t t0, Content from,
		       Content to, std::int64_t before_us, std::int64_t after_us,
		       std::int64_t give_up_us)
{
	SwitchView v;
	std::int64_t end = t0 + give_up_us;
	for (const Sample &s : samples)
		if (s.t_us >= t0 && s.content == to) {
			v.first_ms = double(s.t_us - t0) / 1000.0;
			end = s.t_us + after_us;
			break;
		}
	const std::int64_t start = t0 - before_us;
	double gap = 0, step = 0, hole = 0;
	for (std::size_t i = 1; i < samples.size(); i++) {
		const Sample &a = samples[i - 1], &b = samples[i];
		if (b.t_us < start || a.t_us > end)
			continue;
		gap = std::max(gap, double(b.t_us - a.t_us) / 1000.0);
		if (GST_CLOCK_TIME_IS_VALID(a.pts) && GST_CLOCK_TIME_IS_VALID(b.pts)) {
			const GstClockTime a_end =
			    a.pts + (GST_CLOCK_TIME_IS_VALID(a.duration) ? a.duration : 0);
			if (b.pts > a_end)
				hole = std::max(hole, double(b.pts - a_end) / 1e6);
			if (b.pts > a.pts)
				step = std::max(step, double(b.pts - a.pts) / 1e6);
		}
		if (b.t_us <= end && b.content != from && b.content != to)
			v.other++;
	}
	v.gap_ms = gap;
	v.pts_step_ms = step;
	v.pts_hole_ms = hole;
	if (!std::isnan(v.first_ms))
		v.delay_step_ms = median_lateness_ms(samples, end - after_us, end) -
				  median_lateness_ms(samples, start, t0);
	return v;
}

std::vector<double>
intervals_outside(const std::vector<Sample> &samples,
		  const std::vector<std::pair<std::int64_t, std::int64_t>> &windows,
		  Content content)
{
	std::vector<double> out;
	for (std::size_t i = 1; i < samples.size(); i++) {
		if (content != Content::Unknown && samples[i].content != content)
			continue;
		const std::int64_t a = samples[i - 1].t_us, b = samples[i].t_us;
		const bool touches =
		    std::any_of(windows.begin(), windows.end(),
				[&](const auto &w) { return b >= w.first && a < w.second; });
		if (!touches)
			out.push_back(double(b - a) / 1000.0);
	}
	return out;
}

} // namespace meshcall::bench
