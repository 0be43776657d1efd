// SPDX-License-Identifier: LGPL-2.1-or-later
/* The meshcall app: `switchvideosrc ! meshcallbin ! window` (docs/design.md, part 4)
 * with chat and commands on stdin, readable room events on stderr and, with
 * --events json, one JSON object per event on stdout.
 *
 * Everything runs on the default main context: the bus watch, stdin and the
 * element signals the app connects to. Only the stats timer has a thread of
 * its own, because meshcallbin's get-stats may block up to 0.5 s per peer. */
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "options.h"

namespace meshcall::app
{

class StatsThread;

class App
{
public:
	explicit App(Options options);
	~App();
	App(const App &) = delete;
	App &operator=(const App &) = delete;

	/* Builds the pipeline. On failure returns the exit code and has said why. */
	int build();
	GstElement *pipeline() const { return pipeline_; }
	GstElement *call() const { return call_; } /* the meshcallbin */

	/* Starts the call; `on_quit` runs (on the main context) once the app
	 * wants to stop: /quit, or a fatal error (see exit_code()). */
	void start(std::function<void()> on_quit);
	/* Leaves the room and stops the pipeline. */
	void stop();
	int exit_code() const { return exit_code_; }

	/* One line typed on stdin. */
	void handle_line(const std::string &line);

	/* Builds (unless build() was called), runs until /quit, SIGINT/SIGTERM
	 * or a fatal error, reading stdin; returns the exit code. */
	int run();

private:
	static gboolean on_bus_message(GstBus *, GstMessage *message, gpointer data);
	void on_element_message(GstMessage *message);
	void on_error(GstMessage *message);
	void on_warning(GstMessage *message);
	void on_joined(const GstStructure *s);
	void on_device_message(GstElement *source, const GstStructure *s);
	void announce_test_sources();
	void print_devices(bool human);
	void switch_device(GstElement *source, const char *what, const std::string &arg);
	void toggle(const char *property, const char *what, const char *off_text,
		    const char *on_text);
	std::string name_of(const std::string &id) const;
	void fail(int code, const std::string &error_code, const std::string &message);

	Options options_;
	GstElement *pipeline_ = nullptr; /* owned */
	GstElement *call_ = nullptr;	 /* owned by pipeline_ */
	GstElement *camera_ = nullptr;	 /* owned by pipeline_ */
	GstElement *mic_ = nullptr;	 /* owned by pipeline_ */
	guint bus_watch_ = 0;
	std::function<void()> on_quit_;
	std::unique_ptr<StatsThread> stats_;
	int exit_code_ = kExitOk;
	bool joined_ = false;
	std::string my_id_;
	std::map<std::string, std::string> names_; /* peer id → display name */
	std::set<std::string> announced_;	   /* peers reported in `joined` */
};

/* --list-devices: prints the cameras and microphones (numbered as /camera and
 * /mic take them), or one `devices` event with --events json. */
int list_devices(bool json);

} // namespace meshcall::app
