#!/bin/bash
# Boot benchmark, QEMU half: boots the committed guest images (images/Image.gz,
# images/initramfs.cpio.gz, images/disk.ext4.gz on virtio-mmio) under Debian's
# qemu-system-riscv64 -machine virt (TCG, one hart, 256 MiB, -bios default = QEMU's OpenSBI)
# N times and prints, for each run, the seconds from starting QEMU to the guest's readiness
# line `rvisor guest ready`, then the median.  QEMU is killed once the line is seen.
#
# Usage: bench/boot/qemu.sh [N]            (default N=5)
#   env QEMU=qemu-system-riscv64, BIOS=default (or a firmware file), TIMEOUT=120 (s per run),
#   SMP=1, IMAGES=<repo>/images
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-5}"
QEMU="${QEMU:-qemu-system-riscv64}"
BIOS="${BIOS:-default}"
SMP="${SMP:-1}"
TIMEOUT="${TIMEOUT:-120}"
IMAGES="${IMAGES:-$ROOT/images}"
case "$N" in ''|*[!0-9]*|0) echo "usage: $0 [N>0]" >&2; exit 2 ;; esac
if ! command -v "$QEMU" > /dev/null; then
  echo "bench/boot/qemu.sh: ERROR: $QEMU not found; install it with: apt-get install qemu-system-misc" >&2
  exit 3
fi
command -v node > /dev/null || { echo "bench/boot/qemu.sh: ERROR: node not found" >&2; exit 3; }
for f in Image.gz initramfs.cpio.gz disk.ext4.gz; do
  [ -f "$IMAGES/$f" ] || { echo "bench/boot/qemu.sh: ERROR: $IMAGES/$f missing (guest/linux/build-all.sh)" >&2; exit 3; }
done

WORK="$(mktemp -d /tmp/rvisor-bench-qemu.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
gzip -dc "$IMAGES/Image.gz" > "$WORK/Image"
cp "$IMAGES/initramfs.cpio.gz" "$WORK/initramfs.cpio.gz"
gzip -dc "$IMAGES/disk.ext4.gz" > "$WORK/disk.ext4"

echo "bench/boot/qemu.sh: $("$QEMU" --version | head -1)"
echo "bench/boot/qemu.sh: -machine virt, TCG, $SMP hart(s), 256M, -bios $BIOS, $N runs, to 'rvisor guest ready'"
# One node process times all runs: it spawns QEMU with piped stdio and stops the clock at the
# first occurrence of the readiness line on QEMU's stdout.
node - "$N" "$TIMEOUT" "$QEMU" -machine virt -nographic -bios "$BIOS" -smp "$SMP" -m 256M \
  -kernel "$WORK/Image" -initrd "$WORK/initramfs.cpio.gz" -append console=ttyS0 \
  -drive "file=$WORK/disk.ext4,format=raw,if=none,id=hd0" -device virtio-blk-device,drive=hd0 <<'NODE'
const { spawn } = require('node:child_process');
const [n, timeoutS, qemu, ...args] = process.argv.slice(2);
const READY = 'rvisor guest ready';
function boot() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const q = spawn(qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '', done = false;
    const timer = setTimeout(() => { if (!done) { done = true; q.kill('SIGKILL'); reject(new Error(`no readiness line within ${timeoutS} s; console tail:\n${out.slice(-2000)}`)); } }, Number(timeoutS) * 1000);
    q.stdout.on('data', (d) => {
      if (done) return;
      out += d.toString('latin1');
      if (out.includes(READY)) {
        done = true;
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        clearTimeout(timer);
        q.kill('SIGKILL');
        q.on('close', () => resolve(s));
      }
    });
    q.stderr.on('data', (d) => { err += d; });
    q.on('error', (e) => { if (!done) { done = true; clearTimeout(timer); reject(e); } });
    q.on('exit', (code) => { if (!done) { done = true; clearTimeout(timer); reject(new Error(`QEMU exited (${code}) before the readiness line: ${err.trim()}\n${out.slice(-2000)}`)); } });
  });
}
(async () => {
  const times = [];
  for (let i = 1; i <= Number(n); i++) {
    const s = await boot();
    times.push(s);
    console.log(`run ${i}: ${s.toFixed(3)} s`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const m = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  console.log(`median: ${m.toFixed(3)} s (min ${sorted[0].toFixed(3)}, max ${sorted[sorted.length - 1].toFixed(3)}, ${times.length} runs)`);
})().catch((e) => { console.error(`bench/boot/qemu.sh: ERROR: ${e.message}`); process.exit(1); });
NODE
