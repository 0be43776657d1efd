// SPDX-License-Identifier: LGPL-2.1-or-later
/* CPU, memory and scheduling figures from /proc, sampled before and after a window. */
#pragma once

#include <cstdint>

namespace meshcall::bench
{

struct ProcSample {
	long rss_kb = -1;
	long hwm_kb = -1;
	double cpu_s = -1;
	/* Time runnable but waiting for a CPU (schedstat): other load on the machine. */
	double runq_wait_s = -1;
};

/* Whole machine, from /proc/stat: CPU seconds busy, summed over all CPUs. */
struct MachineSample {
	double busy_s = 0;
	int cpus = 1;
};
MachineSample sample_machine();

/* VmRSS, VmHWM, CPU and run-queue time of a process (0: this one); -1 where
 * unknown (process gone). */
ProcSample sample_proc(long pid);

/* Run-queue wait in seconds summed over the threads of a process (0: this
 * one) alive now (/proc/PID/schedstat is the main thread's only): how long
 * it was runnable but not running; -1 when the process is gone. */
double runq_wait_threads(long pid);

} // namespace meshcall::bench
