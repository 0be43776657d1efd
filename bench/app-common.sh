# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by e2e-latency.sh and app-call.sh, after call-common.sh: meshcall
# apps (or the app with a bench role) in a room, watched through their
# `--events json` files. Waits poll a condition with a deadline; nothing
# sleeps blindly. Stops only the PIDs it is given.

# require_built BUILDDIR FILE...: exits 2, saying what to build, unless the
# files and BUILDDIR's meshcall plugin are there (scripts here build nothing).
require_built() {
	local builddir=$1 f
	shift
	for f in "$@" "$builddir/plugins/meshcall/libgstmeshcall.so"; do
		if [ ! -e "$f" ]; then
			echo "missing $f: build it first (ninja -C $builddir ${f#"$builddir"/})" >&2
			exit 2
		fi
	done
}

# use_plugin_of BUILDDIR: the apps load meshcallbin from the build dir, with a
# registry of our own (never the user's), built now rather than inside a
# measured process.
use_plugin_of() {
	local plugin_dir
	plugin_dir=$(realpath "$1/plugins/meshcall")
	export GST_PLUGIN_PATH_1_0=$plugin_dir
	export GST_REGISTRY_1_0=$PWD/$1/bench/gst-registry-app.bin
	if ! gst-inspect-1.0 meshcallbin >/dev/null 2>&1; then
		echo "gst-inspect-1.0 cannot load meshcallbin from $plugin_dir" >&2
		exit 2
	fi
}

# has_event FILE EVENT: FILE holds an event of that name.
has_event() {
	grep -q "^{\"event\":\"$2\"" "$1" 2>/dev/null
}

# media_peers FILE KIND: how many peers FILE has a `media` event of KIND from.
media_peers() {
	sed -n 's/^{"event":"media",.*"peer":"\([^"]*\)","kind":"'"$2"'".*/\1/p' "$1" 2>/dev/null |
		sort -u | wc -l
}

# has_media FILE KIND N: media of KIND from at least N peers.
has_media() {
	[ "$(media_peers "$1" "$2")" -ge "$3" ]
}

# wait_until SECONDS WHAT PIDS -- COMMAND...: polls COMMAND every 0.1 s until
# it succeeds; fails (status 1, says why) after SECONDS or as soon as one of
# PIDS has exited.
wait_until() {
	local seconds=$1 what=$2 pids=()
	shift 2
	while [ "$1" != -- ]; do
		pids+=("$1")
		shift
	done
	shift
	local deadline=$((SECONDS + seconds)) pid
	until "$@"; do
		for pid in "${pids[@]}"; do
			if ! kill -0 "$pid" 2>/dev/null; then
				echo "gave up waiting for $what: process $pid exited" >&2
				return 1
			fi
		done
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "gave up waiting for $what after $seconds s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# wait_exit PID SECONDS: waits for a child to exit by itself; its exit status,
# or 124 when it had to be killed after SECONDS.
wait_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "process $pid still running after $2 s; stopping it" >&2
			stop_pid "$pid" INT
			return 124
		fi
		sleep 0.1
	done
	local status=0
	wait "$pid" || status=$?
	return "$status"
}

# stop_app PID: SIGINT (the app leaves the room and exits); its exit status,
# or 124 when it ignored SIGINT for 10 s and was killed.
stop_app() {
	[ -n "$1" ] || return 0
	kill -INT "$1" 2>/dev/null || true
	wait_exit "$1" 10
}

# print_loadavg WHEN: on stdout, and appended to $load_log when it is set
# (the scripts save it with their results).
print_loadavg() {
	local line
	line="   load average $1: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) processors)"
	echo "$line"
	[ -z "${load_log:-}" ] || echo "$line" >>"$load_log"
}
