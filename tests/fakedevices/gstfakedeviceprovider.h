// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallfakedeviceprovider: fake cameras and microphones for tests; see
 * gstfakedeviceprovider.cpp. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MESHCALL_FAKE_DEVICE_PROVIDER (gst_meshcall_fake_device_provider_get_type())
G_DECLARE_FINAL_TYPE(GstMeshcallFakeDeviceProvider, gst_meshcall_fake_device_provider, GST,
		     MESHCALL_FAKE_DEVICE_PROVIDER, GstDeviceProvider)

GST_DEVICE_PROVIDER_REGISTER_DECLARE(meshcallfakedeviceprovider);

G_END_DECLS
