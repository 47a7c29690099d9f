#!/usr/bin/env bash
# Re-checks every committed golden file and fixture against a live reference, and fails if any
# differs or any check cannot run (tools are installed first by install-tools.sh; nothing skips).
# Each check rebuilds what is built from source here and compares it byte for byte as well.
#
# golden file / fixture                                   reference               checked by
# ------------------------------------------------------  ----------------------  -----------------------------------
# test/golden/decode/objdump.txt.gz                       GNU objdump (binutils)  scripts/oracle/decode-golden.mjs --check
# test/golden/baremetal/*.out, guest/baremetal/bin/*.bin  qemu-system-riscv64     guest/baremetal/regen.sh
# test/golden/busybox/cases.json, test/golden/busybox/inputs/*
#                                                         qemu-riscv64-static     guest/busybox/regen.sh (cases from cases.mjs)
# test/golden/ctests/*.json, guest/ctests/bin/ctest.gz    qemu-riscv64-static     guest/ctests/regen.sh
# test/golden/fpu/f32.txt.gz, f64.txt.gz                  qemu-riscv64-static     guest/fpu-vectors/regen.sh
# test/golden/go/cases.json                               qemu-riscv64-static     guest/go/regen.sh (cases from cases.mjs)
# test/golden/native/newcalls.txt, pifutex.txt             Linux (native build)    guest/ctests/native.sh
# test/golden/sigmask/linux.out, guest/sigmask/bin/sigmask.gz
#                                                         Linux (native build)    guest/sigmask/regen.sh
# test/golden/streams/*.out.gz, guest/streams/bin/*.gz, guest/streams/manifest.json
#                                                         qemu-riscv64-static     guest/streams/regen.sh
# test/fixtures/user/*.gz, sysroot/*.gz, zdata.txt.gz     their sources, Debian's riscv64 glibc
#                                                                                 test/fixtures/user/build.sh --check
# test/fixtures/user/{smoke,threads,signals,hostio,fork}.expected, fork-cases.json
#                                                         qemu-riscv64-static     test/fixtures/user/build.sh --check
# test/fixtures/qcow2/*.gz, expected.json                 qemu-img, qemu-io       test/fixtures/qcow2/build.sh --check
# (rvisor's qcow2 writes)                                 qemu-img check/compare  scripts/oracle/qcow2-check.mjs
# guest/linux/qemu-*.log (qemu-boot.log), guest/linux/qemu-virt.dts
#                                                         qemu-system-riscv64     scripts/oracle/qemu-boot-check.sh
# test/suites/**/*.json (only with CHECK_SUITES=1: slow)  qemu-riscv64-static     scripts/oracle/suites-check.sh
#
# (test/fdt.test.ts compares the board's device tree with dtc and a live QEMU dump in `npm test`
# itself; it keeps no golden file.) Run after `npm run build` (decode-golden reads dist/).
set -uo pipefail
cd "$(dirname "$0")/../.."
scripts/oracle/install-tools.sh || exit 1
failed=()
check() { # check NAME COMMAND...
  echo "== $1"
  if "${@:2}"; then echo "-- $1: ok"; else echo "-- $1: FAILED"; failed+=("$1"); fi
}
check decode node scripts/oracle/decode-golden.mjs --check
for s in guest/*/regen.sh; do
  check "$s" "$s"
done
check guest/ctests/native.sh guest/ctests/native.sh
check test/fixtures/user test/fixtures/user/build.sh --check
check test/fixtures/qcow2 test/fixtures/qcow2/build.sh --check
check qcow2-writes node scripts/oracle/qcow2-check.mjs
check guest/linux scripts/oracle/qemu-boot-check.sh
if [ "${CHECK_SUITES:-}" = 1 ]; then
  check test/suites scripts/oracle/suites-check.sh
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "check-all: ${#failed[@]} check(s) failed: ${failed[*]}"
  exit 1
fi
echo "check-all: every golden file and fixture matches its live reference"
