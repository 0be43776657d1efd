// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-switchvideosrc
 *
 * A camera source whose `device` may change while PLAYING, with fixed
 * output caps whatever the camera produces, that survives the camera
 * being unplugged (it shows a test pattern until the camera is back).
 *
 * Each camera's own caps are normalised by videoscale, videoconvert and
 * videorate (and jpegdec for cameras that only send MJPEG) to
 * `width`×`height` at `framerate` in `format`, keeping the picture's aspect
 * ratio with borders. See switch_source.cpp for how switching works.
 *
 * Element messages: `device-switched` {kind, device}, `device-lost`
 * {kind, device, reason}, `device-failed` {kind, device, reason}.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m switchvideosrc device=auto ! videoconvert ! autovideosink
 * ]|
 *
 * Since: 0.1
 */
#include "gstswitchvideosrc.h"

#include <string>

GST_DEBUG_CATEGORY_STATIC(switch_video_src_debug);

namespace
{

struct VideoSettings {
	int width = 640;
	int height = 360;
	int fps_n = 30;
	int fps_d = 1;
	std::string format = "I420";
};

enum { PROP_0, PROP_WIDTH, PROP_HEIGHT, PROP_FRAMERATE, PROP_FORMAT };

GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));

} // namespace

struct _GstSwitchVideoSrc {
	GstMeshcallSwitchSrc parent;
	/* Guarded by the object lock; writable up to READY only. */
	VideoSettings *settings;
};

G_DEFINE_TYPE(GstSwitchVideoSrc, gst_switch_video_src, GST_TYPE_MESHCALL_SWITCH_SRC)
GST_ELEMENT_REGISTER_DEFINE(switchvideosrc, "switchvideosrc", GST_RANK_NONE,
			    GST_TYPE_SWITCH_VIDEO_SRC)

namespace
{

GstCaps *output_caps(GstMeshcallSwitchSrc *base)
{
	auto *self = GST_SWITCH_VIDEO_SRC(base);
	GST_OBJECT_LOCK(self);
	const VideoSettings s = *self->settings;
	GST_OBJECT_UNLOCK(self);
	return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, s.format.c_str(),
				   "width", G_TYPE_INT, s.width, "height", G_TYPE_INT, s.height,
				   "framerate", GST_TYPE_FRACTION, s.fps_n, s.fps_d,
				   "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr);
}

std::string test_source(GstMeshcallSwitchSrc *, gboolean)
{
	/* The same bars for `test` and for a lost camera: what people
	 * recognise as "no camera picture". */
	return "videotestsrc is-live=true pattern=smpte";
}

std::string normaliser(GstMeshcallSwitchSrc *, GstDevice *device)
{
	/* Scale before converting: cheaper when shrinking a large picture. */
	/* skip-to-first: videorate would otherwise fill the time from the
	 * segment start (0) to a late-added camera's first frame with copies of
	 * it, a burst of old frames. */
	std::string chain = "videoscale ! videoconvert ! videorate skip-to-first=true";
	if (!device)
		return chain;
	g_autoptr(GstCaps) caps = gst_device_get_caps(device);
	g_autoptr(GstCaps) raw = gst_caps_from_string("video/x-raw(ANY)");
	g_autoptr(GstCaps) jpeg = gst_caps_from_string("image/jpeg");
	if (caps && !gst_caps_can_intersect(caps, raw) && gst_caps_can_intersect(caps, jpeg))
		return "jpegdec ! " + chain;
	return chain;
}

void set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
	auto *self = GST_SWITCH_VIDEO_SRC(object);
	GST_OBJECT_LOCK(self);
	VideoSettings &s = *self->settings;
	switch (id) {
	case PROP_WIDTH:
		s.width = g_value_get_int(value);
		break;
	case PROP_HEIGHT:
		s.height = g_value_get_int(value);
		break;
	case PROP_FRAMERATE:
		s.fps_n = gst_value_get_fraction_numerator(value);
		s.fps_d = gst_value_get_fraction_denominator(value);
		break;
	case PROP_FORMAT:
		s.format = g_value_get_string(value) ? g_value_get_string(value) : "I420";
		break;
	default:
		GST_OBJECT_UNLOCK(self);
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
		return;
	}
	GST_OBJECT_UNLOCK(self);
	gst_meshcall_switch_src_output_caps_changed(GST_MESHCALL_SWITCH_SRC(self));
}

void get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	auto *self = GST_SWITCH_VIDEO_SRC(object);
	GST_OBJECT_LOCK(self);
	const VideoSettings &s = *self->settings;
	switch (id) {
	case PROP_WIDTH:
		g_value_set_int(value, s.width);
		break;
	case PROP_HEIGHT:
		g_value_set_int(value, s.height);
		break;
	case PROP_FRAMERATE:
		gst_value_set_fraction(value, s.fps_n, s.fps_d);
		break;
	case PROP_FORMAT:
		g_value_set_string(value, s.format.c_str());
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

void finalize(GObject *object)
{
	delete GST_SWITCH_VIDEO_SRC(object)->settings;
	G_OBJECT_CLASS(gst_switch_video_src_parent_class)->finalize(object);
}

} // namespace

static void gst_switch_video_src_init(GstSwitchVideoSrc *self)
{
	self->settings = new VideoSettings();
}

static void gst_switch_video_src_class_init(GstSwitchVideoSrcClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	auto *switch_class = GST_MESHCALL_SWITCH_SRC_CLASS(klass);
	object_class->set_property = set_property;
	object_class->get_property = get_property;
	object_class->finalize = finalize;

	GST_DEBUG_CATEGORY_INIT(switch_video_src_debug, "switchvideosrc", 0,
				"meshcall camera source with live device switching");
	switch_class->category = switch_video_src_debug;
	switch_class->kind = "video";
	switch_class->device_class = "Video/Source";
	switch_class->switch_in_place = FALSE;
	switch_class->output_caps = output_caps;
	switch_class->test_source = test_source;
	switch_class->normaliser = normaliser;

	auto flags =
	    GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
	/**
	 * GstSwitchVideoSrc:width:
	 *
	 * Width of the output, whatever the camera's.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_WIDTH,
	    g_param_spec_int("width", "Width", "Output width in pixels", 16, 7680, 640, flags));
	/**
	 * GstSwitchVideoSrc:height:
	 *
	 * Height of the output, whatever the camera's.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_HEIGHT,
	    g_param_spec_int("height", "Height", "Output height in pixels", 16, 4320, 360, flags));
	/**
	 * GstSwitchVideoSrc:framerate:
	 *
	 * Frame rate of the output: frames are dropped or repeated to reach it.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(object_class, PROP_FRAMERATE,
					gst_param_spec_fraction("framerate", "Frame rate",
								"Output frame rate", 1, 1, 120, 1,
								30, 1, flags));
	/**
	 * GstSwitchVideoSrc:format:
	 *
	 * Raw video format of the output (GstVideoFormat name).
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_FORMAT,
	    g_param_spec_string("format", "Format", "Output raw video format", "I420", flags));

	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	    element_class, "Switchable video source", "Source/Video",
	    "Captures from a camera that can be changed while playing, with fixed output caps "
	    "and a test pattern when the camera is missing or lost",
	    "meshcall developers");
}
