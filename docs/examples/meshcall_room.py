#!/usr/bin/python3
"""Join a meshcall room from Python with meshcallbin.

A test pattern and a tone go to the room; the room's grid and mix go to fakesinks
(put autovideosink / autoaudiosink there to see and hear it). Prints the room's
events, says hello in the chat once joined, and prints per-peer statistics every
5 seconds. Ctrl-C leaves.

Needs Debian's python3-gi and python3-gst-1.0 (without the latter, arrays inside
structures, such as get-stats' "peers", cannot be iterated), run with
/usr/bin/python3, and the meshcall plugin where GStreamer finds it:

    meson devenv -C build -w . /usr/bin/python3 docs/examples/meshcall_room.py \\
        ws://127.0.0.1:8080/ws demo python
"""
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402


def main(argv):
    server = argv[1] if len(argv) > 1 else 'ws://127.0.0.1:8080/ws'
    room = argv[2] if len(argv) > 2 else 'demo'
    name = argv[3] if len(argv) > 3 else 'python'

    Gst.init(None)
    pipeline = Gst.parse_launch(
        'meshcallbin name=m '
        'videotestsrc is-live=true ! m.video_sink '
        'audiotestsrc is-live=true ! m.audio_sink '
        'm.video_src ! queue ! videoconvert ! fakesink '
        'm.audio_src ! queue ! audioconvert ! fakesink')
    call = pipeline.get_by_name('m')
    # Properties set here need no quoting, whatever the name holds.
    call.set_property('server', server)
    call.set_property('room', room)
    call.set_property('display-name', name)

    loop = GLib.MainLoop()  # meshcallbin signals on the default main context

    def on_peer_joined(_bin, peer_id, peer_name):
        print(f'peer joined: {peer_name} ({peer_id})')

    def on_chat(_bin, seq, sender, sender_name, text):
        print(f'chat #{seq} {sender_name} ({sender}): {text}')

    call.connect('peer-joined', on_peer_joined)
    call.connect('chat-received', on_chat)

    def on_element(_bus, message):
        s = message.get_structure()
        if s is None or not s.get_name().startswith('meshcall-'):
            return
        print('bus:', s.to_string())
        if s.get_name() == 'meshcall-joined':
            for member in s.get_value('members'):
                print(f"  already here: {member.get_value('name')} ({member.get_value('id')})")
            if not call.emit('send-chat', f'hello from {name}'):
                print('send-chat refused')

    def on_error(_bus, message):
        err, debug = message.parse_error()
        print(f'error: {err.message}', file=sys.stderr)  # e.g. "room-full: ..."
        loop.quit()

    def on_warning(_bus, message):
        err, _debug = message.parse_warning()
        print(f'warning: {err.message}', file=sys.stderr)  # e.g. "server-lost: ..."

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect('message::element', on_element)
    bus.connect('message::error', on_error)
    bus.connect('message::warning', on_warning)
    # Peers' streams come and go: the application recalculates the latency.
    bus.connect('message::latency', lambda _bus, _msg: pipeline.recalculate_latency())

    def print_stats():
        stats = call.emit('get-stats')
        for peer in stats.get_value('peers'):
            print(f"stats {peer.get_value('name')}: {peer.get_value('connection-state')}, "
                  f"rtt {peer.get_value('rtt-ms'):.1f} ms, "
                  f"{peer.get_value('video-frames-rx')} frames, "
                  f"{peer.get_value('bitrate-tx-kbps'):.0f} kbit/s out")
        return GLib.SOURCE_CONTINUE

    GLib.timeout_add_seconds(5, print_stats)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, lambda: loop.quit() or False)

    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    finally:
        pipeline.set_state(Gst.State.NULL)  # sends leave
        bus.remove_signal_watch()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
