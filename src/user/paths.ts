// Turning a guest path argument (dirfd + bytes) into a host path. Relative paths follow the
// host process's working directory (the guest's chdir moves rvisor's own cwd) or, with a
// directory fd, go through /proc/self/fd/N, which Linux resolves like openat does. Absolute
// paths are looked up in the sysroot first, falling back to the host's own file (as qemu-user's
// -L prefix does), so a dynamic program finds its riscv64 libraries and still sees /tmp, /proc,
// the user's files.
import { lstatSync } from 'node:fs';
import { AT_FDCWD } from './syscalls/abi.js';
import { ERRNO } from './errno.js';
import type { Process } from './process.js';
import { procGuestPath, procResolve, sysCpuResolve } from './procfs.js';
import { heldCwd } from './workdir.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The length of the well-formed UTF-8 sequence at b[i] (Unicode's table 3-7: no overlong forms,
 *  no surrogates, nothing past U+10FFFF), or 0 when the byte there does not start one. */
function utf8Length(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80, hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80, hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** The guest bytes of a path as a host string. Linux names are bytes, not text: a byte that is
 *  not part of well-formed UTF-8 becomes the lone surrogate U+DC00+byte (as Python's
 *  "surrogateescape" does), which well-formed UTF-8 never decodes to, so hostPath() gives the
 *  same bytes back. */
export function pathString(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch {
    let s = '';
    for (let i = 0; i < b.length;) {
      const n = utf8Length(b, i);
      if (n === 0) s += String.fromCharCode(0xdc00 + b[i++]!);
      else {
        s += decoder.decode(b.subarray(i, i + n));
        i += n;
      }
    }
    return s;
  }
}

const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** A path made by pathString() as the host calls must get it: the string itself when it is
 *  text (Node encodes it as UTF-8), else its exact bytes. */
export function hostPath(s: string): string | Buffer {
  if (!ESCAPED.test(s)) return s;
  const parts: Buffer[] = [];
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    parts.push(ch.length === 1 && c >= 0xdc80 && c <= 0xdcff ? Buffer.of(c - 0xdc00) : Buffer.from(ch, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** Reads the path argument at `ptr`: the string or -errno (EFAULT, ENAMETOOLONG). */
export function readPath(p: Process, ptr: bigint): string | number {
  if (ptr === 0n) return -ERRNO.EFAULT;
  const b = p.as.readCString(ptr, 4096);
  if (typeof b === 'number') return b;
  return pathString(b);
}

/** The host path for absolute guest path `path`, honouring the sysroot. */
export function sysrootPath(p: Process, path: string): string {
  const root = p.config.sysroot;
  if (root === undefined || !path.startsWith('/') || path === '/') return path;
  const candidate = root.replace(/\/+$/, '') + path;
  try {
    lstatSync(candidate);
    return candidate;
  } catch {
    return path;
  }
}

/** Resolves (dirfd, path): the host path, or -errno. `allowEmpty` accepts "" (AT_EMPTY_PATH;
 *  the result is then the dirfd's own /proc path or "."). */
export function resolveAt(p: Process, dirfd: number, path: string, allowEmpty = false): string | number {
  if (path === '') {
    if (!allowEmpty) return -ERRNO.ENOENT;
    if (dirfd === AT_FDCWD) return heldCwd(p) ?? '.';
    const f = p.fds.get(dirfd);
    if (!f) return -ERRNO.EBADF;
    if (f.kind !== 'host') return -ERRNO.EBADF;
    return `/proc/self/fd/${f.hostFd}`;
  }
  if (path.startsWith('/')) {
    // Guest fd numbers are not the host's: /proc/self/fd/N of a host file reopens it through the
    // host's own link (which also reaches deleted files); the rest of /proc is rvisor's (procfs.ts).
    const m = /^\/proc\/(?:self|thread-self|\d+)\/fd\/(\d+)(\/.*)?$/.exec(path);
    if (m && (!/^\/proc\/\d/.test(path) || path.startsWith(`/proc/${p.pid}/`))) {
      const f = p.fds.get(Number(m[1]));
      if (f?.kind === 'host') return `/proc/self/fd/${f.hostFd}${m[2] ?? ''}`;
    }
    if (path.includes('/proc')) {
      const r = procResolve(p, path);
      if (r !== null) return r;
    }
    if (path.startsWith('/sys/')) {
      const r = sysCpuResolve(path);
      if (r !== null) return r;
    }
    return sysrootPath(p, path);
  }
  if (dirfd === AT_FDCWD) {
    const held = heldCwd(p);
    if (held !== null) return `${held}/${path}`;
    if (p.cwd.startsWith('/sys/')) {
      const r = sysCpuResolve(`${p.cwd}/${path}`);
      if (r !== null) return r;
    }
    const g = procGuestPath(p.cwd);
    return g === null ? path : procResolve(p, `${g}/${path}`) ?? path;
  }
  const f = p.fds.get(dirfd);
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host' || !f.isDir) return -ERRNO.ENOTDIR;
  const g = procGuestPath(f.path);
  if (g !== null) return procResolve(p, `${g}/${path}`) ?? `/proc/self/fd/${f.hostFd}/${path}`;
  if (f.path.startsWith('/sys/')) {
    const r = sysCpuResolve(`${f.path}/${path}`);
    if (r !== null) return r;
  }
  return `/proc/self/fd/${f.hostFd}/${path}`;
}
