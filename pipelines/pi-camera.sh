#!/bin/sh
# Joins a meshcall room from a Raspberry Pi with its camera module, sending
# H.264 from the Pi's hardware encoder; a camera box, so no window by default.
#   pipelines/pi-camera.sh [SERVER] [ROOM] [NAME]
# SERVER defaults to ws://127.0.0.1:8080/ws, ROOM to demo, NAME to the host name.
# Variables:
#   CAMERA        libcamera camera name (default: the first; `cam -l` lists them)
#   SIZE, FPS     what the camera delivers, NV12 (default 1280x720, 30)
#   MIC           none (default: the camera module has no microphone), auto
#                 (autoaudiosrc) or an ALSA device such as plughw:1,0
#                 (`arecord -L` lists them)
#   CODEC         video-codec of meshcallbin (default h264; auto also picks the
#                 hardware encoder; vp8 is software)
#   SINK, AUDIOSINK  where the room's grid and mix go (default fakesink, both:
#                 nobody watches a camera box). SINK=kmssink shows the room on
#                 the HDMI screen of a Pi without a desktop, SINK=autovideosink
#                 in a desktop session; AUDIOSINK=alsasink plays the room.
#   EXTRA         more meshcallbin properties (e.g. EXTRA="token=... video-bitrate=2000")
#   TEST_SOURCES=1  videotestsrc (NV12, same size) and a tone instead of the
#                 camera and microphone: runs on any machine.
# Needs: gstreamer1.0-libcamera (libcamerasrc), gstreamer1.0-plugins-good
# (v4l2h264enc: the hardware encoder of a Pi 4 and earlier), gstreamer1.0-alsa
# (alsasrc, alsasink), gstreamer1.0-plugins-bad and -nice for meshcallbin, the
# meshcall plugin, and a user in the groups video (and audio for MIC).
# A Pi 5 has no H.264 encoder: meshcallbin then encodes in software
# (x264enc from gstreamer1.0-plugins-ugly, else openh264enc), which a
# smaller SIZE (640x360) keeps cheap.
# EXTRA, SINK and AUDIOSINK are split into words on purpose (several properties).
# shellcheck disable=SC2086
SERVER=${1:-ws://127.0.0.1:8080/ws} ROOM=${2:-demo} NAME=${3:-$(hostname)}
SIZE=${SIZE:-1280x720} FPS=${FPS:-30}
RAW="video/x-raw,format=NV12,width=${SIZE%x*},height=${SIZE#*x},framerate=$FPS/1"

# The pipeline is built as arguments (not one string) so that names and
# devices with spaces survive; gst-launch-1.0 escapes each argument.
set -- meshcallbin name=m server="$SERVER" room="$ROOM" display-name="$NAME" \
  video-codec="${CODEC:-h264}" ${EXTRA:-}
if [ "${TEST_SOURCES:-0}" = 1 ]; then
	set -- "$@" videotestsrc is-live=true pattern=smpte ! "$RAW" ! queue ! m.video_sink \
	  audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! m.audio_sink
else
	set -- "$@" libcamerasrc ${CAMERA:+camera-name="$CAMERA"} ! "$RAW" ! queue ! m.video_sink
	case ${MIC:-none} in
	none) ;;
	auto) set -- "$@" autoaudiosrc ! queue ! m.audio_sink ;;
	*) set -- "$@" alsasrc device="$MIC" ! queue ! m.audio_sink ;;
	esac
fi
exec gst-launch-1.0 -m "$@" \
  m.video_src ! queue ! videoconvert ! ${SINK:-fakesink} \
  m.audio_src ! queue ! audioconvert ! ${AUDIOSINK:-fakesink}
