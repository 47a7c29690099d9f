// Whole-P2M operations of the control plane on a VM's RAM (ram.ts), for a VM that nothing runs
// meanwhile (held between slices): copy-on-write sharing with a clone, and the dirty log of a live
// migration. Both rely on P2M_WP (layout.ts): a write-protected page is written only after
// GuestRam.frame(index, true) looked at it — copying a shared frame, setting P2M_DIRTY.
import type { HostMemory } from '../memory/host-memory.js';
import { HART_TLB, P2M_BALLOONED, P2M_DIRTY, P2M_FRAME_MASK, P2M_WP, P2M_ZERO, TLB_ENTRIES, TLB_ENTRY_SIZE, TLB_TAG_W, TLB_TAG_X } from '../cpu/layout.js';
import { CTL_BALLOONED, CTL_PRESENT, CTL_ZERO, p2mTableBytes, ramCtl, type GuestRamState } from './ram.js';

const PAGE = 4096;

/** Drops every write permission from a hart's software TLB (after pages were write-protected: the
 *  next write to each goes through the P2M again). */
export function dropTlbWrites(host: HostMemory, hartBase: number): void {
  const v = host.view;
  for (let i = 0; i < TLB_ENTRIES; i++) {
    const e = hartBase + HART_TLB + i * TLB_ENTRY_SIZE + TLB_TAG_W;
    v.setInt32(e, -1, true);
    v.setInt32(e + 4, -1, true);
  }
}

/** Drops every translation from a hart's software TLB (after pages lost their frames, or an
 *  aging pass cleared P2M_ACCESSED: the next use of each page goes through the P2M again). */
export function dropTlbAll(host: HostMemory, hartBase: number): void {
  const v = host.view;
  for (let i = 0; i < TLB_ENTRIES; i++) {
    const e = hartBase + HART_TLB + i * TLB_ENTRY_SIZE;
    for (const t of [0, TLB_TAG_W, TLB_TAG_X]) {
      v.setInt32(e + t, -1, true);
      v.setInt32(e + t + 4, -1, true);
    }
  }
}

/** A new P2M in the same memory naming the same frames as `ram`'s, every page write-protected in
 *  both (the first write in either copies the frame: HostMemory share counts). The caller drops
 *  the write permissions from the TLBs of `ram`'s harts. Pages still in a lazily restored
 *  machine's snapshot must have been loaded first. */
export function shareRam(host: HostMemory, ram: GuestRamState): GuestRamState {
  const pages = ram.size / PAGE;
  const p2m = host.allocContiguous(p2mTableBytes(pages));
  const src = new Uint32Array(host.memory.buffer, ram.p2m, pages);
  const dst = new Uint32Array(host.memory.buffer, p2m, pages);
  for (let i = 0; i < pages; i++) {
    const e = src[i]!;
    const f = e & P2M_FRAME_MASK;
    if (f === 0) {
      if (e & (P2M_BALLOONED | P2M_ZERO)) dst[i] = e & (P2M_BALLOONED | P2M_ZERO); // the balloon's state is copied too
      continue;
    }
    host.shareFrame(f * PAGE);
    src[i] = (e | P2M_WP) >>> 0;
    dst[i] = (f | P2M_WP) >>> 0;
  }
  const from = ramCtl(host, ram.p2m, pages), to = ramCtl(host, p2m, pages);
  for (const k of [CTL_PRESENT, CTL_BALLOONED, CTL_ZERO]) Atomics.store(to, k, Atomics.load(from, k));
  return { p2m, base: ram.base, size: ram.size };
}

/** Starts a dirty log: write-protects every present page and clears its dirty mark; calls
 *  fn(page) for each present page (round 0 of a migration sends them all). */
export function protectAll(host: HostMemory, ram: GuestRamState, fn: (page: number) => void): void {
  const pages = ram.size / PAGE;
  const t = new Uint32Array(host.memory.buffer, ram.p2m, pages);
  for (let i = 0; i < pages; i++) {
    const e = t[i]!;
    if ((e & P2M_FRAME_MASK) === 0) continue;
    t[i] = ((e & ~P2M_DIRTY) | P2M_WP) >>> 0;
    fn(i);
  }
}

/** Collects the dirty log: every page written (or first touched) since it was last protected is
 *  write-protected again, its mark cleared, and passed to fn. Returns how many. */
export function collectDirty(host: HostMemory, ram: GuestRamState, fn: (page: number) => void): number {
  const pages = ram.size / PAGE;
  const t = new Uint32Array(host.memory.buffer, ram.p2m, pages);
  let n = 0;
  for (let i = 0; i < pages; i++) {
    const e = t[i]!;
    if ((e & P2M_DIRTY) === 0) continue;
    t[i] = ((e & ~P2M_DIRTY) | P2M_WP) >>> 0;
    fn(i);
    n++;
  }
  return n;
}

/** The host offset of the frame backing page `page` now (0: never touched: zero). */
export function frameOf(host: HostMemory, ram: GuestRamState, page: number): number {
  return (host.view.getUint32(ram.p2m + page * 4, true) & P2M_FRAME_MASK) * PAGE;
}

/** Pages backed by a frame now (never-touched pages excluded). */
export function presentPages(host: HostMemory, ram: GuestRamState): number {
  const t = new Uint32Array(host.memory.buffer, ram.p2m, ram.size / PAGE);
  let n = 0;
  for (let i = 0; i < t.length; i++) if ((t[i]! & P2M_FRAME_MASK) !== 0) n++;
  return n;
}
