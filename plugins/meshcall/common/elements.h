// SPDX-License-Identifier: LGPL-2.1-or-later
/* Building small element chains inside a bin: the few steps every part of
 * meshcallbin repeats (make an element and say which plugin is missing, add
 * and link a chain or leave nothing behind, throw away what was made). */
#pragma once

#include <initializer_list>
#include <vector>

#include <gst/gst.h>

namespace meshcall
{

/* gst_element_factory_make(), logging which factory is missing. */
GstElement *make_element(const char *factory, const char *name = nullptr);
/* A capsfilter with `caps` (a caps string). */
GstElement *make_capsfilter(const char *caps, const char *name = nullptr);
/* Drops elements that never went into a bin (nullptr entries are skipped). */
void discard_elements(const std::vector<GstElement *> &elements);
/* Adds `elements` to `bin` and links them in order; false if one is missing
 * or they do not link, and then nothing of them stays in the bin. */
bool add_chain(GstBin *bin, const std::vector<GstElement *> &elements);
/* Locks, stops and removes `element` from `bin`: the order a running bin
 * needs to let go of a child without its state changes interfering. */
void remove_from_bin(GstBin *bin, GstElement *element);

} // namespace meshcall
