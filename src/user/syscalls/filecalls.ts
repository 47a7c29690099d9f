// File calls beyond read/write: fallocate, sync, syncfs, sync_file_range, copy_file_range,
// preadv2/pwritev2.
// fallocate and sync/syncfs have no Node API, so they run the host's own tools (fallocate(1) from
// util-linux, sync(1) from coreutils) on the guest's open file (/proc/PID/fd/N), which make
// exactly those system calls: the host file system decides what is supported, as on Linux.
// copy_file_range copies through rvisor (positional reads and writes), preadv2/pwritev2 are
// preadv/pwritev plus the RWF_* flags.
import { spawnSync } from 'node:child_process';
import { closeSync, constants as C, fdatasyncSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { ERRNO, hostErrno } from '../errno.js';
import { O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH, O_RDONLY, O_WRONLY, type HostFile, type OpenFile } from '../fd-table.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, long, size, type SyscallDef, type SysResult } from './abi.js';
import { MAX_IO, doRead, doWrite, readIovecs } from './io.js';
import { hostTool } from '../host-tools.js';

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_COLLAPSE_RANGE = 0x08;
const FALLOC_FL_ZERO_RANGE = 0x10;
const FALLOC_FL_INSERT_RANGE = 0x20;
const FALLOC_FL_UNSHARE_RANGE = 0x40;
const FALLOC_SUPPORTED = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE |
  FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE;
const MAX_FILE = 2n ** 63n - 1n;

/** The host path of a guest host file for a child process (its own /proc/self differs). */
const procPath = (f: HostFile): string => `/proc/${process.pid}/fd/${f.hostFd}`;

/** glibc's messages (what the host tools print after "…: ") → errno, for the errors a file
 *  system can give once rvisor's own checks have passed. */
const MESSAGES: Array<[string, number]> = [
  ['Operation not supported', ERRNO.EOPNOTSUPP], ['No space left on device', ERRNO.ENOSPC], ['File too large', ERRNO.EFBIG],
  ['Invalid argument', ERRNO.EINVAL], ['Permission denied', ERRNO.EACCES], ['Operation not permitted', ERRNO.EPERM],
  ['Text file busy', ERRNO.ETXTBSY], ['Disk quota exceeded', 122], ['Read-only file system', ERRNO.EROFS],
  ['Input/output error', ERRNO.EIO], ['Bad file descriptor', ERRNO.EBADF],
];

function toolErrno(stderr: string): number {
  for (const [m, e] of MESSAGES) if (stderr.includes(m)) return -e;
  return -ERRNO.EIO;
}

const canWrite = (f: OpenFile): boolean => (f.flags & O_ACCMODE) !== O_RDONLY && !(f.flags & O_PATH);
const canRead = (f: OpenFile): boolean => (f.flags & O_ACCMODE) !== O_WRONLY && !(f.flags & O_PATH);

const sysFallocate = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f || f.flags & O_PATH) return -ERRNO.EBADF;
  const mode = int(a[1]);
  const off = BigInt.asIntN(64, a[2]!);
  const len = BigInt.asIntN(64, a[3]!);
  if (off < 0n || len <= 0n) return -ERRNO.EINVAL;
  if (mode & ~FALLOC_SUPPORTED) return -ERRNO.EOPNOTSUPP;
  if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) return -ERRNO.EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE)) return -ERRNO.EOPNOTSUPP;
  if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) && mode & ~(FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) return -ERRNO.EINVAL;
  if (mode & FALLOC_FL_UNSHARE_RANGE) return -ERRNO.EOPNOTSUPP; // fallocate(1) cannot ask for it
  if (!canWrite(f)) return -ERRNO.EBADF;
  if (f.flags & O_APPEND && mode & ~FALLOC_FL_KEEP_SIZE) return -ERRNO.EPERM;
  if (f.kind === 'pipe') return -ERRNO.ESPIPE;
  if (f.kind !== 'host') return -ERRNO.ENODEV;
  let st;
  try {
    st = fstatSync(f.hostFd);
  } catch (e) {
    return hostErrno(e);
  }
  if (st.isFIFO()) return -ERRNO.ESPIPE;
  if (st.isDirectory()) return -ERRNO.EISDIR;
  if (!st.isFile() && !st.isBlockDevice()) return -ERRNO.ENODEV;
  if (off + len > MAX_FILE) return -ERRNO.EFBIG;
  const args = ['-o', off.toString(), '-l', len.toString()];
  if (mode & FALLOC_FL_KEEP_SIZE && !(mode & FALLOC_FL_PUNCH_HOLE)) args.push('-n');
  if (mode & FALLOC_FL_PUNCH_HOLE) args.push('-p');
  if (mode & FALLOC_FL_ZERO_RANGE) args.push('-z');
  if (mode & FALLOC_FL_COLLAPSE_RANGE) args.push('-c');
  if (mode & FALLOC_FL_INSERT_RANGE) args.push('-i');
  p.as.syncShared();
  const r = spawnSync(hostTool('fallocate'), [...args, '--', procPath(f)], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error) return -ERRNO.EOPNOTSUPP; // no fallocate(1) on this host
  return r.status === 0 ? 0 : toolErrno(r.stderr ?? '');
};

const sysSync = (): SysResult => {
  spawnSync(hostTool('sync'), [], { stdio: 'ignore' });
  return 0;
};

const sysSyncfs = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host') return 0; // pipes and the like: nothing to write back
  const r = spawnSync(hostTool('sync'), ['-f', procPath(f)], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    // No sync -f: write back this file at least.
    try {
      fsyncSync(f.hostFd);
    } catch (e) {
      return hostErrno(e);
    }
  }
  return 0;
};

const SYNC_FILE_RANGE_VALID = 7;

/** sync_file_range: Linux's argument checks; any write-out request becomes fdatasync (more than
 *  asked, never less). */
const sysSyncFileRange = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = p.fds.get(int(a[0]));
  if (!f || f.flags & O_PATH) return -ERRNO.EBADF;
  const off = BigInt.asIntN(64, a[1]!);
  const n = BigInt.asIntN(64, a[2]!);
  const flags = int(a[3]);
  if (flags & ~SYNC_FILE_RANGE_VALID) return -ERRNO.EINVAL;
  const end = BigInt.asIntN(64, off + n);
  if (off < 0n || end < 0n || end < off) return -ERRNO.EINVAL;
  if (f.kind !== 'host') return -ERRNO.ESPIPE;
  try {
    const st = fstatSync(f.hostFd);
    if (!st.isFile() && !st.isBlockDevice() && !st.isDirectory() && !st.isSymbolicLink()) return -ERRNO.ESPIPE;
    if (flags !== 0 && st.isFile()) fdatasyncSync(f.hostFd);
  } catch (e) {
    return hostErrno(e);
  }
  return 0;
};

// ---- copy_file_range ---------------------------------------------------------------------------

/** Reads the loff_t at `ptr` (0: none → null), or -EFAULT. */
function offsetIn(p: Process, ptr: bigint): bigint | null | number {
  if (ptr === 0n) return null;
  const v = p.as.readU64(ptr);
  return v === null ? -ERRNO.EFAULT : BigInt.asIntN(64, v);
}

const sysCopyFileRange = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  if (int(a[5]) !== 0) return -ERRNO.EINVAL;
  const fin = p.fds.get(int(a[0]));
  const fout = p.fds.get(int(a[2]));
  if (!fin || !fout || fin.flags & O_PATH || fout.flags & O_PATH) return -ERRNO.EBADF;
  const oi = offsetIn(p, a[1]!);
  if (typeof oi === 'number') return oi;
  const oo = offsetIn(p, a[3]!);
  if (typeof oo === 'number') return oo;
  let count = BigInt(Math.min(size(a[4]), MAX_IO));
  if (fin.kind !== 'host' || fout.kind !== 'host') return -ERRNO.EINVAL;
  let sin;
  let sout;
  try {
    sin = fstatSync(fin.hostFd, { bigint: true });
    sout = fstatSync(fout.hostFd, { bigint: true });
  } catch (e) {
    return hostErrno(e);
  }
  if (sin.isDirectory() || sout.isDirectory()) return -ERRNO.EISDIR;
  if (!sin.isFile() || !sout.isFile()) return -ERRNO.EINVAL;
  if (!canRead(fin) || !canWrite(fout) || fout.flags & O_APPEND) return -ERRNO.EBADF;
  const posIn = oi ?? BigInt(fin.pos ?? 0);
  const posOut = oo ?? BigInt(fout.pos ?? 0);
  if (posIn < 0n || posOut < 0n) return -ERRNO.EINVAL;
  if (posIn + count > MAX_FILE || posOut + count > MAX_FILE) return -ERRNO.EOVERFLOW;
  count = posIn >= sin.size ? 0n : count < sin.size - posIn ? count : sin.size - posIn;
  if (sin.dev === sout.dev && sin.ino === sout.ino && posOut + count > posIn && posOut < posIn + count) return -ERRNO.EINVAL;
  if (count === 0n) return 0;
  p.as.syncShared();
  let done = 0;
  const n = Number(count);
  const buf = Buffer.allocUnsafe(Math.min(n, 1 << 20));
  try {
    while (done < n) {
      const got = readSync(fin.hostFd, buf, 0, Math.min(buf.length, n - done), Number(posIn) + done);
      if (got === 0) break;
      let w = 0;
      while (w < got) w += writeSync(fout.hostFd, buf, w, got - w, Number(posOut) + done + w);
      done += got;
    }
  } catch (e) {
    if (done === 0) return hostErrno(e);
  }
  if (oi === null) fin.pos = Number(posIn) + done;
  else p.as.writeU64(a[1]!, posIn + BigInt(done));
  if (oo === null) fout.pos = Number(posOut) + done;
  else p.as.writeU64(a[3]!, posOut + BigInt(done));
  return done;
};

// ---- preadv2 / pwritev2 ---------------------------------------------------------------------------

const RWF_HIPRI = 0x01;
const RWF_DSYNC = 0x02;
const RWF_SYNC = 0x04;
const RWF_NOWAIT = 0x08;
const RWF_APPEND = 0x10;
const RWF_NOAPPEND = 0x20;
/** What rvisor can honour (RWF_ATOMIC and RWF_DONTCACHE are refused as on a file system without
 *  them). */
const RWF_KNOWN = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND;

const vector2 = (write: boolean) => (p: Process, t: Thread, a: bigint[]): SysResult => {
  const pos = long(a[3]);
  const flags = int(a[5]);
  if (pos < -1) return -ERRNO.EINVAL;
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  const positional = pos !== -1;
  if (positional && (f.kind !== 'host' || !f.seekable)) return -ERRNO.ESPIPE;
  if (write ? !canWrite(f) : !canRead(f)) return -ERRNO.EBADF;
  const iov = readIovecs(p, a[1]!, int(a[2]));
  if (typeof iov === 'number') return iov;
  if (iov.reduce((s, [, l]) => s + l, 0) === 0) return 0;
  if (flags & ~RWF_KNOWN) return -ERRNO.EOPNOTSUPP;
  const saved = f.flags;
  let at: number | null = positional ? pos : null;
  if (flags & RWF_NOWAIT && !(f.kind === 'host' && f.seekable)) f.flags |= O_NONBLOCK;
  if (write && f.kind === 'host') {
    let append = (f.flags & O_APPEND) !== 0;
    if (flags & RWF_APPEND) append = true;
    if (flags & RWF_NOAPPEND) append = false;
    if (append && f.seekable) {
      if (positional) {
        try {
          at = Number(fstatSync(f.hostFd).size);
        } catch (e) {
          return hostErrno(e);
        }
      } else f.flags |= O_APPEND;
    } else if (!append) f.flags &= ~O_APPEND;
  }
  // RWF_NOAPPEND on an O_APPEND file: the host fd appends whatever the offset, so write through
  // a second host fd of the same file opened without O_APPEND.
  let plain: number | null = null;
  const hostFd = f.kind === 'host' ? f.hostFd : -1;
  if (write && f.kind === 'host' && f.seekable && saved & O_APPEND && flags & RWF_NOAPPEND && !(flags & RWF_APPEND)) {
    try {
      plain = openSync(`/proc/self/fd/${f.hostFd}`, C.O_WRONLY);
    } catch (e) {
      f.flags = saved;
      return hostErrno(e);
    }
    f.hostFd = plain;
  }
  let r: SysResult;
  try {
    r = write ? doWrite(p, t, f, iov, at) : doRead(p, f, iov, at);
  } finally {
    f.flags = saved;
    if (plain !== null && f.kind === 'host') {
      f.hostFd = hostFd;
      closeSync(plain);
    }
  }
  if (write && typeof r === 'number' && r > 0 && f.kind === 'host' && flags & (RWF_DSYNC | RWF_SYNC)) {
    try {
      if (flags & RWF_SYNC) fsyncSync(f.hostFd);
      else fdatasyncSync(f.hostFd);
    } catch (e) {
      return hostErrno(e);
    }
  }
  return r;
};

export const FILECALL_SYSCALLS: Record<number, SyscallDef> = {
  47: { name: 'fallocate', args: 'dxDD', fn: sysFallocate },
  81: { name: 'sync', args: '', fn: sysSync },
  84: { name: 'sync_file_range', args: 'dDDx', fn: sysSyncFileRange },
  267: { name: 'syncfs', args: 'd', fn: sysSyncfs },
  285: { name: 'copy_file_range', args: 'dpdpux', fn: sysCopyFileRange },
  286: { name: 'preadv2', args: 'dpdDxx', fn: vector2(false) },
  287: { name: 'pwritev2', args: 'dpdDxx', fn: vector2(true) },
};
