// SPDX-License-Identifier: LGPL-2.1-or-later
#include "call_fixture.h"

#include "support/upstream_races.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <pthread.h>
#include <sstream>

#include <gst/app/gstappsink.h>

namespace meshcall::test
{

bool Rgb::near(std::uint32_t rgb, double tolerance) const
{
	double er = (rgb >> 16) & 0xff, eg = (rgb >> 8) & 0xff, eb = rgb & 0xff;
	return std::fabs(r - er) <= tolerance && std::fabs(g - eg) <= tolerance &&
	       std::fabs(b - eb) <= tolerance;
}

std::string Rgb::str() const
{
	char buf[64];
	std::snprintf(buf, sizeof buf, "rgb(%.0f,%.0f,%.0f)", r, g, b);
	return buf;
}

unsigned upstream_rtpsession_races()
{
	return upstream_rtpsession_race_count().load();
}

void init_gstreamer(int *argc, char ***argv)
{
	spare_upstream_rtpsession_race();
	gst_init(argc, argv);
}

CallPeer::CallPeer(const std::string &server_url, const std::string &room, PeerOptions options)
    : options_(std::move(options))
{
	std::ostringstream desc;
	char colour[16];
	std::snprintf(colour, sizeof colour, "0xff%06x", options_.rgb & 0xffffff);
	desc << "meshcallbin name=m server=" << server_url << " room=" << room << " display-name=\""
	     << options_.name << "\" ice-addresses=" << kIceAddresses
	     << " video-codec=" << options_.codec << " width=640 height=360 " << options_.extra
	     << " ";
	if (options_.video && !options_.video_source.empty())
		desc << options_.video_source << " ! m.video_sink ";
	else if (options_.video)
		desc << "videotestsrc is-live=true pattern=solid-color foreground-color=" << colour
		     << " ! video/x-raw,width=320,height=240,framerate=30/1 ! m.video_sink ";
	if (options_.audio && !options_.audio_source.empty())
		desc << options_.audio_source << " ! m.audio_sink ";
	else if (options_.audio)
		desc << "audiotestsrc is-live=true wave=sine volume=0.5 samplesperbuffer=960 freq="
		     << options_.tone_hz << " ! m.audio_sink ";
	desc << "m.video_src ! videoconvert ! video/x-raw,format=RGB ! "
		"appsink name=video emit-signals=true sync=false max-buffers=2 drop=true "
	     << "m.audio_src ! appsink name=audio emit-signals=true sync=false";
	GError *error = nullptr;
	pipeline_ = gst_parse_launch(desc.str().c_str(), &error);
	if (!pipeline_) {
		ADD_FAILURE() << "cannot build pipeline: " << (error ? error->message : "?");
		g_clear_error(&error);
		return;
	}
	g_clear_error(&error);
	bin_ = gst_bin_get_by_name(GST_BIN(pipeline_), "m");
	gst_object_unref(bin_); /* the pipeline keeps it alive */

	audio_.assign(48000, 0); /* one second ring */
	GstElement *video = gst_bin_get_by_name(GST_BIN(pipeline_), "video");
	GstElement *audio = gst_bin_get_by_name(GST_BIN(pipeline_), "audio");
	g_signal_connect(video, "new-sample", G_CALLBACK(on_video_sample), this);
	g_signal_connect(audio, "new-sample", G_CALLBACK(on_audio_sample), this);
	gst_object_unref(video);
	gst_object_unref(audio);

	g_signal_connect(bin_, "chat-received",
			 G_CALLBACK(+[](GstElement *, guint64 seq, gchar *from, gchar *name,
					gchar *text, gpointer d) {
				 auto *self = static_cast<CallPeer *>(d);
				 std::lock_guard l(self->lock_);
				 self->chat_.push_back({seq, from, name, text});
			 }),
			 this);

	GstBus *bus = gst_element_get_bus(pipeline_);
	bus_watch_ = gst_bus_add_watch(bus, on_bus, this);
	gst_object_unref(bus);
}

CallPeer::~CallPeer()
{
	if (!pipeline_)
		return;
	stop();
	g_source_remove(bus_watch_);
	gst_object_unref(pipeline_);
}

bool CallPeer::play()
{
	return gst_element_set_state(pipeline_, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}

void CallPeer::stop()
{
	gst_element_set_state(pipeline_, GST_STATE_NULL);
	std::lock_guard l(lock_);
	peers_.clear();
	layout_.clear();
}

gboolean CallPeer::on_bus(GstBus *, GstMessage *msg, gpointer data)
{
	auto *self = static_cast<CallPeer *>(data);
	std::lock_guard l(self->lock_);
	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR: {
		GError *err = nullptr;
		gst_message_parse_error(msg, &err, nullptr);
		if (!self->error_)
			self->error_ = err->message;
		g_error_free(err);
		break;
	}
	case GST_MESSAGE_WARNING: {
		GError *err = nullptr;
		gst_message_parse_warning(msg, &err, nullptr);
		self->warnings_.push_back(err->message);
		g_error_free(err);
		break;
	}
	case GST_MESSAGE_LATENCY:
		gst_bin_recalculate_latency(GST_BIN(self->pipeline_));
		break;
	case GST_MESSAGE_ELEMENT: {
		const GstStructure *s = gst_message_get_structure(msg);
		auto str = [s](const char *f) {
			const char *v = gst_structure_get_string(s, f);
			return std::string(v ? v : "");
		};
		if (gst_structure_has_name(s, "meshcall-joined")) {
			self->id_ = str("id");
		} else if (gst_structure_has_name(s, "meshcall-peer-joined")) {
			self->peers_[str("id")] = str("name");
		} else if (gst_structure_has_name(s, "meshcall-peer-left")) {
			self->peers_.erase(str("id"));
			self->video_from_.erase(str("id"));
			self->audio_from_.erase(str("id"));
			self->peer_left_++;
		} else if (gst_structure_has_name(s, "meshcall-media")) {
			if (str("kind") == "video")
				self->video_from_.emplace(str("peer"),
							  std::chrono::steady_clock::now());
			else
				self->audio_from_.insert(str("peer"));
		} else if (gst_structure_has_name(s, "meshcall-layout")) {
			self->layout_.clear();
			const GValue *tiles = gst_structure_get_value(s, "tiles");
			for (guint i = 0; tiles && i < gst_value_array_get_size(tiles); i++) {
				const GstStructure *t =
				    gst_value_get_structure(gst_value_array_get_value(tiles, i));
				TileInfo info;
				info.peer = gst_structure_get_string(t, "peer");
				info.name = gst_structure_get_string(t, "name");
				gst_structure_get_int(t, "x", &info.x);
				gst_structure_get_int(t, "y", &info.y);
				gst_structure_get_int(t, "width", &info.width);
				gst_structure_get_int(t, "height", &info.height);
				self->layout_.push_back(info);
			}
		}
		break;
	}
	default:
		break;
	}
	return G_SOURCE_CONTINUE;
}

GstFlowReturn CallPeer::on_video_sample(GstElement *sink, gpointer data)
{
	auto *self = static_cast<CallPeer *>(data);
	GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
	if (!sample)
		return GST_FLOW_OK;
	GstBuffer *buf = gst_sample_get_buffer(sample);
	const GstStructure *s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
	int w = 0, h = 0;
	gst_structure_get_int(s, "width", &w);
	gst_structure_get_int(s, "height", &h);
	GstMapInfo map;
	if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
		std::lock_guard l(self->lock_);
		self->frame_.assign(map.data, map.data + map.size);
		self->frame_w_ = w;
		self->frame_h_ = h;
		self->frame_stride_ = h ? static_cast<int>(map.size / h) : 0;
		self->frames_++;
		gst_buffer_unmap(buf, &map);
	}
	gst_sample_unref(sample);
	return GST_FLOW_OK;
}

GstFlowReturn CallPeer::on_audio_sample(GstElement *sink, gpointer data)
{
	auto *self = static_cast<CallPeer *>(data);
	GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
	if (!sample)
		return GST_FLOW_OK;
	GstBuffer *buf = gst_sample_get_buffer(sample);
	GstMapInfo map;
	if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
		const auto *samples = reinterpret_cast<const std::int16_t *>(map.data);
		size_t frames = map.size / 4; /* S16LE stereo */
		std::lock_guard l(self->lock_);
		for (size_t i = 0; i < frames; i++) {
			self->audio_[self->audio_pos_] = samples[2 * i];
			if (++self->audio_pos_ == self->audio_.size()) {
				self->audio_pos_ = 0;
				self->audio_full_ = true;
			}
		}
		self->audio_frames_ += frames;
		gst_buffer_unmap(buf, &map);
	}
	gst_sample_unref(sample);
	return GST_FLOW_OK;
}

std::string CallPeer::id() const
{
	std::lock_guard l(lock_);
	return id_;
}

std::map<std::string, std::string> CallPeer::peers() const
{
	std::lock_guard l(lock_);
	return peers_;
}

bool CallPeer::has_video_from(const std::string &id) const
{
	std::lock_guard l(lock_);
	return video_from_.count(id) > 0;
}

bool CallPeer::has_audio_from(const std::string &id) const
{
	std::lock_guard l(lock_);
	return audio_from_.count(id) > 0;
}

std::optional<std::chrono::steady_clock::time_point>
CallPeer::first_video(const std::string &peer) const
{
	std::lock_guard l(lock_);
	auto it = video_from_.find(peer);
	if (it == video_from_.end())
		return std::nullopt;
	return it->second;
}

std::vector<TileInfo> CallPeer::layout() const
{
	std::lock_guard l(lock_);
	return layout_;
}

std::vector<ChatEntry> CallPeer::chat() const
{
	std::lock_guard l(lock_);
	return chat_;
}

std::optional<std::string> CallPeer::error() const
{
	std::lock_guard l(lock_);
	return error_;
}

std::vector<std::string> CallPeer::warnings() const
{
	std::lock_guard l(lock_);
	return warnings_;
}

unsigned CallPeer::peer_left_count() const
{
	std::lock_guard l(lock_);
	return peer_left_;
}

std::uint64_t CallPeer::grid_frames() const
{
	std::lock_guard l(lock_);
	return frames_;
}

std::optional<Rgb> CallPeer::tile_colour(const std::string &peer) const
{
	std::lock_guard l(lock_);
	if (frame_.empty())
		return std::nullopt;
	for (const auto &t : layout_) {
		if (t.peer != peer)
			continue;
		/* The centre of the tile: the label sits at its bottom left. */
		int cx = t.x + t.width / 2, cy = t.y + t.height / 2;
		Rgb sum;
		int n = 0;
		for (int y = cy - 4; y < cy + 4; y++)
			for (int x = cx - 4; x < cx + 4; x++) {
				if (x < 0 || y < 0 || x >= frame_w_ || y >= frame_h_)
					continue;
				const std::uint8_t *p = &frame_[y * frame_stride_ + x * 3];
				sum.r += p[0];
				sum.g += p[1];
				sum.b += p[2];
				n++;
			}
		if (!n)
			return std::nullopt;
		return Rgb{sum.r / n, sum.g / n, sum.b / n};
	}
	return std::nullopt;
}

double CallPeer::tone_level(double hz, int ms) const
{
	/* Goertzel over the newest `ms` of the ring. */
	std::lock_guard l(lock_);
	size_t n = static_cast<size_t>(48 * ms);
	if (n > audio_.size() || (!audio_full_ && audio_pos_ < n))
		return 0;
	double k = 2 * std::cos(2 * M_PI * hz / 48000.0);
	double s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		size_t idx = (audio_pos_ + audio_.size() - n + i) % audio_.size();
		double x = audio_[idx] / 32768.0;
		double s0 = x + k * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	double power = s1 * s1 + s2 * s2 - k * s1 * s2;
	/* A full-scale sine gives (n/2)^2. */
	return std::sqrt(power) / (n / 2.0);
}

std::uint64_t CallPeer::audio_frames() const
{
	std::lock_guard l(lock_);
	return audio_frames_;
}

std::map<std::string, std::uint64_t> CallPeer::video_frames_rx() const
{
	std::map<std::string, std::uint64_t> out;
	GstStructure *stats = nullptr;
	g_signal_emit_by_name(bin_, "get-stats", &stats);
	if (!stats)
		return out;
	const GValue *peers = gst_structure_get_value(stats, "peers");
	for (guint i = 0; peers && i < gst_value_array_get_size(peers); i++) {
		const GstStructure *p =
		    gst_value_get_structure(gst_value_array_get_value(peers, i));
		guint64 frames = 0;
		gst_structure_get_uint64(p, "video-frames-rx", &frames);
		out[gst_structure_get_string(p, "id")] = frames;
	}
	gst_structure_free(stats);
	return out;
}

static void walk_elements(GstBin *bin, const std::function<void(GstElement *)> &f)
{
	GstIterator *it = gst_bin_iterate_recurse(bin);
	GValue item = G_VALUE_INIT;
	while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		f(GST_ELEMENT(g_value_get_object(&item)));
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
}

unsigned CallPeer::element_count() const
{
	unsigned n = 0;
	walk_elements(GST_BIN(pipeline_), [&](GstElement *) { n++; });
	return n;
}

unsigned CallPeer::bin_pad_count() const
{
	unsigned n = 0;
	walk_elements(GST_BIN(bin_), [&](GstElement *e) {
		GST_OBJECT_LOCK(e);
		n += e->numpads;
		GST_OBJECT_UNLOCK(e);
	});
	return n + GST_ELEMENT(bin_)->numpads;
}

unsigned CallPeer::count_elements_of_klass(const std::string &klass_part) const
{
	unsigned n = 0;
	walk_elements(GST_BIN(pipeline_), [&](GstElement *e) {
		GstElementFactory *f = gst_element_get_factory(e);
		if (!f)
			return;
		const char *klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
		if (klass && std::string(klass).find(klass_part) != std::string::npos)
			n++;
	});
	return n;
}

std::vector<std::string> CallPeer::factories_of_klass(const std::string &klass_part) const
{
	std::vector<std::string> out;
	walk_elements(GST_BIN(pipeline_), [&](GstElement *e) {
		GstElementFactory *f = gst_element_get_factory(e);
		if (!f)
			return;
		const char *klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
		if (klass && std::string(klass).find(klass_part) != std::string::npos)
			out.push_back(GST_OBJECT_NAME(f));
	});
	return out;
}

unsigned CallPeer::count_elements_of_factory(const std::string &factory) const
{
	unsigned n = 0;
	walk_elements(GST_BIN(pipeline_), [&](GstElement *e) {
		GstElementFactory *f = gst_element_get_factory(e);
		if (f && factory == GST_OBJECT_NAME(f))
			n++;
	});
	return n;
}

std::vector<std::string> CallPeer::elements_mentioning(const std::string &id) const
{
	std::vector<std::string> out;
	walk_elements(GST_BIN(bin_), [&](GstElement *e) {
		std::string name = GST_ELEMENT_NAME(e);
		if (name.find(id) != std::string::npos)
			out.push_back(name);
	});
	return out;
}

/* ---- FlowMonitor ---- */

FlowMonitor::FlowMonitor(std::vector<Stream> streams)
{
	for (auto &s : streams)
		state_.push_back({std::move(s)});
	sample();
	context_ = g_main_context_new();
	loop_ = g_main_loop_new(context_, FALSE);
	GSource *timer = g_timeout_source_new(40);
	g_source_set_callback(
	    timer,
	    [](gpointer d) -> gboolean {
		    static_cast<FlowMonitor *>(d)->sample();
		    return G_SOURCE_CONTINUE;
	    },
	    this, nullptr);
	g_source_attach(timer, context_);
	g_source_unref(timer);
	thread_ = g_thread_new(
	    "flow-monitor",
	    [](gpointer d) -> gpointer {
		    g_main_loop_run(static_cast<GMainLoop *>(d));
		    return nullptr;
	    },
	    loop_);
}

void FlowMonitor::stop()
{
	if (!thread_)
		return;
	g_main_loop_quit(loop_);
	g_thread_join(std::exchange(thread_, nullptr));
	g_main_loop_unref(loop_);
	g_main_context_unref(context_);
	sample();
	std::lock_guard l(lock_);
	for (auto &s : state_)
		if (last_sample_ - s.last_increase > s.max_gap) {
			s.max_gap = last_sample_ - s.last_increase;
			s.max_gap_end = last_sample_;
		}
}

FlowMonitor::Clock::duration FlowMonitor::max_gap(std::string *which,
						  Clock::time_point *ended) const
{
	std::lock_guard l(lock_);
	Clock::duration worst{};
	for (const auto &s : state_) {
		const bool open = last_sample_ - s.last_increase > s.max_gap;
		auto gap = open ? last_sample_ - s.last_increase : s.max_gap;
		if (gap >= worst) {
			worst = gap;
			if (which)
				*which = s.stream.at->options().name + " <- " + s.stream.peer;
			if (ended)
				*ended = open ? last_sample_ : s.max_gap_end;
		}
	}
	return worst;
}

FlowMonitor::Clock::duration FlowMonitor::max_interval() const
{
	std::lock_guard l(lock_);
	return max_interval_;
}

unsigned FlowMonitor::samples() const
{
	std::lock_guard l(lock_);
	return samples_;
}

void FlowMonitor::sample()
{
	/* One get-stats per pipeline, each reading timed on its own: a
	 * pipeline whose get-stats is slow (a webrtcbin busy negotiating
	 * answers late) must not make the others' streams look stalled. */
	std::vector<std::uint64_t> frames(state_.size());
	std::vector<Clock::time_point> read_at(state_.size());
	std::map<const CallPeer *,
		 std::pair<std::map<std::string, std::uint64_t>, Clock::time_point>>
	    by_peer;
	for (size_t i = 0; i < state_.size(); i++) {
		const CallPeer *at = state_[i].stream.at;
		auto it = by_peer.find(at);
		if (it == by_peer.end()) {
			auto all = at->video_frames_rx();
			it =
			    by_peer.emplace(at, std::make_pair(std::move(all), Clock::now())).first;
		}
		auto f = it->second.first.find(state_[i].stream.peer);
		frames[i] = f == it->second.first.end() ? 0 : f->second;
		read_at[i] = it->second.second;
	}
	auto now = Clock::now();
	std::lock_guard l(lock_);
	if (samples_++)
		max_interval_ = std::max(max_interval_, now - last_sample_);
	last_sample_ = now;
	for (size_t i = 0; i < state_.size(); i++) {
		State &s = state_[i];
		if (frames[i] > s.frames) {
			if (read_at[i] - s.last_increase > s.max_gap) {
				s.max_gap = read_at[i] - s.last_increase;
				s.max_gap_end = read_at[i];
			}
			s.last_increase = read_at[i];
		}
		s.frames = frames[i];
	}
}

} // namespace meshcall::test
