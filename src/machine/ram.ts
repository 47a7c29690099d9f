// A VM's guest-physical RAM: a P2M table (one u32 per 4 KiB guest page: the backing frame's number
// and flags, layout.ts P2M_*, or 0 while the page has never been touched) in the shared host
// memory, which the wasm core reads directly, and frames allocated on first touch. Also the checked
// DMA view devices use (GuestMemory): an access outside RAM fails and touches nothing.
//
// A page marked P2M_WP is written only after the host looked at it (frame(index, true)): a frame
// other P2M entries share (a clone's, HostMemory share counts) is copied first, then the mark is
// cleared and P2M_DIRTY set, which the dirty log of a live migration (p2m-log.ts) collects.
import type { HostMemory } from '../memory/host-memory.js';
import type { GuestMemory } from '../devices/device.js';
import { P2M_DIRTY, P2M_FRAME_MASK, P2M_WP } from '../cpu/layout.js';
import { RvisorError } from '../errors.js';

const PAGE = 4096;

/** Where a VM's RAM is: its P2M table in the shared memory and the guest-physical range. */
export interface GuestRamState {
  p2m: number;
  base: number;
  size: number;
  /** Lazy restore: pages still to be loaded from a snapshot on first touch. */
  lazy?: LazyPages;
}

/** A PAGE section of a snapshot a lazily restored machine loads pages from. */
export interface LazySection {
  /** File offset of the section header, its stored and raw payload lengths and flags. */
  offset: number;
  storedLength: number;
  rawLength: number;
  flags: number;
  /** The section header's SHA-256 (hex), checked when the section is read. */
  checksum: string;
  /** First and last guest page number in it. */
  first: number;
  last: number;
}

/** Lazy restore (docs/snapshot-format.md): the snapshot a restored machine's stored pages still
 *  come from. A page whose P2M entry is 0 and that one of these sections holds is loaded from it
 *  on first touch (guest access or DMA); any other untouched page is demand-zero. Plain data, so
 *  any thread of the process that opened `fd` can read it. */
export interface LazyPages {
  /** The snapshot file, for messages, and a descriptor of it open in this process. */
  path: string;
  fd: number;
  sections: LazySection[];
}

/** Reads stored pages of a snapshot (the platform's file reading: src/vmm/lazy-pages.ts). */
export interface PageSource {
  /** Copies page `index`'s stored content into dst (4096 bytes); false: not stored (zero). */
  load(index: number, dst: Uint8Array): boolean;
  /** Every stored page number, ascending. */
  stored(fn: (index: number) => void): void;
}

/** Makes the page source of a lazily restored machine (a board gets one in its configuration). */
export type PageSources = (lazy: LazyPages) => PageSource;

export class GuestRam implements GuestMemory {
  /** Host offset of the P2M table. */
  readonly p2m: number;
  readonly pages: number;

  private lazy: LazyPages | undefined;
  private source: PageSource | undefined;

  constructor(private readonly host: HostMemory, readonly base: number, readonly size: number, p2m?: number,
    lazy?: LazyPages, private readonly sources?: PageSources) {
    if (size % PAGE !== 0 || size <= 0) throw new RvisorError('USAGE', `memory size must be a positive multiple of 4 KiB, not ${size}`);
    this.pages = size / PAGE;
    this.p2m = p2m ?? host.allocContiguous(this.pages * 4);
    this.lazy = lazy;
  }

  /** The same RAM seen from another thread (or after a board was rebuilt from its state);
   *  `sources` opens the snapshot of a lazily restored machine when a page is first needed. */
  static attach(host: HostMemory, s: GuestRamState, sources?: PageSources): GuestRam {
    return new GuestRam(host, s.base, s.size, s.p2m, s.lazy, sources);
  }

  save(): GuestRamState {
    return { p2m: this.p2m, base: this.base, size: this.size, ...(this.lazy ? { lazy: this.lazy } : {}) };
  }

  private pageSource(): PageSource {
    if (!this.source) {
      if (!this.sources) throw new RvisorError('INTERNAL', `RAM restored lazily from ${this.lazy!.path} but no page source was given`);
      this.source = this.sources(this.lazy!);
    }
    return this.source;
  }

  /** Called with the host offset of a frame a page moved away from (copy-on-write): the harts of
   *  the VM must drop their translations that reach it. */
  onMoved: ((frame: number) => void) | undefined;

  /** Host offset of the frame backing guest page `index`, allocating it on first touch (and
   *  loading its content from the snapshot of a lazily restored machine); `write`: the caller will
   *  write it (a write-protected page is made writable first, copied if its frame is shared). */
  frame(index: number, write = false): number {
    const slot = this.p2m + index * 4;
    const v = this.host.view;
    const e = v.getUint32(slot, true);
    const f = e & P2M_FRAME_MASK;
    if (f !== 0) return write && (e & P2M_WP) !== 0 ? this.unprotect(slot, e) : f * PAGE;
    const frame = this.host.allocFrame();
    if (this.lazy) {
      try {
        this.pageSource().load(index, this.host.bytes.subarray(frame, frame + PAGE));
      } catch (e) {
        this.host.freeFrame(frame);
        throw e;
      }
    }
    // New content the dirty log has not seen (even zero: it may have sent the page as absent).
    this.host.view.setUint32(slot, (frame / PAGE) | P2M_DIRTY, true);
    return frame;
  }

  /** The first write to a write-protected page: copies a shared frame, clears P2M_WP. */
  private unprotect(slot: number, e: number): number {
    const old = (e & P2M_FRAME_MASK) * PAGE;
    let frame = old;
    if (this.host.sharers(old) > 0) {
      frame = this.host.allocFrame();
      this.host.bytes.copyWithin(frame, old, old + PAGE);
      this.host.releaseFrame(old);
    }
    this.host.view.setUint32(slot, ((e & ~(P2M_WP | P2M_FRAME_MASK)) | (frame / PAGE) | P2M_DIRTY) >>> 0, true);
    if (frame !== old) this.onMoved?.(old);
    return frame;
  }

  /** Loads every page of a lazily restored machine that is still in the snapshot (prefault; and
   *  before a save, which must hold them). Returns the number loaded. */
  loadAll(): number {
    if (!this.lazy) return 0;
    let n = 0;
    const v = this.host.view;
    this.pageSource().stored((p) => {
      if (p < this.pages && (v.getUint32(this.p2m + p * 4, true) & P2M_FRAME_MASK) === 0) {
        this.frame(p);
        n++;
      }
    });
    return n;
  }

  /** The core's RAM-miss hook: backs the page of guest-physical address pa (for a write). */
  ramMiss(pa: bigint, write = false): number {
    const off = Number(pa) - this.base;
    if (off < 0 || off >= this.size) return -1;
    return this.frame(Math.floor(off / PAGE), write);
  }

  /** Pages currently backed by host frames. */
  backedPages(): number {
    let n = 0;
    const v = this.host.view;
    for (let i = 0; i < this.pages; i++) if ((v.getUint32(this.p2m + i * 4, true) & P2M_FRAME_MASK) !== 0) n++;
    return n;
  }

  private inRange(gpa: number, len: number): boolean {
    return Number.isSafeInteger(gpa) && gpa >= this.base && len >= 0 && gpa + len <= this.base + this.size;
  }

  /** Calls fn for each frame-contiguous piece of [gpa, gpa+len): (host offset, piece offset, length). */
  private pieces(gpa: number, len: number, write: boolean, fn: (host: number, at: number, n: number) => void): void {
    let at = 0;
    while (at < len) {
      const off = gpa + at - this.base;
      const inPage = off % PAGE;
      const n = Math.min(len - at, PAGE - inPage);
      fn(this.frame(Math.floor(off / PAGE), write) + inPage, at, n);
      at += n;
    }
  }

  read(gpa: number, dst: Uint8Array): boolean {
    if (!this.inRange(gpa, dst.length)) return false;
    this.pieces(gpa, dst.length, false, (host, at, n) => dst.set(this.host.bytes.subarray(host, host + n), at));
    return true;
  }

  write(gpa: number, src: Uint8Array): boolean {
    if (!this.inRange(gpa, src.length)) return false;
    this.pieces(gpa, src.length, true, (host, at, n) => this.host.bytes.set(src.subarray(at, at + n), host));
    return true;
  }

  private scalar(gpa: number, size: number, write = false): number | undefined {
    if (!this.inRange(gpa, size)) return undefined;
    const off = gpa - this.base;
    if ((off % PAGE) + size > PAGE) return undefined; // callers use naturally aligned fields
    return this.frame(Math.floor(off / PAGE), write) + (off % PAGE);
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
    const a = this.scalar(gpa, 2, true);
    if (a === undefined) return false;
    this.host.view.setUint16(a, v, true);
    return true;
  }
  writeU32(gpa: number, v: number): boolean {
    const a = this.scalar(gpa, 4, true);
    if (a === undefined) return false;
    this.host.view.setUint32(a, v >>> 0, true);
    return true;
  }
  writeU64(gpa: number, v: bigint): boolean {
    const a = this.scalar(gpa, 8, true);
    if (a === undefined) return false;
    this.host.view.setBigUint64(a, BigInt.asUintN(64, v), true);
    return true;
  }

  /** Frees every backing frame and the P2M table itself (the VM is gone). */
  free(): void {
    this.release();
    for (let off = 0; off < this.pages * 4; off += PAGE) this.host.freeFrame(this.p2m + off);
  }

  /** Frees every backing frame (the VM is gone or rebooting with fresh memory); a frame another
   *  VM still shares stays with it. */
  release(): void {
    this.lazy = undefined; // fresh memory is demand-zero
    this.source = undefined;
    const v = this.host.view;
    for (let i = 0; i < this.pages; i++) {
      const f = v.getUint32(this.p2m + i * 4, true) & P2M_FRAME_MASK;
      if (f !== 0) {
        this.host.releaseFrame(f * PAGE);
        v.setUint32(this.p2m + i * 4, 0, true);
      }
    }
  }
}
