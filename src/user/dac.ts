// File permission checks for a guest that is not root while rvisor is (discretionary access
// control, as Linux's fs/namei.c and fs/attr.c apply it). Every file call of the guest reaches
// the host as rvisor's own user; when that user is root, the host kernel would let a guest that
// dropped root (setuid, chpst -u nobody) read /etc/shadow. So while the host process is root and
// the guest's file-system uid is not, rvisor walks each path itself first and applies the mode
// bits against the guest's fsuid, fsgid and supplementary groups (creds.ts):
//   - search (x) on every directory a lookup goes through, symlinks followed as Linux does
//     (path_resolution(7));
//   - read/write on the file an open or truncate names, execute for execve, the real ids for
//     access(2) unless AT_EACCESS;
//   - write+search on the directory for a name made or removed, the sticky bit for removals and
//     renames, write on a directory moved to another parent;
//   - ownership for chmod, chown, explicit times and links (fs.protected_hardlinks);
// and what a guest creates is given to its fsuid and fsgid (or the directory's group under a
// set-group-id directory). A guest whose fsuid is 0 keeps root's capabilities (CAP_DAC_OVERRIDE,
// CAP_FOWNER, CAP_CHOWN) and is checked by the host kernel alone, as is everything when rvisor's
// user is not root (the host then refuses what the guest may not do). Only the mode bits are
// applied: POSIX ACLs, file capabilities and immutable flags are the host's to enforce.
import { chmodSync, fchmodSync, fchownSync, fstatSync, realpathSync, lchownSync, lstatSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { HOST_ROOT, type Creds } from './creds.js';
import { ERRNO } from './errno.js';
import { hostPath, pathString } from './paths.js';
import { procGuestPath } from './procfs.js';

export const MAY_EXEC = 1;
export const MAY_WRITE = 2;
export const MAY_READ = 4;

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IXGRP = 0o010;

/** The ids a check is made for. */
interface FsIds { uid: number; gid: number; groups: readonly number[] }

/** The ids rvisor must check file access for, or null when the host kernel's own checks are
 *  the guest's (rvisor is not root, or the guest's fsuid is 0). */
export function enforcedIds(c: Creds): FsIds | null {
  if (!HOST_ROOT || c.fsuid === 0) return null;
  return { uid: c.fsuid, gid: c.fsgid, groups: c.groups };
}

/** access(2)'s ids: the real ones (the effective ones with AT_EACCESS). */
function accessIds(c: Creds, effective: boolean): FsIds | null {
  if (effective) return enforcedIds(c);
  if (!HOST_ROOT || c.ruid === 0) return null;
  return { uid: c.ruid, gid: c.rgid, groups: c.groups };
}

const inGroup = (ids: FsIds, gid: number): boolean => ids.gid === gid || ids.groups.includes(gid);

/** generic_permission without capabilities: the owner's, group's or others' bits, whichever
 *  class the ids fall in first (an owner denied by the owner bits is denied). */
function permits(ids: FsIds, st: Stats, mask: number): boolean {
  let mode = st.mode;
  if (st.uid === ids.uid) mode >>= 6;
  else if (inGroup(ids, st.gid)) mode >>= 3;
  return (mode & mask) === mask;
}

/** What is at host path `path` (the link itself unless `follow`), or null. */
function statOf(path: string, follow: boolean): Stats | null {
  try {
    return (follow ? statSync : lstatSync)(hostPath(path), { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** Where a path walk ended: the directory the last name was looked up in and what it found
 *  there (st null: nothing yet). */
interface Found {
  dirSt: Stats | null;
  st: Stats | null;
}

const split = (s: string): string[] => s.split('/').filter((c) => c !== '');

/** Host paths rvisor answers itself (its /proc): never checked here. */
function ours(path: string): boolean {
  if (procGuestPath(path) !== null) return true;
  const fd = /^\/proc\/self\/fd\/\d+/.exec(path);
  if (fd) {
    try {
      return procGuestPath(readlinkSync(fd[0])) !== null;
    } catch {
      return false;
    }
  }
  if (!path.startsWith('/')) {
    try {
      return procGuestPath(process.cwd()) !== null;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Looks `path` (a host path as paths.ts resolves it: absolute, relative to the host cwd, or
 * under /proc/self/fd/N) up as `ids` would: search permission on each directory a name is looked
 * up in, symlinks followed on the way and, with `followLast`, at the end. Returns -EACCES, the
 * Found, or null when the walk fails otherwise (a missing directory, ELOOP, ENOTDIR): the host
 * call then fails the same way.
 */
function walk(ids: FsIds, path: string, followLast: boolean): Found | number | null {
  let cur: string;
  let comps: string[];
  const fd = /^\/proc\/self\/fd\/\d+/.exec(path);
  if (fd) {
    cur = fd[0];
    comps = split(path.slice(fd[0].length));
  } else {
    cur = path.startsWith('/') ? '/' : '.';
    comps = split(path);
  }
  let links = 0;
  let dirSt: Stats | null = null;
  for (;;) {
    if (comps.length === 0) return { dirSt, st: statOf(cur, true) };
    const name = comps.shift()!;
    const last = comps.length === 0;
    const dst = statOf(cur, true);
    if (dst === null || !dst.isDirectory()) return null;
    if (!permits(ids, dst, MAY_EXEC)) return -ERRNO.EACCES;
    dirSt = dst;
    if (name === '.') continue;
    const next = cur === '/' ? `/${name}` : `${cur}/${name}`;
    const st = statOf(next, false);
    if (st === null) return last ? { dirSt, st: null } : null;
    if (st.isSymbolicLink() && (!last || followLast)) {
      if (++links > 40) return null;
      let target: string;
      try {
        target = pathString(readlinkSync(hostPath(next), { encoding: 'buffer' })); // bytes kept
      } catch {
        return null;
      }
      // A magic link of the host's /proc (an fd's file): not a name to walk; the host follows it.
      if (!target.startsWith('/') && /^\/proc\//.test(next) && /^\w+:\[/.test(target)) return null;
      if (target.startsWith('/')) cur = '/';
      comps = [...split(target), ...comps];
      continue;
    }
    if (last) return { dirSt, st };
    cur = next;
  }
}

/** The walk for a check: null when nothing is to be checked (or the host call will fail anyway). */
function look(ids: FsIds, path: string, followLast: boolean): Found | number | null {
  if (ours(path)) return null;
  return walk(ids, path, followLast);
}

/** Search permission along `path` (stat, readlink, getxattr and the like): 0 or -EACCES. */
export function mayLookup(c: Creds, path: string, followLast: boolean): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const f = look(ids, path, followLast);
  return typeof f === 'number' ? f : 0;
}

/** Access `mask` to what `path` names (MAY_READ etc.), found as open or access(2) would. */
function mayUse(ids: FsIds, path: string, follow: boolean, mask: number, dirOnly = false): number {
  const f = look(ids, path, follow);
  if (f === null || typeof f === 'number') return f ?? 0;
  if (f.st === null || mask === 0 || (dirOnly && !f.st.isDirectory())) return 0;
  if (f.st.isDirectory() && mask & MAY_WRITE) return 0; // EISDIR, from the host
  // Execute needs an x bit even for the owner, and a regular file (the host checks the rest).
  return permits(ids, f.st, mask) ? 0 : -ERRNO.EACCES;
}

const O_ACCMODE = 3;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const O_NOFOLLOW = 0o400000;
const O_PATH = 0o10000000;

/** open/openat/openat2 with guest `flags`: 0 or -EACCES. */
export function mayOpen(c: Creds, path: string, flags: number): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const excl = (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL);
  const f = look(ids, path, !(flags & O_NOFOLLOW) && !excl);
  if (f === null || typeof f === 'number') return f ?? 0;
  if (f.st === null) {
    if (flags & O_CREAT && f.dirSt && !permits(ids, f.dirSt, MAY_WRITE | MAY_EXEC)) return -ERRNO.EACCES;
    return 0;
  }
  if (excl || flags & O_PATH || f.st.isSymbolicLink()) return 0;
  const acc = flags & O_ACCMODE;
  let mask = acc === 0 ? MAY_READ : acc === 1 ? MAY_WRITE : MAY_READ | MAY_WRITE;
  if (flags & O_TRUNC) mask |= MAY_WRITE;
  if (f.st.isDirectory() && mask & MAY_WRITE) return 0;
  return permits(ids, f.st, mask) ? 0 : -ERRNO.EACCES;
}

/** access/faccessat/faccessat2 (mode: R_OK 4, W_OK 2, X_OK 1; 0 only checks the lookup). */
export function mayAccess(c: Creds, path: string, mode: number, effective: boolean, follow: boolean): number {
  const ids = accessIds(c, effective);
  if (ids === null) return 0;
  return mayUse(ids, path, follow, mode & 7);
}

/** Read, write or execute `path` (execve, truncate, inotify watches; with `dirOnly`, chdir's
 *  search, where a file that is no directory is ENOTDIR from the host). */
export function mayAccessFile(c: Creds, path: string, mask: number, dirOnly = false, follow = true): number {
  const ids = enforcedIds(c);
  return ids === null ? 0 : mayUse(ids, path, follow, mask, dirOnly);
}

/** A new name at `path` (mkdir, mknod, symlink, link, bind): write and search on the directory
 *  when the name is free (a taken name is EEXIST, from the host). */
export function mayCreate(c: Creds, path: string): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const f = look(ids, path, false);
  if (f === null || typeof f === 'number') return f ?? 0;
  if (f.st !== null || f.dirSt === null) return 0;
  return permits(ids, f.dirSt, MAY_WRITE | MAY_EXEC) ? 0 : -ERRNO.EACCES;
}

/** may_delete: write and search on the directory, then the sticky bit (only the owner of the
 *  file or of the directory may remove a name from a sticky one). */
function deleteCheck(ids: FsIds, f: Found): number {
  if (f.st === null || f.dirSt === null) return 0;
  if (!permits(ids, f.dirSt, MAY_WRITE | MAY_EXEC)) return -ERRNO.EACCES;
  if (f.dirSt.mode & S_ISVTX && f.dirSt.uid !== ids.uid && f.st.uid !== ids.uid) return -ERRNO.EPERM;
  return 0;
}

/** unlink/rmdir of `path`. */
export function mayDelete(c: Creds, path: string): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const f = look(ids, path, false);
  if (f === null || typeof f === 'number') return f ?? 0;
  return deleteCheck(ids, f);
}

/** rename(from, to): removal of the old name, a new name (or the removal of the one replaced),
 *  and write on a directory that moves to another parent (its ".." changes). */
export function mayRename(c: Creds, from: string, to: string): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const a = look(ids, from, false);
  if (a === null || typeof a === 'number') return a ?? 0;
  const b = look(ids, to, false);
  if (b === null || typeof b === 'number') return b ?? 0;
  if (a.st === null) return 0;
  let r = deleteCheck(ids, a);
  if (r) return r;
  if (b.st === null) {
    if (b.dirSt && !permits(ids, b.dirSt, MAY_WRITE | MAY_EXEC)) return -ERRNO.EACCES;
  } else if (a.st.ino !== b.st.ino || a.st.dev !== b.st.dev) {
    r = deleteCheck(ids, b);
    if (r) return r;
  }
  const moved = a.dirSt && b.dirSt && (a.dirSt.ino !== b.dirSt.ino || a.dirSt.dev !== b.dirSt.dev);
  if (a.st.isDirectory() && moved && !permits(ids, a.st, MAY_WRITE)) return -ERRNO.EACCES;
  return 0;
}

let hardlinkProtection: boolean | undefined;
/** fs.protected_hardlinks: whether only a file's owner (or one who may read and write a plain
 *  file) may link it. */
function protectedHardlinks(): boolean {
  if (hardlinkProtection === undefined) {
    try {
      hardlinkProtection = readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8').trim() !== '0';
    } catch {
      hardlinkProtection = true;
    }
  }
  return hardlinkProtection;
}

/** link(from, to): the new name, then may_linkat's rule for the file linked. */
export function mayLink(c: Creds, from: string, to: string, follow: boolean): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  // do_linkat's order: both lookups, a taken new name (EEXIST) and another file system (EXDEV)
  // from the host, then may_linkat (EPERM), then write on the new directory (EACCES).
  const a = look(ids, from, follow);
  if (typeof a === 'number') return a;
  if (a === null || a.st === null) return 0; // ENOENT and the like for the old name come first
  const b = look(ids, to, false);
  if (typeof b === 'number') return b;
  if (b === null || b.st !== null || b.dirSt === null) return 0;
  if (a.st.dev !== b.dirSt.dev) return 0;
  if (protectedHardlinks() && a.st.uid !== ids.uid) {
    const m = a.st.mode;
    const safe = a.st.isFile() && !(m & S_ISUID) && (m & (S_ISGID | S_IXGRP)) !== (S_ISGID | S_IXGRP) && permits(ids, a.st, MAY_READ | MAY_WRITE);
    if (!safe) return -ERRNO.EPERM;
  }
  return permits(ids, b.dirSt, MAY_WRITE | MAY_EXEC) ? 0 : -ERRNO.EACCES;
}

/** The file a metadata change applies to: by path (followed or not) or by an open host fd. */
export type Target = { path: string; follow: boolean } | { fd: number };

function targetStat(ids: FsIds, t: Target): Stats | number | null {
  if ('fd' in t) {
    try {
      return fstatSync(t.fd);
    } catch {
      return null;
    }
  }
  const f = look(ids, t.path, t.follow);
  if (f === null || typeof f === 'number') return f;
  return f.st;
}

/** chmod: only the owner (EPERM). Returns the mode to set (a set-group-id bit is dropped when
 *  the caller is not in the file's group, as Linux does) or -errno. */
export function chmodMode(c: Creds, t: Target, mode: number): number {
  const ids = enforcedIds(c);
  if (ids === null) return mode;
  const st = targetStat(ids, t);
  if (typeof st === 'number') return st;
  if (st === null) return mode;
  if (st.uid !== ids.uid) return -ERRNO.EPERM;
  return inGroup(ids, st.gid) ? mode : mode & ~S_ISGID;
}

/** chown (uid/gid -1: unchanged): without CAP_CHOWN the owner may only give the file to a group
 *  it is in, and nobody may change the owner. */
export function mayChown(c: Creds, t: Target, uid: number, gid: number): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const st = targetStat(ids, t);
  if (typeof st === 'number') return st;
  if (st === null) return 0;
  if (uid !== -1 && (st.uid !== ids.uid || uid !== st.uid)) return -ERRNO.EPERM;
  if (gid !== -1 && (st.uid !== ids.uid || (gid !== st.gid && !inGroup(ids, gid)))) return -ERRNO.EPERM;
  return 0;
}

/** utimensat/futimens: explicit times need the owner (EPERM); "now" the owner or write
 *  permission (EACCES). */
export function mayTouch(c: Creds, t: Target, explicit: boolean): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const st = targetStat(ids, t);
  if (typeof st === 'number') return st;
  if (st === null || st.uid === ids.uid) return 0;
  if (explicit) return -ERRNO.EPERM;
  return permits(ids, st, MAY_WRITE) ? 0 : -ERRNO.EACCES;
}

/** Search permission on an open directory (fchdir). */
export function maySearchFd(c: Creds, fd: number): number {
  const ids = enforcedIds(c);
  if (ids === null) return 0;
  const st = targetStat(ids, { fd });
  return typeof st === 'number' || st === null || permits(ids, st, MAY_EXEC) ? 0 : -ERRNO.EACCES;
}

/** Gives what the guest just made at `path` (or open as host fd `fd`) to its fsuid, and to its
 *  fsgid unless the directory is set-group-id (the host already gave it the directory's group).
 *  Set-id bits the host's chown clears are put back. */
export function ownCreated(c: Creds, path: string, fd?: number): void {
  const ids = enforcedIds(c);
  if (ids === null || ours(path)) return;
  try {
    const st = fd !== undefined ? fstatSync(fd) : lstatSync(hostPath(path));
    const parent = statSync(hostPath(dirname(path)));
    const gid = parent.mode & S_ISGID ? st.gid : ids.gid;
    if (fd !== undefined) fchownSync(fd, ids.uid, gid);
    else lchownSync(hostPath(path), ids.uid, gid);
    if (st.mode & (S_ISUID | S_ISGID) && !st.isDirectory() && !st.isSymbolicLink()) {
      if (fd !== undefined) fchmodSync(fd, st.mode & 0o7777);
      else chmodSync(hostPath(path), st.mode & 0o7777);
    }
  } catch {
    // gone already, or a file system without owners: it stays as the host made it
  }
}

/** Whether host file `path` is on a file system mounted nosuid (/proc/self/mountinfo: the
 *  longest mount point above its real path). */
function onNosuidMount(path: string): boolean {
  try {
    const real = realpathSync(hostPath(path));
    let best = '';
    let nosuid = false;
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f.length < 6) continue;
      const mp = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      const under = mp === '/' || real === mp || real.startsWith(mp + '/');
      if (under && mp.length >= best.length) {
        best = mp;
        nosuid = f[5]!.split(',').includes('nosuid');
      }
    }
    return nosuid;
  } catch {
    return true; // unknown: no new privileges
  }
}

/** execve's new credentials (execve(2), credentials(7)): a set-user-ID file makes its owner the
 *  effective uid and a set-group-ID, group-executable one its group the effective gid, unless
 *  the process asked for no new privileges (PR_SET_NO_NEW_PRIVS) or the file system is mounted
 *  nosuid; rvisor carries this out only
 *  while it is root (otherwise, as with qemu-user, the bits are ignored: rvisor could not act
 *  as another user). The saved and file-system ids then copy the effective ones. */
export function execCreds(c: Creds, path: string, st: Stats, noNewPrivs: boolean): void {
  if (HOST_ROOT && !noNewPrivs && st.mode & (S_ISUID | S_ISGID) && !onNosuidMount(path)) {
    if (st.mode & S_ISUID) c.euid = st.uid;
    if ((st.mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) c.egid = st.gid;
  }
  c.suid = c.fsuid = c.euid;
  c.sgid = c.fsgid = c.egid;
}
