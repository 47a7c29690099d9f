#!/bin/sh
# Rebuilds the FPU vector recorder, runs it under qemu-riscv64-static (the oracle) and compares
# its output with the committed golden files test/golden/fpu/{f32,f64}.txt.gz.
#
#   guest/fpu-vectors/regen.sh                 re-check: diff live QEMU against the golden files
#   guest/fpu-vectors/regen.sh --write         rewrite the golden files from live QEMU
#   guest/fpu-vectors/regen.sh --stress SEED N also run N random vectors per instruction (random
#                                              rounding modes) through QEMU and compare them with
#                                              the wasm FPU (dist/wasm/fpu-harness.wasm; built by
#                                              `npm run build`)
#
# Needs riscv64-linux-gnu-gcc, qemu-riscv64-static; --stress also needs node.
# Golden split: instructions whose name contains ".d" go to f64.txt.gz, the others to f32.txt.gz.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
golden="$root/test/golden/fpu"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

write=0
seed=
count=
while [ $# -gt 0 ]; do
  case "$1" in
    --write) write=1 ;;
    --stress) seed=$2; count=$3; shift 2 ;;
    *) echo "usage: $0 [--write] [--stress SEED COUNT]" >&2; exit 2 ;;
  esac
  shift
done

riscv64-linux-gnu-gcc -static -O2 -Wall -o "$tmp/fpu-vectors" "$here/fpu-vectors.c"
qemu-riscv64-static "$tmp/fpu-vectors" golden > "$tmp/all.txt"
awk -v a="$tmp/f32.txt" -v b="$tmp/f64.txt" '{ if ($1 ~ /\.d/) print > b; else print > a }' "$tmp/all.txt"
echo "recorded $(wc -l < "$tmp/f32.txt") + $(wc -l < "$tmp/f64.txt") vectors under $(qemu-riscv64-static --version | head -1)"

status=0
if [ "$write" = 1 ]; then
  mkdir -p "$golden"
  gzip -9 -n -c "$tmp/f32.txt" > "$golden/f32.txt.gz"
  gzip -9 -n -c "$tmp/f64.txt" > "$golden/f64.txt.gz"
  echo "wrote $golden/f32.txt.gz $golden/f64.txt.gz"
else
  for f in f32 f64; do
    if gzip -dc "$golden/$f.txt.gz" | cmp -s - "$tmp/$f.txt"; then
      echo "$f: live QEMU matches the golden file"
    else
      echo "$f: live QEMU DIFFERS from the golden file:"
      gzip -dc "$golden/$f.txt.gz" | diff - "$tmp/$f.txt" | head -20 || true
      status=1
    fi
  done
fi

if [ -n "$seed" ]; then
  wasm="$root/dist/wasm/fpu-harness.wasm"
  echo "stress: seed $seed, $count vectors per instruction, against $wasm"
  qemu-riscv64-static "$tmp/fpu-vectors" stress "$seed" "$count" | node "$here/check.mjs" "$wasm" - || status=1
fi
exit $status
