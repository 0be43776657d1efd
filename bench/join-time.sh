#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Join time of meshcallbin: a room of two sending peers, then N times a third
# sending pipeline goes to PLAYING; time until it has decoded a video frame
# from both, with where the time goes. Builds nothing: build first
# (ninja -C BUILDDIR src/server/meshcall-server plugins/meshcall/libgstmeshcall.so
#  bench/meshcall-join-bench).
#
#   bench/join-time.sh [BUILDDIR] [options]
#     --rounds N          joins to time (20)
#     --size WxH          video the three peers send (640x360)
#     --extra 'k=v ...'   more meshcallbin properties for all three (e.g. latency=200)
#     --pause S           between a leave and the next join (1)
#     --verbose           every step of every round
#     --try K=V           experiment the bench applies inside every webrtcbin:
#                         ice-tcp=0|1, stun-pacing-timer=MS, faststart=PACKETS
#     --plugin-dir DIR    load meshcallbin from DIR (BUILDDIR/plugins/meshcall), e.g.
#                         to compare a build of another revision
#     --out DIR           where results go (bench/results)
#
# Runs itself inside tests/netns-run.sh (a private network namespace with only
# loopback), with a fresh meshcall-server on 127.0.0.1:0 that it stops with
# SIGTERM to the PID it started, nothing else.
set -euo pipefail
. "$(dirname "$0")/netns-setup.sh"
bench_args=()
plugin_dir=
out=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--rounds | --size | --extra | --pause | --try) bench_args+=("$1" "$2"); shift 2 ;;
	--verbose) bench_args+=("$1"); shift ;;
	--plugin-dir) plugin_dir=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

server_bin=$builddir/src/server/meshcall-server
bench_bin=$builddir/bench/meshcall-join-bench
plugin_dir=$(realpath "${plugin_dir:-$builddir/plugins/meshcall}")
plugin=$plugin_dir/libgstmeshcall.so
for f in "$server_bin" "$bench_bin" "$plugin"; do
	if [ ! -e "$f" ]; then
		echo "missing $f: build it first (ninja -C $builddir ${f#"$builddir"/})" >&2
		exit 2
	fi
done
export GST_PLUGIN_PATH_1_0=$plugin_dir
# A registry of our own per plugin directory, never the user's.
export GST_REGISTRY_1_0=$PWD/$builddir/bench/gst-registry-$(echo "$plugin_dir" | md5sum | cut -c1-8).bin

. bench/call-common.sh
# Builds the registry now rather than inside the first measured process.
if ! gst-inspect-1.0 meshcallbin >/dev/null 2>&1; then
	echo "gst-inspect-1.0 cannot load meshcallbin from $plugin_dir" >&2
	exit 2
fi
trap stop_server EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
work=$(mktemp -d /tmp/meshcall-join.XXXXXX)
start_server "$work" --capacity 3
echo "   meshcallbin from $plugin"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$bench_bin" --server "ws://127.0.0.1:$port/ws" "${bench_args[@]}" | tee "$work/join.txt" ||
	status=$?
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$work/join.txt" "$out/$stamp-join-time.txt"
echo "   saved $out/$stamp-join-time.txt"
rm -rf "$work"
exit "$status"
