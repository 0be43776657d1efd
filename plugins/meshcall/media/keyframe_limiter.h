// SPDX-License-Identifier: LGPL-2.1-or-later
/* Keyframes on join without everyone paying for N keyframes
 * (docs/design.md, "Keyframe on join"): every peer's request for the shared
 * encoder goes through one limiter. */
#pragma once

#include <chrono>
#include <mutex>

#include <gst/gst.h>

#include "common/gst_ref.h"

namespace meshcall
{

/* Sends upstream force-key-unit requests to one encoder at most every 500 ms;
 * a request inside the window is delayed to its end rather than dropped. */
class KeyframeLimiter
{
public:
	explicit KeyframeLimiter(
	    std::chrono::milliseconds interval = std::chrono::milliseconds(500));
	~KeyframeLimiter();
	/* `pad`: the encoder's src pad (the limiter keeps a reference). */
	void set_target(GstPad *pad);
	void request();
	unsigned sent() const;

private:
	static gboolean on_timer(GstClock *clock, GstClockTime time, GstClockID id, gpointer data);
	void send_locked();

	mutable std::mutex lock_;
	PadRef target_;				     /* guarded by lock_ */
	std::chrono::steady_clock::time_point last_; /* guarded by lock_ */
	GstClockID timer_ = nullptr;		     /* guarded by lock_ */
	unsigned sent_ = 0;			     /* guarded by lock_ */
	std::chrono::milliseconds interval_;
};

} // namespace meshcall
