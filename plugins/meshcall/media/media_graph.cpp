// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallbin's fixed graph: the send chains up to the tees and the output
 * grid/mix. See media_graph.h. */
#include "media/media_graph.h"

#include "common/elements.h"

#include <cmath>

#include <gst/video/video.h>

namespace meshcall
{

MediaGraph::MediaGraph(GstBin *bin) : bin_(bin)
{
	/* A live black base layer keeps video_src running (black) when alone. */
	GstElement *black = make_element("videotestsrc", "grid-background");
	g_object_set(black, "is-live", TRUE, nullptr);
	gst_util_set_object_arg(G_OBJECT(black), "pattern", "black");
	GstElement *black_caps = make_element("capsfilter", "grid-background-caps");
	compositor_ = ElementRef::ref(make_element("compositor", "grid"));
	g_object_set(compositor_.get(), "background", 1 /* black */, nullptr);
	video_caps_ = ElementRef::ref(make_element("capsfilter", "grid-caps"));
	add_chain(bin, {black, black_caps, compositor_.get(), video_caps_.get()});

	GstElement *silence = make_element("audiotestsrc", "mix-background");
	g_object_set(silence, "is-live", TRUE, "wave", 4 /* silence */, "samplesperbuffer", 960,
		     nullptr);
	GstElement *silence_caps =
	    make_capsfilter("audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2");
	audiomixer_ = ElementRef::ref(make_element("audiomixer", "mix"));
	audio_caps_ = ElementRef::ref(
	    make_capsfilter("audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2"));
	add_chain(bin, {silence, silence_caps, audiomixer_.get(), audio_caps_.get()});

	video_out_ = PadRef::adopt(gst_element_get_static_pad(video_caps_, "src"));
	audio_out_ = PadRef::adopt(gst_element_get_static_pad(audio_caps_, "src"));
	set_output_size(width_, height_);
}

MediaGraph::~MediaGraph() = default;

void MediaGraph::set_output_size(unsigned width, unsigned height)
{
	std::lock_guard l(lock_);
	width_ = width;
	height_ = height;
	/* Colorimetry fixed too: otherwise the grid's follows its first tile
	 * (bt601 from a decoder after the background's bt709), and a format
	 * change mid-stream is more than an encoder or muxer downstream takes. */
	g_autofree char *s = g_strdup_printf(
	    "video/x-raw,format=I420,width=%u,height=%u,framerate=30/1,pixel-aspect-ratio=1/1,"
	    "colorimetry=bt709",
	    width, height);
	GstCaps *caps = gst_caps_from_string(s);
	GstElement *bg = gst_bin_get_by_name(bin_, "grid-background-caps");
	g_object_set(bg, "caps", caps, nullptr);
	g_object_set(video_caps_.get(), "caps", caps, nullptr);
	gst_object_unref(bg);
	gst_caps_unref(caps);
	relayout_locked();
}

GstPad *MediaGraph::add_video_input(const MediaSettings &s)
{
	GstElement *queue = make_element("queue");
	g_object_set(queue, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
		     G_GUINT64_CONSTANT(0), nullptr);
	gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
	GstElement *convert = make_element("videoconvert");
	GstElement *rate = make_element("videorate");
	g_object_set(rate, "drop-only", TRUE, "max-rate", 30, nullptr);
	GstElement *caps = make_capsfilter("video/x-raw,format=I420");
	GstElement *raw_tee = make_element("tee", "video-raw-tee");
	g_object_set(raw_tee, "allow-not-linked", TRUE, nullptr);
	std::vector<GstElement *> chain = {queue, convert, rate, caps, raw_tee};
	if (!add_chain(bin_, chain))
		return nullptr;
	for (GstElement *e : chain)
		input_elements_.push_back(ElementRef::ref(e));
	/* Ahead of everything that shows or sends the picture. */
	GstPad *raw = gst_element_get_static_pad(caps, "src");
	video_mute_.attach(raw);
	gst_object_unref(raw);

	if (s.encoder_per_peer) {
		video_tee_ = ElementRef::ref(raw_tee);
	} else {
		GstElement *enc_queue = make_element("queue");
		g_object_set(enc_queue, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
			     G_GUINT64_CONSTANT(0), nullptr);
		gst_util_set_object_arg(G_OBJECT(enc_queue), "leaky", "downstream");
		GstElement *enc = make_video_encoder(s, "video-encoder");
		GstElement *tee = make_element("tee", "video-tee");
		g_object_set(tee, "allow-not-linked", TRUE, nullptr);
		if (!add_chain(bin_, {enc_queue, enc, tee}))
			return nullptr;
		gst_element_link(raw_tee, enc_queue);
		for (GstElement *e : {enc_queue, enc, tee})
			input_elements_.push_back(ElementRef::ref(e));
		video_encoder_ = ElementRef::ref(enc);
		video_tee_ = ElementRef::ref(tee);
		GstPad *enc_src = gst_element_get_static_pad(enc, "src");
		keyframes_.set_target(enc_src);
		gst_object_unref(enc_src);
	}

	if (s.show_self) {
		GstElement *self_queue = make_element("queue");
		gst_util_set_object_arg(G_OBJECT(self_queue), "leaky", "downstream");
		g_object_set(self_queue, "max-size-buffers", 2, nullptr);
		GstElement *label = make_element("textoverlay");
		g_object_set(label, "text", "me", "valignment", 1 /* bottom */, "halignment",
			     0 /* left */, "shaded-background", TRUE, "font-desc", "Sans 20",
			     nullptr);
		if (add_chain(bin_, {self_queue, label})) {
			input_elements_.push_back(ElementRef::ref(self_queue));
			input_elements_.push_back(ElementRef::ref(label));
			gst_element_link(raw_tee, self_queue);
			GstPad *tile = add_tile("self", "me");
			GstPad *src = gst_element_get_static_pad(label, "src");
			gst_pad_link(src, tile);
			gst_object_unref(src);
			self_pad_ = PadRef::ref(tile);
		}
	}
	return gst_element_get_static_pad(queue, "sink");
}

GstPad *MediaGraph::add_audio_input(const MediaSettings &s)
{
	GstElement *queue = make_element("queue");
	g_object_set(queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
		     100 * GST_MSECOND, nullptr);
	gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
	GstElement *convert = make_element("audioconvert");
	GstElement *resample = make_element("audioresample");
	GstElement *caps = make_capsfilter("audio/x-raw,rate=48000,channels=1");
	/* Passthrough unless muted, then zeros: Opus goes on encoding, so the
	 * stream, its timestamps and the SDP stay as they are. */
	GstElement *volume = make_element("volume", "audio-mute");
	GstElement *enc = make_audio_encoder(s, "audio-encoder");
	GstElement *tee = make_element("tee", "audio-tee");
	g_object_set(tee, "allow-not-linked", TRUE, nullptr);
	std::vector<GstElement *> chain = {queue, convert, resample, caps, volume, enc, tee};
	if (!add_chain(bin_, chain))
		return nullptr;
	for (GstElement *e : chain)
		input_elements_.push_back(ElementRef::ref(e));
	audio_tee_ = ElementRef::ref(tee);
	{
		std::lock_guard l(mute_lock_);
		audio_volume_ = ElementRef::ref(volume);
		g_object_set(volume, "mute", static_cast<gboolean>(audio_muted_), nullptr);
	}
	return gst_element_get_static_pad(queue, "sink");
}

void MediaGraph::remove_inputs()
{
	if (self_pad_) {
		remove_tile(self_pad_);
		self_pad_.reset();
	}
	for (auto &e : input_elements_) {
		gst_element_set_state(e, GST_STATE_NULL);
		gst_bin_remove(bin_, e);
	}
	input_elements_.clear();
	video_mute_.detach();
	{
		std::lock_guard l(mute_lock_);
		audio_volume_.reset();
	}
	keyframes_.set_target(nullptr);
	video_tee_.reset();
	audio_tee_.reset();
	video_encoder_.reset();
}

void MediaGraph::set_audio_muted(bool muted)
{
	std::lock_guard l(mute_lock_);
	audio_muted_ = muted;
	if (audio_volume_)
		g_object_set(audio_volume_.get(), "mute", static_cast<gboolean>(muted), nullptr);
}

GstPad *MediaGraph::add_tile(const std::string &peer_id, const std::string &name)
{
	GstPad *pad = gst_element_request_pad_simple(compositor_, "sink_%u");
	gst_util_set_object_arg(G_OBJECT(pad), "sizing-policy", "keep-aspect-ratio");
	std::lock_guard l(lock_);
	tiles_.push_back({PadRef::adopt(pad), peer_id, name});
	relayout_locked();
	return pad;
}

void MediaGraph::remove_tile(GstPad *pad)
{
	{
		std::lock_guard l(lock_);
		std::erase_if(tiles_, [pad](const TileState &t) { return t.pad.get() == pad; });
		relayout_locked();
	}
	gst_element_release_request_pad(compositor_, pad);
}

void MediaGraph::relayout_locked()
{
	/* Remote peers first in join order, the self view last; as square a grid
	 * as fits. */
	size_t n = tiles_.size();
	if (n == 0)
		return;
	unsigned cols = static_cast<unsigned>(std::ceil(std::sqrt(static_cast<double>(n))));
	unsigned rows = static_cast<unsigned>((n + cols - 1) / cols);
	int tw = static_cast<int>(width_ / cols);
	int th = static_cast<int>(height_ / rows);
	size_t slot = 0;
	auto place = [&](TileState &t) {
		int x = static_cast<int>(slot % cols) * tw;
		int y = static_cast<int>(slot / cols) * th;
		g_object_set(t.pad.get(), "xpos", x, "ypos", y, "width", tw, "height", th, "zorder",
			     1u, nullptr);
		slot++;
	};
	for (auto &t : tiles_)
		if (t.peer_id != "self")
			place(t);
	for (auto &t : tiles_)
		if (t.peer_id == "self")
			place(t);
}

std::vector<Tile> MediaGraph::layout() const
{
	std::lock_guard l(lock_);
	std::vector<Tile> out;
	for (const auto &t : tiles_) {
		Tile tile{t.peer_id, t.name};
		g_object_get(t.pad.get(), "xpos", &tile.x, "ypos", &tile.y, "width", &tile.width,
			     "height", &tile.height, nullptr);
		out.push_back(tile);
	}
	return out;
}

GstPad *MediaGraph::add_mixer_pad()
{
	return gst_element_request_pad_simple(audiomixer_, "sink_%u");
}

void MediaGraph::remove_mixer_pad(GstPad *pad)
{
	gst_element_release_request_pad(audiomixer_, pad);
}

} // namespace meshcall
