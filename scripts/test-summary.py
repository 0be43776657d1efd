#!/usr/bin/env python3
"""Counts test cases from meson's testlog.json files and prints 'N passed, N failed'.

GoogleTest binaries are counted per test case (from their own summary lines);
any other test, or a GoogleTest binary that died before its summary, counts as
one case with meson's verdict."""
import json
import re
import sys

PASSED = re.compile(r"^\[  PASSED  \] (\d+) tests?\.", re.M)
FAILED = re.compile(r"^\[  FAILED  \] (\d+) tests?, listed below", re.M)
SKIPPED = re.compile(r"^\[  SKIPPED \] (\d+) tests?,", re.M)

passed = failed = skipped = 0
failures = []
paths = []
for arg in sys.argv[1:]:
    if arg.startswith("--build-failed="):
        for name in filter(None, arg.split("=", 1)[1].split(",")):
            failed += 1
            failures.append("build " + name)
    else:
        paths.append(arg)
for path in paths:
    prefix = "asan:" if "asan" in path else ""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            entry = json.loads(line)
            result = entry.get("result")
            out = entry.get("stdo") or ""
            p = PASSED.search(out)
            if p:
                fl = FAILED.search(out)
                sk = SKIPPED.search(out)
                passed += int(p.group(1))
                skipped += int(sk.group(1)) if sk else 0
                nfail = int(fl.group(1)) if fl else 0
                failed += nfail
                if nfail or result not in ("OK", "EXPECTEDFAIL"):
                    if not nfail:
                        failed += 1
                    failures.append(prefix + entry["name"])
            elif result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append(prefix + entry["name"])

for name in failures:
    print("failed: " + name)
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
