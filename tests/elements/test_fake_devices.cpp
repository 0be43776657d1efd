// SPDX-License-Identifier: LGPL-2.1-or-later
/* The test-only "meshcalltest" plugin (tests/fakedevices): the fake cameras
 * and microphones other element tests pick with a GstDeviceMonitor, and the
 * ways tests plug them in, unplug them and break them. */
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

namespace
{

constexpr const char *PROVIDER = "meshcallfakedeviceprovider";

struct ObjectUnref {
	void operator()(gpointer object) const { gst_object_unref(object); }
};
using DevicePtr = std::unique_ptr<GstDevice, ObjectUnref>;

/* A device's field from its "meshcall-fake-device" properties, "" if none. */
std::string device_field(GstDevice *device, const char *field)
{
	g_autoptr(GstStructure) props = gst_device_get_properties(device);
	const char *value = props ? gst_structure_get_string(props, field) : nullptr;
	return value ? value : "";
}

std::string display_name(GstDevice *device)
{
	g_autofree char *name = gst_device_get_display_name(device);
	return name;
}

/* A started monitor for cameras and microphones. */
class Monitor
{
public:
	Monitor()
	{
		monitor_ = gst_device_monitor_new();
		gst_device_monitor_add_filter(monitor_, "Video/Source", nullptr);
		gst_device_monitor_add_filter(monitor_, "Audio/Source", nullptr);
		started_ = gst_device_monitor_start(monitor_);
		EXPECT_TRUE(started_);
	}
	~Monitor()
	{
		if (started_)
			gst_device_monitor_stop(monitor_);
		gst_object_unref(monitor_);
	}

	/* The fake devices it lists. */
	std::vector<DevicePtr> devices() const
	{
		std::vector<DevicePtr> out;
		GList *list = gst_device_monitor_get_devices(monitor_);
		for (GList *l = list; l; l = l->next) {
			auto *device = GST_DEVICE(l->data);
			if (device_field(device, "device.api") == "meshcallfake")
				out.emplace_back(GST_DEVICE(gst_object_ref(device)));
		}
		g_list_free_full(list, gst_object_unref);
		return out;
	}
	/* The device named `name`, a reference; nullptr when not listed. */
	GstDevice *find(const std::string &name) const
	{
		for (DevicePtr &device : devices())
			if (display_name(device.get()) == name)
				return device.release();
		return nullptr;
	}

	/* Waits for the DEVICE_ADDED or _REMOVED message of the device named
	 * `name`, skipping others. */
	bool wait_for(GstMessageType type, const std::string &name, GstClockTime timeout)
	{
		g_autoptr(GstBus) bus = gst_device_monitor_get_bus(monitor_);
		gint64 deadline = g_get_monotonic_time() + GST_TIME_AS_USECONDS(timeout);
		for (;;) {
			gint64 left = deadline - g_get_monotonic_time();
			if (left <= 0)
				return false;
			g_autoptr(GstMessage) msg =
			    gst_bus_timed_pop_filtered(bus, left * GST_USECOND, type);
			if (!msg)
				return false;
			/* Extended types share one bit: the filter lets all through. */
			if (GST_MESSAGE_TYPE(msg) != type)
				continue;
			g_autoptr(GstDevice) device = nullptr;
			if (type == GST_MESSAGE_DEVICE_ADDED)
				gst_message_parse_device_added(msg, &device);
			else
				gst_message_parse_device_removed(msg, &device);
			if (display_name(device) == name)
				return true;
		}
	}

private:
	GstDeviceMonitor *monitor_;
	bool started_ = false;
};

/* A pipeline of one fake source and an appsink, or more added later. */
class Pipeline
{
public:
	Pipeline() : pipeline_(gst_pipeline_new(nullptr)) {}
	~Pipeline()
	{
		gst_element_set_state(pipeline_, GST_STATE_NULL);
		gst_object_unref(pipeline_);
	}

	/* Adds `source` ! [convert to `caps`] ! appsink and returns the appsink. */
	GstAppSink *add(GstElement *source, const char *caps = nullptr)
	{
		GstElement *sink = gst_element_factory_make("appsink", nullptr);
		g_object_set(sink, "async", FALSE, nullptr);
		gst_bin_add_many(GST_BIN(pipeline_), source, sink, nullptr);
		if (caps) {
			GstElement *convert = gst_element_factory_make("videoconvert", nullptr);
			gst_bin_add(GST_BIN(pipeline_), convert);
			g_autoptr(GstCaps) filter = gst_caps_from_string(caps);
			EXPECT_TRUE(gst_element_link(source, convert));
			EXPECT_TRUE(gst_element_link_filtered(convert, sink, filter));
			gst_element_sync_state_with_parent(convert);
		} else {
			EXPECT_TRUE(gst_element_link(source, sink));
		}
		gst_element_sync_state_with_parent(sink);
		gst_element_sync_state_with_parent(source);
		return GST_APP_SINK(sink);
	}
	GstStateChangeReturn set_state(GstState state)
	{
		return gst_element_set_state(pipeline_, state);
	}
	GstElement *get() const { return pipeline_; }

	/* The next ERROR or EOS message, nullptr after `timeout`. */
	GstMessage *pop_error_or_eos(GstClockTime timeout)
	{
		g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_);
		return gst_bus_timed_pop_filtered(
		    bus, timeout, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
	}
	GstClockTime running_time() const
	{
		g_autoptr(GstClock) clock = gst_element_get_clock(pipeline_);
		return gst_clock_get_time(clock) - gst_element_get_base_time(pipeline_);
	}

private:
	GstElement *pipeline_;
};

class FakeDevices : public ::testing::Test
{
protected:
	void SetUp() override
	{
		provider_ = gst_device_provider_factory_get_by_name(PROVIDER);
		ASSERT_TRUE(provider_);
		gboolean ok = FALSE;
		g_signal_emit_by_name(provider_, "reset", &ok);
		ASSERT_TRUE(ok);
	}
	void TearDown() override
	{
		if (!provider_)
			return;
		gboolean ok = FALSE;
		g_signal_emit_by_name(provider_, "reset", &ok);
		gst_object_unref(provider_);
	}

	bool emit(const char *signal, const char *name_or_path, const char *arg = nullptr)
	{
		gboolean ok = FALSE;
		if (std::strcmp(signal, "set-open-error") == 0)
			g_signal_emit_by_name(provider_, signal, name_or_path, arg, &ok);
		else
			g_signal_emit_by_name(provider_, signal, name_or_path, &ok);
		return ok;
	}

	/* A device of the provider, whether monitors run or not. */
	GstDevice *probe(const std::string &name)
	{
		GstDevice *found = nullptr;
		GList *list = gst_device_provider_get_devices(provider_);
		for (GList *l = list; l; l = l->next)
			if (!found && display_name(GST_DEVICE(l->data)) == name)
				found = GST_DEVICE(gst_object_ref(l->data));
		g_list_free_full(list, gst_object_unref);
		return found;
	}

	GstDeviceProvider *provider_ = nullptr;
};

/* Frequency of the first channel of interleaved S16LE or F32LE audio, from
 * its upward zero crossings. */
double frequency(const std::vector<double> &samples, int rate)
{
	int crossings = 0;
	for (size_t i = 1; i < samples.size(); i++)
		if (samples[i - 1] < 0 && samples[i] >= 0)
			crossings++;
	return crossings * double(rate) / double(samples.size());
}

/* Timestamps seen so far, to check they never go back. */
struct Timeline {
	GstClockTime last = 0;
	bool monotonic = true;
};

/* Pulls audio until `seconds` of it arrived in one caps; returns its first
 * channel and sets `caps_out` to those caps. */
std::vector<double> pull_audio(GstAppSink *sink, double seconds, GstCaps **caps_out,
			       Timeline &timeline)
{
	std::vector<double> samples;
	g_autoptr(GstCaps) current = nullptr;
	int rate = 0;
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < deadline) {
		g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample(sink, GST_SECOND);
		if (!sample)
			break;
		GstCaps *caps = gst_sample_get_caps(sample);
		if (!current || !gst_caps_is_equal(caps, current)) {
			gst_caps_replace(&current, caps);
			samples.clear();
		}
		const GstStructure *s = gst_caps_get_structure(caps, 0);
		int channels = 1;
		gst_structure_get_int(s, "rate", &rate);
		gst_structure_get_int(s, "channels", &channels);
		bool f32 = g_strcmp0(gst_structure_get_string(s, "format"), "F32LE") == 0;
		GstMapInfo map;
		GstBuffer *buffer = gst_sample_get_buffer(sample);
		if (GST_BUFFER_PTS(buffer) < timeline.last)
			timeline.monotonic = false;
		timeline.last = GST_BUFFER_PTS(buffer);
		gst_buffer_map(buffer, &map, GST_MAP_READ);
		size_t width = f32 ? 4 : 2;
		for (size_t off = 0; off + width * channels <= map.size; off += width * channels) {
			if (f32) {
				float v;
				std::memcpy(&v, map.data + off, 4);
				samples.push_back(v);
			} else {
				gint16 v;
				std::memcpy(&v, map.data + off, 2);
				samples.push_back(v);
			}
		}
		gst_buffer_unmap(buffer, &map);
		if (rate > 0 && samples.size() >= seconds * rate)
			break;
	}
	*caps_out = current ? gst_caps_ref(current) : nullptr;
	return samples;
}

int caps_rate(GstCaps *caps)
{
	int rate = 0;
	gst_structure_get_int(gst_caps_get_structure(caps, 0), "rate", &rate);
	return rate;
}

/* ---- the provider ---- */

TEST_F(FakeDevices, FactoryAndMonitorShareOneProvider)
{
	g_autoptr(GstDeviceProvider) again = gst_device_provider_factory_get_by_name(PROVIDER);
	EXPECT_EQ(again, provider_);

	/* Devices a monitor announces are the children of the provider it
	 * started. */
	Monitor monitor;
	std::vector<DevicePtr> devices = monitor.devices();
	ASSERT_FALSE(devices.empty());
	for (DevicePtr &device : devices) {
		g_autoptr(GstObject) parent = gst_object_get_parent(GST_OBJECT(device.get()));
		EXPECT_EQ(parent, GST_OBJECT(provider_)) << display_name(device.get());
	}

	g_autoptr(GstDeviceProviderFactory) factory = gst_device_provider_factory_find(PROVIDER);
	ASSERT_TRUE(factory);
	EXPECT_EQ(gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(factory)), GST_RANK_PRIMARY);
	EXPECT_STREQ(gst_device_provider_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS),
		     "Source/Video/Audio");
	EXPECT_STREQ(
	    gst_device_provider_factory_get_metadata(factory, GST_ELEMENT_METADATA_LONGNAME),
	    "Fake cameras and microphones (meshcall tests)");
}

TEST_F(FakeDevices, MonitorListsTheDefaults)
{
	struct Expected {
		const char *name, *klass, *path, *caps;
	};
	const Expected expected[] = {
	    {"Fake Camera Red", "Video/Source", "/dev/fake-camera-red",
	     "video/x-raw,format=YUY2,width=320,height=240,framerate=15/1"},
	    {"Fake Camera Green", "Video/Source", "/dev/fake-camera-green",
	     "video/x-raw,format=I420,width=1280,height=720,framerate=30/1"},
	    {"Fake Camera Blue", "Video/Source", "/dev/fake-camera-blue",
	     "video/x-raw,format=RGB,width=640,height=480,framerate=30/1"},
	    {"Fake Microphone 440", "Audio/Source", "/dev/fake-mic-440",
	     "audio/x-raw,format=S16LE,layout=interleaved,rate=44100,channels=2"},
	    {"Fake Microphone 1000", "Audio/Source", "/dev/fake-mic-1000",
	     "audio/x-raw,format=F32LE,layout=interleaved,rate=48000,channels=1"},
	};

	Monitor monitor;
	EXPECT_EQ(monitor.devices().size(), 5u);
	for (const Expected &e : expected) {
		g_autoptr(GstDevice) device = monitor.find(e.name);
		ASSERT_TRUE(device) << e.name;
		g_autofree char *klass = gst_device_get_device_class(device);
		EXPECT_STREQ(klass, e.klass);
		EXPECT_EQ(device_field(device, "device.path"), e.path);
		g_autoptr(GstStructure) props = gst_device_get_properties(device);
		EXPECT_TRUE(gst_structure_has_name(props, "meshcall-fake-device"));
		g_autoptr(GstCaps) caps = gst_device_get_caps(device);
		g_autoptr(GstCaps) want = gst_caps_from_string(e.caps);
		EXPECT_TRUE(gst_caps_is_equal(caps, want)) << e.name;
	}
}

TEST_F(FakeDevices, AddAndRemoveWhileMonitored)
{
	Monitor monitor;
	gboolean ok = FALSE;
	g_signal_emit_by_name(provider_, "add-camera", "Fake Camera Test", "/dev/fake-camera-test",
			      "video/x-raw,format=I420,width=160,height=120,framerate=10/1",
			      guint(0x123456), &ok);
	ASSERT_TRUE(ok);
	EXPECT_TRUE(monitor.wait_for(GST_MESSAGE_DEVICE_ADDED, "Fake Camera Test", 5 * GST_SECOND));
	g_autoptr(GstDevice) camera = monitor.find("Fake Camera Test");
	ASSERT_TRUE(camera);
	EXPECT_EQ(device_field(camera, "device.path"), "/dev/fake-camera-test");
	EXPECT_EQ(monitor.devices().size(), 6u);

	g_signal_emit_by_name(
	    provider_, "add-microphone", "Fake Microphone Test", "/dev/fake-mic-test",
	    "audio/x-raw,format=S16LE,layout=interleaved,rate=16000,channels=1", 300.0, &ok);
	ASSERT_TRUE(ok);
	EXPECT_TRUE(
	    monitor.wait_for(GST_MESSAGE_DEVICE_ADDED, "Fake Microphone Test", 5 * GST_SECOND));
	g_autoptr(GstDevice) mic = monitor.find("Fake Microphone Test");
	ASSERT_TRUE(mic);
	g_autofree char *klass = gst_device_get_device_class(mic);
	EXPECT_STREQ(klass, "Audio/Source");

	/* Taken names and paths, and caps that are no camera's. */
	g_signal_emit_by_name(provider_, "add-camera", "Fake Camera Test", "/dev/other",
			      "video/x-raw,format=I420,width=160,height=120,framerate=10/1",
			      guint(0), &ok);
	EXPECT_FALSE(ok);
	g_signal_emit_by_name(provider_, "add-camera", "Other", "/dev/fake-camera-test",
			      "video/x-raw,format=I420,width=160,height=120,framerate=10/1",
			      guint(0), &ok);
	EXPECT_FALSE(ok);
	g_signal_emit_by_name(provider_, "add-camera", "Other", "/dev/other", "audio/x-raw",
			      guint(0), &ok);
	EXPECT_FALSE(ok);

	EXPECT_TRUE(emit("remove-device", "/dev/fake-camera-test"));
	EXPECT_TRUE(
	    monitor.wait_for(GST_MESSAGE_DEVICE_REMOVED, "Fake Camera Test", 5 * GST_SECOND));
	EXPECT_TRUE(emit("remove-device", "Fake Microphone Test"));
	EXPECT_TRUE(
	    monitor.wait_for(GST_MESSAGE_DEVICE_REMOVED, "Fake Microphone Test", 5 * GST_SECOND));
	EXPECT_FALSE(monitor.find("Fake Camera Test"));
	EXPECT_EQ(monitor.devices().size(), 5u);
	EXPECT_FALSE(emit("remove-device", "/dev/fake-camera-test"));
}

TEST_F(FakeDevices, AddAndRemoveWithoutMonitor)
{
	gboolean ok = FALSE;
	g_signal_emit_by_name(provider_, "add-camera", "Fake Camera Test", "/dev/fake-camera-test",
			      "video/x-raw,format=I420,width=160,height=120,framerate=10/1",
			      guint(0x123456), &ok);
	ASSERT_TRUE(ok);
	g_autoptr(GstDevice) camera = probe("Fake Camera Test");
	ASSERT_TRUE(camera);
	EXPECT_TRUE(emit("remove-device", "Fake Camera Red"));
	g_autoptr(GstDevice) red = probe("Fake Camera Red");
	EXPECT_FALSE(red);

	/* A monitor started now sees the same list; reset brings Red back. */
	{
		Monitor monitor;
		g_autoptr(GstDevice) seen = monitor.find("Fake Camera Test");
		EXPECT_TRUE(seen);
		g_autoptr(GstDevice) gone = monitor.find("Fake Camera Red");
		EXPECT_FALSE(gone);
		EXPECT_EQ(monitor.devices().size(), 5u);
	}
	gboolean reset_ok = FALSE;
	g_signal_emit_by_name(provider_, "reset", &reset_ok);
	EXPECT_TRUE(reset_ok);
	g_autoptr(GstDevice) back = probe("Fake Camera Red");
	EXPECT_TRUE(back);
	g_autoptr(GstDevice) test_camera = probe("Fake Camera Test");
	EXPECT_FALSE(test_camera);
}

/* ---- the elements ---- */

TEST_F(FakeDevices, UnpluggedCameraErrorsWithoutEos)
{
	Monitor monitor;
	g_autoptr(GstDevice) device = monitor.find("Fake Camera Red");
	ASSERT_TRUE(device);
	GstElement *camera = gst_device_create_element(device, "camera");
	ASSERT_TRUE(camera);
	Pipeline pipeline;
	GstAppSink *sink = pipeline.add(camera);
	ASSERT_NE(pipeline.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
	g_autoptr(GstSample) first = gst_app_sink_try_pull_sample(sink, 5 * GST_SECOND);
	ASSERT_TRUE(first);

	/* From another thread, as a udev monitor would. */
	gint64 unplugged_at = g_get_monotonic_time();
	bool removed = false;
	std::thread([&] { removed = emit("remove-device", "Fake Camera Red"); }).join();
	ASSERT_TRUE(removed);
	g_autoptr(GstMessage) msg = pipeline.pop_error_or_eos(GST_SECOND);
	ASSERT_TRUE(msg);
	ASSERT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_ERROR);
	/* With the next buffer: a frame is 67 ms at 15 fps; a margin for
	 * sanitizer builds. */
	EXPECT_LT(g_get_monotonic_time() - unplugged_at, 300 * G_TIME_SPAN_MILLISECOND);
	EXPECT_TRUE(
	    monitor.wait_for(GST_MESSAGE_DEVICE_REMOVED, "Fake Camera Red", 5 * GST_SECOND));
	EXPECT_EQ(GST_MESSAGE_SRC(msg), GST_OBJECT(camera));
	g_autoptr(GError) error = nullptr;
	g_autofree char *debug = nullptr;
	gst_message_parse_error(msg, &error, &debug);
	EXPECT_TRUE(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ));
	EXPECT_STREQ(error->message, "Could not read from resource.");
	EXPECT_TRUE(debug && std::strstr(debug, "/dev/fake-camera-red was unplugged")) << debug;

	/* Nothing more: drain what was queued before the error, then silence. */
	while (GstSample *queued = gst_app_sink_try_pull_sample(sink, 200 * GST_MSECOND))
		gst_sample_unref(queued);
	g_autoptr(GstSample) late = gst_app_sink_try_pull_sample(sink, 500 * GST_MSECOND);
	EXPECT_FALSE(late);
	g_autoptr(GstMessage) eos = pipeline.pop_error_or_eos(200 * GST_MSECOND);
	EXPECT_FALSE(eos);
	EXPECT_FALSE(gst_app_sink_is_eos(sink));

	/* And it cannot be opened again while it is gone. */
	pipeline.set_state(GST_STATE_NULL);
	EXPECT_EQ(pipeline.set_state(GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
}

TEST_F(FakeDevices, OpenErrorFailsNullToReady)
{
	g_autoptr(GstDevice) device = probe("Fake Camera Green");
	ASSERT_TRUE(device);
	GstElement *camera = gst_device_create_element(device, nullptr);
	Pipeline pipeline;
	pipeline.add(camera);

	/* Set after the element exists: applies to it too. */
	ASSERT_TRUE(emit("set-open-error", "Fake Camera Green", "Device or resource busy"));
	EXPECT_EQ(pipeline.set_state(GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
	g_autoptr(GstMessage) msg = pipeline.pop_error_or_eos(GST_SECOND);
	ASSERT_TRUE(msg);
	ASSERT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_ERROR);
	EXPECT_EQ(GST_MESSAGE_SRC(msg), GST_OBJECT(camera));
	g_autoptr(GError) error = nullptr;
	gst_message_parse_error(msg, &error, nullptr);
	EXPECT_TRUE(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ));
	EXPECT_STREQ(error->message,
		     "Could not open device '/dev/fake-camera-green': Device or resource busy");

	ASSERT_TRUE(emit("set-open-error", "/dev/fake-camera-green", nullptr));
	pipeline.set_state(GST_STATE_NULL);
	EXPECT_EQ(pipeline.set_state(GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
	EXPECT_FALSE(emit("set-open-error", "No Such Camera", "busy"));
}

TEST_F(FakeDevices, CamerasShowTheirColourAtNativeCaps)
{
	struct Expected {
		const char *name;
		guint8 r, g, b;
	};
	for (const Expected &e :
	     {Expected{"Fake Camera Red", 255, 0, 0}, Expected{"Fake Camera Green", 0, 255, 0},
	      Expected{"Fake Camera Blue", 0, 0, 255}}) {
		SCOPED_TRACE(e.name);
		g_autoptr(GstDevice) device = probe(e.name);
		ASSERT_TRUE(device);
		GstElement *camera = gst_device_create_element(device, nullptr);
		Pipeline pipeline;
		GstAppSink *sink = pipeline.add(camera, "video/x-raw,format=RGB");
		ASSERT_NE(pipeline.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
		g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample(sink, 5 * GST_SECOND);
		ASSERT_TRUE(sample);

		g_autoptr(GstPad) src = gst_element_get_static_pad(camera, "src");
		g_autoptr(GstCaps) produced = gst_pad_get_current_caps(src);
		g_autoptr(GstCaps) native = gst_device_get_caps(device);
		EXPECT_TRUE(produced && gst_caps_is_subset(produced, native));

		const GstStructure *s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
		int width = 0, height = 0;
		gst_structure_get_int(s, "width", &width);
		gst_structure_get_int(s, "height", &height);
		GstMapInfo map;
		GstBuffer *buffer = gst_sample_get_buffer(sample);
		ASSERT_TRUE(gst_buffer_map(buffer, &map, GST_MAP_READ));
		int stride = GST_ROUND_UP_4(width * 3);
		const guint8 *pixel = map.data + (height / 2) * stride + (width / 2) * 3;
		EXPECT_NEAR(pixel[0], e.r, 8);
		EXPECT_NEAR(pixel[1], e.g, 8);
		EXPECT_NEAR(pixel[2], e.b, 8);
		gst_buffer_unmap(buffer, &map);
	}
}

TEST_F(FakeDevices, MicrophoneSwitchesInPlace)
{
	g_autoptr(GstDevice) mic440 = probe("Fake Microphone 440");
	g_autoptr(GstDevice) mic1000 = probe("Fake Microphone 1000");
	g_autoptr(GstDevice) camera = probe("Fake Camera Blue");
	ASSERT_TRUE(mic440 && mic1000 && camera);
	GstElement *mic = gst_device_create_element(mic440, "mic");
	Pipeline pipeline;
	GstAppSink *sink = pipeline.add(mic);
	ASSERT_NE(pipeline.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);

	g_autoptr(GstCaps) caps = nullptr;
	Timeline timeline;
	std::vector<double> samples = pull_audio(sink, 0.3, &caps, timeline);
	ASSERT_TRUE(caps);
	g_autoptr(GstCaps) native440 = gst_device_get_caps(mic440);
	EXPECT_TRUE(gst_caps_is_subset(caps, native440));
	EXPECT_NEAR(frequency(samples, caps_rate(caps)), 440.0, 440.0 * 0.03);

	/* Cameras cannot switch (like v4l2), microphones can. */
	EXPECT_FALSE(gst_device_reconfigure_element(camera, mic));
	ASSERT_TRUE(gst_device_reconfigure_element(mic1000, mic));
	g_autoptr(GstElement) same = gst_bin_get_by_name(GST_BIN(pipeline.get()), "mic");
	EXPECT_EQ(same, mic);
	g_autofree char *path = nullptr;
	g_object_get(mic, "device", &path, nullptr);
	EXPECT_STREQ(path, "/dev/fake-mic-1000");

	/* Skip what was queued at 44.1 kHz; pull_audio restarts on new caps. */
	g_autoptr(GstCaps) native1000 = gst_device_get_caps(mic1000);
	g_autoptr(GstCaps) switched = nullptr;
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < deadline) {
		gst_clear_caps(&switched);
		samples = pull_audio(sink, 0.3, &switched, timeline);
		if (!switched || gst_caps_is_subset(switched, native1000))
			break;
	}
	ASSERT_TRUE(switched);
	EXPECT_TRUE(gst_caps_is_subset(switched, native1000));
	EXPECT_NEAR(frequency(samples, caps_rate(switched)), 1000.0, 1000.0 * 0.03);
	EXPECT_EQ(GST_STATE(mic), GST_STATE_PLAYING);
	EXPECT_TRUE(timeline.monotonic) << "timestamps went back at the switch";
}

TEST_F(FakeDevices, LateElementTimestampsAtRunningTime)
{
	g_autoptr(GstDevice) mic = probe("Fake Microphone 440");
	g_autoptr(GstDevice) camera = probe("Fake Camera Blue");
	ASSERT_TRUE(mic && camera);
	Pipeline pipeline;
	GstAppSink *early = pipeline.add(gst_device_create_element(mic, nullptr));
	ASSERT_NE(pipeline.set_state(GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);

	/* Let the pipeline run for a second, by its own timestamps. */
	GstClockTime pts = 0;
	while (pts < GstClockTime(GST_SECOND)) {
		g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample(early, 5 * GST_SECOND);
		ASSERT_TRUE(sample);
		pts = GST_BUFFER_PTS(gst_sample_get_buffer(sample));
	}

	for (GstDevice *device : {camera, mic}) {
		SCOPED_TRACE(display_name(device));
		GstAppSink *late = pipeline.add(gst_device_create_element(device, nullptr));
		g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample(late, 5 * GST_SECOND);
		ASSERT_TRUE(sample);
		GstClockTime now = pipeline.running_time();
		GstClockTime first = GST_BUFFER_PTS(gst_sample_get_buffer(sample));
		ASSERT_TRUE(GST_CLOCK_TIME_IS_VALID(first));
		EXPECT_GE(first, GstClockTime(GST_SECOND));
		EXPECT_LT(GST_CLOCK_DIFF(first, now), GstClockTimeDiff(300 * GST_MSECOND))
		    << "first PTS " << GST_TIME_AS_MSECONDS(first) << " ms, running time "
		    << GST_TIME_AS_MSECONDS(now) << " ms";
	}
}

} // namespace

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	/* Only the fakes: other providers (v4l2, pulse, …) would make the
	 * lists depend on the machine. */
	GList *factories = gst_device_provider_factory_list_get_device_providers(GST_RANK_NONE);
	for (GList *l = factories; l; l = l->next)
		if (std::strcmp(GST_OBJECT_NAME(l->data), PROVIDER) != 0)
			gst_plugin_feature_set_rank(GST_PLUGIN_FEATURE(l->data), GST_RANK_NONE);
	gst_plugin_feature_list_free(factories);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
