// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/main_context.h"

namespace meshcall
{

void invoke_on(std::function<void()> f, GMainContext *context, GSource *source, const char *name)
{
	if (!source)
		source = g_idle_source_new();
	if (name)
		g_source_set_static_name(source, name);
	g_source_set_callback(
	    source,
	    [](gpointer data) -> gboolean {
		    (*static_cast<std::function<void()> *>(data))();
		    return G_SOURCE_REMOVE;
	    },
	    new std::function<void()>(std::move(f)),
	    [](gpointer data) { delete static_cast<std::function<void()> *>(data); });
	g_source_attach(source, context ? context : g_main_context_default());
	g_source_unref(source);
}

} // namespace meshcall
