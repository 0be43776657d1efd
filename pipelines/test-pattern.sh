#!/bin/sh
# Joins a meshcall room with a test pattern and a tone, and shows the room.
#   pipelines/test-pattern.sh [SERVER] [ROOM] [NAME]
# SERVER defaults to ws://127.0.0.1:8080/ws, ROOM to demo, NAME to test-pattern.
# Variables:
#   SIZE          picture sent (default 640x360)
#   SINK, AUDIOSINK  where the room's grid and mix go (default autovideosink,
#                 autoaudiosink; fakesink runs without a display or sound card)
#   EXTRA         more meshcallbin properties (e.g. EXTRA="ice-addresses=127.0.0.1")
#   TEST_SOURCES  accepted for symmetry with the other scripts: this one only
#                 ever sends test sources.
# Needs: gstreamer1.0-plugins-base/-good/-bad, gstreamer1.0-nice and the
# meshcall plugin; no camera or microphone.
# Uninstalled: meson devenv -C build -w . pipelines/test-pattern.sh
# EXTRA, SINK and AUDIOSINK are split into words on purpose (several properties).
# shellcheck disable=SC2086
SERVER=${1:-ws://127.0.0.1:8080/ws} ROOM=${2:-demo} NAME=${3:-test-pattern}
SIZE=${SIZE:-640x360}
exec gst-launch-1.0 -m meshcallbin name=m server="$SERVER" room="$ROOM" display-name="$NAME" ${EXTRA:-} \
  videotestsrc is-live=true pattern=smpte ! video/x-raw,width="${SIZE%x*}",height="${SIZE#*x}" ! m.video_sink \
  audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! m.audio_sink \
  m.video_src ! queue ! videoconvert ! ${SINK:-autovideosink}  m.audio_src ! queue ! audioconvert ! ${AUDIOSINK:-autoaudiosink}
