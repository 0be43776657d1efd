// SPDX-License-Identifier: LGPL-2.1-or-later
/* How meshcallbin sets up each peer's webrtcbin: bundling, ICE (which local
 * addresses, STUN/TURN, pacing), the receive jitter buffer. */
#pragma once

#include <string>
#include <vector>

#include <gst/gst.h>

#include "media/encoders.h"
#include "protocol/protocol.h"

namespace meshcall
{

struct WebrtcConfig {
	std::vector<std::string> ice_addresses; /* empty: every interface */
	std::string stun_server;		/* stun://host:port or "" */
	std::vector<std::string> turn_servers;	/* turn(s)://user:pass@host:port */
	unsigned latency_ms = 100;
	MediaSettings media;
};

/* "a, b;c" → {"a", "b", "c"}: the ice-addresses property's list. */
std::vector<std::string> split_addresses(const std::string &list);

/* Adds the servers a `welcome` announces (W3C RTCIceServer URLs such as
 * "stun:host:port" and "turn:host:port?transport=udp") in webrtcbin's forms
 * ("stun://host:port", "turn://user:pass@host:port", user and password
 * percent-encoded). A STUN server already set is kept. */
void add_ice_servers(WebrtcConfig &config, const std::vector<protocol::IceServer> &servers);

/* A webrtcbin named "webrtc-<peer_id>" set up from `config`; nullptr when
 * webrtcbin is not installed. */
GstElement *make_webrtcbin(const std::string &peer_id, const WebrtcConfig &config);

} // namespace meshcall
