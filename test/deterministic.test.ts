// Deterministic mode (issue #8, as QEMU's -icount; src/machine/deterministic.ts): the clock is a
// function of the instructions retired, entropy comes from the seed, nothing of the host's time
// reaches the guest. The proof: the bundled guest runs a workload that prints its uptime, bytes of
// /dev/urandom and the date; run A runs uninterrupted, run B is saved at an exact instruction
// count to a snapshot file, restored into a fresh board (in another HostMemory, with a host clock
// that makes every step() return after one run, and a host wall clock an hour later) and run on:
// the console bytes of both are identical. Another seed gives other random bytes. Console input
// is the only outside input: the test types it at a fixed instruction count in every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtBoard, type BoardConfig } from '../src/machine/board.js';
import { HostMemory } from '../src/memory/host-memory.js';
import { DeterministicClock, DET_EPOCH_NS, DET_INSNS_PER_TICK, DET_QUANTUM, SeededEntropy, parseSeed } from '../src/machine/deterministic.js';
import { VirtualClock } from '../src/machine/clock.js';
import { fileIdentity, openSnapshotFile, writeSnapshotFile } from '../src/vmm/snapshot-file.js';
import { materializeMachine } from '../src/snapshot/machine.js';
import { parseRunArgs } from '../src/cli/run.js';
import { ROOT, readRepoFile, runRvisor } from './helpers.js';

const KERNEL = join(ROOT, 'images', 'Image.gz');
const INITRD = join(ROOT, 'images', 'initramfs.cpio.gz');
const MEM = 128 << 20;
/** Console input is typed, and the runs are stopped, only at multiples of this (a multiple of the quantum). */
const GRID = 1_000_000n;
const WORKLOAD = 'for i in 1 2 3; do cat /proc/uptime; head -c 16 /dev/urandom | od -An -x; date; sleep 0.2; done; echo DONE-$((6*7))\n';

const kernel = new Uint8Array(readRepoFile('images/Image.gz'));
const initrd = new Uint8Array(readRepoFile('images/initramfs.cpio.gz'));

interface Run {
  board: VirtBoard;
  out: string[];
  /** Where the workload was typed (undefined: not yet). */
  typedAt: bigint | undefined;
}

function config(seed: string, out: string[], harts = 1, hostNowMs: () => number = () => performance.now()): BoardConfig {
  const hostOnly = (what: string) => () => { throw new Error(`deterministic mode used the host's ${what}`); };
  return {
    harts, memBytes: MEM, kernel, kernelName: KERNEL, initrd, append: 'console=ttyS0', disks: [],
    // In deterministic mode the host's wall clock and randomness must never be asked for.
    entropy: hostOnly('entropy'), wallNs: hostOnly('wall clock'),
    hostNowMs, consoleOut: (b) => out.push(Buffer.from(b).toString('latin1')),
    deterministic: { seed },
  };
}

function boot(seed: string, harts = 1): Run {
  const out: string[] = [];
  return { board: new VirtBoard(config(seed, out, harts), new HostMemory()), out, typedAt: undefined };
}

/** Runs to exactly `target` instructions (a multiple of the quantum). At every multiple of GRID
 *  it looks at the console: once the shell's prompt is there, it types the workload. */
function runTo(r: Run, target: bigint): void {
  assert.equal(target % BigInt(DET_QUANTUM), 0n);
  let stalls = 0;
  while (r.board.instructions < target) {
    const before = r.board.instructions, ticks = r.board.clock.ticks();
    const next = (before / GRID + 1n) * GRID < target ? (before / GRID + 1n) * GRID : target;
    const res = r.board.step(50, { stopAt: next });
    if (res.kind === 'poweroff' || res.kind === 'reboot') throw new Error(`the guest ended: ${res.kind}`);
    assert.ok(r.board.instructions <= next, `step() ran past ${next} to ${r.board.instructions}`);
    stalls = r.board.instructions === before && r.board.clock.ticks() === ticks ? stalls + 1 : 0;
    if (stalls > 3) throw new Error('the guest waits for nothing but input');
    if (r.board.instructions === next && next % GRID === 0n && r.typedAt === undefined && r.out.join('').includes('~ # ')) {
      r.board.pushInput(Buffer.from(WORKLOAD));
      r.typedAt = next;
    }
  }
}

test('the deterministic clock is a function of the instructions retired (and the time skipped), not of host time', () => {
  let insns = 0n;
  const clock = new DeterministicClock(10_000_000, () => insns);
  assert.ok(clock instanceof VirtualClock);
  for (const n of [0n, 9n, 10n, 12_345_678n, 10n ** 15n]) {
    insns = n;
    assert.equal(clock.ticks(), n / DET_INSNS_PER_TICK);
    clock.pause();
    clock.resume();
    assert.equal(clock.ticks(), n / DET_INSNS_PER_TICK);
  }
  clock.warp = 500n;
  insns = 100n;
  assert.equal(clock.ticks(), 510n);
  assert.equal(clock.instructionsUntil(520n), 100n);
  assert.equal(clock.instructionsUntil(505n), 0n);
  // Its saved form is a stopped clock: nothing catches up with host time.
  assert.deepEqual(clock.save(), { ticks: '510', running: false });

  // The PRNG: a function of the seed; its saved state continues the stream.
  const bytes = (e: SeededEntropy, n: number) => { const b = new Uint8Array(n); e.fill(b); return Buffer.from(b).toString('hex'); };
  const a = new SeededEntropy('1'), b = new SeededEntropy('1'), c = new SeededEntropy('2');
  assert.equal(bytes(a, 37), bytes(b, 37));
  assert.notEqual(bytes(a, 16), bytes(c, 16));
  const saved = a.save();
  const cont = bytes(a, 64);
  const d = new SeededEntropy('99');
  d.restore(saved);
  assert.equal(bytes(d, 64), cont);
  assert.equal(parseSeed('0x10'), '16');
  assert.equal(parseRunArgs(['--deterministic']).deterministic, '0');
  assert.equal(parseRunArgs(['--seed', '0x10', '--deterministic']).deterministic, '16');
  assert.equal(parseRunArgs([]).deterministic, undefined);
  assert.throws(() => parseSeed('-1'), /unsigned/);
  assert.throws(() => parseSeed(String(1n << 64n)), /2\^64/);
});

/** Runs A (uninterrupted) and B (saved at N mid-workload, restored into a fresh board, run on) to
 *  the same instruction count; returns A's console text after checking B's is the same. */
function savedAndRestoredMatches(dir: string, harts: number): { out: string; total: bigint } {
  // Run A: uninterrupted. It finds where the workload is typed (the same in every run).
  const a = boot('1', harts);
  let x = 0n;
  while (a.typedAt === undefined) {
    x += 10n * GRID;
    runTo(a, x);
  }
  const typedAt = a.typedAt;
  const n = typedAt + 6n * GRID, total = typedAt + 20n * GRID;
  runTo(a, total);
  const outA = a.out.join('');
  assert.match(outA, /DONE-42/, 'the workload ran to its end');
  assert.match(outA, /goldfish_rtc .* setting system clock to 2025-01-01T00:00:00 UTC/);
  assert.match(outA, /Wed Jan {2}1 00:0\d:\d\d UTC 2025/);
  const ticksA = a.board.clock.ticks();
  a.board.destroy();

  // Run B: saved at exactly N (mid-workload) to a snapshot file, then restored into a fresh board.
  const b = boot('1', harts);
  runTo(b, n);
  assert.equal(b.typedAt, typedAt);
  assert.equal(b.board.instructions, n);
  const ticksAtSave = b.board.clock.ticks();
  const file = join(dir, `det-${harts}.rvs`);
  writeSnapshotFile(file, {
    meta: { origin: 'run', name: null, paused: false },
    config: { vcpus: harts, memBytes: MEM, append: 'console=ttyS0', kernel: fileIdentity(KERNEL), initrd: fileIdentity(INITRD), bios: null, disks: [], deterministic: { seed: '1' } },
    host: b.board.host, state: b.board.save(), nowMs: performance.now(),
  });
  const before = b.out.join('');
  assert.ok(!before.includes('DONE-42'), 'the save is mid-workload');
  b.board.destroy();

  const snap = openSnapshotFile(file);
  assert.deepEqual(snap.config.deterministic, { seed: '1' });
  const host = new HostMemory();
  const restored = materializeMachine(snap.reader, host, {
    // An hour later by the host's wall clock: a normal machine's clock would catch up with it.
    config: snap.config, meta: snap.meta, nowMs: 0, wallNowNs: BigInt(Date.now() + 3_600_000) * 1_000_000n, running: true,
  });
  snap.close();
  const after: string[] = [];
  // A host clock that jumps a second per call: every step() returns after one run.
  let fake = 0;
  const b2: Run = { board: new VirtBoard(config('1', after, harts, () => (fake += 1000)), host, { restore: restored }), out: after, typedAt };
  assert.equal(b2.board.clock.ticks(), ticksAtSave, 'the clock continues where it was saved');
  runTo(b2, total);
  assert.equal(b2.board.instructions, total);
  assert.equal(b2.board.clock.ticks(), ticksA);
  const outB = before + after.join('');
  b2.board.destroy();
  assert.equal(outB, outA, 'the restored run prints what the uninterrupted one printed');
  // rvisor run --restore keeps the file's mode and seed: another seed is refused.
  const other = runRvisor(['run', '--restore', file, '--deterministic', '--seed', '2'], { timeoutMs: 30_000 });
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /run with --deterministic --seed 1, not 2/);
  return { out: outA, total };
}

test('the board draws its own randomness (the VM generation ID) from the seed, never from the host', () => {
  const guid = (seed: string) => {
    const b = new VirtBoard(config(seed, []), new HostMemory());
    try {
      const first = Buffer.from(b.vmgenid.guid).toString('hex');
      return [first, Buffer.from(b.newGeneration()).toString('hex')];
    } finally {
      b.destroy();
    }
  };
  const [a1, a2] = guid('5'), [b1, b2] = guid('5'), [c1] = guid('6');
  assert.equal(a1, b1);
  assert.equal(a2, b2);
  assert.notEqual(a1, a2);
  assert.notEqual(a1, c1);
});

test('deterministic mode: a run saved at instruction N and restored prints byte for byte what an uninterrupted run prints; another seed, other entropy', { timeout: 120_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-det-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { out: outA, total } = savedAndRestoredMatches(dir, 1);

  // Run C: another seed. The random bytes the guest reads differ.
  const c = boot('2');
  runTo(c, total);
  const outC = c.out.join('');
  c.board.destroy();
  const random = (s: string) => [...s.matchAll(/^ ((?:[0-9a-f]{4} ){7}[0-9a-f]{4})\r?$/gm)].map((m) => m[1]);
  const [ra, rc] = [random(outA), random(outC)];
  assert.equal(ra.length, 3);
  assert.equal(rc.length, 3);
  for (let i = 0; i < 3; i++) assert.notEqual(ra[i], rc[i]);
});

test('deterministic mode with two harts: their fixed interleaving is saved and restored too', { timeout: 120_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-det-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { out } = savedAndRestoredMatches(dir, 2);
  assert.match(out, /2 hart\(s\)/);
});

test('rvisor run --deterministic: the same seed boots to the same console bytes, the RTC at the fixed epoch', { timeout: 120_000 }, () => {
  const run = () => {
    const r = runRvisor(['run', '--deterministic', '--seed', '7', '--mem', '128M'], { input: 'date; poweroff -f\n', timeoutMs: 110_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.toString('latin1');
  };
  const one = run(), two = run();
  const boot = (s: string) => s.slice(0, s.indexOf('rvisor guest ready'));
  assert.ok(boot(one).length > 1000);
  assert.equal(boot(one), boot(two));
  assert.match(one, /UTC 2025/);
  assert.equal(DET_EPOCH_NS, BigInt(Date.UTC(2025, 0, 1)) * 1_000_000n);
  // --seed alone is refused.
  const bad = runRvisor(['run', '--seed', '3'], { timeoutMs: 10_000 });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--seed needs --deterministic/);
});
