// SPDX-License-Identifier: LGPL-2.1-or-later
/* The chains of a switch source (see switch_source.cpp for the whole
 * picture): building one for a device, the probes that make many chains
 * look like one stream downstream, the take-over of a new chain with its
 * first buffer, and the removal of an old or broken one. */
#include <algorithm>

#include "switch/switch_source_state.h"

namespace meshcall::switch_src
{

/* ---- output: one stream out of many chains ---- */

/* On each chain's src pad. */
static GstPadProbeReturn chain_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data);

/* The funnel passes on each chain's stream-start, caps and segment when
 * the chain's first buffer goes through: downstream gets only the first.
 * Every chain's caps are the same (fixed output caps), and segments are
 * canonical. */
static GstPadProbeReturn output_event(State &s, GstEvent *event)
{
	Output &out = s.out;
	switch (GST_EVENT_TYPE(event)) {
	case GST_EVENT_STREAM_START:
		return std::exchange(out.started, true) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
	case GST_EVENT_SEGMENT:
		return std::exchange(out.segment, true) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
	case GST_EVENT_CAPS: {
		GstCaps *caps;
		gst_event_parse_caps(event, &caps);
		if (out.caps && gst_caps_is_equal(caps, out.caps))
			return GST_PAD_PROBE_DROP;
		gst_caps_replace(&out.caps, caps);
		return GST_PAD_PROBE_OK;
	}
	default:
		return GST_PAD_PROBE_OK;
	}
}

/* On the funnel's src pad, under its stream lock. */
GstPadProbeReturn output_probe(GstPad *, GstPadProbeInfo *info, gpointer data)
{
	auto *self = static_cast<GstMeshcallSwitchSrc *>(data);
	State &s = state_of(self);
	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
		return output_event(s, GST_PAD_PROBE_INFO_EVENT(info));
	GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
	GstClockTime pts = GST_BUFFER_PTS(buffer);
	if (!GST_CLOCK_TIME_IS_VALID(pts))
		return GST_PAD_PROBE_DROP;
	Output &out = s.out;
	if (GST_CLOCK_TIME_IS_VALID(out.last_pts)) {
		/* Around a switch the old and the new chain overlap: never let
		 * time run backwards. Audio may overlap the last buffer by a
		 * rounding error. */
		bool backwards =
		    s.audio ? pts + 2 * GST_MSECOND < out.last_end : pts <= out.last_pts;
		if (backwards)
			return GST_PAD_PROBE_DROP;
	}
	out.last_pts = pts;
	out.last_end =
	    GST_BUFFER_DURATION_IS_VALID(buffer) ? pts + GST_BUFFER_DURATION(buffer) : pts;
	s.out_end = out.last_end;
	if (s.discont.exchange(false)) {
		buffer = gst_buffer_make_writable(buffer);
		GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
		GST_PAD_PROBE_INFO_DATA(info) = buffer;
	}
	return GST_PAD_PROBE_OK;
}

/* ---- chains ---- */

static void finish_switch(GstMeshcallSwitchSrc *self, ChainPtr chain, ChainPtr old);

/* The most a new camera's time is moved on when it takes over. */
constexpr GstClockTime kMaxCatchUp = 150 * GST_MSECOND;

struct ProbeData {
	GstMeshcallSwitchSrc *self; /* the chain never outlives it */
	ChainPtr chain;
};

static GstPadProbeReturn chain_probe(GstPad *, GstPadProbeInfo *info, gpointer data)
{
	auto *pd = static_cast<ProbeData *>(data);
	GstMeshcallSwitchSrc *self = pd->self;
	State &s = state_of(self);
	Chain &chain = *pd->chain;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
		switch (GST_EVENT_TYPE(event)) {
		case GST_EVENT_EOS:
			/* A dying device sends EOS: the stream ends only when the
			 * application asks (send_event) or downstream wants no
			 * more (a sink's num-buffers). */
			if (s.eos_allowed ||
			    gst_pad_get_last_flow_return(s.funnel_src) == GST_FLOW_EOS)
				return GST_PAD_PROBE_OK;
			return GST_PAD_PROBE_DROP;
		case GST_EVENT_SEGMENT: {
			/* Buffers go out in running time (below), in one canonical
			 * segment whatever the device's. */
			gst_event_copy_segment(event, &chain.segment);
			GstSegment canonical;
			gst_segment_init(&canonical, GST_FORMAT_TIME);
			GstEvent *replacement = gst_event_new_segment(&canonical);
			gst_event_set_seqnum(replacement, gst_event_get_seqnum(event));
			gst_event_unref(event);
			GST_PAD_PROBE_INFO_DATA(info) = replacement;
			return GST_PAD_PROBE_OK;
		}
		default:
			return GST_PAD_PROBE_OK;
		}
	}

	if (!(info->type & GST_PAD_PROBE_TYPE_BUFFER))
		return chain.active ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;

	GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
	GstClockTime pts = GST_BUFFER_PTS(buffer);
	if (chain.segment.format != GST_FORMAT_TIME)
		return GST_PAD_PROBE_DROP;
	GstClockTime running = gst_segment_to_running_time(&chain.segment, GST_FORMAT_TIME, pts);
	if (!GST_CLOCK_TIME_IS_VALID(running))
		return GST_PAD_PROBE_DROP;

	if (!chain.active.load(std::memory_order_acquire)) {
		/* The first buffer of a chain that waits for one takes over. */
		ChainPtr old;
		{
			std::lock_guard lock(s.lock);
			if (!chain.pending || chain.retired)
				return GST_PAD_PROBE_DROP;
			chain.pending = false;
			old = std::exchange(s.active, pd->chain);
			s.pending.reset();
			if (old)
				old->active = false;
			chain.active = true;
		}
		/* A camera that delivers later after capture than the old one
		 * (one at 15 fps behind videorate: tens of ms) has frames older
		 * than the last one out; dropping them until its time caught up
		 * left a hole in the video that long. Its time is moved on
		 * instead, so its first frame follows the last one out, and the
		 * shift then melts away over the next second or two (below).
		 * Frames older than kMaxCatchUp are not a camera's delay but
		 * a backlog (a driver's queued buffers): those are dropped.
		 * Audio keeps its own time: overlapping buffers are dropped,
		 * which costs at most a buffer. */
		GstClockTime end = s.out_end.load();
		if (!s.audio && GST_CLOCK_TIME_IS_VALID(end) && running < end &&
		    end - running <= kMaxCatchUp)
			chain.offset = end - running;
		SWITCH_LOG(GST_LEVEL_DEBUG, self,
			   "taking over at %" GST_TIME_FORMAT ", last out ended %" GST_TIME_FORMAT
			   ", moved on by %" GST_TIME_FORMAT,
			   GST_TIME_ARGS(running), GST_TIME_ARGS(end), GST_TIME_ARGS(chain.offset));
		s.discont = true;
		run_on_main(self, [chain = pd->chain, old](GstMeshcallSwitchSrc *self) {
			finish_switch(self, chain, old);
		});
	}

	if (chain.offset) {
		running += chain.offset;
		/* Frames come out a little closer together (1/16 of a frame)
		 * until the chain is back on its own capture times; always
		 * forward, never piling up over many switches. */
		GstClockTime step = GST_BUFFER_DURATION_IS_VALID(buffer)
					? GST_BUFFER_DURATION(buffer) / 16
					: GST_MSECOND;
		chain.offset -= std::min(chain.offset, step);
	}
	if (running != pts) {
		buffer = gst_buffer_make_writable(buffer);
		GST_BUFFER_PTS(buffer) = running;
		GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
		GST_PAD_PROBE_INFO_DATA(info) = buffer;
	}
	return GST_PAD_PROBE_OK;
}

static std::string chain_description(GstMeshcallSwitchSrc *self, const Chain &chain)
{
	GstMeshcallSwitchSrcClass *klass = klass_of(self);
	std::string desc;
	if (chain.kind != SourceKind::Device)
		desc = klass->test_source(self, chain.kind == SourceKind::Fallback) + " ! ";
	return desc + klass->normaliser(self, chain.device.get()) + " ! capsfilter name=caps";
}

/* Builds chain's bin, or returns an error. */
static std::string build_chain(GstMeshcallSwitchSrc *self, Chain &chain)
{
	State &s = state_of(self);
	g_autoptr(GError) error = nullptr;
	std::string desc = chain_description(self, chain);
	/* Unlinked pads come out ghosted: "src", and "sink" for a device's. */
	GstElement *tail = gst_parse_bin_from_description_full(desc.c_str(), TRUE, nullptr,
							       GST_PARSE_FLAG_FATAL_ERRORS, &error);
	if (!tail)
		return std::string("cannot build '") + desc + "': " + error->message;

	g_autofree char *name = g_strdup_printf("source%u", s.chain_count++);
	chain.bin = GstRef<GstElement>::ref(gst_bin_new(name));
	gst_bin_add(GST_BIN(chain.bin.get()), tail);

	GstElement *caps = gst_bin_get_by_name(GST_BIN(tail), "caps");
	g_autoptr(GstCaps) out_caps = klass_of(self)->output_caps(self);
	g_object_set(caps, "caps", out_caps, nullptr);
	gst_object_unref(caps);

	if (chain.kind == SourceKind::Device) {
		GstElement *source = gst_device_create_element(chain.device, nullptr);
		if (!source)
			return "the device cannot create a source element";
		gst_bin_add(GST_BIN(chain.bin.get()), source);
		chain.source = source;
		if (!gst_element_link_pads(source, nullptr, tail, "sink"))
			return "the device's source element cannot be linked";
	}
	g_autoptr(GstPad) tail_src = gst_element_get_static_pad(tail, "src");
	gst_element_add_pad(chain.bin, gst_ghost_pad_new("src", tail_src));
	return {};
}

/* Stops a chain and takes it out; its buffers are dropped from now on. */
void discard_chain(GstMeshcallSwitchSrc *self, const ChainPtr &chain)
{
	State &s = state_of(self);
	{
		std::lock_guard lock(s.lock);
		if (chain->retired)
			return;
		chain->retired = true;
		chain->pending = false;
		chain->active = false;
		if (s.active == chain)
			s.active.reset();
		if (s.pending == chain)
			s.pending.reset();
	}
	if (chain->first_buffer_timeout) {
		g_source_destroy(chain->first_buffer_timeout);
		g_source_unref(std::exchange(chain->first_buffer_timeout, nullptr));
	}
	if (!chain->bin)
		return;
	SWITCH_LOG(GST_LEVEL_DEBUG, self, "removing %s (%s)", GST_OBJECT_NAME(chain->bin.get()),
		   chain->label.c_str());
	/* To NULL first: its streaming thread stops, nothing is pushed into
	 * the funnel pad any more when it goes. */
	gst_element_set_locked_state(chain->bin, TRUE);
	gst_element_set_state(chain->bin, GST_STATE_NULL);
	g_autoptr(GstPad) pad = gst_element_get_static_pad(chain->bin, "src");
	if (chain->probe)
		gst_pad_remove_probe(pad, std::exchange(chain->probe, 0));
	if (chain->funnel_pad) {
		gst_pad_unlink(pad, chain->funnel_pad);
		gst_element_release_request_pad(s.funnel, chain->funnel_pad);
		chain->funnel_pad.reset();
	}
	if (GST_OBJECT_PARENT(chain->bin.get()) == GST_OBJECT(self))
		gst_bin_remove(GST_BIN(self), chain->bin);
	chain->source = nullptr;
	chain->bin.reset();
}

static void finish_switch(GstMeshcallSwitchSrc *self, ChainPtr chain, ChainPtr old)
{
	{
		State &s = state_of(self);
		std::lock_guard lock(s.lock);
		if (chain->retired)
			return;
	}
	if (chain->first_buffer_timeout) {
		g_source_destroy(chain->first_buffer_timeout);
		g_source_unref(std::exchange(chain->first_buffer_timeout, nullptr));
	}
	if (old)
		discard_chain(self, old);
	set_active_label(self, chain->label);
	post_device_message(self, "device-switched", chain->label);
	/* The new device may have another latency (docs/design.md, fact 11). */
	gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

/* A chain posted an error or never delivered. */
void chain_failed(GstMeshcallSwitchSrc *self, const ChainPtr &chain)
{
	State &s = state_of(self);
	bool was_pending, was_active;
	std::string reason;
	{
		std::lock_guard lock(s.lock);
		if (chain->retired)
			return;
		was_pending = chain->pending;
		was_active = s.active == chain;
		reason = chain->error.empty() ? "the device delivered nothing" : chain->error;
	}
	if (chain->kind != SourceKind::Device) {
		/* Test sources need only our own plugins: a broken install. */
		discard_chain(self, chain);
		GST_ELEMENT_ERROR(
		    self, CORE, MISSING_PLUGIN,
		    ("The %s test source failed: %s", klass_of(self)->kind, reason.c_str()),
		    (nullptr));
		return;
	}
	s.blocked.insert(chain->key);
	if (was_pending || !was_active) {
		/* Never took over: the old device keeps running. */
		post_device_message(self, "device-failed", chain->label, reason.c_str());
		discard_chain(self, chain);
		if (!s.active && s.running)
			start_chain(self, SourceKind::Fallback, nullptr);
		return;
	}
	if (chain->lost)
		return;
	chain->lost = true;
	post_device_message(self, "device-lost", chain->label, reason.c_str());
	start_chain(self, SourceKind::Fallback, nullptr);
}

static void arm_first_buffer_timeout(GstMeshcallSwitchSrc *self, const ChainPtr &chain)
{
	GSource *timeout = g_timeout_source_new(kFirstBufferTimeoutMs);
	chain->first_buffer_timeout = g_source_ref(timeout);
	run_on_main(
	    self,
	    [chain](GstMeshcallSwitchSrc *self) {
		    if (chain->first_buffer_timeout) {
			    g_source_unref(chain->first_buffer_timeout);
			    chain->first_buffer_timeout = nullptr;
		    }
		    {
			    State &s = state_of(self);
			    std::lock_guard lock(s.lock);
			    if (!chain->pending)
				    return;
			    if (chain->error.empty())
				    chain->error = "no data from the device within " +
						   std::to_string(kFirstBufferTimeoutMs / 1000) +
						   " s";
		    }
		    chain_failed(self, chain);
	    },
	    timeout);
}

/* Builds and starts a chain for the target; it takes over from the active
 * one with its first buffer (or at once when nothing flows yet). */
void start_chain(GstMeshcallSwitchSrc *self, SourceKind kind, const DeviceEntry *entry)
{
	State &s = state_of(self);
	GstMeshcallSwitchSrcClass *klass = klass_of(self);

	ChainPtr previous_pending;
	ChainPtr active;
	{
		std::lock_guard lock(s.lock);
		previous_pending = s.pending;
		active = s.active;
	}
	if (previous_pending)
		discard_chain(self, previous_pending);

	if (kind == SourceKind::Device && klass->switch_in_place && active &&
	    active->kind == SourceKind::Device && active->source &&
	    gst_device_reconfigure_element(entry->device, active->source)) {
		SWITCH_LOG(GST_LEVEL_INFO, self, "switched %s to %s in place",
			   GST_OBJECT_NAME(active->source), entry->label.c_str());
		{
			/* handle_message reads them from streaming threads. */
			std::lock_guard lock(s.lock);
			active->device = entry->device;
			active->label = entry->label;
			active->key = entry->key();
		}
		set_active_label(self, entry->label);
		post_device_message(self, "device-switched", entry->label);
		return;
	}

	auto chain = std::make_shared<Chain>();
	chain->kind = kind;
	if (kind == SourceKind::Device) {
		chain->device = entry->device;
		chain->label = entry->label;
		chain->key = entry->key();
	} else {
		chain->label = kind == SourceKind::Test ? "test" : "fallback";
	}
	gst_segment_init(&chain->segment, GST_FORMAT_UNDEFINED);

	std::string error = build_chain(self, *chain);
	if (!error.empty()) {
		chain->error = error;
		chain->pending = true;
		chain_failed(self, chain);
		return;
	}

	GstState current = GST_STATE(self);
	bool flowing = current == GST_STATE_PLAYING && active;
	{
		std::lock_guard lock(s.lock);
		if (flowing) {
			chain->pending = true;
			s.pending = chain;
		} else {
			chain->active = true;
			s.active = chain;
		}
	}
	if (!flowing && active)
		discard_chain(self, active);

	gst_bin_add(GST_BIN(self), chain->bin);
	chain->funnel_pad =
	    GstRef<GstPad>::adopt(gst_element_request_pad_simple(s.funnel, "sink_%u"));
	g_autoptr(GstPad) pad = gst_element_get_static_pad(chain->bin, "src");
	gst_pad_link(pad, chain->funnel_pad);
	chain->probe = gst_pad_add_probe(
	    pad,
	    GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
			    GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
	    chain_probe, new ProbeData{self, chain},
	    [](gpointer data) { delete static_cast<ProbeData *>(data); });

	SWITCH_LOG(GST_LEVEL_INFO, self, "starting %s for %s", GST_OBJECT_NAME(chain->bin.get()),
		   chain->label.c_str());
	GstStateChangeReturn ret =
	    gst_element_set_state(chain->bin, std::max(current, GST_STATE_READY));
	if (ret == GST_STATE_CHANGE_FAILURE) {
		{
			std::lock_guard lock(s.lock);
			if (chain->error.empty())
				chain->error = "the device cannot be opened";
			chain->pending = true; /* report it as failed, not lost */
		}
		chain_failed(self, chain);
		return;
	}
	if (flowing) {
		arm_first_buffer_timeout(self, chain);
	} else {
		set_active_label(self, chain->label);
		post_device_message(self, "device-switched", chain->label);
	}
}

/* ---- devices ---- */

static Target resolve(GstMeshcallSwitchSrc *self)
{
	State &s = state_of(self);
	std::string spec;
	{
		std::lock_guard lock(s.lock);
		spec = s.settings.device;
	}
	if (spec == "test")
		return {SourceKind::Test, nullptr};
	const DeviceEntry *entry = nullptr;
	if (spec == "auto" || spec.empty()) {
		for (const DeviceEntry &e : s.devices)
			if (!s.blocked.count(e.key())) {
				entry = &e;
				break;
			}
	} else {
		entry = find_device(s.devices, spec);
	}
	if (!entry)
		return {SourceKind::Fallback, nullptr};
	return {SourceKind::Device, entry};
}

/* Brings the running source in line with `device` and the devices present. */
void reconcile(GstMeshcallSwitchSrc *self)
{
	State &s = state_of(self);
	if (!s.running)
		return;
	ChainPtr active, pending;
	{
		std::lock_guard lock(s.lock);
		active = s.active;
		pending = s.pending;
	}
	auto present = [&](const std::string &key) {
		return std::any_of(s.devices.begin(), s.devices.end(),
				   [&](const DeviceEntry &e) { return e.key() == key; });
	};
	if (pending && pending->kind == SourceKind::Device && !present(pending->key)) {
		{
			std::lock_guard lock(s.lock);
			pending->error = "the device was removed";
		}
		chain_failed(self, pending);
		pending.reset();
	}
	if (active && active->kind == SourceKind::Device && !active->lost &&
	    !present(active->key)) {
		active->lost = true;
		post_device_message(self, "device-lost", active->label, "the device was removed");
		if (!pending)
			start_chain(self, SourceKind::Fallback, nullptr);
		{
			std::lock_guard lock(s.lock);
			pending = s.pending;
		}
	}

	Target target = resolve(self);
	if (target.kind == SourceKind::Device && s.blocked.count(target.entry->key()))
		return; /* stay on what runs until it is plugged in again */
	auto runs_target = [&](const ChainPtr &chain) {
		return chain && chain->kind == target.kind &&
		       (target.kind != SourceKind::Device ||
			(chain->key == target.entry->key() && !chain->lost));
	};
	if (runs_target(pending ? pending : active))
		return;
	if (pending && runs_target(active)) {
		/* Asked back before the new one took over: keep what runs (a
		 * second chain on it would open the same device twice). */
		discard_chain(self, pending);
		return;
	}
	start_chain(self, target.kind, target.entry);
}

} // namespace meshcall::switch_src
