/* The part of meshcallbin that does not depend on who is in the room:
 *
 *   video_sink ─► queue ─► videoconvert ─► videorate ─► I420 ─► encoder ─► tee ─► (peers)
 *                                                          └ black while mute-video
 *   audio_sink ─► queue ─► audioconvert ─► audioresample ─► volume ─► opusenc ─► tee ─► (peers)
 *                                                              └ silence while mute-audio
 *
 *   black live source ─► compositor ◄─ one tile per remote peer (and self)
 *                            └─► capsfilter ─► video_src
 *   silent live source ─► audiomixer ◄─ one pad per remote peer
 *                            └─► capsfilter ─► audio_src
 *
 * Encoding happens once whatever the number of peers (DESIGN.md, "Encode once,
 * fan out"); a peer's branch takes a tee src pad. Keyframe requests from all
 * peers go through one rate limiter. */
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "gst_ref.h"
#include "sdp_codecs.h"
#include "video_mute.h"

namespace meshcall
{

struct MediaSettings {
	VideoCodec codec = VideoCodec::VP8;
	/* Factory of the video encoder (see choose_video_encoder()); empty: the
	 * first one installed for `codec`. */
	std::string video_encoder;
	unsigned video_bitrate_kbps = 1000;
	unsigned audio_bitrate_kbps = 32;
	unsigned width = 1280; /* of video_src */
	unsigned height = 720;
	bool show_self = false;
	/* Bench only: one encoder per peer, to measure what encode-once saves. */
	bool encoder_per_peer = false;
};

/* Hardware H.264 encoders, preferred in this order: GStreamer registers
 * each only when the machine has a device that encodes H.264. */
inline constexpr const char *kHardwareH264Encoders[] = {"v4l2h264enc", "vah264enc", "vaapih264enc"};

struct VideoEncoderChoice {
	std::string factory; /* "" when nothing installed encodes the codec */
	VideoCodec codec = VideoCodec::VP8;
};

/* Which encoder to build. `requested`: the codec asked for, nullopt for
 * "auto". Auto is hardware H.264 when there is some (it spares the CPU that
 * small machines lack), else VP8, else software H.264; H.264 is hardware,
 * then x264enc, then openh264enc; VP8 is vp8enc. `has_factory` tells whether
 * an element factory is installed (element_factory_exists() in the plugin). */
VideoEncoderChoice choose_video_encoder(std::optional<VideoCodec> requested,
					const std::function<bool(const char *)> &has_factory);
bool element_factory_exists(const char *name);

/* Makes the video encoder of settings.video_encoder (with what it needs
 * around it: a format converter in front of hardware encoders, an output
 * capsfilter for H.264) as a bin with one sink and one src pad; the encoder
 * element inside is named "encoder". */
GstElement *make_video_encoder(const MediaSettings &settings, const char *name);
GstElement *make_audio_encoder(const MediaSettings &settings, const char *name);
/* Sets the bitrate of an encoder made by make_video_encoder(). */
void set_video_encoder_bitrate(GstElement *encoder, unsigned kbps);

/* Sends upstream force-key-unit requests to one encoder at most every 500 ms;
 * a request inside the window is delayed to its end rather than dropped. */
class KeyframeLimiter
{
public:
	explicit KeyframeLimiter(
	    std::chrono::milliseconds interval = std::chrono::milliseconds(500));
	~KeyframeLimiter();
	/* `pad`: the encoder's src pad (the limiter keeps a reference). */
	void set_target(GstPad *pad);
	void request();
	unsigned sent() const;

private:
	static gboolean on_timer(GstClock *clock, GstClockTime time, GstClockID id, gpointer data);
	void send_locked();

	mutable std::mutex lock_;
	PadRef target_;				     /* guarded by lock_ */
	std::chrono::steady_clock::time_point last_; /* guarded by lock_ */
	GstClockID timer_ = nullptr;		     /* guarded by lock_ */
	unsigned sent_ = 0;			     /* guarded by lock_ */
	std::chrono::milliseconds interval_;
};

/* One tile of the grid, as reported in the meshcall-layout message. */
struct Tile {
	std::string peer_id; /* "self" for the self view */
	std::string name;
	int x = 0, y = 0, width = 0, height = 0;
};

class MediaGraph
{
public:
	/* Builds the output side (compositor, audiomixer, their live base sources)
	 * inside `bin`; returns the src pads to ghost. */
	MediaGraph(GstBin *bin);
	~MediaGraph();

	GstPad *video_output() const { return video_out_; }
	GstPad *audio_output() const { return audio_out_; }
	void set_output_size(unsigned width, unsigned height);

	/* Builds the send chain for a request sink pad; returns its sink pad.
	 * Settings are read at this point. */
	GstPad *add_video_input(const MediaSettings &settings);
	GstPad *add_audio_input(const MediaSettings &settings);
	void remove_inputs();
	bool has_video_input() const { return video_tee_; }
	bool has_audio_input() const { return audio_tee_; }

	GstElement *video_tee() const { return video_tee_; }
	GstElement *audio_tee() const { return audio_tee_; }
	GstElement *video_encoder() const { return video_encoder_; }
	KeyframeLimiter &keyframes() { return keyframes_; }

	/* Muting replaces what the encoders get, not the chains: black frames
	 * (same caps and timestamps; the self view shows them too) and
	 * silence. Encoders, tees and SDP stay as they are, so nothing is
	 * renegotiated. Any thread, any time, before or after the inputs exist. */
	void set_video_muted(bool muted) { video_mute_.set_muted(muted); }
	void set_audio_muted(bool muted);

	/* Grid: adds a tile for a remote peer and re-lays the grid. Returns the
	 * compositor sink pad to link (owned by the compositor). */
	GstPad *add_tile(const std::string &peer_id, const std::string &name);
	void remove_tile(GstPad *pad);
	std::vector<Tile> layout() const;

	GstPad *add_mixer_pad();
	void remove_mixer_pad(GstPad *pad);


private:
	void relayout_locked();

	GstBin *bin_; /* not owned: the bin owns us */
	ElementRef compositor_;
	ElementRef audiomixer_;
	ElementRef video_caps_;
	ElementRef audio_caps_;
	PadRef video_out_;
	PadRef audio_out_;
	ElementRef video_tee_;
	ElementRef audio_tee_;
	ElementRef video_encoder_;
	std::vector<ElementRef> input_elements_;
	PadRef self_pad_;
	KeyframeLimiter keyframes_;
	VideoMute video_mute_;

	std::mutex mute_lock_;	  /* guards the two below */
	ElementRef audio_volume_; /* the silencer of the audio send chain */
	bool audio_muted_ = false;

	struct TileState {
		PadRef pad;
		std::string peer_id;
		std::string name;
	};
	mutable std::mutex lock_;      /* guards tiles_ and the output size */
	std::vector<TileState> tiles_; /* in join order */
	unsigned width_ = 1280, height_ = 720;
};

} // namespace meshcall
