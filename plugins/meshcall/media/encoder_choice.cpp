// SPDX-License-Identifier: LGPL-2.1-or-later
/* Which video encoder meshcallbin builds (see media/encoders.h). Kept apart from
 * the making of it so the choice is tested without the registry. */
#include "media/encoders.h"

namespace meshcall
{

namespace
{

template <typename Factories>
const char *first_installed(const Factories &factories,
			    const std::function<bool(const char *)> &has_factory)
{
	for (const char *f : factories)
		if (has_factory(f))
			return f;
	return nullptr;
}

} // namespace

VideoEncoderChoice choose_video_encoder(std::optional<VideoCodec> requested,
					const std::function<bool(const char *)> &has_factory)
{
	if (requested == VideoCodec::VP8)
		return {has_factory("vp8enc") ? "vp8enc" : "", VideoCodec::VP8};
	const char *hardware = first_installed(kHardwareH264Encoders, has_factory);
	if (hardware)
		return {hardware, VideoCodec::H264};
	if (!requested && has_factory("vp8enc"))
		return {"vp8enc", VideoCodec::VP8};
	const char *software = first_installed(
	    std::initializer_list<const char *>{"x264enc", "openh264enc"}, has_factory);
	if (software)
		return {software, VideoCodec::H264};
	/* Nothing at all: name the codec the user asked for, or the one every
	 * WebRTC peer decodes, in the error that follows. */
	return {"", requested.value_or(VideoCodec::VP8)};
}

bool element_factory_exists(const char *name)
{
	GstElementFactory *f = gst_element_factory_find(name);
	if (!f)
		return false;
	gst_object_unref(f);
	return true;
}

} // namespace meshcall
