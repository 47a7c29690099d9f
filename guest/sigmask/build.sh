#!/usr/bin/env bash
# Builds guest/sigmask/sigmask.c twice into OUTDIR: OUTDIR/sigmask (riscv64, static glibc, what the
# test runs under rvisor) and OUTDIR/sigmask-native (for this host, the Linux reference).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: guest/sigmask/build.sh OUTDIR}
for t in riscv64-linux-gnu-gcc gcc; do
  command -v "$t" >/dev/null || { echo "build.sh: $t not found (apt-get install gcc gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)" >&2; exit 2; }
done
mkdir -p "$OUT"
# -ffile-prefix-map keeps the build directory out of the binary, so rebuilds are byte-identical.
riscv64-linux-gnu-gcc -static -O2 -Wall -Wextra -Werror -pthread -ffile-prefix-map="$HERE"=guest/sigmask -o "$OUT/sigmask" "$HERE/sigmask.c"
gcc -O2 -Wall -Wextra -Werror -pthread -o "$OUT/sigmask-native" "$HERE/sigmask.c"
