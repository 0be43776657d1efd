#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The sharded server under concurrent load: every relayed message reaches
exactly its addressee, in order, with no error, across worker threads, and
every member sees its room's chat lines in seq order with none missing.

Starts meshcall-server (2 worker threads) on 127.0.0.1:0, runs
meshcall-loadtool with 300 clients in rooms of 3 for a few seconds, and checks
the tool's JSON summary. Only the server this script started is signalled.
An optional third argument sets the rate per client (40 msg/s)."""
import json
import subprocess
import sys


def main(server_bin, loadtool_bin, rate="40"):
    server = subprocess.Popen(
        [server_bin, "--listen", "127.0.0.1:0", "--threads", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline().strip()
        prefix = "listening on http://127.0.0.1:"
        if not line.startswith(prefix):
            print(f"unexpected first line from the server: {line!r}")
            return 1
        port = line[len(prefix):].rstrip("/")
        tool = subprocess.run(
            [loadtool_bin, "--server", f"127.0.0.1:{port}", "--server-pid", str(server.pid),
             "--connections", "300", "--rate", rate, "--mix", "2:2:14:2", "--max-chat-rate", "4",
             "--duration", "3", "--report-every", "0", "--label", "smoke",
             # A slow build (ASan) or a busy machine falls behind: wait for
             # the backlog (the tool stops as soon as everything came).
             "--drain", "60"],
            capture_output=True, text=True, timeout=120)
        print(tool.stdout)
        if tool.returncode != 0:
            print(tool.stderr)
            print(f"loadtool exited with {tool.returncode}")
            return 1
        summary = json.loads(tool.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        status = server.wait(timeout=30)

    failures = []
    conns = summary["connections"]
    if not (conns["opened"] == conns["welcomed"] == conns["open_at_end"] == 300):
        failures.append(f"connections {conns}")
    if summary["expected"] == 0 or summary["received"] != summary["expected"]:
        failures.append(f"received {summary['received']} of {summary['expected']}")
    for key in ("reordered", "chat_seq_breaks", "misrouted"):
        if summary[key] != 0:
            failures.append(f"{key} {summary[key]}")
    if summary["errors"]:
        failures.append(f"errors {summary['errors']}")
    if summary["closes"]:
        failures.append(f"unexpected closes {summary['closes']}")
    if status != 0:
        failures.append(f"server exit status {status} after SIGTERM")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
