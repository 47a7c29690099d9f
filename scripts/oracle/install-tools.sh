#!/usr/bin/env bash
# Installs, from Debian's packages, every reference tool the tests and scripts/oracle/check-all.sh
# compare rvisor against, when missing (needs root and apt-get; Debian 12 "bookworm"):
#   dtc                              device-tree-compiler    test/fdt.test.ts
#   qemu-system-riscv64              qemu-system-misc        test/fdt.test.ts, guest/baremetal, guest/linux
#   qemu-riscv64-static              qemu-user-static        every user-mode golden file
#   riscv64-linux-gnu-{gcc,as,ld,objdump}, the riscv64 glibc
#                                    gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu libc6-dev-riscv64-cross
#   gcc (native)                     gcc libc6-dev           guest/sigmask (the native Linux reference)
#   expect, fw_jump.bin, e2fsck      expect opensbi e2fsprogs guest/linux/qemu-test.sh
#   qemu-img, qemu-io                qemu-utils              test/fixtures/qcow2/build.sh, scripts/oracle/qcow2-check.mjs
#   chromium                         chromium                scripts/web-console-check.mjs (the web console in a browser)
#   go, dpkg-parsechangelog, make    golang-go dpkg-dev make  scripts/oracle/suites-check.sh (only
#                                                             with CHECK_SUITES=1)
# A tool that is still missing afterwards is an error: reference checks never skip.
set -euo pipefail
need=()
want() { # want COMMAND-OR-FILE PACKAGE...
  if [[ "$1" == /* ]]; then [ -e "$1" ] && return 0; else command -v "$1" >/dev/null && return 0; fi
  shift; need+=("$@")
}
want dtc device-tree-compiler
want qemu-system-riscv64 qemu-system-misc
want qemu-riscv64-static qemu-user-static
want riscv64-linux-gnu-gcc gcc-riscv64-linux-gnu
want riscv64-linux-gnu-objdump binutils-riscv64-linux-gnu
want /usr/riscv64-linux-gnu/lib/libc.a libc6-dev-riscv64-cross
want gcc gcc
want /usr/include/stdio.h libc6-dev
want expect expect
want /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin opensbi
want e2fsck e2fsprogs
want qemu-img qemu-utils
want qemu-io qemu-utils
want chromium chromium
if [ "${CHECK_SUITES:-}" = 1 ]; then
  want go golang-go
  want dpkg-parsechangelog dpkg-dev
  want make make
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "install-tools: installing ${need[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "install-tools: not root: install them yourself: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
missing=0
for t in dtc qemu-system-riscv64 qemu-riscv64-static riscv64-linux-gnu-gcc riscv64-linux-gnu-objdump gcc expect e2fsck qemu-img qemu-io chromium; do
  command -v "$t" >/dev/null || { echo "install-tools: $t is still missing" >&2; missing=1; }
done
for f in /usr/riscv64-linux-gnu/lib/libc.a /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin; do
  [ -e "$f" ] || { echo "install-tools: $f is still missing" >&2; missing=1; }
done
if [ "${CHECK_SUITES:-}" = 1 ]; then
  for t in go dpkg-parsechangelog make; do
    command -v "$t" >/dev/null || { echo "install-tools: $t is still missing" >&2; missing=1; }
  done
fi
[ "$missing" = 0 ] || exit 1
echo "install-tools: $(qemu-riscv64-static --version | head -1); $(qemu-system-riscv64 --version | head -1); dtc $(dtc --version | sed 's/.*Version: //')"
