// SPDX-License-Identifier: LGPL-2.1-or-later
#include "peer/webrtc_config.h"

#include <utility>

#include "common/debug.h"

MESHCALL_DEBUG_CATEGORY(meshcall_webrtc_debug, "meshcall-webrtc", "meshcallbin's webrtcbin set-up")
#define GST_CAT_DEFAULT meshcall_webrtc_debug

namespace meshcall
{

namespace
{

/* Ta of the ICE agent; see configure_ice(). */
constexpr guint kIcePacingMs = 5;

/* rtpjitterbuffer holds the first packet of a stream for its whole latency
 * (it cannot know whether earlier ones are still on their way), so a
 * newcomer's first frame would reach the decoder `latency` late, and the
 * depayloader's request for a keyframe (it drops inter frames until one)
 * would go out that late too. With faststart it starts as soon as a few
 * packets arrived in sequence; later packets are reordered within the
 * latency as before. */
constexpr guint kFaststartPackets = 2;

void start_jitterbuffers_fast(GstElement *webrtc)
{
	GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
	if (!rtpbin)
		return;
	g_signal_connect(rtpbin, "new-jitterbuffer",
			 G_CALLBACK(+[](GstElement *, GstElement *jitterbuffer, guint, guint) {
				 if (g_object_class_find_property(G_OBJECT_GET_CLASS(jitterbuffer),
								  "faststart-min-packets"))
					 g_object_set(jitterbuffer, "faststart-min-packets",
						      kFaststartPackets, nullptr);
			 }),
			 nullptr);
	gst_object_unref(rtpbin);
}

void configure_ice(GstElement *webrtc, const WebrtcConfig &config)
{
	GObject *ice = nullptr;
	g_object_get(webrtc, "ice-agent", &ice, nullptr);
	if (!ice)
		return;
	/* UPnP discovery leaks threads on teardown (docs/design.md, fact 6) and
	 * is useless for a mesh of ICE peers. */
	GObject *agent = nullptr;
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
		g_object_get(ice, "agent", &agent, nullptr);
	if (agent) {
		g_object_set(agent, "upnp", FALSE, nullptr);
		/* libnice paces checks and runs regular nomination on one timer of
		 * 20 ms: the first check, the nominating check and its answer each
		 * wait for a tick, which made up most of ICE's ~65 ms on loopback.
		 * The timer runs only while checking (it stops a few seconds after
		 * the pair is chosen), and a call has a handful of candidate pairs,
		 * so a shorter one costs little. */
		if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "stun-pacing-timer"))
			g_object_set(agent, "stun-pacing-timer", kIcePacingMs, nullptr);
		g_object_unref(agent);
	}
	/* docs/design.md, fact 8: libnice gathers on every interface unless
	 * told where. */
	for (const auto &addr : config.ice_addresses) {
		gboolean ok = FALSE;
		g_signal_emit_by_name(ice, "add-local-ip-address", addr.c_str(), &ok);
		if (!ok)
			GST_WARNING_OBJECT(webrtc, "ice-addresses: %s refused", addr.c_str());
	}
	g_object_unref(ice);
}

} // namespace

std::vector<std::string> split_addresses(const std::string &list)
{
	std::vector<std::string> out;
	std::string cur;
	for (char c : list) {
		if (c == ',' || c == ' ' || c == ';') {
			if (!cur.empty())
				out.push_back(std::exchange(cur, {}));
		} else {
			cur += c;
		}
	}
	if (!cur.empty())
		out.push_back(cur);
	return out;
}

void add_ice_servers(WebrtcConfig &config, const std::vector<protocol::IceServer> &servers)
{
	for (const auto &server : servers) {
		for (const auto &url : server.urls) {
			auto colon = url.find(':');
			if (colon == std::string::npos)
				continue;
			std::string scheme = url.substr(0, colon);
			std::string rest = url.substr(colon + 1);
			if (rest.rfind("//", 0) == 0)
				rest = rest.substr(2);
			if (scheme == "stun" && config.stun_server.empty()) {
				config.stun_server = "stun://" + rest;
			} else if ((scheme == "turn" || scheme == "turns") && server.username &&
				   server.credential) {
				g_autofree char *user =
				    g_uri_escape_string(server.username->c_str(), nullptr, FALSE);
				g_autofree char *pass =
				    g_uri_escape_string(server.credential->c_str(), nullptr, FALSE);
				config.turn_servers.push_back(scheme + "://" + user + ":" + pass +
							      "@" + rest);
			}
		}
	}
}

GstElement *make_webrtcbin(const std::string &peer_id, const WebrtcConfig &config)
{
	ensure_debug_category();
	g_autofree char *name = g_strdup_printf("webrtc-%s", peer_id.c_str());
	GstElement *webrtc = gst_element_factory_make("webrtcbin", name);
	if (!webrtc) {
		GST_ERROR("webrtcbin is missing (gstreamer1.0-plugins-bad, gstreamer1.0-nice)");
		return nullptr;
	}
	/* docs/design.md, fact 4: browsers reject offers without max-bundle. */
	gst_util_set_object_arg(G_OBJECT(webrtc), "bundle-policy", "max-bundle");
	g_object_set(webrtc, "latency", config.latency_ms, nullptr);
	if (!config.stun_server.empty())
		g_object_set(webrtc, "stun-server", config.stun_server.c_str(), nullptr);
	for (const auto &turn : config.turn_servers) {
		gboolean ok = FALSE;
		g_signal_emit_by_name(webrtc, "add-turn-server", turn.c_str(), &ok);
		if (!ok)
			GST_WARNING_OBJECT(webrtc, "TURN server refused");
	}
	configure_ice(webrtc, config);
	start_jitterbuffers_fast(webrtc);
	return webrtc;
}

} // namespace meshcall
