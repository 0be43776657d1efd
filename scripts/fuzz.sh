#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets of fuzz/ with clang, ASan and UBSan in a build
# directory of their own, then runs each for SECONDS (default 30) on a copy of
# its seed corpus fuzz/corpus/<name>, so the checked-in corpus never grows.
#   scripts/fuzz.sh [SECONDS]
# Prints one line per target. A crash, sanitizer report, leak, timeout (5 s
# per input) or RSS over 1 GiB fails the run: the input is kept in
# build-fuzz/findings/<name>/ and its path printed; logs are in
# build-fuzz/fuzz-logs/. Exits 0 when every target passed, 1 otherwise, 77
# when clang has no libFuzzer. build-fuzz/fuzz-results.txt gets one line per
# target ("passed NAME" or "failed NAME WHY") for scripts/test-summary.py.
# MESHCALL_FUZZ_JOBS targets run at a time (default: the number of CPUs).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: scripts/fuzz.sh [SECONDS]" >&2
	exit 2
fi
builddir=build-fuzz
results=$builddir/fuzz-results.txt
jobs=${MESHCALL_FUZZ_JOBS:-$(nproc)}

names=()
for dir in fuzz/corpus/*/; do
	names+=("$(basename "$dir")")
done

mkdir -p "$builddir"
: >"$results"

# What meson's fuzzing option checks too, so a machine without libFuzzer
# skips rather than fails.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const char *, unsigned long) { return 0; }' \
	>"$probe/probe.cpp"
if ! clang++ -fsanitize=fuzzer "$probe/probe.cpp" -o "$probe/probe" 2>/dev/null; then
	echo "fuzz: skipped, no clang++ with libFuzzer (scripts/install-deps.sh installs it)"
	echo "skipped fuzz no clang++ with libFuzzer" >>"$results"
	exit 77
fi

if [ ! -f "$builddir/build.ninja" ]; then
	# Whatever a failed setup left behind would stop the next one.
	rm -rf "$builddir/meson-private"
	# Only meshcall-server's sources are fuzzed; the rest is left out.
	CC=clang CXX=clang++ meson setup "$builddir" -Dfuzzing=enabled \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dserver=enabled -Dplugin=disabled -Dapp=disabled -Dtests=disabled \
		-Dbrowser_tests=disabled >&2
fi
if ! ninja -C "$builddir" "${names[@]/#/fuzz/fuzz-}" >&2; then
	echo "fuzz: build of $builddir failed"
	echo "failed $builddir build failed" >>"$results"
	exit 1
fi

# A finding must stop the target: UBSan halts, GLib criticals abort (as in
# the test suites), leaks are reported per input by libFuzzer.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export G_DEBUG=fatal-criticals

work=$(mktemp -d)
trap 'rm -rf "$probe" "$work"' EXIT
mkdir -p "$builddir/fuzz-logs"

run_target() {
	local name=$1
	local findings=$builddir/findings/$name
	local args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1
		-artifact_prefix="$findings/")
	[ -f "fuzz/$name.dict" ] && args+=(-dict="fuzz/$name.dict")
	mkdir -p "$findings" "$work/$name"
	cp -r "fuzz/corpus/$name/." "$work/$name/"
	"$builddir/fuzz/fuzz-$name" "${args[@]}" "$work/$name" \
		>"$builddir/fuzz-logs/$name.log" 2>&1
	echo $? >"$work/$name.rc"
}

for name in "${names[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_target "$name" &
done
wait

# libFuzzer's -print_final_stats line "stat::NAME: VALUE" of log $1.
final_stat() {
	sed -n "s/^stat::$2: *//p" "$1" | tail -1
}

status=0
for name in "${names[@]}"; do
	log=$builddir/fuzz-logs/$name.log
	rc=$(cat "$work/$name.rc")
	# "#N DONE cov: C ft: F corp: U/Sb ..." is libFuzzer's last status line.
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
	corpus=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
	seeds=$(find "fuzz/corpus/$name" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz-$name: passed, $(final_stat "$log" number_of_executed_units) runs" \
			"in $seconds s ($(final_stat "$log" average_exec_per_sec)/s)," \
			"coverage $cov edges, corpus $seeds -> $corpus inputs," \
			"peak RSS $(final_stat "$log" peak_rss_mb) MB"
		echo "passed fuzz-$name" >>"$results"
		continue
	fi
	status=1
	why=$(sed -n 's/^SUMMARY: //p' "$log" | head -1)
	input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	echo "fuzz-$name: FAILED (${why:-exit $rc}); input: ${input:-none kept}; log: $log"
	[ -n "$input" ] && echo "  reproduce: $builddir/fuzz/fuzz-$name $input"
	echo "failed fuzz-$name ${why:-exit $rc}" >>"$results"
done
exit $status
