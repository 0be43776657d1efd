#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How well a call rides out failures (docs/protocol.md, "Keeping the call
# through failures"), from the integration tests' own scenarios run N times:
#   - server outage: three pipelines in a call, meshcall-server SIGKILLed (and,
#     separately, SIGTERMed) and started again 8 s later on the same port; per
#     outage the longest gap in frames decoded from any other peer at any
#     pipeline (tests/integration/test_outage.cpp);
#   - UDP/TCP blackout: everything between two of three pipelines dropped for
#     15 s; per run the time from the end of the blackout to media flowing
#     both ways again (tests/integration/test_reconnect.cpp).
# Prints p50/p95/max of each. Builds nothing: build first with tests
# (meson setup BUILDDIR && ninja -C BUILDDIR).
#
#   bench/resilience.sh [BUILDDIR] [--runs N] [--out DIR]
#     --runs N   outages per signal and blackouts (10)
#     --out DIR  where results go (bench/results)
#
# Runs inside tests/netns-run.sh (a private network namespace with only
# loopback); the tests start and stop their own servers by PID.
set -euo pipefail
. "$(dirname "$0")/netns-setup.sh"
runs=10
out=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

outage_bin=$builddir/tests/integration/test-integration-outage
reconnect_bin=$builddir/tests/integration/test-integration-reconnect
for f in "$outage_bin" "$reconnect_bin" "$builddir/src/server/meshcall-server" \
	"$builddir/plugins/meshcall/libgstmeshcall.so"; do
	[ -e "$f" ] || { echo "missing $f: build $builddir first" >&2; exit 2; }
done
export GST_PLUGIN_PATH_1_0=$(realpath "$builddir/plugins/meshcall"):$(realpath "$builddir/tests/fakedevices")
export GST_REGISTRY_1_0=$PWD/$builddir/bench/gst-registry-resilience.bin
export GST_REGISTRY_FORK=no
export GSETTINGS_BACKEND=memory
export MESHCALL_SOURCE_ROOT=$PWD MESHCALL_BUILD_ROOT=$PWD/$builddir
export XDG_STATE_HOME=$PWD/$builddir/test-state

mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
log=$out/$stamp-resilience.log
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$log"

# summary NAME: p50/p95/max of the numbers on stdin, one per line.
summary() {
	sort -n | awk -v name="$1" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { printf "%-34s no figures\n", name; exit }
			p50 = v[int((NR - 1) * 0.50) + 1]; p95 = v[int((NR - 1) * 0.95) + 1]
			printf "%-34s p50 %6.0f ms  p95 %6.0f ms  max %6.0f ms  (n=%d)\n", name, p50, p95, v[NR], NR
		}'
}

for signal in Killed Stopped; do
	echo "== server outage ($signal), $runs runs" | tee -a "$log"
	"$outage_bin" --gtest_filter="*Server${signal}*" --gtest_repeat="$runs" >>"$log" 2>&1 || true
done
echo "== blackout between two of three peers, $runs runs" | tee -a "$log"
"$reconnect_bin" --gtest_repeat="$runs" >>"$log" 2>&1 || true

echo
sed -n 's/^outage (signal 9): longest gap \([0-9.]*\) ms.*/\1/p' "$log" |
	summary "outage gap, SIGKILL (target 100)"
sed -n 's/^outage (signal 15): longest gap \([0-9.]*\) ms.*/\1/p' "$log" |
	summary "outage gap, SIGTERM (target 100)"
sed -n 's/^media back \([0-9.]*\) ms after the unblock/\1/p' "$log" |
	summary "blackout recovery (target 2000)"
echo "   failed runs: $(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$log" || true); log: $log"
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
