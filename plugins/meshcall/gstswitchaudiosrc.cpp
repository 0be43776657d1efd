// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-switchaudiosrc
 *
 * A microphone source whose `device` may change while PLAYING, with fixed
 * output caps whatever the microphone produces, that survives the
 * microphone being unplugged (it sends silence until it is back).
 *
 * Each microphone's own caps are normalised by audioconvert and
 * audioresample to S16LE at `rate` with `channels`. A microphone whose
 * element can move its stream to another device (pulsesrc) is switched in
 * place, without a new element; see switch_source.cpp for the rest.
 *
 * Element messages: `device-switched` {kind, device}, `device-lost`
 * {kind, device, reason}, `device-failed` {kind, device, reason}.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m switchaudiosrc device=auto ! audioconvert ! autoaudiosink
 * ]|
 *
 * Since: 0.1
 */
#include "gstswitchaudiosrc.h"

#include <string>

GST_DEBUG_CATEGORY_STATIC(switch_audio_src_debug);

namespace
{

struct AudioSettings {
	int rate = 48000;
	int channels = 1;
};

enum { PROP_0, PROP_RATE, PROP_CHANNELS };

GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("audio/x-raw"));

} // namespace

struct _GstSwitchAudioSrc {
	GstMeshcallSwitchSrc parent;
	/* Guarded by the object lock; writable up to READY only. */
	AudioSettings *settings;
};

G_DEFINE_TYPE(GstSwitchAudioSrc, gst_switch_audio_src, GST_TYPE_MESHCALL_SWITCH_SRC)
GST_ELEMENT_REGISTER_DEFINE(switchaudiosrc, "switchaudiosrc", GST_RANK_NONE,
			    GST_TYPE_SWITCH_AUDIO_SRC)

namespace
{

GstCaps *output_caps(GstMeshcallSwitchSrc *base)
{
	auto *self = GST_SWITCH_AUDIO_SRC(base);
	GST_OBJECT_LOCK(self);
	const AudioSettings s = *self->settings;
	GST_OBJECT_UNLOCK(self);
	return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout",
				   G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, s.rate,
				   "channels", G_TYPE_INT, s.channels, nullptr);
}

std::string test_source(GstMeshcallSwitchSrc *base, gboolean fallback)
{
	auto *self = GST_SWITCH_AUDIO_SRC(base);
	GST_OBJECT_LOCK(self);
	const int rate = self->settings->rate;
	GST_OBJECT_UNLOCK(self);
	/* 10 ms buffers, like a microphone; a lost microphone is silence, the
	 * `test` device a tone. */
	std::string source =
	    "audiotestsrc is-live=true samplesperbuffer=" + std::to_string(rate / 100);
	return source + (fallback ? " wave=silence" : " wave=sine freq=440 volume=0.3");
}

std::string normaliser(GstMeshcallSwitchSrc *, GstDevice *)
{
	return "audioconvert ! audioresample";
}

void set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
	auto *self = GST_SWITCH_AUDIO_SRC(object);
	GST_OBJECT_LOCK(self);
	AudioSettings &s = *self->settings;
	switch (id) {
	case PROP_RATE:
		s.rate = g_value_get_int(value);
		break;
	case PROP_CHANNELS:
		s.channels = g_value_get_int(value);
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
	auto *self = GST_SWITCH_AUDIO_SRC(object);
	GST_OBJECT_LOCK(self);
	const AudioSettings &s = *self->settings;
	switch (id) {
	case PROP_RATE:
		g_value_set_int(value, s.rate);
		break;
	case PROP_CHANNELS:
		g_value_set_int(value, s.channels);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

void finalize(GObject *object)
{
	delete GST_SWITCH_AUDIO_SRC(object)->settings;
	G_OBJECT_CLASS(gst_switch_audio_src_parent_class)->finalize(object);
}

} // namespace

static void gst_switch_audio_src_init(GstSwitchAudioSrc *self)
{
	self->settings = new AudioSettings();
}

static void gst_switch_audio_src_class_init(GstSwitchAudioSrcClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	auto *switch_class = GST_MESHCALL_SWITCH_SRC_CLASS(klass);
	object_class->set_property = set_property;
	object_class->get_property = get_property;
	object_class->finalize = finalize;

	GST_DEBUG_CATEGORY_INIT(switch_audio_src_debug, "switchaudiosrc", 0,
				"meshcall microphone source with live device switching");
	switch_class->category = switch_audio_src_debug;
	switch_class->kind = "audio";
	switch_class->device_class = "Audio/Source";
	switch_class->switch_in_place = TRUE;
	switch_class->output_caps = output_caps;
	switch_class->test_source = test_source;
	switch_class->normaliser = normaliser;

	auto flags =
	    GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
	/**
	 * GstSwitchAudioSrc:rate:
	 *
	 * Sample rate of the output, whatever the microphone's.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_RATE,
	    g_param_spec_int("rate", "Rate", "Output sample rate", 8000, 192000, 48000, flags));
	/**
	 * GstSwitchAudioSrc:channels:
	 *
	 * Channels of the output, whatever the microphone's.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_CHANNELS,
	    g_param_spec_int("channels", "Channels", "Output channels", 1, 2, 1, flags));

	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	    element_class, "Switchable audio source", "Source/Audio",
	    "Captures from a microphone that can be changed while playing, with fixed output "
	    "caps and silence when the microphone is missing or lost",
	    "meshcall developers");
}
