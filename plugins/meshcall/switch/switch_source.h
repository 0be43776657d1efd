// SPDX-License-Identifier: LGPL-2.1-or-later
/* switch/: capture sources whose device changes while playing.
 *
 * GstMeshcallSwitchSrc: the base of switchvideosrc and switchaudiosrc, a
 * capture source whose device may change while PLAYING; see
 * switch_source.cpp. */
#pragma once

#include <string>

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MESHCALL_SWITCH_SRC (gst_meshcall_switch_src_get_type())
G_DECLARE_DERIVABLE_TYPE(GstMeshcallSwitchSrc, gst_meshcall_switch_src, GST, MESHCALL_SWITCH_SRC,
			 GstBin)

/* For subclasses: the output caps properties changed (only allowed up to
 * READY); sources built from now on, and those waiting, use the new caps. */
void gst_meshcall_switch_src_output_caps_changed(GstMeshcallSwitchSrc *self);

G_END_DECLS

struct _GstMeshcallSwitchSrcClass {
	GstBinClass parent_class;

	/* Filled in by the subclass's class_init. */
	GstDebugCategory *category;
	const char *kind;	  /* "video" or "audio", in messages */
	const char *device_class; /* GstDeviceMonitor filter, "Video/Source" */
	/* Try gst_device_reconfigure_element() before building a new source:
	 * microphones whose element can move its stream (pulsesrc). */
	gboolean switch_in_place;

	/* The fixed output caps, from the subclass's properties. */
	GstCaps *(*output_caps)(GstMeshcallSwitchSrc *self);
	/* gst-launch description of a source with an always "src" pad: the
	 * `test` device when fallback is FALSE, what stands in for a lost or
	 * missing device when TRUE. */
	std::string (*test_source)(GstMeshcallSwitchSrc *self, gboolean fallback);
	/* gst-launch description of the elements that turn what `device`
	 * produces (NULL: a test source) into raw media the output caps can be
	 * reached from, e.g. "videoconvert ! videoscale ! videorate". */
	std::string (*normaliser)(GstMeshcallSwitchSrc *self, GstDevice *device);
};
