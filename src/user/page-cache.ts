// The page cache of MAP_SHARED file mappings: one set of guest frames per host file (keyed by
// device and inode), shared by every MAP_SHARED mapping of that file in every guest process of
// the run, so all of them see each other's stores at once, as on Linux.
//
// The cached frames are the authority for the pages they hold: before rvisor reads, writes or
// truncates a cached file through the host (read/write/pread/pwrite/ftruncate/sendfile and
// mmap's own load), the cached pages are written back to the file (flush); after a host write
// or truncate, the cached pages are loaded again from it (reload), so a write(2) is seen through
// every mapping. Write-back stops at the end of the file (bytes stored past EOF in the last page
// stay in memory only, as Linux never writes them). A page is freed (after a last write-back)
// when no mapping maps it any more; an entry (and its own host fd, opened on /proc/self/fd so
// the guest can close its descriptor) goes away when no VMA refers to it.
//
// Frames here are owned by the cache: address spaces take and drop references with
// retain/release (address-space.ts asks `owns` first). Host writes into frames need no code
// invalidation: the core starts a new block-cache epoch on every run() (cpu/layout.ts).
import { closeSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import type { HostMemory } from '../memory/host-memory.js';
import { PAGE_SIZE } from './layout.js';

/** What the cache needs of an address space that maps its pages (address-space.ts). */
export interface CacheUser {
  /** Unmaps the pages of entry `id` from file page `from` on (the file shrank). */
  dropFilePages(id: number, from: number): void;
}

interface CachedPage {
  frame: number;
  /** Page table entries (in any address space) that map the frame. */
  refs: number;
}

interface Entry {
  id: number;
  key: string;
  /** rvisor's own descriptor for the file (read-write when it could be opened so). */
  fd: number;
  writable: boolean;
  /** File page index → cached page. */
  pages: Map<number, CachedPage>;
  /** VMAs (in any address space) that map part of the file. */
  vmaRefs: number;
}

/** The key of a regular file, open (host fd) or named (host path). */
function fileKey(target: number | string): string | null {
  try {
    const st = typeof target === 'number' ? fstatSync(target, { bigint: true }) : statSync(target, { bigint: true });
    if (!st.isFile()) return null;
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

export class PageCache {
  private readonly byKey = new Map<string, Entry>();
  private readonly byId = new Map<number, Entry>();
  /** frame → [entry, page index]. */
  private readonly frames = new Map<number, [Entry, number]>();
  private nextId = 1;
  /** Address spaces with MAP_SHARED file mappings (they leave at destroy). */
  readonly users = new Set<CacheUser>();

  constructor(readonly mem: HostMemory) {}

  /** True while any file has cached pages or mappings (the host I/O hooks are then needed). */
  get active(): boolean {
    return this.byKey.size > 0;
  }

  /** The entry id of the file open as `hostFd` if it has one, else null. */
  idOf(hostFd: number): number | null {
    const key = fileKey(hostFd);
    return key === null ? null : (this.byKey.get(key)?.id ?? null);
  }

  /** The entry id for the file open as `hostFd` (a regular file), taking one VMA reference; or
   *  -errno. `writable`: the mapping may be written (the file must be open for writing). */
  attach(hostFd: number, writable: boolean): number {
    const key = fileKey(hostFd);
    if (key === null) return -19; // ENODEV
    let e = this.byKey.get(key);
    if (e && writable && !e.writable) {
      try {
        const fd = openSync(`/proc/self/fd/${hostFd}`, 'r+');
        closeSync(e.fd);
        e.fd = fd;
        e.writable = true;
      } catch {
        // keep the read-only descriptor; write-back of this entry then fails silently
      }
    }
    if (!e) {
      let fd: number;
      let w = true;
      try {
        fd = openSync(`/proc/self/fd/${hostFd}`, 'r+');
      } catch {
        try {
          fd = openSync(`/proc/self/fd/${hostFd}`, 'r');
          w = false;
        } catch {
          return -13; // EACCES
        }
      }
      e = { id: this.nextId++, key, fd, writable: w, pages: new Map(), vmaRefs: 0 };
      this.byKey.set(key, e);
      this.byId.set(e.id, e);
    }
    e.vmaRefs++;
    return e.id;
  }

  /** One more VMA refers to entry `id` (a VMA was split or copied by fork). */
  refVma(id: number): void {
    const e = this.byId.get(id);
    if (e) e.vmaRefs++;
  }

  /** A VMA referring to entry `id` is gone. */
  unrefVma(id: number): void {
    const e = this.byId.get(id);
    if (!e) return;
    e.vmaRefs--;
    this.maybeDrop(e);
  }

  private maybeDrop(e: Entry): void {
    if (e.vmaRefs > 0 || e.pages.size > 0) return;
    this.byKey.delete(e.key);
    this.byId.delete(e.id);
    try {
      closeSync(e.fd);
    } catch {
      // already gone
    }
  }

  /** The frame holding page `index` of entry `id` (loaded from the file on first use), with one
   *  more reference taken; -1 if the entry is unknown or the page lies wholly past the end of
   *  the file (Linux: SIGBUS; see pastEnd). */
  get(id: number, index: number): number {
    const e = this.byId.get(id);
    if (!e) return -1;
    let pg = e.pages.get(index);
    if (!pg) {
      if (this.pastEnd(id, index)) return -1;
      pg = { frame: this.mem.allocFrame(), refs: 0 };
      this.load(e, index, pg.frame);
      e.pages.set(index, pg);
      this.frames.set(pg.frame, [e, index]);
    }
    pg.refs++;
    return pg.frame;
  }

  /** True if page `index` of entry `id` is not cached and starts at or past the end of the file. */
  pastEnd(id: number, index: number): boolean {
    const e = this.byId.get(id);
    if (!e || e.pages.has(index)) return false;
    try {
      return index * PAGE_SIZE >= fstatSync(e.fd).size;
    } catch {
      return false;
    }
  }

  /** True if `frame` belongs to the cache. */
  owns(frame: number): boolean {
    return this.frames.has(frame);
  }

  /** One more page table entry maps `frame` (fork). */
  retain(frame: number): void {
    const f = this.frames.get(frame);
    if (!f) return;
    const pg = f[0].pages.get(f[1]);
    if (pg) pg.refs++;
  }

  /** A page table entry mapping `frame` is gone: the last one writes the page back and frees it. */
  release(frame: number): void {
    const f = this.frames.get(frame);
    if (!f) return;
    const [e, index] = f;
    const pg = e.pages.get(index);
    if (!pg) return;
    if (--pg.refs > 0) return;
    this.writePages(e, [[index, pg]]);
    e.pages.delete(index);
    this.frames.delete(frame);
    this.mem.freeFrame(frame);
    this.maybeDrop(e);
  }

  /** Writes back the cached pages of entry `id` in file pages [from, to). */
  sync(id: number, from = 0, to = Infinity): void {
    const e = this.byId.get(id);
    if (!e) return;
    this.writePages(e, [...e.pages].filter(([i]) => i >= from && i < to));
  }

  /** Writes every cached page back (the end of the run). */
  syncAll(): void {
    for (const e of this.byKey.values()) this.writePages(e, [...e.pages]);
  }

  /** Before the host reads, writes or truncates the file open as `hostFd`: its cached pages go
   *  back to the file. Returns the entry to pass to `afterHostChange` (null: not cached). */
  beforeHostIo(target: number | string): Entry | null {
    if (this.byKey.size === 0) return null;
    const key = fileKey(target);
    const e = key === null ? undefined : this.byKey.get(key);
    if (!e || e.pages.size === 0) return null;
    this.writePages(e, [...e.pages]);
    return e;
  }

  /** After the host wrote or truncated a cached file: the cached pages are loaded again; pages
   *  now wholly past the end of the file are unmapped everywhere (a later access: SIGBUS). */
  afterHostChange(e: Entry | null): void {
    if (!e) return;
    let size = Infinity;
    try {
      size = fstatSync(e.fd).size;
    } catch {
      // keep every page
    }
    const from = Math.ceil(size / PAGE_SIZE);
    if ([...e.pages.keys()].some((i) => i >= from)) for (const u of [...this.users]) u.dropFilePages(e.id, from);
    for (const [index, pg] of e.pages) this.load(e, index, pg.frame);
  }

  private writePages(e: Entry, pages: Array<[number, CachedPage]>): void {
    if (pages.length === 0 || !e.writable) return;
    let size: number;
    try {
      size = fstatSync(e.fd).size;
    } catch {
      return;
    }
    for (const [index, pg] of pages) {
      const pos = index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE, size - pos);
      if (n <= 0) continue;
      try {
        writeSync(e.fd, this.mem.bytes, pg.frame, n, pos);
      } catch {
        // the file system refused (full, read-only): Linux would report it at msync/fsync
      }
    }
  }

  /** Fills `frame` with page `index` of the file (zeros past its end). */
  private load(e: Entry, index: number, frame: number): void {
    const bytes = this.mem.bytes;
    let got = 0;
    try {
      while (got < PAGE_SIZE) {
        const n = readSync(e.fd, bytes, frame + got, PAGE_SIZE - got, index * PAGE_SIZE + got);
        if (n === 0) break;
        got += n;
      }
    } catch {
      // unreadable: what was read stays, the rest reads as zeros
    }
    bytes.fill(0, frame + got, frame + PAGE_SIZE);
  }
}

const caches = new WeakMap<HostMemory, PageCache>();
/** Every cache made (one per HostMemory; the host I/O hooks consult each). */
const all = new Set<WeakRef<PageCache>>();

/** The page cache of the guest frames in `mem`. */
export function pageCacheOf(mem: HostMemory): PageCache {
  let c = caches.get(mem);
  if (!c) {
    caches.set(mem, (c = new PageCache(mem)));
    all.add(new WeakRef(c));
  }
  return c;
}

/** Runs a host operation on the file open as `target` (a host fd; or named by a host path)
 *  coherently with the cached pages of every MAP_SHARED mapping of it: they are written back
 *  first and, if `changes`, reloaded after. (After an open with O_TRUNC, an empty `op` with
 *  `changes` reloads them as zeros: nothing is written past the new end of file.) */
export function coherentHostIo<T>(target: number | string, changes: boolean, op: () => T): T {
  const touched: Array<[PageCache, Entry]> = [];
  for (const r of all) {
    const c = r.deref();
    if (!c) {
      all.delete(r);
      continue;
    }
    if (!c.active) continue;
    const e = c.beforeHostIo(target);
    if (e) touched.push([c, e]);
  }
  try {
    return op();
  } finally {
    if (changes) for (const [c, e] of touched) c.afterHostChange(e);
  }
}
