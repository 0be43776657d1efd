# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced first by the call benchmarks (call-cpu.sh, join-time.sh,
# switch-gap.sh, e2e-latency.sh, app-call.sh, resilience.sh), with their own arguments:
# moves to the repository root, runs the script again inside
# tests/netns-run.sh (a private network namespace with only loopback), and
# takes the optional BUILDDIR first argument (default build) off the
# arguments into $builddir.
cd "$(dirname "$0")/.."

if [ "${MESHCALL_IN_NETNS:-}" != 1 ]; then
	exec tests/netns-run.sh "$0" "$@"
fi

builddir=build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
	builddir=$1
	shift
fi
