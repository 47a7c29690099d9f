// Advisory file locks between the guest processes and threads of one run: flock(2) locks and
// fcntl(2) byte-range locks (classic POSIX "process-associated" locks and open file description
// locks). Every guest process lives in this host process, so the locks are kept here, in one
// table keyed by the file's identity (the host file's dev:ino, or the id of an in-emulator
// pipe/eventfd); they do not lock against other host processes.
//
// Owners follow Linux: a POSIX lock belongs to the fd table (Linux's files_struct: shared by the
// threads of a process, not by a forked child) and is reported with the pid that set it; it is
// released when that table closes any fd of the file (fdClosed) or the process ends. flock and
// OFD locks belong to the open file description (shared across dup and fork) and end when its
// last fd closes (descriptionReleased). flock locks and fcntl locks do not see each other; POSIX
// and OFD locks conflict with each other. A blocked F_SETLKW/flock waits in the scheduler (a retry
// wait; every release wakes retriers through the closing or unlocking call).
import { fstatSync } from 'node:fs';
import type { OpenFile } from './fd-table.js';
import type { Thread } from './thread.js';

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;

/** Largest file offset (inclusive end of a lock "to EOF"). */
export const OFFSET_MAX = (1n << 63n) - 1n;

export interface RangeLock {
  owner: object;
  ofd: boolean;
  pid: number;
  type: number;
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

interface FlockEntry {
  owner: OpenFile;
  exclusive: boolean;
}

interface FileLocks {
  ranges: RangeLock[];
  flocks: FlockEntry[];
}

const table = new Map<string, FileLocks>();
const keys = new WeakMap<OpenFile, string>();
/** POSIX owners blocked in F_SETLKW: owner → the thread and the owners it waits for. */
const waiting = new Map<object, { t: Thread; blockers: object[] }>();

/** The identity of the file behind an open file description, or null (fstat failed). */
export function fileKey(f: OpenFile): string | null {
  const k = keys.get(f);
  if (k !== undefined) return k;
  let key: string;
  if (f.kind === 'host') {
    try {
      const st = fstatSync(f.hostFd, { bigint: true });
      key = `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  } else key = `anon:${f.kind === 'pipe' ? f.pipe.id : f.id}`;
  keys.set(f, key);
  return key;
}

function locksOf(key: string): FileLocks {
  let l = table.get(key);
  if (!l) {
    l = { ranges: [], flocks: [] };
    table.set(key, l);
  }
  return l;
}

function prune(key: string): void {
  const l = table.get(key);
  if (l && l.ranges.length === 0 && l.flocks.length === 0) table.delete(key);
}

// ---- byte-range locks --------------------------------------------------------------------------

const overlaps = (a: { start: bigint; end: bigint }, s: bigint, e: bigint): boolean => a.start <= e && s <= a.end;

/** The first lock of another owner that conflicts with a `type` lock on [start, end]. */
export function findConflict(f: OpenFile, owner: object, type: number, start: bigint, end: bigint): RangeLock | null {
  const key = fileKey(f);
  if (key === null) return null;
  const l = table.get(key);
  if (!l) return null;
  for (const r of l.ranges) {
    if (r.owner === owner || !overlaps(r, start, end)) continue;
    if (type === F_WRLCK || r.type === F_WRLCK) return r;
  }
  return null;
}

/** Sets (F_RDLCK/F_WRLCK) or clears (F_UNLCK) `owner`'s lock on [start, end], splitting and
 *  merging its own locks as Linux does. The caller has checked for conflicts. */
export function applyRange(f: OpenFile, owner: object, ofd: boolean, pid: number, type: number, start: bigint, end: bigint): void {
  const key = fileKey(f);
  if (key === null) return;
  const l = locksOf(key);
  const kept: RangeLock[] = [];
  let ns = start;
  let ne = end;
  for (const r of l.ranges) {
    if (r.owner !== owner) {
      kept.push(r);
      continue;
    }
    const adjacent = (r.end !== OFFSET_MAX && r.end + 1n === start) || (end !== OFFSET_MAX && end + 1n === r.start);
    if (type !== F_UNLCK && r.type === type && (overlaps(r, start, end) || adjacent)) {
      // Same type touching or overlapping: merged into the new lock.
      if (r.start < ns) ns = r.start;
      if (r.end > ne) ne = r.end;
      continue;
    }
    if (!overlaps(r, start, end)) {
      kept.push(r);
      continue;
    }
    if (r.start < start) kept.push({ ...r, end: start - 1n });
    if (r.end > end) kept.push({ ...r, start: end + 1n });
  }
  if (type !== F_UNLCK) kept.push({ owner, ofd, pid, type, start: ns, end: ne });
  kept.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  l.ranges = kept;
  prune(key);
}

/** Records that POSIX owner `owner` (thread `t`) waits for `blocker`'s lock; returns true if
 *  that would close a cycle of waiting owners (EDEADLK). */
export function wouldDeadlock(owner: object, t: Thread, blocker: RangeLock): boolean {
  if (blocker.ofd) {
    waiting.set(owner, { t, blockers: [] });
    return false;
  }
  const seen = new Set<object>();
  let frontier: object[] = [blocker.owner];
  while (frontier.length > 0) {
    const next: object[] = [];
    for (const o of frontier) {
      if (o === owner) return true;
      if (seen.has(o)) continue;
      seen.add(o);
      const w = waiting.get(o);
      if (w && w.t.status === 'blocked' && w.t.wait?.kind === 'retry') next.push(...w.blockers);
    }
    frontier = next;
  }
  waiting.set(owner, { t, blockers: [blocker.owner] });
  return false;
}

/** The owner no longer waits (its lock call ended). */
export function stopWaiting(owner: object): void {
  waiting.delete(owner);
}

// ---- flock -------------------------------------------------------------------------------------

/** flock(LOCK_SH/LOCK_EX) for description `f`: 0, or 'busy' if another description holds a
 *  conflicting lock, 'dropped' if so and a lock `f` held of the other type has been dropped
 *  (as on Linux, a conversion is not atomic). */
export function flockLock(f: OpenFile, exclusive: boolean): 0 | 'busy' | 'dropped' | null {
  const key = fileKey(f);
  if (key === null) return null;
  const l = locksOf(key);
  const mine = l.flocks.find((e) => e.owner === f);
  if (mine && mine.exclusive === exclusive) return 0;
  if (mine) l.flocks = l.flocks.filter((e) => e !== mine);
  const conflict = l.flocks.some((e) => e.owner !== f && (exclusive || e.exclusive));
  if (conflict) {
    prune(key);
    return mine ? 'dropped' : 'busy';
  }
  l.flocks.push({ owner: f, exclusive });
  return 0;
}

/** flock(LOCK_UN). */
export function flockUnlock(f: OpenFile): void {
  const key = fileKey(f);
  if (key === null) return;
  const l = table.get(key);
  if (!l) return;
  l.flocks = l.flocks.filter((e) => e.owner !== f);
  prune(key);
}

// ---- release on close ----------------------------------------------------------------------------

/** fd table `owner` closed one of its fds naming `f`: its POSIX locks on that file end. */
export function fdClosed(owner: object, f: OpenFile): void {
  if (table.size === 0) return;
  let any = false;
  for (const l of table.values()) if (l.ranges.some((r) => r.owner === owner)) any = true;
  if (!any) return;
  const key = fileKey(f);
  if (key === null) return;
  const l = table.get(key);
  if (!l) return;
  l.ranges = l.ranges.filter((r) => r.owner !== owner);
  prune(key);
}

/** The last fd of description `f` closed: its flock and OFD locks end. */
export function descriptionReleased(f: OpenFile): void {
  const key = keys.get(f);
  if (key === undefined) return;
  const l = table.get(key);
  if (l) {
    l.ranges = l.ranges.filter((r) => r.owner !== f);
    l.flocks = l.flocks.filter((e) => e.owner !== f);
    prune(key);
  }
  waiting.delete(f);
}

/** An fd table is gone (its process ended): nothing of it may wait any more. */
export function ownerGone(owner: object): void {
  waiting.delete(owner);
}
