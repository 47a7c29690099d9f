#!/usr/bin/env bash
# Rebuilds the bare-metal programs, runs each under QEMU (the reference) twice, and checks the
# committed binaries (guest/baremetal/bin/NAME.bin) and goldens (test/golden/baremetal/NAME.out).
#   guest/baremetal/regen.sh            check: exit 1 if anything differs
#   guest/baremetal/regen.sh --update   rewrite the binaries and goldens (then review the diff)
# Needs: gcc-riscv64-linux-gnu (riscv64-linux-gnu-gcc, -objcopy) and qemu-system-misc
# (qemu-system-riscv64; the goldens were recorded with 7.2).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GOLD="$ROOT/test/golden/baremetal"
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
for t in riscv64-linux-gnu-gcc riscv64-linux-gnu-objcopy qemu-system-riscv64 timeout cmp diff tr; do
  command -v "$t" >/dev/null || {
    echo "regen.sh: $t not found; install: apt-get install -y gcc-riscv64-linux-gnu qemu-system-misc" >&2; exit 2; }
done
# name:harts (keep in sync with test/baremetal.test.ts)
PROGRAMS="traps:1 delegation:1 sv39:1 interrupts:1 counters:1 smp:2"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PROGS="$(for p in $PROGRAMS; do printf '%s ' "${p%%:*}"; done)" "$HERE/build.sh" "$TMP/build"

# The reference: QEMU's virt board, M-mode from 0x80000000 (-bios none), no H extension (rvisor
# has none), and for one hart -icount shift=0 so that instret counts instructions (QEMU 7.2 with
# -icount and two harts hangs in the smp program's IPI exchange; it prints no counters).
run_qemu() { # NAME HARTS OUT
  local rc=0 icount=(-icount shift=0)
  [ "$2" = 1 ] || icount=()
  timeout 120 qemu-system-riscv64 -machine virt -cpu rv64,h=false "${icount[@]}" -m 128M -smp "$2" \
    -nographic -monitor none -serial stdio -bios none -kernel "$TMP/build/$1.elf" < /dev/null > "$3.raw" || rc=$?
  tr -d '\r' < "$3.raw" > "$3"
  if [ "$rc" != 0 ] || [ "$(tail -n 1 "$3")" != "done" ]; then
    echo "regen.sh: $1 under QEMU exited with status $rc, output ends: $(tail -n 1 "$3")" >&2; return 1
  fi
}

bad=0
for p in $PROGRAMS; do
  name=${p%%:*}; harts=${p##*:}
  run_qemu "$name" "$harts" "$TMP/$name.out"
  run_qemu "$name" "$harts" "$TMP/$name.out2"
  if ! diff "$TMP/$name.out" "$TMP/$name.out2" >&2; then
    echo "regen.sh: $name: output differs between two QEMU runs (non-deterministic)" >&2; bad=1
  fi
done
[ "$bad" = 0 ] || exit 1

if [ "$UPDATE" = 1 ]; then
  mkdir -p "$HERE/bin" "$GOLD"
  for p in $PROGRAMS; do
    name=${p%%:*}
    cp "$TMP/build/$name.bin" "$HERE/bin/$name.bin"
    cp "$TMP/$name.out" "$GOLD/$name.out"
    echo "regen.sh: $name: $(wc -l < "$GOLD/$name.out") lines, $(stat -c %s "$HERE/bin/$name.bin") bytes"
  done
  exit 0
fi

for p in $PROGRAMS; do
  name=${p%%:*}
  cmp -s "$HERE/bin/$name.bin" "$TMP/build/$name.bin" || { echo "DIFFERS: guest/baremetal/bin/$name.bin (rebuilt binary)"; bad=1; }
  diff "$GOLD/$name.out" "$TMP/$name.out" || { echo "DIFFERS: test/golden/baremetal/$name.out"; bad=1; }
done
[ "$bad" = 0 ] && echo "regen.sh: baremetal: all binaries and goldens match"
exit "$bad"
