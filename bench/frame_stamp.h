// SPDX-License-Identifier: LGPL-2.1-or-later
/* A 32-bit number drawn into the luma of an I420 frame, to be read back from
 * the same picture after VP8, a network and meshcallbin's grid: one row of 32
 * black/white blocks (most significant bit first) near the top, and below it
 * a row with the complement of each bit, so a damaged read is refused rather
 * than misread. All positions are in units of width/34 (32 blocks and a
 * margin of one on each side), so the stamp is found again in a copy scaled
 * to another size of the same aspect ratio. */
#pragma once

#include <cstdint>
#include <optional>

#include <gst/video/video.h>

namespace meshcall::bench
{

/* False (and nothing drawn) unless the frame is I420, mapped writable. */
bool draw_stamp(GstVideoFrame &frame, std::uint32_t value);

/* The number, or nullopt when any bit disagrees with its complement (or the
 * frame is not I420). Samples a small patch at the centre of each block. */
std::optional<std::uint32_t> read_stamp(const GstVideoFrame &frame);

} // namespace meshcall::bench
