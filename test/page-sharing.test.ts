// Transparent page sharing (src/memory/page-sharing.ts) on plain host memory, without a guest:
// zero pages dropped, identical pages merged within a sharing group only, copy-on-write after a
// merge, pages that change are left alone, every reference given back, and the scan speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import { GuestRam, type GuestRamState } from '../src/machine/ram.js';
import { shareRam } from '../src/machine/p2m.js';
import { P2M_DIRTY, P2M_FRAME_MASK, P2M_WP, P2M_ZERO } from '../src/cpu/layout.js';
import { PageSharing, scanNeedsTlbFlush, sharedPages, type ScanResult, type SharingTarget } from '../src/memory/page-sharing.js';

const PAGE = 4096, BASE = 0x80000000;

/** Deterministic page content for a seed (xorshift32 words). */
function content(seed: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  const w = new Uint32Array(b.buffer);
  let x = (seed * 0x9e3779b1 + 0x12345) | 0 || 1;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    w[i] = x >>> 0;
  }
  return b;
}

function put(ram: GuestRam, page: number, b: Uint8Array): void {
  assert.ok(ram.write(BASE + page * PAGE, b));
}

function get(ram: GuestRam, page: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  assert.ok(ram.read(BASE + page * PAGE, b));
  return b;
}

function entry(host: HostMemory, ram: GuestRam, page: number): number {
  return host.view.getUint32(ram.p2m + page * 4, true);
}

/** Distinct frames a set of RAMs name. */
function distinctFrames(host: HostMemory, rams: GuestRam[]): number {
  const s = new Set<number>();
  for (const r of rams) for (let p = 0; p < r.pages; p++) {
    const f = entry(host, r, p) & P2M_FRAME_MASK;
    if (f) s.add(f);
  }
  return s.size;
}

const tableFrames = (ram: GuestRam) => Math.ceil((ram.pages * 4 + 64) / PAGE);

function add(a: ScanResult, b: ScanResult): void {
  a.scanned += b.scanned; a.zeroDropped += b.zeroDropped; a.merged += b.merged; a.promoted += b.promoted;
}

function rounds(ps: PageSharing, targets: SharingTarget[], n: number): ScanResult {
  const total: ScanResult = { scanned: 0, zeroDropped: 0, merged: 0, promoted: 0 };
  for (let r = 0; r < n; r++) for (const t of targets) add(total, ps.scan(t, Infinity));
  return total;
}

const target = (key: string, group: string, ram: GuestRam): SharingTarget => ({ key, group, ram: ram.save() });

/** Two VMs of 512 pages: pages 0..199 the same in both, 200..249 unique, 250..279 zero (touched),
 *  and in A pages 300..309 ten copies of one page. */
function twoVms(host: HostMemory): { a: GuestRam; b: GuestRam; want: (vm: 'a' | 'b', p: number) => Uint8Array } {
  const a = new GuestRam(host, BASE, 512 * PAGE), b = new GuestRam(host, BASE, 512 * PAGE);
  const zero = new Uint8Array(PAGE);
  const want = (vm: 'a' | 'b', p: number): Uint8Array => {
    if (p < 200) return content(p);
    if (p < 250) return content((vm === 'a' ? 1000 : 2000) + p);
    if (p < 280) return zero;
    if (vm === 'a' && p >= 300 && p < 310) return content(77777);
    return zero;
  };
  for (const [vm, ram] of [['a', a], ['b', b]] as const) {
    for (let p = 0; p < 280; p++) put(ram, p, want(vm, p));
  }
  for (let p = 300; p < 310; p++) put(a, p, want('a', p));
  return { a, b, want };
}

test('two VMs in one group: zero pages dropped, duplicates merged, every page intact, counters add up', () => {
  const host = new HostMemory();
  const { a, b, want } = twoVms(host);
  const ps = new PageSharing(host);
  const before = host.framesInUse;
  const ta = target('a', 'g', a), tb = target('b', 'g', b);
  // Pass 1 records hashes (and drops zero pages); pass 2 of A fills the unstable table and merges
  // A's own copies; pass 2 of B promotes B's frames; pass 3 of A merges A's pages into them.
  const r = rounds(ps, [ta, tb], 3);
  assert.equal(r.zeroDropped, 60);
  assert.equal(r.merged, 200 + 9);
  assert.equal(r.promoted, 200 + 1);
  assert.ok(scanNeedsTlbFlush(r));
  assert.equal(host.framesInUse, before - 60 - 200 - 9);
  for (let p = 250; p < 280; p++) {
    assert.equal(entry(host, a, p) & ~P2M_DIRTY, P2M_ZERO, `page ${p} has no frame`);
    assert.equal(entry(host, b, p) & ~P2M_DIRTY, P2M_ZERO);
  }
  for (let p = 0; p < 200; p++) {
    const e = entry(host, a, p);
    assert.equal(e & P2M_FRAME_MASK, entry(host, b, p) & P2M_FRAME_MASK, `page ${p} shared`);
    assert.notEqual(e & P2M_WP, 0);
  }
  assert.deepEqual(ps.stats(), { stableFrames: 201, stablePages: 410 });
  assert.equal(sharedPages(host, a.save(), ps), 210);
  assert.equal(sharedPages(host, b.save(), ps), 200);
  for (const [vm, ram] of [['a', a], ['b', b]] as const) {
    const c = ram.counters();
    const touched = vm === 'a' ? 290 : 280;
    assert.equal(c.present + c.zero, touched);
    assert.equal(c.zero, 30);
    assert.equal(c.present, ram.backedPages());
  }
  // A fourth round changes nothing.
  const again = rounds(ps, [ta, tb], 1);
  assert.deepEqual([again.zeroDropped, again.merged, again.promoted], [0, 0, 0]);
  for (let p = 0; p < 512; p++) {
    assert.deepEqual(get(a, p), want('a', p), `a page ${p}`);
    assert.deepEqual(get(b, p), want('b', p), `b page ${p}`);
  }
  ps.dispose();
  a.free();
  b.free();
});

test('copy-on-write after a merge: a write in one VM never shows in the other', () => {
  const host = new HostMemory();
  const { a, b, want } = twoVms(host);
  const ps = new PageSharing(host);
  rounds(ps, [target('a', 'g', a), target('b', 'g', b)], 3);
  assert.equal(entry(host, a, 5) & P2M_FRAME_MASK, entry(host, b, 5) & P2M_FRAME_MASK);
  const frames = host.framesInUse;
  const mine = content(31337);
  put(a, 5, mine.subarray(0, 100)); // the host path: GuestRam.write, partial page
  const expectA = want('a', 5).slice();
  expectA.set(mine.subarray(0, 100), 0);
  assert.deepEqual(get(a, 5), expectA);
  assert.deepEqual(get(b, 5), want('b', 5));
  assert.equal(host.framesInUse, frames + 1);
  assert.equal(entry(host, a, 5) & P2M_WP, 0);
  // B's page 5 is now alone on its stable frame: only the table's reference is left beside it.
  assert.equal(sharedPages(host, b.save(), ps), 199);
  assert.equal(sharedPages(host, b.save()), 200); // without the scanner, its reference counts
  // And the same the other way: B writes a merged page, A keeps the old content.
  put(b, 6, mine);
  assert.deepEqual(get(a, 6), want('a', 6));
  assert.deepEqual(get(b, 6), mine);
  ps.dispose();
  a.free();
  b.free();
});

test('sharing groups: identical pages of VMs in different groups are never merged; in one group they are', () => {
  const host = new HostMemory();
  const { a, b } = twoVms(host);
  const ps = new PageSharing(host);
  const before = host.framesInUse;
  const r = rounds(ps, [target('a', 'ga', a), target('b', 'gb', b)], 4);
  assert.equal(r.zeroDropped, 60);
  assert.equal(r.merged, 9); // A's own ten copies only
  assert.equal(host.framesInUse, before - 60 - 9);
  for (let p = 0; p < 200; p++) assert.notEqual(entry(host, a, p) & P2M_FRAME_MASK, entry(host, b, p) & P2M_FRAME_MASK);
  assert.equal(sharedPages(host, b.save(), ps), 0);
  // Now both join one group (the scanner starts over for a VM whose group changed; A's ten copies
  // stay on their one frame, which the new group's table takes as a stable frame).
  const r2 = rounds(ps, [target('a', 'g', a), target('b', 'g', b)], 3);
  assert.equal(r2.merged, 200);
  assert.equal(host.framesInUse, before - 60 - 200 - 9);
  ps.dispose();
  a.free();
  b.free();
});

test('a page that changes between passes is never merged', () => {
  const host = new HostMemory();
  const a = new GuestRam(host, BASE, 64 * PAGE);
  const ps = new PageSharing(host);
  const t = target('a', 'a', a);
  put(a, 2, content(5));
  put(a, 3, content(5));
  for (let round = 0; round < 6; round++) {
    // Pages 0 and 1 are equal to each other at every scan, but written anew before each.
    put(a, 0, content(100 + round));
    put(a, 1, content(100 + round));
    ps.scan(t, Infinity);
  }
  assert.notEqual(entry(host, a, 0) & P2M_FRAME_MASK, entry(host, a, 1) & P2M_FRAME_MASK);
  assert.equal(entry(host, a, 2) & P2M_FRAME_MASK, entry(host, a, 3) & P2M_FRAME_MASK);
  assert.equal(sharedPages(host, a.save(), ps), 2);
  assert.deepEqual(get(a, 0), content(105));
  assert.deepEqual(get(a, 1), content(105));
  ps.dispose();
  a.free();
});

test('forget and dispose give back every frame the scanner holds', () => {
  const host = new HostMemory();
  const start = host.framesInUse;
  const { a, b } = twoVms(host);
  const ps = new PageSharing(host);
  rounds(ps, [target('a', 'g', a), target('b', 'g', b)], 3);
  // A goes away: its frames, and the stable frame only A's copies used, go back.
  a.free();
  ps.forget('a');
  assert.equal(host.framesInUse, start + tableFrames(b) + distinctFrames(host, [b]));
  assert.equal(ps.stats().stableFrames, 200);
  assert.equal(ps.stats().stablePages, 200);
  // B writes all of its merged pages: the stable frames are only the table's; a sweep (end of a
  // pass) gives them back.
  for (let p = 0; p < 200; p++) put(b, p, content(5000 + p));
  ps.scan(target('b', 'g', b), Infinity);
  assert.equal(ps.stats().stableFrames, 0);
  assert.equal(host.framesInUse, start + tableFrames(b) + distinctFrames(host, [b]));
  // Merge again with a new VM, then dispose: everything the remaining VMs do not name goes back.
  const c = new GuestRam(host, BASE, 512 * PAGE);
  for (let p = 0; p < 200; p++) put(c, p, content(5000 + p));
  rounds(ps, [target('b', 'g', b), target('c', 'g', c)], 3);
  assert.equal(ps.stats().stableFrames, 200);
  ps.dispose();
  assert.equal(ps.stats().stableFrames, 0);
  assert.equal(host.framesInUse, start + tableFrames(b) + tableFrames(c) + distinctFrames(host, [b, c]));
  for (let p = 0; p < 200; p++) assert.deepEqual(get(c, p), content(5000 + p));
  b.free();
  c.free();
  assert.equal(host.framesInUse, start);
  // The other order: RAM freed first, then forget of the last member of a group.
  const d = new GuestRam(host, BASE, 64 * PAGE);
  for (let p = 0; p < 20; p++) put(d, p, content(p % 2));
  const ps2 = new PageSharing(host);
  rounds(ps2, [target('d', 'd', d)], 2);
  assert.equal(ps2.stats().stableFrames, 2);
  d.free();
  ps2.forget('d');
  assert.equal(host.framesInUse, start);
});

test('sharedPages: alone, with a clone, and with page sharing on top of a clone', () => {
  const host = new HostMemory();
  const a = new GuestRam(host, BASE, 128 * PAGE);
  for (let p = 0; p < 40; p++) put(a, p, content(p < 10 ? 1 : 100 + p)); // pages 0..9 the same
  assert.equal(sharedPages(host, a.save()), 0);
  const clone = GuestRam.attach(host, shareRam(host, a.save()));
  assert.equal(sharedPages(host, a.save()), 40);
  assert.equal(sharedPages(host, clone.save()), 40);
  put(clone, 20, content(9999));
  assert.equal(sharedPages(host, a.save()), 39);
  assert.equal(sharedPages(host, clone.save()), 39);
  // Page sharing in A alone: its ten copies merge into one frame (still shared with the clone).
  const ps = new PageSharing(host);
  const frames = host.framesInUse;
  const r = rounds(ps, [target('a', 'a', a)], 2);
  assert.equal(r.merged, 9);
  assert.equal(host.framesInUse, frames); // the clone still holds the old frames
  assert.equal(sharedPages(host, a.save(), ps), 39);
  // The clone's copies 0, 2..9 are its own now (A left them for the stable frame, page 1's).
  assert.equal(sharedPages(host, clone.save(), ps), 30);
  for (let p = 0; p < 40; p++) {
    assert.deepEqual(get(a, p), content(p < 10 ? 1 : 100 + p));
    assert.deepEqual(get(clone, p), p === 20 ? content(9999) : content(p < 10 ? 1 : 100 + p));
  }
  clone.free();
  ps.dispose();
  assert.equal(sharedPages(host, a.save(), ps), 10); // the ten copies, on one frame
  a.free();
});

test('hostile-ish: budget 0 or nonsense, a VM never touched, a huge budget', () => {
  const host = new HostMemory();
  const empty = new GuestRam(host, BASE, 4096 * PAGE);
  const a = new GuestRam(host, BASE, 256 * PAGE);
  for (let p = 0; p < 100; p += 3) put(a, p, content(p % 4));
  const ps = new PageSharing(host);
  const frames = host.framesInUse;
  for (const budget of [0, -1, NaN, 0.5]) assert.deepEqual(ps.scan(target('a', 'a', a), budget), { scanned: 0, zeroDropped: 0, merged: 0, promoted: 0 });
  assert.deepEqual(ps.scan(target('e', 'e', empty), Infinity), { scanned: 0, zeroDropped: 0, merged: 0, promoted: 0 });
  assert.deepEqual(ps.scan(target('e', 'e', empty), 1e12), { scanned: 0, zeroDropped: 0, merged: 0, promoted: 0 });
  assert.equal(host.framesInUse, frames);
  // A huge budget scans each present page once per call.
  assert.equal(ps.scan(target('a', 'a', a), Number.MAX_SAFE_INTEGER).scanned, 34);
  // Small budgets go round from the cursor: 34 pages in budgets of 5 (and 4).
  let n = 0;
  for (let k = 0; k < 6; k++) n += ps.scan(target('a', 'a', a), 5).scanned;
  n += ps.scan(target('a', 'a', a), 4).scanned;
  assert.equal(n, 34);
  // Second visit of each page done: the 34 pages hold 4 contents.
  assert.equal(distinctFrames(host, [a]), 4);
  for (let p = 0; p < 100; p += 3) assert.deepEqual(get(a, p), content(p % 4));
  ps.dispose();
  a.free();
  empty.free();
});

test('scan speed (printed, not asserted)', () => {
  const pages = 16384; // 64 MiB
  { // warm the JIT up on a small VM first, so the numbers are the steady state's
    const host = new HostMemory();
    const ram = new GuestRam(host, BASE, 1024 * PAGE);
    for (let p = 0; p < 1024; p++) put(ram, p, content(p & 63));
    const ps = new PageSharing(host);
    for (let k = 0; k < 20; k++) ps.scan(target('w', 'w', ram), Infinity);
    ps.dispose();
    ram.free();
  }
  for (const kind of ['random', 'identical'] as const) {
    const host = new HostMemory(64 * 1048576);
    const ram = new GuestRam(host, BASE, pages * PAGE);
    const same = content(42);
    for (let p = 0; p < pages; p++) put(ram, p, kind === 'random' ? content(p + 1) : same);
    const ps = new PageSharing(host);
    const t = target(kind, kind, ram);
    const line: string[] = [];
    // Pass 1: first sight (hash, record); pass 2: second sight (unstable table, or promote + merge
    // for identical pages); passes 3-4: steady state (random: hash again; identical: already stable).
    for (let pass = 1; pass <= 4; pass++) {
      const t0 = performance.now();
      const r = ps.scan(t, Infinity);
      const ms = performance.now() - t0;
      line.push(`pass ${pass}: ${Math.round(r.scanned / (ms / 1000)).toLocaleString('en-US')} pages/s (${ms.toFixed(1)} ms, merged ${r.merged}, promoted ${r.promoted})`);
    }
    console.log(`# page sharing scan, 64 MiB of ${kind} pages: ${line.join('; ')}`);
    if (kind === 'identical') assert.equal(distinctFrames(host, [ram]), 1);
    ps.dispose();
    ram.free();
  }
});

test('interleaved small budgets with writes in between: every page always reads what was written last', () => {
  const host = new HostMemory();
  const start = host.framesInUse;
  const vms = [0, 1, 2].map(() => new GuestRam(host, BASE, 128 * PAGE));
  const shadow = vms.map(() => new Array<number>(128).fill(-1)); // content seed, -1: zero
  const ps = new PageSharing(host);
  let x = 12345;
  const rnd = (n: number) => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) % n;
  };
  const zero = new Uint8Array(PAGE);
  for (let v = 0; v < 3; v++) for (let p = 0; p < 128; p++) {
    const seed = rnd(4) === 0 ? -1 : rnd(12); // few distinct contents: much to merge
    shadow[v]![p] = seed;
    put(vms[v]!, p, seed < 0 ? zero : content(seed));
  }
  let merged = 0;
  for (let step = 0; step < 300; step++) {
    const v = rnd(3);
    // VMs 0 and 1 share a group, VM 2 is alone.
    merged += ps.scan(target(`vm${v}`, v === 2 ? 'solo' : 'pair', vms[v]!), 1 + rnd(40)).merged;
    for (let k = rnd(4); k > 0; k--) { // the guests write a few pages (the host path)
      const w = rnd(3), p = rnd(128), seed = rnd(12);
      shadow[w]![p] = seed;
      put(vms[w]!, p, content(seed));
    }
  }
  assert.ok(merged > 50, `merged ${merged}`);
  for (let v = 0; v < 3; v++) for (let p = 0; p < 128; p++) {
    const seed = shadow[v]![p]!;
    assert.deepEqual(get(vms[v]!, p), seed < 0 ? zero : content(seed), `vm ${v} page ${p}`);
    const c = vms[v]!.counters();
    assert.equal(c.present, vms[v]!.backedPages());
  }
  // VM 2 never shares a frame with the pair.
  const pairFrames = new Set<number>();
  for (const r of [vms[0]!, vms[1]!]) for (let p = 0; p < 128; p++) pairFrames.add(entry(host, r, p) & P2M_FRAME_MASK);
  for (let p = 0; p < 128; p++) {
    const f = entry(host, vms[2]!, p) & P2M_FRAME_MASK;
    if (f) assert.ok(!pairFrames.has(f), `vm 2 page ${p} shares a frame with the pair`);
  }
  ps.dispose();
  for (const r of vms) r.free();
  assert.equal(host.framesInUse, start);
});
