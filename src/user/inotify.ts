// inotify events for the changes the guest itself makes through rvisor's file system calls.
// Watches name host inodes (st_dev, st_ino); the file calls (syscalls/files.ts, io.ts and the fd
// table's close) call the hooks below, which cost one check when no inotify instance has a
// watch. Each hook turns one operation into the events Linux's fsnotify sends, in its order:
// a child's event goes to its directory's watches (with the name) and then to its own; link-count
// changes (ATTRIB), DELETE_SELF and MOVE_SELF go to the inode's own watches only; an identical
// event right after the last queued one is merged; DELETE_SELF and IN_ONESHOT remove the watch
// with IN_IGNORED. Changes made by other host processes are not seen (no host inotify: its
// events could not be ordered with the guest's own ones).
import { fstatSync, lstatSync, statSync, type BigIntStats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { inotifyInstances, type InotifyFd, type InotifyWatch } from './fd-kinds.js';
import type { HostFile } from './fd-table.js';

export const IN_ACCESS = 0x1;
export const IN_MODIFY = 0x2;
export const IN_ATTRIB = 0x4;
export const IN_CLOSE_WRITE = 0x8;
export const IN_CLOSE_NOWRITE = 0x10;
export const IN_OPEN = 0x20;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_ALL_EVENTS = 0xfff;
export const IN_Q_OVERFLOW = 0x4000;
export const IN_IGNORED = 0x8000;
export const IN_ISDIR = 0x40000000;
export const IN_ONESHOT = 0x80000000;

/** /proc/sys/fs/inotify/max_queued_events. */
export const MAX_QUEUED_EVENTS = 16384;

/** An inode as inotify names it. */
export interface Node {
  dev: bigint;
  ino: bigint;
  isDir: boolean;
}

/** An inode reached by a name: the directory that holds the name, if known. */
export interface Subject extends Node {
  dir?: Node;
  name?: Uint8Array;
  /** The link count before an unlink or rename replaced it. */
  nlink?: bigint;
}

let nextCookie = 1;
/** What the events need of the kernel (set by inotify_init1): waking the threads that wait to
 *  retry a call, and every host file open in the run. */
let kernel: { wake(): void; openFiles(): HostFile[] } | null = null;

export function setInotifyKernel(k: { wake(): void; openFiles(): HostFile[] }): void {
  kernel = k;
}

const openFiles = (): HostFile[] => kernel?.openFiles() ?? [];

/** True if some inotify instance has a watch (the hooks do nothing otherwise). */
export function watching(): boolean {
  for (const i of inotifyInstances) if (i.watches.size > 0) return true;
  return false;
}

const nodeOf = (st: BigIntStats): Node => ({ dev: st.dev, ino: st.ino, isDir: st.isDirectory() });

/** The subject a host path names (the link itself unless `follow`; with its link count when
 *  `withLinks`, for a removal), or null. */
export function subjectAt(path: string, follow = false, withLinks = false): Subject | null {
  if (!watching()) return null;
  try {
    const st = follow ? statSync(path, { bigint: true }) : lstatSync(path, { bigint: true });
    const s: Subject = withLinks ? { ...nodeOf(st), nlink: st.nlink } : nodeOf(st);
    const e = entryAt(path);
    if (e) {
      s.dir = e.dir;
      s.name = e.name;
    }
    return s;
  } catch {
    return null;
  }
}

/** The directory and name of a host path's last component, or null. */
export function entryAt(path: string): { dir: Node; name: Uint8Array } | null {
  if (!watching()) return null;
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const name = basename(trimmed);
  if (name === '' || name === '.' || name === '..') return null;
  try {
    return { dir: nodeOf(statSync(dirname(trimmed), { bigint: true })), name: new TextEncoder().encode(name) };
  } catch {
    return null;
  }
}

/** Where each open host file was opened (its directory and name), for its events. */
const openedAt = new WeakMap<HostFile, { dir: Node; name: Uint8Array }>();

/** The subject of an open host file, or null. */
function subjectOfFile(f: HostFile): Subject | null {
  if (!watching()) return null;
  try {
    const s: Subject = nodeOf(fstatSync(f.hostFd, { bigint: true }));
    const e = openedAt.get(f) ?? (f.path && !f.memfd ? entryAt(f.path) : null);
    if (e) {
      s.dir = e.dir;
      s.name = e.name;
    }
    return s;
  } catch {
    return null;
  }
}

function encodeEvent(wd: number, mask: number, cookie: number, name?: Uint8Array): Uint8Array {
  const len = name ? Math.ceil((name.length + 1) / 16) * 16 : 0;
  const b = new Uint8Array(16 + len);
  const v = new DataView(b.buffer);
  v.setInt32(0, wd, true);
  v.setUint32(4, mask >>> 0, true);
  v.setUint32(8, cookie, true);
  v.setUint32(12, len, true);
  if (name) b.set(name, 16);
  return b;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Queues one event (merged with an identical last one; Q_OVERFLOW once the queue is full). */
export function queueEvent(inst: InotifyFd, wd: number, mask: number, cookie = 0, name?: Uint8Array): void {
  let ev = encodeEvent(wd, mask, cookie, name);
  const last = inst.queue[inst.queue.length - 1];
  if (last && sameBytes(last, ev)) return;
  if (inst.queue.length >= MAX_QUEUED_EVENTS) {
    ev = encodeEvent(-1, IN_Q_OVERFLOW, 0);
    if (last && sameBytes(last, ev)) return;
  }
  inst.queue.push(ev);
  inst.queued += ev.length;
  kernel?.wake();
}

/** Removes a watch, queueing IN_IGNORED. */
export function dropWatch(inst: InotifyFd, w: InotifyWatch): void {
  inst.watches.delete(w.wd);
  queueEvent(inst, w.wd, IN_IGNORED);
}

/** Sends `mask` to the watches of one inode (name: as its directory's watch reports it). */
function toWatchesOf(n: Node, mask: number, cookie: number, name?: Uint8Array): void {
  for (const inst of inotifyInstances) {
    for (const w of [...inst.watches.values()]) {
      if (w.dev !== n.dev || w.ino !== n.ino || !(w.mask & mask & IN_ALL_EVENTS)) continue;
      queueEvent(inst, w.wd, mask, cookie, name);
      if (w.mask & IN_ONESHOT) dropWatch(inst, w);
    }
  }
}

/** An event on a child: its directory's watches (with the name) first, then its own. */
export function childEvent(s: Subject | null, mask: number): void {
  if (!s) return;
  const m = mask | (s.isDir ? IN_ISDIR : 0);
  if (s.dir && s.name) toWatchesOf(s.dir, m, 0, s.name);
  toWatchesOf(s, m, 0);
}

/** An event on the inode's own watches only (ATTRIB for a link count, MOVE_SELF). */
export function selfEvent(n: Node | null, mask: number): void {
  if (n) toWatchesOf(n, mask | (n.isDir ? IN_ISDIR : 0), 0);
}

/** A directory entry event (CREATE, DELETE, MOVED_*) on the directory's watches. */
export function entryEvent(e: { dir: Node; name: Uint8Array } | null, mask: number, childIsDir: boolean, cookie = 0): void {
  if (e) toWatchesOf(e.dir, mask | (childIsDir ? IN_ISDIR : 0), cookie, e.name);
}

/** The inode is gone (its last link removed and no guest file open on it): DELETE_SELF and
 *  the end of its watches. */
export function inodeGone(n: Node | null): void {
  if (!n) return;
  for (const inst of inotifyInstances) {
    for (const w of [...inst.watches.values()]) {
      if (w.dev !== n.dev || w.ino !== n.ino) continue;
      if (w.mask & IN_DELETE_SELF) queueEvent(inst, w.wd, IN_DELETE_SELF);
      dropWatch(inst, w);
    }
  }
}

function hasWatch(n: Node): boolean {
  for (const inst of inotifyInstances) for (const w of inst.watches.values()) if (w.dev === n.dev && w.ino === n.ino) return true;
  return false;
}

/** Inodes unlinked while a guest file was open on them: DELETE_SELF comes at the last close. */
const unlinkedOpen: Node[] = [];

/** Whether no guest file (but `except`) is open on `n`. */
function goneNow(n: Node, except?: HostFile): boolean {
  for (const f of openFiles()) {
    if (f === except) continue;
    try {
      const st = fstatSync(f.hostFd, { bigint: true });
      if (st.dev === n.dev && st.ino === n.ino) return false;
    } catch {
      // closed meanwhile
    }
  }
  return true;
}

// ---- the hooks ------------------------------------------------------------------------------

/** Before open(2) with O_CREAT: whether the path exists (null when nothing watches). */
export function beforeCreate(path: string): boolean | null {
  if (!watching()) return null;
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** After a successful open: CREATE (if it made the file), OPEN, MODIFY for O_TRUNC. */
export function afterOpen(f: HostFile, path: string, existed: boolean | null, trunc: boolean): void {
  const e = entryAt(path);
  if (e) openedAt.set(f, e);
  if (!watching()) return;
  const s = subjectOfFile(f);
  if (!s) return;
  if (existed === false) entryEvent(e, IN_CREATE, s.isDir);
  childEvent(s, IN_OPEN);
  if (trunc && existed !== false) childEvent(s, IN_MODIFY);
}

/** read/getdents (ACCESS), write/ftruncate (MODIFY), fchmod/fchown (ATTRIB) on an open file. */
export function fileEvent(f: HostFile, mask: number): void {
  if (!watching()) return;
  childEvent(subjectOfFile(f), mask);
}

/** The last reference to an open host file goes (before the host fd is closed). */
export function beforeClose(f: HostFile, write: boolean): void {
  if (!watching()) return;
  const s = subjectOfFile(f);
  childEvent(s, write ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
  if (!s) return;
  const i = unlinkedOpen.findIndex((n) => n.dev === s.dev && n.ino === s.ino);
  if (i >= 0 && goneNow(s, f)) {
    unlinkedOpen.splice(i, 1);
    inodeGone(s);
  }
}

/** After unlink/rmdir of `s` (taken before the call). */
export function afterUnlink(s: Subject | null): void {
  if (!s) return;
  let nlink = 0n;
  if (!s.isDir) {
    selfEvent(s, IN_ATTRIB);
    nlink = linksLeft(s);
  }
  if (nlink === 0n && hasWatch(s)) {
    if (s.isDir || goneNow(s)) inodeGone(s);
    else unlinkedOpen.push({ dev: s.dev, ino: s.ino, isDir: s.isDir });
  }
  if (s.dir && s.name) entryEvent({ dir: s.dir, name: s.name }, IN_DELETE, s.isDir);
}

/** Links left on an inode after one of its names was removed. */
function linksLeft(s: Subject): bigint {
  return s.nlink !== undefined ? s.nlink - 1n : 0n;
}

/** The subject of an unlink/rename target, with its link count (for linksLeft). */
export function subjectForRemoval(path: string): Subject | null {
  return subjectAt(path, false, true);
}

/** After rename(from, to): MOVED_FROM/MOVED_TO with one cookie, the replaced target's link
 *  count, MOVE_SELF, and the end of a replaced target nothing holds open. */
export function afterRename(src: Subject | null, to: { dir: Node; name: Uint8Array } | null, target: Subject | null): void {
  if (!src) return;
  const cookie = nextCookie++;
  if (src.dir && src.name) entryEvent({ dir: src.dir, name: src.name }, IN_MOVED_FROM, src.isDir, cookie);
  entryEvent(to, IN_MOVED_TO, src.isDir, cookie);
  const replaced = target && !(target.dev === src.dev && target.ino === src.ino) ? target : null;
  if (replaced && !replaced.isDir) selfEvent(replaced, IN_ATTRIB);
  selfEvent(src, IN_MOVE_SELF);
  if (replaced && (replaced.isDir || linksLeft(replaced) === 0n) && hasWatch(replaced)) {
    if (replaced.isDir || goneNow(replaced)) inodeGone(replaced);
    else unlinkedOpen.push({ dev: replaced.dev, ino: replaced.ino, isDir: false });
  }
}

/** After link(2): the source's link count changed, then the new name. */
export function afterLink(src: Subject | null, to: { dir: Node; name: Uint8Array } | null): void {
  if (!src) return;
  selfEvent(src, IN_ATTRIB);
  entryEvent(to, IN_CREATE, src.isDir);
}

/** After mkdir/symlink/mknod made `path`. */
export function afterCreate(path: string, isDir: boolean): void {
  entryEvent(entryAt(path), IN_CREATE, isDir);
}
