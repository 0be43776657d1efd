// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallfakesrc: one fake camera or microphone; see gstmeshcallfakesrc.cpp. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MESHCALL_FAKE_SRC (gst_meshcall_fake_src_get_type())
G_DECLARE_FINAL_TYPE(GstMeshcallFakeSrc, gst_meshcall_fake_src, GST, MESHCALL_FAKE_SRC, GstBin)

GST_ELEMENT_REGISTER_DECLARE(meshcallfakesrc);

G_END_DECLS

/* The fake hardware the device provider plugs and unplugs, shared by every
 * meshcallfakesrc in the process whatever created it. */
void meshcall_fake_hardware_plug(const char *path);
void meshcall_fake_hardware_unplug(const char *path);
/* A NULL reason lets the device open again. */
void meshcall_fake_hardware_set_open_error(const char *path, const char *reason);
void meshcall_fake_hardware_clear_open_errors();

/* Points a microphone at another device without leaving its state: false
 * (and nothing changes) when `self` is a camera or `caps` are not audio. */
bool gst_meshcall_fake_src_switch_microphone(GstMeshcallFakeSrc *self, const char *path,
					     const GstCaps *caps, double freq);
