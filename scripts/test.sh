#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite: install, build, run every suite, then all of them
# again under ASan + UBSan but for the tests that need uninstrumented
# gst-launch-1.0 to load the plugin (suite gst-subprocess), then each libFuzzer
# target of fuzz/ for 30 s when clang++ is there. Last line of output:
# "N passed, N failed", then ", N skipped" when some were skipped. Run it as
# root, as CI does: the tests that run in a private network namespace
# (tests/netns-run.sh) are skipped without root.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
# The browser tests' driver, at the versions package-lock.json locks.
if [ -f tests/browser/package-lock.json ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >&2 ||
    { echo "0 passed, 1 failed"; exit 1; }
fi

status=0
logs=()
build_failed=

run_suites() {
  local builddir=$1; shift
  local setup_opts=("$@")
  if ! bash scripts/build.sh "$builddir" "${setup_opts[@]}"; then
    echo "build of $builddir failed" >&2
    build_failed+="$builddir,"
    status=1
    return
  fi
  rm -f "$builddir/meson-logs/testlog.json" "$builddir/meson-logs/testlog.junit.xml"
  meson test -C "$builddir" --no-rebuild --print-errorlogs --num-processes 2 \
    ${MESHCALL_TEST_SUITES:-} || status=1
  logs+=("$builddir")
}

run_suites build

export ASAN_OPTIONS=abort_on_error=1:strict_string_checks=1  # leak detection is on by default
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
MESHCALL_TEST_SUITES="--no-suite gst-subprocess" \
  run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# The libFuzzer targets, 30 s each (scripts/fuzz.sh; one case per target).
fuzz_results=()
if command -v clang++ >/dev/null; then
  bash scripts/fuzz.sh 30
  case $? in 0|77) ;; *) status=1 ;; esac
  fuzz_results=(--fuzz-results=build-fuzz/fuzz-results.txt)
fi

python3 scripts/test-summary.py --build-failed="$build_failed" "${fuzz_results[@]}" "${logs[@]}" ||
  status=1
exit $status
