#!/usr/bin/env bash
# Re-checks every committed golden file against the live oracles (QEMU user mode from Debian's
# qemu-user-static, GNU binutils for riscv64). Installs them with apt-get when missing (root).
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v qemu-riscv64-static >/dev/null || need+=(qemu-user-static)
command -v riscv64-linux-gnu-objdump >/dev/null || need+=(binutils-riscv64-linux-gnu)
command -v riscv64-linux-gnu-gcc >/dev/null || need+=(gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)
command -v qemu-system-riscv64 >/dev/null || need+=(qemu-system-misc)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
node scripts/oracle/decode-golden.mjs --check
for s in guest/*/regen.sh; do
  [ -x "$s" ] || continue
  echo "== $s"
  "$s"
done
