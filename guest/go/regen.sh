#!/bin/bash
# Re-runs every case of test/golden/go/cases.json under live QEMU (qemu-riscv64-static) and fails
# on any difference.  With --write, regenerates the golden file from guest/go/cases.mjs instead.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$HERE/../busybox/golden.mjs" "$HERE/cases.mjs" "$@"
