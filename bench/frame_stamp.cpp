// SPDX-License-Identifier: LGPL-2.1-or-later
/* See frame_stamp.h. */
#include "frame_stamp.h"

#include <algorithm>
#include <cstdlib>

namespace meshcall::bench
{
namespace
{

constexpr int kBits = 32;
constexpr double kUnits = kBits + 2; /* the frame's width in blocks */
constexpr guint8 kBlack = 16, kWhite = 235, kNeutralChroma = 128;
constexpr int kMidGrey = (kBlack + kWhite) / 2;
/* A bit and its complement must lie on either side of mid-grey and differ
 * at least this much in mean luma. */
constexpr int kMinContrast = 48;

double unit_of(const GstVideoFrame &frame)
{
	return GST_VIDEO_FRAME_WIDTH(&frame) / kUnits;
}

void fill(GstVideoFrame &frame, int plane, int x0, int y0, int x1, int y1, guint8 value)
{
	auto *data = static_cast<guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, plane));
	const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, plane);
	for (int y = y0; y < y1; y++)
		std::fill(data + y * stride + x0, data + y * stride + x1, value);
}

/* Mean luma of a square of side 2r+1 around (cx, cy), clipped to the frame. */
int mean_luma(const GstVideoFrame &frame, double cx, double cy, int r)
{
	const auto *data = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
	const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
	const int w = GST_VIDEO_FRAME_WIDTH(&frame), h = GST_VIDEO_FRAME_HEIGHT(&frame);
	const int x = int(cx), y = int(cy);
	int sum = 0, n = 0;
	for (int yy = std::max(0, y - r); yy <= std::min(h - 1, y + r); yy++)
		for (int xx = std::max(0, x - r); xx <= std::min(w - 1, x + r); xx++, n++)
			sum += data[yy * stride + xx];
	return n ? sum / n : 0;
}

} // namespace

bool draw_stamp(GstVideoFrame &frame, std::uint32_t value)
{
	if (GST_VIDEO_FRAME_FORMAT(&frame) != GST_VIDEO_FORMAT_I420)
		return false;
	const double u = unit_of(frame);
	if (int(3 * u) + 1 > GST_VIDEO_FRAME_HEIGHT(&frame))
		return false;
	for (int row = 0; row < 2; row++) {
		const int y0 = int((1 + row) * u), y1 = int((2 + row) * u);
		for (int i = 0; i < kBits; i++) {
			const bool bit = (value >> (kBits - 1 - i)) & 1;
			const bool white = row == 0 ? bit : !bit;
			fill(frame, 0, int((1 + i) * u), y0, int((2 + i) * u), y1,
			     white ? kWhite : kBlack);
		}
	}
	/* Grey chroma under the blocks: pure black and white, and nothing of
	 * the colour bars bleeding into them through the encoder. */
	const int cx0 = int(u) / 2, cx1 = int((kBits + 1) * u + 1) / 2;
	const int cy0 = int(u) / 2, cy1 = int(3 * u + 1) / 2;
	for (int plane = 1; plane <= 2; plane++)
		fill(frame, plane, cx0, cy0, cx1, cy1, kNeutralChroma);
	return true;
}

std::optional<std::uint32_t> read_stamp(const GstVideoFrame &frame)
{
	if (GST_VIDEO_FRAME_FORMAT(&frame) != GST_VIDEO_FORMAT_I420)
		return std::nullopt;
	const double u = unit_of(frame);
	if (3 * u > GST_VIDEO_FRAME_HEIGHT(&frame))
		return std::nullopt;
	/* The inner third of the block: away from edges the codec smears. */
	const int r = std::max(1, int(u / 6));
	std::uint32_t value = 0;
	for (int i = 0; i < kBits; i++) {
		const double cx = (1.5 + i) * u;
		const int bit = mean_luma(frame, cx, 1.5 * u, r);
		const int complement = mean_luma(frame, cx, 2.5 * u, r);
		if ((bit > kMidGrey) == (complement > kMidGrey) ||
		    std::abs(bit - complement) < kMinContrast)
			return std::nullopt;
		value = (value << 1) | (bit > kMidGrey ? 1u : 0u);
	}
	return value;
}

} // namespace meshcall::bench
