#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make demo: run the PMM and a simulated remote core on one region file and
# show every device working end to end (see apps/hvl-demo.c).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
if [ ! -x "$build/hvl-demo" ]; then
  echo "demo.sh: $build/hvl-demo is missing; run 'make demo' (it builds first)" >&2
  exit 1
fi
exec "$build/hvl-demo" "$@"
