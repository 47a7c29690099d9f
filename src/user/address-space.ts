// The virtual address space of one guest process: a sorted list of VMAs (what the program
// mapped, with its protection) and a page map (which pages have a frame yet). Pages get frames
// lazily: the core's TLB-miss handler lands in translate(), which checks the access against the
// page's (or its VMA's) protection and hands out a zeroed frame on first touch. MAP_PRIVATE file
// mappings are copied into frames when they are made (see mapFixed); the pages of MAP_SHARED
// file mappings are the frames of the page cache (page-cache.ts), shared by every mapping of the
// file in every process.
//
// Every method that removes or restricts a mapping calls `onShrink`, which must flush the TLB of
// every hart running in this address space.
//
// fork() copies an address space copy-on-write: every present page of a private mapping is
// marked PM_COW in both maps and its frame gets one more owner (a share count kept per
// HostMemory, below); the first write through either map copies the frame (or, once the other
// owners are gone, just drops PM_COW). Pages of MAP_SHARED mappings are shared as they are.
// Page-cache frames are counted by the cache (retain/release), not by the share table.
import type { HostMemory } from '../memory/host-memory.js';
import {
  PageMap, type PageMapState, PM_ACCESSED, PM_COW, PM_DIRTY, PM_EXEC, PM_PRESENT, PM_READ, PM_WRITE,
  entryFrame, makeEntry,
} from '../memory/page-map.js';
import { ERRNO } from './errno.js';
import { MMAP_BASE, MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE, pageUp } from './layout.js';
import { pageCacheOf, type CacheUser, type PageCache } from './page-cache.js';

export * from './mmap-flags.js';
import { ACCESS_WRITE, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MADV_DONTNEED, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_EXEC, PROT_MASK, PROT_READ, PROT_WRITE, ACCESS_READ, userAddr } from './mmap-flags.js';

/** One mapping: [start, end) page aligned, with its protection (PROT_* bits). */
export interface Vma {
  start: number;
  end: number;
  prot: number;
  /** MAP_SHARED: fork shares its frames instead of copying them on write. */
  shared: boolean;
  /** Backed by a file (copied in at map time unless `backing`). */
  file: boolean;
  /** "[heap]", "[stack]", a file path, or "" for anonymous memory (as /proc/self/maps shows). */
  name: string;
  /** A MAP_SHARED file mapping: its page-cache entry (page-cache.ts; the VMA holds one
   *  reference) and the file offset of `start`. */
  backing?: Backing;
  /** File offset of `start` for a file mapping (/proc/PID/maps). */
  offset?: number;
}

export interface Backing {
  file: number;
  offset: number;
}

export interface AddressSpaceState {
  vmas: Vma[];
  pages: PageMapState;
  brkStart: number;
  brk: number;
}

/** PROT_* bits → page map permission bits. Write and execute imply read, as on Linux/RISC-V. */
function protToFlags(prot: number): number {
  let f = 0;
  if (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) f |= PM_READ;
  if (prot & PROT_WRITE) f |= PM_WRITE;
  if (prot & PROT_EXEC) f |= PM_EXEC;
  return f;
}

const ACCESS_BIT = [PM_READ, PM_WRITE, PM_EXEC];

/** Frames with more than one owner (address spaces that share them after fork): frame → number
 *  of owners beyond the first. One table per HostMemory, since frames are its offsets. */
const frameShares = new WeakMap<HostMemory, Map<number, number>>();

function sharesOf(mem: HostMemory): Map<number, number> {
  let m = frameShares.get(mem);
  if (!m) frameShares.set(mem, (m = new Map()));
  return m;
}


export class AddressSpace implements CacheUser {
  readonly pages = new PageMap();
  private vmas: Vma[] = [];
  /** Where the program break starts (page aligned, after the executable) and where it is now. */
  brkStart = 0;
  brk = 0;
  /** Called after any change that removes or restricts a mapping (flush every hart's TLB). */
  onShrink: () => void = () => {};
  /** Minor page faults: pages given a frame on first touch or copied on write (getrusage). */
  minorFaults = 0;
  /** Called after a copy-on-write fault gave a page a new frame (other harts of the process may
   *  still cache the old one). */
  onCowCopy: () => void = () => {};
  private readonly shares: Map<number, number>;
  /** The frames of MAP_SHARED file mappings. */
  readonly cache: PageCache;

  constructor(readonly mem: HostMemory) {
    this.shares = sharesOf(mem);
    this.cache = pageCacheOf(mem);
  }

  // ---- frame ownership (fork) ---------------------------------------------------------------

  /** Drops this address space's claim on `frame`, freeing it when no one else owns it. */
  private releaseFrame(frame: number): void {
    if (this.cache.owns(frame)) {
      this.cache.release(frame);
      return;
    }
    const n = this.shares.get(frame);
    if (n === undefined) this.mem.freeFrame(frame);
    else if (n <= 1) this.shares.delete(frame);
    else this.shares.set(frame, n - 1);
  }

  /** The entry for a private copy of the copy-on-write page `pn` (entry `e`): the frame itself
   *  when no one else owns it any more, else a fresh copy. Updates the map. */
  private breakCow(pn: number, e: number): number {
    const old = entryFrame(e);
    let ne: number;
    this.minorFaults++;
    if (this.shares.has(old)) {
      const copy = this.mem.allocFrame();
      this.mem.bytes.copyWithin(copy, old, old + PAGE_SIZE);
      this.releaseFrame(old);
      ne = makeEntry(copy, (e & ~PM_COW) | PM_DIRTY | PM_ACCESSED);
      this.pages.set(pn, ne);
      this.onCowCopy();
    } else {
      ne = ((e & ~PM_COW) | PM_DIRTY | PM_ACCESSED) >>> 0;
      this.pages.set(pn, ne);
    }
    return ne;
  }

  /** A copy of this address space for a child process (fork): same mappings, private pages
   *  copy-on-write in both, MAP_SHARED pages shared. The caller must flush the TLBs of this
   *  address space's harts (their write permissions are gone): onShrink is called. */
  fork(): AddressSpace {
    const c = new AddressSpace(this.mem);
    c.vmas = this.vmas.map((v) => ({ ...v, ...(v.backing ? { backing: { ...v.backing } } : {}) }));
    c.brkStart = this.brkStart;
    c.brk = this.brk;
    for (const v of this.vmas) {
      if (v.backing) {
        // The child reaches the page cache itself: it takes references to the pages present.
        this.cache.refVma(v.backing.file);
        this.cache.users.add(c);
        this.pages.forEachInRange(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (pn, e) => {
          if (!(e & PM_PRESENT)) return;
          this.cache.retain(entryFrame(e));
          c.pages.set(pn, e);
        });
        continue;
      }
      if (v.shared) {
        // Both processes must reach the same frames, including pages not touched yet.
        const flags = protToFlags(v.prot) | PM_PRESENT;
        for (let pn = v.start / PAGE_SIZE; pn < v.end / PAGE_SIZE; pn++) {
          if (!(this.pages.get(pn) & PM_PRESENT)) this.pages.set(pn, makeEntry(this.mem.allocFrame(), flags));
        }
      }
      this.pages.forEachInRange(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (pn, e) => {
        if (!(e & PM_PRESENT)) return;
        const f = entryFrame(e);
        this.shares.set(f, (this.shares.get(f) ?? 0) + 1);
        if (v.shared) c.pages.set(pn, e);
        else {
          const ce = (e | PM_COW) >>> 0;
          this.pages.set(pn, ce);
          c.pages.set(pn, ce);
        }
      });
    }
    this.onShrink();
    return c;
  }

  // ---- VMAs -------------------------------------------------------------------------------

  /** The mappings, in address order (copies). */
  list(): Vma[] {
    return this.vmas.map((v) => ({ ...v }));
  }

  /** Index of the first VMA whose end is above addr. */
  private lowerBound(addr: number): number {
    let lo = 0;
    let hi = this.vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vmas[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The VMA containing addr, if any. */
  findVma(addr: number): Vma | undefined {
    const v = this.vmas[this.lowerBound(addr)];
    return v && v.start <= addr ? v : undefined;
  }

  /** True when no VMA overlaps [start, end). */
  isFree(start: number, end: number): boolean {
    const v = this.vmas[this.lowerBound(start)];
    return !v || v.start >= end;
  }

  /** True when [start, end) is entirely covered by VMAs. */
  isMapped(start: number, end: number): boolean {
    let a = start;
    for (let i = this.lowerBound(start); i < this.vmas.length && a < end; i++) {
      const v = this.vmas[i]!;
      if (v.start > a) return false;
      a = v.end;
    }
    return a >= end;
  }

  /** The highest free range of `len` bytes that ends at or below `below` (top-down, like Linux's
   *  default mmap layout), or -1. */
  findFree(len: number, below = MMAP_BASE): number {
    let top = below;
    for (let j = Math.min(this.lowerBound(below), this.vmas.length - 1); j >= -1; j--) {
      const v = j >= 0 ? this.vmas[j] : undefined;
      if (v && v.start >= top) continue;
      const gapLo = v ? Math.max(v.end, MMAP_MIN_ADDR) : MMAP_MIN_ADDR;
      if (gapLo < top && top - gapLo >= len) return top - len;
      if (!v) break;
      top = Math.min(top, v.start);
    }
    return -1;
  }

  /** Cuts VMAs so that no VMA straddles `addr`. */
  private splitAt(addr: number): void {
    const i = this.lowerBound(addr);
    const v = this.vmas[i];
    if (v && v.start < addr && addr < v.end) {
      const second: Vma = { ...v, start: addr };
      if (v.backing) {
        second.backing = { file: v.backing.file, offset: v.backing.offset + (addr - v.start) };
        this.cache.refVma(v.backing.file);
      }
      if (v.offset !== undefined) second.offset = v.offset + (addr - v.start);
      this.vmas.splice(i + 1, 0, second);
      v.end = addr;
    }
  }

  /** Merges neighbours that are indistinguishable anonymous mappings. */
  private merge(): void {
    const out: Vma[] = [];
    for (const v of this.vmas) {
      const p = out[out.length - 1];
      if (p && p.end === v.start && p.prot === v.prot && p.shared === v.shared && !p.file && !v.file && p.name === v.name) {
        p.end = v.end;
      } else out.push(v);
    }
    this.vmas = out;
  }

  /** Writes the pages of MAP_SHARED file mappings within [start, end) back to their files
   *  (msync). */
  syncShared(start = 0, end = TASK_SIZE): void {
    for (let i = this.lowerBound(start); i < this.vmas.length && this.vmas[i]!.start < end; i++) {
      const v = this.vmas[i]!;
      const b = v.backing;
      if (!b) continue;
      const lo = Math.max(v.start, start);
      const hi = Math.min(v.end, end);
      const first = (b.offset + (lo - v.start)) / PAGE_SIZE;
      this.cache.sync(b.file, first, first + (hi - lo) / PAGE_SIZE);
    }
  }

  /** True if a MAP_SHARED mapping of the file open as host fd `hostFd` is writable (F_SEAL_WRITE
   *  is then refused). */
  hasWritableSharedView(hostFd: number): boolean {
    const id = this.cache.idOf(hostFd);
    return id !== null && this.vmas.some((v) => v.backing?.file === id && (v.prot & PROT_WRITE) !== 0);
  }

  /** The page-cache entries (page-cache.ts) of the MAP_SHARED file mappings that overlap
   *  [start, end). */
  sharedFilesIn(start: number, end: number): number[] {
    return this.vmas.filter((v) => v.backing && v.start < end && v.end > start).map((v) => v.backing!.file);
  }

  /** Removes the VMAs over [start, end) and frees their frames (page-cache pages are written
   *  back when their last mapping goes). */
  private removeRange(start: number, end: number, freeFrames = true): void {
    this.splitAt(start);
    this.splitAt(end);
    const gone = this.vmas.filter((v) => !(v.end <= start || v.start >= end));
    this.vmas = this.vmas.filter((v) => v.end <= start || v.start >= end);
    if (freeFrames) this.freePages(start, end);
    for (const v of gone) if (v.backing) this.cache.unrefVma(v.backing.file);
  }

  /** Frees every frame backing a page in [start, end). */
  private freePages(start: number, end: number): void {
    this.pages.forEachInRange(start / PAGE_SIZE, end / PAGE_SIZE, (pn, e) => {
      if (e & PM_PRESENT) this.releaseFrame(entryFrame(e));
      this.pages.delete(pn);
    });
  }

  /** Maps [start, start+len) (page aligned; whatever was there is unmapped first). `init`, if
   *  given, is copied to the start of the range (file contents); the rest reads as zeros. */
  mapFixed(start: number, len: number, prot: number, opts: { shared?: boolean; file?: boolean; name?: string; init?: Uint8Array; backing?: Backing } = {}): void {
    const end = start + pageUp(len);
    const hadAny = !this.isFree(start, end);
    this.removeRange(start, end);
    const vma: Vma = { start, end, prot: prot & PROT_MASK, shared: !!opts.shared, file: !!opts.file, name: opts.name ?? '' };
    if (opts.backing) {
      vma.backing = { ...opts.backing };
      this.cache.users.add(this);
    }
    this.vmas.splice(this.lowerBound(start), 0, vma);
    this.merge();
    if (hadAny) this.onShrink();
    const init = opts.init;
    if (init && init.length > 0) {
      const flags = protToFlags(prot) | PM_PRESENT;
      for (let off = 0; off < init.length; off += PAGE_SIZE) {
        const frame = this.mem.allocFrame();
        const n = Math.min(PAGE_SIZE, init.length - off);
        this.mem.bytes.set(init.subarray(off, off + n), frame);
        this.pages.set((start + off) / PAGE_SIZE, makeEntry(frame, flags));
      }
    }
  }

  /** Removes mappings in [start, end) (page aligned). */
  unmap(start: number, end: number): void {
    if (this.isFree(start, end)) return;
    this.removeRange(start, end);
    this.onShrink();
  }

  /** Changes the protection of [start, end), which must be mapped: returns 0 or -ENOMEM. */
  protect(start: number, end: number, prot: number): number {
    if (!this.isMapped(start, end)) return -ERRNO.ENOMEM;
    this.splitAt(start);
    this.splitAt(end);
    for (let i = this.lowerBound(start); i < this.vmas.length && this.vmas[i]!.start < end; i++) this.vmas[i]!.prot = prot & PROT_MASK;
    const flags = protToFlags(prot);
    this.pages.forEachInRange(start / PAGE_SIZE, end / PAGE_SIZE, (pn, e) => {
      this.pages.set(pn, ((e & ~(PM_READ | PM_WRITE | PM_EXEC)) | flags) >>> 0);
    });
    this.merge();
    this.onShrink();
    return 0;
  }

  // ---- translation ------------------------------------------------------------------------

  /** The host frame backing the page of `va` for an access of kind `access` (0 read, 1 write,
   *  2 execute), allocating a zeroed frame on first touch; -1 if the access must fault. This is
   *  both the core's TLB-miss handler and the path every syscall copy takes. */
  translate(va: number, access: number): number {
    if (!(va >= 0 && va < TASK_SIZE)) return -1;
    const pn = Math.floor(va / PAGE_SIZE);
    const need = ACCESS_BIT[access] ?? PM_READ;
    const e = this.pages.get(pn);
    if (e & PM_PRESENT) {
      if (!(e & need)) return -1;
      if (access === ACCESS_WRITE) {
        if (e & PM_COW) return entryFrame(this.breakCow(pn, e));
        if (!(e & PM_DIRTY)) this.pages.set(pn, (e | PM_DIRTY | PM_ACCESSED) >>> 0);
      }
      return entryFrame(e);
    }
    const vma = this.findVma(va);
    if (!vma) return -1;
    const flags = protToFlags(vma.prot);
    if (!(flags & need)) return -1;
    const b = vma.backing;
    const frame = b ? this.cache.get(b.file, (b.offset + (pn * PAGE_SIZE - vma.start)) / PAGE_SIZE) : this.mem.allocFrame();
    if (frame < 0) return -1;
    this.pages.set(pn, makeEntry(frame, flags | PM_PRESENT | PM_ACCESSED | (access === ACCESS_WRITE ? PM_DIRTY : 0)));
    this.minorFaults++;
    return frame;
  }

  /** Unmaps the pages of MAP_SHARED mappings of page-cache entry `id` from file page `from` on
   *  (the file was truncated: they fault again, with SIGBUS while past the end). */
  dropFilePages(id: number, from: number): void {
    const hit = this.vmas.filter((v) => v.backing?.file === id && v.start + (from * PAGE_SIZE - v.backing.offset) < v.end);
    for (const v of hit) this.freePages(Math.max(v.start, v.start + (from * PAGE_SIZE - v.backing!.offset)), v.end);
    if (hit.length) this.onShrink();
  }

  /** True if `va` is on a page of a MAP_SHARED file mapping wholly past the end of the file. */
  pastEof(va: number): boolean {
    const v = va >= 0 && va < TASK_SIZE ? this.findVma(va) : undefined;
    const b = v?.backing;
    if (!v || !b) return false;
    const pn = Math.floor(va / PAGE_SIZE);
    return this.cache.pastEnd(b.file, (b.offset + (pn * PAGE_SIZE - v.start)) / PAGE_SIZE);
  }

  /** Why an access to `va` faulted: SEGV_MAPERR (1) if nothing is mapped there, else
   *  SEGV_ACCERR (2). */
  faultCode(va: number): number {
    return va >= 0 && va < TASK_SIZE && this.findVma(va) ? 2 : 1;
  }

  /** The TLB-miss handler to give the core. */
  readonly tlbMiss = (_hart: number, va: bigint, access: number): number => this.translateMiss(userAddr(va), access);

  /** translate for a TLB miss (TlbMissHandler): the frame, plus 1 if it was made or copied now
   *  (guest memory written: the core's code caches must check their code again). */
  translateMiss(va: number, access: number): number {
    const before = this.minorFaults;
    const f = this.translate(va, access);
    return f >= 0 && this.minorFaults !== before ? f + 1 : f;
  }

  // ---- copies between guest memory and the host ---------------------------------------------

  /** True if every byte of [va, va+len) may be accessed with `access` (faulting pages in). */
  check(va: bigint | number, len: number, access: number): boolean {
    const a = userAddr(va);
    if (a < 0) return len === 0;
    if (len === 0) return true;
    if (a + len > TASK_SIZE) return false;
    for (let p = Math.floor(a / PAGE_SIZE) * PAGE_SIZE; p < a + len; p += PAGE_SIZE) {
      if (this.translate(p, access) < 0) return false;
    }
    return true;
  }

  /** Copies `len` guest bytes at `va` into a new array, or null if any of them is unreadable. */
  read(va: bigint | number, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    return this.readInto(va, out) ? out : null;
  }

  /** Fills `out` from guest memory at `va`; false (and out partly filled) on a fault. */
  readInto(va: bigint | number, out: Uint8Array): boolean {
    const a = userAddr(va);
    if (out.length === 0) return true;
    if (a < 0 || a + out.length > TASK_SIZE) return false;
    let done = 0;
    while (done < out.length) {
      const cur = a + done;
      const frame = this.translate(cur, ACCESS_READ);
      if (frame < 0) return false;
      const off = cur % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, out.length - done);
      out.set(this.mem.bytes.subarray(frame + off, frame + off + n), done);
      done += n;
    }
    return true;
  }

  /** Copies `data` to guest memory at `va`; false on a fault (nothing is written then). */
  write(va: bigint | number, data: Uint8Array): boolean {
    if (data.length === 0) return true;
    if (!this.check(va, data.length, ACCESS_WRITE)) return false;
    const a = userAddr(va);
    let done = 0;
    while (done < data.length) {
      const cur = a + done;
      const frame = this.translate(cur, ACCESS_WRITE);
      const off = cur % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      this.mem.bytes.set(data.subarray(done, done + n), frame + off);
      done += n;
    }
    return true;
  }

  /** Writes guest memory ignoring page protection (the loader filling read-only segments). */
  poke(va: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const cur = va + done;
      const pn = Math.floor(cur / PAGE_SIZE);
      let e = this.pages.get(pn);
      if (!(e & PM_PRESENT)) {
        const vma = this.findVma(cur);
        if (!vma) throw new RangeError(`poke outside any mapping at 0x${cur.toString(16)}`);
        e = makeEntry(this.mem.allocFrame(), protToFlags(vma.prot) | PM_PRESENT);
        this.pages.set(pn, e);
      } else if (e & PM_COW) e = this.breakCow(pn, e);
      const off = cur % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      this.mem.bytes.set(data.subarray(done, done + n), entryFrame(e) + off);
      done += n;
    }
  }

  /** Reads a NUL-terminated string of at most `max` bytes (without the NUL): the bytes, or
   *  -EFAULT, or -ENAMETOOLONG if no NUL came within `max` bytes. */
  readCString(va: bigint | number, max = 4096): Uint8Array | number {
    const a = userAddr(va);
    if (a < 0) return -ERRNO.EFAULT;
    const parts: Uint8Array[] = [];
    let total = 0;
    let cur = a;
    while (total < max) {
      const frame = this.translate(cur, ACCESS_READ);
      if (frame < 0) return -ERRNO.EFAULT;
      const off = cur % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, max - total);
      const chunk = this.mem.bytes.subarray(frame + off, frame + off + n);
      const z = chunk.indexOf(0);
      if (z >= 0) {
        parts.push(chunk.slice(0, z));
        total += z;
        const out = new Uint8Array(total);
        let o = 0;
        for (const p of parts) {
          out.set(p, o);
          o += p.length;
        }
        return out;
      }
      parts.push(chunk.slice());
      total += n;
      cur += n;
    }
    return -ERRNO.ENAMETOOLONG;
  }

  readU32(va: bigint | number): number | null {
    const b = this.read(va, 4);
    return b ? new DataView(b.buffer).getUint32(0, true) : null;
  }
  readU64(va: bigint | number): bigint | null {
    const b = this.read(va, 8);
    return b ? new DataView(b.buffer).getBigUint64(0, true) : null;
  }
  writeU32(va: bigint | number, v: number): boolean {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.write(va, b);
  }
  writeU64(va: bigint | number, v: bigint): boolean {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return this.write(va, b);
  }

  // ---- the memory system calls (results are values or negative errnos) ----------------------

  /** mmap: returns the address or -errno. `init` holds the file bytes for a file mapping
   *  (already read by the caller, at most `len` bytes). */
  mmap(addr: number, len: number, prot: number, flags: number, opts: { init?: Uint8Array; file?: boolean; name?: string; backing?: Backing } = {}): number {
    const type = flags & 0x0f;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return -ERRNO.EINVAL;
    if (len <= 0) return -ERRNO.EINVAL;
    const size = pageUp(len);
    if (size > TASK_SIZE) return -ERRNO.ENOMEM;
    let start: number;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
      if (addr % PAGE_SIZE !== 0) return -ERRNO.EINVAL;
      if (addr + size > TASK_SIZE) return -ERRNO.ENOMEM;
      if (addr < MMAP_MIN_ADDR) return -ERRNO.EPERM;
      if (!(flags & MAP_FIXED) && !this.isFree(addr, addr + size)) return -ERRNO.EEXIST;
      start = addr;
    } else {
      const hint = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
      if (hint >= MMAP_MIN_ADDR && hint + size <= TASK_SIZE && this.isFree(hint, hint + size)) start = hint;
      else {
        start = this.findFree(size);
        if (start < 0) return -ERRNO.ENOMEM;
      }
    }
    this.mapFixed(start, size, prot, { shared: type !== MAP_PRIVATE, file: !!opts.file, name: opts.name ?? '', init: opts.init, backing: type !== MAP_PRIVATE ? opts.backing : undefined });
    return start;
  }

  munmap(addr: number, len: number): number {
    if (addr % PAGE_SIZE !== 0 || len <= 0 || addr + len > TASK_SIZE) return -ERRNO.EINVAL;
    this.unmap(addr, addr + pageUp(len));
    return 0;
  }

  mprotect(addr: number, len: number, prot: number): number {
    if (addr % PAGE_SIZE !== 0 || prot & ~PROT_MASK & ~0x03000000) return -ERRNO.EINVAL;
    if (len === 0) return 0;
    const end = addr + pageUp(len);
    if (end > TASK_SIZE) return -ERRNO.ENOMEM;
    return this.protect(addr, end, prot & PROT_MASK);
  }

  mremap(old: number, oldLen: number, newLen: number, flags: number, newAddr: number): number {
    if (old % PAGE_SIZE !== 0 || flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) return -ERRNO.EINVAL;
    if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -ERRNO.EINVAL;
    oldLen = pageUp(oldLen);
    newLen = pageUp(newLen);
    if (newLen === 0 || oldLen === 0) return -ERRNO.EINVAL;
    const vma = this.findVma(old);
    if (!vma || old + oldLen > vma.end) return -ERRNO.EFAULT;
    if (flags & MREMAP_FIXED) {
      if (newAddr % PAGE_SIZE !== 0) return -ERRNO.EINVAL;
      if (newAddr + newLen > TASK_SIZE || newAddr < MMAP_MIN_ADDR) return -ERRNO.EINVAL;
      if (newAddr < old + oldLen && old < newAddr + newLen) return -ERRNO.EINVAL;
      this.unmap(newAddr, newAddr + newLen);
      return this.move(old, oldLen, newAddr, newLen);
    }
    if (newLen <= oldLen) {
      if (newLen < oldLen) this.unmap(old + newLen, old + oldLen);
      return old;
    }
    if (old + oldLen === vma.end && old + newLen <= TASK_SIZE && this.isFree(old + oldLen, old + newLen)) {
      vma.end = old + newLen;
      this.merge();
      return old;
    }
    if (!(flags & MREMAP_MAYMOVE)) return -ERRNO.ENOMEM;
    const dest = this.findFree(newLen);
    if (dest < 0) return -ERRNO.ENOMEM;
    return this.move(old, oldLen, dest, newLen);
  }

  /** Moves the pages of [old, old+oldLen) to dest (whose range is free), growing to newLen. */
  private move(old: number, oldLen: number, dest: number, newLen: number): number {
    const vma = this.findVma(old)!;
    const keep = Math.min(oldLen, newLen);
    const moved: Array<[number, number]> = [];
    this.pages.forEachInRange(old / PAGE_SIZE, (old + keep) / PAGE_SIZE, (pn, e) => {
      moved.push([pn, e]);
      this.pages.delete(pn);
    });
    const shape = { prot: vma.prot, shared: vma.shared, file: vma.file, name: vma.name, ...(vma.backing ? { backing: { ...vma.backing, offset: vma.backing.offset + (old - vma.start) } } : {}) };
    if (shape.backing) this.cache.refVma(shape.backing.file); // the moved VMA's reference
    this.removeRange(old, old + oldLen, false);
    this.freePages(old + keep, old + oldLen);
    this.vmas.splice(this.lowerBound(dest), 0, { start: dest, end: dest + newLen, ...shape });
    this.merge();
    const delta = (dest - old) / PAGE_SIZE;
    for (const [pn, e] of moved) this.pages.set(pn + delta, e);
    this.onShrink();
    return dest;
  }

  madvise(addr: number, len: number, advice: number): number {
    if (addr % PAGE_SIZE !== 0 || len < 0) return -ERRNO.EINVAL;
    const end = addr + pageUp(len);
    if (end > TASK_SIZE) return -ERRNO.EINVAL;
    if (len === 0) return 0;
    if (!this.isMapped(addr, end)) return -ERRNO.ENOMEM;
    if (advice === MADV_DONTNEED) {
      // Anonymous private pages read back as zeros; file pages keep the copy made at map time
      // (which is what re-reading an unmodified file would give); shared memory keeps its
      // contents (other processes may map the same frames).
      for (const v of this.list()) {
        if (v.end <= addr || v.start >= end || v.file || v.shared) continue;
        this.freePages(Math.max(v.start, addr), Math.min(v.end, end));
      }
      this.onShrink();
    }
    return 0;
  }

  /** The brk system call: moves the break and returns the new one (or the old one on failure). */
  setBrk(addr: number): number {
    if (addr < this.brkStart || addr >= TASK_SIZE) return this.brk;
    const oldEnd = pageUp(this.brk);
    const newEnd = pageUp(addr);
    if (newEnd > oldEnd) {
      if (!this.isFree(oldEnd, newEnd)) return this.brk;
      this.vmas.splice(this.lowerBound(oldEnd), 0, { start: oldEnd, end: newEnd, prot: PROT_READ | PROT_WRITE, shared: false, file: false, name: '[heap]' });
      this.merge();
    } else if (newEnd < oldEnd) {
      this.unmap(newEnd, oldEnd);
    }
    this.brk = addr;
    return addr;
  }

  /** Frees everything (process exit). */
  destroy(): void {
    this.freePages(0, TASK_SIZE);
    for (const v of this.vmas) if (v.backing) this.cache.unrefVma(v.backing.file);
    this.cache.users.delete(this);
    this.vmas = [];
    this.onShrink();
  }

  save(): AddressSpaceState {
    return { vmas: this.list(), pages: this.pages.save(), brkStart: this.brkStart, brk: this.brk };
  }

  /** Restores VMAs and page map (the frames they name must hold the saved contents). */
  restore(s: AddressSpaceState): void {
    this.vmas = s.vmas.map((v) => ({ ...v }));
    this.pages.restore(s.pages);
    this.brkStart = s.brkStart;
    this.brk = s.brk;
    this.onShrink();
  }
}
