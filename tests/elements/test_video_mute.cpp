// SPDX-License-Identifier: LGPL-2.1-or-later
/* VideoMute on its own: black frames in place of the input, with the input's
 * timing, from one prepared frame per caps. */
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include "media/video_mute.h"

using namespace meshcall;

namespace
{

constexpr int kWidth = 64, kHeight = 48;

class VideoMuteTest : public ::testing::Test
{
protected:
	void SetUp() override
	{
		harness_ = gst_harness_new("identity");
		set_size(kWidth, kHeight);
		GstPad *src = gst_element_get_static_pad(harness_->element, "src");
		mute_.attach(src);
		gst_object_unref(src);
	}
	void TearDown() override
	{
		mute_.detach();
		gst_harness_teardown(harness_);
	}
	void set_size(int width, int height)
	{
		g_autofree char *caps = g_strdup_printf(
		    "video/x-raw,format=I420,width=%d,height=%d,framerate=30/1", width, height);
		gst_harness_set_src_caps_str(harness_, caps);
		gst_video_info_set_format(&info_, GST_VIDEO_FORMAT_I420, width, height);
	}
	/* A frame of one grey level `value` at `pts`, marked DISCONT. */
	GstBuffer *push_frame(guint8 value, GstClockTime pts)
	{
		GstBuffer *in = gst_harness_create_buffer(harness_, GST_VIDEO_INFO_SIZE(&info_));
		gst_buffer_memset(in, 0, value, GST_VIDEO_INFO_SIZE(&info_));
		GST_BUFFER_PTS(in) = pts;
		GST_BUFFER_DTS(in) = pts;
		GST_BUFFER_DURATION(in) = GST_SECOND / 30;
		GST_BUFFER_OFFSET(in) = pts / (GST_SECOND / 30);
		GST_BUFFER_FLAG_SET(in, GST_BUFFER_FLAG_DISCONT);
		EXPECT_EQ(gst_harness_push(harness_, in), GST_FLOW_OK);
		return gst_harness_pull(harness_);
	}
	/* Every byte of plane `plane` equals `value`. */
	bool plane_is(GstBuffer *buf, guint plane, guint8 value)
	{
		GstVideoFrame frame;
		if (!gst_video_frame_map(&frame, &info_, buf, GST_MAP_READ))
			return false;
		bool ok = true;
		const auto *data =
		    static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, plane));
		int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, plane);
		for (int y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT(&frame, plane) && ok; y++)
			for (int x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH(&frame, plane) && ok; x++)
				ok = data[y * stride + x] == value;
		gst_video_frame_unmap(&frame);
		return ok;
	}
	bool is_black(GstBuffer *buf)
	{
		return gst_buffer_get_size(buf) == GST_VIDEO_INFO_SIZE(&info_) &&
		       plane_is(buf, 0, 16) && plane_is(buf, 1, 128) && plane_is(buf, 2, 128);
	}

	GstHarness *harness_ = nullptr;
	GstVideoInfo info_;
	VideoMute mute_;
};

TEST_F(VideoMuteTest, UnmutedFramesPassUntouched)
{
	GstBuffer *out = push_frame(200, 0);
	ASSERT_TRUE(out);
	EXPECT_TRUE(plane_is(out, 0, 200));
	gst_buffer_unref(out);
}

TEST_F(VideoMuteTest, MutedFramesAreBlackWithTheInputsTiming)
{
	mute_.set_muted(true);
	EXPECT_TRUE(mute_.muted());
	for (int i = 0; i < 3; i++) {
		GstClockTime pts = 5 * GST_SECOND + i * GST_SECOND / 30;
		GstBuffer *out = push_frame(200, pts);
		ASSERT_TRUE(out);
		EXPECT_TRUE(is_black(out)) << i;
		EXPECT_EQ(GST_BUFFER_PTS(out), pts);
		EXPECT_EQ(GST_BUFFER_DTS(out), pts);
		EXPECT_EQ(GST_BUFFER_DURATION(out), GST_SECOND / 30);
		EXPECT_EQ(GST_BUFFER_OFFSET(out), pts / (GST_SECOND / 30));
		EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_DISCONT));
		gst_buffer_unref(out);
	}
}

/* One black frame per caps, shared by every muted buffer: no allocation or
 * memset per frame. */
TEST_F(VideoMuteTest, MutedFramesShareOneBlackFrame)
{
	mute_.set_muted(true);
	GstBuffer *a = push_frame(200, 0);
	GstBuffer *b = push_frame(100, GST_SECOND / 30);
	ASSERT_TRUE(a && b);
	EXPECT_NE(a, b);
	ASSERT_EQ(gst_buffer_n_memory(a), 1u);
	ASSERT_EQ(gst_buffer_n_memory(b), 1u);
	EXPECT_EQ(gst_buffer_peek_memory(a, 0), gst_buffer_peek_memory(b, 0));
	/* Shared, so nobody downstream can scribble on it in place. */
	EXPECT_FALSE(gst_memory_is_writable(gst_buffer_peek_memory(a, 0)));
	gst_buffer_unref(a);
	gst_buffer_unref(b);
}

TEST_F(VideoMuteTest, UnmutingBringsThePictureBack)
{
	mute_.set_muted(true);
	GstBuffer *out = push_frame(200, 0);
	EXPECT_TRUE(is_black(out));
	gst_buffer_unref(out);
	mute_.set_muted(false);
	out = push_frame(200, GST_SECOND / 30);
	EXPECT_TRUE(plane_is(out, 0, 200));
	gst_buffer_unref(out);
}

TEST_F(VideoMuteTest, NewCapsGetABlackFrameOfTheirSize)
{
	mute_.set_muted(true);
	GstBuffer *small = push_frame(200, 0);
	EXPECT_TRUE(is_black(small));
	set_size(2 * kWidth, 2 * kHeight);
	GstBuffer *big = push_frame(200, GST_SECOND / 30);
	EXPECT_TRUE(is_black(big));
	EXPECT_EQ(gst_buffer_get_size(big), 4 * gst_buffer_get_size(small));
	gst_buffer_unref(small);
	gst_buffer_unref(big);
}

/* Caps sent before attach() are found on the pad. */
TEST_F(VideoMuteTest, AttachingAfterCapsWorks)
{
	GstBuffer *first = push_frame(200, 0); /* caps now sticky on the pad */
	gst_buffer_unref(first);
	mute_.detach();
	GstPad *src = gst_element_get_static_pad(harness_->element, "src");
	mute_.attach(src);
	gst_object_unref(src);
	mute_.set_muted(true);
	GstBuffer *out = push_frame(200, GST_SECOND / 30);
	EXPECT_TRUE(is_black(out));
	gst_buffer_unref(out);
}

} // namespace

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
