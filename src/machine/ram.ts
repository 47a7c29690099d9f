// A VM's guest-physical RAM: a P2M table (one u32 per 4 KiB guest page: the backing frame's number
// and flags, layout.ts P2M_*, or 0 while the page has never been touched) in the shared host
// memory, which the wasm core reads directly, and frames allocated on first touch. Also the checked
// DMA view devices use (GuestMemory): an access outside RAM fails and touches nothing.
//
// A page marked P2M_WP is written only after the host looked at it (frame(index, true)): a frame
// other P2M entries share (a clone's, HostMemory share counts) is copied first, then the mark is
// cleared and P2M_DIRTY set, which the dirty log of a live migration (p2m.ts) collects.
//
// Memory overcommit (issue #9) works on the same table. After it, a control block (RamCtl, Int32
// slots) counts the pages backed by frames, swapped, ballooned and known zero, and holds the VM's
// page limit and swap file: a page without a frame says why (P2M_SWAPPED: in the swap file at
// index × 4096, read back on the next touch; P2M_BALLOONED / P2M_ZERO: demand-zero). Reclaim
// (reclaim()) writes pages the guest has not used lately (P2M_ACCESSED clear: a clock hand) to the
// swap file; it runs only between runs of the core (never inside an instruction, whose host
// addresses must stay valid), from the board after each run of a hart or from the control plane
// while the VM is held.
import type { HostMemory } from '../memory/host-memory.js';
import type { GuestMemory } from '../devices/device.js';
import { P2M_ACCESSED, P2M_BALLOONED, P2M_DIRTY, P2M_FRAME_MASK, P2M_SWAPPED, P2M_WP, P2M_ZERO } from '../cpu/layout.js';
import { RvisorError } from '../errors.js';

const PAGE = 4096;

/** The control block's Int32 slots (RamCtl). */
export const CTL_PRESENT = 0; // pages backed by a frame (their own or shared)
export const CTL_LIMIT = 1; // most pages the VM may hold now (0: no limit); reclaim swaps the rest
export const CTL_SWAPPED = 2; // pages in the swap file
export const CTL_BALLOONED = 3; // pages the balloon driver holds
export const CTL_ZERO = 4; // pages known zero without a frame (scanner, free page reporting, deflate)
export const CTL_HAND = 5; // the reclaim clock hand (page index)
export const CTL_SWAP_FD = 6; // the swap file's descriptor + 1 (0: no swap file)
export const CTL_SWAP_INS = 7; // pages read back from the swap file, ever
export const CTL_SWAP_OUTS = 8; // pages written to it, ever
const CTL_SLOTS = 16;
const CTL_BYTES = CTL_SLOTS * 4;

/** Bytes of a VM's P2M table with its control block. */
export function p2mTableBytes(pages: number): number {
  return pages * 4 + CTL_BYTES;
}

/** A VM's memory counters (the control block), read from any thread. */
export interface RamCounters {
  present: number;
  limit: number;
  swapped: number;
  ballooned: number;
  zero: number;
  swapIns: number;
  swapOuts: number;
}

/** The control block of the RAM whose P2M is at `p2m` (`pages` pages). */
export function ramCtl(host: HostMemory, p2m: number, pages: number): Int32Array {
  return new Int32Array(host.memory.buffer, p2m + pages * 4, CTL_SLOTS);
}

export function ramCounters(host: HostMemory, s: { p2m: number; size: number }): RamCounters {
  const c = ramCtl(host, s.p2m, s.size / PAGE);
  const get = (i: number) => Atomics.load(c, i);
  return {
    present: get(CTL_PRESENT), limit: get(CTL_LIMIT), swapped: get(CTL_SWAPPED), ballooned: get(CTL_BALLOONED),
    zero: get(CTL_ZERO), swapIns: get(CTL_SWAP_INS), swapOuts: get(CTL_SWAP_OUTS),
  };
}

/** Reads and writes pages of a VM's swap file (the platform's files: src/vmm/swap-file.ts). Both
 *  throw on failure. */
export interface SwapIo {
  write(fd: number, index: number, src: Uint8Array): void;
  read(fd: number, index: number, dst: Uint8Array): void;
}

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
  private readonly ctl: Int32Array;

  /** The platform's swap file access (set once per thread by src/vmm/swap-file.ts). */
  static swapIo: SwapIo | undefined;

  constructor(private readonly host: HostMemory, readonly base: number, readonly size: number, p2m?: number,
    lazy?: LazyPages, private readonly sources?: PageSources) {
    if (size % PAGE !== 0 || size <= 0) throw new RvisorError('USAGE', `memory size must be a positive multiple of 4 KiB, not ${size}`);
    this.pages = size / PAGE;
    this.p2m = p2m ?? host.allocContiguous(p2mTableBytes(this.pages));
    this.lazy = lazy;
    this.ctl = ramCtl(host, this.p2m, this.pages);
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

  /** Called (instead of onMoved for each) after many pages lost their frames at once: the harts
   *  of the VM must drop all their translations. */
  onFlush: (() => void) | undefined;

  /** Host offset of the frame backing guest page `index`, allocating it on first touch (loading
   *  its content from the swap file, or from the snapshot of a lazily restored machine); `write`:
   *  the caller will write it (a write-protected page is made writable first, copied if its frame
   *  is shared). Never frees another page's frame (it runs inside instructions). */
  frame(index: number, write = false): number {
    const slot = this.p2m + index * 4;
    const v = this.host.view;
    const e = v.getUint32(slot, true);
    const f = e & P2M_FRAME_MASK;
    if (f !== 0) {
      if (write && (e & P2M_WP) !== 0) return this.unprotect(slot, e);
      if ((e & P2M_ACCESSED) === 0) v.setUint32(slot, (e | P2M_ACCESSED) >>> 0, true);
      return f * PAGE;
    }
    const frame = this.host.allocFrame();
    try {
      if (e & P2M_SWAPPED) this.swapIn(index, frame);
      else if (e === 0 && this.lazy) this.pageSource().load(index, this.host.bytes.subarray(frame, frame + PAGE));
    } catch (err) {
      this.host.freeFrame(frame);
      throw err;
    }
    const c = this.ctl;
    if (e & P2M_BALLOONED) Atomics.sub(c, CTL_BALLOONED, 1);
    if (e & P2M_ZERO) Atomics.sub(c, CTL_ZERO, 1);
    Atomics.add(c, CTL_PRESENT, 1);
    // New content the dirty log has not seen (even zero: it may have sent the page as absent).
    this.host.view.setUint32(slot, ((frame / PAGE) | P2M_DIRTY | P2M_ACCESSED) >>> 0, true);
    return frame;
  }

  private swapFd(): number {
    return Atomics.load(this.ctl, CTL_SWAP_FD) - 1;
  }

  private swapIn(index: number, frame: number): void {
    const fd = this.swapFd();
    if (fd < 0 || !GuestRam.swapIo) throw new RvisorError('SWAP_FAILED', `guest page ${index} is in a swap file that is not open`);
    try {
      GuestRam.swapIo.read(fd, index, this.host.bytes.subarray(frame, frame + PAGE));
    } catch (err) {
      throw new RvisorError('SWAP_FAILED', `reading guest page ${index} back from the swap file failed: ${(err as Error).message}`);
    }
    Atomics.sub(this.ctl, CTL_SWAPPED, 1);
    Atomics.add(this.ctl, CTL_SWAP_INS, 1);
  }

  /** Frames freed by discard() whose translations are not dropped yet (-1 in [0]: too many, drop
   *  everything). */
  private readonly freedFrames: number[] = [];

  /** Drops the translations that reach frames discard() freed (the caller runs this after a batch
   *  of discards and before the guest runs again: one full flush past 8 frames, instead of a
   *  TLB scan per page). */
  flushDiscards(): void {
    const f = this.freedFrames;
    if (!f.length) return;
    if (f[0] === -1) this.onFlush?.();
    else for (const frame of f) this.onMoved?.(frame);
    f.length = 0;
  }

  /** The page's frame (if any) goes back to the host: the balloon took it (`ballooned`), or its
   *  content is known to be zero (free page reporting, a zero page the scanner found). The next
   *  touch gets a zero page. The caller calls flushDiscards() before the guest runs again. The
   *  page is marked dirty: a live migration that sent its old content sends it again (as zero). */
  discard(index: number, ballooned: boolean): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pages) return;
    const slot = this.p2m + index * 4;
    const v = this.host.view;
    const e = v.getUint32(slot, true);
    const f = e & P2M_FRAME_MASK;
    const c = this.ctl;
    if (f !== 0) {
      const freed = this.freedFrames;
      if (freed[0] !== -1) {
        if (freed.length < 8) freed.push(f * PAGE);
        else freed.splice(0, freed.length, -1);
      }
      this.host.releaseFrame(f * PAGE);
      Atomics.sub(c, CTL_PRESENT, 1);
    } else {
      if (e & P2M_SWAPPED) Atomics.sub(c, CTL_SWAPPED, 1);
      if (e & P2M_BALLOONED) Atomics.sub(c, CTL_BALLOONED, 1);
      if (e & P2M_ZERO) Atomics.sub(c, CTL_ZERO, 1);
    }
    Atomics.add(c, ballooned ? CTL_BALLOONED : CTL_ZERO, 1);
    v.setUint32(slot, (P2M_DIRTY | (ballooned ? P2M_BALLOONED : P2M_ZERO)) >>> 0, true);
  }

  /** The balloon gives the page back to the guest (deflate): demand-zero from now on. */
  undiscard(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pages) return;
    const slot = this.p2m + index * 4;
    const e = this.host.view.getUint32(slot, true);
    if ((e & P2M_FRAME_MASK) !== 0 || (e & P2M_BALLOONED) === 0) return;
    Atomics.sub(this.ctl, CTL_BALLOONED, 1);
    Atomics.add(this.ctl, CTL_ZERO, 1);
    this.host.view.setUint32(slot, ((e & ~P2M_BALLOONED) | P2M_ZERO) >>> 0, true);
  }

  /** The VM's memory counters. */
  counters(): RamCounters {
    return ramCounters(this.host, this);
  }

  /** Sets the most pages the VM may hold (0: no limit) and the swap file's descriptor (-1: none). */
  setLimit(pages: number): void {
    Atomics.store(this.ctl, CTL_LIMIT, Math.max(0, Math.floor(pages)));
  }

  setSwapFd(fd: number): void {
    Atomics.store(this.ctl, CTL_SWAP_FD, fd + 1);
  }

  /** Holds more pages than its limit (and has a swap file to put them in). */
  overLimit(): boolean {
    const limit = Atomics.load(this.ctl, CTL_LIMIT);
    return limit > 0 && Atomics.load(this.ctl, CTL_PRESENT) > limit && this.swapFd() >= 0;
  }

  /** Reclaim down to the limit (the board calls it after each run of a hart). */
  settle(): void {
    if (this.overLimit()) this.reclaim(Atomics.load(this.ctl, CTL_LIMIT));
  }

  /** Writes pages to the swap file until at most `target` pages are backed: a clock hand passes
   *  over the table, clearing P2M_ACCESSED and taking pages that had it clear (not used since the
   *  hand, or an aging pass, last looked), pages with an exclusively held frame first. Only
   *  between runs of the core. Returns the pages swapped; throws SWAP_FAILED when the file cannot
   *  be written (pages already written stay consistent). */
  reclaim(target: number): number {
    const c = this.ctl;
    let need = Atomics.load(c, CTL_PRESENT) - target;
    const fd = this.swapFd();
    const io = GuestRam.swapIo;
    if (need <= 0 || fd < 0 || !io) return 0;
    const v = this.host.view;
    let hand = Atomics.load(c, CTL_HAND) % this.pages;
    const victims: number[] = [];
    let cleared = 0;
    // Pass 1 and 2 over the table (the first may only clear bits) skip shared frames (swapping one
    // out frees nothing); the third takes whatever is left.
    for (let step = 0; need > 0 && step < 3 * this.pages; step++) {
      const i = hand;
      hand = hand + 1 === this.pages ? 0 : hand + 1;
      const slot = this.p2m + i * 4;
      const e = v.getUint32(slot, true);
      const f = e & P2M_FRAME_MASK;
      if (f === 0) continue;
      if (e & P2M_ACCESSED) {
        v.setUint32(slot, (e & ~P2M_ACCESSED) >>> 0, true);
        cleared++;
        continue;
      }
      if (step < 2 * this.pages && this.host.sharers(f * PAGE) > 0) continue;
      victims.push(i);
      v.setUint32(slot, (e | P2M_ACCESSED) >>> 0, true); // taken: not again in this call
      need--;
    }
    Atomics.store(c, CTL_HAND, hand);
    let done = 0;
    try {
      for (const i of victims) {
        const slot = this.p2m + i * 4;
        const e = v.getUint32(slot, true);
        const f = (e & P2M_FRAME_MASK) * PAGE;
        try {
          io.write(fd, i, this.host.bytes.subarray(f, f + PAGE));
        } catch (err) {
          throw new RvisorError('SWAP_FAILED', `writing guest page ${i} to the swap file failed: ${(err as Error).message}`);
        }
        if (victims.length <= 8 && cleared === 0) this.onMoved?.(f);
        this.host.releaseFrame(f);
        v.setUint32(slot, ((e & P2M_DIRTY) | P2M_SWAPPED) >>> 0, true);
        Atomics.sub(c, CTL_PRESENT, 1);
        Atomics.add(c, CTL_SWAPPED, 1);
        Atomics.add(c, CTL_SWAP_OUTS, 1);
        done++;
      }
    } finally {
      // Pages whose accessed bit the hand cleared set it again only through a TLB miss: drop all
      // translations, or the pages in use through the TLB would look cold next time.
      if (victims.length > 8 || cleared > 0) this.onFlush?.();
    }
    return done;
  }

  /** An aging pass (VM held): counts the pages used since the last pass and clears their
   *  P2M_ACCESSED (the caller then drops every translation of the VM's harts, so the next use of
   *  each page sets it again). Returns [pages used, pages backed]. */
  age(): [number, number] {
    const t = new Uint32Array(this.host.memory.buffer, this.p2m, this.pages);
    let used = 0, backed = 0;
    for (let i = 0; i < t.length; i++) {
      const e = t[i]!;
      if ((e & P2M_FRAME_MASK) === 0) continue;
      backed++;
      if (e & P2M_ACCESSED) {
        used++;
        t[i] = (e & ~P2M_ACCESSED) >>> 0;
      }
    }
    return [used, backed];
  }

  /** Reads every swapped page back (before a save, clone or migration, which read frames). */
  swapInAll(): number {
    if (Atomics.load(this.ctl, CTL_SWAPPED) === 0) return 0;
    const v = this.host.view;
    let n = 0;
    for (let i = 0; i < this.pages; i++) {
      if (v.getUint32(this.p2m + i * 4, true) & P2M_SWAPPED) {
        this.frame(i);
        n++;
      }
    }
    return n;
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
      if (p < this.pages && v.getUint32(this.p2m + p * 4, true) === 0) {
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
    for (let off = 0; off < p2mTableBytes(this.pages); off += PAGE) this.host.freeFrame(this.p2m + off);
  }

  /** Frees every backing frame (the VM is gone or rebooting with fresh memory); a frame another
   *  VM still shares stays with it. */
  release(): void {
    this.lazy = undefined; // fresh memory is demand-zero
    this.source = undefined;
    const v = this.host.view;
    for (let i = 0; i < this.pages; i++) {
      const e = v.getUint32(this.p2m + i * 4, true);
      if (e === 0) continue;
      const f = e & P2M_FRAME_MASK;
      if (f !== 0) this.host.releaseFrame(f * PAGE);
      v.setUint32(this.p2m + i * 4, 0, true);
    }
    for (const k of [CTL_PRESENT, CTL_SWAPPED, CTL_BALLOONED, CTL_ZERO, CTL_HAND]) Atomics.store(this.ctl, k, 0);
  }
}
