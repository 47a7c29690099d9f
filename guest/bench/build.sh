#!/bin/bash
# Builds the benchmark programs as static riscv64 binaries (-static -O2, stripped) and writes
# guest/bench/NAME.gz for each.  Needs gcc-riscv64-linux-gnu and libc6-dev-riscv64-cross.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${TMPDIR:-/tmp}/rvisor-build/bench"
CC=riscv64-linux-gnu-gcc
mkdir -p "$OUT"
cd "$HERE"
$CC --version | head -1
for p in intmix sort fp coremark-like vm; do
  $CC -static -O2 -s -Wall -Wextra -o "$OUT/$p" "$p.c" -lm
  gzip -9 -n -c "$OUT/$p" > "$HERE/$p.gz"
  echo "$p: $(stat -c %s "$OUT/$p") bytes, sha256 $(sha256sum "$OUT/$p" | cut -d' ' -f1);" \
       "$p.gz: $(stat -c %s "$HERE/$p.gz") bytes, sha256 $(sha256sum "$HERE/$p.gz" | cut -d' ' -f1)"
done
