// SPDX-License-Identifier: LGPL-2.1-or-later
/* Black frames for mute-video. See video_mute.h. */
#include "media/video_mute.h"

#include <cstring>

#include <gst/video/video.h>

namespace meshcall
{

/* What one attached probe keeps. Touched only by the streaming thread of the
 * pad (events and buffers of a pad are serialised), apart from `muted`. */
struct VideoMute::Frames {
	explicit Frames(std::shared_ptr<std::atomic<bool>> m) : muted(std::move(m)) {}
	~Frames()
	{
		if (black)
			gst_buffer_unref(black);
	}
	Frames(const Frames &) = delete;
	Frames &operator=(const Frames &) = delete;

	void set_caps(GstCaps *caps);
	GstBuffer *black_frame();

	std::shared_ptr<std::atomic<bool>> muted;
	GstVideoInfo info;
	bool have_info = false;
	GstBuffer *black = nullptr; /* made on the first muted frame of these caps */
};

namespace
{

/* Fills each plane with the value of the first component it stores: limited
 * range black (Y 16, U/V 128, A opaque) for YUV, 0 for RGB. Right for the
 * planar and semi-planar formats the send chain produces (I420); a packed YUV
 * format would come out dark green, still hiding the picture. */
void fill_black(GstVideoFrame *frame)
{
	const GstVideoFormatInfo *f = frame->info.finfo;
	for (guint plane = 0; plane < GST_VIDEO_FRAME_N_PLANES(frame); plane++) {
		guint comp = 0;
		for (guint c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS(f); c++) {
			if (GST_VIDEO_FORMAT_INFO_PLANE(f, c) == plane) {
				comp = c;
				break;
			}
		}
		guint8 value = 0;
		if (GST_VIDEO_FORMAT_INFO_IS_YUV(f))
			value = comp == GST_VIDEO_COMP_Y   ? 16
				: comp == GST_VIDEO_COMP_A ? 255
							   : 128;
		std::memset(GST_VIDEO_FRAME_PLANE_DATA(frame, plane), value,
			    static_cast<size_t>(GST_VIDEO_FRAME_PLANE_STRIDE(frame, plane)) *
				GST_VIDEO_FRAME_COMP_HEIGHT(frame, comp));
	}
}

GstPadProbeReturn on_pad_data(GstPad *, GstPadProbeInfo *info, gpointer data)
{
	auto *frames = static_cast<VideoMute::Frames *>(data);
	if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
		if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
			GstCaps *caps = nullptr;
			gst_event_parse_caps(event, &caps);
			frames->set_caps(caps);
		}
		return GST_PAD_PROBE_OK;
	}
	if (!frames->muted->load(std::memory_order_relaxed))
		return GST_PAD_PROBE_OK;
	GstBuffer *black = frames->black_frame();
	if (!black)
		return GST_PAD_PROBE_DROP; /* muted means nothing of the picture leaves */
	GstBuffer *in = GST_PAD_PROBE_INFO_BUFFER(info);
	/* The black memory, shared; the original's timestamps, duration,
	 * offsets and flags. Not its metas: they describe its own layout. */
	GstBuffer *out = gst_buffer_new();
	gst_buffer_copy_into(out, black, GST_BUFFER_COPY_MEMORY, 0, -1);
	gst_buffer_copy_into(
	    out, in,
	    static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0,
	    -1);
	gst_buffer_unref(in);
	GST_PAD_PROBE_INFO_DATA(info) = out;
	return GST_PAD_PROBE_OK;
}

} // namespace

void VideoMute::Frames::set_caps(GstCaps *caps)
{
	if (black) {
		gst_buffer_unref(black);
		black = nullptr;
	}
	have_info = caps && gst_video_info_from_caps(&info, caps);
	if (!have_info)
		GST_WARNING("mute-video: not raw video caps: %" GST_PTR_FORMAT, caps);
}

GstBuffer *VideoMute::Frames::black_frame()
{
	if (black || !have_info)
		return black;
	GstBuffer *buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
	GstVideoFrame frame;
	if (!buf || !gst_video_frame_map(&frame, &info, buf, GST_MAP_WRITE)) {
		if (buf)
			gst_buffer_unref(buf);
		return nullptr;
	}
	fill_black(&frame);
	gst_video_frame_unmap(&frame);
	black = buf;
	return black;
}

VideoMute::VideoMute() : muted_(std::make_shared<std::atomic<bool>>(false))
{
}

VideoMute::~VideoMute()
{
	detach();
}

void VideoMute::attach(GstPad *pad)
{
	detach();
	auto *frames = new Frames(muted_);
	/* Caps sent before we came are sticky on the pad already. */
	if (GstCaps *caps = gst_pad_get_current_caps(pad)) {
		frames->set_caps(caps);
		gst_caps_unref(caps);
	}
	pad_ = PadRef::ref(pad);
	/* The probe owns `frames`: GStreamer frees it once the probe is removed
	 * and no callback runs any more. */
	probe_ = gst_pad_add_probe(
	    pad,
	    static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
					 GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
	    on_pad_data, frames, [](gpointer d) { delete static_cast<Frames *>(d); });
}

void VideoMute::detach()
{
	if (pad_ && probe_)
		gst_pad_remove_probe(pad_, probe_);
	probe_ = 0;
	pad_.reset();
}

void VideoMute::set_muted(bool muted)
{
	muted_->store(muted, std::memory_order_relaxed);
}

bool VideoMute::muted() const
{
	return muted_->load(std::memory_order_relaxed);
}

} // namespace meshcall
