#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the browser tests under node's test runner inside a network namespace
# with the veth pair Chromium needs. Called by meson (tests/browser/meson.build):
#   run-tests.sh NETNS_RUN NODE TEST_FILE...
# Exits 77 (skip) when playwright-core is not installed.
here=$(dirname "$0")
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
  echo "SKIP: $here/node_modules is missing; run 'npm ci --prefix tests/browser' first" >&2
  exit 77
fi
netns_run=$1
node=$2
shift 2
# spec: readable failures (expected/actual, stack) in the meson test log.
exec "$netns_run" --veth "$node" --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout "$@"
