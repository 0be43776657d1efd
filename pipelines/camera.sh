#!/bin/sh
# Joins a meshcall room with this machine's camera and microphone, and shows
# the room.
#   pipelines/camera.sh [SERVER] [ROOM] [NAME]
# SERVER defaults to ws://127.0.0.1:8080/ws. CAMERA and MIC pick the devices
# (default "auto": the system's first; "test": test pattern / tone; or a name
# or node such as /dev/video2, as `gst-device-monitor-1.0 Video/Source
# Audio/Source` lists them). Without a camera it sends a test pattern until
# one is plugged in; unplugging the camera mid-call does the same. SIZE sets
# the picture sent (default 640x360). Set SINK=fakesink (and
# AUDIOSINK=fakesink) to run without a display or sound card, as the tests
# do; EXTRA adds meshcallbin properties (e.g. EXTRA="ice-addresses=127.0.0.1").
# Needs: gstreamer1.0-plugins-good (v4l2src, pulsesrc), and -bad/-nice for
# meshcallbin. Uninstalled: meson devenv -C build -w . pipelines/camera.sh
SERVER=${1:-ws://127.0.0.1:8080/ws} ROOM=${2:-demo} NAME=${3:-$(hostname)}
SIZE=${SIZE:-640x360}
exec gst-launch-1.0 -m meshcallbin name=m server="$SERVER" room="$ROOM" display-name="$NAME" ${EXTRA:-} \
  switchvideosrc device="${CAMERA:-auto}" width="${SIZE%x*}" height="${SIZE#*x}" ! m.video_sink \
  switchaudiosrc device="${MIC:-auto}" ! m.audio_sink \
  m.video_src ! queue ! videoconvert ! ${SINK:-autovideosink}  m.audio_src ! queue ! audioconvert ! ${AUDIOSINK:-autoaudiosink}
