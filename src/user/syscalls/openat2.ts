// openat2(2): struct open_how {u64 flags, u64 mode, u64 resolve} with Linux's strict checks
// (size below 24: EINVAL; above a page, or non-zero bytes past what rvisor knows: E2BIG; unknown
// flags or resolve bits, a mode without O_CREAT/O_TMPFILE: EINVAL). With RESOLVE_* scoping or
// restrictions, rvisor walks the path itself one component at a time with lstat/readlink on the
// host (symlinks counted up to 40: ELOOP) and opens the fully resolved host path:
//   RESOLVE_NO_SYMLINKS    any symlink on the way: ELOOP (a trailing one with O_NOFOLLOW is opened
//                          as itself, as Linux does for O_PATH|O_NOFOLLOW);
//   RESOLVE_NO_MAGICLINKS  /proc/.../fd/N, exe, cwd, root and the like: ELOOP;
//   RESOLVE_BENEATH        an absolute path or symlink, or ".." above dirfd: EXDEV (magic links
//                          too, as on Linux);
//   RESOLVE_IN_ROOT        dirfd is "/" for the walk: absolute names and ".." stay inside it;
//   RESOLVE_NO_XDEV        a step onto another device: EXDEV (bind mounts of the same device
//                          are not seen);
//   RESOLVE_CACHED         resolved normally (any lookup may be cached); EAGAIN with O_CREAT,
//                          O_TRUNC or O_TMPFILE, as Linux.
// Without those flags openat2 is openat. The walk checks and then opens (not atomically), so a
// concurrent rename on the host can change what is opened.
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { ERRNO, hostErrno } from '../errno.js';
import {
  O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOCTTY,
  O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_SYNC, O_TMPFILE, O_TRUNC,
} from '../fd-table.js';
import { readPath, resolveAt, sysrootPath } from '../paths.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { AT_FDCWD, int, size, type SyscallDef, type SysResult } from './abi.js';
import { openHost } from './files.js';

const OPEN_HOW_SIZE = 24;
const PAGE_SIZE = 4096;
const FASYNC = 0o20000;

const RESOLVE_NO_XDEV = 0x01;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_NO_SYMLINKS = 0x04;
const RESOLVE_BENEATH = 0x08;
const RESOLVE_IN_ROOT = 0x10;
const RESOLVE_CACHED = 0x20;
const VALID_RESOLVE = 0x3f;

const VALID_OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC |
  FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE;
const O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC;
const MAX_LINKS = 40;

/** A /proc symlink that is a "magic link" (jumps to an object, not a path). */
const MAGIC = /^\/proc\/(?:self|thread-self|\d+)(?:\/task\/\d+)?\/(?:fd\/\d+|exe|cwd|root|map_files\/[^/]+|ns\/[^/]+)$/;

/** Walks `path` from the root `root` (a real host path) under the RESOLVE_* restrictions;
 *  returns the host path to open, or -errno. */
function walk(root: string, path: string, resolve: number, flags: number): string | number {
  const scoped = (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) !== 0;
  let rootDev: bigint;
  try {
    rootDev = statSync(root, { bigint: true }).dev;
  } catch (e) {
    return hostErrno(e);
  }
  const trailingSlash = path.endsWith('/');
  let cur = root;
  if (path.startsWith('/')) {
    if (resolve & RESOLVE_BENEATH) return -ERRNO.EXDEV;
    if (!(resolve & RESOLVE_IN_ROOT)) cur = '/';
  }
  const top = cur;
  const queue = path.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);
  while (queue.length > 0) {
    const name = queue.shift()!;
    const last = queue.length === 0;
    if (name === '..') {
      if (cur === top && scoped) {
        if (resolve & RESOLVE_BENEATH) return -ERRNO.EXDEV;
        continue; // IN_ROOT: ".." of the root is the root
      }
      const up = cur === '/' ? '/' : cur.slice(0, cur.lastIndexOf('/')) || '/';
      if (resolve & RESOLVE_NO_XDEV) {
        try {
          if (statSync(up, { bigint: true }).dev !== rootDev) return -ERRNO.EXDEV;
        } catch (e) {
          return hostErrno(e);
        }
      }
      cur = up;
      continue;
    }
    const next = join(cur, name);
    let st;
    try {
      st = lstatSync(next, { bigint: true });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ENOENT' && last) return next + (trailingSlash ? '/' : ''); // O_CREAT decides
      return hostErrno(e);
    }
    if (resolve & RESOLVE_NO_XDEV && st.dev !== rootDev) return -ERRNO.EXDEV;
    if (st.isSymbolicLink()) {
      // O_NOFOLLOW: opened as itself (or ELOOP from the open); O_CREAT|O_EXCL: EEXIST from it.
      if (last && !trailingSlash && (flags & O_NOFOLLOW || (flags & O_CREAT && flags & O_EXCL))) return next;
      if (MAGIC.test(next)) {
        if (resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)) return -ERRNO.ELOOP;
        if (scoped) return -ERRNO.EXDEV;
      }
      if (resolve & RESOLVE_NO_SYMLINKS) return -ERRNO.ELOOP;
      if (++links > MAX_LINKS) return -ERRNO.ELOOP;
      let target: string;
      try {
        target = readlinkSync(next);
      } catch (e) {
        return hostErrno(e);
      }
      if (target.startsWith('/')) {
        if (resolve & RESOLVE_BENEATH) return -ERRNO.EXDEV;
        cur = resolve & RESOLVE_IN_ROOT ? top : '/';
      }
      queue.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    if (!last && !st.isDirectory()) return -ERRNO.ENOTDIR;
    cur = next;
  }
  return cur + (trailingSlash && cur !== '/' ? '/' : '');
}

const sysOpenat2 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const usize = size(a[3]);
  if (usize < OPEN_HOW_SIZE) return -ERRNO.EINVAL;
  if (usize > PAGE_SIZE) return -ERRNO.E2BIG;
  const b = p.as.read(a[2]!, usize);
  if (!b) return -ERRNO.EFAULT;
  for (let i = OPEN_HOW_SIZE; i < usize; i++) if (b[i] !== 0) return -ERRNO.E2BIG;
  const dv = new DataView(b.buffer, b.byteOffset, OPEN_HOW_SIZE);
  const flags64 = dv.getBigUint64(0, true);
  const mode64 = dv.getBigUint64(8, true);
  const resolve64 = dv.getBigUint64(16, true);
  if (flags64 & ~BigInt(VALID_OPEN_FLAGS)) return -ERRNO.EINVAL;
  if (resolve64 & ~BigInt(VALID_RESOLVE)) return -ERRNO.EINVAL;
  const flags = Number(flags64);
  const resolve = Number(resolve64);
  if (resolve & RESOLVE_BENEATH && resolve & RESOLVE_IN_ROOT) return -ERRNO.EINVAL;
  const creates = (flags & O_CREAT) !== 0 || (flags & O_TMPFILE) === O_TMPFILE;
  if (creates ? mode64 & ~0o7777n : mode64 !== 0n) return -ERRNO.EINVAL;
  if (flags & O_DIRECTORY && flags & O_CREAT) return -ERRNO.EINVAL;
  if ((flags & O_TMPFILE) === O_TMPFILE && (flags & O_ACCMODE) === O_RDONLY) return -ERRNO.EINVAL;
  if (flags & O_PATH && flags & ~O_PATH_FLAGS) return -ERRNO.EINVAL;
  if (resolve & RESOLVE_CACHED && flags & (O_TRUNC | O_CREAT | O_TMPFILE)) return -ERRNO.EAGAIN;
  const s = readPath(p, a[1]!);
  if (typeof s === 'number') return s;
  const mode = Number(mode64);
  const restrict = resolve & ~RESOLVE_CACHED;
  if (restrict === 0 || s === '') {
    const path = resolveAt(p, int(a[0]), s);
    if (typeof path === 'number') return path;
    return openHost(p, path, flags, mode);
  }
  // The walk's root: dirfd's directory (or the cwd).
  const dirfd = int(a[0]);
  let root: string;
  if (dirfd === AT_FDCWD) root = p.cwd;
  else {
    const f = p.fds.get(dirfd);
    if (!f) return -ERRNO.EBADF;
    if (f.kind !== 'host' || !f.isDir) return -ERRNO.ENOTDIR;
    try {
      root = readlinkSync(`/proc/self/fd/${f.hostFd}`);
    } catch (e) {
      return hostErrno(e);
    }
  }
  let path = s;
  if (path.startsWith('/') && !(resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))) path = sysrootPath(p, path);
  const host = walk(root, path, restrict, flags);
  if (typeof host === 'number') return host;
  return openHost(p, host, flags, mode);
};

export const OPENAT2_SYSCALLS: Record<number, SyscallDef> = {
  437: { name: 'openat2', args: 'fspu', fn: sysOpenat2 },
};
