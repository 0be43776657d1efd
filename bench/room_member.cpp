// SPDX-License-Identifier: LGPL-2.1-or-later
#include "room_member.h"

#include <cstdio>

namespace meshcall::bench
{

std::int64_t now_us()
{
	return g_get_monotonic_time();
}

bool wait_until(const std::function<bool()> &done, double timeout_s)
{
	const std::int64_t deadline = now_us() + std::int64_t(timeout_s * 1e6);
	/* Bus events arrive on streaming threads and only wake the context
	 * through g_main_context_wakeup(); the tick bounds the wait anyway. */
	guint tick = g_timeout_add(
	    10, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr);
	bool ok = true;
	while (!done()) {
		if (now_us() >= deadline) {
			ok = false;
			break;
		}
		g_main_context_iteration(nullptr, TRUE);
	}
	g_source_remove(tick);
	return ok;
}

RoomMember::RoomMember(std::string label, const std::string &description) : label_(std::move(label))
{
	GError *error = nullptr;
	GstElement *p = gst_parse_launch(description.c_str(), &error);
	if (!p || error) {
		std::fprintf(stderr, "%s: cannot build the pipeline: %s\n", label_.c_str(),
			     error ? error->message : "?");
		g_clear_error(&error);
		if (p)
			gst_object_unref(p);
		return;
	}
	pipeline_ = p;
	bin_ = gst_bin_get_by_name(GST_BIN(p), "m");
	GstBus *bus = gst_element_get_bus(p);
	gst_bus_set_sync_handler(bus, &RoomMember::on_message, this, nullptr);
	gst_object_unref(bus);
}

RoomMember::~RoomMember()
{
	if (!pipeline_)
		return;
	gst_element_set_state(pipeline_, GST_STATE_NULL);
	GstBus *bus = gst_element_get_bus(pipeline_);
	gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
	gst_object_unref(bus);
	if (bin_)
		gst_object_unref(bin_);
	gst_object_unref(pipeline_);
}

bool RoomMember::set_state(GstState state)
{
	return gst_element_set_state(pipeline_, state) != GST_STATE_CHANGE_FAILURE;
}

void RoomMember::reset()
{
	std::lock_guard l(lock_);
	id_.clear();
	names_.clear();
	video_from_.clear();
	left_.clear();
}

std::string RoomMember::id() const
{
	std::lock_guard l(lock_);
	return id_;
}

std::optional<std::string> RoomMember::peer_named(const std::string &name) const
{
	std::lock_guard l(lock_);
	for (const auto &[id, n] : names_)
		if (n == name && !left_.count(id))
			return id;
	return std::nullopt;
}

std::int64_t RoomMember::video_from(const std::string &peer) const
{
	std::lock_guard l(lock_);
	auto it = video_from_.find(peer);
	return it == video_from_.end() ? 0 : it->second;
}

bool RoomMember::saw_left(const std::string &peer) const
{
	std::lock_guard l(lock_);
	return left_.count(peer) > 0;
}

std::optional<std::string> RoomMember::error() const
{
	std::lock_guard l(lock_);
	return error_;
}

std::uint64_t RoomMember::video_frames_from(const std::string &peer) const
{
	GstStructure *stats = nullptr;
	g_signal_emit_by_name(bin_, "get-stats", &stats);
	if (!stats)
		return 0;
	std::uint64_t frames = 0;
	const GValue *peers = gst_structure_get_value(stats, "peers");
	for (guint i = 0; peers && i < gst_value_array_get_size(peers); i++) {
		const GstStructure *p =
		    gst_value_get_structure(gst_value_array_get_value(peers, i));
		const char *id = gst_structure_get_string(p, "id");
		guint64 n = 0;
		if (id && peer == id && gst_structure_get_uint64(p, "video-frames-rx", &n))
			frames = n;
	}
	gst_structure_free(stats);
	return frames;
}

GstBusSyncReply RoomMember::on_message(GstBus *, GstMessage *msg, gpointer data)
{
	auto *self = static_cast<RoomMember *>(data);
	const std::int64_t t = now_us();
	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR: {
		GError *err = nullptr;
		gchar *dbg = nullptr;
		gst_message_parse_error(msg, &err, &dbg);
		std::fprintf(stderr, "%s: ERROR from %s: %s (%s)\n", self->label_.c_str(),
			     GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message, dbg ? dbg : "");
		{
			std::lock_guard l(self->lock_);
			if (!self->error_)
				self->error_ = err->message;
		}
		g_error_free(err);
		g_free(dbg);
		break;
	}
	case GST_MESSAGE_WARNING: {
		GError *err = nullptr;
		gst_message_parse_warning(msg, &err, nullptr);
		std::fprintf(stderr, "%s: warning from %s: %s\n", self->label_.c_str(),
			     GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message);
		g_error_free(err);
		break;
	}
	case GST_MESSAGE_LATENCY:
		/* As gst-launch-1.0 and applications do (docs/design.md, fact 11): a new
		 * peer's stream brings its jitter buffer's latency. On the main
		 * context, not on the posting streaming thread. */
		g_idle_add_full(
		    G_PRIORITY_HIGH,
		    [](gpointer d) -> gboolean {
			    gst_bin_recalculate_latency(GST_BIN(d));
			    return G_SOURCE_REMOVE;
		    },
		    gst_object_ref(self->pipeline_), gst_object_unref);
		break;
	case GST_MESSAGE_ELEMENT: {
		const GstStructure *s = gst_message_get_structure(msg);
		const char *name = gst_structure_get_name(s);
		{
			std::lock_guard l(self->lock_);
			auto str = [s](const char *field) {
				const char *v = gst_structure_get_string(s, field);
				return std::string(v ? v : "");
			};
			if (g_str_equal(name, "meshcall-joined")) {
				self->id_ = str("id");
			} else if (g_str_equal(name, "meshcall-peer-joined")) {
				self->names_[str("id")] = str("name");
				self->left_.erase(str("id"));
			} else if (g_str_equal(name, "meshcall-peer-left")) {
				self->left_.insert(str("id"));
				self->video_from_.erase(str("id"));
			} else if (g_str_equal(name, "meshcall-media") && str("kind") == "video") {
				self->video_from_.emplace(str("peer"), t);
			}
		}
		if (self->on_element_message)
			self->on_element_message(s, t);
		break;
	}
	default:
		break;
	}
	g_main_context_wakeup(nullptr);
	return GST_BUS_DROP;
}

} // namespace meshcall::bench
