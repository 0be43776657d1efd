#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end video latency between two meshcall apps: camera to screen. Two
# processes, each the app with a bench role (meshcall-e2e-bench): the sender
# draws the wall-clock time into every camera frame (test bars behind it),
# the receiver reads it back from its room grid when the headless sink shows
# the frame (after the sink's clock sync), latency = now − stamp, one sample
# per sender frame. Both on this machine: one wall clock. Done with the
# default jitter-buffer latency and with the lowest setting (--latency 0).
# Builds nothing: build first (ninja -C BUILDDIR src/server/meshcall-server
# plugins/meshcall/libgstmeshcall.so bench/meshcall-e2e-bench).
#
#   bench/e2e-latency.sh [BUILDDIR] [options]
#     --seconds S          seconds of samples per setting (30)
#     --warmup S           after the receiver's first video, before timing (2)
#     --latencies "default 0"   settings to measure: default, or MS for --latency MS
#     --out DIR            where results go (bench/results)
#
# Runs itself inside tests/netns-run.sh (a private network namespace with only
# loopback), with a fresh meshcall-server on 127.0.0.1:0 and apps on ICE
# address 127.0.0.1; stops only what it started, by PID.
set -euo pipefail
. "$(dirname "$0")/netns-setup.sh"
seconds=30
warmup=2
settings="default 0"
out=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--latencies) settings=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

. bench/call-common.sh
. bench/app-common.sh
server_bin=$builddir/src/server/meshcall-server
bench_bin=$builddir/bench/meshcall-e2e-bench
require_built "$builddir" "$server_bin" "$bench_bin"
use_plugin_of "$builddir"
sender_pid=
receiver_pid=
cleanup() {
	stop_pid "$receiver_pid" INT
	stop_pid "$sender_pid" INT
	stop_server
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
work=$(mktemp -d /tmp/meshcall-e2e.XXXXXX)
load_log=$work/loads.txt
start_server "$work"
url=ws://127.0.0.1:$port/ws

# measure SETTING: one sender, one receiver, a room of their own; appends the
# receiver's RESULT line (or FAILED) to $work/results.
measure() {
	local setting=$1 room=e2e-$1 latency_args=()
	[ "$setting" != default ] && latency_args=(--latency "$setting")
	local app_args=(--server "$url" --room "$room" --headless --events json --camera test
		--mic test --ice-address 127.0.0.1 "${latency_args[@]}")
	local log=$work/$room
	echo "== jitter-buffer latency: $setting" | tee -a "$load_log"
	print_loadavg before
	"$bench_bin" --role send --name sender "${app_args[@]}" \
		</dev/null >"$log.sender.json" 2>"$log.sender.log" &
	sender_pid=$!
	local status=0
	wait_until 30 "the sender to join" "$sender_pid" -- has_event "$log.sender.json" joined ||
		status=1
	if [ "$status" = 0 ]; then
		"$bench_bin" --role receive --name receiver --seconds "$seconds" \
			--warmup "$warmup" --report "$log.txt" "${app_args[@]}" \
			</dev/null >"$log.receiver.json" 2>"$log.receiver.log" &
		receiver_pid=$!
		wait_until 30 "the receiver's first video frame" "$sender_pid" "$receiver_pid" -- \
			has_media "$log.receiver.json" video 1 || status=1
	fi
	if [ "$status" = 0 ]; then
		kill -USR1 "$receiver_pid"
		wait_exit "$receiver_pid" $((${seconds%.*} + ${warmup%.*} + 60)) || status=$?
		receiver_pid=
		[ "$status" = 0 ] || echo "   the receiver exited with status $status" >&2
	fi
	local sender_status=0
	stop_app "$sender_pid" || sender_status=$?
	sender_pid=
	stop_app "$receiver_pid" || true
	receiver_pid=
	[ "$sender_status" = 0 ] || echo "   the sender exited with status $sender_status" >&2
	print_loadavg after
	grep -h '^e2e:' "$log.txt" 2>/dev/null | sed 's/^e2e: /   /' || true
	if [ "$status" != 0 ] || ! grep -q '^RESULT .*ok=1' "$log.txt" 2>/dev/null; then
		echo "   FAILED ($setting); logs: $log.*" >&2
		tail -5 "$log.receiver.log" "$log.sender.log" >&2 2>/dev/null || true
		echo "$setting FAILED" >>"$work/results"
		return 0
	fi
	echo "$setting $(sed -n 's/^RESULT //p' "$log.txt") sender_exit=$sender_status" \
		>>"$work/results"
}

: >"$work/results"
for setting in $settings; do
	measure "$setting"
done

# field SETTING KEY
field() {
	awk -v s="$1" -v k="$2" '$1 == s { for (i = 2; i <= NF; i++) {
		split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$work/results"
}
{
	echo
	echo "end-to-end video latency, sender's camera -> receiver's sink, ms ($seconds s per setting)"
	row() { printf "%-8s | %-14s | %-7s | %-8s | %-13s | %-11s | %-11s | %-11s | %-11s | %s\n" "$@"; }
	row setting "reported" samples unusable "repeats/skips" "shown" "shown" "grid out" "decoded" exits
	row "" "pipeline/video" "" "% frames" "(longest step)" "p50 / p95" "min / max" "p50 / p95" "p50 / p95" "send/recv"
	printf -- "---------+----------------+---------+----------+---------------+-------------+-------------+-------------+-------------+----------\n"
	for s in $settings; do
		if grep -q "^$s FAILED" "$work/results"; then
			printf "%-8s | FAILED (see the log above)\n" "$s"
			continue
		fi
		row "$s" "$(field "$s" pipeline_latency_ms) / $(field "$s" video_latency_ms)" \
			"$(field "$s" count)" "$(field "$s" unusable_pct)" \
			"$(field "$s" repeats)/$(field "$s" skips) ($(field "$s" max_step_ms))" \
			"$(field "$s" p50) / $(field "$s" p95)" "$(field "$s" min) / $(field "$s" max)" \
			"$(field "$s" arrive_p50) / $(field "$s" arrive_p95)" \
			"$(field "$s" decoded_p50) / $(field "$s" decoded_p95)" "$(field "$s" sender_exit)/0"
	done
	p50=$(field default p50)
	if [ -n "$p50" ]; then
		awk -v p="$p50" 'BEGIN { printf "\ndefault latency: p50 %s ms (target <= 120)%s\n", p,
			p <= 120 ? "" : "  ABOVE TARGET" }'
	fi
	echo "(reported: the receiver's latency query, whole pipeline / upstream of its video sink,"
	echo " which syncs to the pipeline's; shown: at the sink's handoff; grid out: when"
	echo " meshcallbin's video_src put the frame out; decoded: out of the receiver's decoder;"
	echo " repeats: grid frames showing a stamp again; skips: steps > 50 ms between the stamps"
	echo " shown, i.e. sender frames (33 ms apart) never shown)"
} | tee "$work/table.txt"
{
	cat "$work/results" "$load_log"
	for s in $settings; do
		echo "== $s"
		cat "$work/e2e-$s.txt" 2>/dev/null || true
	done
	cat "$work/table.txt"
} >"$out/$stamp-e2e-latency.txt"
echo "   saved $out/$stamp-e2e-latency.txt"
rm -rf "$work"
