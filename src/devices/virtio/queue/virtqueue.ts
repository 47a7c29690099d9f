// A split virtqueue seen from the device side (virtio 1.2 §2.7): the descriptor table, the
// available ring (the "driver area") and the used ring (the "device area") live in guest RAM at
// addresses the driver chose. Everything read from there is hostile: every index, length and
// address is checked before use, and a malformed chain fails that one request without ever
// throwing to the host.
//
// Error policy (design rule 5; spec §2.1.2 lets a device set DEVICE_NEEDS_RESET):
//  - a malformed chain whose head index is valid (bad descriptor index, loop, too many
//    descriptors or bytes, buffer outside RAM, bad indirect table, readable-after-writable) is
//    returned to the driver on the used ring with length 0 and skipped; the queue keeps working.
//    The device never sees it, so it writes no status byte (we cannot trust where it would go).
//  - an available-ring entry whose head index is ≥ the queue size cannot be returned (its id
//    would be out of range for the driver too): it is consumed and dropped; the queue keeps
//    working.
//  - only damage to the rings themselves breaks the queue: the available index moving by more
//    than the queue size, or the available/used ring lying outside RAM. Then the queue is marked
//    `broken` (part of its state), stops processing, and the transport sets DEVICE_NEEDS_RESET
//    and sends a configuration-change interrupt (§2.1.2, §4.2.3.x); a driver reset clears it.
// Each fault increments `faults` and leaves a human-readable `lastFault` (diagnostics only).
import type { GuestMemory, Stateful } from '../../device.js';

/** §2.7.5: descriptor flags. */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** §2.7.6: available ring flag: the driver asks for no used-buffer notifications. */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** §2.7.8: used ring flag: the device asks for no available-buffer notifications (we never set it). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** §2.7: the largest queue size a split virtqueue can have. */
export const VIRTQ_MAX_SIZE = 32768;
/** Largest indirect table accepted (entries). The spec (§2.7.5.3.1) bounds a whole chain by the
 *  queue size, but Linux does not enforce that for indirect tables; like QEMU we accept up to 1024
 *  entries or the queue size, whichever is larger. */
export const VIRTQ_MAX_INDIRECT = 1024;
/** §2.7: alignment of the three areas. */
export const VIRTQ_DESC_ALIGN = 16;
export const VIRTQ_AVAIL_ALIGN = 2;
export const VIRTQ_USED_ALIGN = 4;

const TWO32 = 4294967296;

/** One guest-physical buffer of a chain, already checked to lie inside guest RAM. */
export interface Segment {
  addr: number;
  len: number;
}

/** A validated descriptor chain: device-readable buffers first, then device-writable ones. */
export interface DescriptorChain {
  /** The head descriptor index: the id to push to the used ring. */
  head: number;
  readable: Segment[];
  writable: Segment[];
  readableBytes: number;
  writableBytes: number;
}

/** The plain-data state of a queue (design rule 1). Addresses are guest-physical numbers
 *  (exact below 2^53; anything larger is outside any RAM and fails on use). */
export interface VirtqueueState {
  /** Queue size chosen by the driver (a power of 2 ≤ maxSize). */
  size: number;
  ready: boolean;
  descAddr: number;
  /** Driver area: the available ring. */
  availAddr: number;
  /** Device area: the used ring. */
  usedAddr: number;
  /** Next available-ring slot the device will read (free-running 16-bit). */
  lastAvailIdx: number;
  /** The device's used index (free-running 16-bit), also published at used->idx. */
  usedIdx: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated (§2.7.7, §2.7.10). */
  eventIdx: boolean;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated (§2.7.5.3). */
  indirect: boolean;
  /** Used index at the last interrupt decision (for EVENT_IDX), and whether it is meaningful. */
  signalledUsed: number;
  signalledUsedValid: boolean;
  /** The rings themselves are damaged: the queue stopped until reset. */
  broken: boolean;
  /** Count of malformed chains / ring faults seen (diagnostics). */
  faults: number;
}

export interface VirtqueueOptions {
  /** Largest total length (bytes) of one chain. Default 0xffffffff (the used ring's len is u32). */
  maxChainBytes?: number;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

export class Virtqueue implements Stateful<VirtqueueState> {
  readonly maxSize: number;
  readonly maxChainBytes: number;
  size: number;
  ready = false;
  descAddr = 0;
  availAddr = 0;
  usedAddr = 0;
  lastAvailIdx = 0;
  usedIdx = 0;
  eventIdx = false;
  indirect = false;
  signalledUsed = 0;
  signalledUsedValid = false;
  broken = false;
  faults = 0;
  /** Last fault, human-readable (not state). */
  lastFault = '';
  /** Called once when the queue becomes broken (the transport sets DEVICE_NEEDS_RESET). */
  onBroken: ((reason: string) => void) | undefined;

  private readonly descBuf = new Uint8Array(16);
  private readonly descView = new DataView(this.descBuf.buffer);
  private readonly probe = new Uint8Array(1);

  constructor(
    private readonly mem: GuestMemory,
    maxSize: number,
    options: VirtqueueOptions = {},
  ) {
    if (!isPow2(maxSize) || maxSize > VIRTQ_MAX_SIZE) throw new RangeError(`virtqueue: bad max size ${maxSize}`);
    this.maxSize = maxSize;
    this.size = maxSize;
    this.maxChainBytes = options.maxChainBytes ?? 0xffffffff;
  }

  /** Back to the state after a device reset (§2.4): not ready, indices 0. */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.lastAvailIdx = this.usedIdx = 0;
    this.eventIdx = this.indirect = false;
    this.signalledUsed = 0;
    this.signalledUsedValid = false;
    this.broken = false;
    this.faults = 0;
    this.lastFault = '';
  }

  /** Validates the driver's configuration and makes the queue live (QueueReady = 1). Returns
   *  null on success, else why it was refused (the queue stays not ready). */
  enable(eventIdx: boolean, indirect: boolean): string | null {
    if (!isPow2(this.size) || this.size > this.maxSize) return `queue size ${this.size} is not a power of 2 ≤ ${this.maxSize}`;
    if (this.descAddr % VIRTQ_DESC_ALIGN !== 0) return 'descriptor table not 16-byte aligned';
    if (this.availAddr % VIRTQ_AVAIL_ALIGN !== 0) return 'available ring not 2-byte aligned';
    if (this.usedAddr % VIRTQ_USED_ALIGN !== 0) return 'used ring not 4-byte aligned';
    this.eventIdx = eventIdx;
    this.indirect = indirect;
    this.ready = true;
    return null;
  }

  /** True when the queue can be processed. */
  get live(): boolean {
    return this.ready && !this.broken;
  }

  /** Number of chains the driver has made available and the device has not popped yet, or 0 if
   *  the queue is not live or the available index cannot be read. */
  pending(): number {
    if (!this.live) return 0;
    const idx = this.mem.readU16(this.availAddr + 2);
    if (idx === undefined) return 0;
    const n = (idx - this.lastAvailIdx) & 0xffff;
    return n > this.size ? 0 : n;
  }

  /** Pops the next valid available chain, or null when there is none (or the queue is not live).
   *  Malformed chains met on the way are returned to the driver with length 0 (see the header). */
  pop(): DescriptorChain | null {
    for (let guard = 0; guard <= this.size; guard++) {
      if (!this.live) return null;
      const availIdx = this.mem.readU16(this.availAddr + 2);
      if (availIdx === undefined) return this.breakQueue('available ring outside guest RAM');
      const n = (availIdx - this.lastAvailIdx) & 0xffff;
      if (n === 0) return null;
      if (n > this.size) return this.breakQueue(`available index moved by ${n}, more than the queue size ${this.size}`);
      const head = this.mem.readU16(this.availAddr + 4 + 2 * (this.lastAvailIdx & (this.size - 1)));
      if (head === undefined) return this.breakQueue('available ring outside guest RAM');
      this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
      if (this.eventIdx) {
        // §2.7.10: avail_event tells the driver which available index should trigger a notification;
        // we want one as soon as anything new arrives.
        if (!this.mem.writeU16(this.usedAddr + 4 + 8 * this.size, this.lastAvailIdx)) {
          return this.breakQueue('used ring outside guest RAM');
        }
      }
      if (head >= this.size) {
        this.fault(`available ring entry names descriptor ${head} ≥ queue size ${this.size}; dropped`);
        continue;
      }
      const chain = this.walk(head);
      if (typeof chain === 'string') {
        this.fault(`chain at descriptor ${head}: ${chain}; returned with length 0`);
        if (!this.push(head, 0)) return null;
        continue;
      }
      return chain;
    }
    return null;
  }

  /** Publishes a used buffer (§2.7.8): element {id: head, len} then used->idx. */
  push(head: number, len: number): boolean {
    if (!this.live) return false;
    const slot = this.usedIdx & (this.size - 1);
    const elem = this.usedAddr + 4 + 8 * slot;
    if (!this.mem.writeU32(elem, head >>> 0) || !this.mem.writeU32(elem + 4, len >>> 0)) {
      this.breakQueue('used ring outside guest RAM');
      return false;
    }
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    if (!this.mem.writeU16(this.usedAddr + 2, this.usedIdx)) {
      this.breakQueue('used ring outside guest RAM');
      return false;
    }
    return true;
  }

  /** Decides whether the used buffers published since the last call deserve an interrupt
   *  (§2.7.7 without EVENT_IDX: unless VIRTQ_AVAIL_F_NO_INTERRUPT; §2.7.10 with it: when used
   *  idx passed used_event). Call after a batch of push()es. */
  shouldNotify(): boolean {
    if (!this.ready) return false;
    const newIdx = this.usedIdx;
    const oldIdx = this.signalledUsed;
    const valid = this.signalledUsedValid;
    if (newIdx === oldIdx) return false; // nothing published since the last decision
    this.signalledUsed = newIdx;
    this.signalledUsedValid = true;
    if (this.eventIdx) {
      if (!valid) return true;
      const usedEvent = this.mem.readU16(this.availAddr + 4 + 2 * this.size);
      if (usedEvent === undefined) return true;
      // vring_need_event(event, new, old): (u16)(new - event - 1) < (u16)(new - old)
      return ((newIdx - usedEvent - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }
    const flags = this.mem.readU16(this.availAddr);
    if (flags === undefined) return true;
    return (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  save(): VirtqueueState {
    return {
      size: this.size,
      ready: this.ready,
      descAddr: this.descAddr,
      availAddr: this.availAddr,
      usedAddr: this.usedAddr,
      lastAvailIdx: this.lastAvailIdx,
      usedIdx: this.usedIdx,
      eventIdx: this.eventIdx,
      indirect: this.indirect,
      signalledUsed: this.signalledUsed,
      signalledUsedValid: this.signalledUsedValid,
      broken: this.broken,
      faults: this.faults,
    };
  }

  restore(s: VirtqueueState): void {
    if (s.ready && (!isPow2(s.size) || s.size > this.maxSize)) {
      throw new RangeError(`virtqueue state: size ${s.size} does not fit max ${this.maxSize}`);
    }
    this.size = s.size;
    this.ready = s.ready;
    this.descAddr = s.descAddr;
    this.availAddr = s.availAddr;
    this.usedAddr = s.usedAddr;
    this.lastAvailIdx = s.lastAvailIdx & 0xffff;
    this.usedIdx = s.usedIdx & 0xffff;
    this.eventIdx = s.eventIdx;
    this.indirect = s.indirect;
    this.signalledUsed = s.signalledUsed & 0xffff;
    this.signalledUsedValid = s.signalledUsedValid;
    this.broken = s.broken;
    this.faults = s.faults;
    this.lastFault = '';
  }

  // ---------------------------------------------------------------------------------------------

  private fault(reason: string): void {
    this.faults++;
    this.lastFault = reason;
  }

  private breakQueue(reason: string): null {
    this.fault(reason);
    if (!this.broken) {
      this.broken = true;
      this.onBroken?.(reason);
    }
    return null;
  }

  /** Reads descriptor `idx` of the table at `table`; false if outside RAM. */
  private readDesc(table: number, idx: number): boolean {
    return this.mem.read(table + 16 * idx, this.descBuf);
  }

  /** True when [addr, addr + len) looks inside guest RAM (first and last byte probed; every
   *  transfer is checked again by GuestMemory when it happens). */
  private inRam(addr: number, len: number): boolean {
    if (len === 0) return true;
    const last = addr + len - 1;
    if (last > Number.MAX_SAFE_INTEGER) return false;
    return this.mem.read(addr, this.probe) && this.mem.read(last, this.probe);
  }

  /** Walks and validates the chain starting at `head`: a chain, or the reason it is malformed. */
  private walk(head: number): DescriptorChain | string {
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let readableBytes = 0;
    let writableBytes = 0;
    let table = this.descAddr;
    let tableSize = this.size;
    let maxCount = this.size;
    let count = 0;
    let inIndirect = false;
    let idx = head;
    const v = this.descView;
    for (;;) {
      if (idx >= tableSize) return `descriptor index ${idx} out of range (table of ${tableSize})`;
      if (++count > maxCount) return `chain longer than ${maxCount} descriptors (a loop?)`;
      if (!this.readDesc(table, idx)) return inIndirect ? 'indirect table outside guest RAM' : 'descriptor table outside guest RAM';
      const lo = v.getUint32(0, true);
      const hi = v.getUint32(4, true);
      const len = v.getUint32(8, true);
      const flags = v.getUint16(12, true);
      const next = v.getUint16(14, true);
      const addr = hi * TWO32 + lo; // inexact above 2^53, which is outside any RAM anyway
      if (hi >= 0x200000) return 'buffer address beyond 2^53';
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) return 'indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC';
        if (inIndirect) return 'indirect descriptor inside an indirect table';
        if (flags & VIRTQ_DESC_F_NEXT) return 'indirect descriptor with NEXT set';
        if (len === 0 || len % 16 !== 0) return `indirect table length ${len} is not a non-zero multiple of 16`;
        const n = len / 16;
        const limit = Math.max(VIRTQ_MAX_INDIRECT, this.size);
        if (n > limit) return `indirect table of ${n} entries exceeds ${limit}`;
        if (!this.inRam(addr, len)) return 'indirect table outside guest RAM';
        table = addr;
        tableSize = n;
        maxCount = n;
        count = 0;
        idx = 0;
        inIndirect = true;
        continue;
      }
      if (len > 0 && !this.inRam(addr, len)) return `buffer [0x${addr.toString(16)}, +0x${len.toString(16)}) outside guest RAM`;
      if (flags & VIRTQ_DESC_F_WRITE) {
        if (len > 0) writable.push({ addr, len });
        writableBytes += len;
      } else {
        if (writableBytes > 0 || writable.length > 0) return 'device-readable descriptor after a device-writable one';
        if (len > 0) readable.push({ addr, len });
        readableBytes += len;
      }
      if (readableBytes + writableBytes > this.maxChainBytes) return `chain longer than ${this.maxChainBytes} bytes`;
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      idx = next;
    }
    return { head, readable, writable, readableBytes, writableBytes };
  }
}
