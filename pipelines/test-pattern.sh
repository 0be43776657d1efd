#!/bin/sh
# Joins a meshcall room with a test pattern and a tone, and shows the room.
#   pipelines/test-pattern.sh [SERVER] [ROOM] [NAME]
# SERVER defaults to ws://127.0.0.1:8080/ws. Set SINK=fakesink (and
# AUDIOSINK=fakesink) to run without a display or sound card, as the tests do;
# EXTRA adds meshcallbin properties (e.g. EXTRA="ice-addresses=127.0.0.1").
# Uninstalled: meson devenv -C build -w . pipelines/test-pattern.sh
SERVER=${1:-ws://127.0.0.1:8080/ws} ROOM=${2:-demo} NAME=${3:-test-pattern}
exec gst-launch-1.0 -m meshcallbin name=m server="$SERVER" room="$ROOM" display-name="$NAME" ${EXTRA:-} \
  videotestsrc is-live=true pattern=smpte ! video/x-raw,width=640,height=360 ! m.video_sink  audiotestsrc is-live=true wave=sine freq=440 ! m.audio_sink \
  m.video_src ! queue ! videoconvert ! ${SINK:-autovideosink}  m.audio_src ! queue ! audioconvert ! ${AUDIOSINK:-autoaudiosink}
