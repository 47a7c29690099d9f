#!/bin/bash
# Re-runs every case of test/golden/busybox/cases.json under live QEMU (qemu-riscv64-static) and
# fails on any difference.  With --write, regenerates the inputs and the golden file from
# guest/busybox/cases.mjs instead (then review the diff).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$HERE/golden.mjs" "$HERE/cases.mjs" "$@"
