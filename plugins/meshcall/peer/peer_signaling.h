// SPDX-License-Identifier: LGPL-2.1-or-later
/* PeerSignaling is all a peer knows of signaling: where its own descriptions
 * and candidates go. What the remote peer sends comes in through the room
 * session (RoomSession calls PeerBranch::handle_offer() and friends), so
 * each direction takes one path, and a test can join two peers without a
 * server by handing each the other's inbound side (as webrtcbin's own tests
 * do). */
#pragma once

#include <memory>
#include <string>

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

namespace meshcall
{

class PeerBranch;

class PeerSignaling
{
public:
	virtual ~PeerSignaling() = default;
	/* Our offer or answer for `peer_id` (SDP text). Any thread. */
	virtual void send_description(const std::string &peer_id, GstWebRTCSDPType type,
				      std::string sdp) = 0;
	/* One of our ICE candidates for `peer_id`. Any thread. */
	virtual void send_candidate(const std::string &peer_id, unsigned mline_index,
				    std::string candidate) = 0;
	/* The branch's connection failed, or stayed disconnected for
	 * PeerBranch::kDisconnectedLimit: the room rebuilds it or asks the
	 * peer to (docs/protocol.md, "Reconnect"). Any thread, at most once
	 * per branch. */
	virtual void connection_failed(const std::shared_ptr<PeerBranch> &branch) = 0;
};

} // namespace meshcall
