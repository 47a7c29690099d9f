#!/usr/bin/env bash
# Builds the random-stream programs from the seeds in gen.mjs into OUTDIR:
#   OUTDIR/sNN.s (generated assembly), OUTDIR/sNN.json.gz (listing), OUTDIR/sNN (static ELF),
#   OUTDIR/coverage.txt (instruction coverage measured with objdump).
# GNU as is the encoder (-march=rv64gc); linking is static, without libc and without relaxation
# (gp is a random register in the streams, so no gp-relative relaxation may happen).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: guest/streams/build.sh OUTDIR}
for t in node riscv64-linux-gnu-as riscv64-linux-gnu-ld riscv64-linux-gnu-objdump; do
  command -v "$t" >/dev/null || { echo "build.sh: $t not found (apt-get install binutils-riscv64-linux-gnu)" >&2; exit 2; }
done
mkdir -p "$OUT"
node "$HERE/gen.mjs" --out "$OUT"
for s in "$OUT"/s[0-9][0-9].s; do
  n=${s%.s}
  riscv64-linux-gnu-as -march=rv64gc -o "$n.o" "$s"
  riscv64-linux-gnu-ld -static -nostdlib --no-relax -o "$n" "$n.o"
  rm -f "$n.o"
done
riscv64-linux-gnu-objdump -d -M no-aliases "$OUT"/s[0-9][0-9] | node "$HERE/coverage.mjs" > "$OUT/coverage.txt" || {
  cat "$OUT/coverage.txt" >&2; echo "build.sh: coverage incomplete" >&2; exit 1; }
