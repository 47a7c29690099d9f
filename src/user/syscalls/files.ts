// System calls on paths and file metadata: openat, the stat family, getdents64, directory and
// link operations, permissions, times, the working directory.
import { IN_ACCESS, IN_ATTRIB, IN_MODIFY, afterCreate, afterLink, afterOpen, afterRename, afterUnlink, beforeCreate, childEvent, entryAt, fileEvent, subjectAt, subjectForRemoval } from '../inotify.js';
import { isSpecial, specialLinkName } from '../fd-kinds.js';
import {
  accessSync, chmodSync, chownSync, constants as C, fchmodSync, fchownSync, fstatSync, lchownSync, linkSync,
  lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync, rmdirSync, statSync,
  statfsSync, symlinkSync, truncateSync, unlinkSync, closeSync, type BigIntStats,
} from 'node:fs';
import { ERRNO, hostErrno } from '../errno.js';
import {
  O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL, O_NOATIME, O_NOCTTY,
  O_NOFOLLOW, O_NONBLOCK, O_PATH, O_SYNC, O_TMPFILE, O_TRUNC, type HostFile,
} from '../fd-table.js';
import { hostPath, readPath, resolveAt } from '../paths.js';
import { coherentHostIo } from '../page-cache.js';
import { openPtyPath, ptyLinkName, ptyPathStat, ptyStat } from './pty-files.js';
import type { Process } from '../process.js';
import { procGuestPath, procOpenCheck, procResolve } from '../procfs.js';
import { S_IFIFO, encodeStat, encodeStatfs, encodeStatx, fromHost, type StatFields } from '../stat.js';
import type { Thread } from '../thread.js';
import { makeFifo } from './mkfifo.js';
import { MAY_EXEC, MAY_WRITE, chmodMode, enforcedIds, mayAccess, mayAccessFile, mayChown, mayCreate, mayDelete, mayLink, mayLookup, mayOpen, mayRename, maySearchFd, ownCreated } from '../dac.js';
import { adoptHostCwd, heldCwd } from '../workdir.js';
import { fifoOpenWaits, openFifo } from '../fifo-open.js';
import { S_IFBLK, S_IFCHR, makeDevice } from './device-node.js';
import { AT_FDCWD, int, long, size, u32, type SyscallDef, type SysResult } from './abi.js';

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_REMOVEDIR = 0x200;
const AT_SYMLINK_FOLLOW = 0x400;
const AT_EMPTY_PATH = 0x1000;
const AT_EACCESS = 0x200;

/** Runs a host call, turning a thrown system error into -errno. */
function host<T>(fn: () => T): T | number {
  try {
    return fn();
  } catch (e) {
    return hostErrno(e);
  }
}

/** Reads the path argument and resolves it against dirfd: a host path or -errno. */
function pathArg(p: Process, dirfd: bigint, ptr: bigint, allowEmpty = false): string | number {
  const s = readPath(p, ptr);
  if (typeof s === 'number') return s;
  return resolveAt(p, int(dirfd), s, allowEmpty);
}

/** Guest open flags → host flags (numeric values differ between architectures). */
function hostOpenFlags(flags: number): number {
  let h = 0;
  const acc = flags & O_ACCMODE;
  h |= acc === 0 ? C.O_RDONLY : acc === 1 ? C.O_WRONLY : C.O_RDWR;
  const map: Array<[number, number | undefined]> = [
    [O_CREAT, C.O_CREAT], [O_EXCL, C.O_EXCL], [O_NOCTTY, C.O_NOCTTY], [O_TRUNC, C.O_TRUNC], [O_APPEND, C.O_APPEND],
    [O_NONBLOCK, C.O_NONBLOCK], [O_DIRECTORY, C.O_DIRECTORY], [O_NOFOLLOW, C.O_NOFOLLOW], [O_DIRECT, C.O_DIRECT],
    [O_NOATIME, C.O_NOATIME], [O_DSYNC, C.O_DSYNC],
  ];
  for (const [g, hv] of map) if (flags & g && hv !== undefined) h |= hv;
  if ((flags & O_SYNC) === O_SYNC && C.O_SYNC !== undefined) h |= C.O_SYNC;
  return h;
}

/** O_PATH on a Linux host (Node's fs.constants lacks it; the value is the same on every
 *  architecture Node runs on). */
const HOST_O_PATH = 0o10000000;

export function openHost(p: Process, path: string, flags: number, mode: number): SysResult {
  if ((flags & O_TMPFILE) === O_TMPFILE) return -ERRNO.EOPNOTSUPP;
  const denied = procOpenCheck(p, path, flags) || mayOpen(p.creds, path, flags);
  if (denied) return denied;
  // A file the guest creates is its own (dac.ts) when rvisor's user differs from it.
  const fresh = flags & O_CREAT && !(flags & O_PATH) && enforcedIds(p.creds) !== null && host(() => lstatSync(hostPath(path))) === -ERRNO.ENOENT;
  let hflags = hostOpenFlags(flags);
  // O_PATH is opened as O_PATH on the host too (an O_RDONLY open would fail with ELOOP on a
  // symlink under O_NOFOLLOW, and with EACCES on a file the user cannot read).
  if (flags & O_PATH) hflags = HOST_O_PATH | (flags & O_DIRECTORY ? C.O_DIRECTORY : 0) | (flags & O_NOFOLLOW ? C.O_NOFOLLOW : 0);
  process.umask(p.umask); // the host's umask is the process's own while it creates files
  const existed = flags & O_CREAT && !(flags & O_PATH) ? beforeCreate(path) : null;
  // A FIFO whose other end is not open yet: only this thread waits (fifo-open.ts).
  if (fifoOpenWaits(path, flags)) return openFifo(p, path, hflags, (fd) => installHost(p, fd, path, flags, existed));
  const fd = host(() => openSync(hostPath(path), hflags, mode));
  if (typeof fd !== 'number' || fd < 0) return fd;
  if (fresh) ownCreated(p.creds, path, fd);
  return installHost(p, fd, path, flags, existed);
}

/** Installs host fd `fd`, just opened at `path` with guest `flags`, as a guest fd. */
function installHost(p: Process, fd: number, path: string, flags: number, existed: ReturnType<typeof beforeCreate>): SysResult {
  let st: BigIntStats;
  try {
    st = fstatSync(fd, { bigint: true });
  } catch (e) {
    return hostErrno(e);
  }
  const seekable = st.isFile() || st.isBlockDevice();
  if (flags & O_TRUNC && st.isFile()) coherentHostIo(fd, true, () => 0); // mapped pages now read as zeros
  const file: HostFile = {
    kind: 'host', hostFd: fd, path, flags: flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
    isDir: st.isDirectory(), pos: seekable ? 0 : null, seekable, dirPos: 0, keepOpen: false, refs: 0,
  };
  const gfd = p.fds.install(file, (flags & O_CLOEXEC) !== 0);
  if (gfd < 0) host(() => closeSync(fd));
  else if (!(flags & O_PATH)) afterOpen(file, path, existed, (flags & O_TRUNC) !== 0);
  return gfd;
}

const sysOpenat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const guestPath = readPath(p, a[1]!);
  if (typeof guestPath === 'string' && guestPath.startsWith('/dev/')) {
    const r = openPtyPath(p, guestPath, int(a[2]));
    if (r !== null) return r;
  }
  const path = pathArg(p, a[0]!, a[1]!);
  if (typeof path === 'number') return path;
  return openHost(p, path, int(a[2]), u32(a[3]) & 0o7777);
};

// ---- stat ----------------------------------------------------------------------------------

function statOf(p: Process, dirfd: bigint, ptr: bigint, flags: number): StatFields | number {
  const s = readPath(p, ptr);
  if (typeof s === 'number') return s;
  if (s === '' && flags & AT_EMPTY_PATH) {
    const fd = int(dirfd);
    if (fd !== AT_FDCWD) return fstatFields(p, fd);
  }
  const pts = ptyPathStat(p, s);
  if (pts) return pts;
  const path = resolveAt(p, int(dirfd), s, (flags & AT_EMPTY_PATH) !== 0);
  if (typeof path === 'number') return path;
  const denied = mayLookup(p.creds, path, !(flags & AT_SYMLINK_NOFOLLOW));
  if (denied) return denied;
  const st = host(() => (flags & AT_SYMLINK_NOFOLLOW ? lstatSync(hostPath(path), { bigint: true }) : statSync(hostPath(path), { bigint: true })));
  return typeof st === 'number' ? st : fromHost(st);
}

function fstatFields(p: Process, fd: number): StatFields | number {
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  if (f.kind === 'socket') {
    return {
      dev: 8n, ino: BigInt(f.id), mode: 0o140777, nlink: 1, uid: p.uid, gid: p.gid, rdev: 0n, size: 0n,
      blksize: 4096, blocks: 0n, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, birthtimeNs: 0n,
    };
  }
  if (f.kind === 'pty') return ptyStat(p, f);
  if (f.kind !== 'host') {
    return {
      dev: f.kind === 'pipe' ? 12n : 13n, ino: BigInt(f.kind === 'pipe' ? f.pipe.id : f.id), mode: f.kind === 'pipe' ? S_IFIFO | 0o600 : 0o600, nlink: 1, uid: p.uid, gid: p.gid, rdev: 0n, size: 0n,
      blksize: 4096, blocks: 0n, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, birthtimeNs: 0n,
    };
  }
  const st = host(() => fstatSync(f.hostFd, { bigint: true }));
  return typeof st === 'number' ? st : fromHost(st);
}

const sysFstat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const s = fstatFields(p, int(a[0]));
  if (typeof s === 'number') return s;
  return p.as.write(a[1]!, encodeStat(s)) ? 0 : -ERRNO.EFAULT;
};

const sysNewfstatat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[3]);
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800)) return -ERRNO.EINVAL;
  const s = statOf(p, a[0]!, a[1]!, flags);
  if (typeof s === 'number') return s;
  return p.as.write(a[2]!, encodeStat(s)) ? 0 : -ERRNO.EFAULT;
};

const sysStatx = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[2]);
  const s = statOf(p, a[0]!, a[1]!, flags);
  if (typeof s === 'number') return s;
  return p.as.write(a[4]!, encodeStatx(s)) ? 0 : -ERRNO.EFAULT;
};

const sysStatfs = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const path = pathArg(p, BigInt(AT_FDCWD), a[0]!);
  if (typeof path === 'number') return path;
  const denied = mayLookup(p.creds, path, true);
  if (denied) return denied;
  const st = host(() => statfsSync(hostPath(path)));
  if (typeof st === 'number') return st;
  return p.as.write(a[1]!, encodeStatfs(st)) ? 0 : -ERRNO.EFAULT;
};

const sysFstatfs = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  const path = f.kind === 'host' ? `/proc/self/fd/${f.hostFd}` : '/';
  const st = host(() => statfsSync(path));
  if (typeof st === 'number') return st;
  return p.as.write(a[1]!, encodeStatfs(st)) ? 0 : -ERRNO.EFAULT;
};

// ---- directories ------------------------------------------------------------------------------

const DT_TYPES: Array<[string, number]> = [
  ['isFIFO', 1], ['isCharacterDevice', 2], ['isDirectory', 4], ['isBlockDevice', 6], ['isFile', 8], ['isSymbolicLink', 10], ['isSocket', 12],
];

function direntType(d: { [k: string]: unknown }): number {
  for (const [m, t] of DT_TYPES) if (typeof d[m] === 'function' && (d[m] as () => boolean).call(d)) return t;
  return 0;
}

function loadDirents(p: Process, f: HostFile): void {
  const proc = procGuestPath(f.path);
  if (proc !== null) procResolve(p, proc); // list /proc as it is now (e.g. this fd in /proc/self/fd)
  const dir = `/proc/self/fd/${f.hostFd}`;
  const enc = new TextEncoder();
  const list: Array<{ ino: bigint; type: number; name: Uint8Array }> = [];
  const ino = (path: string | Buffer): bigint => {
    try {
      return lstatSync(path, { bigint: true }).ino;
    } catch {
      return 0n;
    }
  };
  list.push({ ino: ino(dir + '/.'), type: 4, name: enc.encode('.') });
  list.push({ ino: ino(dir + '/..'), type: 4, name: enc.encode('..') });
  for (const d of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
    const name = new Uint8Array(d.name);
    list.push({ ino: ino(Buffer.concat([Buffer.from(dir + '/'), d.name])), type: direntType(d as unknown as { [k: string]: unknown }), name });
  }
  f.dirents = list;
}

const sysGetdents64 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host' || !f.isDir) return -ERRNO.ENOTDIR;
  const count = Math.min(size(a[2]), 1 << 20);
  if (!f.dirents) {
    try {
      loadDirents(p, f);
    } catch (e) {
      return hostErrno(e);
    }
  }
  const list = f.dirents!;
  const out = new Uint8Array(count);
  const dv = new DataView(out.buffer);
  let o = 0;
  while (f.dirPos < list.length) {
    const d = list[f.dirPos]!;
    const reclen = Math.ceil((19 + d.name.length + 1) / 8) * 8;
    if (o + reclen > count) {
      if (o === 0) return -ERRNO.EINVAL;
      break;
    }
    dv.setBigUint64(o, d.ino, true);
    dv.setBigInt64(o + 8, BigInt(f.dirPos + 1), true);
    dv.setUint16(o + 16, reclen, true);
    out[o + 18] = d.type;
    out.set(d.name, o + 19);
    out.fill(0, o + 19 + d.name.length, o + reclen);
    o += reclen;
    f.dirPos++;
  }
  if (o > 0 && !p.as.write(a[1]!, out.subarray(0, o))) return -ERRNO.EFAULT;
  fileEvent(f, IN_ACCESS);
  return o;
};

const sysMkdirat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const path = pathArg(p, a[0]!, a[1]!);
  if (typeof path === 'number') return path;
  const denied = mayCreate(p.creds, path);
  if (denied) return denied;
  process.umask(p.umask);
  return host(() => (mkdirSync(hostPath(path), { mode: u32(a[2]) & 0o7777 }), ownCreated(p.creds, path), afterCreate(path, true), 0));
};

const sysUnlinkat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[2]);
  if (flags & ~AT_REMOVEDIR) return -ERRNO.EINVAL;
  const path = pathArg(p, a[0]!, a[1]!);
  if (typeof path === 'number') return path;
  const denied = mayDelete(p.creds, path);
  if (denied) return denied;
  const gone = subjectForRemoval(path);
  return host(() => (flags & AT_REMOVEDIR ? rmdirSync(hostPath(path)) : unlinkSync(hostPath(path)), afterUnlink(gone), 0));
};

const sysRenameat2 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const from = pathArg(p, a[0]!, a[1]!);
  if (typeof from === 'number') return from;
  const to = pathArg(p, a[2]!, a[3]!);
  if (typeof to === 'number') return to;
  const flags = int(a[4]);
  if (flags & ~1) return -ERRNO.EINVAL; // only RENAME_NOREPLACE
  const denied = mayRename(p.creds, from, to);
  if (denied) return denied;
  if (flags & 1) {
    const exists = host(() => (lstatSync(hostPath(to)), 1));
    if (exists === 1) return -ERRNO.EEXIST;
  }
  const [src, target, entry] = [subjectForRemoval(from), subjectForRemoval(to), entryAt(to)];
  return host(() => (renameSync(hostPath(from), hostPath(to)), afterRename(src, entry, target), 0));
};

const sysReadlinkat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const s = readPath(p, a[1]!);
  if (typeof s === 'number') return s;
  const bufsiz = int(a[3]);
  if (bufsiz <= 0) return -ERRNO.EINVAL;
  let target: Uint8Array;
  if (s === '/proc/self/exe' || s === `/proc/${p.pid}/exe`) target = new TextEncoder().encode(p.config.exePath);
  else {
    const fdm = /^\/proc\/(?:self|\d+)\/fd\/(\d+)$/.exec(s);
    const f = fdm ? p.fds.get(Number(fdm[1])) : undefined;
    if (f && f.kind === 'pipe') target = new TextEncoder().encode(`pipe:[${f.pipe.id}]`);
    else if (f && f.kind === 'socket') target = new TextEncoder().encode(`socket:[${f.id}]`);
    else if (f && f.kind === 'pty') target = new TextEncoder().encode(ptyLinkName(f));
    else if (f && isSpecial(f)) target = new TextEncoder().encode(specialLinkName(f));
    else if (f && f.kind === 'host' && f.memfd) target = new TextEncoder().encode(f.path);
    else if (s === '') {
      // An O_PATH|O_NOFOLLOW fd of a symlink: its target (read through the path it was opened by).
      const r = emptyPathLink(p, int(a[0]));
      if (typeof r === 'number') return r;
      target = r;
    } else {
      const path = resolveAt(p, int(a[0]), s, true);
      if (typeof path === 'number') return path;
      const denied = mayLookup(p.creds, path, false);
      if (denied) return denied;
      const r = host(() => readlinkSync(hostPath(path), { encoding: 'buffer' }));
      if (typeof r === 'number') return r;
      target = new Uint8Array(r);
    }
  }
  const n = Math.min(target.length, bufsiz);
  return p.as.write(a[2]!, target.subarray(0, n)) ? n : -ERRNO.EFAULT;
};

function emptyPathLink(p: Process, dirfd: number): Uint8Array | number {
  if (dirfd === AT_FDCWD) return -ERRNO.ENOENT;
  const f = p.fds.get(dirfd);
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host') return -ERRNO.ENOENT;
  const st = host(() => fstatSync(f.hostFd));
  if (typeof st === 'number') return st;
  if (!st.isSymbolicLink() || f.path === '') return -ERRNO.ENOENT;
  const r = host(() => readlinkSync(hostPath(f.path), { encoding: 'buffer' }));
  return typeof r === 'number' ? r : new Uint8Array(r);
}

const faccess = (p: Process, dirfd: bigint, ptr: bigint, mode: number, flags: number): SysResult => {
  if (mode & ~7) return -ERRNO.EINVAL;
  const s = readPath(p, ptr);
  if (typeof s === 'number') return s;
  const path = resolveAt(p, int(dirfd), s, (flags & AT_EMPTY_PATH) !== 0);
  if (typeof path === 'number') return path;
  const denied = mayAccess(p.creds, path, mode, (flags & AT_EACCESS) !== 0, !(flags & AT_SYMLINK_NOFOLLOW));
  if (denied) return denied;
  return host(() => (accessSync(hostPath(path), mode), 0));
};

const sysFaccessat = (p: Process, _t: Thread, a: bigint[]): SysResult => faccess(p, a[0]!, a[1]!, int(a[2]), 0);
const sysFaccessat2 = (p: Process, _t: Thread, a: bigint[]): SysResult => faccess(p, a[0]!, a[1]!, int(a[2]), int(a[3]));

const sysGetcwd = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  // getcwd(2): ENOENT once the working directory was removed (Node caches the cwd string and
  // throws only on some paths, so ask the directory itself: an unlinked one has no links).
  let dir: string;
  try {
    if (statSync(heldCwd(p) ?? '.').nlink === 0) return -ERRNO.ENOENT;
    // Linux builds the path in one page: a longer one is ENAMETOOLONG whatever the buffer.
    if (heldCwd(p) !== null) return -ERRNO.ENAMETOOLONG;
    dir = process.cwd();
  } catch {
    return -ERRNO.ENOENT;
  }
  const cwd = new TextEncoder().encode((procGuestPath(dir) ?? dir) + '\0');
  if (size(a[1]) < cwd.length) return -ERRNO.ERANGE;
  return p.as.write(a[0]!, cwd) ? cwd.length : -ERRNO.EFAULT;
};

const sysChdir = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const path = pathArg(p, BigInt(AT_FDCWD), a[0]!);
  if (typeof path === 'number') return path;
  const denied = mayAccessFile(p.creds, path, MAY_EXEC, true);
  if (denied) return denied;
  return host(() => (process.chdir(path), adoptHostCwd(p), 0));
};

const sysFchdir = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host' || !f.isDir) return -ERRNO.ENOTDIR;
  const denied = maySearchFd(p.creds, f.hostFd);
  if (denied) return denied;
  return host(() => (process.chdir(`/proc/self/fd/${f.hostFd}`), adoptHostCwd(p), 0));
};

const sysSymlinkat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const target = readPath(p, a[0]!);
  if (typeof target === 'number') return target;
  const path = pathArg(p, a[1]!, a[2]!);
  if (typeof path === 'number') return path;
  const denied = mayCreate(p.creds, path);
  if (denied) return denied;
  return host(() => (symlinkSync(hostPath(target), hostPath(path)), ownCreated(p.creds, path), afterCreate(path, false), 0));
};

const sysLinkat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[4]);
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -ERRNO.EINVAL;
  const from = pathArg(p, a[0]!, a[1]!, (flags & AT_EMPTY_PATH) !== 0);
  if (typeof from === 'number') return from;
  const to = pathArg(p, a[2]!, a[3]!);
  if (typeof to === 'number') return to;
  const denied = mayLink(p.creds, from, to, (flags & AT_SYMLINK_FOLLOW) !== 0);
  if (denied) return denied;
  const src = subjectAt(from, (flags & AT_SYMLINK_FOLLOW) !== 0);
  return host(() => (linkSync(hostPath(flags & AT_SYMLINK_FOLLOW ? realpathOf(from) : from), hostPath(to)), afterLink(src, entryAt(to)), 0));
};

function realpathOf(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return path;
  }
}

const sysFchmodat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const path = pathArg(p, a[0]!, a[1]!);
  if (typeof path === 'number') return path;
  const mode = chmodMode(p.creds, { path, follow: true }, u32(a[2]) & 0o7777);
  if (mode < 0) return mode;
  return host(() => (chmodSync(hostPath(path), mode), childEvent(subjectAt(path, true), IN_ATTRIB), 0));
};

const sysFchmod = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host') return -ERRNO.EINVAL;
  const mode = chmodMode(p.creds, { fd: f.hostFd }, u32(a[1]) & 0o7777);
  if (mode < 0) return mode;
  return host(() => (fchmodSync(f.hostFd, mode), fileEvent(f, IN_ATTRIB), 0));
};

const idArg = (v: bigint | undefined): number => {
  const n = u32(v);
  return n === 0xffffffff ? -1 : n;
};

const sysFchownat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[4]);
  const path = pathArg(p, a[0]!, a[1]!, (flags & AT_EMPTY_PATH) !== 0);
  if (typeof path === 'number') return path;
  const uid = idArg(a[2]);
  const gid = idArg(a[3]);
  const denied = mayChown(p.creds, { path, follow: !(flags & AT_SYMLINK_NOFOLLOW) }, uid, gid);
  if (denied) return denied;
  return host(() => (flags & AT_SYMLINK_NOFOLLOW ? lchownSync(hostPath(path), uid, gid) : chownSync(hostPath(path), uid, gid), childEvent(subjectAt(path, !(flags & AT_SYMLINK_NOFOLLOW)), IN_ATTRIB), 0));
};

const sysFchown = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host') return -ERRNO.EINVAL;
  const denied = mayChown(p.creds, { fd: f.hostFd }, idArg(a[1]), idArg(a[2]));
  if (denied) return denied;
  return host(() => (fchownSync(f.hostFd, idArg(a[1]), idArg(a[2])), fileEvent(f, IN_ATTRIB), 0));
};

const sysUmask = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const old = p.umask;
  p.umask = u32(a[0]) & 0o777;
  process.umask(p.umask);
  return old;
};

const sysTruncate = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const path = pathArg(p, BigInt(AT_FDCWD), a[0]!);
  if (typeof path === 'number') return path;
  const len = long(a[1]);
  if (len < 0) return -ERRNO.EINVAL;
  const denied = mayAccessFile(p.creds, path, MAY_WRITE);
  if (denied) return denied;
  return host(() => coherentHostIo(path, true, () => (truncateSync(hostPath(path), len), childEvent(subjectAt(path, true), IN_MODIFY), 0)));
};

const sysMknodat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const path = pathArg(p, a[0]!, a[1]!);
  if (typeof path === 'number') return path;
  const mode = u32(a[2]);
  const denied = mayCreate(p.creds, path);
  if (denied) return denied;
  process.umask(p.umask);
  if ((mode & 0o170000) === S_IFIFO) {
    const r = makeFifo(path, mode & 0o7777 & ~p.umask);
    if (r === 0) ownCreated(p.creds, path);
    return r;
  }
  if ((mode & 0o170000) === S_IFCHR || (mode & 0o170000) === S_IFBLK) {
    const r = makeDevice(p.creds, path, mode & 0o170000, mode & 0o7777 & ~p.umask, u32(a[3]));
    if (r === 0) afterCreate(path, false);
    return r;
  }
  if ((mode & 0o170000) === 0o100000 || (mode & 0o170000) === 0) {
    const fd = host(() => openSync(hostPath(path), C.O_CREAT | C.O_EXCL | C.O_WRONLY, mode & 0o7777));
    if (typeof fd === 'number' && fd < 0) return fd;
    ownCreated(p.creds, path, fd as number);
    host(() => closeSync(fd as number));
    afterCreate(path, false);
    return 0;
  }
  return -ERRNO.EPERM;
};

export const FILE_SYSCALLS: Record<number, SyscallDef> = {
  17: { name: 'getcwd', args: 'pu', fn: sysGetcwd },
  33: { name: 'mknodat', args: 'fsox', fn: sysMknodat },
  34: { name: 'mkdirat', args: 'fso', fn: sysMkdirat },
  35: { name: 'unlinkat', args: 'fsx', fn: sysUnlinkat },
  36: { name: 'symlinkat', args: 'sfs', fn: sysSymlinkat },
  37: { name: 'linkat', args: 'fsfsx', fn: sysLinkat },
  43: { name: 'statfs', args: 'sp', fn: sysStatfs },
  44: { name: 'fstatfs', args: 'dp', fn: sysFstatfs },
  45: { name: 'truncate', args: 'sD', fn: sysTruncate },
  48: { name: 'faccessat', args: 'fso', fn: sysFaccessat },
  49: { name: 'chdir', args: 's', fn: sysChdir },
  50: { name: 'fchdir', args: 'd', fn: sysFchdir },
  52: { name: 'fchmod', args: 'do', fn: sysFchmod },
  53: { name: 'fchmodat', args: 'fso', fn: sysFchmodat },
  54: { name: 'fchownat', args: 'fsddx', fn: sysFchownat },
  55: { name: 'fchown', args: 'ddd', fn: sysFchown },
  56: { name: 'openat', args: 'fsxo', fn: sysOpenat },
  61: { name: 'getdents64', args: 'dpu', fn: sysGetdents64 },
  78: { name: 'readlinkat', args: 'fspd', fn: sysReadlinkat },
  79: { name: 'newfstatat', args: 'fspx', fn: sysNewfstatat },
  80: { name: 'fstat', args: 'dp', fn: sysFstat },
  166: { name: 'umask', args: 'o', fn: sysUmask },
  276: { name: 'renameat2', args: 'fsfsx', fn: sysRenameat2 },
  291: { name: 'statx', args: 'fsxxp', fn: sysStatx },
  439: { name: 'faccessat2', args: 'fsox', fn: sysFaccessat2 },
};
