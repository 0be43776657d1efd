# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by call-cpu.sh and join-time.sh: a meshcall-server of our own on
# 127.0.0.1:0. Needs $server_bin; sets $server_pid and $port.
server_pid=

# start_server WORKDIR [server options...]
start_server() {
	local work=$1
	shift
	"$server_bin" --listen 127.0.0.1:0 "$@" >"$work/server.out" 2>"$work/server.log" &
	server_pid=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$work/server.out")
		[ -n "$port" ] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "meshcall-server did not print its listening line; log:" >&2
	tail -20 "$work/server.log" >&2
	exit 1
}

# stop_pid PID: SIGTERM (SIGINT for gst-launch), then SIGKILL after 5 s.
stop_pid() {
	local pid=$1 sig=${2:-TERM}
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "process $pid ignored SIG$sig for 5 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

stop_server() {
	stop_pid "$server_pid"
	server_pid=
}
