// Test helpers for the virtio tests (not a test file itself): guest RAM over a plain ArrayBuffer
// with the same bounds rules as the real GuestMemory, an IRQ line that records its level, and a
// small driver that talks to a virtio-mmio transport the way Linux's virtio_mmio + virtio_ring do
// (split rings laid out like vring_init with 4 KiB alignment of the used ring, features
// negotiated through DeviceFeaturesSel/DriverFeaturesSel, QueueReady, QueueNotify, ACK).
import assert from 'node:assert/strict';
import type { GuestMemory, IrqLine, MmioDevice } from '../src/devices/device.js';
import { VirtioMmioTransport } from '../src/devices/virtio/transport/mmio.js';
import { VirtioBlk } from '../src/devices/virtio/blk/blk.js';
import type { BlockBackend } from '../src/devices/virtio/blk/backend.js';
import {
  MMIO_DEVICE_FEATURES, MMIO_DEVICE_FEATURES_SEL, MMIO_DRIVER_FEATURES, MMIO_DRIVER_FEATURES_SEL,
  MMIO_INTERRUPT_ACK, MMIO_INTERRUPT_STATUS, MMIO_QUEUE_DESC_HIGH, MMIO_QUEUE_DESC_LOW,
  MMIO_QUEUE_DEVICE_HIGH, MMIO_QUEUE_DEVICE_LOW, MMIO_QUEUE_DRIVER_HIGH, MMIO_QUEUE_DRIVER_LOW,
  MMIO_QUEUE_NOTIFY, MMIO_QUEUE_NUM, MMIO_QUEUE_NUM_MAX, MMIO_QUEUE_READY, MMIO_QUEUE_SEL, MMIO_STATUS,
} from '../src/devices/virtio/transport/mmio.js';
import {
  STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FEATURES_OK,
} from '../src/devices/virtio/transport/virtio-device.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../src/devices/virtio/queue/virtqueue.js';

export const RAM_BASE = 0x80000000;

export class FakeRam implements GuestMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(readonly size: number, readonly base = RAM_BASE) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  /** Offset into bytes of [gpa, gpa + len), or -1 when not entirely inside RAM. */
  private off(gpa: number, len: number): number {
    if (!Number.isSafeInteger(gpa) || gpa < this.base || gpa + len > this.base + this.size) return -1;
    return gpa - this.base;
  }
  read(gpa: number, dst: Uint8Array): boolean {
    const o = this.off(gpa, dst.length);
    if (o < 0) return false;
    dst.set(this.bytes.subarray(o, o + dst.length));
    return true;
  }
  write(gpa: number, src: Uint8Array): boolean {
    const o = this.off(gpa, src.length);
    if (o < 0) return false;
    this.bytes.set(src, o);
    return true;
  }
  readU16(gpa: number): number | undefined {
    const o = this.off(gpa, 2);
    return o < 0 ? undefined : this.view.getUint16(o, true);
  }
  readU32(gpa: number): number | undefined {
    const o = this.off(gpa, 4);
    return o < 0 ? undefined : this.view.getUint32(o, true);
  }
  readU64(gpa: number): bigint | undefined {
    const o = this.off(gpa, 8);
    return o < 0 ? undefined : this.view.getBigUint64(o, true);
  }
  writeU16(gpa: number, v: number): boolean {
    const o = this.off(gpa, 2);
    if (o < 0) return false;
    this.view.setUint16(o, v, true);
    return true;
  }
  writeU32(gpa: number, v: number): boolean {
    const o = this.off(gpa, 4);
    if (o < 0) return false;
    this.view.setUint32(o, v, true);
    return true;
  }
  writeU64(gpa: number, v: bigint): boolean {
    const o = this.off(gpa, 8);
    if (o < 0) return false;
    this.view.setBigUint64(o, v, true);
    return true;
  }
}

export class FakeIrq implements IrqLine {
  level = false;
  /** Rising edges seen. */
  raises = 0;
  set(level: boolean): void {
    if (level && !this.level) this.raises++;
    this.level = level;
  }
}

export interface Buf {
  addr: number;
  len: number;
  write?: boolean;
}

/** One split virtqueue as the driver sees it. */
export class DriverQueue {
  nextDesc = 0;
  availIdx = 0;
  lastUsed = 0;
  constructor(
    readonly ram: FakeRam,
    readonly index: number,
    readonly size: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
  ) {}

  writeDesc(table: number, i: number, addr: number, len: number, flags: number, next: number): void {
    const v = this.ram.view;
    const o = table - this.ram.base + 16 * i;
    v.setBigUint64(o, BigInt(addr), true);
    v.setUint32(o + 8, len >>> 0, true);
    v.setUint16(o + 12, flags, true);
    v.setUint16(o + 14, next, true);
  }

  /** Puts `head` in the next available slot and publishes avail->idx. */
  offer(head: number): void {
    this.ram.writeU16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.ram.writeU16(this.avail + 2, this.availIdx);
  }

  /** Builds a chain from bufs (direct descriptors, or one indirect table at `indirectAt`) and offers it. */
  post(bufs: Buf[], indirectAt?: number): number {
    const head = this.nextDesc;
    if (indirectAt !== undefined) {
      bufs.forEach((b, i) => {
        const last = i === bufs.length - 1;
        this.writeDesc(indirectAt, i, b.addr, b.len, (b.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT), last ? 0 : i + 1);
      });
      this.writeDesc(this.desc, head, indirectAt, 16 * bufs.length, VIRTQ_DESC_F_INDIRECT, 0);
      this.nextDesc = (head + 1) % this.size;
    } else {
      bufs.forEach((b, i) => {
        const d = (head + i) % this.size;
        const last = i === bufs.length - 1;
        this.writeDesc(this.desc, d, b.addr, b.len, (b.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT), (d + 1) % this.size);
      });
      this.nextDesc = (head + bufs.length) % this.size;
    }
    this.offer(head);
    return head;
  }

  /** Used elements published since the last call. */
  takeUsed(): { id: number; len: number }[] {
    const out: { id: number; len: number }[] = [];
    const idx = this.ram.readU16(this.used + 2)!;
    while (this.lastUsed !== idx) {
      const e = this.used + 4 + 8 * (this.lastUsed % this.size);
      out.push({ id: this.ram.readU32(e)!, len: this.ram.readU32(e + 4)! });
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  setAvailFlags(flags: number): void {
    this.ram.writeU16(this.avail, flags);
  }
  /** used_event, at the end of the available ring (§2.7.10). */
  setUsedEvent(v: number): void {
    this.ram.writeU16(this.avail + 4 + 2 * this.size, v);
  }
  /** avail_event, at the end of the used ring. */
  availEvent(): number {
    return this.ram.readU16(this.used + 4 + 8 * this.size)!;
  }
}

export class TestDriver {
  private heap: number;
  constructor(readonly dev: MmioDevice, readonly ram: FakeRam) {
    this.heap = ram.base + 0x1000;
  }
  r(off: number): number {
    return this.dev.read(off, 4);
  }
  w(off: number, v: number): void {
    this.dev.write(off, v >>> 0, 4);
  }
  alloc(len: number, align = 16): number {
    this.heap = Math.ceil(this.heap / align) * align;
    const a = this.heap;
    this.heap += len;
    if (this.heap > this.ram.base + this.ram.size) throw new Error('test heap exhausted');
    return a;
  }
  offeredFeatures(): bigint {
    this.w(MMIO_DEVICE_FEATURES_SEL, 1);
    const hi = this.r(MMIO_DEVICE_FEATURES);
    this.w(MMIO_DEVICE_FEATURES_SEL, 0);
    const lo = this.r(MMIO_DEVICE_FEATURES);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** Reset, ACKNOWLEDGE, DRIVER, write features (offered ∩ mask, or exactly `exact`), FEATURES_OK.
   *  Returns the status read back. */
  negotiate(opts: { mask?: bigint; exact?: bigint } = {}): number {
    this.w(MMIO_STATUS, 0);
    this.w(MMIO_STATUS, STATUS_ACKNOWLEDGE);
    this.w(MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    const f = opts.exact ?? this.offeredFeatures() & (opts.mask ?? ~0n);
    this.w(MMIO_DRIVER_FEATURES_SEL, 1);
    this.w(MMIO_DRIVER_FEATURES, Number((f >> 32n) & 0xffffffffn));
    this.w(MMIO_DRIVER_FEATURES_SEL, 0);
    this.w(MMIO_DRIVER_FEATURES, Number(f & 0xffffffffn));
    this.w(MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    return this.r(MMIO_STATUS);
  }
  /** vring layout of Linux (vring_init with align 4096), in freshly allocated zeroed RAM. */
  setupQueue(index: number, size?: number): DriverQueue {
    this.w(MMIO_QUEUE_SEL, index);
    const num = size ?? this.r(MMIO_QUEUE_NUM_MAX);
    const desc = this.alloc(16 * num + 6 + 2 * num, 4096);
    const avail = desc + 16 * num;
    const used = this.alloc(6 + 8 * num, 4096);
    this.w(MMIO_QUEUE_NUM, num);
    this.w(MMIO_QUEUE_DESC_LOW, desc);
    this.w(MMIO_QUEUE_DESC_HIGH, 0);
    this.w(MMIO_QUEUE_DRIVER_LOW, avail);
    this.w(MMIO_QUEUE_DRIVER_HIGH, 0);
    this.w(MMIO_QUEUE_DEVICE_LOW, used);
    this.w(MMIO_QUEUE_DEVICE_HIGH, 0);
    this.w(MMIO_QUEUE_READY, 1);
    return new DriverQueue(this.ram, index, num, desc, avail, used);
  }
  driverOk(): void {
    this.w(MMIO_STATUS, this.r(MMIO_STATUS) | STATUS_DRIVER_OK);
  }
  notify(q: number): void {
    this.w(MMIO_QUEUE_NOTIFY, q);
  }
  /** Reads InterruptStatus and acknowledges it, like vm_interrupt. */
  ack(): number {
    const s = this.r(MMIO_INTERRUPT_STATUS);
    this.w(MMIO_INTERRUPT_ACK, s);
    return s;
  }
}

/** A virtio-blk device on a transport with a driver that negotiated everything and set up queue 0;
 *  req() posts one request (header, optional data, status byte), notifies and returns the result. */
export interface BlkRig {
  blk: VirtioBlk;
  t: VirtioMmioTransport;
  drv: TestDriver;
  q: DriverQueue;
  ram: FakeRam;
  irq: FakeIrq;
  req(type: number, sector: bigint | number, o?: { out?: Uint8Array; inLen?: number; indirect?: boolean }): { status: number; data: Uint8Array; len: number; id: number };
}

export function blkRig(backend: BlockBackend, opts: ConstructorParameters<typeof VirtioBlk>[1] = {}): BlkRig {
  const ram = new FakeRam(8 << 20);
  const irq = new FakeIrq();
  const blk = new VirtioBlk(backend, opts);
  const t = new VirtioMmioTransport(blk, { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  const st = drv.negotiate();
  assert.ok(st & STATUS_FEATURES_OK);
  const q = drv.setupQueue(0);
  drv.driverOk();
  const hdr = drv.alloc(16);
  const status = drv.alloc(1);
  const data = drv.alloc(1536 << 10);
  const table = drv.alloc(16 * 8);
  const req: BlkRig['req'] = (type, sector, o = {}) => {
    const v = ram.view;
    v.setUint32(hdr - ram.base, type, true);
    v.setUint32(hdr - ram.base + 4, 0, true);
    v.setBigUint64(hdr - ram.base + 8, BigInt(sector), true);
    ram.bytes[status - ram.base] = 0xee;
    const bufs: Buf[] = [{ addr: hdr, len: 16 }];
    if (o.out) {
      ram.write(data, o.out);
      bufs.push({ addr: data, len: o.out.length });
    }
    if (o.inLen) {
      ram.bytes.fill(0xcc, data - ram.base, data - ram.base + o.inLen);
      bufs.push({ addr: data, len: o.inLen, write: true });
    }
    bufs.push({ addr: status, len: 1, write: true });
    q.post(bufs, o.indirect ? table : undefined);
    drv.notify(0);
    const used = q.takeUsed();
    assert.equal(used.length, 1, 'one used element per request');
    return {
      status: ram.bytes[status - ram.base]!,
      data: ram.bytes.slice(data - ram.base, data - ram.base + (o.inLen ?? 0)),
      len: used[0]!.len,
      id: used[0]!.id,
    };
  };
  return { blk, t, drv, q, ram, irq, req };
}

