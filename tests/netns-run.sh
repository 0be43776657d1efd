#!/bin/sh
# Runs a command in a private network namespace with only loopback up, so no
# packet of an ICE test leaves it (DESIGN.md, Testing). Needs root (CI is).
# With --veth, also adds the veth pair v0 (10.77.0.1/24) <-> v1 (10.77.0.2/24)
# that Chromium needs (it never gathers on loopback).
if [ "${MESHCALL_IN_NETNS:-}" != 1 ]; then
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
