// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall: join a meshcall room from a desktop, a Raspberry Pi or a script.
 * See README.md, "The meshcall app". */
#include <clocale>

#include <gst/gst.h>

#include "app.h"
#include "options.h"

int main(int argc, char **argv)
{
	using namespace meshcall::app;
	std::setlocale(LC_ALL, "");
	/* libcamera's device provider logs every probe at INFO on stderr, where
	 * the room's events go: keep its warnings and errors only. */
	g_setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", FALSE);
	Options options;
	std::string error;
	switch (parse_options(argc, argv, options, error, gst_init_get_option_group())) {
	case ParseResult::ExitOk:
		return kExitOk;
	case ParseResult::BadArgs:
		g_printerr("meshcall: %s (meshcall --help)\n", error.c_str());
		return kExitBadArguments;
	case ParseResult::Run:
		break;
	}
	gst_init(nullptr, nullptr);
	int code;
	if (options.list_devices) {
		code = list_devices(options.events_json);
	} else {
		App app(std::move(options));
		code = app.run();
	}
	gst_deinit();
	return code;
}
