// SPDX-License-Identifier: LGPL-2.1-or-later
#include "media/keyframe_limiter.h"

#include <gst/video/video.h>

#include "common/debug.h"

MESHCALL_DEBUG_CATEGORY(meshcall_keyframes_debug, "meshcall-keyframes",
			"meshcallbin's keyframe requests")
#define GST_CAT_DEFAULT meshcall_keyframes_debug

namespace meshcall
{

KeyframeLimiter::KeyframeLimiter(std::chrono::milliseconds interval) : interval_(interval)
{
	ensure_debug_category();
}

KeyframeLimiter::~KeyframeLimiter()
{
	std::lock_guard l(lock_);
	if (timer_) {
		gst_clock_id_unschedule(timer_);
		gst_clock_id_unref(timer_);
		timer_ = nullptr;
	}
}

void KeyframeLimiter::set_target(GstPad *pad)
{
	std::lock_guard l(lock_);
	target_ = pad ? PadRef::ref(pad) : PadRef();
}

unsigned KeyframeLimiter::sent() const
{
	std::lock_guard l(lock_);
	return sent_;
}

void KeyframeLimiter::send_locked()
{
	if (!target_)
		return;
	last_ = std::chrono::steady_clock::now();
	sent_++;
	GST_DEBUG_OBJECT(target_.get(), "requesting a keyframe (%u so far)", sent_);
	/* Sending upstream from the encoder's src pad reaches the encoder only. */
	gst_pad_send_event(
	    target_, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, sent_));
}

void KeyframeLimiter::request()
{
	std::lock_guard l(lock_);
	if (timer_)
		return; /* one is already due at the end of the window */
	auto now = std::chrono::steady_clock::now();
	if (sent_ == 0 || now - last_ >= interval_) {
		send_locked();
		return;
	}
	auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(interval_ - (now - last_));
	GstClock *clock = gst_system_clock_obtain();
	timer_ = gst_clock_new_single_shot_id(clock, gst_clock_get_time(clock) + wait.count());
	gst_object_unref(clock);
	gst_clock_id_wait_async(timer_, &KeyframeLimiter::on_timer, this, nullptr);
}

gboolean KeyframeLimiter::on_timer(GstClock *, GstClockTime, GstClockID id, gpointer data)
{
	auto *self = static_cast<KeyframeLimiter *>(data);
	std::lock_guard l(self->lock_);
	if (self->timer_ != id)
		return TRUE; /* unscheduled */
	gst_clock_id_unref(self->timer_);
	self->timer_ = nullptr;
	self->send_locked();
	return TRUE;
}

} // namespace meshcall
