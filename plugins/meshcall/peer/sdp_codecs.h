// SPDX-License-Identifier: LGPL-2.1-or-later
/* What a remote SDP offers, and the RTP caps meshcallbin sends with.
 *
 * docs/design.md, fact 3: a payloader whose payload type differs from the remote
 * offer makes webrtcbin answer recvonly, so every peer's payloaders take their
 * payload types from that peer's SDP. */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include "common/media_types.h"

namespace meshcall
{

/* One audio or video m-line of an SDP. */
struct SdpMedia {
	unsigned mline = 0;
	MediaKind kind = MediaKind::Audio;
	std::string mid;	    /* "" when the m-line has no a=mid */
	std::optional<int> opus_pt; /* first OPUS/48000/2 payload */
	std::optional<int> vp8_pt;  /* first VP8/90000 payload */
	/* first H264/90000 payload with packetization-mode=1 and a constrained
	 * baseline profile-level-id (42e0xx, 4200xx or 42c0xx; Chromium offers
	 * 42e01f and 42001f), or with no profile-level-id at all (RFC 6184: baseline) */
	std::optional<int> h264_pt;
	bool port_zero = false; /* m-line rejected/disabled */
	/* a=sendrecv/sendonly/recvonly/inactive as written (default sendrecv) */
	std::string direction = "sendrecv";
};

/* The audio and video m-lines of `sdp`, in order; other m-lines (application)
 * are skipped. */
std::vector<SdpMedia> sdp_media(const GstSDPMessage *sdp);
/* Same, parsing SDP text; nullopt when it does not parse. */
std::optional<std::vector<SdpMedia>> sdp_media(const std::string &sdp_text);

/* The payload type for `codec` in the first video m-line, if offered. */
std::optional<int> video_pt(const std::vector<SdpMedia> &media, VideoCodec codec);
/* The OPUS payload type in the first audio m-line, if offered. */
std::optional<int> opus_pt(const std::vector<SdpMedia> &media);

/* An answer that rejects an m-line (port 0, as a browser answers a codec it
 * lacks) writes no ICE or DTLS attributes for it, and webrtcbin 1.22 refuses
 * the whole answer for that ("media 1 is missing or contains an empty
 * 'ice-ufrag'"). This gives each rejected m-line the ice-ufrag, ice-pwd and
 * fingerprint and setup of the first m-line that has them, which is what
 * webrtcbin checks;
 * the m-line stays rejected. Returns the kinds of the rejected m-lines. */
std::vector<MediaKind> complete_rejected_media(GstSDPMessage *answer);

/* RTP caps for the send side's payloader output (capsfilter after the
 * payloader): media, encoding-name, clock-rate, payload, and the rtcp-fb
 * attributes browsers expect (nack, nack pli, ccm fir for video;
 * transport-cc is not offered). For H264 also packetization-mode=1 and
 * profile-level-id=42e01f; for OPUS encoding-params=2, minptime=10 and
 * useinbandfec=1. Caller owns the result. */
GstCaps *rtp_caps(MediaKind kind, std::optional<VideoCodec> video_codec, int pt);

} // namespace meshcall
