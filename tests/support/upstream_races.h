// SPDX-License-Identifier: LGPL-2.1-or-later
/* GStreamer 1.22.0's rtpsession drops its session lock inside a
 * g_hash_table_foreach() over its sources (rtp_session_on_timeout() ->
 * schedule_remaining_nacks()); a packet of a new SSRC arriving in that window
 * (typically at a join, when the first packets, dropped for want of SRTP keys,
 * get NACKed) makes GLib report "g_hash_table_foreach: assertion 'version ==
 * hash_table->version' failed" on the rtpsession-rtcp thread and stop that
 * loop: one round of NACK scheduling is cut short. Not ours; under
 * G_DEBUG=fatal-criticals it aborted the leave tests now and then (3 times in
 * about 40 runs). Exactly that message on that thread is let through, and
 * counted; everything else stays fatal. Header-only: the integration fixture
 * and the browser suite's test peer both use it. */
#pragma once

#include <atomic>

#include <glib.h>
#include <pthread.h>

namespace meshcall::test
{

inline std::atomic<unsigned> &upstream_rtpsession_race_count()
{
	static std::atomic<unsigned> count{0};
	return count;
}

inline gboolean fatal_unless_rtpsession_race(const gchar *domain, GLogLevelFlags,
					     const gchar *message, gpointer)
{
	char thread[16] = "";
	pthread_getname_np(pthread_self(), thread, sizeof thread);
	if (g_strcmp0(domain, "GLib") == 0 && g_str_equal(thread, "rtpsession-rtcp") &&
	    g_str_equal(
		message,
		"g_hash_table_foreach: assertion 'version == hash_table->version' failed")) {
		upstream_rtpsession_race_count()++;
		return FALSE;
	}
	return TRUE;
}

/* Call before gst_init(). */
inline void spare_upstream_rtpsession_race()
{
	g_test_log_set_fatal_handler(fatal_unless_rtpsession_race, nullptr);
}

} // namespace meshcall::test
