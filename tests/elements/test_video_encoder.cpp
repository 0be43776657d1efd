// SPDX-License-Identifier: LGPL-2.1-or-later
/* Which video encoder meshcallbin takes, and how it sets up the hardware ones.
 * This machine has no hardware encoder: the choice is tested with made-up
 * registries, and the hardware set-up with stand-ins registered under the
 * hardware encoders' names. */
#include <initializer_list>
#include <set>
#include <string>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "media/encoders.h"

using namespace meshcall;

namespace
{

/* A registry holding exactly `factories`. */
std::function<bool(const char *)> installed(std::initializer_list<const char *> factories)
{
	std::set<std::string> set(factories.begin(), factories.end());
	return [set](const char *name) { return set.count(name) > 0; };
}

const std::optional<VideoCodec> kAuto = std::nullopt;

void expect_choice(const VideoEncoderChoice &c, const char *factory, VideoCodec codec)
{
	EXPECT_EQ(c.factory, factory);
	EXPECT_EQ(c.codec, codec) << to_string(c.codec);
}

TEST(ChooseVideoEncoder, NoHardwareAutoIsVp8AndH264IsX264)
{
	auto has = installed({"vp8enc", "x264enc", "openh264enc"});
	expect_choice(choose_video_encoder(kAuto, has), "vp8enc", VideoCodec::VP8);
	expect_choice(choose_video_encoder(VideoCodec::H264, has), "x264enc", VideoCodec::H264);
	expect_choice(choose_video_encoder(VideoCodec::VP8, has), "vp8enc", VideoCodec::VP8);
}

TEST(ChooseVideoEncoder, V4l2PresentIsH264ForAutoAndH264)
{
	auto has = installed({"v4l2h264enc", "vp8enc", "x264enc", "openh264enc"});
	expect_choice(choose_video_encoder(kAuto, has), "v4l2h264enc", VideoCodec::H264);
	expect_choice(choose_video_encoder(VideoCodec::H264, has), "v4l2h264enc", VideoCodec::H264);
	/* Asking for VP8 gets VP8 whatever the hardware. */
	expect_choice(choose_video_encoder(VideoCodec::VP8, has), "vp8enc", VideoCodec::VP8);
}

TEST(ChooseVideoEncoder, HardwareInOrderV4l2ThenVaThenVaapi)
{
	expect_choice(
	    choose_video_encoder(kAuto, installed({"vaapih264enc", "vah264enc", "v4l2h264enc"})),
	    "v4l2h264enc", VideoCodec::H264);
	expect_choice(choose_video_encoder(kAuto, installed({"vaapih264enc", "vah264enc"})),
		      "vah264enc", VideoCodec::H264);
	expect_choice(
	    choose_video_encoder(VideoCodec::H264, installed({"x264enc", "vaapih264enc"})),
	    "vaapih264enc", VideoCodec::H264);
}

TEST(ChooseVideoEncoder, NoVp8NoHardwareAutoFallsBackToSoftwareH264)
{
	expect_choice(choose_video_encoder(kAuto, installed({"x264enc", "openh264enc"})), "x264enc",
		      VideoCodec::H264);
	expect_choice(choose_video_encoder(kAuto, installed({"openh264enc"})), "openh264enc",
		      VideoCodec::H264);
	expect_choice(choose_video_encoder(VideoCodec::H264, installed({"vp8enc", "openh264enc"})),
		      "openh264enc", VideoCodec::H264);
}

TEST(ChooseVideoEncoder, NothingInstalledNamesTheCodecWithoutAnEncoder)
{
	auto none = installed({});
	expect_choice(choose_video_encoder(kAuto, none), "", VideoCodec::VP8);
	expect_choice(choose_video_encoder(VideoCodec::H264, none), "", VideoCodec::H264);
	expect_choice(choose_video_encoder(VideoCodec::VP8, installed({"v4l2h264enc"})), "",
		      VideoCodec::VP8);
}

TEST(ChooseVideoEncoder, RealRegistry)
{
	EXPECT_TRUE(element_factory_exists("fakesink"));
	EXPECT_FALSE(element_factory_exists("no-such-element"));
}

/* ---- meshcallbin with stand-ins for the hardware encoders ---- */

/* Records what meshcallbin sets; registered as "v4l2h264enc" or "vah264enc".
 * Its properties are the real elements' that meshcallbin uses (1.22). */
struct FakeHwEnc {
	GstElement parent;
	GstStructure *extra_controls;
	guint bitrate, key_int_max, b_frames;
	gboolean cabac, dct8x8;
	gchar *rate_control;
};
struct FakeHwEncClass {
	GstElementClass parent;
};

enum {
	PROP_EXTRA_CONTROLS = 1,
	PROP_BITRATE,
	PROP_KEY_INT_MAX,
	PROP_B_FRAMES,
	PROP_CABAC,
	PROP_DCT8X8,
	PROP_RATE_CONTROL
};

G_DEFINE_TYPE(FakeHwEnc, fake_hw_enc, GST_TYPE_ELEMENT)

void fake_hw_enc_init(FakeHwEnc *self)
{
	GstElementClass *klass = GST_ELEMENT_GET_CLASS(self);
	for (const char *name : {"sink", "src"})
		gst_element_add_pad(GST_ELEMENT(self),
				    gst_pad_new_from_template(
					gst_element_class_get_pad_template(klass, name), name));
	self->cabac = self->dct8x8 = TRUE;
}

void fake_hw_enc_set_property(GObject *object, guint id, const GValue *value, GParamSpec *)
{
	auto *self = reinterpret_cast<FakeHwEnc *>(object);
	switch (id) {
	case PROP_EXTRA_CONTROLS:
		if (self->extra_controls)
			gst_structure_free(self->extra_controls);
		self->extra_controls = static_cast<GstStructure *>(g_value_dup_boxed(value));
		break;
	case PROP_BITRATE:
		self->bitrate = g_value_get_uint(value);
		break;
	case PROP_KEY_INT_MAX:
		self->key_int_max = g_value_get_uint(value);
		break;
	case PROP_B_FRAMES:
		self->b_frames = g_value_get_uint(value);
		break;
	case PROP_CABAC:
		self->cabac = g_value_get_boolean(value);
		break;
	case PROP_DCT8X8:
		self->dct8x8 = g_value_get_boolean(value);
		break;
	case PROP_RATE_CONTROL:
		g_free(self->rate_control);
		self->rate_control = g_value_dup_string(value);
		break;
	}
}

void fake_hw_enc_get_property(GObject *, guint, GValue *, GParamSpec *)
{
}

void fake_hw_enc_finalize(GObject *object)
{
	auto *self = reinterpret_cast<FakeHwEnc *>(object);
	if (self->extra_controls)
		gst_structure_free(self->extra_controls);
	g_free(self->rate_control);
	G_OBJECT_CLASS(fake_hw_enc_parent_class)->finalize(object);
}

void fake_hw_enc_class_init(FakeHwEncClass *klass)
{
	GObjectClass *o = G_OBJECT_CLASS(klass);
	o->set_property = fake_hw_enc_set_property;
	o->get_property = fake_hw_enc_get_property;
	o->finalize = fake_hw_enc_finalize;
	auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
	g_object_class_install_property(
	    o, PROP_EXTRA_CONTROLS,
	    g_param_spec_boxed("extra-controls", "", "", GST_TYPE_STRUCTURE, flags));
	for (auto [id, name] : {std::pair{PROP_BITRATE, "bitrate"},
				{PROP_KEY_INT_MAX, "key-int-max"},
				{PROP_B_FRAMES, "b-frames"}})
		g_object_class_install_property(
		    o, id, g_param_spec_uint(name, "", "", 0, G_MAXUINT, 0, flags));
	g_object_class_install_property(o, PROP_CABAC,
					g_param_spec_boolean("cabac", "", "", TRUE, flags));
	g_object_class_install_property(o, PROP_DCT8X8,
					g_param_spec_boolean("dct8x8", "", "", TRUE, flags));
	g_object_class_install_property(
	    o, PROP_RATE_CONTROL, g_param_spec_string("rate-control", "", "", nullptr, flags));
	GstElementClass *e = GST_ELEMENT_CLASS(klass);
	gst_element_class_add_pad_template(
	    e, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
				    gst_caps_from_string("video/x-raw,format=NV12")));
	gst_element_class_add_pad_template(
	    e, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS,
				    gst_caps_from_string("video/x-h264")));
	gst_element_class_set_static_metadata(e, "fake hardware H.264 encoder",
					      "Codec/Encoder/Video/Hardware", "test stand-in",
					      "meshcall developers");
}

/* Registers the stand-in as `name` for the scope. Each time as a type of its
 * own: an element class remembers the factory of its first registration. */
class HardwareEncoder
{
public:
	explicit HardwareEncoder(const char *name) : name_(name)
	{
		static int count;
		g_autofree char *type_name = g_strdup_printf("FakeHwEnc%d", ++count);
		GType type = g_type_register_static_simple(
		    fake_hw_enc_get_type(), type_name, sizeof(FakeHwEncClass), nullptr,
		    sizeof(FakeHwEnc), nullptr, GTypeFlags(0));
		EXPECT_TRUE(gst_element_register(nullptr, name, GST_RANK_NONE, type));
	}
	~HardwareEncoder()
	{
		GstRegistry *registry = gst_registry_get();
		if (GstPluginFeature *f = gst_registry_lookup_feature(registry, name_)) {
			gst_registry_remove_feature(registry, f);
			gst_object_unref(f);
		}
	}

private:
	const char *name_;
};

/* A meshcallbin with its video_sink requested, and what is inside it. */
class Bin
{
public:
	explicit Bin(const char *codec)
	{
		bin_ = gst_element_factory_make("meshcallbin", nullptr);
		EXPECT_TRUE(bin_) << "meshcallbin not found: is GST_PLUGIN_PATH_1_0 set?";
		if (!bin_)
			return;
		gst_object_ref_sink(bin_);
		gst_util_set_object_arg(G_OBJECT(bin_), "video-codec", codec);
	}
	~Bin()
	{
		if (pad_)
			gst_element_release_request_pad(bin_, pad_);
		if (bin_)
			gst_object_unref(bin_);
	}
	bool request_video_sink()
	{
		pad_ = gst_element_request_pad_simple(bin_, "video_sink");
		if (pad_)
			gst_object_unref(pad_); /* the element keeps it */
		return pad_;
	}
	std::string video_encoder() const
	{
		g_autofree char *v = nullptr;
		g_object_get(bin_, "video-encoder", &v, nullptr);
		return v ? v : "(null)";
	}
	/* The "encoder" element of the send chain and the factories of the
	 * encoder bin's elements, in link order from its sink. */
	GstElement *encoder() const
	{
		GstElement *encoder_bin = gst_bin_get_by_name(GST_BIN(bin_), "video-encoder");
		if (!encoder_bin)
			return nullptr;
		GstElement *enc = gst_bin_get_by_name(GST_BIN(encoder_bin), "encoder");
		gst_object_unref(encoder_bin);
		gst_object_unref(enc); /* the bin keeps it */
		return enc;
	}
	std::vector<std::string> encoder_chain() const;
	/* The caps of the capsfilter after the encoder, "" when none. */
	std::string output_caps() const;
	GstElement *get() const { return bin_; }

private:
	GstElement *bin_ = nullptr;
	GstPad *pad_ = nullptr;
};

GstElement *downstream_of(GstElement *e)
{
	GstPad *src = gst_element_get_static_pad(e, "src");
	GstPad *peer = src ? gst_pad_get_peer(src) : nullptr;
	GstElement *next = peer ? gst_pad_get_parent_element(peer) : nullptr;
	if (peer)
		gst_object_unref(peer);
	if (src)
		gst_object_unref(src);
	if (next)
		gst_object_unref(next); /* its bin keeps it */
	return next;
}

std::vector<std::string> Bin::encoder_chain() const
{
	std::vector<std::string> out;
	GstElement *enc = encoder();
	if (!enc)
		return out;
	GstPad *sink = gst_element_get_static_pad(enc, "sink");
	GstPad *peer = gst_pad_get_peer(sink);
	if (peer) {
		GstElement *before = gst_pad_get_parent_element(peer);
		if (before && GST_OBJECT_PARENT(before) == GST_OBJECT_PARENT(enc))
			out.push_back(GST_OBJECT_NAME(gst_element_get_factory(before)));
		if (before)
			gst_object_unref(before);
		gst_object_unref(peer);
	}
	gst_object_unref(sink);
	for (GstElement *e = enc; e && GST_OBJECT_PARENT(e) == GST_OBJECT_PARENT(enc);
	     e = downstream_of(e))
		out.push_back(GST_OBJECT_NAME(gst_element_get_factory(e)));
	return out;
}

std::string Bin::output_caps() const
{
	GstElement *after = encoder() ? downstream_of(encoder()) : nullptr;
	if (!after || GST_OBJECT_PARENT(after) != GST_OBJECT_PARENT(encoder()))
		return "";
	GstCaps *caps = nullptr;
	g_object_get(after, "caps", &caps, nullptr);
	g_autofree char *text = caps ? gst_caps_to_string(caps) : nullptr;
	if (caps)
		gst_caps_unref(caps);
	return text ? text : "";
}

int structure_int(const GstStructure *s, const char *field)
{
	int v = -1;
	EXPECT_TRUE(s && gst_structure_get_int(s, field, &v)) << field;
	return v;
}

bool has_hardware_encoder()
{
	for (const char *f : kHardwareH264Encoders)
		if (element_factory_exists(f))
			return true;
	return false;
}

TEST(VideoEncoderProperty, NullUntilVideoSinkThenTheChosenFactory)
{
	if (has_hardware_encoder())
		GTEST_SKIP() << "this machine has a hardware H.264 encoder";
	{
		Bin bin("auto");
		EXPECT_EQ(bin.video_encoder(), "(null)");
		ASSERT_TRUE(bin.request_video_sink());
		EXPECT_EQ(bin.video_encoder(), "vp8enc");
		EXPECT_EQ(bin.encoder_chain(), std::vector<std::string>{"vp8enc"});
	}
	{
		Bin bin("h264");
		EXPECT_EQ(bin.video_encoder(), "(null)");
		ASSERT_TRUE(bin.request_video_sink());
		std::string enc = bin.video_encoder();
		EXPECT_TRUE(enc == "x264enc" || enc == "openh264enc") << enc;
		EXPECT_NE(bin.output_caps().find("profile=(string)constrained-baseline"),
			  std::string::npos)
		    << bin.output_caps();
	}
}

/* The Raspberry Pi path (docs/design.md, fact 10): bitrate, CBR, a short GOP and
 * SPS/PPS with every keyframe through extra-controls, the level in the caps. */
TEST(VideoEncoderProperty, V4l2H264EncIsSetUpThroughExtraControls)
{
	HardwareEncoder v4l2("v4l2h264enc");
	Bin bin("auto");
	g_object_set(bin.get(), "video-bitrate", 1500u, nullptr);
	ASSERT_TRUE(bin.request_video_sink());
	EXPECT_EQ(bin.video_encoder(), "v4l2h264enc");
	EXPECT_EQ(bin.encoder_chain(),
		  (std::vector<std::string>{"videoconvert", "v4l2h264enc", "capsfilter"}));
	std::string caps = bin.output_caps();
	EXPECT_NE(caps.find("profile=(string)constrained-baseline"), std::string::npos) << caps;
	EXPECT_NE(caps.find("level=(string)4"), std::string::npos) << caps;
	EXPECT_NE(caps.find("stream-format=(string)byte-stream"), std::string::npos) << caps;

	auto *enc = reinterpret_cast<FakeHwEnc *>(bin.encoder());
	ASSERT_TRUE(enc);
	const GstStructure *c = enc->extra_controls;
	ASSERT_TRUE(c);
	EXPECT_STREQ(gst_structure_get_name(c), "controls");
	EXPECT_EQ(structure_int(c, "video_bitrate"), 1500000);
	EXPECT_EQ(structure_int(c, "video_bitrate_mode"), 1);
	EXPECT_EQ(structure_int(c, "repeat_sequence_header"), 1);
	int period = structure_int(c, "h264_i_frame_period");
	EXPECT_GT(period, 0);
	EXPECT_LE(period, 60) << "keyframe requests are ignored: the GOP must stay short";

	/* A new bitrate is a new structure with everything else kept. */
	g_object_set(bin.get(), "video-bitrate", 400u, nullptr);
	c = enc->extra_controls;
	EXPECT_EQ(structure_int(c, "video_bitrate"), 400000);
	EXPECT_EQ(structure_int(c, "h264_i_frame_period"), period);
	EXPECT_EQ(structure_int(c, "repeat_sequence_header"), 1);
}

TEST(VideoEncoderProperty, VaH264EncIsCbrInKbpsWithoutBFrames)
{
	HardwareEncoder va("vah264enc");
	Bin bin("h264");
	g_object_set(bin.get(), "video-bitrate", 1200u, nullptr);
	ASSERT_TRUE(bin.request_video_sink());
	EXPECT_EQ(bin.video_encoder(), "vah264enc");
	/* vah264enc takes NV12 only: a converter in front. */
	EXPECT_EQ(bin.encoder_chain(),
		  (std::vector<std::string>{"videoconvert", "vah264enc", "capsfilter"}));
	EXPECT_NE(bin.output_caps().find("profile=(string)constrained-baseline"), std::string::npos)
	    << bin.output_caps();
	auto *enc = reinterpret_cast<FakeHwEnc *>(bin.encoder());
	ASSERT_TRUE(enc);
	EXPECT_STREQ(enc->rate_control, "cbr");
	EXPECT_EQ(enc->bitrate, 1200u);
	EXPECT_GT(enc->key_int_max, 0u);
	EXPECT_EQ(enc->b_frames, 0u);
	EXPECT_FALSE(enc->cabac);
	EXPECT_FALSE(enc->dct8x8);
	EXPECT_EQ(enc->extra_controls, nullptr);
}

TEST(VideoEncoderProperty, ExplicitVp8IgnoresHardwareH264)
{
	HardwareEncoder v4l2("v4l2h264enc");
	Bin bin("vp8");
	ASSERT_TRUE(bin.request_video_sink());
	EXPECT_EQ(bin.video_encoder(), "vp8enc");
}

} // namespace

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
