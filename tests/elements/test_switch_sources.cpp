// SPDX-License-Identifier: LGPL-2.1-or-later
/* switchvideosrc / switchaudiosrc against the fake cameras and microphones
 * of tests/fakedevices: enumeration and hotplug, switching in a running
 * pipeline, unplugging, devices that fail to open, in-place microphone
 * switches. Outcomes are read from the decoded output: colours of frames,
 * tones of samples, caps, timestamps and bus messages. */
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "support/sanitizers.h"
#include "support/server_fixture.h"

using meshcall::test::kTimeScale;
using meshcall::test::wait_until;
using Clock = std::chrono::steady_clock;

namespace
{

const char *kProvider = "meshcallfakedeviceprovider";

struct FakeCamera {
	const char *name, *path, *caps;
	guint rgb;
};
const FakeCamera kCameras[] = {
    {"Fake Camera Red", "/dev/fake-camera-red",
     "video/x-raw,format=YUY2,width=320,height=240,framerate=15/1", 0xff0000},
    {"Fake Camera Green", "/dev/fake-camera-green",
     "video/x-raw,format=I420,width=1280,height=720,framerate=30/1", 0x00ff00},
    {"Fake Camera Blue", "/dev/fake-camera-blue",
     "video/x-raw,format=RGB,width=640,height=480,framerate=30/1", 0x0000ff},
};
struct FakeMicrophone {
	const char *name, *path, *caps;
	double hz;
};
const FakeMicrophone kMicrophones[] = {
    {"Fake Microphone 440", "/dev/fake-mic-440",
     "audio/x-raw,format=S16LE,layout=interleaved,rate=44100,channels=2", 440},
    {"Fake Microphone 1000", "/dev/fake-mic-1000",
     "audio/x-raw,format=F32LE,layout=interleaved,rate=48000,channels=1", 1000},
};

GstDeviceProvider *provider()
{
	static GstDeviceProvider *p = gst_device_provider_factory_get_by_name(kProvider);
	return p;
}

bool add_camera(const FakeCamera &c)
{
	gboolean ok = FALSE;
	g_signal_emit_by_name(provider(), "add-camera", c.name, c.path, c.caps, c.rgb, &ok);
	return ok;
}

bool remove_device(const char *name)
{
	gboolean ok = FALSE;
	g_signal_emit_by_name(provider(), "remove-device", name, &ok);
	return ok;
}

void set_open_error(const char *name, const char *reason)
{
	gboolean ok = FALSE;
	g_signal_emit_by_name(provider(), "set-open-error", name, reason, &ok);
	ASSERT_TRUE(ok);
}

/* Puts the default devices back after a test unplugged or added some. */
void restore_devices()
{
	gboolean ok = FALSE;
	g_signal_emit_by_name(provider(), "reset", &ok);
	ASSERT_TRUE(ok);
}

std::vector<std::string> strv(GstElement *element, const char *property)
{
	g_auto(GStrv) values = nullptr;
	g_object_get(element, property, &values, nullptr);
	std::vector<std::string> out;
	for (char **v = values; v && *v; v++)
		out.emplace_back(*v);
	return out;
}

std::string string_property(GstElement *element, const char *property)
{
	g_autofree char *value = nullptr;
	g_object_get(element, property, &value, nullptr);
	return value ? value : "";
}

bool contains(const std::vector<std::string> &v, const std::string &s)
{
	return std::find(v.begin(), v.end(), s) != v.end();
}

struct DeviceMessage {
	std::string name, kind, device, reason;
};

/* A pipeline "<source> ! appsink" and what came out of it. */
class Capture
{
public:
	explicit Capture(const std::string &source)
	{
		std::string desc = source + " ! appsink name=sink sync=false";
		GError *error = nullptr;
		pipeline_ = gst_parse_launch(desc.c_str(), &error);
		EXPECT_TRUE(pipeline_) << (error ? error->message : "");
		g_clear_error(&error);
		source_ = gst_bin_get_by_name(GST_BIN(pipeline_), "s");
		GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
		GstAppSinkCallbacks callbacks{};
		callbacks.new_sample = [](GstAppSink *sink, gpointer data) {
			static_cast<Capture *>(data)->on_sample(sink);
			return GST_FLOW_OK;
		};
		gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, this, nullptr);
		gst_object_unref(sink);
		g_autoptr(GstBus) bus = gst_element_get_bus(pipeline_);
		watch_ = gst_bus_add_watch(bus, on_bus, this);
	}
	~Capture()
	{
		gst_element_set_state(pipeline_, GST_STATE_NULL);
		g_source_remove(watch_);
		gst_object_unref(source_);
		gst_object_unref(pipeline_);
		if (caps_)
			gst_caps_unref(caps_);
	}

	bool play()
	{
		return gst_element_set_state(pipeline_, GST_STATE_PLAYING) !=
		       GST_STATE_CHANGE_FAILURE;
	}
	GstElement *source() const { return source_; }
	GstElement *pipeline() const { return pipeline_; }

	struct Frame {
		GstClockTime pts;
		Clock::time_point at;
		std::string what; /* colour name, "bars" or "other" */
	};

	std::vector<Frame> frames() const
	{
		std::lock_guard lock(lock_);
		return frames_;
	}
	size_t frame_count() const
	{
		std::lock_guard lock(lock_);
		return frames_.size();
	}
	std::string last_what() const
	{
		std::lock_guard lock(lock_);
		return frames_.empty() ? "" : frames_.back().what;
	}
	bool caps_changed() const
	{
		std::lock_guard lock(lock_);
		return caps_changed_;
	}
	int backwards() const
	{
		std::lock_guard lock(lock_);
		return backwards_;
	}
	GstClockTime max_pts_gap() const
	{
		std::lock_guard lock(lock_);
		return max_pts_gap_;
	}
	/* Power of hz in the last 100 ms of audio, 0..1 of a full-scale sine. */
	double tone(double hz) const
	{
		std::lock_guard lock(lock_);
		const size_t n = 4800;
		if (audio_.size() < n)
			return 0;
		double s1 = 0, s2 = 0, k = 2 * std::cos(2 * M_PI * hz / 48000);
		for (size_t i = audio_.size() - n; i < audio_.size(); i++) {
			double s = audio_[i] / 32768.0 + k * s1 - s2;
			s2 = s1;
			s1 = s;
		}
		double power = s1 * s1 + s2 * s2 - k * s1 * s2;
		return 2 * std::sqrt(power) / n;
	}

	std::vector<DeviceMessage> messages() const { return messages_; }
	bool has_message(const std::string &name, const std::string &device) const
	{
		for (const DeviceMessage &m : messages_)
			if (m.name == name && m.device == device)
				return true;
		return false;
	}
	const std::vector<std::string> &bus_problems() const { return problems_; }

private:
	static std::string classify(const guint8 *data, int stride, int width, int height)
	{
		auto at = [&](int x, int y) {
			const guint8 *p = data + y * stride + x * 4;
			return std::array<int, 3>{p[0], p[1], p[2]};
		};
		auto near = [](std::array<int, 3> c, int r, int g, int b) {
			return std::abs(c[0] - r) < 40 && std::abs(c[1] - g) < 40 &&
			       std::abs(c[2] - b) < 40;
		};
		/* videotestsrc's SMPTE bars: white at the left (no fake camera
		 * has white), pure green in the centre. */
		if (near(at(8, height / 4), 255, 255, 255))
			return "bars";
		auto centre = at(width / 2, height / 2);
		if (near(centre, 255, 0, 0))
			return "red";
		if (near(centre, 0, 255, 0))
			return "green";
		if (near(centre, 0, 0, 255))
			return "blue";
		return "other";
	}

	void on_sample(GstAppSink *sink)
	{
		GstSample *sample = gst_app_sink_pull_sample(sink);
		GstBuffer *buffer = gst_sample_get_buffer(sample);
		GstCaps *caps = gst_sample_get_caps(sample);
		GstStructure *s = gst_caps_get_structure(caps, 0);
		Frame frame{GST_BUFFER_PTS(buffer), Clock::now(), ""};
		GstMapInfo map;
		gst_buffer_map(buffer, &map, GST_MAP_READ);
		if (gst_structure_has_name(s, "video/x-raw")) {
			int w = 0, h = 0;
			gst_structure_get_int(s, "width", &w);
			gst_structure_get_int(s, "height", &h);
			frame.what = classify(map.data, w * 4, w, h);
		}
		std::lock_guard lock(lock_);
		if (gst_structure_has_name(s, "audio/x-raw")) {
			auto *samples = reinterpret_cast<const std::int16_t *>(map.data);
			audio_.insert(audio_.end(), samples, samples + map.size / 2);
			if (audio_.size() > 96000)
				audio_.erase(audio_.begin(), audio_.end() - 48000);
		}
		gst_buffer_unmap(buffer, &map);
		if (!caps_)
			caps_ = gst_caps_ref(caps);
		else if (!gst_caps_is_equal(caps_, caps))
			caps_changed_ = true;
		if (!frames_.empty()) {
			GstClockTime last = frames_.back().pts;
			if (frame.pts <= last)
				backwards_++;
			else
				max_pts_gap_ = std::max(max_pts_gap_, frame.pts - last);
		}
		frames_.push_back(frame);
		gst_sample_unref(sample);
	}

	static gboolean on_bus(GstBus *, GstMessage *message, gpointer data)
	{
		auto *self = static_cast<Capture *>(data);
		switch (GST_MESSAGE_TYPE(message)) {
		case GST_MESSAGE_ELEMENT: {
			const GstStructure *s = gst_message_get_structure(message);
			if (!gst_structure_has_field(s, "device"))
				break;
			auto field = [&](const char *f) {
				const char *v = gst_structure_get_string(s, f);
				return std::string(v ? v : "");
			};
			self->messages_.push_back({gst_structure_get_name(s), field("kind"),
						   field("device"), field("reason")});
			break;
		}
		case GST_MESSAGE_ERROR:
		case GST_MESSAGE_EOS:
		case GST_MESSAGE_WARNING: {
			const GstStructure *s = gst_message_get_structure(message);
			g_autofree char *text = s ? gst_structure_to_string(s) : nullptr;
			self->problems_.push_back(std::string(GST_MESSAGE_TYPE_NAME(message)) +
						  ": " + (text ? text : ""));
			break;
		}
		default:
			break;
		}
		return G_SOURCE_CONTINUE;
	}

	GstElement *pipeline_ = nullptr;
	GstElement *source_ = nullptr;
	guint watch_ = 0;
	mutable std::mutex lock_;
	std::vector<Frame> frames_;
	std::vector<std::int16_t> audio_;
	GstCaps *caps_ = nullptr;
	bool caps_changed_ = false;
	int backwards_ = 0;
	GstClockTime max_pts_gap_ = 0;
	/* Main context only. */
	std::vector<DeviceMessage> messages_;
	std::vector<std::string> problems_;
};

const char *kVideo = "switchvideosrc name=s format=RGBx";

class SwitchSources : public ::testing::Test
{
protected:
	void SetUp() override { restore_devices(); }
	void TearDown() override { restore_devices(); }
};

/* Waits until the last frames are `what`. */
bool shows(const Capture &c, const std::string &what, double timeout_s = 3)
{
	return wait_until([&] { return c.last_what() == what; }, timeout_s);
}

/* active-device follows on the main context once the new device's frames
 * flow. */
bool active_is(const Capture &c, const std::string &device)
{
	return wait_until([&] { return string_property(c.source(), "active-device") == device; });
}

TEST_F(SwitchSources, ListsTheFakeDevicesAndFollowsHotplug)
{
	Capture c(kVideo);
	/* Before running: probed. */
	auto before = strv(c.source(), "devices");
	for (const FakeCamera &cam : kCameras)
		EXPECT_TRUE(contains(before, cam.name)) << cam.name;
	EXPECT_FALSE(contains(before, kMicrophones[0].name)) << "a microphone in switchvideosrc";

	int changed = 0;
	g_signal_connect(
	    c.source(), "devices-changed",
	    G_CALLBACK(+[](GstElement *, gpointer data) { (*static_cast<int *>(data))++; }),
	    &changed);
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(wait_until([&] { return c.frame_count() > 0; }));

	FakeCamera extra{"Fake Camera Extra", "/dev/fake-camera-extra",
			 "video/x-raw,format=I420,width=640,height=360,framerate=30/1", 0xffffff};
	ASSERT_TRUE(add_camera(extra));
	ASSERT_TRUE(wait_until([&] { return changed == 1; }));
	EXPECT_TRUE(contains(strv(c.source(), "devices"), extra.name));

	ASSERT_TRUE(remove_device(extra.name));
	ASSERT_TRUE(wait_until([&] { return changed == 2; }));
	EXPECT_FALSE(contains(strv(c.source(), "devices"), extra.name));
	for (const FakeCamera &cam : kCameras)
		EXPECT_TRUE(contains(strv(c.source(), "devices"), cam.name));

	/* switchaudiosrc lists the microphones only. */
	Capture a("switchaudiosrc name=s");
	auto mics = strv(a.source(), "devices");
	for (const FakeMicrophone &m : kMicrophones)
		EXPECT_TRUE(contains(mics, m.name));
	EXPECT_FALSE(contains(mics, kCameras[0].name));
}

TEST_F(SwitchSources, SwitchesBetweenAllCamerasFiftyTimes)
{
	Capture c(std::string(kVideo) + " device=\"Fake Camera Red\"");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(shows(c, "red"));

	/* Every ordered pair of cameras, over and over. */
	const int order[] = {1, 2, 0, 2, 1, 0};
	const char *colours[] = {"red", "green", "blue"};
	std::vector<double> gaps_ms;
	for (int i = 0; i < 50; i++) {
		int next = order[i % 6];
		size_t from = c.frame_count();
		size_t messages = c.messages().size();
		g_object_set(c.source(), "device", kCameras[next].name, nullptr);
		ASSERT_TRUE(shows(c, colours[next])) << "switch " << i << " to " << colours[next];
		ASSERT_TRUE(wait_until([&] {
			auto m = c.messages();
			return m.size() > messages && m.back().name == "device-switched" &&
			       m.back().device == kCameras[next].name;
		}));
		/* Once the new camera shows, the old one never comes back. */
		auto frames = c.frames();
		bool seen_new = false;
		for (size_t f = from; f < frames.size(); f++) {
			if (frames[f].what == colours[next])
				seen_new = true;
			else
				ASSERT_FALSE(seen_new) << "switch " << i << ": " << frames[f].what
						       << " after " << colours[next];
			if (f > from)
				gaps_ms.push_back(std::chrono::duration<double, std::milli>(
						      frames[f].at - frames[f - 1].at)
						      .count());
		}
		ASSERT_EQ(string_property(c.source(), "active-device"), kCameras[next].name)
		    << "device-switched posted before active-device changed";
	}
	EXPECT_FALSE(c.caps_changed()) << "output caps changed with the camera";
	EXPECT_EQ(c.backwards(), 0) << "timestamps went backwards";
	/* Running time continuous: no hole longer than a switch. */
	EXPECT_LT(c.max_pts_gap(), 250 * GST_MSECOND);
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();
	std::sort(gaps_ms.begin(), gaps_ms.end());
	if (!gaps_ms.empty())
		std::printf("arrival gaps around switches: p50 %.1f ms, max %.1f ms\n",
			    gaps_ms[gaps_ms.size() / 2], gaps_ms.back());
}

TEST_F(SwitchSources, UnpluggedCameraFallsBackAndComesBack)
{
	Capture c(std::string(kVideo) + " device=\"Fake Camera Red\"");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(shows(c, "red"));

	auto unplugged = Clock::now();
	ASSERT_TRUE(remove_device(kCameras[0].name));
	ASSERT_TRUE(shows(c, "bars", 1.0 * kTimeScale)) << "no fallback pattern within 1 s";
	EXPECT_LT(Clock::now() - unplugged, std::chrono::milliseconds(int(1000 * kTimeScale)));
	ASSERT_TRUE(wait_until([&] { return c.has_message("device-lost", kCameras[0].name); }));
	for (const DeviceMessage &m : c.messages())
		if (m.name == "device-lost") {
			EXPECT_EQ(m.kind, "video");
			EXPECT_FALSE(m.reason.empty());
		}
	EXPECT_TRUE(active_is(c, "fallback"));
	GstState state;
	gst_element_get_state(c.pipeline(), &state, nullptr, 0);
	EXPECT_EQ(state, GST_STATE_PLAYING);
	/* `device` still names the camera: plugging it back brings it back. */
	EXPECT_EQ(string_property(c.source(), "device"), kCameras[0].name);
	ASSERT_TRUE(add_camera(kCameras[0]));
	ASSERT_TRUE(shows(c, "red")) << "not back on the camera after re-plugging";
	EXPECT_TRUE(active_is(c, kCameras[0].name));
	EXPECT_FALSE(c.caps_changed());
	EXPECT_EQ(c.backwards(), 0);
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();
}

TEST_F(SwitchSources, CameraThatFailsToOpenLeavesThePreviousRunning)
{
	Capture c(std::string(kVideo) + " device=\"Fake Camera Red\"");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(shows(c, "red"));

	set_open_error(kCameras[2].name, "busy in another application");
	g_object_set(c.source(), "device", kCameras[2].name, nullptr);
	ASSERT_TRUE(wait_until([&] { return c.has_message("device-failed", kCameras[2].name); }));
	for (const DeviceMessage &m : c.messages())
		if (m.name == "device-failed") {
			EXPECT_NE(m.reason.find("busy in another application"), std::string::npos)
			    << m.reason;
		}
	/* The red camera never stopped. */
	size_t now = c.frame_count();
	ASSERT_TRUE(wait_until([&] { return c.frame_count() > now + 10; }));
	for (const auto &frame : c.frames())
		EXPECT_EQ(frame.what, "red");
	EXPECT_EQ(string_property(c.source(), "active-device"), kCameras[0].name);
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();

	/* Asking again once it works. */
	set_open_error(kCameras[2].name, nullptr);
	g_object_set(c.source(), "device", kCameras[2].name, nullptr);
	ASSERT_TRUE(shows(c, "blue"));
}

TEST_F(SwitchSources, NamesDevicesByPathAndWaitsForMissingOnes)
{
	Capture c(std::string(kVideo) + " device=/dev/fake-camera-green");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(shows(c, "green"));

	/* Not plugged in yet: the fallback runs until it is. */
	FakeCamera late{"Fake Camera Late", "/dev/fake-camera-late",
			"video/x-raw,format=I420,width=320,height=180,framerate=30/1", 0x0000ff};
	g_object_set(c.source(), "device", late.name, nullptr);
	ASSERT_TRUE(shows(c, "bars"));
	ASSERT_TRUE(add_camera(late));
	ASSERT_TRUE(shows(c, "blue"));
	EXPECT_TRUE(active_is(c, late.name));
	ASSERT_TRUE(remove_device(late.name));
	ASSERT_TRUE(shows(c, "bars"));

	g_object_set(c.source(), "device", "test", nullptr);
	ASSERT_TRUE(active_is(c, "test"));
	ASSERT_TRUE(shows(c, "bars"));
	EXPECT_FALSE(c.caps_changed());
	EXPECT_EQ(c.backwards(), 0);
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();
}

TEST_F(SwitchSources, CameraThatFailsToOpenAtStartRunsTheFallback)
{
	set_open_error(kCameras[1].name, "no permission");
	Capture c(std::string(kVideo) + " device=\"Fake Camera Green\"");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(wait_until([&] { return c.has_message("device-failed", kCameras[1].name); }));
	ASSERT_TRUE(shows(c, "bars"));
	EXPECT_TRUE(active_is(c, "fallback"));
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();

	set_open_error(kCameras[1].name, nullptr);
	g_object_set(c.source(), "device", kCameras[1].name, nullptr);
	ASSERT_TRUE(shows(c, "green"));
}

TEST_F(SwitchSources, AutoTakesTheFirstCameraAndOneThatIsPluggedIn)
{
	Capture c(kVideo);
	auto devices = strv(c.source(), "devices");
	ASSERT_FALSE(devices.empty());
	const char *first = nullptr;
	for (size_t i = 0; i < std::size(kCameras); i++)
		if (devices[0] == kCameras[i].name)
			first = std::array{"red", "green", "blue"}[i];
	ASSERT_TRUE(first) << devices[0];
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(shows(c, first)) << "auto is not the first camera listed: " << c.last_what();
	for (const FakeCamera &cam : kCameras)
		ASSERT_TRUE(remove_device(cam.name));
	ASSERT_TRUE(shows(c, "bars"));
	ASSERT_TRUE(add_camera(kCameras[2]));
	ASSERT_TRUE(shows(c, "blue")) << "auto did not take the camera plugged in";
	EXPECT_TRUE(active_is(c, kCameras[2].name));
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();
}

/* The child bin that holds the running microphone. */
GstElement *running_chain(GstElement *source)
{
	GstElement *found = nullptr;
	GstIterator *it = gst_bin_iterate_elements(GST_BIN(source));
	GValue item = G_VALUE_INIT;
	while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		auto *e = GST_ELEMENT(g_value_get_object(&item));
		if (GST_IS_BIN(e))
			found = e;
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
	return found;
}

TEST_F(SwitchSources, MicrophoneSwitchesInPlace)
{
	Capture c("switchaudiosrc name=s device=\"Fake Microphone 440\"");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(wait_until([&] { return c.tone(440) > 0.2; })) << c.tone(440);
	GstElement *chain = running_chain(c.source());
	ASSERT_TRUE(chain);

	g_object_set(c.source(), "device", kMicrophones[1].name, nullptr);
	ASSERT_TRUE(
	    wait_until([&] { return c.has_message("device-switched", kMicrophones[1].name); }));
	ASSERT_TRUE(wait_until([&] { return c.tone(1000) > 0.2 && c.tone(440) < 0.01; }))
	    << "1000 Hz " << c.tone(1000) << ", 440 Hz " << c.tone(440);
	EXPECT_EQ(running_chain(c.source()), chain) << "a new source instead of an in-place switch";
	EXPECT_FALSE(c.caps_changed());
	EXPECT_EQ(c.backwards(), 0);
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();
}

TEST_F(SwitchSources, UnpluggedMicrophoneBecomesSilenceAndComesBack)
{
	Capture c("switchaudiosrc name=s device=/dev/fake-mic-1000");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(wait_until([&] { return c.tone(1000) > 0.2; }));

	ASSERT_TRUE(remove_device(kMicrophones[1].name));
	auto unplugged = Clock::now();
	ASSERT_TRUE(wait_until([&] { return c.tone(1000) < 0.01; }, 1.0 * kTimeScale))
	    << "no silence within 1 s";
	EXPECT_LT(Clock::now() - unplugged, std::chrono::milliseconds(int(1000 * kTimeScale)));
	ASSERT_TRUE(wait_until([&] { return c.has_message("device-lost", kMicrophones[1].name); }));
	size_t before = c.frame_count();
	ASSERT_TRUE(wait_until([&] { return c.frame_count() > before + 20; })) << "silence stopped";

	restore_devices();
	ASSERT_TRUE(wait_until([&] { return c.tone(1000) > 0.2; })) << "not back on the microphone";

	/* Back and forth between a microphone and the test tone (a new source
	 * each time): time never runs backwards, nothing is missing. */
	for (int i = 0; i < 10; i++) {
		const char *device = i % 2 ? kMicrophones[1].name : "test";
		double hz = i % 2 ? 1000 : 440;
		g_object_set(c.source(), "device", device, nullptr);
		ASSERT_TRUE(wait_until([&] { return c.tone(hz) > 0.1; })) << device;
	}
	EXPECT_EQ(c.backwards(), 0);
	EXPECT_LT(c.max_pts_gap(), 60 * GST_MSECOND);
	EXPECT_FALSE(c.caps_changed());
	EXPECT_TRUE(c.bus_problems().empty()) << c.bus_problems().front();
}

TEST_F(SwitchSources, EndsOnlyWhenAsked)
{
	Capture c(std::string(kVideo) + " device=\"Fake Camera Green\"");
	ASSERT_TRUE(c.play());
	ASSERT_TRUE(shows(c, "green"));
	gst_element_send_event(c.pipeline(), gst_event_new_eos());
	ASSERT_TRUE(wait_until([&] {
		return !c.bus_problems().empty() && c.bus_problems().back().rfind("eos", 0) == 0;
	})) << "EOS did not reach the sink";
}

} // namespace

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
