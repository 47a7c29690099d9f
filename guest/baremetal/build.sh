#!/usr/bin/env bash
# Builds every bare-metal test program: OUT/NAME.elf (for QEMU) and OUT/NAME.bin (raw, for rvisor).
#   guest/baremetal/build.sh [OUT]     (default OUT: guest/baremetal/build)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/build}
CC=${CROSS:-riscv64-linux-gnu-}gcc
OBJCOPY=${CROSS:-riscv64-linux-gnu-}objcopy
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found; install: apt-get install -y gcc-riscv64-linux-gnu" >&2; exit 2; }
mkdir -p "$OUT"
CFLAGS=(-nostdlib -static -fno-pic -no-pie -march=rv64gc -mabi=lp64d -mcmodel=medany -O2 -ffreestanding
        -fno-builtin -fno-stack-protector -fno-asynchronous-unwind-tables -Wall -Wextra -Wno-main
        -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,"$HERE/link.ld")
PROGS=${PROGS:-"traps delegation sv39 interrupts counters smp"}
for p in $PROGS; do
  "$CC" "${CFLAGS[@]}" -o "$OUT/$p.elf" "$HERE/start.S" "$HERE/rt.c" "$HERE/$p.c"
  "$OBJCOPY" -O binary "$OUT/$p.elf" "$OUT/$p.bin"
  size=$(stat -c %s "$OUT/$p.bin")
  if [ "$size" -gt 65536 ]; then echo "build.sh: $p.bin is $size bytes: a stray section?" >&2; exit 1; fi
done
