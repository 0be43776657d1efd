// SPDX-License-Identifier: LGPL-2.1-or-later
/* VideoMute: while muted, every raw video frame leaving a pad is replaced by
 * a black one with the original's caps, timestamps and duration, so what is
 * downstream (the shared encoder, the self view) runs on unchanged: no
 * renegotiation, no gap, no new keyframe logic.
 *
 * The black frame is made once per caps; each muted frame is a shallow copy
 * of it (a new GstBuffer sharing its memory), so muting costs neither a frame
 * allocation nor a memset per buffer. */
#pragma once

#include <atomic>
#include <memory>

#include <gst/gst.h>

#include "common/gst_ref.h"

namespace meshcall
{

class VideoMute
{
public:
	VideoMute();
	~VideoMute();
	VideoMute(const VideoMute &) = delete;
	VideoMute &operator=(const VideoMute &) = delete;

	/* Starts replacing frames on `pad` (a src pad of raw video) while
	 * muted; detach() stops. Not thread-safe against each other: call from
	 * the thread that builds and tears down the graph. */
	void attach(GstPad *pad);
	void detach();

	/* Any thread; takes effect from the next frame. */
	void set_muted(bool muted);
	bool muted() const;

	/* The black frame of the current caps; owned by the pad probe. */
	struct Frames;

private:
	/* Shared with the probe, which may outlive a detach() in progress. */
	std::shared_ptr<std::atomic<bool>> muted_;
	PadRef pad_;
	gulong probe_ = 0;
};

} // namespace meshcall
