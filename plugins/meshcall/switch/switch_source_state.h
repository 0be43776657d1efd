// SPDX-License-Identifier: LGPL-2.1-or-later
/* Inside switchvideosrc / switchaudiosrc: the state they share between
 * switch_source.cpp (the element: properties, states, messages, device
 * monitor) and switch_chains.cpp (building, switching and removing the
 * chains that capture from a device). Not installed. */
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/gst_ref.h"
#include "switch/device_list.h"
#include "switch/switch_source.h"

namespace meshcall::switch_src
{

enum class SourceKind { Device, Test, Fallback };

/* What `device` resolves to. */
struct Target {
	SourceKind kind = SourceKind::Fallback;
	const DeviceEntry *entry = nullptr; /* Device only; points into State::devices */
};

struct Chain {
	SourceKind kind = SourceKind::Fallback;
	/* Written on the main context under State::lock (an in-place switch
	 * changes them), read there or under the lock. */
	GstRef<GstDevice> device;     /* Device only */
	std::string label;	      /* device label, "test" or "fallback" */
	std::string key;	      /* DeviceEntry::key(); "" unless Device */
	GstRef<GstElement> bin;	      /* in the switch source while not retired */
	GstElement *source = nullptr; /* the capture element in bin (borrowed) */
	GstRef<GstPad> funnel_pad;    /* the funnel sink pad bin feeds */
	gulong probe = 0;
	GSource *first_buffer_timeout = nullptr; /* main context */
	bool lost = false;			 /* device-lost posted; main context */

	/* Streaming thread of the chain only. */
	GstSegment segment{};
	GstClockTime offset = 0; /* added to its running time, set on taking over */

	std::atomic<bool> active{false}; /* its buffers go out */
	/* Guarded by State::lock. */
	bool pending = false; /* waits for its first buffer to take over */
	bool retired = false;
	std::string error; /* first error it posted */
};

using ChainPtr = std::shared_ptr<Chain>;

struct Settings {
	std::string device = "auto";
};

/* Only touched by the output probe, which runs under the funnel src pad's
 * stream lock, and while nothing flows. */
struct Output {
	bool started = false; /* stream-start went out */
	bool segment = false; /* the segment went out */
	GstCaps *caps = nullptr;
	GstClockTime last_pts = GST_CLOCK_TIME_NONE;
	GstClockTime last_end = GST_CLOCK_TIME_NONE;
};

struct State {
	/* Lock order: GstObject locks of the element, then lock. Never held
	 * while calling into GStreamer except trivial accessors. */
	std::mutex lock;
	Settings settings;		 /* lock */
	std::vector<std::string> labels; /* lock; copy of devices' labels */
	std::string active_label;	 /* lock */
	ChainPtr active;		 /* lock */
	ChainPtr pending;		 /* lock */

	bool audio = false;
	GstElement *funnel = nullptr; /* owned by the bin */
	GstPad *funnel_src = nullptr; /* owned by funnel */
	GstPad *srcpad = nullptr;     /* our ghost pad */
	std::atomic<bool> eos_allowed{false};
	std::atomic<bool> discont{false}; /* mark the next buffer out */
	/* Where the last buffer out ended (Output::last_end), for a chain
	 * taking over in its own streaming thread. */
	std::atomic<GstClockTime> out_end{GST_CLOCK_TIME_NONE};
	Output out;

	/* Main context only. */
	GstRef<GstDeviceMonitor> monitor;
	GSource *monitor_watch = nullptr;
	bool monitoring = false;
	bool running = false; /* between NULL→READY and READY→NULL */
	DeviceList devices;
	/* Devices that failed or broke while listed: not tried again on their
	 * own until they are plugged in again or `device` is set. */
	std::set<std::string> blocked;
	guint chain_count = 0;
};

constexpr guint kFirstBufferTimeoutMs = 3000;

State &state_of(GstMeshcallSwitchSrc *self);

inline GstMeshcallSwitchSrcClass *klass_of(GstMeshcallSwitchSrc *self)
{
	return GST_MESHCALL_SWITCH_SRC_GET_CLASS(self);
}

#define SWITCH_LOG(level, self, ...)                                                               \
	GST_CAT_LEVEL_LOG(::meshcall::switch_src::klass_of(self)->category, level, self,           \
			  __VA_ARGS__)

/* Runs fn on the default main context, if the element still exists then
 * (source: an unattached GSource to run it from, default an idle one).
 * Never runs it in the calling thread, even when nobody owns the context
 * (g_main_context_invoke would, and callers are streaming threads). */
void run_on_main(GstMeshcallSwitchSrc *self, std::function<void(GstMeshcallSwitchSrc *)> fn,
		 GSource *source = nullptr);
void post_device_message(GstMeshcallSwitchSrc *self, const char *name, const std::string &device,
			 const char *reason = nullptr);
void set_active_label(GstMeshcallSwitchSrc *self, const std::string &label);

/* switch_chains.cpp; main context only unless said otherwise. */

/* On the funnel's src pad (any streaming thread). */
GstPadProbeReturn output_probe(GstPad *pad, GstPadProbeInfo *info, gpointer self);
/* Builds and starts a chain for the target; it takes over from the active
 * one with its first buffer (or at once when nothing flows yet). */
void start_chain(GstMeshcallSwitchSrc *self, SourceKind kind, const DeviceEntry *entry);
/* Stops a chain and takes it out; its buffers are dropped from now on. */
void discard_chain(GstMeshcallSwitchSrc *self, const ChainPtr &chain);
/* A chain posted an error (recorded in chain->error) or never delivered. */
void chain_failed(GstMeshcallSwitchSrc *self, const ChainPtr &chain);
/* Brings the running source in line with `device` and the devices present. */
void reconcile(GstMeshcallSwitchSrc *self);

} // namespace meshcall::switch_src
