// SPDX-License-Identifier: LGPL-2.1-or-later
#include "media/remote_stream.h"

#include <gst/video/video.h>

#include "common/elements.h"

#include "common/debug.h"

MESHCALL_DEBUG_CATEGORY(meshcall_receive_debug, "meshcall-receive",
			"meshcallbin's received streams")
#define GST_CAT_DEFAULT meshcall_receive_debug

namespace meshcall
{

namespace
{

/* Depayloader and decoder (and converters) for what the pad carries; empty
 * when we do not decode it. */
std::vector<GstElement *> decode_chain(bool video, const std::string &encoding)
{
	if (video && encoding == "VP8")
		return {make_element("rtpvp8depay"), make_element("vp8dec")};
	if (video && encoding == "H264") {
		bool libav = element_factory_exists("avdec_h264");
		return {make_element("rtph264depay"),
			make_element(libav ? "avdec_h264" : "openh264dec")};
	}
	if (!video && encoding == "OPUS")
		return {make_element("rtpopusdepay"), make_element("opusdec"),
			make_element("audioconvert"), make_element("audioresample")};
	return {};
}

GstElement *make_name_label(const std::string &name)
{
	GstElement *label = make_element("textoverlay");
	if (label)
		g_object_set(label, "text", name.c_str(), "valignment", 1 /* bottom */,
			     "halignment", 0 /* left */, "shaded-background", TRUE, "font-desc",
			     "Sans 20", nullptr);
	return label;
}

} // namespace

RemoteStream::RemoteStream(GstBin *bin, MediaGraph &graph, MediaKind kind)
    : bin_(bin), graph_(graph), kind_(kind)
{
}

RemoteStream::~RemoteStream() = default;

std::unique_ptr<RemoteStream> RemoteStream::create(GstBin *bin, MediaGraph &graph,
						   const std::string &peer_id,
						   const std::string &name, GstPad *webrtc_src,
						   FirstMedia first_media, std::string *error)
{
	ensure_debug_category();
	GstCaps *caps = gst_pad_get_current_caps(webrtc_src);
	if (!caps)
		caps = gst_pad_query_caps(webrtc_src, nullptr);
	const GstStructure *s = gst_caps_get_structure(caps, 0);
	const char *media = gst_structure_get_string(s, "media");
	const char *encoding_name = gst_structure_get_string(s, "encoding-name");
	const std::string encoding = encoding_name ? encoding_name : "";
	const bool video = media && g_str_equal(media, "video");
	GST_DEBUG_OBJECT(webrtc_src, "peer %s: incoming %s %s", peer_id.c_str(),
			 media ? media : "?", encoding.c_str());
	gst_caps_unref(caps);

	std::vector<GstElement *> chain = decode_chain(video, encoding);
	const bool decodable = !chain.empty();
	if (!decodable) {
		chain = {make_element("fakesink")};
		if (chain[0])
			g_object_set(chain[0], "async", FALSE, "sync", FALSE, nullptr);
	} else if (video) {
		chain.push_back(make_name_label(name));
	}
	for (GstElement *e : chain) {
		if (!e) {
			discard_elements(chain);
			if (error)
				*error = "a decoder for the peer's media is missing";
			return nullptr;
		}
	}

	std::unique_ptr<RemoteStream> stream(
	    new RemoteStream(bin, graph, video ? MediaKind::Video : MediaKind::Audio));
	for (GstElement *e : chain)
		gst_bin_add(bin, e);
	for (size_t i = 1; i < chain.size(); i++)
		gst_element_link(chain[i - 1], chain[i]);

	if (decodable) {
		if (video)
			stream->mixer_pad_ = PadRef::ref(graph.add_tile(peer_id, name));
		else
			stream->mixer_pad_ = PadRef::adopt(graph.add_mixer_pad());
		GstPad *last_src = gst_element_get_static_pad(chain.back(), "src");
		gst_pad_link(last_src, stream->mixer_pad_);
		gst_object_unref(last_src);

		/* Count decoded frames (stats) and announce the first one. */
		stream->counter_->first_media = std::move(first_media);
		GstPad *dec_src = gst_element_get_static_pad(chain[1], "src");
		gst_pad_add_probe(dec_src, GST_PAD_PROBE_TYPE_BUFFER, &RemoteStream::on_decoded,
				  new std::shared_ptr<Counter>(stream->counter_), [](gpointer d) {
					  delete static_cast<std::shared_ptr<Counter> *>(d);
				  });
		gst_object_unref(dec_src);
	}
	for (GstElement *e : chain) {
		gst_element_sync_state_with_parent(e);
		stream->elements_.push_back(ElementRef::ref(e));
	}
	GstPad *sink = gst_element_get_static_pad(chain[0], "sink");
	if (gst_pad_link(webrtc_src, sink) != GST_PAD_LINK_OK)
		GST_ERROR_OBJECT(webrtc_src, "peer %s: cannot link incoming %s", peer_id.c_str(),
				 video ? "video" : "audio");
	gst_object_unref(sink);
	return stream;
}

GstPadProbeReturn RemoteStream::on_decoded(GstPad *pad, GstPadProbeInfo *, gpointer data)
{
	Counter &counter = **static_cast<std::shared_ptr<Counter> *>(data);
	if (counter.count.fetch_add(1) != 0)
		return GST_PAD_PROBE_OK;
	const bool video = GST_PAD_PARENT(pad) && GST_IS_VIDEO_DECODER(GST_PAD_PARENT(pad));
	int width = 0, height = 0;
	if (GstCaps *caps = gst_pad_get_current_caps(pad)) {
		gst_structure_get_int(gst_caps_get_structure(caps, 0), "width", &width);
		gst_structure_get_int(gst_caps_get_structure(caps, 0), "height", &height);
		gst_caps_unref(caps);
	}
	if (counter.first_media)
		counter.first_media(video ? MediaKind::Video : MediaKind::Audio, width, height);
	return GST_PAD_PROBE_OK;
}

void RemoteStream::remove()
{
	for (auto &e : elements_)
		remove_from_bin(bin_, e);
	elements_.clear();
	if (mixer_pad_) {
		if (kind_ == MediaKind::Video)
			graph_.remove_tile(mixer_pad_);
		else
			graph_.remove_mixer_pad(mixer_pad_);
		mixer_pad_.reset();
	}
}

} // namespace meshcall
