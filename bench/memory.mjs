#!/usr/bin/env node
// npm run bench:memory — memory overcommit (issue #9) with the bundled Linux guest, three parts,
// all measured in one run (each prints its own markdown table):
//   sharing     20 identical idle 256 MiB guests (one sharingGroup) that each read the same
//               150 MiB (a read-only raw disk of pseudo-random bytes, `cat /dev/vda` with the
//               device held open, so it stays in every guest's page cache); the page-sharing
//               scanner runs at --rate pages/s (default 400000) until host memory held / guest
//               memory held stops improving.
//   overcommit  8 guests of 256 MiB under hostMem 1G, each writing 200 MiB of /dev/urandom into a
//               tmpfs and md5summing it, all at once; every guest must finish, and a second md5sum
//               after a pause must match the first.
//   density     idle 64 MiB guests (one sharingGroup) booted until --vms (default 500), a failed
//               start, or --minutes (default 20); then the host's CPU over 10 s.
// `npm run bench:memory -- density` (or any list of parts) runs only those; default: all three.
// Options: --guests N (sharing, default 20), --mib N (sharing file, default 150), --rate N,
// --converge-s S (bound on the sharing wait, default 600); --jobs N (overcommit guests, default
// 8), --job-mib N (default 200), --job-minutes M (bound on the jobs, default 20); --vms N,
// --minutes M, --parallel N (density boots in flight at once, default 8), --density-rate N
// (density's pageSharingRate; default: the host's default).
//
// The host runs in this process (openHost, the engine of `rvisor serve`), not as a `rvisor serve`
// child: HostStats/VmStats are read directly (no REST polling between samples), and the process's
// RSS and CPU time (process.memoryUsage.rss, process.cpuUsage: the pCPU workers are threads of this
// process) are the host's own. Every host gets a temporary state dir (no API listener at all, so
// nothing outside loopback either), every wait is bounded, and every VM and the host are stopped in
// a finally block (and on SIGINT/SIGTERM).
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { openHost } from '../dist/src/vmm/host.js';

const argv = process.argv.slice(2);
const num = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const PARTS = ['sharing', 'overcommit', 'density'];
const wanted = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
for (const p of wanted) if (!PARTS.includes(p)) throw new Error(`unknown part ${p} (expected ${PARTS.join(', ')})`);
const parts = wanted.length ? PARTS.filter((p) => wanted.includes(p)) : PARTS;

const MiB = 1048576;
const PAGE = 4096;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const mib = (b) => `${(b / MiB).toFixed(1)} MiB`;
const gib = (b) => `${(b / 1024 ** 3).toFixed(2)} GiB`;
const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;
const rss = () => process.memoryUsage.rss();
const framesInUse = (host) => host.hostStats().arenas.reduce((n, a) => n + a.framesInUse, 0);
const tables = [];

/** A VM's console: its scrollback, then what follows; bounded waits (as test/host-helpers.ts). */
class Con {
  constructor(host, name) {
    this.name = name;
    this.text = '';
    this.seen = 0;
    this.att = host.attachConsole(name, (b) => { this.text += Buffer.from(b).toString('latin1'); });
    this.text = Buffer.from(this.att.scrollback).toString('latin1') + this.text;
  }

  /** Waits until `pattern` appears after the previous match; returns the text up to it. */
  async waitFor(pattern, ms) {
    const end = performance.now() + ms;
    for (;;) {
      const at = this.text.indexOf(pattern, this.seen);
      if (at >= 0) {
        const out = this.text.slice(this.seen, at + pattern.length);
        this.seen = at + pattern.length;
        return out;
      }
      if (performance.now() > end) throw new Error(`${this.name}: timed out after ${sec(ms)} waiting for "${pattern}"; console tail: ${JSON.stringify(this.text.slice(-300))}`);
      await sleep(100);
    }
  }

  /** Types a short command (the guest shell wraps lines past 80 columns) and returns its output. */
  async run(cmd, ms = 60000) {
    const tag = Math.random().toString(36).slice(2, 8);
    this.att.write(Buffer.from(`${cmd}; echo "@@${tag}""@@"\n`));
    const out = await this.waitFor(`@@${tag}@@`, ms);
    const echoed = out.lastIndexOf(`"@@${tag}""@@"`);
    return out.slice(out.indexOf('\n', echoed) + 1, out.lastIndexOf(`@@${tag}@@`)).replace(/\r/g, '').replace(/\n$/, '');
  }

  detach() {
    this.att.detach();
  }
}

let current; // { host, dir } of the part running, for the signal handlers
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping the host`);
    const c = current;
    (c ? c.host.close().finally(() => rmSync(c.dir, { recursive: true, force: true })) : Promise.resolve()).finally(() => process.exit(130));
  });
}

/** A host on a temporary state dir; every VM destroyed (bounded) and the host closed at the end. */
async function withHost(opts, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-bench-mem-'));
  const host = await openHost({ stateDir: dir, pcpus: 2, ...opts });
  current = { host, dir };
  try {
    return await fn(host, dir);
  } finally {
    const running = host.list().filter((v) => v.state !== 'shutoff').map((v) => v.name);
    await Promise.race([Promise.allSettled(running.map((n) => host.destroy(n))), sleep(60000)]);
    await host.close();
    current = undefined;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Boots a VM and waits for its readiness line; returns its console. */
async function boot(host, name, ms = 300000) {
  await host.start(name);
  const c = new Con(host, name);
  await c.waitFor('rvisor guest ready', ms);
  await c.waitFor('~ # ', ms); // its login shell
  return c;
}

/** `bytes` deterministic pseudo-random bytes (AES-128-CTR of zeros, fixed key): no zero page, no
 *  two pages alike. Returns the file's md5. */
function randomImage(path, bytes) {
  const ciph = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zero = Buffer.alloc(MiB);
  const md5 = createHash('md5');
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; done += MiB) {
      const chunk = ciph.update(zero);
      md5.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  return md5.digest('hex');
}

function table(title, head, rows, notes = []) {
  tables.push([`### ${title}`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), ...(notes.length ? ['', ...notes] : [])].join('\n'));
  console.log(`\n${tables.at(-1)}\n`);
}

// ---- 1. page sharing ---------------------------------------------------------------------------

async function sharing() {
  const N = num('--guests', 20), FILE_MIB = num('--mib', 150), RATE = num('--rate', 400000);
  const CONVERGE_MS = num('--converge-s', 600) * 1000;
  log(`sharing: ${N} × 256 MiB guests, ${FILE_MIB} MiB file, pageSharingRate ${RATE}`);
  await withHost({ pageSharingRate: RATE }, async (host, dir) => {
    const disk = join(dir, 'data.img');
    const sum = randomImage(disk, FILE_MIB * MiB);
    const names = Array.from({ length: N }, (_, i) => `s${i}`);
    for (const name of names) host.define({ name, memory: '256M', sharingGroup: 'bench', disks: [{ path: disk, readonly: true }] });
    const t0 = performance.now();
    const con = await Promise.all(names.map((n) => boot(host, n)));
    const bootMs = performance.now() - t0;
    log(`sharing: ${N} booted in ${sec(bootMs)}`);
    await Promise.all(con.map((c) => c.run('dmesg -n 1')));
    const t1 = performance.now();
    // Linux drops a block device's page cache when its last opener closes it (kill_bdev), so
    // each guest's shell keeps /dev/vda open (fd 3) and the cache stays, as a file's would.
    await Promise.all(con.map((c) => c.run('exec 3</dev/vda')));
    await Promise.all(con.map((c) => c.run('cat /dev/vda >/dev/null', 600000)));
    const readMs = performance.now() - t1;
    const buffers = await Promise.all(con.map(async (c) => Number(await c.run("awk '/^Buffers/{print $2}' /proc/meminfo")) / 1024));
    log(`sharing: read in ${sec(readMs)}; Buffers ${Math.min(...buffers).toFixed(1)}..${Math.max(...buffers).toFixed(1)} MiB`);
    const rssPeak0 = rss();

    const sample = () => {
      const h = host.hostStats();
      const guest = names.reduce((s, n) => s + host.stats(n).memory.presentBytes, 0);
      const frames = h.arenas.reduce((n, a) => n + a.framesInUse, 0);
      return { t: performance.now() - t1 - readMs, guest, held: h.memory.heldBytes, frames, ratio: h.memory.heldBytes / guest, m: h.memory, arenas: h.arenas };
    };
    // Until the ratio has not improved by 0.002 for 4 samples 5 s apart (bounded).
    let s = sample(), best = s, samples = [s];
    const tc = performance.now();
    while (performance.now() - tc < CONVERGE_MS) {
      await sleep(5000);
      s = sample();
      samples.push(s);
      log(`sharing: +${sec(s.t)} guests ${mib(s.guest)}, held ${mib(s.held)}, ratio ${s.ratio.toFixed(3)}, shared ${mib(s.m.sharedBytes)}, zero ${mib(s.m.zeroBytes)}, scanned ${s.m.sharing.scannedPages}`);
      if (s.ratio < best.ratio - 0.002) best = s;
      else if (samples.length - samples.indexOf(best) > 4) break;
    }
    const converged = samples.length - samples.indexOf(best) > 4;
    // The merged page cache still reads right: md5 of the device in the first and the last guest.
    const t2 = performance.now();
    const sums = await Promise.all([con[0], con.at(-1)].map((c) => c.run('md5sum /dev/vda|cut -c-32', 600000)));
    const md5Ms = performance.now() - t2;
    const fin = sample();
    const rssEnd = rss();
    const h = fin.m;
    table(`Page sharing: ${N} idle 256 MiB guests (one sharingGroup), each with the same ${FILE_MIB} MiB in its page cache`, ['measurement', 'result'], [
      ['boot: start of all → every guest ready (all at once, 2 pCPUs)', sec(bootMs)],
      [`every guest reads the ${FILE_MIB} MiB disk (\`cat /dev/vda\`, all at once)`, `${sec(readMs)} (guest Buffers after: ${Math.min(...buffers).toFixed(1)}–${Math.max(...buffers).toFixed(1)} MiB)`],
      [`page-sharing scanner (pageSharingRate ${RATE} pages/s): time to converge`, `${sec(best.t)}${converged ? '' : ` (still improving at the ${sec(CONVERGE_MS)} bound)`}`],
      ['guest memory held (Σ presentBytes over the VMs)', `${mib(fin.guest)} (${mib(fin.guest / N)} per guest)`],
      ['host memory held (HostStats.memory.heldBytes)', mib(fin.held)],
      ['host frames in use × 4096 (all arenas)', `${mib(fin.frames * PAGE)} (${fin.arenas.map((a) => `arena ${a.index}: ${a.vms} VMs, ${mib(a.framesInUse * PAGE)}`).join('; ')})`],
      ['**host / guest (goal ≤ 0.35)**', `**${fin.ratio.toFixed(3)}** (before the scan converged, right after the reads: ${samples[0].ratio.toFixed(3)})`],
      ['shared / zero bytes (Σ over the VMs)', `${mib(h.sharedBytes)} / ${mib(h.zeroBytes)}`],
      ['stable frames / pages mapping them; pages scanned', `${h.sharing.stableFrames} / ${h.sharing.stablePages}; ${h.sharing.scannedPages}`],
      ['process RSS: after the reads / after converging', `${gib(rssPeak0)} / ${gib(rssEnd)} (a WebAssembly.Memory never shrinks: freed frames are reused, not returned)`],
      ['md5sum of /dev/vda in the first and last guest after merging', `${sums.every((x) => x === sum) ? 'both match' : `MISMATCH: ${sums.join(', ')}`} the host's (${sec(md5Ms)})`],
    ]);
  });
}

// ---- 2. overcommit -----------------------------------------------------------------------------

async function overcommit() {
  const N = num('--jobs', 8), JOB = num('--job-mib', 200), BOUND_MS = num('--job-minutes', 20) * 60000, PAUSE_MS = 15000;
  log(`overcommit: ${N} × 256 MiB guests, hostMem 1G, a ${JOB} MiB job each`);
  await withHost({ hostMem: '1G' }, async (host) => {
    const names = Array.from({ length: N }, (_, i) => `o${i}`);
    for (const name of names) host.define({ name, memory: '256M', sharingGroup: 'bench' });
    const t0 = performance.now();
    const con = await Promise.all(names.map((n) => boot(host, n)));
    const bootMs = performance.now() - t0;
    for (const c of con) {
      await c.run('dmesg -n 1');
      await c.run(`mkdir -p /j;mount -t tmpfs -o size=${JOB + 20}m t /j`);
    }
    const mounted = await Promise.all(con.map((c) => c.run('grep -c " /j tmpfs" /proc/mounts')));
    log(`overcommit: booted in ${sec(bootMs)}; /j mounted in ${mounted.filter((x) => x.trim() === '1').length} of ${N}`);
    const peak = Object.fromEntries(names.map((n) => [n, { balloon: 0, swapped: 0 }]));
    let peakHeld = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const n of names) {
          const m = host.stats(n).memory;
          peak[n].balloon = Math.max(peak[n].balloon, m.balloonedBytes);
          peak[n].swapped = Math.max(peak[n].swapped, m.swappedBytes);
        }
        peakHeld = Math.max(peakHeld, host.hostStats().memory.heldBytes);
        await sleep(1000);
      }
    })();
    const deadline = performance.now() + BOUND_MS;
    const left = () => Math.max(1000, deadline - performance.now());
    const res = names.map(() => ({ writeMs: NaN, jobMs: NaN, sum1: '', sum2: '', md5Ms: NaN, error: '' }));
    const tj = performance.now();
    try {
      await Promise.all(con.map(async (c, i) => {
        const r = res[i];
        try {
          const t = performance.now();
          await c.run(`head -c ${JOB * MiB} /dev/urandom >/j/x`, left());
          r.writeMs = performance.now() - t;
          r.sum1 = (await c.run('md5sum /j/x|cut -c-32', left())).trim();
          r.jobMs = performance.now() - t;
          log(`overcommit: ${c.name} done in ${sec(r.jobMs)} (write ${sec(r.writeMs)}): ${r.sum1}`);
        } catch (e) {
          r.error = e.message.slice(0, 200);
          log(`overcommit: ${c.name} FAILED: ${r.error}`);
        }
      }));
      const allMs = performance.now() - tj;
      log(`overcommit: all jobs ended in ${sec(allMs)}; pause ${sec(PAUSE_MS)}, then md5sum again`);
      await sleep(PAUSE_MS);
      await Promise.all(con.map(async (c, i) => {
        const r = res[i];
        if (r.error) return;
        try {
          const t = performance.now();
          r.sum2 = (await c.run('md5sum /j/x|cut -c-32', left())).trim();
          r.md5Ms = performance.now() - t;
        } catch (e) {
          r.error = `second md5sum: ${e.message.slice(0, 200)}`;
        }
      }));
      polling = false;
      await poller;
      const ok = (r) => !r.error && /^[0-9a-f]{32}$/.test(r.sum1) && r.sum1 === r.sum2;
      const rows = names.map((n, i) => {
        const r = res[i], m = host.stats(n).memory, st = host.info(n).state;
        const p = (b) => Math.round(b / PAGE);
        return [n, Number.isNaN(r.jobMs) ? `— (${st}: ${r.error})` : `${sec(r.jobMs)} (write ${sec(r.writeMs)})`, ok(r) ? `${r.sum1.slice(0, 8)}… twice (${sec(r.md5Ms)})` : `FAILED ${r.sum1.slice(0, 8)}/${r.sum2.slice(0, 8)}`,
          `${p(m.balloonedBytes)} (peak ${p(peak[n].balloon)})`, p(m.sharedBytes), `${p(m.swappedBytes)} (peak ${p(peak[n].swapped)})`, `${m.swapOuts} / ${m.swapIns}`, p(m.presentBytes)];
      });
      const h = host.hostStats().memory;
      const p = (b) => Math.round(b / PAGE);
      rows.push([`**host** (hostMem 1G = ${p(h.hostMemBytes)} pages)`, `all ended in ${sec(allMs)}`, `${res.filter(ok).length} of ${N} finished, md5 equal`,
        p(h.balloonedBytes), p(h.sharedBytes), p(h.swappedBytes), `${names.reduce((s, n) => s + host.stats(n).memory.swapOuts, 0)} / ${names.reduce((s, n) => s + host.stats(n).memory.swapIns, 0)}`,
        `${p(h.presentBytes)} (frames held ${p(h.heldBytes)}, peak ${p(peakHeld)})`]);
      table(`Overcommit: ${N} guests of 256 MiB under hostMem 1G, each writing ${JOB} MiB of /dev/urandom to a tmpfs and md5summing it, all at once`,
        ['guest', 'time (write + md5sum)', `md5sum, again after ${PAUSE_MS / 1000} s`, 'pages ballooned (end)', 'shared', 'swapped (end)', 'swapOuts / swapIns', 'present'], rows,
        [`Boot of the ${N} (at once): ${sec(bootMs)}. Pages are 4 KiB; "end" is after the second md5sum. Bound for the jobs: ${sec(BOUND_MS)}. Process RSS at the end: ${gib(rss())}.`]);
    } finally {
      polling = false;
      await poller;
    }
  });
}

// ---- 3. density --------------------------------------------------------------------------------

async function density() {
  const N = num('--vms', 500), BOUND_MS = num('--minutes', 20) * 60000, PAR = num('--parallel', 8);
  log(`density: up to ${N} idle 64 MiB guests, ${PAR} boots in flight, bound ${sec(BOUND_MS)}`);
  const rate = num('--density-rate', undefined);
  await withHost(rate === undefined ? {} : { pageSharingRate: rate }, async (host) => {
    const rss0 = rss();
    const t0 = performance.now();
    let next = 0, ready = 0, lastError = '', stop = '';
    const progress = [];
    const bootMs = [];
    const worker = async () => {
      while (!stop && next < N) {
        if (performance.now() - t0 > BOUND_MS) { stop = `time bound (${sec(BOUND_MS)})`; break; }
        const name = `d${next++}`;
        try {
          host.define({ name, memory: '64M', sharingGroup: 'bench' });
          const t = performance.now();
          await host.start(name);
          const c = new Con(host, name);
          try {
            await c.waitFor('rvisor guest ready', 600000);
          } finally {
            c.detach();
          }
          bootMs.push(performance.now() - t);
          ready++;
          if (ready % 50 === 0) {
            const p = { ready, ms: performance.now() - t0, frames: framesInUse(host), rss: rss() };
            progress.push(p);
            log(`density: ${ready} ready at ${sec(p.ms)}: frames ${mib(p.frames * PAGE)}, RSS ${gib(p.rss)}`);
          }
        } catch (e) {
          lastError = `${name}: ${e.code ?? ''} ${e.message}`.slice(0, 300);
          stop = 'a start failed';
          log(`density: ${lastError}`);
        }
      }
    };
    await Promise.all(Array.from({ length: PAR }, worker));
    const totalMs = performance.now() - t0;
    if (!stop) stop = `${N} reached`;
    const running = host.hostStats().vms.running;
    log(`density: ${ready} ready (${running} running) in ${sec(totalMs)} (${stop}); settling 10 s, then CPU over 10 s`);
    await sleep(10000);
    const c0 = process.cpuUsage(), w0 = performance.now();
    await sleep(10000);
    const c = process.cpuUsage(c0), cpu = (c.user + c.system) / 1000 / (performance.now() - w0);
    const hs = host.hostStats();
    const frames = hs.arenas.reduce((n, a) => n + a.framesInUse, 0);
    const r = rss();
    const sorted = [...bootMs].sort((a, b) => a - b), q = (x) => sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? NaN;
    table(`Density: idle 64 MiB guests (one sharingGroup, page-sharing rate ${hs.memory.sharing.rateLimitPagesPerSec} pages/s${rate === undefined ? ', the default' : ''}), booted ${PAR} at a time, each until its console says "rvisor guest ready"`, ['measurement', 'result'], [
      [`**guests running at once (goal ≥ 500)**`, `**${running}** (${ready} reached readiness; stopped: ${stop})`],
      ['time to boot them all', `${sec(totalMs)} (${(totalMs / Math.max(1, ready)).toFixed(0)} ms per guest; start → ready p50 / p99 ${sec(q(0.5))} / ${sec(q(0.99))})`],
      ['host frames in use × 4096 (all arenas)', `${gib(frames * PAGE)} (${mib(frames * PAGE / Math.max(1, running))} per guest; ${hs.arenas.length} arenas)`],
      ['guest memory held (Σ present) / shared / zero', `${gib(hs.memory.presentBytes)} / ${gib(hs.memory.sharedBytes)} / ${gib(hs.memory.zeroBytes)}`],
      ['process RSS (growth per guest)', `${gib(r)} (${mib((r - rss0) / Math.max(1, running))})`],
      ['host CPU with all of them idle (process.cpuUsage over 10 s, 10 s after the last boot)', `${(cpu * 100).toFixed(1)}% of one core`],
      ['last error', lastError || 'none'],
    ], progress.length ? ['Progress: ' + progress.map((p) => `${p.ready} at ${sec(p.ms)} (frames ${gib(p.frames * PAGE)}, RSS ${gib(p.rss)})`).join('; ') + '.'] : []);
  });
}

const tAll = performance.now();
const took = {};
let failed = false;
for (const p of parts) {
  const t = performance.now();
  try {
    await { sharing, overcommit, density }[p]();
  } catch (e) {
    failed = true;
    log(`${p} FAILED: ${e.stack ?? e}`);
    tables.push(`### ${p}: FAILED\n\n${String(e.message ?? e).slice(0, 500)}`);
  }
  took[p] = performance.now() - t;
}
console.log(`\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench:memory${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, host of 2 pCPUs); ` +
  `took ${Object.entries(took).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}, total ${sec(performance.now() - tAll)}.\n`);
for (const t of tables) console.log(`${t}\n`);
process.exitCode = failed ? 1 : 0;
