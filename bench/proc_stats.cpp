// SPDX-License-Identifier: LGPL-2.1-or-later
#include "proc_stats.h"

#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <string>
#include <unistd.h>

namespace meshcall::bench
{

ProcSample sample_proc(long pid)
{
	ProcSample s;
	if (pid < 0)
		return s;
	if (pid == 0)
		pid = long(getpid());
	char path[64];
	std::snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	if (FILE *f = std::fopen(path, "r")) {
		unsigned long long run_ns = 0, wait_ns = 0;
		if (std::fscanf(f, "%llu %llu", &run_ns, &wait_ns) == 2)
			s.runq_wait_s = double(wait_ns) / 1e9;
		std::fclose(f);
	}
	std::snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (FILE *f = std::fopen(path, "r")) {
		char line[256];
		while (std::fgets(line, sizeof(line), f)) {
			std::sscanf(line, "VmRSS: %ld", &s.rss_kb);
			std::sscanf(line, "VmHWM: %ld", &s.hwm_kb);
		}
		std::fclose(f);
	}
	std::snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (FILE *f = std::fopen(path, "r")) {
		char buf[1024];
		const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		std::fclose(f);
		/* Fields 14 and 15 (utime, stime) follow the parenthesised comm. */
		if (const char *p = std::strrchr(buf, ')')) {
			unsigned long utime = 0, stime = 0;
			if (std::sscanf(p + 2,
					"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
					&utime, &stime) == 2)
				s.cpu_s = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
		}
	}
	return s;
}

double runq_wait_threads(long pid)
{
	if (pid == 0)
		pid = long(getpid());
	const std::string dir = "/proc/" + std::to_string(pid) + "/task";
	DIR *d = opendir(dir.c_str());
	if (!d)
		return -1;
	double total = 0;
	while (const dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		const std::string path = dir + "/" + e->d_name + "/schedstat";
		if (FILE *f = std::fopen(path.c_str(), "r")) {
			unsigned long long run_ns = 0, wait_ns = 0;
			if (std::fscanf(f, "%llu %llu", &run_ns, &wait_ns) == 2)
				total += double(wait_ns) / 1e9;
			std::fclose(f);
		}
	}
	closedir(d);
	return total;
}

MachineSample sample_machine()
{
	MachineSample m;
	m.cpus = int(sysconf(_SC_NPROCESSORS_ONLN));
	if (FILE *f = std::fopen("/proc/stat", "r")) {
		unsigned long long v[8] = {};
		if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
				&v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
			/* user nice system idle iowait irq softirq steal: busy is all but idle. */
			const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
			m.busy_s = double(busy) / double(sysconf(_SC_CLK_TCK));
		}
		std::fclose(f);
	}
	return m;
}

} // namespace meshcall::bench
