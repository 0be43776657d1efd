#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: install, build, start meshcall-server on port 8080 with a
# `meshcall` peer in room "demo" (this machine's camera and microphone, or a
# test pattern and silence without them; a window when there is a display,
# headless otherwise), and print the room's URL. Type a line to chat with the
# room; Ctrl-C stops both cleanly.
#   bash scripts/demo.sh [meshcall-server options...]
# MESHCALL_PORT changes the port; MESHCALL_DEMO_ARGS adds meshcall options
# (e.g. MESHCALL_DEMO_ARGS="--camera test").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only what the demo runs (the tests build the rest: scripts/test.sh).
if [ ! -f build/build.ninja ]; then
  meson setup build >&2
fi
meson compile -C build meshcall-server gstmeshcall meshcall >&2

port=${MESHCALL_PORT:-8080}
host=$(hostname -I 2>/dev/null | awk '{print $1}')
host=${host:-127.0.0.1}
headless=
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  headless=--headless
fi

server= peer=
stop() {
  trap - INT TERM
  # The peer first, so it says goodbye to the room before the server goes.
  if [ -n "$peer" ]; then kill -INT "$peer" 2>/dev/null || true; wait "$peer" || true; fi
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" || true; fi
  exit "${1:-0}"
}
trap 'stop 0' INT TERM

build/src/server/meshcall-server --listen "0.0.0.0:$port" "$@" 2> build/demo-server.log &
server=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat build/demo-server.log >&2; exit 1; }
  sleep 0.1
done

# The peer reads chat from this terminal (stdin given explicitly: a
# background job would otherwise read /dev/null) and tells room events on it.
GST_PLUGIN_PATH=$PWD/build/plugins/meshcall${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH} \
  build/src/app/meshcall --server "ws://127.0.0.1:$port/ws" --room demo --name "demo camera" \
  $headless ${MESHCALL_DEMO_ARGS:-} <&0 &
peer=$!
echo "meshcall-server on port $port (pid $server, log build/demo-server.log); meshcall is in room demo (pid $peer)${headless:+, headless}."
echo "open http://$host:$port/r/demo"
echo "Type a line to chat with the room, /help for commands; Ctrl-C stops."
# Whichever ends first ends the demo (a signal runs stop instead).
status=0
wait -n -p ended "$server" "$peer" || status=$?
if [ "${ended:-}" = "$peer" ]; then
  peer=
  [ "$status" = 0 ] || echo "meshcall exited (status $status); stopping the server." >&2
else
  server=
  [ "$status" = 0 ] || echo "meshcall-server exited (status $status; see build/demo-server.log)." >&2
fi
stop "$status"
