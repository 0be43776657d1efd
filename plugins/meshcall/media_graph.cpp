/* meshcallbin's fixed graph: the send chains up to the tees and the output
 * grid/mix. See media_graph.h. */
#include "media_graph.h"

#include <cmath>

#include <gst/video/video.h>

GST_DEBUG_CATEGORY_EXTERN(meshcallbin_debug);
#define GST_CAT_DEFAULT meshcallbin_debug

namespace meshcall
{

namespace
{

GstElement *make(const char *factory, const char *name = nullptr)
{
	GstElement *e = gst_element_factory_make(factory, name);
	if (!e)
		GST_ERROR("missing element %s (is its GStreamer plugin installed?)", factory);
	return e;
}

GstElement *make_capsfilter(const char *caps)
{
	GstElement *f = make("capsfilter");
	GstCaps *c = gst_caps_from_string(caps);
	g_object_set(f, "caps", c, nullptr);
	gst_caps_unref(c);
	return f;
}

/* Adds `elements` to `bin` and links them in order; false if anything is
 * missing or does not link (then nothing stays in the bin). */
bool add_chain(GstBin *bin, const std::vector<GstElement *> &elements)
{
	for (GstElement *e : elements) {
		if (!e) {
			for (GstElement *o : elements)
				if (o)
					gst_object_unref(gst_object_ref_sink(o));
			return false;
		}
	}
	for (GstElement *e : elements)
		gst_bin_add(bin, e);
	for (size_t i = 1; i < elements.size(); i++) {
		if (!gst_element_link(elements[i - 1], elements[i])) {
			GST_ERROR("cannot link %s to %s", GST_ELEMENT_NAME(elements[i - 1]),
				  GST_ELEMENT_NAME(elements[i]));
			for (GstElement *e : elements) {
				gst_element_set_state(e, GST_STATE_NULL);
				gst_bin_remove(bin, e);
			}
			return false;
		}
	}
	return true;
}

/* Sets a property only where the element has it, from its string form (enum
 * nicks, structures): the hardware encoders cannot be tried here, and their
 * properties change between GStreamer versions. */
void set_if_present(GstElement *e, const char *property, const char *value)
{
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), property))
		gst_util_set_object_arg(G_OBJECT(e), property, value);
	else
		GST_WARNING_OBJECT(e, "no property %s; left at its default", property);
}

bool is_hardware_encoder(const std::string &factory)
{
	for (const char *f : kHardwareH264Encoders)
		if (factory == f)
			return true;
	return false;
}

/* A periodic keyframe as a safety net for lost packets (10 s at 30 fps);
 * newcomers get theirs on demand (force-key-unit, KeyframeLimiter). */
constexpr unsigned kKeyframeSafetyInterval = 300;
/* v4l2h264enc ignores force-key-unit on 1.22.0 (DESIGN.md fact 10): its
 * periodic keyframe is all a newcomer or a lossy peer gets, so 1 s. */
constexpr int kV4l2KeyframeInterval = 30;

/* H.264 as WebRTC wants it (fact 9); the payloader repeats SPS/PPS. */
constexpr const char *kH264Caps =
    "video/x-h264,profile=constrained-baseline,stream-format=byte-stream";
/* The Raspberry Pi's encoder on 1.22 fails to negotiate without a level. */
constexpr const char *kV4l2H264Caps =
    "video/x-h264,profile=constrained-baseline,level=(string)4,stream-format=byte-stream";

/* libvpx's VP8 encoder threads wait for one another spinning: on 2 cores a
 * 640x360 30 fps realtime encode took 3.9 s of CPU per 10 s with 2 threads
 * against 0.9 s with one (gst-launch-1.0 ... vp8enc threads=N, /usr/bin/time).
 * One thread encodes 720p30 in about a third of a core. */
int vp8_threads()
{
	return g_get_num_processors() > 2 ? 2 : 1;
}

/* Everything but the bitrate; returns the caps to require on its output. */
const char *configure_video_encoder(GstElement *enc, const std::string &factory)
{
	if (factory == "vp8enc") {
		/* Realtime: no lookahead, CBR, keyframes on demand with a periodic
		 * one as a safety net. */
		g_object_set(enc, "deadline", G_GINT64_CONSTANT(1), "cpu-used", 8, "end-usage",
			     1 /* cbr */, "lag-in-frames", 0, "keyframe-max-dist",
			     kKeyframeSafetyInterval, "threads", vp8_threads(), "error-resilient",
			     1 /* default */, nullptr);
		return nullptr;
	}
	if (factory == "x264enc") {
		gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
		gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "ultrafast");
		g_object_set(enc, "key-int-max", kKeyframeSafetyInterval, "b-adapt", FALSE,
			     "bframes", 0, "threads", 2, nullptr);
		return kH264Caps;
	}
	if (factory == "openh264enc") {
		g_object_set(enc, "gop-size", kKeyframeSafetyInterval, nullptr);
		return kH264Caps;
	}
	if (factory == "v4l2h264enc")
		return kV4l2H264Caps; /* bitrate and GOP go with the bitrate */
	/* VA-API (vah264enc in -bad, vaapih264enc in gstreamer-vaapi): CBR, no B
	 * frames, no CABAC or 8x8 transform (not in constrained baseline). */
	g_autofree char *period = g_strdup_printf("%u", kKeyframeSafetyInterval);
	set_if_present(enc, "rate-control", "cbr");
	set_if_present(enc, factory == "vah264enc" ? "key-int-max" : "keyframe-period", period);
	set_if_present(enc, factory == "vah264enc" ? "b-frames" : "max-bframes", "0");
	set_if_present(enc, "cabac", "false");
	set_if_present(enc, "dct8x8", "false");
	return kH264Caps;
}

/* The encoder element itself (not the bin). */
void apply_video_bitrate(GstElement *enc, unsigned kbps)
{
	const std::string factory = GST_OBJECT_NAME(gst_element_get_factory(enc));
	if (factory == "vp8enc") {
		g_object_set(enc, "target-bitrate", static_cast<int>(kbps * 1000), nullptr);
	} else if (factory == "x264enc") {
		g_object_set(enc, "bitrate", kbps, nullptr);
	} else if (factory == "openh264enc") {
		g_object_set(enc, "bitrate", kbps * 1000, nullptr);
	} else if (factory == "v4l2h264enc") {
		/* Its only way to bitrate and GOP on 1.22 (fact 10). v4l2object
		 * applies a new structure at once when the device is open, so this
		 * takes effect while playing too: the Pi's bcm2835-codec takes
		 * video_bitrate mid-stream (6by9, gst-rpicamsrc issue #60).
		 * Controls the driver lacks are skipped with a warning. Mode 1 is
		 * constant bitrate. */
		GstStructure *controls = gst_structure_new(
		    "controls", "video_bitrate_mode", G_TYPE_INT, 1, "video_bitrate", G_TYPE_INT,
		    static_cast<int>(kbps * 1000), "h264_i_frame_period", G_TYPE_INT,
		    kV4l2KeyframeInterval, "repeat_sequence_header", G_TYPE_INT, 1, nullptr);
		g_object_set(enc, "extra-controls", controls, nullptr);
		gst_structure_free(controls);
	} else if (factory == "vah264enc" && GST_STATE(enc) > GST_STATE_READY) {
		/* 1.22's vah264enc refuses every property once it encodes (an
		 * error in the log, nothing else): the first bitrate stays. */
		GST_INFO_OBJECT(enc, "vah264enc keeps its bitrate while playing");
	} else {
		/* vah264enc before it starts; vaapih264enc reconfigures while
		 * playing. Both in kbit/s. */
		g_autofree char *value = g_strdup_printf("%u", kbps);
		set_if_present(enc, "bitrate", value);
	}
}

} // namespace

GstElement *make_video_encoder(const MediaSettings &s, const char *name)
{
	std::string factory = s.video_encoder;
	if (factory.empty())
		factory = choose_video_encoder(s.codec, element_factory_exists).factory;
	if (factory.empty()) {
		GST_ERROR("no %s encoder is installed", to_string(s.codec));
		return nullptr;
	}
	std::vector<GstElement *> chain;
	/* Hardware encoders take few formats (vah264enc only NV12); videoconvert
	 * passes I420 through untouched to those that take it (v4l2h264enc). */
	if (is_hardware_encoder(factory))
		chain.push_back(make("videoconvert", "convert"));
	GstElement *enc = make(factory.c_str(), "encoder");
	chain.push_back(enc);
	if (enc) {
		if (const char *caps = configure_video_encoder(enc, factory))
			chain.push_back(make_capsfilter(caps));
		apply_video_bitrate(enc, s.video_bitrate_kbps);
	}
	GstElement *bin = gst_bin_new(name);
	if (!add_chain(GST_BIN(bin), chain)) {
		gst_object_unref(gst_object_ref_sink(bin));
		return nullptr;
	}
	GstPad *sink = gst_element_get_static_pad(chain.front(), "sink");
	GstPad *src = gst_element_get_static_pad(chain.back(), "src");
	gst_element_add_pad(bin, gst_ghost_pad_new("sink", sink));
	gst_element_add_pad(bin, gst_ghost_pad_new("src", src));
	gst_object_unref(sink);
	gst_object_unref(src);
	return bin;
}

void set_video_encoder_bitrate(GstElement *encoder, unsigned kbps)
{
	GstElement *enc = gst_bin_get_by_name(GST_BIN(encoder), "encoder");
	if (!enc)
		return;
	apply_video_bitrate(enc, kbps);
	gst_object_unref(enc);
}

GstElement *make_audio_encoder(const MediaSettings &s, const char *name)
{
	GstElement *enc = make("opusenc", name);
	if (enc)
		g_object_set(enc, "bitrate", static_cast<int>(s.audio_bitrate_kbps * 1000),
			     "frame-size", 20, nullptr);
	return enc;
}

/* ---- KeyframeLimiter ---- */

KeyframeLimiter::KeyframeLimiter(std::chrono::milliseconds interval) : interval_(interval)
{
}

KeyframeLimiter::~KeyframeLimiter()
{
	std::lock_guard l(lock_);
	if (timer_) {
		gst_clock_id_unschedule(timer_);
		gst_clock_id_unref(timer_);
		timer_ = nullptr;
	}
}

void KeyframeLimiter::set_target(GstPad *pad)
{
	std::lock_guard l(lock_);
	target_ = pad ? PadRef::ref(pad) : PadRef();
}

unsigned KeyframeLimiter::sent() const
{
	std::lock_guard l(lock_);
	return sent_;
}

void KeyframeLimiter::send_locked()
{
	if (!target_)
		return;
	last_ = std::chrono::steady_clock::now();
	sent_++;
	GST_DEBUG("requesting a keyframe (%u so far)", sent_);
	/* Sending upstream from the encoder's src pad reaches the encoder only. */
	gst_pad_send_event(
	    target_, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, sent_));
}

void KeyframeLimiter::request()
{
	std::lock_guard l(lock_);
	if (timer_)
		return; /* one is already due at the end of the window */
	auto now = std::chrono::steady_clock::now();
	if (sent_ == 0 || now - last_ >= interval_) {
		send_locked();
		return;
	}
	auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(interval_ - (now - last_));
	GstClock *clock = gst_system_clock_obtain();
	timer_ = gst_clock_new_single_shot_id(clock, gst_clock_get_time(clock) + wait.count());
	gst_object_unref(clock);
	gst_clock_id_wait_async(timer_, &KeyframeLimiter::on_timer, this, nullptr);
}

gboolean KeyframeLimiter::on_timer(GstClock *, GstClockTime, GstClockID id, gpointer data)
{
	auto *self = static_cast<KeyframeLimiter *>(data);
	std::lock_guard l(self->lock_);
	if (self->timer_ != id)
		return TRUE; /* unscheduled */
	gst_clock_id_unref(self->timer_);
	self->timer_ = nullptr;
	self->send_locked();
	return TRUE;
}

/* ---- MediaGraph ---- */

MediaGraph::MediaGraph(GstBin *bin) : bin_(bin)
{
	/* A live black base layer keeps video_src running (black) when alone. */
	GstElement *black = make("videotestsrc", "grid-background");
	g_object_set(black, "is-live", TRUE, nullptr);
	gst_util_set_object_arg(G_OBJECT(black), "pattern", "black");
	GstElement *black_caps = make("capsfilter", "grid-background-caps");
	compositor_ = ElementRef::ref(make("compositor", "grid"));
	g_object_set(compositor_.get(), "background", 1 /* black */, nullptr);
	video_caps_ = ElementRef::ref(make("capsfilter", "grid-caps"));
	add_chain(bin, {black, black_caps, compositor_.get(), video_caps_.get()});

	GstElement *silence = make("audiotestsrc", "mix-background");
	g_object_set(silence, "is-live", TRUE, "wave", 4 /* silence */, "samplesperbuffer", 960,
		     nullptr);
	GstElement *silence_caps =
	    make_capsfilter("audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2");
	audiomixer_ = ElementRef::ref(make("audiomixer", "mix"));
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
	GstElement *queue = make("queue");
	g_object_set(queue, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
		     G_GUINT64_CONSTANT(0), nullptr);
	gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
	GstElement *convert = make("videoconvert");
	GstElement *rate = make("videorate");
	g_object_set(rate, "drop-only", TRUE, "max-rate", 30, nullptr);
	GstElement *caps = make_capsfilter("video/x-raw,format=I420");
	GstElement *raw_tee = make("tee", "video-raw-tee");
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
		GstElement *enc_queue = make("queue");
		g_object_set(enc_queue, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
			     G_GUINT64_CONSTANT(0), nullptr);
		gst_util_set_object_arg(G_OBJECT(enc_queue), "leaky", "downstream");
		GstElement *enc = make_video_encoder(s, "video-encoder");
		GstElement *tee = make("tee", "video-tee");
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
		GstElement *self_queue = make("queue");
		gst_util_set_object_arg(G_OBJECT(self_queue), "leaky", "downstream");
		g_object_set(self_queue, "max-size-buffers", 2, nullptr);
		GstElement *label = make("textoverlay");
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
	GstElement *queue = make("queue");
	g_object_set(queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
		     100 * GST_MSECOND, nullptr);
	gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
	GstElement *convert = make("audioconvert");
	GstElement *resample = make("audioresample");
	GstElement *caps = make_capsfilter("audio/x-raw,rate=48000,channels=1");
	/* Passthrough unless muted, then zeros: Opus goes on encoding, so the
	 * stream, its timestamps and the SDP stay as they are. */
	GstElement *volume = make("volume", "audio-mute");
	GstElement *enc = make_audio_encoder(s, "audio-encoder");
	GstElement *tee = make("tee", "audio-tee");
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
