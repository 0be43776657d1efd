#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Prints 'N passed, N failed' for one or more meson build directories.

GoogleTest binaries count per test case (meson's testlog.junit.xml has them);
any other test counts as one case. A test binary that failed although all of
its cases passed (a crash at exit, a sanitizer report) adds one failure. A
skipped test (exit 77, e.g. one that needs root run without it) counts as one
skip, neither passed nor failed; the last line is "N passed, N failed", with
", N skipped" when there are skips.

A --fuzz-results file (scripts/fuzz.sh) adds one case per fuzz target, from
its lines "passed NAME", "failed NAME WHY" or "skipped NAME WHY"; a file
that is missing or empty is one failure.

usage: test-summary.py [--build-failed=a,b] [--fuzz-results=FILE] BUILDDIR...
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def cases_by_test(builddir):
    """{meson test name: (passed, failed, skipped)} from the JUnit log."""
    counts = {}
    path = os.path.join(builddir, "meson-logs", "testlog.junit.xml")
    if not os.path.exists(path):
        return counts
    for suite in ET.parse(path).getroot().iter("testsuite"):
        # "<project>.<meson test name>.<gtest suite>"
        name = suite.get("name", "")
        parts = name.split(".", 1)
        if len(parts) < 2 or "." not in parts[1]:
            continue
        test = parts[1].rsplit(".", 1)[0]
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0)) + int(suite.get("disabled", 0))
        p, f, s = counts.get(test, (0, 0, 0))
        counts[test] = (p + total - failed - skipped, f + failed, s + skipped)
    return counts


passed = failed = skipped = 0
failures = []
builddirs = []
for arg in sys.argv[1:]:
    if arg.startswith("--build-failed="):
        for name in filter(None, arg.split("=", 1)[1].split(",")):
            failed += 1
            failures.append("build of " + name)
    elif arg.startswith("--fuzz-results="):
        path = arg.split("=", 1)[1]
        lines = []
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = [line.strip().split(maxsplit=2) for line in f if line.strip()]
        if not lines:
            failed += 1
            failures.append(f"fuzz: no results in {path}")
        for result, *rest in lines:
            if result == "passed":
                passed += 1
            elif result == "skipped":
                skipped += 1
            else:
                failed += 1
                name = rest[0] if rest else "fuzz"
                failures.append(f"{name} ({rest[1] if len(rest) > 1 else result})")
    else:
        builddirs.append(arg)

for builddir in builddirs:
    log = os.path.join(builddir, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        failed += 1
        failures.append(f"{builddir}: no test log")
        continue
    cases = cases_by_test(builddir)
    label = os.path.basename(os.path.normpath(builddir))
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            entry = json.loads(line)
            name, result = entry["name"], entry.get("result")
            ok = result in ("OK", "EXPECTEDFAIL")
            if result == "SKIP":
                # Exit 77 (no root, no clang-format, ...): one skip, whatever
                # GoogleTest XML an earlier run of it left for meson to read.
                skipped += 1
            elif name in cases:
                p, fl, s = cases[name]
                passed, skipped = passed + p, skipped + s
                failed += fl
                if fl or not ok:
                    failures.append(f"{label}: {name} ({result})")
                    if not fl:
                        failed += 1
            elif ok:
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append(f"{label}: {name} ({result})")

for name in failures:
    print("failed: " + name)
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
