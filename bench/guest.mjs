#!/usr/bin/env node
// CPU-bound work inside a guest: the guest/bench programs (static riscv64 binaries) run by the
// bundled Linux guest's shell, under rvisor's board (interpreter only, then with the JIT) and
// under qemu-system-riscv64 -machine virt (TCG) in the same run. Each machine boots the same
// kernel and initramfs with a raw virtio disk that holds the programs one after another (512-byte
// aligned); the guest copies each out with dd (trailing zeros do not matter to an ELF) and the
// host measures the wall time from sending `/tmp/NAME ARG` to the line that ends its output, the
// same way for every machine. Boot and copying are not timed. The checksums the programs print
// must agree between the three.
//   node bench/guest.mjs [--quick] [--only NAME[,NAME…]] [--jit-threshold N] [--no-qemu]
//   (npm run build first; QEMU from apt-get install qemu-system-misc)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { webcrypto } from 'node:crypto';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { VirtBoard } = await import(join(ROOT, 'dist/src/machine/board.js'));
const { MemoryBlockBackend } = await import(join(ROOT, 'dist/src/devices/virtio/blk/backend.js'));
const READY = 'rvisor guest ready';

/** The programs and their sizes: default about 1 s each under qemu-system; --quick a fifth. */
const PROGRAMS = [
  { name: 'intmix', arg: '30000000', quick: '6000000' },
  { name: 'sort', arg: '1000000', quick: '200000' },
  { name: 'fp', arg: '3', quick: '1' },
  { name: 'coremark-like', arg: '8000', quick: '2000' },
  { name: 'vm', arg: '150', quick: '30' },
];

function usage(msg) {
  if (msg) console.error(`bench/guest: ${msg}`);
  console.error('usage: node bench/guest.mjs [--quick] [--only NAME[,NAME...]] [--jit-threshold N] [--no-qemu]');
  process.exit(2);
}
const opts = { quick: false, only: undefined, qemu: true, jitThreshold: 50000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') opts.quick = true;
  else if (a === '--no-qemu') opts.qemu = false;
  else if (a === '--only') opts.only = (argv[++i] ?? usage('--only needs a value')).split(',');
  else if (a === '--jit-threshold') opts.jitThreshold = Number(argv[++i]);
  else usage(`unknown argument ${a}`);
}
if (!Number.isInteger(opts.jitThreshold) || opts.jitThreshold < 1) usage('--jit-threshold needs a positive integer');
const programs = PROGRAMS.filter((p) => !opts.only || opts.only.includes(p.name));
if (programs.length === 0) usage(`no program named ${opts.only}`);

// ---- the disk: the programs back to back, each at a 512-byte boundary ----------------------
const layout = [];
let off = 0;
const parts = [];
for (const p of programs) {
  const bin = gunzipSync(readFileSync(join(ROOT, 'guest', 'bench', `${p.name}.gz`)));
  const sectors = Math.ceil(bin.length / 512);
  layout.push({ ...p, skip: off / 512, count: sectors });
  const padded = new Uint8Array(sectors * 512);
  padded.set(bin);
  parts.push(padded);
  off += padded.length;
}
const disk = new Uint8Array(Math.ceil(off / (1 << 20)) * (1 << 20));
let at = 0;
for (const part of parts) { disk.set(part, at); at += part.length; }

const img = (n) => new Uint8Array(gunzipSync(readFileSync(join(ROOT, 'images', n))));
const kernel = img('Image.gz'), initrd = img('initramfs.cpio.gz');

/** The shell commands: copy every program to /tmp, then run each, each ending with a marker line
 *  the host waits for. */
const copyCmd = layout.map((p) => `dd if=/dev/vda of=/tmp/${p.name} bs=512 skip=${p.skip} count=${p.count} 2>/dev/null && chmod +x /tmp/${p.name}`).join(' && ') + ' && echo COPIED-OK\n';
const runCmd = (p) => `/tmp/${p.name} ${opts.quick ? p.quick : p.arg}; echo END-$?-MARK\n`;

/** Drives one machine: `send(text)` writes to its console, `until(re)` resolves with the output
 *  once `re` matches what came after the last send. Returns per program [seconds, output]. */
async function session(m) {
  await m.until(new RegExp(READY));
  // Let init start the shell, then make sure it answers.
  m.send('echo SHELL-UP\n');
  await m.until(/SHELL-UP\r?\n/);
  m.send(copyCmd);
  await m.until(/COPIED-OK\r?\n/);
  const results = {};
  for (const p of layout) {
    const t0 = performance.now();
    m.send(runCmd(p));
    const out = await m.until(/END-(\d+)-MARK\r?\n/);
    const secs = (performance.now() - t0) / 1000;
    const status = /END-(\d+)-MARK/.exec(out)[1];
    if (status !== '0') throw new Error(`${p.name} exited with ${status}: ${out}`);
    const sum = /checksum[^\n]*/i.exec(out)?.[0]?.trim() ?? out.split('\n').filter((l) => l.trim() && !l.includes('END-')).pop()?.trim();
    results[p.name] = { secs, sum };
  }
  return results;
}

/** Output after position `from` in `buf` that ends at a match of `re` (the match excluded from
 *  later waits). */
function waiter(getOut, step) {
  let mark = 0;
  return async (re) => {
    for (;;) {
      const o = getOut();
      const rest = o.slice(mark);
      const m = re.exec(rest);
      if (m) {
        mark += m.index + m[0].length;
        return rest.slice(0, m.index + m[0].length);
      }
      await step();
    }
  };
}

async function rvisorRun(threshold) {
  let out = '';
  const b = new VirtBoard({
    harts: 1, memBytes: 256 << 20, kernel, kernelName: 'Image', initrd, append: 'console=ttyS0', disks: [{ backend: new MemoryBlockBackend(disk.slice(), true) }],
    entropy: (x) => webcrypto.getRandomValues(x), consoleOut: (x) => { out += Buffer.from(x).toString('latin1'); },
    hostNowMs: () => performance.now(), wallNs: () => BigInt(Date.now()) * 1000000n, jit: { threshold },
  });
  const step = async () => {
    const r = b.step(20);
    if (r.kind === 'idle' && r.ms > 0) await new Promise((res) => setTimeout(res, Math.min(r.ms, 5)));
    if (r.kind === 'poweroff' || r.kind === 'reboot') throw new Error(`guest ended early: ${r.kind}`);
  };
  try {
    return await session({ send: (s) => b.pushInput(Buffer.from(s, 'latin1')), until: waiter(() => out, step) });
  } finally {
    b.destroy();
  }
}

async function qemuRun(dir) {
  const q = spawn('qemu-system-riscv64', ['-machine', 'virt', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-bios', 'default', '-m', '256M', '-smp', '1',
    '-kernel', join(dir, 'Image'), '-initrd', join(dir, 'initramfs.cpio.gz'), '-append', 'console=ttyS0',
    '-drive', `file=${join(dir, 'disk.raw')},format=raw,if=none,id=d0,readonly=on`, '-device', 'virtio-blk-device,drive=d0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '', exited = false;
  q.stdout.on('data', (d) => { out += d.toString('latin1'); });
  q.on('exit', () => { exited = true; });
  const step = () => new Promise((res, rej) => (exited ? rej(new Error(`QEMU exited: ${out.slice(-500)}`)) : setTimeout(res, 2)));
  try {
    return await session({ send: (s) => q.stdin.write(s), until: waiter(() => out, step) });
  } finally {
    q.kill('SIGKILL');
  }
}

const haveQemu = opts.qemu && spawnSync('qemu-system-riscv64', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'rvisor-guestbench-'));
try {
  writeFileSync(join(dir, 'Image'), kernel);
  writeFileSync(join(dir, 'initramfs.cpio.gz'), readFileSync(join(ROOT, 'images', 'initramfs.cpio.gz')));
  writeFileSync(join(dir, 'disk.raw'), disk);
  const interp = await rvisorRun(0);
  const jit = await rvisorRun(opts.jitThreshold);
  const qemu = haveQemu ? await qemuRun(dir) : undefined;
  if (opts.qemu && !haveQemu) console.log('qemu-system-riscv64 not found (apt-get install qemu-system-misc): rvisor numbers only');
  const ver = haveQemu ? spawnSync('qemu-system-riscv64', ['--version']).stdout.toString().split('\n')[0] : 'no QEMU';
  console.log(`CPU-bound programs inside the bundled guest (${opts.quick ? 'quick' : 'default'} sizes; JIT threshold ${opts.jitThreshold}; ${ver})`);
  console.log('program          interp s   JIT s  QEMU s  interp/QEMU  JIT/QEMU  interp/JIT  checksums');
  const g = { iq: [], jq: [], ij: [] };
  for (const p of layout) {
    const i = interp[p.name], j = jit[p.name], q = qemu?.[p.name];
    const same = i.sum === j.sum && (!q || q.sum === i.sum);
    if (!same) process.exitCode = 1;
    const ratio = (a, b) => (a / b).toFixed(2) + 'x';
    if (q) { g.iq.push(i.secs / q.secs); g.jq.push(j.secs / q.secs); }
    g.ij.push(i.secs / j.secs);
    console.log(`${`${p.name} ${opts.quick ? p.quick : p.arg}`.padEnd(22)} ${i.secs.toFixed(2).padStart(6)} ${j.secs.toFixed(2).padStart(7)} ${(q ? q.secs.toFixed(2) : '-').padStart(7)}  ` +
      `${(q ? ratio(i.secs, q.secs) : '-').padStart(11)} ${(q ? ratio(j.secs, q.secs) : '-').padStart(9)} ${ratio(i.secs, j.secs).padStart(11)}  ${same ? 'match' : `DIFFER: ${i.sum} / ${j.sum} / ${q?.sum}`}`);
  }
  const gm = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
  console.log(`${'geometric mean'.padEnd(22)} ${''.padStart(6)} ${''.padStart(7)} ${''.padStart(7)}  ${(g.iq.length ? gm(g.iq).toFixed(2) + 'x' : '-').padStart(11)} ${(g.jq.length ? gm(g.jq).toFixed(2) + 'x' : '-').padStart(9)} ${(gm(g.ij).toFixed(2) + 'x').padStart(11)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
