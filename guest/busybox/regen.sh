#!/bin/bash
# Re-runs every case of guest/busybox/cases.mjs under live QEMU (qemu-riscv64-static) and fails on
# any difference from test/golden/busybox/cases.json, or when that file is stale (a case, input,
# binary or environment that differs from cases.mjs). With --write, regenerates the golden file
# (and the inputs) from cases.mjs instead (then review the diff).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$HERE/golden.mjs" "$HERE/cases.mjs" "$@"
