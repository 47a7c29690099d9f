#!/usr/bin/env bash
# Builds the C conformance multi-call binary OUTDIR/ctest (static glibc, -O2) from guest/ctests/*.c.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: guest/ctests/build.sh OUTDIR}
CC=riscv64-linux-gnu-gcc
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (apt-get install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)" >&2; exit 2; }
mkdir -p "$OUT"
# -ffile-prefix-map keeps the build directory out of the binary, so rebuilds are byte-identical.
"$CC" -static -O2 -Wall -Wextra -Wno-format-nonliteral -Wno-unused-result -Wno-infinite-recursion -Wno-array-bounds -Wno-stringop-truncation -pthread \
  -ffile-prefix-map="$HERE"=guest/ctests -o "$OUT/ctest" "$HERE"/*.c -lm
