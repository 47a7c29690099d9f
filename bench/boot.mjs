#!/usr/bin/env node
// Boot benchmark: the bundled kernel + initramfs (images/) booted to the guest's readiness line,
// under rvisor (with its own SBI, and with Debian's OpenSBI as firmware), each with the
// interpreter only and with the JIT, and under QEMU (qemu-system-riscv64 -machine virt, TCG,
// OpenSBI) in the same run, several times each, every rvisor boot in a fresh process, the configurations
// taking turns. Prints the median seconds, guest instructions to
// boot (rvisor's count), the ratio rvisor/QEMU, and the JIT's counters after the last JIT boot.
//   node bench/boot.mjs [--runs N] [--jit-threshold N]     (npm run build first)
//   --runs: boots per configuration (default 5); --jit-threshold: instructions on a page before
//   the JIT translates it, for the JIT rows (default 50000)
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
const argVal = (name) => { const i = process.argv.indexOf(name); return i < 0 ? undefined : process.argv[i + 1]; };
const runs = Number(argVal('--runs')) || 5;
/** Internal: `--one FIRMWARE THRESHOLD` boots once in this process and prints the result as
 *  JSON (every measured boot runs in a fresh process, as `rvisor run` does: no module compiled by
 *  an earlier boot is reused, V8 starts cold). */
const one = process.argv.indexOf('--one');
const jitThreshold = argVal('--jit-threshold') === undefined ? 50000 : Number(argVal('--jit-threshold'));
if (!Number.isInteger(jitThreshold) || jitThreshold < 1) throw new Error('--jit-threshold needs a positive integer');
const img = (n) => new Uint8Array(gunzipSync(readFileSync(join(root, 'images', n))));
const kernel = img('Image.gz'), initrd = img('initramfs.cpio.gz'), opensbi = img('opensbi-fw_jump.bin.gz');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Boots in-process to the readiness line with the JIT at threshold (0: interpreter only);
 *  returns [seconds, instructions, the core's JIT counters]. */
async function rvisorBoot(firmware, threshold) {
  let out = '';
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const b = new VirtBoard({
    harts: 1, memBytes: 256 << 20, kernel, kernelName: 'Image', initrd, append: 'console=ttyS0', firmware, disks: [],
    entropy: (x) => webcrypto.getRandomValues(x), consoleOut: (x) => { out += Buffer.from(x).toString('latin1'); },
    hostNowMs: () => performance.now(), wallNs: () => BigInt(Date.now()) * 1000000n, jit: { threshold },
  });
  while (!out.includes(READY)) {
    const r = b.step(20);
    if (r.kind === 'idle' && r.ms > 0) await new Promise((res) => setTimeout(res, r.ms));
    if (r.kind === 'poweroff' || r.kind === 'reboot') throw new Error(`guest ended early: ${r.kind}`);
  }
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const insns = b.instructions;
  const jit = b.core.jitStats();
  b.destroy();
  return [secs, insns, jit, (c.user + c.system) / 1e6];
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

if (one >= 0) {
  const fw = process.argv[one + 1] === 'opensbi' ? opensbi : undefined;
  const [s, insns, j, cpu] = await rvisorBoot(fw, Number(process.argv[one + 2]));
  process.stdout.write(JSON.stringify({ s, insns: Number(insns), j, cpu }));
  process.exit(0);
}
/** One boot in a child process: [seconds, instructions, JIT counters, CPU seconds]. */
function freshBoot(fw, threshold) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--one', fw ? 'opensbi' : 'own', String(threshold)], { maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`boot failed: ${r.stderr}`);
  const o = JSON.parse(r.stdout.toString());
  return [o.s, o.insns, o.j, o.cpu];
}

const haveQemu = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'rvisor-bootbench-'));
writeFileSync(join(dir, 'Image'), kernel);
writeFileSync(join(dir, 'initramfs.cpio.gz'), readFileSync(join(root, 'images', 'initramfs.cpio.gz')));

const rows = [];
const configs = [
  ['rvisor (own SBI)', undefined, 0], ['rvisor + OpenSBI', opensbi, 0],
  ['rvisor JIT (own SBI)', undefined, jitThreshold], ['rvisor JIT + OpenSBI', opensbi, jitThreshold],
];
// the configurations take turns, run after run (the machine's speed drifts over a minute)
const samples = configs.map(() => ({ t: [], cpu: [], n: [], jit: undefined }));
for (let i = 0; i < runs; i++) {
  for (const [k, [, fw, threshold]] of configs.entries()) {
    const [s, insns, j, cpu] = freshBoot(fw, threshold);
    const x = samples[k];
    x.t.push(s); x.cpu.push(cpu); x.n.push(insns); x.jit = j && { ...j, bootInsns: Number(insns) };
  }
}
for (const [k, [name, , threshold]] of configs.entries()) {
  const x = samples[k];
  rows.push({ name, secs: median(x.t), cpu: median(x.cpu), insns: x.n[0], jit: threshold ? x.jit : undefined, interp: rows.find((r) => r.name === name.replace(' JIT', '')) });
}
let qemu;
if (haveQemu) {
  const t = [];
  for (let i = 0; i < runs; i++) t.push(await qemuBoot(dir));
  qemu = median(t);
} else {
  console.log('qemu-system-riscv64 not found (apt-get install qemu-system-misc): rvisor numbers only');
}
console.log(`boot to "${READY}", median of ${runs} runs, JIT threshold ${jitThreshold} (${haveQemu ? spawnSync('qemu-system-riscv64', ['--version']).stdout.toString().split('\n')[0] : 'no QEMU'})`);
console.log('configuration            seconds  CPU s  guest instructions   MIPS  vs QEMU  interp/JIT  (CPU)');
for (const r of rows) {
  console.log(`${r.name.padEnd(24)} ${r.secs.toFixed(2).padStart(7)}  ${r.cpu.toFixed(2).padStart(5)}  ${r.insns.toLocaleString('en-US').padStart(18)}  ` +
    `${(Number(r.insns) / r.secs / 1e6).toFixed(0).padStart(5)}  ${(qemu ? (r.secs / qemu).toFixed(2) + 'x' : '-').padStart(7)}  ` +
    `${(r.interp ? (r.interp.secs / r.secs).toFixed(2) + 'x' : '').padStart(10)}  ${r.interp ? (r.interp.cpu / r.cpu).toFixed(2) + 'x' : ''}`);
}
console.log('CPU s: the process\'s user+system time for the boot (V8\'s compiler threads included); interp/JIT > 1: the JIT is faster.');
if (qemu) console.log(`${'QEMU (OpenSBI)'.padEnd(24)} ${qemu.toFixed(2).padStart(7)}`);
for (const r of rows.filter((x) => x.jit)) {
  const j = r.jit;
  console.log(`${r.name} JIT counters (last boot): ${j.translations} translations (${j.moduleCacheHits} reused, ` +
    `${j.translatedInstructions.toLocaleString('en-US')} instructions, ${(j.wasmBytes / 1024).toFixed(0)} KiB wasm), ` +
    `compile ${j.compileMs.toFixed(0)} ms; ${j.enters.toLocaleString('en-US')} region entries, ` +
    `${j.instructions.toLocaleString('en-US')} instructions in regions (${(100 * j.instructions / j.bootInsns).toFixed(1)}% of that boot's), ` +
    `${j.misses} misses, ${j.stale} stale, ${j.flushes} flushes`);
}
