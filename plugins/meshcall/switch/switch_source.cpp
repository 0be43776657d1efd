// SPDX-License-Identifier: LGPL-2.1-or-later
/* GstMeshcallSwitchSrc: a capture source whose device may change while
 * PLAYING, the common part of switchvideosrc and switchaudiosrc.
 *
 * Inside, each device in use is a "chain": the device's own source element
 * (gst_device_create_element), a normaliser (convert/scale/rate or
 * convert/resample) and a capsfilter with the fixed output caps, in a bin of
 * its own linked to a funnel whose src pad is ours. Downstream sees one
 * stream: only the first chain's stream-start, caps and segment pass
 * (every chain has the same caps; segments are made canonical and buffers
 * carry running time), EOS from a chain never passes (a camera that dies
 * sends one), and a buffer older than the last one out is dropped.
 *
 * Switching is make-before-break, all on the main context: the new chain is
 * built, linked to a new funnel pad and started while the old one keeps
 * running; a pad probe drops the new chain's buffers until its first one,
 * which flips the two over (from then on the old chain's buffers are
 * dropped), and the old chain is then stopped, unlinked and removed on the
 * main context. The gap downstream is a frame interval, however long the
 * device takes to open; a device that fails to open or to deliver is
 * dropped while the old one never stopped.
 *
 * A device that disappears (the monitor says it was removed, or its source
 * posts an error) is replaced by a fallback source (test pattern/silence);
 * when a device `device` names appears again, the element switches back to
 * it. Errors from devices never reach the pipeline: they become element
 * messages "device-lost" / "device-failed".
 *
 * Threads: property setters may run anywhere; everything that builds,
 * links or removes chains runs on the default main context, which the
 * application must run (gst-launch-1.0 does). */
#include "switch/switch_source.h"

#include <algorithm>

#include "common/main_context.h"
#include "switch/switch_source_state.h"

using namespace meshcall;
using namespace meshcall::switch_src;

namespace
{

struct GstMeshcallSwitchSrcPrivate {
	State *state;
};

enum { PROP_0, PROP_DEVICE, PROP_DEVICES, PROP_ACTIVE_DEVICE };
enum { SIGNAL_DEVICES_CHANGED, N_SIGNALS };
guint signals[N_SIGNALS];

} // namespace

G_DEFINE_TYPE_WITH_PRIVATE(GstMeshcallSwitchSrc, gst_meshcall_switch_src, GST_TYPE_BIN)

namespace meshcall::switch_src
{

State &state_of(GstMeshcallSwitchSrc *self)
{
	auto *priv = static_cast<GstMeshcallSwitchSrcPrivate *>(
	    gst_meshcall_switch_src_get_instance_private(self));
	return *priv->state;
}

void run_on_main(GstMeshcallSwitchSrc *self, std::function<void(GstMeshcallSwitchSrc *)> fn,
		 GSource *source)
{
	/* Holds a weak reference: the element may be gone when it runs. */
	struct WeakElement {
		GWeakRef ref;
		explicit WeakElement(GstMeshcallSwitchSrc *self) { g_weak_ref_init(&ref, self); }
		~WeakElement() { g_weak_ref_clear(&ref); }
	};
	auto weak = std::make_shared<WeakElement>(self);
	invoke_on(
	    [weak, fn = std::move(fn)] {
		    if (auto *obj =
			    static_cast<GstMeshcallSwitchSrc *>(g_weak_ref_get(&weak->ref))) {
			    fn(obj);
			    g_object_unref(obj);
		    }
	    },
	    nullptr, source);
}

void post_device_message(GstMeshcallSwitchSrc *self, const char *name, const std::string &device,
			 const char *reason)
{
	GstStructure *s = gst_structure_new(name, "kind", G_TYPE_STRING, klass_of(self)->kind,
					    "device", G_TYPE_STRING, device.c_str(), nullptr);
	if (reason)
		gst_structure_set(s, "reason", G_TYPE_STRING, reason, nullptr);
	SWITCH_LOG(GST_LEVEL_INFO, self, "%" GST_PTR_FORMAT, s);
	gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

void set_active_label(GstMeshcallSwitchSrc *self, const std::string &label)
{
	State &s = state_of(self);
	{
		std::lock_guard lock(s.lock);
		if (s.active_label == label)
			return;
		s.active_label = label;
	}
	g_object_notify(G_OBJECT(self), "active-device");
}

} // namespace meshcall::switch_src

namespace
{

/* ---- devices ---- */

/* Reads the monitor's devices; tells the application when they changed,
 * unless this is the first look. */
void refresh_devices(GstMeshcallSwitchSrc *self, bool announce = true)
{
	State &s = state_of(self);
	DeviceList devices = collect_devices(s.monitor);
	std::vector<std::string> labels;
	for (const DeviceEntry &e : devices)
		labels.push_back(e.label);
	s.devices = std::move(devices);
	bool changed;
	{
		std::lock_guard lock(s.lock);
		changed = labels != s.labels;
		s.labels = std::move(labels);
	}
	if (changed && announce) {
		g_object_notify(G_OBJECT(self), "devices");
		g_signal_emit(self, signals[SIGNAL_DEVICES_CHANGED], 0);
	}
}

gboolean on_monitor_message(GstBus *, GstMessage *message, gpointer data)
{
	auto *self = static_cast<GstMeshcallSwitchSrc *>(data);
	State &s = state_of(self);
	switch (GST_MESSAGE_TYPE(message)) {
	case GST_MESSAGE_DEVICE_ADDED: {
		GstDevice *device = nullptr;
		gst_message_parse_device_added(message, &device);
		g_autofree char *name = gst_device_get_display_name(device);
		std::string path = device_path(device);
		/* Plugged in again: worth another try. */
		s.blocked.erase(path.empty() ? name : path);
		gst_object_unref(device);
		break;
	}
	case GST_MESSAGE_DEVICE_REMOVED:
	case GST_MESSAGE_DEVICE_CHANGED:
		break;
	default:
		return G_SOURCE_CONTINUE;
	}
	refresh_devices(self);
	reconcile(self);
	return G_SOURCE_CONTINUE;
}

void start_monitor(GstMeshcallSwitchSrc *self)
{
	State &s = state_of(self);
	if (s.monitoring)
		return;
	/* No device provider at all (a bare system) is not an error: the
	 * element runs on its test source. */
	s.monitoring = gst_device_monitor_start(s.monitor);
	if (!s.monitoring)
		SWITCH_LOG(GST_LEVEL_WARNING, self, "no device provider could be started");
	g_autoptr(GstBus) bus = gst_device_monitor_get_bus(s.monitor);
	s.monitor_watch = gst_bus_create_watch(bus);
	g_source_set_callback(s.monitor_watch, G_SOURCE_FUNC(on_monitor_message), self, nullptr);
	g_source_attach(s.monitor_watch, g_main_context_default());
	refresh_devices(self, false);
}

void stop_monitor(GstMeshcallSwitchSrc *self)
{
	State &s = state_of(self);
	if (s.monitor_watch) {
		g_source_destroy(s.monitor_watch);
		g_source_unref(std::exchange(s.monitor_watch, nullptr));
	}
	if (s.monitoring)
		gst_device_monitor_stop(s.monitor);
	s.monitoring = false;
}

/* ---- GObject / GstElement ---- */

void set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
	auto *self = GST_MESHCALL_SWITCH_SRC(object);
	State &s = state_of(self);
	switch (id) {
	case PROP_DEVICE: {
		const char *device = g_value_get_string(value);
		{
			std::lock_guard lock(s.lock);
			s.settings.device = device && *device ? device : "auto";
		}
		run_on_main(self, [](GstMeshcallSwitchSrc *self) {
			State &s = state_of(self);
			/* Asked for by name: try it even if it failed before. */
			s.blocked.clear();
			reconcile(self);
		});
		break;
	}
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
}

void get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	auto *self = GST_MESHCALL_SWITCH_SRC(object);
	State &s = state_of(self);
	switch (id) {
	case PROP_DEVICE: {
		std::lock_guard lock(s.lock);
		g_value_set_string(value, s.settings.device.c_str());
		break;
	}
	case PROP_DEVICES: {
		bool known;
		{
			std::lock_guard lock(s.lock);
			known = !s.labels.empty() || s.running;
		}
		std::vector<std::string> labels;
		if (!known) {
			/* Not running: probe the hardware once (the monitor has
			 * its own lock). */
			for (const DeviceEntry &e : collect_devices(s.monitor))
				labels.push_back(e.label);
		} else {
			std::lock_guard lock(s.lock);
			labels = s.labels;
		}
		std::vector<const char *> strv;
		for (const std::string &l : labels)
			strv.push_back(l.c_str());
		strv.push_back(nullptr);
		g_value_set_boxed(value, strv.data());
		break;
	}
	case PROP_ACTIVE_DEVICE: {
		std::lock_guard lock(s.lock);
		g_value_set_string(value, s.active_label.c_str());
		break;
	}
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
}

GstStateChangeReturn change_state(GstElement *element, GstStateChange transition)
{
	auto *self = GST_MESHCALL_SWITCH_SRC(element);
	State &s = state_of(self);

	switch (transition) {
	case GST_STATE_CHANGE_NULL_TO_READY:
		s.running = true;
		s.eos_allowed = false;
		start_monitor(self);
		reconcile(self);
		break;
	case GST_STATE_CHANGE_READY_TO_PAUSED:
		gst_caps_replace(&s.out.caps, nullptr);
		s.out = Output{};
		s.out_end = GST_CLOCK_TIME_NONE;
		s.eos_allowed = false;
		break;
	default:
		break;
	}

	GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_meshcall_switch_src_parent_class)
				       ->change_state(element, transition);
	if (ret == GST_STATE_CHANGE_FAILURE)
		return ret;

	switch (transition) {
	case GST_STATE_CHANGE_READY_TO_NULL: {
		s.running = false;
		ChainPtr active, pending;
		{
			std::lock_guard lock(s.lock);
			active = s.active;
			pending = s.pending;
		}
		if (pending)
			discard_chain(self, pending);
		if (active)
			discard_chain(self, active);
		stop_monitor(self);
		set_active_label(self, "");
		break;
	}
	default:
		break;
	}
	/* Live: no preroll, whatever the chains said. */
	if (transition == GST_STATE_CHANGE_READY_TO_PAUSED ||
	    transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED)
		ret = GST_STATE_CHANGE_NO_PREROLL;
	return ret;
}

/* Errors of a chain are the device's, not the pipeline's. The element's
 * only children are the funnel and the chains. */
void handle_message(GstBin *bin, GstMessage *message)
{
	auto *self = GST_MESHCALL_SWITCH_SRC(bin);
	State &s = state_of(self);
	GstObject *src = GST_MESSAGE_SRC(message);
	if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ERROR || src == GST_OBJECT(self) ||
	    src == GST_OBJECT(s.funnel)) {
		GST_BIN_CLASS(gst_meshcall_switch_src_parent_class)->handle_message(bin, message);
		return;
	}
	g_autoptr(GError) error = nullptr;
	g_autofree char *debug = nullptr;
	gst_message_parse_error(message, &error, &debug);
	ChainPtr chain;
	std::string label = "retired source";
	{
		std::lock_guard lock(s.lock);
		for (const ChainPtr &c : {s.active, s.pending})
			if (c && c->bin &&
			    gst_object_has_as_ancestor(src, GST_OBJECT(c->bin.get())))
				chain = c;
		if (chain && chain->error.empty())
			chain->error = error->message;
		if (chain)
			label = chain->label;
	}
	SWITCH_LOG(GST_LEVEL_WARNING, self, "%s: %s (%s)", label.c_str(), error->message,
		   debug ? debug : "");
	if (chain)
		run_on_main(self,
			    [chain](GstMeshcallSwitchSrc *self) { chain_failed(self, chain); });
	gst_message_unref(message);
}

gboolean send_event(GstElement *element, GstEvent *event)
{
	auto *self = GST_MESHCALL_SWITCH_SRC(element);
	State &s = state_of(self);
	if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
		/* Ending the stream (gst-launch-1.0 -e): push it ourselves, in
		 * order with the buffers, whatever the sources do. */
		s.eos_allowed = true;
		GST_PAD_STREAM_LOCK(s.funnel_src);
		gboolean ok = gst_pad_push_event(s.funnel_src, event);
		GST_PAD_STREAM_UNLOCK(s.funnel_src);
		return ok;
	}
	return GST_ELEMENT_CLASS(gst_meshcall_switch_src_parent_class)->send_event(element, event);
}

void constructed(GObject *object)
{
	G_OBJECT_CLASS(gst_meshcall_switch_src_parent_class)->constructed(object);
	auto *self = GST_MESHCALL_SWITCH_SRC(object);
	State &s = state_of(self);
	GstMeshcallSwitchSrcClass *klass = klass_of(self);
	s.audio = g_str_equal(klass->kind, "audio");

	s.monitor = GstRef<GstDeviceMonitor>::ref(gst_device_monitor_new());
	gst_device_monitor_add_filter(s.monitor, klass->device_class, nullptr);
	/* Providers hide one another (PipeWire hides v4l2); we list them all
	 * and fold duplicates by path ourselves. */
	gst_device_monitor_set_show_all_devices(s.monitor, TRUE);

	s.funnel = gst_element_factory_make("funnel", "switch");
	gst_bin_add(GST_BIN(self), s.funnel);
	g_autoptr(GstPad) funnel_src = gst_element_get_static_pad(s.funnel, "src");
	s.funnel_src = funnel_src;
	gst_pad_add_probe(
	    funnel_src,
	    GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
	    output_probe, self, nullptr);
	GstPadTemplate *templ =
	    gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(self), "src");
	s.srcpad = gst_ghost_pad_new_from_template("src", funnel_src, templ);
	gst_element_add_pad(GST_ELEMENT(self), s.srcpad);
	GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SOURCE);
}

void finalize(GObject *object)
{
	auto *self = GST_MESHCALL_SWITCH_SRC(object);
	auto *priv = static_cast<GstMeshcallSwitchSrcPrivate *>(
	    gst_meshcall_switch_src_get_instance_private(self));
	stop_monitor(self);
	gst_caps_replace(&priv->state->out.caps, nullptr);
	delete priv->state;
	G_OBJECT_CLASS(gst_meshcall_switch_src_parent_class)->finalize(object);
}

} // namespace

void gst_meshcall_switch_src_output_caps_changed(GstMeshcallSwitchSrc *self)
{
	State &s = state_of(self);
	g_autoptr(GstCaps) caps = klass_of(self)->output_caps(self);
	std::lock_guard lock(s.lock);
	for (const ChainPtr &c : {s.active, s.pending}) {
		if (!c || !c->bin)
			continue;
		GstElement *filter = gst_bin_get_by_name(GST_BIN(c->bin.get()), "caps");
		if (filter) {
			g_object_set(filter, "caps", caps, nullptr);
			gst_object_unref(filter);
		}
	}
}

static void gst_meshcall_switch_src_init(GstMeshcallSwitchSrc *self)
{
	auto *priv = static_cast<GstMeshcallSwitchSrcPrivate *>(
	    gst_meshcall_switch_src_get_instance_private(self));
	priv->state = new State();
}

static void gst_meshcall_switch_src_class_init(GstMeshcallSwitchSrcClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	object_class->set_property = set_property;
	object_class->get_property = get_property;
	object_class->constructed = constructed;
	object_class->finalize = finalize;
	element_class->change_state = change_state;
	element_class->send_event = send_event;
	GST_BIN_CLASS(klass)->handle_message = handle_message;

	/**
	 * GstMeshcallSwitchSrc:device:
	 *
	 * The device to capture from: a name from #GstMeshcallSwitchSrc:devices,
	 * a device's display name or node (`/dev/video2`), `auto` (the first
	 * device the system lists; a newly plugged one when none was there) or
	 * `test` (test pattern / tone). May change while PLAYING: the element
	 * switches without a gap longer than a frame and without downstream
	 * noticing. A device that is not there (yet) leaves the fallback source
	 * running until it appears.
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_DEVICE,
	    g_param_spec_string("device", "Device",
				"Device to capture from: a name or node from 'devices', "
				"'auto' or 'test'; may change while playing",
				"auto",
				GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					    GST_PARAM_MUTABLE_PLAYING)));
	/**
	 * GstMeshcallSwitchSrc:devices:
	 *
	 * The devices there are, as GstDeviceMonitor sees them with every
	 * provider shown and the same node listed once; updated on hotplug
	 * (see #GstMeshcallSwitchSrc::devices-changed).
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_DEVICES,
	    g_param_spec_boxed("devices", "Devices", "The devices that can be captured from",
			       G_TYPE_STRV,
			       GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
	/**
	 * GstMeshcallSwitchSrc:active-device:
	 *
	 * What is captured from now: a name from #GstMeshcallSwitchSrc:devices,
	 * `test`, `fallback` (the device is missing or lost) or "" (not
	 * running).
	 *
	 * Since: 0.1
	 */
	g_object_class_install_property(
	    object_class, PROP_ACTIVE_DEVICE,
	    g_param_spec_string("active-device", "Active device",
				"What is captured from now: a device, 'test' or 'fallback'", "",
				GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

	/**
	 * GstMeshcallSwitchSrc::devices-changed:
	 * @self: the element
	 *
	 * A device was plugged in or removed; read
	 * #GstMeshcallSwitchSrc:devices. Emitted on the main context.
	 *
	 * Since: 0.1
	 */
	signals[SIGNAL_DEVICES_CHANGED] =
	    g_signal_new("devices-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr,
			 nullptr, nullptr, G_TYPE_NONE, 0);

	gst_type_mark_as_plugin_api(GST_TYPE_MESHCALL_SWITCH_SRC, GstPluginAPIFlags(0));
}