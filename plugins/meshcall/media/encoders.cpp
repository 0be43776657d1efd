// SPDX-License-Identifier: LGPL-2.1-or-later
/* Making and configuring meshcallbin's encoders (see media/encoders.h). */
#include "media/encoders.h"

#include "common/elements.h"

#include "common/debug.h"

MESHCALL_DEBUG_CATEGORY(meshcall_encoders_debug, "meshcall-encoders", "meshcallbin's encoders")
#define GST_CAT_DEFAULT meshcall_encoders_debug

namespace meshcall
{

namespace
{

/* Sets a property only where the element has it, from its string form (enum
 * nicks, structures): the hardware encoders cannot be tried here, and their
 * properties change between GStreamer versions. */
void set_if_present(GstElement *e, const char *property, const char *value)
{
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), property))
		gst_util_set_object_arg(G_OBJECT(e), property, value);
	else
		GST_WARNING_OBJECT(e, "no property %s; left at its default", property);
}

bool is_hardware_encoder(const std::string &factory)
{
	for (const char *f : kHardwareH264Encoders)
		if (factory == f)
			return true;
	return false;
}

/* A periodic keyframe as a safety net for lost packets (10 s at 30 fps);
 * newcomers get theirs on demand (force-key-unit, KeyframeLimiter). */
constexpr unsigned kKeyframeSafetyInterval = 300;
/* v4l2h264enc ignores force-key-unit on 1.22.0 (docs/design.md, fact 10): its
 * periodic keyframe is all a newcomer or a lossy peer gets, so 1 s. */
constexpr int kV4l2KeyframeInterval = 30;

/* H.264 as WebRTC wants it (docs/design.md, fact 9); the payloader repeats SPS/PPS. */
constexpr const char *kH264Caps =
    "video/x-h264,profile=constrained-baseline,stream-format=byte-stream";
/* The Raspberry Pi's encoder on 1.22 fails to negotiate without a level. */
constexpr const char *kV4l2H264Caps =
    "video/x-h264,profile=constrained-baseline,level=(string)4,stream-format=byte-stream";

/* libvpx's VP8 encoder threads wait for one another spinning: on 2 cores a
 * 640x360 30 fps realtime encode took 3.9 s of CPU per 10 s with 2 threads
 * against 0.9 s with one (gst-launch-1.0 ... vp8enc threads=N, /usr/bin/time).
 * One thread encodes 720p30 in about a third of a core. */
int vp8_threads()
{
	return g_get_num_processors() > 2 ? 2 : 1;
}

/* Everything but the bitrate; returns the caps to require on its output. */
const char *configure_video_encoder(GstElement *enc, const std::string &factory)
{
	if (factory == "vp8enc") {
		/* Realtime: no lookahead, CBR, keyframes on demand with a periodic
		 * one as a safety net. */
		g_object_set(enc, "deadline", G_GINT64_CONSTANT(1), "cpu-used", 8, "end-usage",
			     1 /* cbr */, "lag-in-frames", 0, "keyframe-max-dist",
			     kKeyframeSafetyInterval, "threads", vp8_threads(), "error-resilient",
			     1 /* default */, nullptr);
		return nullptr;
	}
	if (factory == "x264enc") {
		gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
		gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "ultrafast");
		g_object_set(enc, "key-int-max", kKeyframeSafetyInterval, "b-adapt", FALSE,
			     "bframes", 0, "threads", 2, nullptr);
		return kH264Caps;
	}
	if (factory == "openh264enc") {
		g_object_set(enc, "gop-size", kKeyframeSafetyInterval, nullptr);
		return kH264Caps;
	}
	if (factory == "v4l2h264enc")
		return kV4l2H264Caps; /* bitrate and GOP go with the bitrate */
	/* VA-API (vah264enc in -bad, vaapih264enc in gstreamer-vaapi): CBR, no B
	 * frames, no CABAC or 8x8 transform (not in constrained baseline). */
	g_autofree char *period = g_strdup_printf("%u", kKeyframeSafetyInterval);
	set_if_present(enc, "rate-control", "cbr");
	set_if_present(enc, factory == "vah264enc" ? "key-int-max" : "keyframe-period", period);
	set_if_present(enc, factory == "vah264enc" ? "b-frames" : "max-bframes", "0");
	set_if_present(enc, "cabac", "false");
	set_if_present(enc, "dct8x8", "false");
	return kH264Caps;
}

/* The encoder element itself (not the bin). */
void apply_video_bitrate(GstElement *enc, unsigned kbps)
{
	const std::string factory = GST_OBJECT_NAME(gst_element_get_factory(enc));
	if (factory == "vp8enc") {
		g_object_set(enc, "target-bitrate", static_cast<int>(kbps * 1000), nullptr);
	} else if (factory == "x264enc") {
		g_object_set(enc, "bitrate", kbps, nullptr);
	} else if (factory == "openh264enc") {
		g_object_set(enc, "bitrate", kbps * 1000, nullptr);
	} else if (factory == "v4l2h264enc") {
		/* Its only way to bitrate and GOP on 1.22 (docs/design.md, fact 10). v4l2object
		 * applies a new structure at once when the device is open, so this
		 * takes effect while playing too: the Pi's bcm2835-codec takes
		 * video_bitrate mid-stream (6by9, gst-rpicamsrc issue #60).
		 * Controls the driver lacks are skipped with a warning. Mode 1 is
		 * constant bitrate. */
		GstStructure *controls = gst_structure_new(
		    "controls", "video_bitrate_mode", G_TYPE_INT, 1, "video_bitrate", G_TYPE_INT,
		    static_cast<int>(kbps * 1000), "h264_i_frame_period", G_TYPE_INT,
		    kV4l2KeyframeInterval, "repeat_sequence_header", G_TYPE_INT, 1, nullptr);
		g_object_set(enc, "extra-controls", controls, nullptr);
		gst_structure_free(controls);
	} else if (factory == "vah264enc" && GST_STATE(enc) > GST_STATE_READY) {
		/* 1.22's vah264enc refuses every property once it encodes (an
		 * error in the log, nothing else): the first bitrate stays. */
		GST_INFO_OBJECT(enc, "vah264enc keeps its bitrate while playing");
	} else {
		/* vah264enc before it starts; vaapih264enc reconfigures while
		 * playing. Both in kbit/s. */
		g_autofree char *value = g_strdup_printf("%u", kbps);
		set_if_present(enc, "bitrate", value);
	}
}

} // namespace

GstElement *make_video_encoder(const MediaSettings &s, const char *name)
{
	ensure_debug_category();
	std::string factory = s.video_encoder;
	if (factory.empty())
		factory = choose_video_encoder(s.codec, element_factory_exists).factory;
	if (factory.empty()) {
		GST_ERROR("no %s encoder is installed", to_string(s.codec));
		return nullptr;
	}
	std::vector<GstElement *> chain;
	/* Hardware encoders take few formats (vah264enc only NV12); videoconvert
	 * passes I420 through untouched to those that take it (v4l2h264enc). */
	if (is_hardware_encoder(factory))
		chain.push_back(make_element("videoconvert", "convert"));
	GstElement *enc = make_element(factory.c_str(), "encoder");
	chain.push_back(enc);
	if (enc) {
		if (const char *caps = configure_video_encoder(enc, factory))
			chain.push_back(make_capsfilter(caps));
		apply_video_bitrate(enc, s.video_bitrate_kbps);
	}
	GstElement *bin = gst_bin_new(name);
	if (!add_chain(GST_BIN(bin), chain)) {
		gst_object_unref(gst_object_ref_sink(bin));
		return nullptr;
	}
	GstPad *sink = gst_element_get_static_pad(chain.front(), "sink");
	GstPad *src = gst_element_get_static_pad(chain.back(), "src");
	gst_element_add_pad(bin, gst_ghost_pad_new("sink", sink));
	gst_element_add_pad(bin, gst_ghost_pad_new("src", src));
	gst_object_unref(sink);
	gst_object_unref(src);
	return bin;
}

void set_video_encoder_bitrate(GstElement *encoder, unsigned kbps)
{
	GstElement *enc = gst_bin_get_by_name(GST_BIN(encoder), "encoder");
	if (!enc)
		return;
	apply_video_bitrate(enc, kbps);
	gst_object_unref(enc);
}

GstElement *make_audio_encoder(const MediaSettings &s, const char *name)
{
	GstElement *enc = make_element("opusenc", name);
	if (enc)
		g_object_set(enc, "bitrate", static_cast<int>(s.audio_bitrate_kbps * 1000),
			     "frame-size", 20, nullptr);
	return enc;
}

} // namespace meshcall
