// SPDX-License-Identifier: LGPL-2.1-or-later
/* One debug category per area of the plugin (GST_DEBUG=meshcall-peer:6).
 * The parts are also linked into tests that never load the plugin, so a
 * category cannot wait for plugin_init: each is made on first use, by the
 * ensure function this defines. */
#pragma once

#include <gst/gst.h>

/* Defines the static category `cat` (GST_CAT_DEFAULT of the file) and
 * ensure_debug_category(), which every entry point of the file calls before
 * it logs. */
#define MESHCALL_DEBUG_CATEGORY(cat, name, description)                                            \
	GST_DEBUG_CATEGORY_STATIC(cat);                                                            \
	static void ensure_debug_category()                                                        \
	{                                                                                          \
		static gsize done = 0;                                                             \
		if (g_once_init_enter(&done)) {                                                    \
			GST_DEBUG_CATEGORY_INIT(cat, name, 0, description);                        \
			g_once_init_leave(&done, 1);                                               \
		}                                                                                  \
	}
