// SPDX-License-Identifier: LGPL-2.1-or-later
#include "peer/sdp_codecs.h"

#include <charconv>
#include <cstring>
#include <map>
#include <string_view>

namespace meshcall
{

namespace
{

/* "PT NAME/CLOCK[/CHANNELS]" from a=rtpmap. */
struct Rtpmap {
	int pt = -1;
	std::string name;
	unsigned clock_rate = 0;
	unsigned channels = 1; /* RFC 4566: absent means one channel */
};

std::string_view trim(std::string_view s)
{
	const char *space = " \t\r\n";
	const auto begin = s.find_first_not_of(space);
	if (begin == std::string_view::npos)
		return {};
	const auto end = s.find_last_not_of(space);
	return s.substr(begin, end - begin + 1);
}

bool iequals(std::string_view a, std::string_view b)
{
	return a.size() == b.size() && g_ascii_strncasecmp(a.data(), b.data(), a.size()) == 0;
}

/* `s`, all of it, as a number in `base`; nullopt otherwise. */
template <typename T> std::optional<T> parse_number(std::string_view s, int base = 10)
{
	T value{};
	const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
	if (ec != std::errc() || end != s.data() + s.size())
		return std::nullopt;
	return value;
}

/* Splits "PT rest" (rtpmap and fmtp values) at the first space. */
std::optional<std::pair<int, std::string_view>> split_pt(const char *value)
{
	if (!value)
		return std::nullopt;
	const std::string_view s = trim(value);
	const auto space = s.find_first_of(" \t");
	if (space == std::string_view::npos)
		return std::nullopt;
	const auto pt = parse_number<int>(s.substr(0, space));
	if (!pt || *pt < 0 || *pt > 127)
		return std::nullopt;
	return std::pair{*pt, trim(s.substr(space))};
}

std::optional<Rtpmap> parse_rtpmap(const char *value)
{
	const auto split = split_pt(value);
	if (!split)
		return std::nullopt;
	const std::string_view encoding = split->second;
	Rtpmap map;
	map.pt = split->first;
	const auto slash = encoding.find('/');
	if (slash == std::string_view::npos || slash == 0)
		return std::nullopt;
	map.name = encoding.substr(0, slash);
	std::string_view rest = encoding.substr(slash + 1);
	const auto slash2 = rest.find('/');
	const auto clock = parse_number<unsigned>(rest.substr(0, slash2));
	if (!clock)
		return std::nullopt;
	map.clock_rate = *clock;
	if (slash2 != std::string_view::npos) {
		const auto channels = parse_number<unsigned>(rest.substr(slash2 + 1));
		if (!channels)
			return std::nullopt;
		map.channels = *channels;
	}
	return map;
}

/* The "key=val;key=val" parameters of a=fmtp for `pt`; keys lower-cased. */
std::map<std::string, std::string> fmtp_params(const GstSDPMedia *media, int pt)
{
	std::map<std::string, std::string> params;
	for (guint i = 0;; i++) {
		const char *value = gst_sdp_media_get_attribute_val_n(media, "fmtp", i);
		if (!value)
			break;
		const auto split = split_pt(value);
		if (!split || split->first != pt)
			continue;
		std::string_view rest = split->second;
		while (!rest.empty()) {
			const auto semicolon = rest.find(';');
			const std::string_view param = trim(rest.substr(0, semicolon));
			rest = semicolon == std::string_view::npos ? std::string_view{}
								   : rest.substr(semicolon + 1);
			const auto eq = param.find('=');
			if (eq == std::string_view::npos || eq == 0)
				continue;
			const std::string_view key = trim(param.substr(0, eq));
			g_autofree char *lower = g_ascii_strdown(key.data(), key.size());
			params.emplace(lower, trim(param.substr(eq + 1)));
		}
		break;
	}
	return params;
}

/* RFC 6184: packetization-mode=1 (absent means 0, single NAL units, no FU-A
 * fragmentation for frames above the MTU) and a constrained baseline profile,
 * the one our encoders are set to, or no profile-level-id at all. */
bool h264_usable(const std::map<std::string, std::string> &params)
{
	const auto mode = params.find("packetization-mode");
	if (mode == params.end() || mode->second != "1")
		return false;
	const auto profile = params.find("profile-level-id");
	if (profile == params.end())
		return true; /* RFC 6184: baseline */
	const std::string_view id = profile->second;
	if (id.size() != 6)
		return false;
	const auto profile_idc = parse_number<unsigned>(id.substr(0, 2), 16);
	const auto iop = parse_number<unsigned>(id.substr(2, 2), 16);
	const auto level = parse_number<unsigned>(id.substr(4, 2), 16);
	if (!profile_idc || !iop || !level)
		return false;
	return *profile_idc == 0x42 && ((*iop & 0x40) != 0 || *iop == 0x00);
}

/* a=sendrecv/sendonly/recvonly/inactive among `count` attributes. */
template <typename Get> std::optional<std::string> direction_of(guint count, Get &&get_attribute)
{
	for (guint i = 0; i < count; i++) {
		const GstSDPAttribute *attr = get_attribute(i);
		for (const char *dir : {"sendrecv", "sendonly", "recvonly", "inactive"}) {
			if (attr->key && std::strcmp(attr->key, dir) == 0)
				return dir;
		}
	}
	return std::nullopt;
}

SdpMedia describe_media(const GstSDPMedia *media, unsigned mline, MediaKind kind,
			const std::string &session_direction)
{
	SdpMedia out;
	out.mline = mline;
	out.kind = kind;
	if (const char *mid = gst_sdp_media_get_attribute_val(media, "mid"))
		out.mid = mid;
	/* RFC 8843: port 0 with a=bundle-only is a live m-line inside the
	 * bundle, not a rejected one; webrtcbin's own max-bundle offers write
	 * every m-line after the first that way. */
	out.port_zero = gst_sdp_media_get_port(media) == 0 &&
			!gst_sdp_media_get_attribute_val(media, "bundle-only");
	out.direction = direction_of(gst_sdp_media_attributes_len(media), [media](guint i) {
				return gst_sdp_media_get_attribute(media, i);
			}).value_or(session_direction);

	std::map<int, Rtpmap> rtpmaps;
	for (guint i = 0;; i++) {
		const char *value = gst_sdp_media_get_attribute_val_n(media, "rtpmap", i);
		if (!value)
			break;
		if (auto map = parse_rtpmap(value))
			rtpmaps.emplace(map->pt, std::move(*map));
	}

	/* The m-line's format order is the offerer's preference. */
	for (guint i = 0; i < gst_sdp_media_formats_len(media); i++) {
		const auto pt = parse_number<int>(gst_sdp_media_get_format(media, i));
		if (!pt)
			continue;
		const auto found = rtpmaps.find(*pt);
		if (found == rtpmaps.end())
			continue;
		const Rtpmap &map = found->second;
		if (kind == MediaKind::Audio) {
			if (!out.opus_pt && iequals(map.name, "OPUS") && map.clock_rate == 48000 &&
			    map.channels == 2)
				out.opus_pt = *pt;
			continue;
		}
		if (map.clock_rate != 90000)
			continue;
		if (!out.vp8_pt && iequals(map.name, "VP8"))
			out.vp8_pt = *pt;
		else if (!out.h264_pt && iequals(map.name, "H264") &&
			 h264_usable(fmtp_params(media, *pt)))
			out.h264_pt = *pt;
	}
	return out;
}

} // namespace

std::vector<SdpMedia> sdp_media(const GstSDPMessage *sdp)
{
	std::vector<SdpMedia> result;
	if (!sdp)
		return result;
	/* RFC 4566: a session-level direction applies to m-lines without one. */
	const std::string session_direction =
	    direction_of(gst_sdp_message_attributes_len(sdp), [sdp](guint i) {
		    return gst_sdp_message_get_attribute(sdp, i);
	    }).value_or("sendrecv");
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		const GstSDPMedia *media = gst_sdp_message_get_media(sdp, i);
		const char *type = gst_sdp_media_get_media(media);
		if (g_strcmp0(type, "audio") == 0)
			result.push_back(
			    describe_media(media, i, MediaKind::Audio, session_direction));
		else if (g_strcmp0(type, "video") == 0)
			result.push_back(
			    describe_media(media, i, MediaKind::Video, session_direction));
	}
	return result;
}

std::optional<std::vector<SdpMedia>> sdp_media(const std::string &sdp_text)
{
	if (sdp_text.empty()) /* the parser g_return_if_fails on it */
		return std::nullopt;
	GstSDPMessage *parsed = nullptr;
	if (gst_sdp_message_new_from_text(sdp_text.c_str(), &parsed) != GST_SDP_OK)
		return std::nullopt;
	g_autoptr(GstSDPMessage) sdp = parsed;
	/* GstSDPMessage skips lines it does not understand, so any text
	 * "parses"; an SDP starts with v=0 (RFC 4566 5.1). */
	if (g_strcmp0(gst_sdp_message_get_version(sdp), "0") != 0)
		return std::nullopt;
	return sdp_media(sdp);
}

std::optional<int> video_pt(const std::vector<SdpMedia> &media, VideoCodec codec)
{
	for (const SdpMedia &m : media) {
		if (m.kind != MediaKind::Video)
			continue;
		return codec == VideoCodec::VP8 ? m.vp8_pt : m.h264_pt;
	}
	return std::nullopt;
}

std::optional<int> opus_pt(const std::vector<SdpMedia> &media)
{
	for (const SdpMedia &m : media) {
		if (m.kind == MediaKind::Audio)
			return m.opus_pt;
	}
	return std::nullopt;
}

std::vector<MediaKind> complete_rejected_media(GstSDPMessage *answer)
{
	const char *transport_attrs[] = {"ice-ufrag", "ice-pwd", "fingerprint", "setup"};
	const GstSDPMedia *transport = nullptr;
	for (guint i = 0; i < gst_sdp_message_medias_len(answer) && !transport; i++) {
		const GstSDPMedia *m = gst_sdp_message_get_media(answer, i);
		if (gst_sdp_media_get_port(m) != 0 &&
		    gst_sdp_media_get_attribute_val(m, "ice-ufrag"))
			transport = m;
	}
	std::vector<MediaKind> rejected;
	for (const SdpMedia &m : sdp_media(answer)) {
		if (!m.port_zero)
			continue;
		rejected.push_back(m.kind);
		auto *media = const_cast<GstSDPMedia *>(gst_sdp_message_get_media(answer, m.mline));
		for (const char *attr : transport_attrs) {
			const char *ours = gst_sdp_media_get_attribute_val(media, attr);
			const char *theirs =
			    transport ? gst_sdp_media_get_attribute_val(transport, attr) : nullptr;
			if ((!ours || !*ours) && theirs)
				gst_sdp_media_add_attribute(media, attr, theirs);
		}
	}
	return rejected;
}

GstCaps *rtp_caps(MediaKind kind, std::optional<VideoCodec> video_codec, int pt)
{
	g_return_val_if_fail(pt >= 0 && pt <= 127, nullptr);
	if (kind == MediaKind::Audio) {
		/* Strings, as webrtcbin copies them into a=rtpmap channels and
		 * a=fmtp verbatim. */
		return gst_caps_new_simple(
		    "application/x-rtp", "media", G_TYPE_STRING, "audio", "encoding-name",
		    G_TYPE_STRING, "OPUS", "clock-rate", G_TYPE_INT, 48000, "payload", G_TYPE_INT,
		    pt, "encoding-params", G_TYPE_STRING, "2", "minptime", G_TYPE_STRING, "10",
		    "useinbandfec", G_TYPE_STRING, "1", nullptr);
	}
	g_return_val_if_fail(video_codec.has_value(), nullptr);
	/* gst_sdp_media_set_media_from_caps turns boolean rtcp-fb-X-Y fields
	 * into a=rtcp-fb:PT X Y. */
	GstCaps *caps = gst_caps_new_simple(
	    "application/x-rtp", "media", G_TYPE_STRING, "video", "encoding-name", G_TYPE_STRING,
	    to_string(*video_codec), "clock-rate", G_TYPE_INT, 90000, "payload", G_TYPE_INT, pt,
	    "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE, "rtcp-fb-nack-pli", G_TYPE_BOOLEAN, TRUE,
	    "rtcp-fb-ccm-fir", G_TYPE_BOOLEAN, TRUE, nullptr);
	if (*video_codec == VideoCodec::H264) {
		gst_caps_set_simple(caps, "packetization-mode", G_TYPE_STRING, "1",
				    "profile-level-id", G_TYPE_STRING, "42e01f",
				    "level-asymmetry-allowed", G_TYPE_STRING, "1", nullptr);
	}
	return caps;
}

} // namespace meshcall
