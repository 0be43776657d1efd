// SPDX-License-Identifier: LGPL-2.1-or-later
/* The encoders of meshcallbin's send side: which one to build for a codec,
 * how to make it ready for WebRTC (realtime, keyframes on demand, H.264 as
 * browsers take it), and its bitrate. One encoder per medium serves every
 * peer (docs/design.md, "Encode once, fan out"). */
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <gst/gst.h>

#include "common/media_types.h"

namespace meshcall
{

struct MediaSettings {
	VideoCodec codec = VideoCodec::VP8;
	/* Factory of the video encoder (see choose_video_encoder()); empty: the
	 * first one installed for `codec`. */
	std::string video_encoder;
	unsigned video_bitrate_kbps = 1000;
	unsigned audio_bitrate_kbps = 32;
	unsigned width = 1280; /* of video_src */
	unsigned height = 720;
	bool show_self = false;
	/* Bench only: one encoder per peer, to measure what encode-once saves. */
	bool encoder_per_peer = false;
};

/* Hardware H.264 encoders, preferred in this order: GStreamer registers
 * each only when the machine has a device that encodes H.264. */
inline constexpr const char *kHardwareH264Encoders[] = {"v4l2h264enc", "vah264enc", "vaapih264enc"};

struct VideoEncoderChoice {
	std::string factory; /* "" when nothing installed encodes the codec */
	VideoCodec codec = VideoCodec::VP8;
};

/* Which encoder to build. `requested`: the codec asked for, nullopt for
 * "auto". Auto is hardware H.264 when there is some (it spares the CPU that
 * small machines lack), else VP8, else software H.264; H.264 is hardware,
 * then x264enc, then openh264enc; VP8 is vp8enc. `has_factory` tells whether
 * an element factory is installed (element_factory_exists() in the plugin). */
VideoEncoderChoice choose_video_encoder(std::optional<VideoCodec> requested,
					const std::function<bool(const char *)> &has_factory);
bool element_factory_exists(const char *name);

/* Makes the video encoder of settings.video_encoder (with what it needs
 * around it: a format converter in front of hardware encoders, an output
 * capsfilter for H.264) as a bin with one sink and one src pad; the encoder
 * element inside is named "encoder". */
GstElement *make_video_encoder(const MediaSettings &settings, const char *name);
GstElement *make_audio_encoder(const MediaSettings &settings, const char *name);
/* Sets the bitrate of an encoder made by make_video_encoder(). */
void set_video_encoder_bitrate(GstElement *encoder, unsigned kbps);

} // namespace meshcall
