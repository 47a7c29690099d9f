#!/usr/bin/env node
// npm run bench:sched — the host's scheduler and density, measured on this machine with real
// pCPU workers: CPU shares under weights, caps and oversubscription (CPU-bound bare-metal guests
// that spin), host CPU of idle Linux guests, API latency while every pCPU is busy, start-to-ready
// time of Linux guests, and host memory per idle 64 MiB guest. Prints a markdown table.
//   --vms N      idle Linux guests running at once for the memory/density rows (default 32;
//                docs/performance.md records a run with 500)
//   --seconds S  measuring window of each CPU-share row (default 6)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { openHost } from '../dist/src/vmm/host.js';
import { startApi } from '../dist/src/api/listen.js';
import { encode as I } from '../dist/src/isa/encode.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const WINDOW_S = arg('--seconds', 6);
const DENSITY_VMS = arg('--vms', 32);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rows = [];
const row = (what, target, measured, ok) => {
  rows.push({ what, target, measured, ok });
  console.error(`  ${what}: ${measured} ${ok === undefined ? '' : ok ? '(ok)' : '(MISSED)'}`);
};

async function withHost(pcpus, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-bench-'));
  const host = await openHost({ stateDir: dir, pcpus });
  try {
    return await fn(host, dir);
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A CPU-bound guest: M-mode firmware that loops forever. */
function spinner(dir, name, extra = {}) {
  const path = join(dir, `${name}.bin`);
  writeFileSync(path, new Uint8Array(Uint32Array.from([I('addi', { rd: 5, rs1: 5, imm: 1 }), I('jal', { rd: 0, imm: -4 })]).buffer));
  return { name, memory: '32M', kernel: null, initrd: null, bios: path, ...extra };
}

/** CPU time of each VM over a window, as a share of one pCPU. */
async function shares(host, names) {
  await sleep(1000);
  const t0 = performance.now();
  const c0 = names.map((n) => host.stats(n).cpuTimeNs);
  await sleep(WINDOW_S * 1000);
  const wall = (performance.now() - t0) * 1e6;
  return names.map((n, i) => (host.stats(n).cpuTimeNs - c0[i]) / wall);
}

async function bootLinux(host, names) {
  const ready = new Map();
  const t0 = new Map();
  await Promise.all(names.map(async (name) => {
    host.define({ name, memory: '64M' });
    let text = '';
    t0.set(name, performance.now());
    await host.start(name);
    await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${name} not ready in 600 s`)), 600000);
      const att = host.attachConsole(name, (b) => {
        text += Buffer.from(b).toString('latin1');
        if (text.includes('rvisor guest ready')) {
          ready.set(name, performance.now() - t0.get(name));
          clearTimeout(timer);
          att.detach();
          res();
        }
      });
    });
  }));
  return [...ready.values()].sort((a, b) => a - b);
}

const pct = (v) => `${(v * 100).toFixed(1)}%`;
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

console.error('weights 512:256 on one pCPU');
await withHost(1, async (host, dir) => {
  host.define(spinner(dir, 'heavy', { weight: 512 }));
  host.define(spinner(dir, 'light', { weight: 256 }));
  await host.start('heavy');
  await host.start('light');
  const [a, b] = await shares(host, ['heavy', 'light']);
  row('weights 512:256, 1 pCPU: CPU ratio', '2.0 ±10%', `${(a / b).toFixed(2)} (${pct(a)} / ${pct(b)})`, Math.abs(a / b - 2) <= 0.2);
});

console.error('cap 25');
await withHost(1, async (host, dir) => {
  host.define(spinner(dir, 'capped', { cap: 25 }));
  await host.start('capped');
  const [a] = await shares(host, ['capped']);
  row('cap 25, 1 pCPU: share of a pCPU', '25% ±5', pct(a), Math.abs(a - 0.25) <= 0.05);
});

console.error('3 equal VMs on 2 pCPUs');
await withHost(2, async (host, dir) => {
  const names = ['eq-0', 'eq-1', 'eq-2'];
  for (const n of names) host.define(spinner(dir, n));
  for (const n of names) await host.start(n);
  const s = await shares(host, names);
  row('3 equal VMs, 2 pCPUs: share each', '66.7% ±10%', s.map(pct).join(' / '), s.every((v) => Math.abs(v - 2 / 3) <= 2 / 30));
});

console.error('API latency while every pCPU is busy');
await withHost(2, async (host, dir) => {
  for (let i = 0; i < 4; i++) {
    host.define(spinner(dir, `busy-${i}`));
    await host.start(`busy-${i}`);
  }
  for (let i = 0; i < 60; i++) host.define({ name: `def-${i}`, memory: '64M' });
  const api = await startApi({ host, stateDir: dir });
  try {
    await sleep(500);
    const lat = [];
    for (let i = 0; i < 500; i++) {
      const t = performance.now();
      await new Promise((res, rej) => {
        const req = request({ socketPath: api.socketPath, path: '/vms', method: 'GET' }, (r) => {
          r.resume();
          r.on('end', () => (r.statusCode === 200 ? res() : rej(new Error(`status ${r.statusCode}`))));
        });
        req.on('error', rej);
        req.end();
      });
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    row('GET /vms (64 VMs) while 2 pCPUs run 4 busy VMs: p50 / p99', 'p99 < 20 ms', `${quantile(lat, 0.5).toFixed(2)} / ${quantile(lat, 0.99).toFixed(2)} ms`, quantile(lat, 0.99) < 20);
  } finally {
    await api.close();
  }
});

console.error('start to ready, 8 Linux guests at once on 2 pCPUs');
await withHost(2, async (host) => {
  const names = Array.from({ length: 8 }, (_, i) => `boot-${i}`);
  const t = await bootLinux(host, names);
  row('start → "rvisor guest ready", 8 VMs at once, 2 pCPUs: p50 / p99', '—', `${(quantile(t, 0.5) / 1000).toFixed(2)} / ${(quantile(t, 0.99) / 1000).toFixed(2)} s`);
});

console.error(`idle Linux guests: host CPU with 16, memory with ${DENSITY_VMS}`);
await withHost(2, async (host) => {
  await sleep(500);
  const rss0 = process.memoryUsage.rss();
  const idleCpu = async () => {
    await sleep(10000); // past the guests' own start-up work (init, acpid)
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(10000);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / (performance.now() - t0);
  };
  const first = Math.min(16, DENSITY_VMS);
  await bootLinux(host, Array.from({ length: first }, (_, i) => `idle-${i}`));
  const cpu16 = await idleCpu();
  row(`${first} idle Linux VMs: host CPU (all threads) over 10 s`, '< 5% of one core', pct(cpu16), cpu16 < 0.05);
  if (DENSITY_VMS > first) await bootLinux(host, Array.from({ length: DENSITY_VMS - first }, (_, i) => `idle-${first + i}`));
  const cpuAll = await idleCpu();
  const rss = process.memoryUsage.rss();
  const frames = host.hostStats().arenas.reduce((n, a) => n + a.framesInUse, 0);
  const perVm = (rss - rss0) / DENSITY_VMS;
  row(`${DENSITY_VMS} idle Linux VMs running at once: host RSS, host CPU over 10 s`, '—', `${(rss / 1024 ** 3).toFixed(2)} GiB, ${pct(cpuAll)} of one core`);
  row('host memory per idle 64 MiB VM (RSS growth / VMs; guest frames)', '—', `${(perVm / 1048576).toFixed(1)} MiB (${(frames * 4096 / DENSITY_VMS / 1048576).toFixed(1)} MiB of guest frames)`);
  const capacity = Math.floor((totalmem() - rss0) / perVm);
  row(`idle 64 MiB VMs this ${(totalmem() / 1024 ** 3).toFixed(0)} GiB host holds (from the row above)`, '500', `${capacity}`, capacity >= 500);
});

console.log('| measurement | target | measured | |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.what} | ${r.target} | ${r.measured} | ${r.ok === undefined ? '' : r.ok ? 'ok' : 'missed'} |`);
