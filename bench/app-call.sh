#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the meshcall app costs in a three-way call: three `meshcall --headless
# --events json --camera test --mic test` processes in one room; once each
# has video and audio from both others (its `media` events) and a warm-up,
# each one's CPU (utime+stime from /proc/PID/stat) over a window, then its
# RSS and peak RSS (VmRSS, VmHWM), with the frames and audio buffers each
# received per second in the window (its `stats` events) to show the call
# kept flowing. Builds nothing: build first (ninja -C BUILDDIR
# src/server/meshcall-server plugins/meshcall/libgstmeshcall.so src/app/meshcall).
#
#   bench/app-call.sh [BUILDDIR] [options]
#     --seconds S     measured window (30)
#     --warmup S      after every app receives both others (5)
#     --out DIR       where results go (bench/results)
#
# Runs itself inside tests/netns-run.sh (a private network namespace with only
# loopback), with a fresh meshcall-server on 127.0.0.1:0 and the apps on ICE
# address 127.0.0.1; stops only what it started, by PID (SIGINT for the apps,
# which leave the room; each must exit 0).
set -euo pipefail
. "$(dirname "$0")/netns-setup.sh"
seconds=30
warmup=5
out=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

. bench/call-common.sh
. bench/app-common.sh
server_bin=$builddir/src/server/meshcall-server
app_bin=$builddir/src/app/meshcall
require_built "$builddir" "$server_bin" "$app_bin"
use_plugin_of "$builddir"
names=(anna ben carl)
declare -A pid
cleanup() {
	for n in "${names[@]}"; do
		stop_pid "${pid[$n]:-}" INT
	done
	stop_server
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
work=$(mktemp -d /tmp/meshcall-app-call.XXXXXX)
hz=$(getconf CLK_TCK)
load_log=$work/loads.txt

# cpu_ticks PID: utime + stime (fields 14 and 15; after the ")" of comm).
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
# runq_ns PID: time its threads alive now spent runnable but waiting for a
# CPU (schedstat), in ns: how much the rest of the machine held it back.
runq_ns() {
	cat "/proc/$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f", s }'
}
# machine_ticks: busy and total ticks of all CPUs (/proc/stat).
machine_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i;
		print t - $5 - $6, t; exit }' /proc/stat
}
# status_mib PID FIELD: VmRSS or VmHWM in MiB.
status_mib() {
	awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}
# all_in_call: every app has video and audio from both others.
all_in_call() {
	local n
	for n in "${names[@]}"; do
		has_media "$work/$n.json" video 2 && has_media "$work/$n.json" audio 2 || return 1
	done
}
# rx_rates FILE FROM_MS TO_MS: the lowest video frames/s and audio buffers/s
# over its peers between the first and the last `stats` event in the window.
rx_rates() {
	awk -v from="$2" -v to="$3" '
	/^{"event":"stats"/ {
		match($0, /"ts":[0-9]+/); ts = substr($0, RSTART + 5, RLENGTH - 5) + 0
		if (ts < from || ts > to) next
		rest = $0
		while (match(rest, /"id":"[^"]*","rtt_ms":[^,]*,"video_frames_rx":[0-9]+,"audio_buffers_rx":[0-9]+/)) {
			s = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
			split(s, f, /[:,"]+/)	# f[3] id, f[7] frames, f[9] buffers
			if (!(f[3] in t0)) { t0[f[3]] = ts; v0[f[3]] = f[7]; a0[f[3]] = f[9] }
			t1[f[3]] = ts; v1[f[3]] = f[7]; a1[f[3]] = f[9]
		}
	}
	END {
		vmin = amin = -1
		for (id in t0) {
			if (t1[id] <= t0[id]) continue
			d = (t1[id] - t0[id]) / 1000
			v = (v1[id] - v0[id]) / d; a = (a1[id] - a0[id]) / d
			if (vmin < 0 || v < vmin) vmin = v
			if (amin < 0 || a < amin) amin = a
		}
		if (vmin < 0) print "- -"; else printf "%.1f %.1f\n", vmin, amin
	}' "$1"
}

print_loadavg "before starting the apps"
start_server "$work"
url=ws://127.0.0.1:$port/ws
for n in "${names[@]}"; do
	"$app_bin" --server "$url" --room app-call --name "$n" --headless --events json \
		--camera test --mic test --ice-address 127.0.0.1 \
		</dev/null >"$work/$n.json" 2>"$work/$n.log" &
	pid[$n]=$!
done
if ! wait_until 60 "every app to receive video and audio from both others" \
	"${pid[@]}" -- all_in_call; then
	for n in "${names[@]}"; do
		echo "-- $n: $(grep -c '"event":"media"' "$work/$n.json" || true) media events" >&2
		tail -5 "$work/$n.log" >&2
	done
	exit 1
fi
echo "   every app receives video and audio from both others; warm-up $warmup s"
sleep "$warmup"

print_loadavg "at the start of the window"
declare -A ticks0 ticks1 runq0 runq1 rss0
for n in "${names[@]}"; do
	rss0[$n]=$(status_mib "${pid[$n]}" VmRSS)
	ticks0[$n]=$(cpu_ticks "${pid[$n]}")
	runq0[$n]=$(runq_ns "${pid[$n]}")
done
read -r busy0 total0 < <(machine_ticks)
t0=$(date +%s%N)
sleep "$seconds"
for n in "${names[@]}"; do
	ticks1[$n]=$(cpu_ticks "${pid[$n]}")
	runq1[$n]=$(runq_ns "${pid[$n]}")
done
read -r busy1 total1 < <(machine_ticks)
t1=$(date +%s%N)
declare -A rss hwm
for n in "${names[@]}"; do
	rss[$n]=$(status_mib "${pid[$n]}" VmRSS)
	hwm[$n]=$(status_mib "${pid[$n]}" VmHWM)
done
print_loadavg "at the end of the window"
# Stats events come every 2 s; wait for the one that closes the window.
wait_until 10 "the apps' stats after the window" "${pid[@]}" -- \
	awk -v t="$((t1 / 1000000))" '/^{"event":"stats"/ { match($0, /"ts":[0-9]+/);
		if (substr($0, RSTART + 5, RLENGTH - 5) + 0 >= t) found = 1 }
		END { exit !found }' "$work/${names[2]}.json" || true

status=0
declare -A exit_code
for n in "${names[@]}"; do
	exit_code[$n]=0
	stop_app "${pid[$n]}" || exit_code[$n]=$?
	pid[$n]=
	[ "${exit_code[$n]}" = 0 ] || status=1
done
stop_server

wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
{
	echo
	echo "three-way call, meshcall --headless --camera test --mic test (640x360 VP8 + Opus);"
	echo "window ${wall} s after a ${warmup} s warm-up"
	row() { printf "%-6s | %-13s | %-13s | %-12s | %-11s | %-16s | %-14s | %s\n" "$@"; }
	row app "CPU % of core" "RSS MiB" "peak RSS MiB" "waiting for" "rx video fps min" \
		"rx audio buf/s" "exit (SIGINT)"
	row "" "" "start -> end" "" "a CPU %" "" "" ""
	printf -- "-------+---------------+---------------+--------------+-------------+------------------+----------------+--------------\n"
	ours=0
	for n in "${names[@]}"; do
		d=$((ticks1[$n] - ticks0[$n]))
		ours=$((ours + d))
		read -r vfps abuf < <(rx_rates "$work/$n.json" "$((t0 / 1000000))" "$((t1 / 1000000))")
		row "$n" \
			"$(awk -v d="$d" -v hz="$hz" -v w="$wall" 'BEGIN { printf "%.1f", 100 * d / hz / w }')" \
			"${rss0[$n]} -> ${rss[$n]}" "${hwm[$n]}" \
			"$(awk -v d="$((runq1[$n] - runq0[$n]))" -v w="$wall" 'BEGIN { printf "%.1f", 100 * d / 1e9 / w }')" \
			"$vfps" "$abuf" "${exit_code[$n]}"
	done
	awk -v b="$((busy1 - busy0))" -v t="$((total1 - total0))" -v o="$ours" \
		-v hz="$hz" -v w="$wall" -v cpus="$(nproc)" 'BEGIN {
		machine = 100 * cpus * b / t; apps = 100 * o / hz / w
		# The two clocks are sampled a moment apart: a few % of noise.
		others = machine - apps; if (others < 0) others = 0
		printf "machine busy in the window: %.0f %% of one core (of %d00 %%); the three apps %.0f %%, other processes %.0f %%\n",
			machine, cpus, apps, others }'
	echo "(waiting for a CPU: run-queue time of its threads (schedstat) per second of the window;"
	echo " rx: the lowest over the two peers each app receives, from its stats events in the window)"
} | tee "$work/table.txt"
print_loadavg "after stopping the apps"
{
	cat "$load_log" "$work/table.txt"
	for n in "${names[@]}"; do
		echo "== $n (stderr)"
		cat "$work/$n.log"
	done
} >"$out/$stamp-app-call.txt"
echo "   saved $out/$stamp-app-call.txt"
rm -rf "$work"
exit "$status"
