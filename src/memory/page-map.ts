// A sparse map from page number to a host frame plus per-page state bits. The process VM uses it
// for guest virtual pages (one per process); the system VM will use the same structure as its
// P2M (guest physical page → frame). Design rule 2: a guest can only ever reach frames its page
// map names, so this file is small and has no policy — callers decide what the bits mean.
//
// An entry is one unsigned 32-bit number: the frame's byte offset in HostMemory (a multiple of
// 4096, below 4 GiB) in the high 20 bits and state flags in the low 12 bits. 0 means "no entry".
// Pages are grouped in leaves of 512 entries (one Uint32Array each), found through a Map keyed
// by page number >> 9, so a sparse 2^38-byte address space costs memory only where it is used.

export const PM_PRESENT = 1 << 0; // the entry names a frame
export const PM_READ = 1 << 1;
export const PM_WRITE = 1 << 2;
export const PM_EXEC = 1 << 3;
/** The frame may be shared with another entry: a write must copy it first (copy-on-write). */
export const PM_COW = 1 << 4;
/** Written since the bit was last cleared (dirty tracking for migration). */
export const PM_DIRTY = 1 << 5;
/** Read or written since the bit was last cleared. */
export const PM_ACCESSED = 1 << 6;
/** The page's contents are elsewhere (the high bits then hold a swap slot, not a frame). */
export const PM_SWAPPED = 1 << 7;
/** The page was handed back to the host by a balloon driver. */
export const PM_BALLOONED = 1 << 8;

export const PM_FLAGS_MASK = 0xfff;
const LEAF_BITS = 9;
const LEAF_SIZE = 1 << LEAF_BITS;
const LEAF_MASK = LEAF_SIZE - 1;

/** The frame offset (or swap slot) an entry holds. */
export function entryFrame(entry: number): number {
  return (entry & ~PM_FLAGS_MASK) >>> 0;
}

/** Builds an entry from a 4 KiB-aligned frame offset and flag bits. */
export function makeEntry(frame: number, flags: number): number {
  if (frame % 4096 !== 0 || frame < 0 || frame >= 2 ** 32) throw new RangeError(`bad frame offset ${frame}`);
  return (frame | (flags & PM_FLAGS_MASK)) >>> 0;
}

/** Serialized form: [page number, entry] pairs in ascending page order. */
export interface PageMapState {
  entries: Array<[number, number]>;
}

interface Leaf {
  slots: Uint32Array;
  used: number;
}

export class PageMap {
  private readonly leaves = new Map<number, Leaf>();
  private count = 0;

  /** Number of pages with an entry. */
  get size(): number {
    return this.count;
  }

  /** The entry for page `pn`, or 0. */
  get(pn: number): number {
    const leaf = this.leaves.get(Math.floor(pn / LEAF_SIZE));
    return leaf ? leaf.slots[pn & LEAF_MASK]! : 0;
  }

  /** Sets the entry for page `pn` (0 deletes it). */
  set(pn: number, entry: number): void {
    if (!Number.isSafeInteger(pn) || pn < 0) throw new RangeError(`bad page number ${pn}`);
    if (entry === 0) {
      this.delete(pn);
      return;
    }
    const key = Math.floor(pn / LEAF_SIZE);
    let leaf = this.leaves.get(key);
    if (!leaf) {
      leaf = { slots: new Uint32Array(LEAF_SIZE), used: 0 };
      this.leaves.set(key, leaf);
    }
    const i = pn & LEAF_MASK;
    if (leaf.slots[i] === 0) {
      leaf.used++;
      this.count++;
    }
    leaf.slots[i] = entry >>> 0;
  }

  /** Removes the entry for page `pn`; returns the old entry (0 if there was none). */
  delete(pn: number): number {
    const key = Math.floor(pn / LEAF_SIZE);
    const leaf = this.leaves.get(key);
    if (!leaf) return 0;
    const i = pn & LEAF_MASK;
    const old = leaf.slots[i]!;
    if (old !== 0) {
      leaf.slots[i] = 0;
      leaf.used--;
      this.count--;
      if (leaf.used === 0) this.leaves.delete(key);
    }
    return old;
  }

  /** Calls fn(pn, entry) for every entry with lo <= pn < hi, in ascending order. fn may set or
   *  delete the entry it is given (but no other). */
  forEachInRange(lo: number, hi: number, fn: (pn: number, entry: number) => void): void {
    if (hi <= lo) return;
    const firstLeaf = Math.floor(lo / LEAF_SIZE);
    const lastLeaf = Math.floor((hi - 1) / LEAF_SIZE);
    // Few leaves are populated: walk the map's keys when the range spans many leaves.
    let keys: number[];
    if (lastLeaf - firstLeaf + 1 > this.leaves.size) {
      keys = [...this.leaves.keys()].filter((k) => k >= firstLeaf && k <= lastLeaf).sort((a, b) => a - b);
    } else {
      keys = [];
      for (let k = firstLeaf; k <= lastLeaf; k++) if (this.leaves.has(k)) keys.push(k);
    }
    for (const k of keys) {
      const leaf = this.leaves.get(k);
      if (!leaf) continue;
      const base = k * LEAF_SIZE;
      const from = Math.max(lo, base) - base;
      const to = Math.min(hi, base + LEAF_SIZE) - base;
      for (let i = from; i < to; i++) {
        const e = leaf.slots[i]!;
        if (e !== 0) fn(base + i, e);
      }
    }
  }

  /** Every entry, in ascending page order. */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.forEachInRange(0, Number.MAX_SAFE_INTEGER, (pn, e) => out.push([pn, e]));
    return out;
  }

  clear(): void {
    this.leaves.clear();
    this.count = 0;
  }

  save(): PageMapState {
    return { entries: this.entries() };
  }

  restore(s: PageMapState): void {
    this.clear();
    for (const [pn, e] of s.entries) this.set(pn, e);
  }
}
