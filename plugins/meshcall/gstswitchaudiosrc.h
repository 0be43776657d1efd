// SPDX-License-Identifier: LGPL-2.1-or-later
/* switchaudiosrc: audio capture whose device may change while PLAYING; see
 * gstswitchaudiosrc.cpp and switch_source.cpp. */
#pragma once

#include "switch/switch_source.h"

G_BEGIN_DECLS

#define GST_TYPE_SWITCH_AUDIO_SRC (gst_switch_audio_src_get_type())
G_DECLARE_FINAL_TYPE(GstSwitchAudioSrc, gst_switch_audio_src, GST, SWITCH_AUDIO_SRC,
		     GstMeshcallSwitchSrc)

GST_ELEMENT_REGISTER_DECLARE(switchaudiosrc);

G_END_DECLS
