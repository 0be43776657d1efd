// SPDX-License-Identifier: LGPL-2.1-or-later
/* One stream a remote peer sends us, from webrtcbin's src pad into the
 * media graph (docs/design.md, "Receive"):
 *
 *   webrtcbin src ─► depayloader ─► decoder ─► textoverlay (name) ─► grid tile
 *   webrtcbin src ─► depayloader ─► decoder ─► convert/resample ──► mixer pad
 *
 * A stream we cannot decode is sunk into a fakesink, so webrtcbin never
 * stalls on it. */
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "common/gst_ref.h"
#include "media/media_graph.h"

namespace meshcall
{

class RemoteStream
{
public:
	/* Called on a streaming thread with the first decoded buffer (video:
	 * its size). */
	using FirstMedia = std::function<void(MediaKind kind, int width, int height)>;

	/* Builds the chain for `webrtc_src` inside `bin`, links it and starts
	 * it; nullptr (and *error) when an element is missing. */
	static std::unique_ptr<RemoteStream> create(GstBin *bin, MediaGraph &graph,
						    const std::string &peer_id,
						    const std::string &name, GstPad *webrtc_src,
						    FirstMedia first_media, std::string *error);
	~RemoteStream();
	RemoteStream(const RemoteStream &) = delete;
	RemoteStream &operator=(const RemoteStream &) = delete;

	MediaKind kind() const { return kind_; }
	/* False for a stream sunk because we do not decode its codec. */
	bool decodable() const { return static_cast<bool>(mixer_pad_); }
	/* Decoded video frames or audio buffers so far. */
	guint64 decoded() const { return counter_->count.load(); }

	/* Stops the chain, takes it out of the bin and gives the tile or mixer
	 * pad back. Not on a streaming thread of this stream. */
	void remove();

private:
	struct Counter {
		std::atomic<guint64> count{0};
		FirstMedia first_media;
	};
	RemoteStream(GstBin *bin, MediaGraph &graph, MediaKind kind);
	static GstPadProbeReturn on_decoded(GstPad *pad, GstPadProbeInfo *info, gpointer data);

	GstBin *bin_;
	MediaGraph &graph_;
	const MediaKind kind_;
	std::vector<ElementRef> elements_;
	PadRef mixer_pad_; /* compositor or audiomixer sink pad; empty when sunk */
	std::shared_ptr<Counter> counter_ = std::make_shared<Counter>();
};

} // namespace meshcall
