// splice(2) and tee(2). One side of a splice must be a pipe: one of rvisor's in-emulator pipes or
// a host FIFO (read through its HostInput, written with blocking host writes); the other a file,
// a host stream, a socket or another pipe (any other kind of file: EINVAL). Bytes are moved through rvisor (there is no page-moving to
// gain: every pipe here is a list of chunks). Blocking follows Linux: the pipe side waits
// (a retry wait in the scheduler) unless SPLICE_F_NONBLOCK or the pipe's O_NONBLOCK says
// otherwise, then EAGAIN; a pipe without readers gives SIGPIPE and EPIPE. tee duplicates the
// unread bytes of one rvisor pipe into another; host FIFOs cannot be peeked, so tee on them
// fails with EINVAL.
import { fstatSync } from 'node:fs';
import { ERRNO } from '../errno.js';
import {
  O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH, O_RDONLY, O_WRONLY, hostInput, pipeTake, type HostFile, type OpenFile,
  type PipeEnd,
} from '../fd-table.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { BLOCKED, int, size, type SyscallDef, type SysResult } from './abi.js';
import { MAX_IO, hostRead, hostWrite, sigpipe } from './io.js';
import { socketSpliceRead, socketWrite } from './net.js';

const SPLICE_F_NONBLOCK = 0x02;
const SPLICE_F_ALL = 0x0f;

const isFifo = (f: HostFile): boolean => {
  try {
    return fstatSync(f.hostFd).isFIFO();
  } catch {
    return false;
  }
};

const isPipe = (f: OpenFile): boolean => f.kind === 'pipe' || (f.kind === 'host' && !f.seekable && isFifo(f));
const readable = (f: OpenFile): boolean => (f.flags & O_ACCMODE) !== O_WRONLY && !(f.flags & O_PATH);
const writable = (f: OpenFile): boolean => (f.flags & O_ACCMODE) !== O_RDONLY && !(f.flags & O_PATH);

/** Takes up to n bytes from an rvisor pipe. */
function drain(e: PipeEnd, n: number, consume: boolean): Uint8Array {
  return pipeTake(e.pipe, n, consume);
}

/** Reads the loff_t at ptr (0: null), or -EFAULT. */
function loff(p: Process, ptr: bigint): number | null | { err: number } {
  if (ptr === 0n) return null;
  const v = p.as.readU64(ptr);
  if (v === null) return { err: -ERRNO.EFAULT };
  return Number(BigInt.asIntN(64, v));
}

const sysSplice = (p: Process, t: Thread, a: bigint[]): SysResult => {
  let len = Math.min(size(a[4]), MAX_IO);
  if (len === 0) return 0;
  let flags = int(a[5]);
  if (flags & ~SPLICE_F_ALL) return -ERRNO.EINVAL;
  const fin = p.fds.get(int(a[0]));
  const fout = p.fds.get(int(a[2]));
  if (!fin || !fout || fin.flags & O_PATH || fout.flags & O_PATH) return -ERRNO.EBADF;
  const ipipe = isPipe(fin);
  const opipe = isPipe(fout);
  if (ipipe && a[1] !== 0n) return -ERRNO.ESPIPE;
  if (opipe && a[3] !== 0n) return -ERRNO.ESPIPE;
  const offOut = loff(p, a[3]!);
  if (offOut !== null && typeof offOut === 'object') return offOut.err;
  const offIn = loff(p, a[1]!);
  if (offIn !== null && typeof offIn === 'object') return offIn.err;
  if (!readable(fin) || !writable(fout)) return -ERRNO.EBADF;
  if (ipipe && opipe) {
    if (fin.kind === 'pipe' && fout.kind === 'pipe' && fin.pipe === fout.pipe) return -ERRNO.EINVAL;
    if ((fin.flags | fout.flags) & O_NONBLOCK) flags |= SPLICE_F_NONBLOCK;
  } else if (ipipe) {
    if (offOut !== null && (fout.kind !== 'host' || !fout.seekable)) return -ERRNO.EINVAL;
    if (fout.flags & O_APPEND) return -ERRNO.EINVAL;
    if (offOut !== null && offOut < 0) return -ERRNO.EINVAL;
    if (fin.flags & O_NONBLOCK) flags |= SPLICE_F_NONBLOCK;
  } else if (opipe) {
    if (offIn !== null && (fin.kind !== 'host' || !fin.seekable)) return -ERRNO.EINVAL;
    if (offIn !== null && offIn < 0) return -ERRNO.EINVAL;
    if (fout.flags & O_NONBLOCK) flags |= SPLICE_F_NONBLOCK;
  } else return -ERRNO.EINVAL;
  // The side that is not a pipe: a host file or stream, or a socket; no other kind of file here.
  const other = (f: OpenFile): boolean => f.kind === 'pipe' || f.kind === 'host' || f.kind === 'socket';
  if (!other(fin) || !other(fout)) return -ERRNO.EINVAL;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  const wait = (): SysResult => {
    if (nonblock) return -ERRNO.EAGAIN;
    p.block(t, { kind: 'retry', deadline: null });
    return BLOCKED;
  };
  // The input side first (as Linux waits for data before room).
  if (fin.kind === 'pipe' && fin.pipe.size === 0) {
    if (fin.pipe.writers === 0) return 0;
    return wait();
  }
  if (fout.kind === 'pipe') {
    if (fout.pipe.readers === 0) return sigpipe(p, t);
    const space = fout.pipe.capacity - fout.pipe.size;
    if (space === 0) return wait();
    len = Math.min(len, space);
  }
  if (fout.kind === 'socket') return pipeToSocket(p, t, fin, fout, len, wait);
  // Take the bytes.
  let data: Uint8Array;
  if (fin.kind === 'pipe') data = drain(fin, len, true);
  else if (fin.kind === 'socket') {
    const r = socketSpliceRead(p, t, fin, len, nonblock);
    if (typeof r === 'number' || r === BLOCKED) return r;
    data = r;
  } else {
    const f = fin as HostFile;
    if (f.seekable) {
      p.as.syncShared();
      const r = hostRead(f, len, offIn ?? f.pos);
      if (typeof r === 'number') return r;
      data = r;
      if (offIn === null) f.pos = (f.pos ?? 0) + data.length;
      else p.as.writeU64(a[1]!, BigInt(offIn + data.length));
    } else {
      const inp = hostInput(f);
      if (inp) {
        const r = inp.take(len);
        if (r === null) return wait();
        if (typeof r === 'number') return r;
        data = r;
      } else {
        const r = hostRead(f, len, null);
        if (typeof r === 'number') return r;
        data = r;
      }
    }
  }
  if (data.length === 0) return 0;
  // Put them out.
  let done: number;
  if (fout.kind === 'pipe') {
    fout.pipe.chunks.push(data.slice());
    fout.pipe.size += data.length;
    done = data.length;
  } else {
    const f = fout as HostFile;
    const pos = f.seekable ? (offOut ?? f.pos) : null;
    done = hostWrite(f, data, pos);
    if (done === -ERRNO.EPIPE) return sigpipe(p, t);
    if (done < 0) return done;
    if (f.seekable) {
      if (offOut === null) f.pos = (f.pos ?? 0) + done;
      else p.as.writeU64(a[3]!, BigInt(offOut + done));
    }
  }
  p.wakeRetriers();
  return done;
};

/** splice from a pipe (rvisor's, or a host FIFO) into a socket: the bytes leave the pipe only
 *  as far as the socket took them (a socket that must wait leaves the pipe as it was). The
 *  socket's own O_NONBLOCK decides whether its send waits, as Linux's splice_to_socket. */
function pipeToSocket(p: Process, t: Thread, fin: OpenFile, fout: OpenFile & { kind: 'socket' }, len: number, wait: () => SysResult): SysResult {
  let data: Uint8Array;
  const inp = fin.kind === 'host' ? hostInput(fin) : null;
  if (fin.kind === 'pipe') data = drain(fin, len, false);
  else if (inp) {
    const r = inp.take(len);
    if (r === null) return wait();
    if (typeof r === 'number') return r;
    data = r;
  } else {
    const r = hostRead(fin as HostFile, len, null);
    if (typeof r === 'number') return r;
    data = r;
  }
  if (data.length === 0) return 0;
  const r = socketWrite(p, t, fout, data);
  const sent = typeof r === 'number' && r > 0 ? r : 0;
  if (fin.kind === 'pipe') drain(fin, sent, true);
  else if (inp && sent < data.length) inp.unread([data.subarray(sent)]);
  if (sent > 0) p.wakeRetriers();
  return r;
}

const sysTee = (p: Process, t: Thread, a: bigint[]): SysResult => {
  let flags = int(a[3]);
  if (flags & ~SPLICE_F_ALL) return -ERRNO.EINVAL;
  const len = Math.min(size(a[2]), MAX_IO);
  if (len === 0) return 0;
  const fin = p.fds.get(int(a[0]));
  const fout = p.fds.get(int(a[1]));
  if (!fin || !fout || fin.flags & O_PATH || fout.flags & O_PATH) return -ERRNO.EBADF;
  if (!readable(fin) || !writable(fout)) return -ERRNO.EBADF;
  if (fin.kind !== 'pipe' || fout.kind !== 'pipe' || fin.pipe === fout.pipe) return -ERRNO.EINVAL;
  if ((fin.flags | fout.flags) & O_NONBLOCK) flags |= SPLICE_F_NONBLOCK;
  const wait = (): SysResult => {
    if (flags & SPLICE_F_NONBLOCK) return -ERRNO.EAGAIN;
    p.block(t, { kind: 'retry', deadline: null });
    return BLOCKED;
  };
  if (fin.pipe.size === 0) {
    if (fin.pipe.writers === 0) return 0;
    return wait();
  }
  if (fout.pipe.readers === 0) return sigpipe(p, t);
  const space = fout.pipe.capacity - fout.pipe.size;
  if (space === 0) return wait();
  const data = drain(fin, Math.min(len, space), false);
  fout.pipe.chunks.push(data);
  fout.pipe.size += data.length;
  p.wakeRetriers();
  return data.length;
};

export const SPLICE_SYSCALLS: Record<number, SyscallDef> = {
  76: { name: 'splice', args: 'dpdpux', fn: sysSplice },
  77: { name: 'tee', args: 'ddux', fn: sysTee },
};
