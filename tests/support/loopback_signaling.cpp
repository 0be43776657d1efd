// SPDX-License-Identifier: LGPL-2.1-or-later
#include "support/loopback_signaling.h"

#include <gst/app/app.h>
#include <gst/video/video.h>

#include "common/main_context.h"

namespace meshcall::test
{

LoopbackPeer::LoopbackPeer(const std::string &name, const char *pattern, double freq)
{
	pipeline_ = gst_pipeline_new(name.c_str());
	graph_ = std::make_unique<MediaGraph>(GST_BIN(pipeline_));
	graph_->set_output_size(320, 240);

	config_.ice_addresses = {"127.0.0.1"};
	config_.latency_ms = 30;
	config_.media.codec = VideoCodec::VP8;
	config_.media.video_encoder = "vp8enc";
	config_.media.video_bitrate_kbps = 300;

	GstElement *video = gst_element_factory_make("videotestsrc", nullptr);
	gst_util_set_object_arg(G_OBJECT(video), "pattern", pattern);
	GstElement *video_caps = gst_element_factory_make("capsfilter", nullptr);
	GstCaps *caps = gst_caps_from_string("video/x-raw,width=320,height=240,framerate=30/1");
	g_object_set(video, "is-live", TRUE, nullptr);
	g_object_set(video_caps, "caps", caps, nullptr);
	gst_caps_unref(caps);
	GstElement *audio = gst_element_factory_make("audiotestsrc", nullptr);
	g_object_set(audio, "is-live", TRUE, "freq", freq, nullptr);
	gst_bin_add_many(GST_BIN(pipeline_), video, video_caps, audio, nullptr);
	gst_element_link(video, video_caps);

	GstPad *video_in = graph_->add_video_input(config_.media);
	GstPad *audio_in = graph_->add_audio_input(config_.media);
	GstPad *video_out = gst_element_get_static_pad(video_caps, "src");
	GstPad *audio_out = gst_element_get_static_pad(audio, "src");
	gst_pad_link(video_out, video_in);
	gst_pad_link(audio_out, audio_in);
	for (GstPad *p : {video_in, audio_in, video_out, audio_out})
		gst_object_unref(p);

	GstElement *grid_sink = gst_element_factory_make("appsink", nullptr);
	g_object_set(grid_sink, "emit-signals", TRUE, "sync", FALSE, "max-buffers", 1, "drop", TRUE,
		     nullptr);
	g_signal_connect(grid_sink, "new-sample", G_CALLBACK(on_grid_sample), this);
	GstElement *mix_sink = gst_element_factory_make("fakesink", nullptr);
	g_object_set(mix_sink, "sync", FALSE, nullptr);
	gst_bin_add_many(GST_BIN(pipeline_), grid_sink, mix_sink, nullptr);
	GstPad *grid_sink_pad = gst_element_get_static_pad(grid_sink, "sink");
	GstPad *mix_sink_pad = gst_element_get_static_pad(mix_sink, "sink");
	gst_pad_link(graph_->video_output(), grid_sink_pad);
	gst_pad_link(graph_->audio_output(), mix_sink_pad);
	gst_object_unref(grid_sink_pad);
	gst_object_unref(mix_sink_pad);

	GstBus *bus = gst_element_get_bus(pipeline_);
	bus_watch_ = gst_bus_add_watch(bus, on_bus, this);
	gst_object_unref(bus);
}

LoopbackPeer::~LoopbackPeer()
{
	if (branch)
		branch->remove_now();
	branch.reset();
	gst_element_set_state(pipeline_, GST_STATE_NULL);
	g_source_remove(bus_watch_);
	graph_.reset();
	gst_object_unref(pipeline_);
}

void LoopbackPeer::play()
{
	gst_element_set_state(pipeline_, GST_STATE_PLAYING);
}

/* As every application of a live pipeline whose sources come and go does
 * (docs/design.md, fact 11). */
gboolean LoopbackPeer::on_bus(GstBus *, GstMessage *msg, gpointer data)
{
	auto *self = static_cast<LoopbackPeer *>(data);
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_LATENCY)
		gst_bin_recalculate_latency(GST_BIN(self->pipeline_));
	return G_SOURCE_CONTINUE;
}

GstFlowReturn LoopbackPeer::on_grid_sample(GstElement *sink, gpointer data)
{
	auto *self = static_cast<LoopbackPeer *>(data);
	GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
	if (!sample)
		return GST_FLOW_OK;
	GstVideoInfo info;
	GstVideoFrame frame;
	if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
	    gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
		/* One tile fills the grid: its centre is the grid's. */
		int x = info.width / 2, y = info.height / 2;
		auto plane = [&](int p, int px, int py) {
			auto *row =
			    static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p)) +
			    py * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
			return static_cast<int>(row[px]);
		};
		std::lock_guard l(self->lock_);
		self->centre_ = {plane(0, x, y), plane(1, x / 2, y / 2), plane(2, x / 2, y / 2)};
		gst_video_frame_unmap(&frame);
	}
	gst_sample_unref(sample);
	return GST_FLOW_OK;
}

std::vector<int> LoopbackPeer::first_tile_centre() const
{
	std::lock_guard l(lock_);
	return centre_;
}

void LoopbackPeer::media_started(const std::string &, MediaKind kind, int, int)
{
	(kind == MediaKind::Video ? video_started : audio_started) = true;
}

void LoopbackPeer::peer_warning(const std::string &peer_id, const std::string &message)
{
	std::lock_guard l(lock_);
	warnings_.push_back(peer_id + ": " + message);
}

std::vector<std::string> LoopbackPeer::warnings() const
{
	std::lock_guard l(lock_);
	return warnings_;
}

void LoopbackSignaling::deliver_description(GstWebRTCSDPType type, std::string sdp)
{
	descriptions++;
	if (rewrite)
		sdp = rewrite(type, std::move(sdp));
	invoke_on([remote = remote_, type, sdp = std::move(sdp)] {
		auto branch = remote.lock();
		if (!branch)
			return;
		if (type == GST_WEBRTC_SDP_TYPE_OFFER)
			branch->handle_offer(sdp);
		else
			branch->handle_answer(sdp);
	});
}

void LoopbackSignaling::send_description(const std::string &, GstWebRTCSDPType type,
					 std::string sdp)
{
	std::lock_guard l(lock_);
	if (candidates_first_ && candidates == 0) {
		/* Held until a candidate went over (one may already have: then
		 * it went first anyway). */
		held_ = true;
		held_type_ = type;
		held_sdp_ = std::move(sdp);
		return;
	}
	deliver_description(type, std::move(sdp));
}

void LoopbackSignaling::send_candidate(const std::string &, unsigned mline_index,
				       std::string candidate)
{
	std::lock_guard l(lock_);
	candidates++;
	invoke_on([remote = remote_, mline_index, candidate = std::move(candidate)] {
		if (auto branch = remote.lock())
			branch->handle_candidate(mline_index, candidate);
	});
	if (held_) {
		held_ = false;
		deliver_description(held_type_, std::exchange(held_sdp_, {}));
	}
}

} // namespace meshcall::test
