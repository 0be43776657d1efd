// SPDX-License-Identifier: LGPL-2.1-or-later
/* The test-only GStreamer plugin "meshcalltest": registration only. */
#include <gst/gst.h>

#include "gstfakedeviceprovider.h"
#include "gstmeshcallfakesrc.h"

static gboolean plugin_init(GstPlugin *plugin)
{
	return GST_ELEMENT_REGISTER(meshcallfakesrc, plugin) &&
	       GST_DEVICE_PROVIDER_REGISTER(meshcallfakedeviceprovider, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, meshcalltest,
		  "Fake cameras and microphones for meshcall's tests", plugin_init, VERSION, "LGPL",
		  PACKAGE, "https://github.com/meshcall/meshcall")
