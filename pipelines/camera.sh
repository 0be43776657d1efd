#!/bin/sh
# Joins a meshcall room with this machine's camera and microphone, and shows
# the room.
#   pipelines/camera.sh [SERVER] [ROOM] [NAME]
# SERVER defaults to ws://127.0.0.1:8080/ws, ROOM to demo, NAME to the host name.
# Variables:
#   CAMERA, MIC   the devices (default "auto": the system's first; "test": test
#                 pattern / tone; or a name or node such as /dev/video2, as
#                 `gst-device-monitor-1.0 Video/Source Audio/Source` lists them).
#                 Without a camera it sends a test pattern until one is plugged
#                 in; unplugging the camera mid-call does the same.
#   SIZE          picture sent (default 640x360)
#   SINK, AUDIOSINK  where the room's grid and mix go (default autovideosink,
#                 autoaudiosink; fakesink runs without a display or sound card)
#   EXTRA         more meshcallbin properties (e.g. EXTRA="ice-addresses=127.0.0.1")
#   TEST_SOURCES=1  test pattern and tone instead of any device (CAMERA=test MIC=test)
# Needs: gstreamer1.0-plugins-good (v4l2src, pulsesrc), gstreamer1.0-alsa (alsasrc
# where there is no sound server), -bad and -nice for meshcallbin, and the
# meshcall plugin. Uninstalled: meson devenv -C build -w . pipelines/camera.sh
# EXTRA, SINK and AUDIOSINK are split into words on purpose (several properties).
# shellcheck disable=SC2086
SERVER=${1:-ws://127.0.0.1:8080/ws} ROOM=${2:-demo} NAME=${3:-$(hostname)}
SIZE=${SIZE:-640x360}
if [ "${TEST_SOURCES:-0}" = 1 ]; then
	CAMERA=test MIC=test
fi
exec gst-launch-1.0 -m meshcallbin name=m server="$SERVER" room="$ROOM" display-name="$NAME" ${EXTRA:-} \
  switchvideosrc device="${CAMERA:-auto}" width="${SIZE%x*}" height="${SIZE#*x}" ! m.video_sink \
  switchaudiosrc device="${MIC:-auto}" ! m.audio_sink \
  m.video_src ! queue ! videoconvert ! ${SINK:-autovideosink}  m.audio_src ! queue ! audioconvert ! ${AUDIOSINK:-autoaudiosink}
