// SPDX-License-Identifier: LGPL-2.1-or-later
/* switchvideosrc: video capture whose device may change while PLAYING; see
 * gstswitchvideosrc.cpp and switch_source.cpp. */
#pragma once

#include "switch/switch_source.h"

G_BEGIN_DECLS

#define GST_TYPE_SWITCH_VIDEO_SRC (gst_switch_video_src_get_type())
G_DECLARE_FINAL_TYPE(GstSwitchVideoSrc, gst_switch_video_src, GST, SWITCH_VIDEO_SRC,
		     GstMeshcallSwitchSrc)

GST_ELEMENT_REGISTER_DECLARE(switchvideosrc);

G_END_DECLS
