#!/bin/bash
# The main job: install, build, start meshcall-server on port 8080 and print
# the URL of room "demo". Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build

port=${MESHCALL_PORT:-8080}
host=$(hostname -I 2>/dev/null | awk '{print $1}')
host=${host:-127.0.0.1}

build/src/server/meshcall-server --listen "0.0.0.0:$port" "$@" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
echo "meshcall-server running (pid $server)."
echo "open http://$host:$port/r/demo"
wait $server
