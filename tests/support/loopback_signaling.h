// SPDX-License-Identifier: LGPL-2.1-or-later
/* Two meshcallbin peers negotiating without a server: each PeerBranch's
 * descriptions and candidates are handed straight to the other's inbound
 * side on the main context, as webrtcbin's own tests join two webrtcbins.
 * Element-level negotiation tests then run in milliseconds, need no root and
 * no network namespace (ICE stays on 127.0.0.1). */
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "peer/peer_branch.h"

namespace meshcall::test
{

/* One side of the pair: a pipeline with a MediaGraph (red or green test
 * video and a tone in, the grid and mix out) hosting one PeerBranch. */
class LoopbackPeer : public PeerHost
{
public:
	/* `pattern`: a videotestsrc pattern ("red", "green", ...); `freq`: Hz. */
	LoopbackPeer(const std::string &name, const char *pattern, double freq);
	~LoopbackPeer() override;

	GstBin *bin() override { return GST_BIN(pipeline_); }
	MediaGraph &graph() override { return *graph_; }
	void media_started(const std::string &peer_id, MediaKind kind, int width,
			   int height) override;
	void peer_warning(const std::string &peer_id, const std::string &message) override;
	void layout_changed() override {}

	const WebrtcConfig &config() const { return config_; }
	void play();
	/* The grid's centre pixel of the first tile as (Y, U, V), once a frame
	 * came out; {-1,-1,-1} before. */
	std::vector<int> first_tile_centre() const;

	std::atomic<bool> video_started{false};
	std::atomic<bool> audio_started{false};
	std::vector<std::string> warnings() const;

	std::shared_ptr<PeerBranch> branch;

private:
	static GstFlowReturn on_grid_sample(GstElement *sink, gpointer data);
	static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer data);

	GstElement *pipeline_;
	std::unique_ptr<MediaGraph> graph_;
	WebrtcConfig config_;
	guint bus_watch_ = 0;
	mutable std::mutex lock_;
	std::vector<std::string> warnings_;   /* guarded by lock_ */
	std::vector<int> centre_{-1, -1, -1}; /* guarded by lock_ */
};

/* Hands one branch's outbound signaling to another branch's inbound side.
 * With `candidates_first`, a description is held back until the first of
 * its candidates went over, so the receiving side must keep candidates that
 * arrive before the description they belong to (docs/protocol.md, "Rooms and
 * roles"). */
class LoopbackSignaling : public PeerSignaling
{
public:
	explicit LoopbackSignaling(bool candidates_first = false)
	    : candidates_first_(candidates_first)
	{
	}
	void set_remote(std::weak_ptr<PeerBranch> remote) { remote_ = std::move(remote); }
	void send_description(const std::string &peer_id, GstWebRTCSDPType type,
			      std::string sdp) override;
	void send_candidate(const std::string &peer_id, unsigned mline_index,
			    std::string candidate) override;
	/* Counted only: these tests rebuild nothing. */
	void connection_failed(const std::shared_ptr<PeerBranch> &) override { failures++; }
	std::atomic<int> failures{0};

	/* Applied to each description on its way (a browser-shaped answer made
	 * from ours, say); nullptr: passed as it is. Set before negotiating. */
	std::function<std::string(GstWebRTCSDPType, std::string)> rewrite;

	std::atomic<int> descriptions{0};
	std::atomic<int> candidates{0};

private:
	void deliver_description(GstWebRTCSDPType type, std::string sdp);

	const bool candidates_first_;
	std::weak_ptr<PeerBranch> remote_;
	std::mutex lock_;
	bool held_ = false; /* a description waits for a candidate; guarded by lock_ */
	GstWebRTCSDPType held_type_ = GST_WEBRTC_SDP_TYPE_OFFER; /* guarded by lock_ */
	std::string held_sdp_;					 /* guarded by lock_ */
};

} // namespace meshcall::test
