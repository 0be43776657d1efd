#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Load benchmark of meshcall-server on loopback. Builds nothing: build first
# (ninja -C BUILDDIR src/server/meshcall-server bench/meshcall-loadtool).
#
#   bench/server-load.sh [BUILDDIR] [options]
#     --scenario capacity|throughput|both   (both)
#     --duration S                          measured seconds per scenario (20)
#     --capacity-peers N                    (5000)   --capacity-rate R  msgs/s per peer (1)
#     --throughput-peers N                  (1200)   --throughput-rate R msgs/s per peer (16)
#     --mix O:A:C:H                         weights offer:answer:candidate:chat (2:2:15:1)
#     --raise-limits                        start the server with 10x rate limits (exploration)
#     --server-threads N                    meshcall-server --threads N (default: one per processor)
#     --out DIR                             where results go (bench/results)
#
# Each scenario gets a fresh server on 127.0.0.1:0, so its RSS is its own; the
# server is stopped with SIGTERM to the PID this script started, nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

builddir=build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
	builddir=$1
	shift
fi
scenario=both
duration=20
capacity_peers=5000
capacity_rate=1
throughput_peers=1200
throughput_rate=16
mix=2:2:15:1
raise_limits=0
server_threads=0
out=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--scenario) scenario=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--capacity-peers) capacity_peers=$2; shift 2 ;;
	--capacity-rate) capacity_rate=$2; shift 2 ;;
	--throughput-peers) throughput_peers=$2; shift 2 ;;
	--throughput-rate) throughput_rate=$2; shift 2 ;;
	--mix) mix=$2; shift 2 ;;
	--raise-limits) raise_limits=1; shift ;;
	--server-threads) server_threads=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done

server_bin=$builddir/src/server/meshcall-server
loadtool=$builddir/bench/meshcall-loadtool
for bin in "$server_bin" "$loadtool"; do
	if [ ! -x "$bin" ]; then
		echo "missing $bin: build it first (ninja -C $builddir ${bin#"$builddir"/})" >&2
		exit 2
	fi
done

# Our own soft descriptor limit up to our own hard limit (inherited by both
# children); the system-wide limits are not ours to change.
ulimit -Sn "$(ulimit -Hn)"

server_args=(--threads "$server_threads")
loadtool_args=()
if [ "$raise_limits" = 1 ]; then
	server_args+=(--rate-limit 1000 --rate-burst 2000 --chat-rate 50 --chat-burst 100)
	loadtool_args=(--max-chat-rate 50)
fi

mkdir -p "$out"
stamp=$(date +%Y%m%d-%H%M%S)
work=$(mktemp -d /tmp/meshcall-bench.XXXXXX)
server_pid=

stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -TERM "$server_pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$server_pid" 2>/dev/null; then
		echo "server $server_pid ignored SIGTERM for 5 s; killing it" >&2
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# start_server NAME: sets server_pid and port.
start_server() {
	local name=$1
	"$server_bin" --listen 127.0.0.1:0 "${server_args[@]}" \
		>"$work/$name.server.out" 2>"$work/$name.server.log" &
	server_pid=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' \
			"$work/$name.server.out")
		[ -n "$port" ] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "meshcall-server did not print its listening line; log:" >&2
	tail -20 "$work/$name.server.log" >&2
	exit 1
}

# run_scenario NAME PEERS RATE
run_scenario() {
	local name=$1 peers=$2 rate=$3
	start_server "$name"
	# Other work on the machine competes with the server for its cores; the
	# loadtool reports how much (other processes, server run-queue wait).
	echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "== $name: $peers peers, $rate msg/s each, ${duration}s, server pid $server_pid port $port"
	"$loadtool" --server "127.0.0.1:$port" --server-pid "$server_pid" --label "$name" \
		--connections "$peers" --rate "$rate" --mix "$mix" --duration "$duration" \
		"${loadtool_args[@]}" | tee "$work/$name.txt"
	tail -1 "$work/$name.txt" >"$out/$stamp-$name.json"
	stop_server
	cp "$work/$name.server.log" "$out/$stamp-$name.server.log"
	echo "   saved $out/$stamp-$name.json"
}

case $scenario in
capacity | both) run_scenario capacity "$capacity_peers" "$capacity_rate" ;;
esac
case $scenario in
throughput | both) run_scenario throughput "$throughput_peers" "$throughput_rate" ;;
esac
rm -rf "$work"
