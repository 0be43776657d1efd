// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:provider-meshcallfakedeviceprovider
 * @title: meshcallfakedeviceprovider
 *
 * Fake cameras ("Video/Source") and microphones ("Audio/Source") for tests
 * of elements that pick their devices with a #GstDeviceMonitor, on machines
 * without either. Its devices make `meshcallfakesrc` elements.
 *
 * Unless `MESHCALL_FAKE_DEVICES=none` is set in the environment, it starts
 * with five devices:
 *
 * | name | path | native caps | media |
 * |---|---|---|---|
 * | Fake Camera Red | /dev/fake-camera-red | YUY2 320x240 15/1 | 0xff0000 |
 * | Fake Camera Green | /dev/fake-camera-green | I420 1280x720 30/1 | 0x00ff00 |
 * | Fake Camera Blue | /dev/fake-camera-blue | RGB 640x480 30/1 | 0x0000ff |
 * | Fake Microphone 440 | /dev/fake-mic-440 | S16LE 44100 Hz stereo | 440 Hz sine |
 * | Fake Microphone 1000 | /dev/fake-mic-1000 | F32LE 48000 Hz mono | 1000 Hz sine |
 *
 * Each device's properties are a "meshcall-fake-device" structure with
 * `device.path` and `device.api` = "meshcallfake".
 *
 * Tests plug and break devices with the action signals below, on the one
 * provider instance GStreamer keeps per factory, which every monitor shares:
 * |[
 * GstDeviceProvider *provider =
 *     gst_device_provider_factory_get_by_name ("meshcallfakedeviceprovider");
 * gboolean ok;
 * g_signal_emit_by_name (provider, "remove-device", "/dev/fake-camera-red", &ok);
 * ]|
 *
 * Microphones switch a running meshcallfakesrc in place
 * (gst_device_reconfigure_element()); cameras refuse, like v4l2.
 *
 * Since: 0.1
 */
#include "gstfakedeviceprovider.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/gst_ref.h"
#include "gstmeshcallfakesrc.h"

GST_DEBUG_CATEGORY_STATIC(meshcallfakedeviceprovider_debug);
#define GST_CAT_DEFAULT meshcallfakedeviceprovider_debug

/* ---- the devices it lists ---- */

#define GST_TYPE_MESHCALL_FAKE_DEVICE (gst_meshcall_fake_device_get_type())
G_DECLARE_FINAL_TYPE(GstMeshcallFakeDevice, gst_meshcall_fake_device, GST, MESHCALL_FAKE_DEVICE,
		     GstDevice)

/* Fixed once made (make_device()), so read without a lock. */
struct _GstMeshcallFakeDevice {
	GstDevice parent;
	gchar *path;
	gboolean microphone;
	guint color;
	gdouble freq;
};

G_DEFINE_TYPE(GstMeshcallFakeDevice, gst_meshcall_fake_device, GST_TYPE_DEVICE)

static void gst_meshcall_fake_device_init(GstMeshcallFakeDevice *)
{
}

static void gst_meshcall_fake_device_finalize(GObject *object)
{
	g_free(GST_MESHCALL_FAKE_DEVICE(object)->path);
	G_OBJECT_CLASS(gst_meshcall_fake_device_parent_class)->finalize(object);
}

static GstElement *gst_meshcall_fake_device_create_element(GstDevice *device, const gchar *name)
{
	auto *self = GST_MESHCALL_FAKE_DEVICE(device);
	g_autoptr(GstCaps) caps = gst_device_get_caps(device);
	return gst_element_factory_make_full("meshcallfakesrc", "name", name, "device", self->path,
					     "caps", caps, "color", self->color, "freq", self->freq,
					     nullptr);
}

/* In place for microphones only: v4l2 cameras cannot switch either. */
static gboolean gst_meshcall_fake_device_reconfigure_element(GstDevice *device, GstElement *element)
{
	auto *self = GST_MESHCALL_FAKE_DEVICE(device);
	if (!self->microphone || !GST_IS_MESHCALL_FAKE_SRC(element))
		return FALSE;
	g_autoptr(GstCaps) caps = gst_device_get_caps(device);
	return gst_meshcall_fake_src_switch_microphone(GST_MESHCALL_FAKE_SRC(element), self->path,
						       caps, self->freq);
}

static void gst_meshcall_fake_device_class_init(GstMeshcallFakeDeviceClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = gst_meshcall_fake_device_finalize;
	GST_DEVICE_CLASS(klass)->create_element = gst_meshcall_fake_device_create_element;
	GST_DEVICE_CLASS(klass)->reconfigure_element = gst_meshcall_fake_device_reconfigure_element;
}

/* ---- the provider ---- */

namespace
{

struct CapsUnref {
	void operator()(GstCaps *caps) const { gst_caps_unref(caps); }
};
using CapsPtr = std::unique_ptr<GstCaps, CapsUnref>;

/* One device as the provider knows it, started or not. */
struct DeviceEntry {
	std::string name;
	std::string path;
	CapsPtr caps;
	bool microphone = false;
	guint color = 0;
	double freq = 0;
	/* The device monitors were told about, while the provider is started. */
	meshcall::GstRef<GstDevice> announced;
};

struct DefaultDevice {
	const char *name;
	const char *path;
	const char *caps;
	bool microphone;
	guint color;
	double freq;
};

constexpr DefaultDevice DEFAULT_DEVICES[] = {
    {"Fake Camera Red", "/dev/fake-camera-red",
     "video/x-raw,format=YUY2,width=320,height=240,framerate=15/1", false, 0xff0000, 0},
    {"Fake Camera Green", "/dev/fake-camera-green",
     "video/x-raw,format=I420,width=1280,height=720,framerate=30/1", false, 0x00ff00, 0},
    {"Fake Camera Blue", "/dev/fake-camera-blue",
     "video/x-raw,format=RGB,width=640,height=480,framerate=30/1", false, 0x0000ff, 0},
    {"Fake Microphone 440", "/dev/fake-mic-440",
     "audio/x-raw,format=S16LE,layout=interleaved,rate=44100,channels=2", true, 0, 440.0},
    {"Fake Microphone 1000", "/dev/fake-mic-1000",
     "audio/x-raw,format=F32LE,layout=interleaved,rate=48000,channels=1", true, 0, 1000.0},
};

bool defaults_wanted()
{
	const char *env = g_getenv("MESHCALL_FAKE_DEVICES");
	return !env || std::strcmp(env, "none") != 0;
}

/* A device entry from an action signal's arguments; nullopt (with a warning)
 * when they do not describe one. */
std::optional<DeviceEntry> make_entry(const char *name, const char *path, const char *caps,
				      bool microphone, guint color, double freq)
{
	if (!name || !*name || !path || !*path || !caps) {
		GST_WARNING("a device needs a name, a path and caps");
		return std::nullopt;
	}
	CapsPtr parsed(gst_caps_from_string(caps));
	const char *media = microphone ? "audio/x-raw" : "video/x-raw";
	if (!parsed || !gst_caps_is_fixed(parsed.get()) ||
	    !gst_structure_has_name(gst_caps_get_structure(parsed.get(), 0), media)) {
		GST_WARNING("%s: native caps must be fixed %s, not \"%s\"", name, media, caps);
		return std::nullopt;
	}
	if (microphone && !(freq > 0 && freq <= 20000)) {
		GST_WARNING("%s: %g Hz is not a tone audiotestsrc makes", name, freq);
		return std::nullopt;
	}
	DeviceEntry entry;
	entry.name = name;
	entry.path = path;
	entry.caps = std::move(parsed);
	entry.microphone = microphone;
	entry.color = color & 0xffffff;
	entry.freq = freq;
	return entry;
}

/* A new floating GstDevice for `entry`. */
GstDevice *make_device(const DeviceEntry &entry)
{
	g_autoptr(GstStructure) props = gst_structure_new(
	    "meshcall-fake-device", "device.path", G_TYPE_STRING, entry.path.c_str(), "device.api",
	    G_TYPE_STRING, "meshcallfake", nullptr);
	auto *device = GST_MESHCALL_FAKE_DEVICE(
	    g_object_new(GST_TYPE_MESHCALL_FAKE_DEVICE, "display-name", entry.name.c_str(),
			 "device-class", entry.microphone ? "Audio/Source" : "Video/Source", "caps",
			 entry.caps.get(), "properties", props, nullptr));
	device->path = g_strdup(entry.path.c_str());
	device->microphone = entry.microphone;
	device->color = entry.color;
	device->freq = entry.freq;
	return GST_DEVICE(device);
}

/* In the anonymous namespace: each file of the plugin has its own State. */
struct State {
	/* Lock order: the GstDeviceProvider start lock (GStreamer holds it
	 * around start, stop and probe), then lock, then the fake hardware's
	 * lock and the provider's object lock (in
	 * gst_device_provider_device_add/remove). Devices are announced under
	 * lock so that a concurrent stop cannot lose or duplicate one: a sync
	 * handler on the provider's or a monitor's bus must not emit the
	 * action signals. */
	std::mutex lock;
	std::vector<DeviceEntry> devices; /* guarded by lock */
	bool started = false;		  /* guarded by lock */
};

} // namespace

struct _GstMeshcallFakeDeviceProvider {
	GstDeviceProvider parent;
	State *state;
};

G_DEFINE_TYPE(GstMeshcallFakeDeviceProvider, gst_meshcall_fake_device_provider,
	      GST_TYPE_DEVICE_PROVIDER)
/* GstDeviceMonitor ignores providers below GST_RANK_MARGINAL. */
GST_DEVICE_PROVIDER_REGISTER_DEFINE(meshcallfakedeviceprovider, "meshcallfakedeviceprovider",
				    GST_RANK_PRIMARY, GST_TYPE_MESHCALL_FAKE_DEVICE_PROVIDER);

/* ---- adding and removing, with State::lock ---- */

static std::vector<DeviceEntry>::iterator find_locked(State *state, const char *name_or_path)
{
	return std::find_if(state->devices.begin(), state->devices.end(), [&](const auto &e) {
		return e.name == name_or_path || e.path == name_or_path;
	});
}

static bool add_locked(GstMeshcallFakeDeviceProvider *self, DeviceEntry entry)
{
	State *state = self->state;
	for (const DeviceEntry &e : state->devices) {
		if (e.name == entry.name || e.path == entry.path) {
			GST_WARNING_OBJECT(self, "already have a device named %s or at %s",
					   entry.name.c_str(), entry.path.c_str());
			return false;
		}
	}
	GST_INFO_OBJECT(self, "plugging in %s at %s", entry.name.c_str(), entry.path.c_str());
	meshcall_fake_hardware_plug(entry.path.c_str());
	if (state->started) {
		entry.announced = meshcall::GstRef<GstDevice>::ref(make_device(entry));
		gst_device_provider_device_add(GST_DEVICE_PROVIDER(self), entry.announced);
	}
	state->devices.push_back(std::move(entry));
	return true;
}

static void remove_locked(GstMeshcallFakeDeviceProvider *self,
			  std::vector<DeviceEntry>::iterator it)
{
	DeviceEntry entry = std::move(*it);
	self->state->devices.erase(it);
	GST_INFO_OBJECT(self, "unplugging %s at %s", entry.name.c_str(), entry.path.c_str());
	/* The elements first, as the hardware goes before udev notices. */
	meshcall_fake_hardware_unplug(entry.path.c_str());
	if (entry.announced)
		gst_device_provider_device_remove(GST_DEVICE_PROVIDER(self), entry.announced);
}

static void add_defaults_locked(GstMeshcallFakeDeviceProvider *self)
{
	if (!defaults_wanted())
		return;
	for (const DefaultDevice &d : DEFAULT_DEVICES) {
		auto present = std::find_if(
		    self->state->devices.begin(), self->state->devices.end(),
		    [&](const auto &e) { return e.name == d.name && e.path == d.path; });
		if (present != self->state->devices.end())
			continue;
		if (auto entry = make_entry(d.name, d.path, d.caps, d.microphone, d.color, d.freq))
			add_locked(self, std::move(*entry));
	}
}

static bool is_default(const DeviceEntry &entry)
{
	return defaults_wanted() &&
	       std::any_of(std::begin(DEFAULT_DEVICES), std::end(DEFAULT_DEVICES),
			   [&](const DefaultDevice &d) {
				   return entry.name == d.name && entry.path == d.path;
			   });
}

/* ---- the action signals ---- */

static gboolean add_camera(GstMeshcallFakeDeviceProvider *self, const gchar *name,
			   const gchar *path, const gchar *caps, guint rgb)
{
	auto entry = make_entry(name, path, caps, false, rgb, 0);
	std::lock_guard locker(self->state->lock);
	return entry && add_locked(self, std::move(*entry));
}

static gboolean add_microphone(GstMeshcallFakeDeviceProvider *self, const gchar *name,
			       const gchar *path, const gchar *caps, gdouble freq_hz)
{
	auto entry = make_entry(name, path, caps, true, 0, freq_hz);
	std::lock_guard locker(self->state->lock);
	return entry && add_locked(self, std::move(*entry));
}

static gboolean remove_device(GstMeshcallFakeDeviceProvider *self, const gchar *name_or_path)
{
	if (!name_or_path)
		return FALSE;
	std::lock_guard locker(self->state->lock);
	auto it = find_locked(self->state, name_or_path);
	if (it == self->state->devices.end()) {
		GST_WARNING_OBJECT(self, "no device %s to remove", name_or_path);
		return FALSE;
	}
	remove_locked(self, it);
	return TRUE;
}

static gboolean set_open_error(GstMeshcallFakeDeviceProvider *self, const gchar *name_or_path,
			       const gchar *reason)
{
	if (!name_or_path)
		return FALSE;
	std::lock_guard locker(self->state->lock);
	auto it = find_locked(self->state, name_or_path);
	if (it == self->state->devices.end()) {
		GST_WARNING_OBJECT(self, "no device %s to break", name_or_path);
		return FALSE;
	}
	GST_INFO_OBJECT(self, "%s now opens %s%s", it->path.c_str(),
			reason ? "with the error " : "fine", reason ? reason : "");
	meshcall_fake_hardware_set_open_error(it->path.c_str(), reason);
	return TRUE;
}

static gboolean reset(GstMeshcallFakeDeviceProvider *self)
{
	std::lock_guard locker(self->state->lock);
	std::vector<DeviceEntry> &devices = self->state->devices;
	for (auto it = devices.begin(); it != devices.end();) {
		if (is_default(*it)) {
			++it;
			continue;
		}
		auto index = it - devices.begin();
		remove_locked(self, it);
		it = devices.begin() + index;
	}
	add_defaults_locked(self);
	meshcall_fake_hardware_clear_open_errors();
	return TRUE;
}

/* ---- GstDeviceProvider ---- */

static GList *gst_meshcall_fake_device_provider_probe(GstDeviceProvider *provider)
{
	auto *self = GST_MESHCALL_FAKE_DEVICE_PROVIDER(provider);
	std::lock_guard locker(self->state->lock);
	GList *devices = nullptr;
	for (const DeviceEntry &entry : self->state->devices)
		devices = g_list_prepend(devices, make_device(entry));
	return g_list_reverse(devices);
}

static gboolean gst_meshcall_fake_device_provider_start(GstDeviceProvider *provider)
{
	auto *self = GST_MESHCALL_FAKE_DEVICE_PROVIDER(provider);
	std::lock_guard locker(self->state->lock);
	self->state->started = true;
	for (DeviceEntry &entry : self->state->devices) {
		entry.announced = meshcall::GstRef<GstDevice>::ref(make_device(entry));
		gst_device_provider_device_add(provider, entry.announced);
	}
	return TRUE;
}

/* GstDeviceProvider drops the announced devices itself after this. */
static void gst_meshcall_fake_device_provider_stop(GstDeviceProvider *provider)
{
	auto *self = GST_MESHCALL_FAKE_DEVICE_PROVIDER(provider);
	std::lock_guard locker(self->state->lock);
	self->state->started = false;
	for (DeviceEntry &entry : self->state->devices)
		entry.announced.reset();
}

/* ---- GObject ---- */

static void gst_meshcall_fake_device_provider_init(GstMeshcallFakeDeviceProvider *self)
{
	self->state = new State;
	/* Its factory keeps the one instance until the process exits. */
	GST_OBJECT_FLAG_SET(self, GST_OBJECT_FLAG_MAY_BE_LEAKED);
	std::lock_guard locker(self->state->lock);
	add_defaults_locked(self);
}

static void gst_meshcall_fake_device_provider_finalize(GObject *object)
{
	delete GST_MESHCALL_FAKE_DEVICE_PROVIDER(object)->state;
	G_OBJECT_CLASS(gst_meshcall_fake_device_provider_parent_class)->finalize(object);
}

static void gst_meshcall_fake_device_provider_class_init(GstMeshcallFakeDeviceProviderClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstDeviceProviderClass *provider_class = GST_DEVICE_PROVIDER_CLASS(klass);
	GType type = G_TYPE_FROM_CLASS(klass);
	auto flags = GSignalFlags(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION);

	GST_DEBUG_CATEGORY_INIT(meshcallfakedeviceprovider_debug, "meshcallfakedeviceprovider", 0,
				"fake cameras and microphones");

	gobject_class->finalize = gst_meshcall_fake_device_provider_finalize;
	provider_class->probe = gst_meshcall_fake_device_provider_probe;
	provider_class->start = gst_meshcall_fake_device_provider_start;
	provider_class->stop = gst_meshcall_fake_device_provider_stop;

	/**
	 * GstMeshcallFakeDeviceProvider::add-camera:
	 * @provider: the provider
	 * @name: display name, unique among its devices
	 * @path: device path (`device.path`), unique among its devices
	 * @caps: the camera's native caps, fixed video/x-raw
	 * @rgb: its solid colour, 0xRRGGBB
	 *
	 * Plugs in a camera ("Video/Source"); running monitors get
	 * DEVICE_ADDED.
	 *
	 * Returns: %FALSE, and nothing is added, when the name or path is
	 * taken or the caps are not fixed raw video.
	 *
	 * Since: 0.1
	 */
	g_signal_new_class_handler("add-camera", type, flags, G_CALLBACK(add_camera), nullptr,
				   nullptr, nullptr, G_TYPE_BOOLEAN, 4, G_TYPE_STRING,
				   G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT);
	/**
	 * GstMeshcallFakeDeviceProvider::add-microphone:
	 * @provider: the provider
	 * @name: display name, unique among its devices
	 * @path: device path (`device.path`), unique among its devices
	 * @caps: the microphone's native caps, fixed audio/x-raw
	 * @freq_hz: the frequency of its sine, in (0, 20000]
	 *
	 * Plugs in a microphone ("Audio/Source"); running monitors get
	 * DEVICE_ADDED.
	 *
	 * Returns: %FALSE, and nothing is added, when the name or path is
	 * taken, the caps are not fixed raw audio or the frequency is out of
	 * range.
	 *
	 * Since: 0.1
	 */
	g_signal_new_class_handler("add-microphone", type, flags, G_CALLBACK(add_microphone),
				   nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 4, G_TYPE_STRING,
				   G_TYPE_STRING, G_TYPE_STRING, G_TYPE_DOUBLE);
	/**
	 * GstMeshcallFakeDeviceProvider::remove-device:
	 * @provider: the provider
	 * @name_or_path: the device's display name or path
	 *
	 * Unplugs a device: running monitors get DEVICE_REMOVED, and every
	 * meshcallfakesrc streaming from it posts RESOURCE/READ "Could not
	 * read from resource." with its next buffer and then delivers nothing
	 * (no EOS), like an unplugged v4l2 camera. Opening it fails from then
	 * on, until a device with that path is added again.
	 *
	 * Returns: %FALSE when there is no such device.
	 *
	 * Since: 0.1
	 */
	g_signal_new_class_handler("remove-device", type, flags, G_CALLBACK(remove_device), nullptr,
				   nullptr, nullptr, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
	/**
	 * GstMeshcallFakeDeviceProvider::set-open-error:
	 * @provider: the provider
	 * @name_or_path: the device's display name or path
	 * @reason: (nullable): why opening fails, or %NULL to let it open
	 *
	 * While a reason is set, a meshcallfakesrc of this device fails
	 * NULL→READY (also one that exists already) after posting
	 * RESOURCE/OPEN_READ "Could not open device '<path>': <reason>".
	 *
	 * Returns: %FALSE when there is no such device.
	 *
	 * Since: 0.1
	 */
	g_signal_new_class_handler("set-open-error", type, flags, G_CALLBACK(set_open_error),
				   nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 2, G_TYPE_STRING,
				   G_TYPE_STRING);
	/**
	 * GstMeshcallFakeDeviceProvider::reset:
	 * @provider: the provider
	 *
	 * Back to the devices it started with, for the next test in the same
	 * process: removes the others (as remove-device does), adds missing
	 * defaults and clears every open error.
	 *
	 * Returns: %TRUE
	 *
	 * Since: 0.1
	 */
	g_signal_new_class_handler("reset", type, flags, G_CALLBACK(reset), nullptr, nullptr,
				   nullptr, G_TYPE_BOOLEAN, 0);

	gst_device_provider_class_set_static_metadata(
	    provider_class, "Fake cameras and microphones (meshcall tests)", "Source/Video/Audio",
	    "Lists fake cameras and microphones that tests plug in, unplug and break", "meshcall");
}
