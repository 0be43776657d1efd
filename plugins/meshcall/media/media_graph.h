// SPDX-License-Identifier: LGPL-2.1-or-later
/* media/: what meshcallbin sends and shows, whoever is in the room.
 *
 * The part of meshcallbin that does not depend on who is in the room:
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
 * Encoding happens once whatever the number of peers (docs/design.md, "Encode
 * once, fan out"); a peer's branch takes a tee src pad. Keyframe requests from all
 * peers go through one rate limiter. */
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "common/gst_ref.h"
#include "media/encoders.h"
#include "media/keyframe_limiter.h"
#include "media/video_mute.h"

namespace meshcall
{

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
