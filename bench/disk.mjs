#!/usr/bin/env node
// npm run bench:disk — rvisor's disk backends (raw, qcow2) beside QEMU's block layer on the same
// work, measured in the same run: `qemu-img bench` (Debian's qemu-utils; -d 1 -t writeback -i
// threads: one request at a time through the page cache, like rvisor's synchronous backend)
// against the same requests through rvisor's HostDisk: --count sequential --size requests
// (default 30000 × 4 KiB), writes into a fresh 256 MiB image (a qcow2 allocates every cluster),
// then reads of what was written. Prints a markdown table: seconds, IOPS and the ratio
// rvisor/QEMU (time; below 1 is faster), median of --runs (default 3).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDisk } from '../dist/src/host/disk/host-disk.js';
import { createQcow2 } from '../dist/src/host/disk/qcow2-create.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const COUNT = arg('--count', 30000), SIZE = arg('--size', 4096), RUNS = arg('--runs', 3);
const DISK = 256 * 2 ** 20;
if (COUNT * SIZE > DISK) throw new Error(`--count × --size must fit ${DISK} bytes`);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'rvisor-bench-disk-'));

function fresh(fmt, name) {
  const f = join(dir, name);
  rmSync(f, { force: true });
  if (fmt === 'raw') execFileSync('qemu-img', ['create', '-q', '-f', 'raw', f, String(DISK)]);
  else createQcow2(f, { size: DISK });
  return f;
}

function qemu(fmt, file, write) {
  const out = execFileSync('qemu-img', ['bench', '-f', fmt, '-t', 'writeback', '-i', 'threads', '-d', '1', '-c', String(COUNT), '-s', String(SIZE), ...(write ? ['-w'] : []), file], { encoding: 'utf8' });
  const m = /Run completed in ([\d.]+) seconds/.exec(out);
  if (!m) throw new Error(`qemu-img bench said: ${out}`);
  return Number(m[1]);
}

function ours(fmt, file, write) {
  const d = openDisk(file, { format: fmt });
  const buf = new Uint8Array(SIZE).fill(0xcd);
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    if (!(write ? d.write(i * SIZE, buf) : d.read(i * SIZE, buf))) throw new Error(`${fmt} ${write ? 'write' : 'read'} ${i}: ${d.lastError?.message}`);
  }
  const s = (performance.now() - t0) / 1000;
  d.close();
  return s;
}

const rows = [];
try {
  for (const fmt of ['raw', 'qcow2']) {
    for (const write of [true, false]) {
      const q = [], r = [];
      for (let k = 0; k < RUNS; k++) {
        // Writes go to a fresh image each run (allocation included); reads read a written one.
        const fq = write ? fresh(fmt, `q.${fmt}`) : join(dir, `q.${fmt}`);
        const fr = write ? fresh(fmt, `r.${fmt}`) : join(dir, `r.${fmt}`);
        q.push(qemu(fmt, fq, write));
        r.push(ours(fmt, fr, write));
      }
      rows.push({ what: `${fmt} ${write ? 'write (fresh image)' : 'read'}`, q: median(q), r: median(r) });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`\n${COUNT} sequential ${SIZE}-byte requests, one at a time; median of ${RUNS}\n`);
console.log('| work | QEMU s | QEMU IOPS | rvisor s | rvisor IOPS | rvisor/QEMU |');
console.log('|---|---|---|---|---|---|');
for (const { what, q, r } of rows) {
  console.log(`| ${what} | ${q.toFixed(3)} | ${Math.round(COUNT / q)} | ${r.toFixed(3)} | ${Math.round(COUNT / r)} | ${(r / q).toFixed(2)}x |`);
}
