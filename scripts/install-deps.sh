#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 packages meshcall needs to build, run and test.
# Idempotent: apt is only touched when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential meson ninja-build pkg-config
  libglib2.0-dev libglib2.0-dev-bin libsoup-3.0-dev libjson-glib-dev glib-networking
  libgtest-dev openssl ca-certificates python3 procps
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice libnice-dev
  gstreamer1.0-libav gstreamer1.0-x iproute2 util-linux
  # The tests that cut a path between peers inside their private namespace.
  nftables
  desktop-file-utils gstreamer1.0-plugins-base-apps
  chromium
  # Python iterates the nested values (GstValueArray, GstValueList) of
  # meshcallbin's get-stats and bus messages only with the GStreamer overrides.
  python3-gst-1.0
  # Suite `style` (tests/style/check-format.sh): the formatter of the house style.
  clang-format
  # scripts/fuzz.sh: clang, and libFuzzer's runtime (-fsanitize=fuzzer).
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The browser tests' driver (tests/browser, playwright-core from npm). By
# command, not package: a NodeSource nodejs brings its own npm and conflicts
# with Debian's npm package, which is installed only if npm is still missing.
command -v node >/dev/null || missing+=(nodejs)

if [ ${#missing[@]} -eq 0 ] && command -v npm >/dev/null; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
if ! command -v npm >/dev/null; then
  echo "install-deps: installing npm" >&2
  $SUDO apt-get install -y -q --no-install-recommends npm >&2
fi
