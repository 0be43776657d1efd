// SPDX-License-Identifier: LGPL-2.1-or-later
#include "incoming_media.h"

namespace meshcall::bench
{

std::string webrtc_of(GstElement *e)
{
	for (GstObject *o = GST_OBJECT(e); o; o = GST_OBJECT_PARENT(o)) {
		if (!GST_IS_ELEMENT(o))
			break;
		GstElementFactory *f = gst_element_get_factory(GST_ELEMENT(o));
		if (f && g_str_equal(GST_OBJECT_NAME(f), "webrtcbin"))
			return GST_OBJECT_NAME(o);
	}
	return "";
}

bool caps_are_video(GstPad *pad)
{
	GstCaps *caps = gst_pad_get_current_caps(pad);
	if (!caps)
		return false;
	const char *media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
	bool video = media && g_str_equal(media, "video");
	gst_caps_unref(caps);
	return video;
}

GstElement *element_after(GstElement *e)
{
	GstPad *src = gst_element_get_static_pad(e, "src");
	if (!src)
		return nullptr;
	GstPad *peer = gst_pad_get_peer(src);
	gst_object_unref(src);
	if (!peer)
		return nullptr;
	GstElement *next = gst_pad_get_parent_element(peer);
	gst_object_unref(peer);
	return next;
}

namespace
{

void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer d)
{
	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	GstPad *peer = gst_pad_get_peer(pad);
	if (!peer)
		return;
	if (GstElement *depay = gst_pad_get_parent_element(peer)) {
		(*static_cast<IncomingStreamFn *>(d))(GST_OBJECT_NAME(webrtc), caps_are_video(pad),
						      depay);
		gst_object_unref(depay);
	}
	gst_object_unref(peer);
}

void on_deep_element_added(GstBin *, GstBin *, GstElement *e, gpointer d)
{
	GstElementFactory *f = gst_element_get_factory(e);
	if (!f || !g_str_equal(GST_OBJECT_NAME(f), "webrtcbin"))
		return;
	/* Connected after meshcallbin's own handler, which links the depayloader. */
	g_signal_connect_data(
	    e, "pad-added", G_CALLBACK(on_pad_added),
	    new IncomingStreamFn(*static_cast<IncomingStreamFn *>(d)),
	    [](gpointer p, GClosure *) { delete static_cast<IncomingStreamFn *>(p); },
	    GConnectFlags(0));
}

} // namespace

void watch_incoming_streams(GstElement *pipeline, IncomingStreamFn on_stream)
{
	g_signal_connect_data(
	    pipeline, "deep-element-added", G_CALLBACK(on_deep_element_added),
	    new IncomingStreamFn(std::move(on_stream)),
	    [](gpointer p, GClosure *) { delete static_cast<IncomingStreamFn *>(p); },
	    GConnectFlags(0));
}

} // namespace meshcall::bench
