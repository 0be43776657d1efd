#!/bin/bash
# The main job: install, build, start meshcall-server on port 8080 with a
# meshcall peer (a meshcallbin pipeline: test pattern and tone, no window)
# in room "demo", and print the room's URL. Ctrl-C stops both cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build

port=${MESHCALL_PORT:-8080}
host=$(hostname -I 2>/dev/null | awk '{print $1}')
host=${host:-127.0.0.1}

build/src/server/meshcall-server --listen "0.0.0.0:$port" "$@" &
server=$!
peer=
stop() {
  [ -n "$peer" ] && kill -INT "$peer" 2>/dev/null && wait "$peer" 2>/dev/null
  kill -TERM "$server" 2>/dev/null
  wait "$server"
}
trap stop INT TERM

# The peer joins once the server listens; its room events go to demo-peer.log.
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
# Camera and microphone when there are any, else test pattern and silence
# (switchvideosrc/switchaudiosrc: plugging a camera in later switches to it).
GST_PLUGIN_PATH=$PWD/build/plugins/meshcall SINK=fakesink AUDIOSINK=fakesink \
  pipelines/camera.sh "ws://127.0.0.1:$port/ws" demo "demo camera" \
  > build/demo-peer.log 2>&1 &
peer=$!
echo "meshcall-server running (pid $server); a camera peer (test pattern without a camera) is in room demo (pid $peer, log build/demo-peer.log)."
echo "open http://$host:$port/r/demo"
wait "$server"
