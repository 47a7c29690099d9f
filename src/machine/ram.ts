// A VM's guest-physical RAM: a P2M table (one u32 per 4 KiB guest page: host frame offset >> 12,
// or 0 while the page has never been touched) in the shared host memory, which the wasm core reads
// directly, and frames allocated on first touch. Also the checked DMA view devices use
// (GuestMemory): an access outside RAM fails and touches nothing.
import type { HostMemory } from '../memory/host-memory.js';
import type { GuestMemory } from '../devices/device.js';
import { RvisorError } from '../errors.js';

const PAGE = 4096;

/** Where a VM's RAM is: its P2M table in the shared memory and the guest-physical range. */
export interface GuestRamState {
  p2m: number;
  base: number;
  size: number;
}

export class GuestRam implements GuestMemory {
  /** Host offset of the P2M table. */
  readonly p2m: number;
  readonly pages: number;

  constructor(private readonly host: HostMemory, readonly base: number, readonly size: number, p2m?: number) {
    if (size % PAGE !== 0 || size <= 0) throw new RvisorError('USAGE', `memory size must be a positive multiple of 4 KiB, not ${size}`);
    this.pages = size / PAGE;
    this.p2m = p2m ?? host.allocContiguous(this.pages * 4);
  }

  /** The same RAM seen from another thread (or after a board was rebuilt from its state). */
  static attach(host: HostMemory, s: GuestRamState): GuestRam {
    return new GuestRam(host, s.base, s.size, s.p2m);
  }

  save(): GuestRamState {
    return { p2m: this.p2m, base: this.base, size: this.size };
  }

  /** Host offset of the frame backing guest page `index`, allocating it on first touch. */
  frame(index: number): number {
    const slot = this.p2m + index * 4;
    const f = this.host.view.getUint32(slot, true);
    if (f !== 0) return f * PAGE;
    const frame = this.host.allocFrame();
    this.host.view.setUint32(slot, frame / PAGE, true);
    return frame;
  }

  /** The core's RAM-miss hook: backs the page of guest-physical address pa. */
  ramMiss(pa: bigint): number {
    const off = Number(pa) - this.base;
    if (off < 0 || off >= this.size) return -1;
    return this.frame(Math.floor(off / PAGE));
  }

  /** Pages currently backed by host frames. */
  backedPages(): number {
    let n = 0;
    const v = this.host.view;
    for (let i = 0; i < this.pages; i++) if (v.getUint32(this.p2m + i * 4, true) !== 0) n++;
    return n;
  }

  private inRange(gpa: number, len: number): boolean {
    return Number.isSafeInteger(gpa) && gpa >= this.base && len >= 0 && gpa + len <= this.base + this.size;
  }

  /** Calls fn for each frame-contiguous piece of [gpa, gpa+len): (host offset, piece offset, length). */
  private pieces(gpa: number, len: number, fn: (host: number, at: number, n: number) => void): void {
    let at = 0;
    while (at < len) {
      const off = gpa + at - this.base;
      const inPage = off % PAGE;
      const n = Math.min(len - at, PAGE - inPage);
      fn(this.frame(Math.floor(off / PAGE)) + inPage, at, n);
      at += n;
    }
  }

  read(gpa: number, dst: Uint8Array): boolean {
    if (!this.inRange(gpa, dst.length)) return false;
    this.pieces(gpa, dst.length, (host, at, n) => dst.set(this.host.bytes.subarray(host, host + n), at));
    return true;
  }

  write(gpa: number, src: Uint8Array): boolean {
    if (!this.inRange(gpa, src.length)) return false;
    this.pieces(gpa, src.length, (host, at, n) => this.host.bytes.set(src.subarray(at, at + n), host));
    return true;
  }

  private scalar(gpa: number, size: number): number | undefined {
    if (!this.inRange(gpa, size)) return undefined;
    const off = gpa - this.base;
    if ((off % PAGE) + size > PAGE) return undefined; // callers use naturally aligned fields
    return this.frame(Math.floor(off / PAGE)) + (off % PAGE);
  }

  readU16(gpa: number): number | undefined {
    const a = this.scalar(gpa, 2);
    return a === undefined ? undefined : this.host.view.getUint16(a, true);
  }
  readU32(gpa: number): number | undefined {
    const a = this.scalar(gpa, 4);
    return a === undefined ? undefined : this.host.view.getUint32(a, true);
  }
  readU64(gpa: number): bigint | undefined {
    const a = this.scalar(gpa, 8);
    return a === undefined ? undefined : this.host.view.getBigUint64(a, true);
  }
  writeU16(gpa: number, v: number): boolean {
    const a = this.scalar(gpa, 2);
    if (a === undefined) return false;
    this.host.view.setUint16(a, v, true);
    return true;
  }
  writeU32(gpa: number, v: number): boolean {
    const a = this.scalar(gpa, 4);
    if (a === undefined) return false;
    this.host.view.setUint32(a, v >>> 0, true);
    return true;
  }
  writeU64(gpa: number, v: bigint): boolean {
    const a = this.scalar(gpa, 8);
    if (a === undefined) return false;
    this.host.view.setBigUint64(a, BigInt.asUintN(64, v), true);
    return true;
  }

  /** Frees every backing frame and the P2M table itself (the VM is gone). */
  free(): void {
    this.release();
    for (let off = 0; off < this.pages * 4; off += PAGE) this.host.freeFrame(this.p2m + off);
  }

  /** Frees every backing frame (the VM is gone or rebooting with fresh memory). */
  release(): void {
    const v = this.host.view;
    for (let i = 0; i < this.pages; i++) {
      const f = v.getUint32(this.p2m + i * 4, true);
      if (f !== 0) {
        this.host.freeFrame(f * PAGE);
        v.setUint32(this.p2m + i * 4, 0, true);
      }
    }
  }
}
