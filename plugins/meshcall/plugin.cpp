// SPDX-License-Identifier: LGPL-2.1-or-later
/* The "meshcall" GStreamer plugin: registration only. */
#include <gst/gst.h>

#include "gstmeshcallbin.h"
#include "gstswitchaudiosrc.h"
#include "gstswitchvideosrc.h"

static gboolean plugin_init(GstPlugin *plugin)
{
	gboolean ok = GST_ELEMENT_REGISTER(meshcallbin, plugin);
	ok &= GST_ELEMENT_REGISTER(switchvideosrc, plugin);
	ok &= GST_ELEMENT_REGISTER(switchaudiosrc, plugin);
	return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, meshcall,
		  "Small-group WebRTC video chat: join a meshcall room from a pipeline",
		  plugin_init, VERSION, "LGPL", PACKAGE, "https://github.com/meshcall/meshcall")
