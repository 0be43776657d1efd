// SPDX-License-Identifier: LGPL-2.1-or-later
/* The devices a switch source offers: what GstDeviceMonitor sees, with the
 * same physical device reported by several providers (v4l2, libcamera,
 * PipeWire) listed once, and the rules that map a `device` string onto it. */
#pragma once

#include <string>
#include <vector>

#include <gst/gst.h>

#include "common/gst_ref.h"

namespace meshcall
{

struct DeviceEntry {
	GstRef<GstDevice> device;
	std::string label;	  /* unique in the list; what `devices` shows */
	std::string display_name; /* the provider's name for it */
	std::string path;	  /* device node or provider path; may be empty */
	/* What identifies the device across hot-unplug and re-plug: its path,
	 * else its name. */
	std::string key() const { return path.empty() ? display_name : path; }
};

using DeviceList = std::vector<DeviceEntry>;

/* The monitor's devices in its order (providers by rank), de-duplicated by
 * path: the first provider to report a node keeps it. */
DeviceList collect_devices(GstDeviceMonitor *monitor);

/* The entry `spec` names: its label, its display name (first match) or its
 * path. "auto" and "test" are not handled here. nullptr when none. */
const DeviceEntry *find_device(const DeviceList &devices, const std::string &spec);

/* The path a device reports, or "". */
std::string device_path(GstDevice *device);

} // namespace meshcall
