#!/usr/bin/env node
// Boot benchmark: the bundled kernel + initramfs (images/) booted to the guest's readiness line,
// under rvisor (with its own SBI, and with Debian's OpenSBI as firmware) and under QEMU
// (qemu-system-riscv64 -machine virt, TCG, OpenSBI) in the same run, several times each. Prints
// the median seconds, guest instructions to boot (rvisor's count) and the ratio rvisor/QEMU.
//   node bench/boot.mjs [--runs N]        (npm run build first)
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { webcrypto } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { VirtBoard } = await import(join(root, 'dist/src/machine/board.js'));
const READY = 'rvisor guest ready';
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const img = (n) => new Uint8Array(gunzipSync(readFileSync(join(root, 'images', n))));
const kernel = img('Image.gz'), initrd = img('initramfs.cpio.gz'), opensbi = img('opensbi-fw_jump.bin.gz');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Boots in-process to the readiness line; returns [seconds, instructions]. */
async function rvisorBoot(firmware) {
  let out = '';
  const t0 = performance.now();
  const b = new VirtBoard({
    harts: 1, memBytes: 256 << 20, kernel, kernelName: 'Image', initrd, append: 'console=ttyS0', firmware, disks: [],
    entropy: (x) => webcrypto.getRandomValues(x), consoleOut: (x) => { out += Buffer.from(x).toString('latin1'); },
    hostNowMs: () => performance.now(), wallNs: () => BigInt(Date.now()) * 1000000n,
  });
  while (!out.includes(READY)) {
    const r = b.step(20);
    if (r.kind === 'idle' && r.ms > 0) await new Promise((res) => setTimeout(res, r.ms));
    if (r.kind === 'poweroff' || r.kind === 'reboot') throw new Error(`guest ended early: ${r.kind}`);
  }
  const secs = (performance.now() - t0) / 1000;
  const insns = b.instructions;
  b.destroy();
  return [secs, insns];
}

function qemuBoot(dir) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const q = spawn('qemu-system-riscv64', ['-machine', 'virt', '-nographic', '-bios', 'default', '-m', '256M', '-smp', '1',
      '-kernel', join(dir, 'Image'), '-initrd', join(dir, 'initramfs.cpio.gz'), '-append', 'console=ttyS0'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    q.stdout.on('data', (d) => {
      out += d.toString('latin1');
      if (out.includes(READY)) {
        const secs = (performance.now() - t0) / 1000;
        q.kill('SIGKILL');
        resolve(secs);
      }
    });
    q.on('error', reject);
    q.on('exit', () => { if (!out.includes(READY)) reject(new Error('QEMU exited before the readiness line')); });
  });
}

const haveQemu = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'rvisor-bootbench-'));
writeFileSync(join(dir, 'Image'), kernel);
writeFileSync(join(dir, 'initramfs.cpio.gz'), readFileSync(join(root, 'images', 'initramfs.cpio.gz')));

const rows = [];
for (const [name, fw] of [['rvisor (own SBI)', undefined], ['rvisor + OpenSBI', opensbi]]) {
  const t = [], n = [];
  for (let i = 0; i < runs; i++) { const [s, insns] = await rvisorBoot(fw); t.push(s); n.push(insns); }
  rows.push({ name, secs: median(t), insns: n[0] });
}
let qemu;
if (haveQemu) {
  const t = [];
  for (let i = 0; i < runs; i++) t.push(await qemuBoot(dir));
  qemu = median(t);
} else {
  console.log('qemu-system-riscv64 not found (apt-get install qemu-system-misc): rvisor numbers only');
}
console.log(`boot to "${READY}", median of ${runs} runs (${haveQemu ? spawnSync('qemu-system-riscv64', ['--version']).stdout.toString().split('\n')[0] : 'no QEMU'})`);
console.log('configuration        seconds  guest instructions   MIPS  vs QEMU');
for (const r of rows) {
  console.log(`${r.name.padEnd(20)} ${r.secs.toFixed(2).padStart(7)}  ${r.insns.toLocaleString('en-US').padStart(18)}  ${(Number(r.insns) / r.secs / 1e6).toFixed(0).padStart(5)}  ${qemu ? (r.secs / qemu).toFixed(1) + 'x' : '-'}`);
}
if (qemu) console.log(`${'QEMU (OpenSBI)'.padEnd(20)} ${qemu.toFixed(2).padStart(7)}`);
