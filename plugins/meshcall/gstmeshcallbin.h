// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcallbin: joins a meshcall room; see gstmeshcallbin.cpp. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MESHCALL_BIN (gst_meshcall_bin_get_type())
G_DECLARE_FINAL_TYPE(GstMeshcallBin, gst_meshcall_bin, GST, MESHCALL_BIN, GstBin)

GST_ELEMENT_REGISTER_DECLARE(meshcallbin);

G_END_DECLS
