#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Records the SDP offer headless Chromium makes for one fake camera and one
# fake microphone (bundlePolicy max-bundle, both transceivers sendrecv) into
# chromium-offer.sdp beside this script, the fixture test_sdp_codecs.cpp reads.
# The tests never run this; re-run it by hand (as root, Debian's `chromium`
# installed) when the browser's offer changes:
#
#   tests/elements/data/record-chromium-offer.sh [output.sdp]
#
# It runs inside a private network namespace (tests/netns-run.sh --veth), so
# nothing leaves the machine; the page comes from http://127.0.0.1 (a secure
# context, so getUserMedia exists) and POSTs the offer back to the same server,
# which writes it byte for byte (CRLF line endings as Chromium produces them).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/chromium-offer.sdp}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
if [ "${MESHCALL_IN_NETNS:-}" != 1 ]; then
	exec "$here/../../netns-run.sh" --veth "$0" "$out"
fi

port=8765
work=$(mktemp -d)
# Chromium's helper processes may still be writing the profile for a moment
# after the browser process has gone.
cleanup() {
	for _ in 1 2 3 4 5; do
		rm -rf "$work" 2>/dev/null && return
		sleep 1
	done
	echo "left $work behind" >&2
}
trap cleanup EXIT

# Serves the page; a POST to /offer is the SDP, to /error the page's failure.
/usr/bin/python3 - "$here" "$port" "$work/result" <<'PY' &
import http.server, os, sys
root, port, result = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        with open(result + '.tmp', 'wb') as f:
            f.write(self.path.encode() + b'\n' + body)
        os.rename(result + '.tmp', result)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(('127.0.0.1', port), Handler).serve_forever()
PY
server=$!
sleep 1

chromium --headless=new --no-sandbox --disable-gpu \
	--use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
	--disable-background-networking --disable-component-update --disable-sync \
	--no-first-run --disable-features=WebRtcHideLocalIpsWithMdns \
	--user-data-dir="$work/profile" \
	"http://127.0.0.1:$port/record-chromium-offer.html" >"$work/chromium.log" 2>&1 &
browser=$!

i=0
while [ ! -e "$work/result" ] && [ $i -lt 60 ]; do
	sleep 1
	i=$((i + 1))
done
kill "$browser" "$server" 2>/dev/null || true
wait "$browser" "$server" 2>/dev/null || true

if [ ! -e "$work/result" ]; then
	echo "no offer after 60 s; Chromium said:" >&2
	tail -20 "$work/chromium.log" >&2
	exit 1
fi
if [ "$(head -n 1 "$work/result")" != /offer ]; then
	echo "the page failed: $(tail -n +2 "$work/result")" >&2
	exit 1
fi
tail -n +2 "$work/result" >"$out"
echo "wrote $out"
