#!/usr/bin/env node
// npm run bench:snapshot — save and restore of a booted 256 MiB bundled guest on a host with real
// pCPU workers (issue #8's goals: resume ≤ 5 ms): save time and file size, then per restore, lazy
// (pages read on first touch) and --prefault (every page loaded first), the time from the API call
// to its return (VM running), to the first guest instruction retired (vCPU running) and to the
// guest answering a console command; a cold boot to answering for comparison. Also live clones
// (API call → clone running, original's pause, → clone answers) and live migration to a second
// host over TCP loopback (total time and downtime for the idle guest, and for the guest rewriting
// 64 MiB of tmpfs in a loop).
// Prints a markdown table (median of --runs, default 5).
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { openHost } from '../dist/src/vmm/host.js';
import { startApi } from '../dist/src/api/listen.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 5);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function waitFor(cond, ms, what) {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(1);
  }
}

/** Types `echo pong-N` and resolves when the answer comes back (the time it took, ms). */
async function answer(host, name, t0) {
  let text = '';
  const att = host.attachConsole(name, (b) => { text += Buffer.from(b).toString('latin1'); });
  const n = Math.floor(Math.random() * 1e6);
  att.write(Buffer.from(`echo pong-$((${n}+1))\n`));
  await waitFor(() => text.includes(`pong-${n + 1}`), 60000, 'console answer');
  const ms = performance.now() - t0;
  att.detach();
  return ms;
}

const dir = mkdtempSync(join(tmpdir(), 'rvisor-bench-snap-'));
const host = await openHost({ stateDir: dir, pcpus: 2 });
const rows = [];
try {
  host.define({ name: 'src', memory: '256M' });
  const tBoot = performance.now();
  await host.start('src');
  let text = '';
  const att = host.attachConsole('src', (b) => { text += Buffer.from(b).toString('latin1'); });
  await waitFor(() => text.includes('~ # '), 120000, 'boot');
  att.detach();
  const coldMs = await answer(host, 'src', tBoot);
  await sleep(1000);

  const file = join(dir, 'src.rvs');
  const saved = await host.save('src', file);
  const size = statSync(file).size;
  console.error(`saved: ${saved.durationMs.toFixed(1)} ms, ${size} bytes, ${saved.pagesStored}/${saved.pagesPresent} pages`);

  // Lazy restore (the default: each page read from the file on first touch) and prefault
  // (every page loaded before the call returns), alternating.
  const m = { lazy: { api: [], vcpu: [], ans: [], early: [] }, prefault: { api: [], vcpu: [], ans: [], early: [] } };
  for (let i = 0; i < RUNS; i++) {
    for (const mode of ['lazy', 'prefault']) {
      const r = m[mode];
      const name = `r${i}${mode[0]}`;
      // A copy per restore: no worker has any of its sections cached (a cold lazy restore).
      const copy = join(dir, `${name}.rvs`);
      copyFileSync(file, copy);
      const t0 = performance.now();
      await host.restore(copy, { name, ...(mode === 'prefault' ? { prefault: true } : {}) });
      r.api.push(performance.now() - t0);
      r.early.push(host.stats(name).memory.presentBytes / 4096);
      await waitFor(() => host.stats(name).instructions > 0, 10000, 'first slice');
      r.vcpu.push(performance.now() - t0);
      r.ans.push(await answer(host, name, t0));
      console.error(`  ${mode} restore ${i}: api ${r.api.at(-1).toFixed(1)} ms (${r.early.at(-1)} pages present), vcpu ${r.vcpu.at(-1).toFixed(1)} ms, answers ${r.ans.at(-1).toFixed(1)} ms`);
      await host.destroy(name);
      host.undefine(name);
    }
  }
  // Clones and migrations of the saved guest, restored as it was after its boot.
  await host.restore(file, { name: 'src' });
  await answer(host, 'src', performance.now());
  // Live clones of the running guest.
  const cl = { api: [], paused: [], ans: [] };
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const c = await host.clone('src', `c${i}`);
    cl.api.push(performance.now() - t0);
    cl.paused.push(c.pausedMs);
    cl.ans.push(await answer(host, `c${i}`, t0));
    console.error(`  clone ${i}: api ${cl.api.at(-1).toFixed(2)} ms (original paused ${c.pausedMs.toFixed(2)} ms, ${c.pagesShared} pages shared), answers ${cl.ans.at(-1).toFixed(1)} ms`);
    await host.destroy(`c${i}`);
    host.undefine(`c${i}`);
  }

  // Live migration to a second host and back, over TCP loopback.
  const dir2 = mkdtempSync(join(tmpdir(), 'rvisor-bench-mig-'));
  const other = await openHost({ stateDir: dir2, pcpus: 2 });
  const apiOther = await startApi({ host: other, stateDir: dir2, listen: '127.0.0.1:0' });
  const apiHere = await startApi({ host, stateDir: dir, listen: '127.0.0.1:0' });
  const migs = [];
  try {
    const there = { to: apiOther.tcp.url, token: readFileSync(apiOther.tokenPath, 'utf8').trim() };
    const back = { to: apiHere.tcp.url, token: readFileSync(apiHere.tokenPath, 'utf8').trim() };
    for (let i = 0; i < RUNS; i++) {
      const r1 = await host.migrate('src', there);
      host.undefine('src');
      const r2 = await other.migrate('src', back);
      other.undefine('src');
      migs.push(r1, r2);
      console.error(`  idle migration ${i}: ${r1.totalMs.toFixed(0)} / ${r2.totalMs.toFixed(0)} ms, downtime ${r1.downtimeMs.toFixed(1)} / ${r2.downtimeMs.toFixed(1)} ms, ${r1.rounds}/${r2.rounds} rounds`);
    }
    await answer(host, 'src', performance.now());
    // A guest rewriting 64 MiB of tmpfs in a loop.
    const att2 = host.attachConsole('src', () => {});
    // 64 MiB of non-zero bytes (yes is fast where /dev/urandom is not), rewritten in place in a loop.
    att2.write(Buffer.from('yes rvisor | head -c 67108864 > /tmp/src; (while true; do dd if=/tmp/src of=/tmp/churn bs=1048576 conv=notrunc 2>/dev/null; done) & echo $! > /tmp/churn.pid\n'));
    att2.detach();
    await sleep(8000);
    const busy = await host.migrate('src', there);
    console.error(`  busy migration: ${busy.totalMs.toFixed(0)} ms, downtime ${busy.downtimeMs.toFixed(1)} ms, ${busy.rounds} rounds, ${busy.pagesSent} pages sent, throttle ${busy.throttlePct}%`);
    host.undefine('src');
    const back2 = await other.migrate('src', back);
    other.undefine('src');
    const att3 = host.attachConsole('src', () => {});
    att3.write(Buffer.from('kill $(cat /tmp/churn.pid); sleep 1; rm -f /tmp/src /tmp/churn\n'));
    att3.detach();
    await sleep(1500);
    await answer(host, 'src', performance.now()); // quiet again before the save
    console.error(`  busy migration back: ${back2.totalMs.toFixed(0)} ms, downtime ${back2.downtimeMs.toFixed(1)} ms, ${back2.rounds} rounds`);
    rows.push([`live clone: API call → clone running (goal ≤ 2 ms)`, `${median(cl.api).toFixed(2)} ms (original's vCPUs stopped ${median(cl.paused).toFixed(2)} ms)`]);
    rows.push([`live clone: API call → clone answers \`echo\``, `${median(cl.ans).toFixed(1)} ms`]);
    rows.push([`live migration, idle guest (${migs.length} moves): total`, `${median(migs.map((x) => x.totalMs)).toFixed(0)} ms (${median(migs.map((x) => x.bytesSent / 1048576)).toFixed(1)} MiB sent, ${median(migs.map((x) => x.rounds))} pre-copy round(s))`]);
    rows.push([`live migration, idle guest: downtime (goal ≤ 30 ms)`, `${median(migs.map((x) => x.downtimeMs)).toFixed(1)} ms`]);
    rows.push([`live migration, guest rewriting 64 MiB of tmpfs in a loop (dd): total / downtime`, `${busy.totalMs.toFixed(0)} ms / ${busy.downtimeMs.toFixed(1)} ms (${busy.rounds} round(s), ${(busy.bytesSent / 1048576).toFixed(0)} MiB sent, auto-converge throttle ${busy.throttlePct}%)`]);
  } finally {
    await apiHere.close();
    await apiOther.close();
    await other.close();
    rmSync(dir2, { recursive: true, force: true });
  }
  rows.push(['save (API call → file on disk, VM stopped)', `${saved.durationMs.toFixed(0)} ms`]);
  rows.push(['snapshot file size (256 MiB guest after boot)', `${(size / 1048576).toFixed(2)} MiB (${saved.pagesStored} of ${saved.pagesPresent} present pages stored, ${(saved.pagesPresent * 4 / 1024).toFixed(1)} MiB present)`]);
  for (const mode of ['lazy', 'prefault']) {
    const r = m[mode];
    const what = mode === 'lazy' ? 'lazy restore' : 'restore --prefault';
    rows.push([`${what}: API call → returns, VM running (goal ≤ 5 ms)`, `${median(r.api).toFixed(1)} ms (${median(r.early)} of ${saved.pagesStored} stored pages present on return)`]);
    rows.push([`${what}: API call → first guest instruction retired`, `${median(r.vcpu).toFixed(1)} ms`]);
    rows.push([`${what}: API call → guest answers \`echo\` on its console`, `${median(r.ans).toFixed(1)} ms`]);
  }
  rows.push(['for comparison: cold boot → guest answers `echo`', `${coldMs.toFixed(0)} ms`]);
} finally {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:snapshot\` (median of ${RUNS} restores; ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}):\n`);
console.log('| measurement | result |\n|---|---|');
for (const [a, b] of rows) console.log(`| ${a} | ${b} |`);
