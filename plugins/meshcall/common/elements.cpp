// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/elements.h"

#include "common/debug.h"

MESHCALL_DEBUG_CATEGORY(meshcall_elements_debug, "meshcall-elements", "meshcall's element chains")
#define GST_CAT_DEFAULT meshcall_elements_debug

namespace meshcall
{

GstElement *make_element(const char *factory, const char *name)
{
	ensure_debug_category();
	GstElement *e = gst_element_factory_make(factory, name);
	if (!e)
		GST_ERROR("missing element %s (is its GStreamer plugin installed?)", factory);
	return e;
}

GstElement *make_capsfilter(const char *caps, const char *name)
{
	GstElement *f = make_element("capsfilter", name);
	if (!f)
		return nullptr;
	GstCaps *c = gst_caps_from_string(caps);
	g_object_set(f, "caps", c, nullptr);
	gst_caps_unref(c);
	return f;
}

void discard_elements(const std::vector<GstElement *> &elements)
{
	for (GstElement *e : elements)
		if (e)
			gst_object_unref(gst_object_ref_sink(e));
}

bool add_chain(GstBin *bin, const std::vector<GstElement *> &elements)
{
	ensure_debug_category();
	for (GstElement *e : elements) {
		if (!e) {
			discard_elements(elements);
			return false;
		}
	}
	for (GstElement *e : elements)
		gst_bin_add(bin, e);
	for (size_t i = 1; i < elements.size(); i++) {
		if (!gst_element_link(elements[i - 1], elements[i])) {
			GST_ERROR_OBJECT(bin, "cannot link %s to %s",
					 GST_ELEMENT_NAME(elements[i - 1]),
					 GST_ELEMENT_NAME(elements[i]));
			for (GstElement *e : elements) {
				gst_element_set_state(e, GST_STATE_NULL);
				gst_bin_remove(bin, e);
			}
			return false;
		}
	}
	return true;
}

void remove_from_bin(GstBin *bin, GstElement *element)
{
	gst_element_set_locked_state(element, TRUE);
	gst_element_set_state(element, GST_STATE_NULL);
	gst_bin_remove(bin, element);
}

} // namespace meshcall
