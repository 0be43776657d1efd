#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a command in a private network namespace with only loopback up, so no
# packet of an ICE test leaves it (docs/design.md, "Testing without hardware").
# Needs root, which CI and scripts/test.sh have. Without it, or where unshare -n
# is not permitted (a container without CAP_SYS_ADMIN), it exits 77 and meson
# reports the test as skipped, not failed.
# With --veth, also adds the veth pair v0 (10.77.0.1/24) <-> v1 (10.77.0.2/24)
# that Chromium needs (it never gathers on loopback).
if [ "${MESHCALL_IN_NETNS:-}" != 1 ]; then
	if ! unshare -n true 2>/dev/null; then
		if [ "$(id -u)" != 0 ]; then
			echo "SKIP: needs root for a private network namespace (unshare -n)" >&2
		else
			echo "SKIP: unshare -n is not permitted here (no network namespaces)" >&2
		fi
		exit 77
	fi
	MESHCALL_IN_NETNS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up || exit 1
if [ "${1:-}" = --veth ]; then
	shift
	ip link add v0 type veth peer name v1 &&
		ip addr add 10.77.0.1/24 dev v0 && ip addr add 10.77.0.2/24 dev v1 &&
		ip link set v0 up && ip link set v1 up || exit 1
fi
exec "$@"
