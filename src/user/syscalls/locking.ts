// flock(2) and fcntl's record-lock commands (F_GETLK/F_SETLK/F_SETLKW and the open file
// description forms F_OFD_*) over the lock table in ../locks.ts. A lock that cannot be taken
// waits (F_SETLKW, flock without LOCK_NB) as a retry wait in the scheduler: every unlock or close
// wakes retriers, and a signal ends the wait with EINTR or restarts it (SA_RESTART), as on Linux.
import { fstatSync } from 'node:fs';
import { ERRNO, hostErrno } from '../errno.js';
import { O_ACCMODE, O_PATH, O_RDONLY, O_WRONLY, kernelOffset, type OpenFile } from '../fd-table.js';
import {
  F_RDLCK, F_UNLCK, F_WRLCK, OFFSET_MAX, applyRange, findConflict, flockLock, flockUnlock, stopWaiting, wouldDeadlock,
} from '../locks.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { BLOCKED, int, type SyscallDef, type SysResult } from './abi.js';

export const F_GETLK = 5;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** sizeof(struct flock) on riscv64: short l_type, l_whence; off_t l_start, l_len; pid_t l_pid. */
const FLOCK_SIZE = 32;

const canRead = (f: OpenFile): boolean => (f.flags & O_ACCMODE) !== O_WRONLY && !(f.flags & O_PATH);
const canWrite = (f: OpenFile): boolean => (f.flags & O_ACCMODE) !== O_RDONLY && !(f.flags & O_PATH);

/** struct flock's range as [start, end] (inclusive), or -errno (EINVAL, EOVERFLOW). */
function lockRange(f: OpenFile, whence: number, lstart: bigint, llen: bigint): [bigint, bigint] | number {
  let base: bigint;
  if (whence === 0) base = 0n;
  else if (whence === 1) base = f.kind === 'host' ? BigInt(f.pos ?? kernelOffset(f.hostFd)) : 0n;
  else if (whence === 2) {
    if (f.kind !== 'host') base = 0n;
    else {
      try {
        base = fstatSync(f.hostFd, { bigint: true }).size;
      } catch (e) {
        return hostErrno(e);
      }
    }
  } else return -ERRNO.EINVAL;
  let start = base + lstart;
  if (start > OFFSET_MAX) return -ERRNO.EOVERFLOW;
  if (start < 0n) return -ERRNO.EINVAL;
  let end: bigint;
  if (llen > 0n) {
    if (llen - 1n > OFFSET_MAX - start) return -ERRNO.EOVERFLOW;
    end = start + llen - 1n;
  } else if (llen < 0n) {
    if (start + llen < 0n) return -ERRNO.EINVAL;
    end = start - 1n;
    start += llen;
  } else end = OFFSET_MAX;
  return [start, end];
}

/** fcntl(fd, cmd, &flock) for the lock commands. */
export function fcntlLock(p: Process, t: Thread, f: OpenFile, cmd: number, arg: bigint): SysResult {
  if (f.flags & O_PATH) return -ERRNO.EBADF;
  const b = p.as.read(arg, FLOCK_SIZE);
  if (!b) return -ERRNO.EFAULT;
  const dv = new DataView(b.buffer, b.byteOffset, FLOCK_SIZE);
  const type = dv.getInt16(0, true);
  const whence = dv.getInt16(2, true);
  const lpid = dv.getInt32(24, true);
  const ofd = cmd === F_OFD_GETLK || cmd === F_OFD_SETLK || cmd === F_OFD_SETLKW;
  const owner: object = ofd ? f : p.fds;
  if (cmd === F_GETLK || cmd === F_OFD_GETLK) {
    if (type !== F_RDLCK && type !== F_WRLCK) return -ERRNO.EINVAL;
    if (ofd && lpid !== 0) return -ERRNO.EINVAL;
    const range = lockRange(f, whence, dv.getBigInt64(8, true), dv.getBigInt64(16, true));
    if (typeof range === 'number') return range;
    const c = findConflict(f, owner, type, range[0], range[1]);
    if (!c) dv.setInt16(0, F_UNLCK, true);
    else {
      dv.setInt16(0, c.type, true);
      dv.setInt16(2, 0, true);
      dv.setBigInt64(8, c.start, true);
      dv.setBigInt64(16, c.end === OFFSET_MAX ? 0n : c.end - c.start + 1n, true);
      dv.setInt32(24, c.ofd ? -1 : c.pid, true);
    }
    return p.as.write(arg, b) ? 0 : -ERRNO.EFAULT;
  }
  const range = lockRange(f, whence, dv.getBigInt64(8, true), dv.getBigInt64(16, true));
  if (typeof range === 'number') return range;
  if (type !== F_RDLCK && type !== F_WRLCK && type !== F_UNLCK) return -ERRNO.EINVAL;
  if (type === F_RDLCK && !canRead(f)) return -ERRNO.EBADF;
  if (type === F_WRLCK && !canWrite(f)) return -ERRNO.EBADF;
  if (ofd && lpid !== 0) return -ERRNO.EINVAL;
  const [start, end] = range;
  if (type !== F_UNLCK) {
    const c = findConflict(f, owner, type, start, end);
    if (c) {
      if (cmd === F_SETLK || cmd === F_OFD_SETLK) {
        stopWaiting(owner);
        return -ERRNO.EAGAIN;
      }
      if (!ofd && wouldDeadlock(owner, t, c)) {
        stopWaiting(owner);
        return -ERRNO.EDEADLK;
      }
      if (ofd) wouldDeadlock(owner, t, c);
      p.block(t, { kind: 'retry', deadline: null });
      return BLOCKED;
    }
  }
  stopWaiting(owner);
  applyRange(f, owner, ofd, p.pid, type, start, end);
  if (type !== F_WRLCK) p.wakeRetriers(); // a lock was dropped or weakened
  return 0;
}

const sysFlock = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const op = int(a[1]);
  const cmd = op & ~LOCK_NB;
  if (cmd !== LOCK_SH && cmd !== LOCK_EX && cmd !== LOCK_UN) return -ERRNO.EINVAL;
  const f = p.fds.get(int(a[0]));
  if (!f) return -ERRNO.EBADF;
  if (f.flags & O_PATH) return -ERRNO.EBADF;
  if (cmd === LOCK_UN) {
    flockUnlock(f);
    p.wakeRetriers();
    return 0;
  }
  const r = flockLock(f, cmd === LOCK_EX);
  if (r === null) return -ERRNO.EBADF;
  if (r === 0) return 0;
  if (r === 'dropped') p.wakeRetriers();
  if (op & LOCK_NB) return -ERRNO.EAGAIN;
  p.block(t, { kind: 'retry', deadline: null });
  return BLOCKED;
};

export const LOCK_SYSCALLS: Record<number, SyscallDef> = {
  32: { name: 'flock', args: 'dx', fn: sysFlock },
};
