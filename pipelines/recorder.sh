#!/bin/sh
# Records a meshcall room to a file: a receive-only peer (no camera, no
# microphone) whose grid of the others and mix of their sound are encoded to
# VP8 + Opus in WebM. Ctrl-C (or DURATION running out) ends the file properly.
#   pipelines/recorder.sh [SERVER] [ROOM] [NAME]
# SERVER defaults to ws://127.0.0.1:8080/ws, ROOM to demo, NAME to recorder.
# The recorder takes one place in the room (see meshcall-server --capacity) and
# the others see it as a peer that sends nothing.
# Variables:
#   OUTPUT        the file (default meshcall-ROOM-DATE-TIME.webm; a name ending
#                 in .mkv is written as Matroska)
#   DURATION      stop by itself after this many seconds (default: until Ctrl-C)
#   SIZE          size of the recorded grid (default 1280x720)
#   BITRATE       video bitrate in kbit/s (default 2000)
#   EXTRA         more meshcallbin properties (e.g. EXTRA="token=... latency=300")
#   TEST_SOURCES  accepted for symmetry with the other scripts: a recorder has
#                 no sources.
# Needs: gstreamer1.0-plugins-good (vp8enc, webmmux), gstreamer1.0-plugins-base
# (opusenc), -bad and -nice for meshcallbin, the meshcall plugin, coreutils
# (timeout) and util-linux (setsid) for DURATION. No display, camera or sound card.
# EXTRA is split into words on purpose (several properties).
# shellcheck disable=SC2086
SERVER=${1:-ws://127.0.0.1:8080/ws} ROOM=${2:-demo} NAME=${3:-recorder}
OUTPUT=${OUTPUT:-meshcall-$ROOM-$(date +%Y%m%d-%H%M%S).webm}
SIZE=${SIZE:-1280x720}
case $OUTPUT in
*.mkv) MUX=matroskamux ;;
*) MUX=webmmux ;;
esac

# Matroska takes no caps change mid-stream: videoconvert pins the format the
# file starts with (meshcallbin fixes its grid's colorimetry too). vp8enc: realtime (deadline=1) so
# a small machine keeps up, a keyframe every 2 s so players can seek. The
# queues after the encoders absorb the muxer waiting for the slower stream.
set -- gst-launch-1.0 -e -m \
  meshcallbin name=m server="$SERVER" room="$ROOM" display-name="$NAME" \
    width="${SIZE%x*}" height="${SIZE#*x}" ${EXTRA:-} \
  m.video_src ! queue ! videoconvert ! video/x-raw,format=I420,colorimetry=bt709,chroma-site=mpeg2 ! \
    vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate="$((${BITRATE:-2000} * 1000))" \
      keyframe-max-dist=60 ! queue max-size-time=5000000000 max-size-bytes=0 max-size-buffers=0 ! mux. \
  m.audio_src ! queue ! audioconvert ! opusenc bitrate=96000 ! \
    queue max-size-time=5000000000 max-size-bytes=0 max-size-buffers=0 ! mux. \
  $MUX name=mux ! filesink location="$OUTPUT"

if [ -n "${DURATION:-}" ]; then
	# gst-launch-1.0 -e turns its first SIGINT into EOS, but a second one
	# kills it before the file is finished. In a terminal, Ctrl-C reaches
	# both timeout and its child, and timeout forwards it (1 file in 3 was
	# lost so): setsid keeps the child out of the terminal's process group,
	# so it gets exactly one. A recorder still running 10 s after its SIGINT
	# is killed.
	exec timeout --preserve-status -k 10 -s INT "$DURATION" setsid "$@"
fi
exec "$@"
