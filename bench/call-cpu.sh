#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What sending costs meshcallbin per remote peer. One measured gst-launch-1.0
# pipeline (640x360 30 fps test video + test audio into a meshcallbin) sits in
# a room with N receive-only meshcallbins (another process, which only
# receives, so the measured process pays only for sending); after every
# receiver decodes its video and a warm-up, its CPU time (utime+stime) and
# RSS are read from /proc over a window. Done with the shared encoder and with
# encoder-per-peer=true (one encoder per peer, as a browser does). Builds
# nothing: build first (ninja -C BUILDDIR src/server/meshcall-server
# plugins/meshcall/libgstmeshcall.so bench/meshcall-call-receivers).
#
#   bench/call-cpu.sh [BUILDDIR] [options]
#     --peers "0 1 2 3 5"   room sizes to measure, remote peers (0: alone)
#     --modes "shared per-peer"
#     --window S            measured seconds per run (20)
#     --warmup S            after every receiver decodes (5)
#     --size WxH            video the measured pipeline sends (640x360)
#     --grid WxH            its meshcallbin's video_src grid (320x180: small, it
#                           shows nobody and is not what is measured)
#     --plugin-dir DIR      load meshcallbin from DIR (BUILDDIR/plugins/meshcall)
#     --out DIR             where results go (bench/results)
#
# Runs itself inside tests/netns-run.sh (a private network namespace with only
# loopback), with a meshcall-server of its own on 127.0.0.1:0 (--capacity 6).
# Stops only what it started, by PID.
set -euo pipefail
. "$(dirname "$0")/netns-setup.sh"
peer_counts="0 1 2 3 5"
modes="shared per-peer"
window=20
warmup=5
size=640x360
grid=320x180
plugin_dir=
out=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--peers) peer_counts=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--window) window=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--grid) grid=$2; shift 2 ;;
	--plugin-dir) plugin_dir=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,24p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

server_bin=$builddir/src/server/meshcall-server
receivers_bin=$builddir/bench/meshcall-call-receivers
plugin_dir=$(realpath "${plugin_dir:-$builddir/plugins/meshcall}")
for f in "$server_bin" "$receivers_bin" "$plugin_dir/libgstmeshcall.so"; do
	if [ ! -e "$f" ]; then
		echo "missing $f: build it first (ninja -C $builddir ${f#"$builddir"/})" >&2
		exit 2
	fi
done
if ! command -v gst-launch-1.0 >/dev/null; then
	echo "gst-launch-1.0 is missing (gstreamer1.0-tools)" >&2
	exit 2
fi
export GST_PLUGIN_PATH_1_0=$plugin_dir
# A registry of our own per plugin directory, never the user's.
export GST_REGISTRY_1_0=$PWD/$builddir/bench/gst-registry-$(echo "$plugin_dir" | md5sum | cut -c1-8).bin

. bench/call-common.sh
# Builds the registry now rather than inside the first measured process.
if ! gst-inspect-1.0 meshcallbin >/dev/null 2>&1; then
	echo "gst-inspect-1.0 cannot load meshcallbin from $plugin_dir" >&2
	exit 2
fi
sender_pid=
cleanup() {
	stop_pid "$sender_pid" INT
	stop_server
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
work=$(mktemp -d /tmp/meshcall-call-cpu.XXXXXX)
start_server "$work" --capacity 6
url=ws://127.0.0.1:$port/ws
width=${size%x*}
height=${size#*x}
echo "   meshcallbin from $plugin_dir"

# run MODE PEERS: one measured pipeline, PEERS receivers; appends to results.
run() {
	local mode=$1 peers=$2 per_peer=false
	[ "$mode" = per-peer ] && per_peer=true
	local room=cpu-$mode-$peers
	echo "== $mode encoder, $peers remote peer(s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
	gst-launch-1.0 -q \
		videotestsrc is-live=true pattern=ball ! \
		"video/x-raw,width=$width,height=$height,framerate=30/1" ! m.video_sink \
		audiotestsrc is-live=true ! m.audio_sink \
		meshcallbin name=m server="$url" room="$room" display-name=measured \
		ice-addresses=127.0.0.1 encoder-per-peer=$per_peer width="${grid%x*}" height="${grid#*x}" \
		m.video_src ! fakesink m.audio_src ! fakesink \
		>"$work/$room.sender.log" 2>&1 &
	sender_pid=$!
	local status=0
	"$receivers_bin" --server "$url" --room "$room" --peers "$peers" --sender measured \
		--sender-pid "$sender_pid" --warmup "$warmup" --window "$window" |
		tee "$work/$room.txt" || status=$?
	if ! kill -0 "$sender_pid" 2>/dev/null; then
		echo "the measured pipeline died; its log:" >&2
		tail -20 "$work/$room.sender.log" >&2
		status=1
	fi
	stop_pid "$sender_pid" INT
	sender_pid=
	if [ "$status" != 0 ]; then
		echo "   FAILED ($mode, $peers peers)" >&2
		echo "$mode $peers FAILED" >>"$work/results"
		return 0
	fi
	sed -n "s/^RESULT /$mode /p" "$work/$room.txt" >>"$work/results"
}

: >"$work/results"
for mode in $modes; do
	for n in $peer_counts; do
		run "$mode" "$n"
	done
done

# value MODE PEERS KEY
value() {
	awk -v m="$1" -v n="peers=$2" -v k="$3" '$1 == m && $2 == n {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' \
		"$work/results"
}
cell() { # MODE PEERS KEY: the value, or "-"
	local v
	v=$(value "$1" "$2" "$3")
	echo "${v:--}"
}

{
	echo
	echo "sending cost of the measured pipeline ($size, 30 fps; CPU seconds per minute = % of one core x 0.6)"
	printf "%-6s | %-17s | %-8s | %-10s | %-21s | %-8s | %-10s\n" peers "CPU s/min shared" "RSS MB" "rx fps" \
		"CPU s/min per-peer-enc" "RSS MB" "rx fps"
	printf -- "-------+-------------------+----------+------------+-----------------------+----------+-----------\n"
	for n in $peer_counts; do
		fps_s=$(cell shared "$n" min_fps)
		fps_p=$(cell per-peer "$n" min_fps)
		[ "$n" = 0 ] && fps_s=- && fps_p=-
		printf "%-6s | %-17s | %-8s | %-10s | %-21s | %-8s | %-10s\n" "$n" \
			"$(cell shared "$n" cpu_s_per_min)" "$(cell shared "$n" rss_mb)" "$fps_s" \
			"$(cell per-peer "$n" cpu_s_per_min)" "$(cell per-peer "$n" rss_mb)" "$fps_p"
	done
	c1=$(value shared 1 cpu_s_per_min)
	c2=$(value shared 2 cpu_s_per_min)
	if [ -n "$c1" ] && [ -n "$c2" ]; then
		awk -v a="$c1" -v b="$c2" 'BEGIN { r = b / a; printf "\nshared encoder: CPU(2)/CPU(1) = %.2f (target <= 1.2)%s\n", r, r <= 1.2 ? "" : "  ABOVE TARGET" }'
	fi
	echo "(rx fps: the slowest receiver's decoded frames per second of the measured video;"
	echo " runq/other columns per run are in the log above: high values mean a busy machine)"
	grep -h "FAILED" "$work/results" | sed 's/^/failed: /' || true
} | tee "$work/table.txt"
cat "$work"/*.txt >"$out/$stamp-call-cpu.txt"
echo "   saved $out/$stamp-call-cpu.txt"
rm -rf "$work"
