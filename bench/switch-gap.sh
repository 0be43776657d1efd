#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the remote peer sees and hears when a peer switches camera or
# microphone mid-call: a sender (switchvideosrc / switchaudiosrc on the fake
# devices of tests/fakedevices) and a receiver in a room; N camera switches
# (Red → Green → Blue → …), N microphone switches in place (440 Hz ↔ 1000 Hz)
# and N between a microphone and `test` (a new source), ~1.5 s apart; per
# switch the longest gap between decoded buffers at the receiver and the time
# to the new device's first one (meshcall-switch-bench). Builds nothing: build
# first, with tests enabled for the fake devices
# (meson setup BUILDDIR -Dtests=enabled; ninja -C BUILDDIR src/server/meshcall-server
#  plugins/meshcall/libgstmeshcall.so tests/fakedevices/libgstmeshcalltest.so
#  bench/meshcall-switch-bench).
#
#   bench/switch-gap.sh [BUILDDIR] [options]
#     --rounds N     switches of each kind (20)
#     --spacing S    seconds between switches (1.5)
#     --verbose      every buffer around every switch, at both ends
#     --out DIR      where results go (bench/results)
#
# Runs itself inside tests/netns-run.sh (a private network namespace with only
# loopback), with a fresh meshcall-server on 127.0.0.1:0 that it stops with
# SIGTERM to the PID it started, nothing else.
set -euo pipefail
. "$(dirname "$0")/netns-setup.sh"
bench_args=()
out=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--rounds | --spacing) bench_args+=("$1" "$2"); shift 2 ;;
	--verbose) bench_args+=("$1"); shift ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

server_bin=$builddir/src/server/meshcall-server
bench_bin=$builddir/bench/meshcall-switch-bench
plugin_dir=$(realpath "$builddir/plugins/meshcall")
fake_dir=$(realpath "$builddir/tests/fakedevices")
for f in "$server_bin" "$bench_bin" "$plugin_dir/libgstmeshcall.so" \
	"$fake_dir/libgstmeshcalltest.so"; do
	if [ ! -e "$f" ]; then
		echo "missing $f: build it first (meson setup $builddir -Dtests=enabled;" \
			"ninja -C $builddir ${f#"$PWD/"})" >&2
		exit 2
	fi
done
export GST_PLUGIN_PATH_1_0=$plugin_dir:$fake_dir
# A registry of our own, never the user's.
export GST_REGISTRY_1_0=$PWD/$builddir/bench/gst-registry-switch.bin

. bench/call-common.sh
# Builds the registry now rather than inside the measured process.
for element in meshcallbin switchvideosrc meshcallfakesrc; do
	if ! gst-inspect-1.0 "$element" >/dev/null 2>&1; then
		echo "gst-inspect-1.0 cannot load $element from $GST_PLUGIN_PATH_1_0" >&2
		exit 2
	fi
done
trap stop_server EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
work=$(mktemp -d /tmp/meshcall-switch.XXXXXX)
start_server "$work"
{
	echo "   meshcallbin from $plugin_dir, fake devices from $fake_dir"
	echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) processors)"
} | tee "$work/switch.txt"
status=0
"$bench_bin" --server "ws://127.0.0.1:$port/ws" "${bench_args[@]}" | tee -a "$work/switch.txt" ||
	status=$?
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$work/switch.txt"
cp "$work/switch.txt" "$out/$stamp-switch-gap.txt"
echo "   saved $out/$stamp-switch-gap.txt"
rm -rf "$work"
exit "$status"
