// SPDX-License-Identifier: LGPL-2.1-or-later
/* The kinds of media and the video codecs meshcallbin knows. */
#pragma once

namespace meshcall
{

enum class MediaKind { Audio, Video };
enum class VideoCodec { VP8, H264 };

/* "VP8" / "H264", the RTP encoding-name. */
constexpr const char *to_string(VideoCodec codec)
{
	return codec == VideoCodec::VP8 ? "VP8" : "H264";
}

} // namespace meshcall
