// SPDX-License-Identifier: LGPL-2.1-or-later
#include "switch/device_list.h"

#include <algorithm>
#include <map>

namespace meshcall
{

namespace
{

/* Property keys under which providers report the node behind a device:
 * v4l2 "device.path" (and "api.v4l2.path" since 1.20), PipeWire
 * "api.v4l2.path" for cameras it wraps, ALSA "api.alsa.path". PipeWire and
 * v4l2 report the same camera with the same path, which is what lets us list
 * it once. */
constexpr const char *kPathKeys[] = {"api.v4l2.path", "device.path", "api.alsa.path"};

} // namespace

std::string device_path(GstDevice *device)
{
	g_autoptr(GstStructure) props = gst_device_get_properties(device);
	if (!props)
		return {};
	for (const char *key : kPathKeys)
		if (const char *value = gst_structure_get_string(props, key))
			return value;
	return {};
}

DeviceList collect_devices(GstDeviceMonitor *monitor)
{
	DeviceList list;
	GList *devices = gst_device_monitor_get_devices(monitor);
	for (GList *l = devices; l; l = l->next) {
		GstDevice *device = GST_DEVICE(l->data);
		DeviceEntry entry;
		entry.device = GstRef<GstDevice>::ref(device);
		g_autofree char *name = gst_device_get_display_name(device);
		entry.display_name = name ? name : "";
		entry.path = device_path(device);
		bool duplicate = !entry.path.empty() &&
				 std::any_of(list.begin(), list.end(), [&](const DeviceEntry &e) {
					 return e.path == entry.path;
				 });
		if (!duplicate)
			list.push_back(std::move(entry));
	}
	g_list_free_full(devices, gst_object_unref);

	/* Two identical webcams share a display name: tell them apart by path
	 * (or by number when there is none), so every label names one device. */
	std::map<std::string, int> uses;
	for (const DeviceEntry &e : list)
		uses[e.display_name]++;
	std::map<std::string, int> seen;
	for (DeviceEntry &e : list) {
		e.label = e.display_name;
		if (uses[e.display_name] < 2)
			continue;
		int n = ++seen[e.display_name];
		e.label += e.path.empty() ? " #" + std::to_string(n) : " (" + e.path + ")";
	}
	return list;
}

const DeviceEntry *find_device(const DeviceList &devices, const std::string &spec)
{
	for (const DeviceEntry &e : devices)
		if (e.label == spec)
			return &e;
	for (const DeviceEntry &e : devices)
		if (e.display_name == spec)
			return &e;
	for (const DeviceEntry &e : devices)
		if (!e.path.empty() && e.path == spec)
			return &e;
	return nullptr;
}

} // namespace meshcall
