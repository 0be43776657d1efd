// SPDX-License-Identifier: LGPL-2.1-or-later
/* Finding a remote peer's media inside a receiving meshcallbin, for the call
 * benchmarks (join_bench.cpp, switch_bench.cpp): each incoming stream leaves
 * its webrtcbin (webrtc-<peer id>) through a pad that meshcallbin links to a
 * depayloader, then a decoder, then (after a textoverlay for video) a
 * compositor or audiomixer sink pad. */
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gst/gst.h>

namespace meshcall::bench
{

/* The webrtcbin an element sits in (webrtc-<peer id>), or "". */
std::string webrtc_of(GstElement *e);

bool caps_are_video(GstPad *pad);

/* The element the "src" pad of `e` is linked to (a new reference), or null. */
GstElement *element_after(GstElement *e);

/* Called on a streaming thread for each stream a remote peer sends, after
 * meshcallbin's own pad-added handler linked `depay`. */
using IncomingStreamFn =
    std::function<void(const std::string &webrtc, bool video, GstElement *depay)>;

/* Watches every webrtcbin that appears in `pipeline` from now on. */
void watch_incoming_streams(GstElement *pipeline, IncomingStreamFn on_stream);

/* Nearest-rank percentile `p` (0–100) of the values that are not NaN; NaN
 * when there are none. */
inline double percentile(std::vector<double> v, double p)
{
	std::erase_if(v, [](double x) { return std::isnan(x); });
	if (v.empty())
		return NAN;
	std::sort(v.begin(), v.end());
	std::size_t rank = std::size_t(std::ceil(p / 100.0 * double(v.size())));
	return v[std::min(v.size() - 1, rank ? rank - 1 : 0)];
}

} // namespace meshcall::bench
