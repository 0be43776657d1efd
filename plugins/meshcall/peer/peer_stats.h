// SPDX-License-Identifier: LGPL-2.1-or-later
/* Per-peer figures for get-stats: what webrtcbin reports about the transport
 * (RTT, loss, bytes), what we decoded, and bitrates between two calls. */
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <gst/gst.h>

namespace meshcall
{

struct PeerStats {
	std::string id;
	std::string name;
	std::string connection_state;
	double rtt_ms = -1;
	gint64 packets_lost = 0;  /* reported by the peer, summed over streams */
	double fraction_lost = 0; /* worst stream */
	guint64 bytes_sent = 0;
	guint64 bytes_received = 0;
	guint64 video_frames_rx = 0;  /* decoded */
	guint64 audio_buffers_rx = 0; /* decoded */
	/* webrtcbin answered in time: rtt, loss and bytes above are filled. */
	bool transport_stats = false;
	double bitrate_tx_kbps = 0; /* since the previous sample; see BitrateMeter */
	double bitrate_rx_kbps = 0;
};

/* Fills the transport fields of `out` from webrtcbin's get-stats, waiting
 * at most `timeout`: webrtcbin answers from its own thread, which can be busy
 * negotiating for a second on a loaded machine, and drops a request still
 * queued when it stops, so an unbounded wait could last for ever. Not on a
 * streaming thread. */
void query_transport_stats(GstElement *webrtc, PeerStats &out,
			   std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

/* "new", "connecting", "connected", … for webrtcbin's connection-state. */
std::string connection_state_of(GstElement *webrtc);

/* Bitrates from the byte counters of consecutive samples, per peer. Not
 * thread-safe: the caller serialises. */
class BitrateMeter
{
public:
	/* Sets stats.bitrate_tx_kbps/rx_kbps from the previous sample of
	 * stats.id (0 on the first), and keeps this one. */
	void sample(PeerStats &stats, std::chrono::steady_clock::time_point now);
	void forget(const std::string &peer_id) { samples_.erase(peer_id); }
	void clear() { samples_.clear(); }

private:
	struct Sample {
		guint64 bytes_sent = 0;
		guint64 bytes_received = 0;
		std::chrono::steady_clock::time_point when;
	};
	std::map<std::string, Sample> samples_;
};

} // namespace meshcall
