// The split virtqueue under a hostile driver (design rule 5): every malformed chain fails only
// its own request, the host never throws, and the next valid request works. Also interrupt
// suppression (NO_INTERRUPT, EVENT_IDX) and a save/restore round trip in the middle of a stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBlockBackend } from '../src/devices/virtio/blk/backend.js';
import { VirtioBlk, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT } from '../src/devices/virtio/blk/blk.js';
import { VirtioMmioTransport, MMIO_STATUS, MMIO_QUEUE_READY, MMIO_QUEUE_SEL, MMIO_QUEUE_NUM, MMIO_INTERRUPT_STATUS, INT_CONFIG_CHANGE, INT_USED_BUFFER } from '../src/devices/virtio/transport/mmio.js';
import { STATUS_DEVICE_NEEDS_RESET, VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC } from '../src/devices/virtio/transport/virtio-device.js';
import { Virtqueue, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_AVAIL_F_NO_INTERRUPT } from '../src/devices/virtio/queue/virtqueue.js';
import { blkRig, FakeIrq, FakeRam, TestDriver, RAM_BASE, type BlkRig } from './virtio-driver.js';

const N = VIRTQ_DESC_F_NEXT;
const W = VIRTQ_DESC_F_WRITE;
const I = VIRTQ_DESC_F_INDIRECT;

function rig(mask?: bigint): BlkRig & { disk: MemoryBlockBackend } {
  const disk = new MemoryBlockBackend(64 * 512);
  for (let s = 0; s < 64; s++) disk.bytes.fill(s, s * 512, s * 512 + 512);
  const r = blkRig(disk);
  if (mask !== undefined) {
    // renegotiate with fewer features
    r.drv.negotiate({ mask });
    const q = r.drv.setupQueue(0);
    r.drv.driverOk();
    Object.assign(r.q, q, { nextDesc: 0, availIdx: 0, lastUsed: 0 });
  }
  return Object.assign(r, { disk });
}

/** A valid read of sector 5 still works. */
function stillWorks(r: BlkRig): void {
  const res = r.req(VIRTIO_BLK_T_IN, 5, { inLen: 512 });
  assert.equal(res.status, VIRTIO_BLK_S_OK);
  assert.ok(res.data.every((b) => b === 5));
  assert.equal(r.drv.r(MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET, 0);
}

/** Offers `head` (descriptors already written), notifies, returns the used elements. */
function fire(r: BlkRig, head: number): { id: number; len: number }[] {
  r.q.offer(head);
  assert.doesNotThrow(() => r.drv.notify(0));
  return r.q.takeUsed();
}

function hdrAndStatus(r: BlkRig): { hdr: number; st: number; data: number } {
  const hdr = r.drv.alloc(16);
  r.ram.view.setUint32(hdr - r.ram.base, VIRTIO_BLK_T_IN, true);
  return { hdr, st: r.drv.alloc(1), data: r.drv.alloc(512) };
}

const END = (r: BlkRig) => r.ram.base + r.ram.size;

const hostile: [string, (r: BlkRig) => number][] = [
  ['descriptor loop', (r) => {
    const { hdr } = hdrAndStatus(r);
    r.q.writeDesc(r.q.desc, 200, hdr, 16, N, 201);
    r.q.writeDesc(r.q.desc, 201, hdr, 16, N, 200);
    return 200;
  }],
  ['self loop with writable buffers', (r) => {
    const { st } = hdrAndStatus(r);
    r.q.writeDesc(r.q.desc, 200, st, 1, N | W, 200);
    return 200;
  }],
  ['next index ≥ queue size', (r) => {
    const { hdr } = hdrAndStatus(r);
    r.q.writeDesc(r.q.desc, 200, hdr, 16, N, 300);
    return 200;
  }],
  ['address below RAM', (r) => {
    r.q.writeDesc(r.q.desc, 200, 0x1000, 16, 0, 0);
    return 200;
  }],
  ['length past the end of RAM', (r) => {
    const { hdr, st } = hdrAndStatus(r);
    r.q.writeDesc(r.q.desc, 200, hdr, 16, N, 201);
    r.q.writeDesc(r.q.desc, 201, END(r) - 256, 512, N | W, 202);
    r.q.writeDesc(r.q.desc, 202, st, 1, W, 0);
    return 200;
  }],
  ['huge length', (r) => {
    const { hdr, st } = hdrAndStatus(r);
    r.q.writeDesc(r.q.desc, 200, hdr, 16, N, 201);
    r.q.writeDesc(r.q.desc, 201, hdr, 0xffffffff, N | W, 202);
    r.q.writeDesc(r.q.desc, 202, st, 1, W, 0);
    return 200;
  }],
  ['address beyond 2^53', (r) => {
    r.q.writeDesc(r.q.desc, 200, 0, 16, 0, 0);
    r.ram.view.setUint32(r.q.desc - r.ram.base + 16 * 200 + 4, 0xffffffff, true);
    return 200;
  }],
  ['indirect table with odd length', (r) => {
    const t = r.drv.alloc(64);
    r.q.writeDesc(r.q.desc, 200, t, 24, I, 0);
    return 200;
  }],
  ['indirect table of length 0', (r) => {
    r.q.writeDesc(r.q.desc, 200, r.drv.alloc(16), 0, I, 0);
    return 200;
  }],
  ['nested indirect', (r) => {
    const { hdr } = hdrAndStatus(r);
    const t = r.drv.alloc(64);
    const t2 = r.drv.alloc(64);
    r.q.writeDesc(t2, 0, hdr, 16, 0, 0);
    r.q.writeDesc(t, 0, t2, 16, I, 0);
    r.q.writeDesc(r.q.desc, 200, t, 16, I, 0);
    return 200;
  }],
  ['INDIRECT together with NEXT', (r) => {
    const { hdr, st } = hdrAndStatus(r);
    const t = r.drv.alloc(16);
    r.q.writeDesc(t, 0, hdr, 16, 0, 0);
    r.q.writeDesc(r.q.desc, 200, t, 16, I | N, 201);
    r.q.writeDesc(r.q.desc, 201, st, 1, W, 0);
    return 200;
  }],
  ['indirect table outside RAM', (r) => {
    r.q.writeDesc(r.q.desc, 200, END(r) - 16, 64, I, 0);
    return 200;
  }],
  ['loop inside an indirect table', (r) => {
    const { hdr } = hdrAndStatus(r);
    const t = r.drv.alloc(32);
    r.q.writeDesc(t, 0, hdr, 16, N, 1);
    r.q.writeDesc(t, 1, hdr, 16, N, 0);
    r.q.writeDesc(r.q.desc, 200, t, 32, I, 0);
    return 200;
  }],
  ['indirect next index past the table', (r) => {
    const { hdr } = hdrAndStatus(r);
    const t = r.drv.alloc(32);
    r.q.writeDesc(t, 0, hdr, 16, N, 5);
    r.q.writeDesc(r.q.desc, 200, t, 32, I, 0);
    return 200;
  }],
  ['readable after writable', (r) => {
    const { hdr, st } = hdrAndStatus(r);
    r.q.writeDesc(r.q.desc, 200, st, 1, N | W, 201);
    r.q.writeDesc(r.q.desc, 201, hdr, 16, 0, 0);
    return 200;
  }],
];

for (const [name, build] of hostile) {
  test(`hostile chain: ${name} → returned with length 0, device keeps working`, () => {
    const r = rig();
    stillWorks(r);
    const vq = (r.t as unknown as { queues: Virtqueue[] }).queues[0]!;
    const faults = vq.faults;
    const head = build(r);
    const used = fire(r, head);
    assert.deepEqual(used, [{ id: head, len: 0 }]);
    assert.equal(vq.faults, faults + 1, vq.lastFault);
    stillWorks(r);
  });
}

test('hostile chain: available entry naming a descriptor ≥ queue size is dropped', () => {
  const r = rig();
  assert.deepEqual(fire(r, 999), []);
  assert.deepEqual(fire(r, 0xffff), []);
  stillWorks(r);
});

test('hostile chain: indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC negotiated', () => {
  const r = rig(~VIRTIO_RING_F_INDIRECT_DESC);
  const { hdr, st, data } = hdrAndStatus(r);
  const t = r.drv.alloc(48);
  r.q.writeDesc(t, 0, hdr, 16, N, 1);
  r.q.writeDesc(t, 1, data, 512, N | W, 2);
  r.q.writeDesc(t, 2, st, 1, W, 0);
  r.q.writeDesc(r.q.desc, 200, t, 48, I, 0);
  assert.deepEqual(fire(r, 200), [{ id: 200, len: 0 }]);
  stillWorks(r);
});

test('malformed requests with a sound chain get a status: no writable byte, short header', () => {
  const r = rig();
  const { hdr, st } = hdrAndStatus(r);
  r.q.writeDesc(r.q.desc, 200, hdr, 16, 0, 0); // no status byte at all
  assert.deepEqual(fire(r, 200), [{ id: 200, len: 0 }]);
  r.ram.bytes[st - r.ram.base] = 0xee;
  r.q.writeDesc(r.q.desc, 200, hdr, 8, N, 201); // 8-byte header
  r.q.writeDesc(r.q.desc, 201, st, 1, W, 0);
  assert.deepEqual(fire(r, 200), [{ id: 200, len: 1 }]);
  assert.equal(r.ram.bytes[st - r.ram.base], VIRTIO_BLK_S_IOERR);
  // a header split across two descriptors is fine (§2.6.4 message framing)
  r.q.writeDesc(r.q.desc, 200, hdr, 5, N, 201);
  r.q.writeDesc(r.q.desc, 201, hdr + 5, 11, N, 202);
  r.ram.view.setBigUint64(hdr - r.ram.base + 8, 7n, true);
  const data = r.drv.alloc(512);
  r.q.writeDesc(r.q.desc, 202, data, 512, N | W, 203);
  r.q.writeDesc(r.q.desc, 203, st, 1, W, 0);
  assert.deepEqual(fire(r, 200), [{ id: 200, len: 513 }]);
  assert.equal(r.ram.bytes[st - r.ram.base], VIRTIO_BLK_S_OK);
  assert.ok(r.ram.bytes.subarray(data - r.ram.base, data - r.ram.base + 512).every((b) => b === 7));
});

test('ring damage: available index jumping past the queue size sets DEVICE_NEEDS_RESET; reset recovers', () => {
  const r = rig();
  stillWorks(r);
  r.drv.ack();
  r.ram.writeU16(r.q.avail + 2, (r.q.availIdx + 1000) & 0xffff);
  assert.doesNotThrow(() => r.drv.notify(0));
  assert.ok(r.drv.r(MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET);
  assert.equal(r.drv.r(MMIO_INTERRUPT_STATUS) & INT_CONFIG_CHANGE, INT_CONFIG_CHANGE);
  assert.equal(r.irq.level, true);
  assert.deepEqual(r.q.takeUsed(), []);
  // the driver resets and starts over
  r.drv.negotiate();
  assert.equal(r.drv.r(MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET, 0);
  assert.equal(r.irq.level, false);
  const q = r.drv.setupQueue(0);
  r.drv.driverOk();
  Object.assign(r.q, q, { nextDesc: 0, availIdx: 0, lastUsed: 0 });
  stillWorks(r);
});

test('ring damage: a used ring outside RAM breaks the queue, never the host', () => {
  const ram = new FakeRam(1 << 20);
  const irq = new FakeIrq();
  const t = new VirtioMmioTransport(new VirtioBlk(new MemoryBlockBackend(4096)), { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  drv.negotiate();
  const q = drv.setupQueue(0, 16);
  // move the used ring outside RAM before making the queue live again
  drv.w(MMIO_QUEUE_SEL, 0);
  drv.w(MMIO_QUEUE_READY, 0);
  drv.w(0x0a0, 0x1000);
  drv.w(MMIO_QUEUE_READY, 1);
  drv.driverOk();
  const hdr = drv.alloc(16);
  const st = drv.alloc(1);
  q.post([{ addr: hdr, len: 16 }, { addr: st, len: 1, write: true }]);
  assert.doesNotThrow(() => drv.notify(0));
  assert.ok(drv.r(MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET);
});

test('queue setup: a size that is not a power of 2 is refused', () => {
  const ram = new FakeRam(1 << 20);
  const t = new VirtioMmioTransport(new VirtioBlk(new MemoryBlockBackend(4096)), { mem: ram, irq: new FakeIrq() });
  const drv = new TestDriver(t, ram);
  drv.negotiate();
  drv.w(MMIO_QUEUE_SEL, 0);
  drv.w(MMIO_QUEUE_NUM, 100);
  drv.w(MMIO_QUEUE_READY, 1);
  assert.equal(drv.r(MMIO_QUEUE_READY), 0);
  assert.ok(drv.r(MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET);
  drv.w(MMIO_QUEUE_NUM, 512); // above QueueNumMax
  drv.w(MMIO_QUEUE_READY, 1);
  assert.equal(drv.r(MMIO_QUEUE_READY), 0);
});

test('interrupts: raised on used buffers, cleared by ACK; VIRTQ_AVAIL_F_NO_INTERRUPT suppresses', () => {
  const r = rig(~VIRTIO_RING_F_EVENT_IDX);
  r.drv.ack();
  assert.equal(r.irq.level, false);
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 });
  assert.equal(r.irq.level, true);
  assert.equal(r.drv.ack(), INT_USED_BUFFER);
  assert.equal(r.irq.level, false);
  r.q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 });
  assert.equal(r.irq.level, false, 'suppressed');
  r.q.setAvailFlags(0);
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 });
  assert.equal(r.irq.level, true);
});

test('interrupts: VIRTIO_RING_F_EVENT_IDX uses used_event and publishes avail_event', () => {
  const r = rig();
  r.drv.ack();
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 }); // used idx 1 (first decision always interrupts)
  assert.equal(r.irq.level, true);
  assert.equal(r.q.availEvent(), r.q.availIdx, 'avail_event follows the device');
  r.drv.ack();
  // ask to be interrupted only when used idx passes 3 (i.e. after the entry with index 3)
  r.q.setUsedEvent(3);
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 }); // used idx 2
  assert.equal(r.irq.level, false);
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 }); // used idx 3
  assert.equal(r.irq.level, false);
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 }); // used idx 4: 3 was crossed
  assert.equal(r.irq.level, true);
  r.drv.ack();
  // Linux's "interrupt me on the next one": used_event = current used idx
  r.q.setUsedEvent(4);
  r.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 });
  assert.equal(r.irq.level, true);
});

test('a batch of requests in one notification; the used index wraps past 65535', () => {
  const r = rig();
  const vq = (r.t as unknown as { queues: Virtqueue[] }).queues[0]!;
  const bufs: number[] = [];
  for (let i = 0; i < 8; i++) {
    const hdr = r.drv.alloc(16);
    r.ram.view.setUint32(hdr - r.ram.base, VIRTIO_BLK_T_IN, true);
    r.ram.view.setBigUint64(hdr - r.ram.base + 8, BigInt(i), true);
    const d = r.drv.alloc(512);
    const st = r.drv.alloc(1);
    bufs.push(d);
    r.q.post([{ addr: hdr, len: 16 }, { addr: d, len: 512, write: true }, { addr: st, len: 1, write: true }]);
  }
  r.drv.notify(0);
  const used = r.q.takeUsed();
  assert.equal(used.length, 8);
  bufs.forEach((d, i) => assert.equal(r.ram.bytes[d - r.ram.base], i));
  // jump both sides near the 16-bit wrap and keep going
  const s = r.t.save();
  s.queues[0]!.lastAvailIdx = 65534;
  s.queues[0]!.usedIdx = 65534;
  s.queues[0]!.signalledUsed = 65534;
  r.t.restore(s);
  r.q.availIdx = 65534;
  r.q.lastUsed = 65534;
  r.ram.writeU16(r.q.avail + 2, 65534);
  for (let i = 0; i < 4; i++) stillWorks(r);
  assert.equal(vq.usedIdx, 2);
});

test('state: save/restore of a queue mid-stream (JSON round trip onto a fresh device)', () => {
  const disk = new MemoryBlockBackend(64 * 512);
  for (let s = 0; s < 64; s++) disk.bytes.fill(s, s * 512, s * 512 + 512);
  const a = blkRig(disk);
  a.req(VIRTIO_BLK_T_IN, 1, { inLen: 512 });
  a.req(VIRTIO_BLK_T_OUT, 2, { out: new Uint8Array(512).fill(0xab) });
  // two more requests made available but not yet notified
  const hdrs = [3, 4].map((sector) => {
    const hdr = a.drv.alloc(16);
    a.ram.view.setUint32(hdr - a.ram.base, VIRTIO_BLK_T_IN, true);
    a.ram.view.setBigUint64(hdr - a.ram.base + 8, BigInt(sector), true);
    const d = a.drv.alloc(512);
    const st = a.drv.alloc(1);
    a.q.post([{ addr: hdr, len: 16 }, { addr: d, len: 512, write: true }, { addr: st, len: 1, write: true }]);
    return d;
  });
  const tState = JSON.parse(JSON.stringify(a.t.save()));
  const bState = JSON.parse(JSON.stringify(a.blk.save()));
  assert.equal(tState.queues[0].lastAvailIdx, 2);
  assert.equal(tState.queues[0].usedIdx, 2);
  assert.equal(tState.queues[0].eventIdx, true);

  // the "other machine": same RAM contents, same disk, fresh transport and device
  const ram2 = new FakeRam(a.ram.size, RAM_BASE);
  ram2.bytes.set(a.ram.bytes);
  const irq2 = new FakeIrq();
  const blk2 = new VirtioBlk(disk);
  const t2 = new VirtioMmioTransport(blk2, { mem: ram2, irq: irq2 });
  t2.restore(tState);
  blk2.restore(bState);
  assert.deepEqual(t2.save(), a.t.save(), 'restored state equals saved state');
  assert.equal(irq2.level, a.irq.level, 'IRQ line follows InterruptStatus');

  t2.write(0x050, 0, 4); // QueueNotify on the restored machine
  a.drv.notify(0); // and on the original
  assert.deepEqual(ram2.bytes, a.ram.bytes, 'both machines did the same thing');
  assert.equal(ram2.readU16(a.q.used + 2), 4);
  hdrs.forEach((d, i) => assert.equal(ram2.bytes[d - RAM_BASE], 3 + i));
  assert.deepEqual(t2.save(), a.t.save());
});

test('Virtqueue: refuses impossible configurations', () => {
  const ram = new FakeRam(1 << 16);
  assert.throws(() => new Virtqueue(ram, 100));
  const q = new Virtqueue(ram, 16);
  q.size = 16;
  q.descAddr = RAM_BASE + 8;
  assert.match(q.enable(false, false) ?? '', /aligned/);
  q.descAddr = RAM_BASE;
  q.availAddr = RAM_BASE + 0x101;
  assert.match(q.enable(false, false) ?? '', /aligned/);
  q.availAddr = RAM_BASE + 0x100;
  q.usedAddr = RAM_BASE + 0x202;
  assert.match(q.enable(false, false) ?? '', /aligned/);
  q.usedAddr = RAM_BASE + 0x200;
  assert.equal(q.enable(false, false), null);
  assert.equal(q.pop(), null, 'empty ring');
  assert.throws(() => q.restore({ ...q.save(), size: 64 }));
});
