// SPDX-License-Identifier: LGPL-2.1-or-later
/* Hopping onto a GMainContext from any thread. */
#pragma once

#include <functional>

#include <glib.h>

namespace meshcall
{

/* Queues `f` on `context` (nullptr: the default main context) and returns;
 * never runs it in the calling thread, even when nobody owns the context
 * (g_main_context_invoke would, and callers are streaming threads or inside
 * pad probes). `source` is what dispatches it (nullptr: an idle source; a
 * timeout source delays it); this takes it over. If the context goes away
 * first, `f` is destroyed without running. */
void invoke_on(std::function<void()> f, GMainContext *context = nullptr, GSource *source = nullptr,
	       const char *name = nullptr);

} // namespace meshcall
