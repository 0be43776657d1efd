// SPDX-License-Identifier: LGPL-2.1-or-later
/* One gst-launch-style pipeline with a meshcallbin in a room, for the call
 * benchmarks (join_bench.cpp, call_receivers.cpp). Room events are taken from
 * the bus in a sync handler, so each carries the time it was posted, not the
 * time a main loop got round to it. */
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <gst/gst.h>

namespace meshcall::bench
{

/* CLOCK_MONOTONIC in microseconds (g_get_monotonic_time). */
std::int64_t now_us();

/* Iterates the default main context until `done` holds or `timeout_s` passes. */
bool wait_until(const std::function<bool()> &done, double timeout_s);

class RoomMember
{
public:
	/* `description`: a gst-launch description with a meshcallbin named m. */
	RoomMember(std::string label, const std::string &description);
	~RoomMember();
	RoomMember(const RoomMember &) = delete;
	RoomMember &operator=(const RoomMember &) = delete;

	bool ok() const { return pipeline_ != nullptr; }
	const std::string &label() const { return label_; }
	GstElement *pipeline() const { return pipeline_; }
	GstElement *meshcallbin() const { return bin_; }

	bool set_state(GstState state);
	/* Forgets the room (id, peers, media) before joining again. */
	void reset();

	std::string id() const;
	std::optional<std::string> peer_named(const std::string &name) const;
	/* When the first decoded video frame from `peer` was posted (0: not yet). */
	std::int64_t video_from(const std::string &peer) const;
	bool saw_left(const std::string &peer) const;
	std::optional<std::string> error() const;

	/* Decoded video frames from `peer` so far (get-stats; main thread only). */
	std::uint64_t video_frames_from(const std::string &peer) const;

	/* Called with every element message (from the posting thread). */
	std::function<void(const GstStructure *, std::int64_t t_us)> on_element_message;

private:
	static GstBusSyncReply on_message(GstBus *, GstMessage *msg, gpointer data);

	std::string label_;
	GstElement *pipeline_ = nullptr;
	GstElement *bin_ = nullptr;

	mutable std::mutex lock_;
	std::string id_;				 /* guarded by lock_ */
	std::map<std::string, std::string> names_;	 /* id → name; guarded by lock_ */
	std::map<std::string, std::int64_t> video_from_; /* guarded by lock_ */
	std::set<std::string> left_;			 /* guarded by lock_ */
	std::optional<std::string> error_;		 /* guarded by lock_ */
};

} // namespace meshcall::bench
