#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Configures (once) and builds meshcall in the given build directory.
#   scripts/build.sh [BUILDDIR] [meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
builddir=${1:-build}
shift || true
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$@" >&2
fi
ninja -C "$builddir" >&2
