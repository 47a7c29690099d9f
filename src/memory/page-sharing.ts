// Transparent page sharing (issue #9), as ESX's TPS and Linux's KSM do it: a scanner walks each
// VM's P2M a budget of pages at a time, gives all-zero pages their frame back (P2M_ZERO, demand-zero
// from then on) and merges pages of identical content into one write-protected frame that every
// writer copies first (GuestRam.frame(i, true): HostMemory share counts).
//
// How it stays safe while other VMs run (the caller holds only the VM being scanned):
// - Only the scanned VM's P2M entries are ever written. Another VM's pages are only read, and only
//   as a hint; every merge is confirmed by a byte compare against a frame whose content cannot
//   change.
// - The stable table (per sharing group: content hash -> frame) holds one reference of its own on
//   every frame it names (HostMemory.shareFrame when inserted). So a stable frame is never freed or
//   reused while the table names it, and any P2M entry naming it is P2M_WP with sharers > 0: a write
//   copies it first, its content never changes. A stable frame only the table still holds
//   (sharers === 0) is released by a sweep at the end of each pass of a group member.
// - The unstable table (per group: hash -> (VM, page)) remembers pages seen that have not been merged.
//   A page whose hash is found there is *promoted*: its own frame (in the VM being scanned) becomes a
//   stable frame; the other page merges into it when its own VM is scanned next (or right away if
//   it belongs to the VM being scanned).
// - As KSM does, a page is merged or promoted only if its hash equals the one it had at the
//   previous visit (per-VM array of last hashes): a page the guest keeps writing would be merged and
//   copied back forever.
//
// Memory: per VM one Uint32Array of last hashes (4 bytes per guest page); per group two open-
// addressing hash tables in typed arrays (no per-page objects, nothing allocated per page scanned).
import { P2M_ACCESSED, P2M_DIRTY, P2M_FRAME_MASK, P2M_WP } from '../cpu/layout.js';
import { GuestRam, type GuestRamState } from '../machine/ram.js';
import type { HostMemory } from './host-memory.js';

const PAGE = 4096;
const WORDS = PAGE / 4;
const FRAMES = P2M_FRAME_MASK + 1;

export interface SharingTarget {
  /** The VM's unique id. */
  key: string;
  /** Pages merge only among targets with the same group (a VM alone: group = its key). */
  group: string;
  /** Its RAM in this scanner's HostMemory. */
  ram: GuestRamState;
}

export interface ScanResult {
  /** Pages with a frame looked at. */
  scanned: number;
  /** All-zero pages whose frame went back to the host (now P2M_ZERO). */
  zeroDropped: number;
  /** Pages now pointing at a stable frame they did not point at before. */
  merged: number;
  /** Pages whose own frame became a stable frame (write-protected in place). */
  promoted: number;
}

/** Whether the caller must drop the TLB translations of the scanned VM's harts after scan():
 *  frames moved (zeroDropped, merged: dropTlbAll) or pages were write-protected in place
 *  (promoted: dropTlbWrites is enough, dropTlbAll covers it) — a write that hits a writable TLB
 *  entry never looks at the P2M, so a stale one would write into a stable frame. */
export function scanNeedsTlbFlush(r: ScanResult): boolean {
  return r.zeroDropped + r.merged + r.promoted > 0;
}

/** An open-addressing hash table in typed arrays: key = two 32-bit hash lanes, value = two int32,
 *  one 16-byte record per slot (a probe touches one cache line). Linear probing, tombstones on
 *  delete, rebuilt (one allocation) when half full. */
class HashTable {
  private cap = 0;
  private mask = 0;
  private state!: Uint8Array; // 0 empty, 1 used, 2 deleted
  private rec!: Int32Array; // [key a, key b, value x, value y] per slot
  size = 0;
  private tomb = 0;
  /** Slot of the last find() hit (for value reads and delete). */
  at = -1;

  constructor(cap = 1024) {
    this.alloc(cap);
  }

  private alloc(cap: number): void {
    this.cap = cap;
    this.mask = cap - 1;
    this.state = new Uint8Array(cap);
    this.rec = new Int32Array(cap * 4);
    this.size = 0;
    this.tomb = 0;
  }

  private static slot(a: number, b: number): number {
    return (Math.imul(a ^ (b >>> 7), 0x9e3779b1) ^ b) >>> 0;
  }

  /** Looks up (a, b); true: found, values at `at`. */
  find(a: number, b: number): boolean {
    let i = HashTable.slot(a, b) & this.mask;
    const st = this.state, rec = this.rec;
    for (;;) {
      const s = st[i]!;
      if (s === 0) return false;
      if (s === 1 && rec[i * 4] === a && rec[i * 4 + 1] === b) {
        this.at = i;
        return true;
      }
      i = (i + 1) & this.mask;
    }
  }

  valueA(i: number): number {
    return this.rec[i * 4 + 2]!;
  }

  valueB(i: number): number {
    return this.rec[i * 4 + 3]!;
  }

  /** Inserts or overwrites (a, b) -> (x, y). */
  set(a: number, b: number, x: number, y: number): void {
    if ((this.size + this.tomb + 1) * 2 > this.cap) this.rebuild();
    const st = this.state, rec = this.rec;
    let i = HashTable.slot(a, b) & this.mask;
    let free = -1;
    for (;;) {
      const s = st[i]!;
      if (s === 0) break;
      if (s === 2) {
        if (free < 0) free = i;
      } else if (rec[i * 4] === a && rec[i * 4 + 1] === b) {
        rec[i * 4 + 2] = x;
        rec[i * 4 + 3] = y;
        return;
      }
      i = (i + 1) & this.mask;
    }
    if (free >= 0) {
      i = free;
      this.tomb--;
    }
    st[i] = 1;
    rec[i * 4] = a;
    rec[i * 4 + 1] = b;
    rec[i * 4 + 2] = x;
    rec[i * 4 + 3] = y;
    this.size++;
  }

  /** Deletes the entry in slot i (from find() or forEach). */
  deleteAt(i: number): void {
    if (this.state[i] !== 1) return;
    this.state[i] = 2;
    this.size--;
    this.tomb++;
  }

  /** Calls fn(slot, valueA, valueB) for each entry (fn may deleteAt(slot)). */
  forEach(fn: (i: number, x: number, y: number) => void): void {
    const st = this.state, rec = this.rec;
    for (let i = 0; i < this.cap; i++) if (st[i] === 1) fn(i, rec[i * 4 + 2]!, rec[i * 4 + 3]!);
  }

  /** Empties the table; keeps its room for the next pass unless far bigger than this one needed. */
  clear(): void {
    if (this.cap > 1024 && this.cap > 8 * this.size) this.alloc(Math.max(1024, this.cap >>> 2));
    else {
      this.state.fill(0);
      this.size = 0;
      this.tomb = 0;
    }
  }

  private rebuild(): void {
    const { state, rec, cap } = this;
    let want = 1024;
    while (want < (this.size + 1) * 4) want *= 2;
    this.alloc(want);
    for (let i = 0; i < cap; i++) if (state[i] === 1) this.set(rec[i * 4]!, rec[i * 4 + 1]!, rec[i * 4 + 2]!, rec[i * 4 + 3]!);
  }
}

interface Vm {
  id: number;
  key: string;
  group: Group;
  ram: GuestRamState;
  guest: GuestRam;
  pages: number;
  /** Hash lane a of each page at its last visit (0: not seen; a hash of 0 is stored as 1). */
  last: Int32Array;
  cursor: number;
}

interface Group {
  id: number;
  name: string;
  members: Map<number, Vm>;
  /** hash -> (stable frame number, unused). */
  stable: HashTable;
  /** hash -> (VM id, page). */
  unstable: HashTable;
  /** Page entries visited by scans of members since the unstable table was last cleared. */
  visited: number;
}

export class PageSharing {
  private readonly vms = new Map<string, Vm>();
  private readonly vmById = new Map<number, Vm>();
  private readonly groups = new Map<string, Group>();
  private nextId = 1;
  /** Group id of the stable table naming each frame (0: none); made on first promotion. */
  private stableOf: Int32Array | undefined;
  private stableCount = 0;
  // Hash of the last page hashed (two lanes), set by hashPage.
  private ha = 0;
  private hb = 0;

  constructor(private readonly host: HostMemory) {}

  /** Frame number `f` is held by one of this scanner's stable tables (it holds one reference). */
  isStable(f: number): boolean {
    return this.stableOf !== undefined && f > 0 && f < FRAMES && this.stableOf[f] !== 0;
  }

  /** The caller guarantees nothing runs the VM during the call (it is held between slices) and,
   *  when scanNeedsTlbFlush(result) (zeroDropped + merged + promoted > 0), drops all TLB
   *  translations of the VM's harts afterwards (p2m.ts dropTlbAll). Scans up to `budget` pages with
   *  a frame from the VM's cursor (wrapping; at most one pass over the table per call), skipping
   *  pages without a frame. */
  scan(t: SharingTarget, budget: number): ScanResult {
    const r: ScanResult = { scanned: 0, zeroDropped: 0, merged: 0, promoted: 0 };
    if (!(budget >= 1)) return r; // 0, negative, NaN
    const vm = this.target(t);
    if (vm.pages === 0) return r;
    const g = vm.group;
    const host = this.host;
    let u32 = new Uint32Array(host.memory.buffer);
    let words = u32.length;
    const base = vm.ram.p2m >>> 2;
    const last = vm.last;
    let i = vm.cursor;
    let steps = 0;
    for (; steps < vm.pages && r.scanned < budget; steps++) {
      const page = i;
      i = i + 1 === vm.pages ? 0 : i + 1;
      if (i === 0) this.sweep(g); // a pass of this member ends (sweeping before its last page is as good)
      const e = u32[base + page]!;
      const f = e & P2M_FRAME_MASK;
      if (f === 0) continue;
      r.scanned++;
      const w = f * WORDS;
      if (w + WORDS > words) { // another thread grew the memory: a fresh view
        u32 = new Uint32Array(host.memory.buffer);
        words = u32.length;
      }
      // Already on this group's stable frame: its content cannot have changed.
      if ((e & P2M_WP) !== 0 && this.stableOf !== undefined && this.stableOf[f] === g.id) continue;
      if (isZero(u32, w)) {
        vm.guest.discard(page, false);
        last[page] = 0;
        r.zeroDropped++;
        continue;
      }
      this.hashPage(u32, w);
      const a = this.ha, b = this.hb;
      const seen = last[page] === a;
      last[page] = a;
      if (!seen) continue; // new or changed since the last visit: not yet
      // 1. The stable table.
      if (g.stable.find(a, b)) {
        const sf = g.stable.valueA(g.stable.at);
        if (sf !== f && sameWords(u32, sf * WORDS, w)) {
          this.mergeInto(u32, base + page, e, sf);
          r.merged++;
        }
        continue; // equal, or a hash collision: leave it
      }
      // 2. The unstable table.
      if (g.unstable.find(a, b)) {
        const slot = g.unstable.at;
        const other = this.vmById.get(g.unstable.valueA(slot));
        const q = g.unstable.valueB(slot);
        if (other !== undefined && other.group === g && !(other === vm && q === page) && q < other.pages && other.last[q] === a) {
          // A hint only when `other` runs meanwhile: confirmed again when that page merges.
          const oe = u32[(other.ram.p2m >>> 2) + q]!;
          const of = oe & P2M_FRAME_MASK;
          // (A frame another group's table already holds, after a VM changed groups, stays theirs.)
          const free = this.stableOf === undefined || this.stableOf[f] === 0;
          if (free && of !== 0 && (of + 1) * WORDS <= words && (of === f || sameWords(u32, of * WORDS, w))) {
            g.unstable.deleteAt(slot);
            this.promote(u32, base + page, e, g, a, b);
            r.promoted++;
            // Within the VM being scanned, merge the other page now (held still: the compare holds).
            if (other === vm && of !== f) {
              this.mergeInto(u32, base + q, oe, f);
              r.merged++;
            }
            continue;
          }
        }
      }
      g.unstable.set(a, b, vm.id, page);
    }
    vm.cursor = i;
    g.visited += steps;
    // The unstable table is cleared once the group's scans have covered twice as many page entries
    // as the group has: long enough for every member to make a full pass and meet the entries of
    // the others (KSM clears it after every full scan of all its VMs, which it does in turn),
    // short enough that entries of pages that changed or went away do not pile up. An entry is
    // also checked against its page's last hash before it is used.
    let total = 0;
    for (const m of g.members.values()) total += m.pages;
    if (g.visited >= 2 * total) {
      g.unstable.clear();
      g.visited = 0;
    }
    return r;
  }

  /** The VM is gone (or left the group): drops its cursor and candidates. A group left without
   *  members gives back its stable frames (pages still naming them keep them). */
  forget(key: string): void {
    const vm = this.vms.get(key);
    if (!vm) return;
    this.vms.delete(key);
    this.vmById.delete(vm.id);
    const g = vm.group;
    g.members.delete(vm.id);
    if (g.members.size === 0) {
      this.dropGroup(g);
      return;
    }
    const u = g.unstable;
    u.forEach((slot, id) => {
      if (id === vm.id) u.deleteAt(slot);
    });
    this.sweep(g);
  }

  /** The host stops: releases every reference the scanner holds. */
  dispose(): void {
    for (const g of [...this.groups.values()]) this.dropGroup(g);
    this.vms.clear();
    this.vmById.clear();
  }

  stats(): { stableFrames: number; stablePages: number } {
    let stablePages = 0;
    for (const g of this.groups.values()) {
      g.stable.forEach((_slot, f) => {
        stablePages += this.host.sharers(f * PAGE); // entries beyond the table's own reference
      });
    }
    return { stableFrames: this.stableCount, stablePages };
  }

  /** The VM's record, made on first scan (or remade when its group or RAM changed). */
  private target(t: SharingTarget): Vm {
    let vm = this.vms.get(t.key);
    if (vm && (vm.group.name !== t.group || vm.ram.p2m !== t.ram.p2m || vm.ram.size !== t.ram.size)) {
      this.forget(t.key);
      vm = undefined;
    }
    if (vm) return vm;
    let g = this.groups.get(t.group);
    if (!g) {
      g = { id: this.nextId++, name: t.group, members: new Map(), stable: new HashTable(), unstable: new HashTable(), visited: 0 };
      this.groups.set(t.group, g);
    }
    const guest = GuestRam.attach(this.host, t.ram);
    guest.onMoved = undefined; // the caller flushes the TLBs once after the scan
    guest.onFlush = undefined;
    const pages = t.ram.size / PAGE;
    vm = { id: this.nextId++, key: t.key, group: g, ram: { ...t.ram }, guest, pages, last: new Int32Array(pages), cursor: 0 };
    g.members.set(vm.id, vm);
    this.vms.set(t.key, vm);
    this.vmById.set(vm.id, vm);
    return vm;
  }

  /** Stable frames only the table still holds go back to the host. */
  private sweep(g: Group): void {
    const s = g.stable;
    s.forEach((slot, f) => {
      if (this.host.sharers(f * PAGE) === 0) {
        s.deleteAt(slot);
        this.stableOf![f] = 0;
        this.stableCount--;
        this.host.releaseFrame(f * PAGE); // the last reference: freed
      }
    });
  }

  private dropGroup(g: Group): void {
    g.stable.forEach((_slot, f) => {
      this.stableOf![f] = 0;
      this.stableCount--;
      this.host.releaseFrame(f * PAGE);
    });
    for (const m of g.members.values()) {
      this.vms.delete(m.key);
      this.vmById.delete(m.id);
    }
    g.members.clear();
    this.groups.delete(g.name);
  }

  /** Points the entry at index `at` of the u32 view (value `e`) at stable frame `sf`. */
  private mergeInto(u32: Uint32Array, at: number, e: number, sf: number): void {
    this.host.shareFrame(sf * PAGE);
    u32[at] = (sf | P2M_WP | (e & (P2M_DIRTY | P2M_ACCESSED))) >>> 0;
    this.host.releaseFrame((e & P2M_FRAME_MASK) * PAGE);
  }

  /** The page's own frame becomes a stable frame of group g (the table takes a reference). */
  private promote(u32: Uint32Array, at: number, e: number, g: Group, a: number, b: number): void {
    const f = e & P2M_FRAME_MASK;
    this.stableOf ??= new Int32Array(FRAMES);
    this.host.shareFrame(f * PAGE);
    u32[at] = (e | P2M_WP) >>> 0;
    g.stable.set(a, b, f, 0);
    this.stableOf[f] = g.id;
    this.stableCount++;
  }

  /** Two independent 32-bit lanes over the page's 1024 words (into ha, hb). Each lane runs as two
   *  chains (even and odd words) so the multiplies overlap; the chains are joined at the end. */
  private hashPage(u32: Uint32Array, w: number): void {
    let a0 = 0x2545f491, a1 = 0x3c6ef372, b0 = 0x6b43a9b5, b1 = 0x1b873593;
    for (let k = w, end = w + WORDS; k < end; k += 2) {
      const x = u32[k]!, y = u32[k + 1]!;
      a0 = Math.imul(a0 ^ x, 0x9e3779b1);
      a1 = Math.imul(a1 ^ y, 0x9e3779b1);
      b0 = Math.imul(b0 + x, 0x85ebca77);
      b1 = Math.imul(b1 + y, 0x85ebca77);
      a0 = (a0 << 13) | (a0 >>> 19);
      a1 = (a1 << 13) | (a1 >>> 19);
      b0 ^= b0 >>> 15;
      b1 ^= b1 >>> 15;
    }
    const a = fmix(a0 ^ Math.imul(fmix(a1), 0xcc9e2d51)) | 0;
    const b = fmix(b0 ^ Math.imul(fmix(b1), 0x1b873593)) | 0;
    this.ha = a === 0 ? 1 : a; // 0 in `last` means "not seen"
    this.hb = b;
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function isZero(u32: Uint32Array, w: number): boolean {
  for (let k = w, end = w + WORDS; k < end; k++) if (u32[k] !== 0) return false;
  return true;
}

function sameWords(u32: Uint32Array, x: number, y: number): boolean {
  for (let k = 0; k < WORDS; k++) if (u32[x + k] !== u32[y + k]) return false;
  return true;
}

/** Pages of a VM whose frame another P2M entry also names (shared by page sharing or a clone);
 *  with `sharing`, the reference a stable table holds on its frames is not counted as an entry. */
export function sharedPages(host: HostMemory, ram: GuestRamState, sharing?: PageSharing): number {
  const t = new Uint32Array(host.memory.buffer, ram.p2m, ram.size / PAGE);
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const f = t[i]! & P2M_FRAME_MASK;
    if (f === 0) continue;
    let others = host.sharers(f * PAGE);
    if (others > 0 && sharing?.isStable(f)) others--;
    if (others > 0) n++;
  }
  return n;
}
