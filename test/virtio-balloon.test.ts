// virtio-balloon (§5.5) through the MMIO transport with the test driver: inflate/deflate reach
// the memory's discard/undiscard with the right page indices, bad PFNs are counted and ignored,
// the stats buffer is held and used at the interval, free page reports are released page by page,
// config target/actual and the config interrupt, save/restore mid-protocol, hostile chains; on the
// board: default slot, balloon: false, the ninth slot with 6 disks, old states without the device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtioMmioTransport, MMIO_CONFIG, MMIO_DEVICE_ID, INT_CONFIG_CHANGE, INT_USED_BUFFER } from '../src/devices/virtio/transport/mmio.js';
import {
  VirtioBalloon, VIRTIO_BALLOON_F_STATS_VQ, VIRTIO_BALLOON_F_DEFLATE_ON_OOM, VIRTIO_BALLOON_F_REPORTING,
  VIRTIO_BALLOON_F_MUST_TELL_HOST, type BalloonMemory,
} from '../src/devices/virtio/balloon/balloon.js';
import { VIRTIO_F_VERSION_1 } from '../src/devices/virtio/transport/virtio-device.js';
import { FakeIrq, FakeRam, TestDriver, RAM_BASE, type DriverQueue } from './virtio-driver.js';
import { VirtBoard, type BoardConfig, type BoardState } from '../src/machine/board.js';
import { balloonStatus } from '../src/machine/balloon-status.js';
import { HostMemory } from '../src/memory/host-memory.js';
import { MemoryBlockBackend } from '../src/devices/virtio/blk/backend.js';
import { virtioBase } from '../src/machine/memory-map.js';
import { encode as I } from '../src/isa/encode.js';
import { words } from './asm.js';

const MiB = 1 << 20;

class FakeBalloonMemory implements BalloonMemory {
  flushes = 0;
  flushDiscards(): void {
    this.flushes++;
  }
  readonly base = RAM_BASE;
  readonly calls: string[] = [];
  constructor(readonly pages: number) {}
  discard(index: number, ballooned: boolean): void {
    this.calls.push(`${ballooned ? 'balloon' : 'free'} ${index}`);
  }
  undiscard(index: number): void {
    this.calls.push(`take ${index}`);
  }
}

function rig(o: { statsIntervalMs?: number; mask?: bigint; workPerCall?: number } = {}) {
  const ram = new FakeRam(4 * MiB);
  const irq = new FakeIrq();
  const mem = new FakeBalloonMemory(ram.size / 4096);
  const clock = { ms: 0 };
  const dev = new VirtioBalloon({ memory: mem, nowMs: () => clock.ms, statsIntervalMs: o.statsIntervalMs, workPerCall: o.workPerCall });
  const t = new VirtioMmioTransport(dev, { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  drv.negotiate(o.mask === undefined ? {} : { mask: o.mask });
  const queues: DriverQueue[] = [];
  const n = o.mask === undefined ? 4 : 2 + (o.mask & VIRTIO_BALLOON_F_STATS_VQ ? 1 : 0) + (o.mask & VIRTIO_BALLOON_F_REPORTING ? 1 : 0);
  for (let i = 0; i < n; i++) queues.push(drv.setupQueue(i, 16));
  return { ram, irq, mem, clock, dev, t, drv, queues };
}

/** Writes le32 PFNs into fresh driver memory and returns the buffer. */
function pfnBuf(r: ReturnType<typeof rig>, pfns: number[]): { addr: number; len: number } {
  const addr = r.drv.alloc(4 * pfns.length, 4);
  pfns.forEach((p, i) => r.ram.writeU32(addr + 4 * i, p));
  return { addr, len: 4 * pfns.length };
}

function statsBuf(r: ReturnType<typeof rig>, entries: [number, bigint][]): { addr: number; len: number } {
  const addr = r.drv.alloc(10 * entries.length, 8);
  entries.forEach(([tag, val], i) => {
    r.ram.view.setUint16(addr - r.ram.base + 10 * i, tag, true);
    r.ram.view.setBigUint64(addr - r.ram.base + 10 * i + 2, val, true);
  });
  return { addr, len: 10 * entries.length };
}

test('virtio-balloon: device id 5, features STATS_VQ | DEFLATE_ON_OOM | REPORTING (+ VERSION_1), no MUST_TELL_HOST', () => {
  const r = rig();
  assert.equal(r.drv.r(MMIO_DEVICE_ID), 5);
  const f = r.drv.offeredFeatures();
  for (const b of [VIRTIO_F_VERSION_1, VIRTIO_BALLOON_F_STATS_VQ, VIRTIO_BALLOON_F_DEFLATE_ON_OOM, VIRTIO_BALLOON_F_REPORTING]) assert.ok(f & b);
  assert.equal(f & VIRTIO_BALLOON_F_MUST_TELL_HOST, 0n);
  assert.equal(f & (1n << 3n), 0n, 'no FREE_PAGE_HINT');
  assert.equal(f & (1n << 4n), 0n, 'no PAGE_POISON');
});

test('virtio-balloon: config target/actual, config interrupt on a new target only', () => {
  const r = rig();
  r.drv.driverOk();
  r.drv.ack();
  assert.equal(r.drv.dev.read(MMIO_CONFIG, 4), 0);
  r.dev.setTarget(100);
  assert.equal(r.drv.dev.read(MMIO_CONFIG, 4), 100);
  assert.equal(r.drv.ack() & INT_CONFIG_CHANGE, INT_CONFIG_CHANGE);
  r.dev.setTarget(100);
  assert.equal(r.drv.ack(), 0, 'same target: no interrupt');
  r.dev.setTarget(1e12);
  assert.equal(r.dev.target, 1024, 'clamped to RAM pages');
  r.dev.setTarget(-5);
  assert.equal(r.dev.target, 0);
  r.dev.setTarget(NaN);
  assert.equal(r.dev.target, 0);
  // the driver writes actual (any width); num_pages is read-only to it
  r.drv.dev.write(MMIO_CONFIG + 4, 77, 4);
  assert.equal(r.dev.actual, 77);
  r.drv.dev.write(MMIO_CONFIG + 5, 1, 1);
  assert.equal(r.dev.actual, 77 + 256);
  assert.equal(r.drv.dev.read(MMIO_CONFIG + 4, 2), 77 + 256);
  r.drv.dev.write(MMIO_CONFIG, 999, 4);
  assert.equal(r.dev.target, 0);
  assert.equal(r.drv.dev.read(MMIO_CONFIG + 8, 4), 0, 'nothing past actual');
});

test('virtio-balloon: inflate and deflate call discard/undiscard with page indices; PFNs outside RAM are counted', () => {
  const r = rig();
  r.drv.driverOk();
  const base = RAM_BASE / 4096;
  const [inflate, deflate] = r.queues;
  inflate!.post([pfnBuf(r, [base + 5, base + 6, base + 1023, base + 1024, 7, 0xffffffff])]);
  r.drv.notify(0);
  assert.deepEqual(inflate!.takeUsed(), [{ id: 0, len: 0 }]);
  assert.deepEqual(r.mem.calls, ['balloon 5', 'balloon 6', 'balloon 1023']);
  assert.equal(r.dev.counters.badPfns, 3);
  assert.equal(r.dev.counters.inflated, 3);
  assert.ok(r.drv.ack() & INT_USED_BUFFER);
  r.mem.calls.length = 0;
  // a PFN array split across descriptors at an odd byte
  const b = pfnBuf(r, [base + 6, base + 5]);
  deflate!.post([{ addr: b.addr, len: 3 }, { addr: b.addr + 3, len: 5 }]);
  r.drv.notify(1);
  assert.deepEqual(deflate!.takeUsed().length, 1);
  assert.deepEqual(r.mem.calls, ['take 6', 'take 5']);
  assert.equal(r.dev.counters.deflated, 2);
  // a length not a multiple of 4: the whole PFNs count, the tail is ignored
  r.mem.calls.length = 0;
  const c = pfnBuf(r, [base + 9, base + 10]);
  inflate!.post([{ addr: c.addr, len: 7 }]);
  r.drv.notify(0);
  assert.deepEqual(r.mem.calls, ['balloon 9']);
  assert.equal(r.dev.counters.badBuffers, 1);
});

test('virtio-balloon: the stats buffer is held, used at the interval, values parsed by name', () => {
  const r = rig({ statsIntervalMs: 1000 });
  const stats = r.queues[2]!;
  stats.post([statsBuf(r, [[4, 1000n], [5, 8192n], [0, 3n], [12, 42n]])]);
  r.drv.driverOk(); // buffers posted before DRIVER_OK are taken then
  assert.deepEqual(stats.takeUsed(), [], 'held, not used');
  assert.deepEqual(r.dev.stats, { free_memory: 1000, total_memory: 8192, swap_in: 3, 12: 42 });
  assert.equal(r.dev.statsAtMs, 0);
  assert.equal(r.dev.nextPollMs(), 1000, 'an idle board wakes for the next request');
  r.clock.ms = 999;
  r.dev.poll();
  assert.deepEqual(stats.takeUsed(), []);
  r.clock.ms = 1000;
  r.dev.poll();
  assert.deepEqual(stats.takeUsed(), [{ id: 0, len: 0 }], 'used when fresh values are wanted');
  assert.ok(r.drv.ack() & INT_USED_BUFFER);
  r.clock.ms = 5000;
  r.dev.poll();
  assert.deepEqual(stats.takeUsed(), [], 'nothing held: nothing to use');
  assert.equal(r.dev.nextPollMs(), undefined);
  // the driver refills and re-adds
  stats.post([statsBuf(r, [[4, 2000n]])]);
  r.drv.notify(2);
  assert.equal(r.dev.stats.free_memory, 2000);
  // Each buffer is the driver's whole set (it writes every statistic it supports each time):
  // it replaces the last, and tags past 63 are ignored, so a guest cannot grow the set.
  assert.deepEqual(r.dev.stats, { free_memory: 2000 });
  stats.post([statsBuf(r, [[4, 7n], [64, 1n], [65535, 2n], [63, 3n]])]);
  r.clock.ms += 3000;
  r.dev.poll();
  stats.takeUsed();
  stats.post([statsBuf(r, [[4, 7n], [64, 1n], [65535, 2n], [63, 3n]])]);
  r.drv.notify(2);
  assert.deepEqual(r.dev.stats, { free_memory: 7, 63: 3 });
  assert.equal(r.dev.statsAtMs, 8000);
  // interval 0: never asks
  const r0 = rig({ statsIntervalMs: 0 });
  r0.queues[2]!.post([statsBuf(r0, [[4, 1n]])]);
  r0.drv.driverOk();
  r0.clock.ms = 1e9;
  r0.dev.poll();
  assert.deepEqual(r0.queues[2]!.takeUsed(), []);
  assert.equal(r0.dev.nextPollMs(), undefined);
  assert.equal(r0.dev.stats.free_memory, 1);
  // ...unless the host asks (rvisor serve does when someone reads stats): used at the next poll
  r0.dev.requestStats();
  assert.equal(r0.dev.nextPollMs(), 1e9);
  r0.dev.poll();
  assert.deepEqual(r0.queues[2]!.takeUsed(), [{ id: 0, len: 0 }]);
  r0.queues[2]!.post([statsBuf(r0, [[4, 2n]])]);
  r0.drv.notify(2);
  assert.equal(r0.dev.stats.free_memory, 2);
  assert.equal(r0.dev.nextPollMs(), undefined, 'and not again until asked');
});

test('virtio-balloon: free page reports release each whole page inside RAM, then the buffer is used', () => {
  const r = rig();
  r.drv.driverOk();
  const rep = r.queues[3]!;
  rep.post([
    { addr: RAM_BASE + 8 * 4096, len: 2 * 4096, write: true },
    { addr: RAM_BASE + 20 * 4096 + 100, len: 3 * 4096, write: true }, // pages 21, 22 whole
    { addr: RAM_BASE + 4 * MiB - 4096, len: 4096, write: true },
  ]);
  r.drv.notify(3);
  assert.deepEqual(rep.takeUsed(), [{ id: 0, len: 0 }]);
  assert.deepEqual(r.mem.calls, ['free 8', 'free 9', 'free 21', 'free 22', 'free 1023']);
  assert.equal(r.dev.counters.reported, 5);
  // a range outside RAM: the whole chain is refused by the queue (length 0), nothing released
  r.mem.calls.length = 0;
  rep.post([{ addr: RAM_BASE + 4 * MiB, len: 4096, write: true }]);
  r.drv.notify(3);
  assert.equal(rep.takeUsed().length, 1);
  assert.deepEqual(r.mem.calls, []);
});

test('virtio-balloon: a flood of buffers is worked off a share per call, the rest at the next polls', () => {
  const r = rig({ workPerCall: 1000 });
  r.drv.driverOk();
  const rep = r.queues[3]!;
  for (let i = 0; i < 3; i++) rep.post([{ addr: RAM_BASE, len: 4 * MiB, write: true }]); // 1024 pages each
  r.drv.notify(3);
  assert.equal(rep.takeUsed().length, 1, 'one buffer (1024 pages ≥ 1000) in the notify');
  assert.equal(r.dev.counters.reported, 1024);
  r.dev.poll();
  assert.equal(rep.takeUsed().length, 1);
  r.dev.poll();
  assert.equal(rep.takeUsed().length, 1);
  r.dev.poll();
  assert.equal(rep.takeUsed().length, 0);
  assert.equal(r.dev.counters.reported, 3072);
});

test('virtio-balloon: queue indices follow the negotiated features (no STATS_VQ: reporting is queue 2)', () => {
  const r = rig({ mask: ~VIRTIO_BALLOON_F_STATS_VQ });
  r.drv.driverOk();
  r.queues[2]!.post([{ addr: RAM_BASE + 4096, len: 4096, write: true }]);
  r.drv.notify(2);
  assert.deepEqual(r.mem.calls, ['free 1']);
  assert.equal(r.dev.queueRole(3), undefined);
});

test('virtio-balloon: save/restore mid-protocol keeps the held stats buffer, target, actual, counters', () => {
  const r = rig({ statsIntervalMs: 500 });
  const stats = r.queues[2]!;
  stats.post([statsBuf(r, [[5, 4096n]])]);
  r.drv.driverOk();
  r.dev.setTarget(300);
  r.drv.dev.write(MMIO_CONFIG + 4, 120, 4);
  r.queues[0]!.post([pfnBuf(r, [RAM_BASE / 4096 + 3, 1])]);
  r.drv.notify(0);
  const saved = JSON.parse(JSON.stringify({ t: r.t.save(), d: r.dev.save() }));
  assert.equal(saved.d.statsHead, 0);
  // a new device and transport over the same RAM, restored
  const mem2 = new FakeBalloonMemory(1024);
  const dev2 = new VirtioBalloon({ memory: mem2, nowMs: () => r.clock.ms, statsIntervalMs: 500 });
  const t2 = new VirtioMmioTransport(dev2, { mem: r.ram, irq: new FakeIrq() });
  dev2.restore(saved.d);
  t2.restore(saved.t);
  assert.deepEqual(dev2.save(), r.dev.save());
  assert.equal(dev2.target, 300);
  assert.equal(dev2.actual, 120);
  assert.deepEqual(dev2.counters, { inflated: 1, deflated: 0, reported: 0, badPfns: 1, badBuffers: 0 });
  r.clock.ms = 600;
  dev2.poll();
  assert.deepEqual(stats.takeUsed(), [{ id: 0, len: 0 }], 'the restored device uses the held buffer');
});

test('virtio-balloon: hostile chains and state never throw out of the device', () => {
  const r = rig();
  r.drv.driverOk();
  const [inflate] = r.queues;
  // a huge PFN buffer (all of RAM read as PFNs): bounded, no exception
  inflate!.post([{ addr: RAM_BASE, len: 4 * MiB }]);
  assert.doesNotThrow(() => r.drv.notify(0));
  assert.equal(inflate!.takeUsed().length, 1);
  assert.ok(r.dev.counters.badBuffers >= 1);
  // device-writable buffers on inflate: ignored
  inflate!.post([{ addr: RAM_BASE + 8192, len: 8, write: true }]);
  assert.doesNotThrow(() => r.drv.notify(0));
  // a descriptor loop and an out-of-range head
  inflate!.writeDesc(inflate!.desc, 5, RAM_BASE + 8192, 4, 1, 5);
  inflate!.offer(5);
  inflate!.offer(999);
  assert.doesNotThrow(() => r.drv.notify(0));
  // stats: a length not a multiple of 10, then a second buffer while one is held
  const stats = r.queues[2]!;
  const sb = statsBuf(r, [[4, 7n]]);
  stats.post([{ addr: sb.addr, len: 13 }]);
  r.drv.notify(2);
  stats.post([{ addr: sb.addr, len: 10 }]);
  r.drv.notify(2);
  assert.equal(stats.takeUsed().length, 1, 'the older buffer is given back');
  assert.equal(r.dev.stats.free_memory, 7);
  // notify of queues that do not exist
  assert.doesNotThrow(() => r.drv.notify(7));
  // garbage state restores to something sane
  assert.doesNotThrow(() => r.dev.restore({ target: -1, actual: NaN, stats: null, statsHead: 1e9 } as never));
  assert.equal(r.dev.target, 0);
  assert.equal(r.dev.save().statsHead, undefined);
});

// ---- on the board ------------------------------------------------------------------------------

function board(o: { balloon?: BoardConfig['balloon']; disks?: number } = {}, restore?: BoardState) {
  const cfg: BoardConfig = {
    harts: 1, memBytes: 32 << 20, kernel: undefined, kernelName: '', append: '',
    firmware: words([I('jal', { rd: 0, imm: 0 })]),
    disks: Array.from({ length: o.disks ?? 0 }, () => ({ backend: new MemoryBlockBackend(4096) })),
    entropy: (b) => b.fill(7), consoleOut: () => {}, hostNowMs: () => performance.now(), wallNs: () => 0n,
    ...(o.balloon !== undefined ? { balloon: o.balloon } : {}),
  };
  return new VirtBoard(cfg, HOST, restore ? { restore } : {});
}
const HOST = new HostMemory();
const deviceId = (b: VirtBoard, slot: number) => Number(b.bus.read(BigInt(virtioBase(slot) + MMIO_DEVICE_ID), 4));

test('board: a balloon by default after rng and power key; setBalloonTarget clamps; balloonStatus reads a saved state', () => {
  const b = board();
  try {
    assert.deepEqual([0, 1, 2, 3].map((s) => deviceId(b, s)), [4, 18, 5, 0]);
    assert.equal(b.setBalloonTarget(100), true);
    assert.equal(b.setBalloonTarget(1e9), true);
    assert.equal(b.balloon!.target, (32 << 20) / 4096);
    b.setBalloonTarget(100);
    const st = JSON.parse(JSON.stringify(b.save())) as BoardState;
    assert.deepEqual(balloonStatus(st), { targetPages: 100, actualPages: 0, inflated: 0, deflated: 0, reported: 0, stats: {} });
    // a state saved before the device existed (one virtio entry fewer) restores with a fresh balloon
    const old = JSON.parse(JSON.stringify(st)) as BoardState;
    old.devices.virtio.pop();
    assert.equal(balloonStatus(old), undefined);
    const legacy = board({}, old);
    assert.equal(legacy.balloon!.target, 0);
    legacy.core.destroy();
    // and a state with the balloon restores it
    const same = board({}, st);
    assert.equal(same.balloon!.target, 100);
    same.core.destroy();
    // a state with a different device in the last entry is still refused
    const wrong = JSON.parse(JSON.stringify(st)) as BoardState;
    wrong.devices.virtio.splice(0, 1);
    assert.throws(() => board({}, wrong), { code: 'SNAPSHOT_MISMATCH' });
  } finally {
    b.destroy();
  }
});

test('board: balloon false leaves it out; with 6 disks the balloon takes a ninth slot', () => {
  const none = board({ balloon: false });
  try {
    assert.equal(none.balloon, undefined);
    assert.equal(none.setBalloonTarget(10), false);
    assert.equal(deviceId(none, 2), 0);
    assert.equal(balloonStatus(none.save()), undefined);
  } finally {
    none.destroy();
  }
  const full = board({ disks: 6, balloon: { statsIntervalMs: 0 } });
  try {
    assert.deepEqual([0, 5, 6, 7, 8].map((s) => deviceId(full, s)), [2, 2, 4, 18, 5]);
    assert.equal(full.balloon!.statsIntervalMs, 0);
  } finally {
    full.destroy();
  }
  assert.throws(() => board({ disks: 7 }), { code: 'USAGE' });
});
