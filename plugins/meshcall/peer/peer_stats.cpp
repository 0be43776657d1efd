// SPDX-License-Identifier: LGPL-2.1-or-later
#include "peer/peer_stats.h"

#include <condition_variable>
#include <memory>
#include <mutex>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

namespace meshcall
{

namespace
{

void add_stream_stats(const GstStructure *st, PeerStats &out)
{
	GstWebRTCStatsType type;
	if (!gst_structure_get(st, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
		return;
	if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
		double rtt = 0, fraction = 0;
		gint64 lost = 0;
		int lost32 = 0;
		if (gst_structure_get_double(st, "round-trip-time", &rtt))
			out.rtt_ms = std::max(out.rtt_ms, rtt * 1000.0);
		if (gst_structure_get_int64(st, "packets-lost", &lost))
			out.packets_lost += lost;
		else if (gst_structure_get_int(st, "packets-lost", &lost32))
			out.packets_lost += lost32;
		if (gst_structure_get_double(st, "fraction-lost", &fraction))
			out.fraction_lost = std::max(out.fraction_lost, fraction);
	} else if (type == GST_WEBRTC_STATS_OUTBOUND_RTP) {
		guint64 bytes = 0;
		if (gst_structure_get_uint64(st, "bytes-sent", &bytes))
			out.bytes_sent += bytes;
	} else if (type == GST_WEBRTC_STATS_INBOUND_RTP) {
		guint64 bytes = 0;
		if (gst_structure_get_uint64(st, "bytes-received", &bytes))
			out.bytes_received += bytes;
	}
}

} // namespace

std::string connection_state_of(GstElement *webrtc)
{
	GstWebRTCPeerConnectionState state;
	g_object_get(webrtc, "connection-state", &state, nullptr);
	GEnumValue *v = g_enum_get_value(
	    G_ENUM_CLASS(g_type_class_peek(GST_TYPE_WEBRTC_PEER_CONNECTION_STATE)), state);
	return v ? v->value_nick : "unknown";
}

void query_transport_stats(GstElement *webrtc, PeerStats &out, std::chrono::milliseconds timeout)
{
	struct Answer {
		std::mutex lock;
		std::condition_variable changed;
		bool done = false; /* guarded by lock */
	};
	auto answer = std::make_shared<Answer>();
	GstPromise *promise = gst_promise_new_with_change_func(
	    [](GstPromise *, gpointer d) {
		    auto &a = **static_cast<std::shared_ptr<Answer> *>(d);
		    std::lock_guard l(a.lock);
		    a.done = true;
		    a.changed.notify_all();
	    },
	    new std::shared_ptr<Answer>(answer),
	    [](gpointer d) { delete static_cast<std::shared_ptr<Answer> *>(d); });
	g_signal_emit_by_name(webrtc, "get-stats", nullptr, promise);
	bool answered;
	{
		std::unique_lock l(answer->lock);
		answered = answer->changed.wait_for(l, timeout, [&] { return answer->done; });
	}
	if (!answered) {
		GST_DEBUG_OBJECT(webrtc, "no stats from webrtcbin in time");
		gst_promise_interrupt(promise); /* a late reply is then discarded */
		gst_promise_unref(promise);
		return;
	}
	const GstStructure *reply = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED
					? gst_promise_get_reply(promise)
					: nullptr;
	if (!reply || gst_structure_has_field(reply, "error")) { /* closed meanwhile */
		gst_promise_unref(promise);
		return;
	}
	out.transport_stats = true;
	int n = gst_structure_n_fields(reply);
	for (int i = 0; i < n; i++) {
		const GValue *value =
		    gst_structure_get_value(reply, gst_structure_nth_field_name(reply, i));
		if (GST_VALUE_HOLDS_STRUCTURE(value))
			add_stream_stats(gst_value_get_structure(value), out);
	}
	gst_promise_unref(promise);
}

void BitrateMeter::sample(PeerStats &stats, std::chrono::steady_clock::time_point now)
{
	stats.bitrate_tx_kbps = stats.bitrate_rx_kbps = 0;
	if (!stats.transport_stats)
		return;
	Sample &prev = samples_[stats.id];
	double secs = std::chrono::duration<double>(now - prev.when).count();
	if (prev.when.time_since_epoch().count() && secs > 0.05) {
		stats.bitrate_tx_kbps = (stats.bytes_sent - prev.bytes_sent) * 8 / secs / 1000;
		stats.bitrate_rx_kbps =
		    (stats.bytes_received - prev.bytes_received) * 8 / secs / 1000;
	}
	prev = {stats.bytes_sent, stats.bytes_received, now};
}

} // namespace meshcall
