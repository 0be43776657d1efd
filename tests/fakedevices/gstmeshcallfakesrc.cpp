// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-meshcallfakesrc
 * @title: meshcallfakesrc
 *
 * One fake camera or microphone, for tests on machines without either;
 * normally made by a `meshcallfakedeviceprovider` device
 * (gst_device_create_element()). A camera is a live videotestsrc of one solid
 * colour, a microphone a live audiotestsrc sine, both at the device's native
 * caps; #GstMeshcallFakeSrc:caps decides which (audio/x-raw: a microphone).
 *
 * It fails like a v4l2 camera: when its device is unplugged (the provider's
 * `remove-device`) it posts RESOURCE/READ "Could not read from resource." on
 * the next buffer and delivers nothing more, without EOS; NULL→READY fails
 * with RESOURCE/OPEN_READ while the device is gone or has an open error (the
 * provider's `set-open-error`).
 *
 * Buffers carry the pipeline's running time even when the element joins a
 * pipeline that is already playing: the test sources are live with
 * basesrc's clock sync, and GstBaseSrc then offsets their timestamps (which
 * start at 0) by the running time of the first buffer. New caps (a
 * microphone switched in place) get a new test source for the same reason,
 * so timestamps go on from the running time instead of jumping back.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 meshcallfakesrc device=/dev/fake-camera-red color=0xff0000 \
 *     caps="video/x-raw,format=YUY2,width=320,height=240,framerate=15/1" ! \
 *     videoconvert ! autovideosink
 * ]|
 *
 * Since: 0.1
 */
#include "gstmeshcallfakesrc.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/gst_ref.h"

GST_DEBUG_CATEGORY_STATIC(meshcallfakesrc_debug);
#define GST_CAT_DEFAULT meshcallfakesrc_debug

using meshcall::ElementRef;

namespace
{

struct CapsUnref {
	void operator()(GstCaps *caps) const { gst_caps_unref(caps); }
};
using CapsPtr = std::unique_ptr<GstCaps, CapsUnref>;

constexpr const char *DEFAULT_CAPS = "video/x-raw,format=I420,width=320,height=240,framerate=30/1";
constexpr guint DEFAULT_COLOR = 0xffffff;
constexpr double DEFAULT_FREQ = 440.0;
constexpr double MAX_FREQ = 20000.0; /* audiotestsrc's limit */

enum class Kind { Camera, Microphone };

Kind kind_of(const GstCaps *caps)
{
	return gst_caps_get_size(caps) > 0 &&
		       gst_structure_has_name(gst_caps_get_structure(caps, 0), "audio/x-raw")
		   ? Kind::Microphone
		   : Kind::Camera;
}

/* Property values; guarded by State::lock. */
struct Settings {
	std::string device;
	CapsPtr caps{gst_caps_from_string(DEFAULT_CAPS)};
	guint color = DEFAULT_COLOR;
	double freq = DEFAULT_FREQ;
};

/* Whether the device is still there, as the streaming thread sees it. */
enum class Plug { Present, Unplugged, Reported };

/* Every meshcallfakesrc and the state of the devices they open. Allocated
 * once and never freed: streaming threads may outlive static destructors. */
struct FakeHardware {
	std::mutex lock;
	std::set<GstMeshcallFakeSrc *> elements; /* from _init to _finalize; guarded by lock */
	std::set<std::string> unplugged;	 /* guarded by lock */
	std::map<std::string, std::string> open_errors; /* guarded by lock */
};

FakeHardware &hardware()
{
	static auto *instance = new FakeHardware;
	return *instance;
}

/* In the anonymous namespace: each file of the plugin has its own State. */
struct State {
	/* Lock order: config_lock, then FakeHardware::lock, then lock.
	 * config_lock serializes changes to the children; the streaming thread
	 * never takes it. */
	std::mutex config_lock;
	ElementRef source;	  /* videotestsrc or audiotestsrc; guarded by config_lock */
	CapsPtr source_caps;	  /* what it produces; guarded by config_lock */
	Kind source_kind{};	  /* guarded by config_lock */
	GstElement *capsfilter{}; /* child of the bin from _init on */

	std::mutex lock;
	Settings settings; /* guarded by lock */

	std::atomic<Plug> plug{Plug::Present};
};

} // namespace

struct _GstMeshcallFakeSrc {
	GstBin parent;
	State *state;
};

G_DEFINE_TYPE(GstMeshcallFakeSrc, gst_meshcall_fake_src, GST_TYPE_BIN)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(meshcallfakesrc, "meshcallfakesrc", GST_RANK_NONE,
				      GST_TYPE_MESHCALL_FAKE_SRC,
				      GST_DEBUG_CATEGORY_INIT(meshcallfakesrc_debug,
							      "meshcallfakesrc", 0,
							      "fake camera or microphone"));

enum { PROP_0, PROP_DEVICE, PROP_CAPS, PROP_COLOR, PROP_FREQ, N_PROPS };
static GParamSpec *properties[N_PROPS];

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw; audio/x-raw"));

/* ---- the fake hardware ---- */

static std::string device_path(GstMeshcallFakeSrc *self)
{
	std::lock_guard locker(self->state->lock);
	return self->state->settings.device;
}

void meshcall_fake_hardware_plug(const char *path)
{
	std::lock_guard locker(hardware().lock);
	hardware().unplugged.erase(path);
}

void meshcall_fake_hardware_unplug(const char *path)
{
	FakeHardware &hw = hardware();
	std::lock_guard locker(hw.lock);
	hw.unplugged.insert(path);
	for (GstMeshcallFakeSrc *element : hw.elements) {
		if (device_path(element) != path)
			continue;
		Plug present = Plug::Present;
		element->state->plug.compare_exchange_strong(present, Plug::Unplugged);
		GST_INFO_OBJECT(element, "%s unplugged", path);
	}
}

void meshcall_fake_hardware_set_open_error(const char *path, const char *reason)
{
	std::lock_guard locker(hardware().lock);
	if (reason)
		hardware().open_errors[path] = reason;
	else
		hardware().open_errors.erase(path);
}

void meshcall_fake_hardware_clear_open_errors()
{
	std::lock_guard locker(hardware().lock);
	hardware().open_errors.clear();
}

/* What opening the device fails with, "" when it opens. */
static std::string open_device(GstMeshcallFakeSrc *self)
{
	std::string path = device_path(self);
	FakeHardware &hw = hardware();
	std::lock_guard locker(hw.lock);
	if (hw.unplugged.count(path))
		return "No such device";
	if (auto it = hw.open_errors.find(path); it != hw.open_errors.end())
		return it->second;
	self->state->plug = Plug::Present;
	return "";
}

/* ---- the children ---- */

static bool is_stopped(GstMeshcallFakeSrc *self)
{
	GST_OBJECT_LOCK(self);
	bool stopped =
	    GST_STATE(self) == GST_STATE_NULL && GST_STATE_NEXT(self) == GST_STATE_VOID_PENDING;
	GST_OBJECT_UNLOCK(self);
	return stopped;
}

/* Sets what may change without a new source. */
static void configure_source(GstElement *source, const GstCaps *caps, guint color, double freq)
{
	if (kind_of(caps) == Kind::Camera) {
		g_object_set(source, "foreground-color", 0xff000000u | color, nullptr);
		return;
	}
	/* 10 ms buffers, like a typical microphone. */
	int rate = 48000;
	gst_structure_get_int(gst_caps_get_structure(caps, 0), "rate", &rate);
	g_object_set(source, "freq", freq, "samplesperbuffer", MAX(rate / 100, 1), nullptr);
}

/* Replaces the test source by a new one producing `caps`, in any state; with
 * config_lock. Renegotiating the old one instead would break its timestamps:
 * audiotestsrc counts samples at the old rate, videotestsrc frames at the old
 * framerate. A new live source starts at the running time (GstBaseSrc
 * offsets its first timestamp), like a device opened anew. */
static void replace_source(GstMeshcallFakeSrc *self, const GstCaps *caps, guint color, double freq)
{
	State *state = self->state;
	if (ElementRef old = std::exchange(state->source, {})) {
		gst_element_set_state(old, GST_STATE_NULL);
		gst_bin_remove(GST_BIN(self), old);
	}
	g_object_set(state->capsfilter, "caps", caps, nullptr);
	state->source_caps.reset(gst_caps_copy(caps));
	state->source_kind = kind_of(caps);

	bool camera = state->source_kind == Kind::Camera;
	GstElement *source =
	    gst_element_factory_make(camera ? "videotestsrc" : "audiotestsrc", "source");
	if (!source) {
		GST_ERROR_OBJECT(self, "no %s (is gst-plugins-base installed?)",
				 camera ? "videotestsrc" : "audiotestsrc");
		return;
	}
	g_object_set(source, "is-live", TRUE, nullptr);
	if (camera) {
		gst_util_set_object_arg(G_OBJECT(source), "pattern", "solid-color");
	} else {
		gst_util_set_object_arg(G_OBJECT(source), "wave", "sine");
		g_object_set(source, "volume", 0.5, nullptr);
	}
	configure_source(source, caps, color, freq);
	state->source = ElementRef::ref(source);
	gst_bin_add(GST_BIN(self), source);
	/* Checks that the source can produce the caps. */
	if (!gst_element_link(source, state->capsfilter))
		GST_ERROR_OBJECT(self, "the test source cannot produce %" GST_PTR_FORMAT, caps);
	if (!is_stopped(self))
		gst_element_sync_state_with_parent(source);
}

/* Brings the children in line with the settings; with config_lock. Never
 * called with `lock`: setting a child's property notifies (deep-notify)
 * handlers that may read ours. */
static void apply_settings(GstMeshcallFakeSrc *self)
{
	State *state = self->state;
	CapsPtr caps;
	guint color;
	double freq;
	{
		std::lock_guard locker(state->lock);
		caps.reset(gst_caps_ref(state->settings.caps.get()));
		color = state->settings.color;
		freq = state->settings.freq;
	}
	if (!state->source || !gst_caps_is_equal(caps.get(), state->source_caps.get()))
		replace_source(self, caps.get(), color, freq);
	else
		configure_source(state->source, caps.get(), color, freq);
}

bool gst_meshcall_fake_src_switch_microphone(GstMeshcallFakeSrc *self, const char *path,
					     const GstCaps *caps, double freq)
{
	g_return_val_if_fail(GST_IS_MESHCALL_FAKE_SRC(self), false);
	if (!path || !caps || kind_of(caps) != Kind::Microphone)
		return false;
	State *state = self->state;
	{
		std::lock_guard config(state->config_lock);
		if (state->source_kind != Kind::Microphone)
			return false;
		{
			std::lock_guard locker(state->lock);
			state->settings.device = path;
			state->settings.caps.reset(gst_caps_copy(caps));
			state->settings.freq = CLAMP(freq, 0.0, MAX_FREQ);
		}
		/* The new device is plugged in, whatever happened to the old. */
		state->plug = Plug::Present;
		apply_settings(self);
	}
	GST_INFO_OBJECT(self, "switched to %s", path);
	g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_DEVICE]);
	g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_CAPS]);
	g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_FREQ]);
	return true;
}

/* The src pad's buffer probe: where an unplugged device shows. */
static GstPadProbeReturn on_buffer(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
	auto *self = GST_MESHCALL_FAKE_SRC(user_data);
	std::atomic<Plug> &plug = self->state->plug;
	if (plug.load() == Plug::Present)
		return GST_PAD_PROBE_OK;
	Plug unplugged = Plug::Unplugged;
	if (plug.compare_exchange_strong(unplugged, Plug::Reported)) {
		std::string path = device_path(self);
		GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not read from resource."),
				  ("%s was unplugged", path.c_str()));
	}
	/* Like a camera that is gone: nothing more, and no EOS either. */
	return GST_PAD_PROBE_DROP;
}

/* ---- GObject ---- */

static void gst_meshcall_fake_src_init(GstMeshcallFakeSrc *self)
{
	self->state = new State;
	State *state = self->state;
	state->capsfilter = gst_element_factory_make("capsfilter", "native-caps");
	gst_bin_add(GST_BIN(self), state->capsfilter);

	GstPad *target = gst_element_get_static_pad(state->capsfilter, "src");
	gst_pad_add_probe(target, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, self, nullptr);
	GstPad *src = gst_ghost_pad_new_from_template("src", target,
						      gst_static_pad_template_get(&src_template));
	gst_object_unref(target);
	gst_element_add_pad(GST_ELEMENT(self), src);

	{
		std::lock_guard config(state->config_lock);
		apply_settings(self);
	}

	std::lock_guard locker(hardware().lock);
	hardware().elements.insert(self);
}

static void gst_meshcall_fake_src_finalize(GObject *object)
{
	auto *self = GST_MESHCALL_FAKE_SRC(object);
	{
		std::lock_guard locker(hardware().lock);
		hardware().elements.erase(self);
	}
	delete self->state;
	G_OBJECT_CLASS(gst_meshcall_fake_src_parent_class)->finalize(object);
}

static void gst_meshcall_fake_src_set_property(GObject *object, guint prop_id, const GValue *value,
					       GParamSpec *pspec)
{
	auto *self = GST_MESHCALL_FAKE_SRC(object);
	State *state = self->state;
	std::lock_guard config(state->config_lock);
	switch (prop_id) {
	case PROP_DEVICE: {
		std::lock_guard locker(state->lock);
		const char *device = g_value_get_string(value);
		state->settings.device = device ? device : "";
		return;
	}
	case PROP_CAPS: {
		const GstCaps *caps = gst_value_get_caps(value);
		CapsPtr new_caps(caps ? gst_caps_copy(caps) : gst_caps_from_string(DEFAULT_CAPS));
		if (kind_of(new_caps.get()) != state->source_kind && !is_stopped(self)) {
			GST_WARNING_OBJECT(self, "a camera becomes a microphone (or back) "
						 "only in NULL; caps unchanged");
			return;
		}
		std::lock_guard locker(state->lock);
		state->settings.caps = std::move(new_caps);
		break;
	}
	case PROP_COLOR: {
		std::lock_guard locker(state->lock);
		state->settings.color = g_value_get_uint(value);
		break;
	}
	case PROP_FREQ: {
		std::lock_guard locker(state->lock);
		state->settings.freq = g_value_get_double(value);
		break;
	}
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		return;
	}
	apply_settings(self);
}

static void gst_meshcall_fake_src_get_property(GObject *object, guint prop_id, GValue *value,
					       GParamSpec *pspec)
{
	auto *self = GST_MESHCALL_FAKE_SRC(object);
	std::lock_guard locker(self->state->lock);
	const Settings &settings = self->state->settings;
	switch (prop_id) {
	case PROP_DEVICE:
		g_value_set_string(value,
				   settings.device.empty() ? nullptr : settings.device.c_str());
		break;
	case PROP_CAPS:
		gst_value_set_caps(value, settings.caps.get());
		break;
	case PROP_COLOR:
		g_value_set_uint(value, settings.color);
		break;
	case PROP_FREQ:
		g_value_set_double(value, settings.freq);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static GstStateChangeReturn gst_meshcall_fake_src_change_state(GstElement *element,
							       GstStateChange transition)
{
	auto *self = GST_MESHCALL_FAKE_SRC(element);
	if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
		std::string reason = open_device(self);
		if (!reason.empty()) {
			std::string path = device_path(self);
			GST_ELEMENT_ERROR(
			    self, RESOURCE, OPEN_READ,
			    ("Could not open device '%s': %s", path.c_str(), reason.c_str()),
			    (nullptr));
			return GST_STATE_CHANGE_FAILURE;
		}
	}
	return GST_ELEMENT_CLASS(gst_meshcall_fake_src_parent_class)
	    ->change_state(element, transition);
}

static void gst_meshcall_fake_src_class_init(GstMeshcallFakeSrcClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

	gobject_class->finalize = gst_meshcall_fake_src_finalize;
	gobject_class->set_property = gst_meshcall_fake_src_set_property;
	gobject_class->get_property = gst_meshcall_fake_src_get_property;
	element_class->change_state = gst_meshcall_fake_src_change_state;

	/**
	 * GstMeshcallFakeSrc:device:
	 *
	 * Path of the fake device, like /dev/video0 for v4l2src: errors name it,
	 * and the provider's `remove-device` and `set-open-error` find the
	 * elements by it.
	 *
	 * Since: 0.1
	 */
	properties[PROP_DEVICE] =
	    g_param_spec_string("device", "Device", "Path of the fake device", nullptr,
				GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	/**
	 * GstMeshcallFakeSrc:caps:
	 *
	 * The device's native caps, the only caps the element produces. With
	 * audio/x-raw the element is a microphone, else a camera; that choice
	 * changes only in NULL.
	 *
	 * Since: 0.1
	 */
	properties[PROP_CAPS] = g_param_spec_boxed(
	    "caps", "Caps", "Native caps of the device (audio/x-raw makes a microphone)",
	    GST_TYPE_CAPS, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	/**
	 * GstMeshcallFakeSrc:color:
	 *
	 * A camera's solid colour, 0xRRGGBB.
	 *
	 * Since: 0.1
	 */
	properties[PROP_COLOR] = g_param_spec_uint(
	    "color", "Colour", "Solid colour of a camera, 0xRRGGBB", 0, 0xffffff, DEFAULT_COLOR,
	    GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	/**
	 * GstMeshcallFakeSrc:freq:
	 *
	 * A microphone's sine frequency in Hz.
	 *
	 * Since: 0.1
	 */
	properties[PROP_FREQ] = g_param_spec_double(
	    "freq", "Frequency", "Sine frequency of a microphone in Hz", 0.0, MAX_FREQ,
	    DEFAULT_FREQ, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	g_object_class_install_properties(gobject_class, N_PROPS, properties);

	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	    element_class, "Fake camera or microphone (meshcall tests)", "Source/Audio/Video",
	    "A live solid-colour camera or sine microphone at a device's native caps, "
	    "which tests can unplug",
	    "meshcall");
}
