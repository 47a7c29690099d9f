// System calls on open file descriptors: read/write and their vector and positional forms,
// lseek, close, dup, fcntl, pipe2, sendfile, sync and truncate (ioctl: tty.ts).
import { fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { ACCESS_WRITE } from '../address-space.js';
import { hostSleep } from '../clock.js';
import { ERRNO, hostErrno } from '../errno.js';
import {
  O_APPEND, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_PATH, PIPE_MAX_SIZE, SETFL_MASK, O_ACCMODE, O_RDONLY, O_WRONLY,
  hostInput, kernelOffset, pipeTake, type EventFd, type HostFile, type OpenFile, type Pipe,
} from '../fd-table.js';
import { sysIoctl } from './tty.js';
import { F_GETLK, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLK, F_SETLKW, fcntlLock } from './locking.js';
import { isSpecial, specialRead } from '../fd-kinds.js';
import { IN_ACCESS, IN_MODIFY, fileEvent } from '../inotify.js';
import { memfdCheckTruncate, memfdCheckWrite, memfdSeals } from './fdkinds.js';
import { coherentHostIo } from '../page-cache.js';
import { hostOutput } from '../host-output.js';
import { socketRead, socketWrite } from './net.js';
import { ptyRead, ptyWrite } from './pty-files.js';
import type { Process } from '../process.js';
import { SIGPIPE, SI_USER } from '../signals.js';
import type { Thread } from '../thread.js';
import { BLOCKED, int, long, size, u32, type SyscallDef, type SysResult } from './abi.js';

/** Linux caps one read or write at 0x7ffff000 bytes; rvisor at 16 MiB (a short count is legal). */
export const MAX_IO = 16 * 1048576;

type Iov = Array<[bigint, number]>;

/** Reads `cnt` struct iovec {base, len} at `ptr`, or -errno. */
export function readIovecs(p: Process, ptr: bigint, cnt: number): Iov | number {
  if (cnt < 0 || cnt > 1024) return -ERRNO.EINVAL;
  if (cnt === 0) return [];
  const b = p.as.read(ptr, cnt * 16);
  if (!b) return -ERRNO.EFAULT;
  const dv = new DataView(b.buffer);
  const out: Iov = [];
  let total = 0;
  for (let i = 0; i < cnt; i++) {
    const len = dv.getBigUint64(i * 16 + 8, true);
    if (len > 0x7fffffffn) return -ERRNO.EINVAL;
    total += Number(len);
    out.push([dv.getBigUint64(i * 16, true), Number(len)]);
  }
  if (total > 0x7fffffff) return -ERRNO.EINVAL;
  return out;
}

function ioTotal(iov: Iov): number {
  return iov.reduce((s, [, l]) => s + l, 0);
}


/** One host read of up to n bytes at `pos` (null: the kernel's offset), waiting out EAGAIN
 *  unless the guest asked for non-blocking I/O. */
export function hostRead(f: HostFile, n: number, pos: number | null): Uint8Array | number {
  return f.seekable ? coherentHostIo(f.hostFd, false, () => hostReadNow(f, n, pos)) : hostReadNow(f, n, pos);
}

function hostReadNow(f: HostFile, n: number, pos: number | null): Uint8Array | number {
  const buf = Buffer.allocUnsafe(n);
  for (;;) {
    try {
      const got = readSync(f.hostFd, buf, 0, n, pos);
      return buf.subarray(0, got);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code === 'EAGAIN' || code === 'EWOULDBLOCK') && !(f.flags & O_NONBLOCK)) {
        hostSleep(1_000_000n);
        continue;
      }
      if (code === 'EINTR') continue;
      return hostErrno(e);
    }
  }
}

/** Writes all of `data` to a host fd (a blocking write), or as much as it takes at once for a
 *  non-blocking one. Returns the count or -errno. */
export function hostWrite(f: HostFile, data: Uint8Array, pos: number | null): number {
  return f.seekable ? coherentHostIo(f.hostFd, true, () => hostWriteNow(f, data, pos)) : hostWriteNow(f, data, pos);
}

function hostWriteNow(f: HostFile, data: Uint8Array, pos: number | null): number {
  let done = 0;
  while (done < data.length) {
    try {
      done += writeSync(f.hostFd, data, done, data.length - done, pos === null ? null : pos + done);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code === 'EAGAIN' || code === 'EWOULDBLOCK') && !(f.flags & O_NONBLOCK)) {
        hostSleep(1_000_000n);
        continue;
      }
      if (code === 'EINTR') continue;
      if (done > 0) return done;
      return hostErrno(e);
    }
    if (f.flags & O_NONBLOCK) break;
  }
  return done;
}

/** Reads for read/readv/pread/preadv: fills the iovecs from `f`. `at` is an explicit offset
 *  (pread) or null. */
export function doRead(p: Process, f: OpenFile, iov: Iov, at: number | null): SysResult {
  if ((f.flags & O_ACCMODE) === O_WRONLY || f.flags & O_PATH) return -ERRNO.EBADF;
  for (const [base, len] of iov) if (!p.as.check(base, len, ACCESS_WRITE)) return -ERRNO.EFAULT;
  const want = Math.min(ioTotal(iov), MAX_IO);
  let data: Uint8Array;
  if (f.kind === 'epoll') return -ERRNO.EINVAL;
  if (f.kind === 'socket') {
    if (at !== null) return -ERRNO.ESPIPE;
    const r = socketRead(p, p.current!, f, want);
    if (typeof r !== 'object') return r;
    data = r;
  } else if (isSpecial(f)) {
    const r = specialRead(p, f, want);
    if (r === null) {
      if (f.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
      p.block(p.current!, { kind: 'retry', deadline: null });
      return BLOCKED;
    }
    if (typeof r === 'number') return r;
    data = r;
  } else if (f.kind === 'eventfd') {
    if (at !== null) return -ERRNO.ESPIPE;
    const r = eventfdRead(p, f, want);
    if (typeof r !== 'object') return r;
    data = r;
  } else if (f.kind === 'pipe') {
    if (at !== null) return -ERRNO.ESPIPE;
    const pipe = f.pipe;
    if (pipe.size === 0) {
      if (pipe.writers === 0 || want === 0) return 0;
      if (f.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
      p.block(p.current!, { kind: 'retry', deadline: null });
      return BLOCKED;
    }
    const out = pipeTake(pipe, want);
    p.wakeRetriers();
    data = out;
  } else if (f.kind === 'pty') {
    if (at !== null) return -ERRNO.ESPIPE;
    const r = ptyRead(p, p.current!, f, want);
    if (!(r instanceof Uint8Array)) return r;
    data = r;
  } else {
    if (f.isDir) return -ERRNO.EISDIR;
    if (want === 0) return 0;
    const inp = at === null ? hostInput(f) : null;
    if (inp) {
      // A terminal, host pipe or socket: only this thread waits for the host (host-input.ts).
      const r = inp.take(want);
      if (r === null) {
        if (f.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
        p.block(p.current!, { kind: 'retry', deadline: null });
        return BLOCKED;
      }
      if (typeof r === 'number') return r;
      data = r;
    } else {
      const pos = at ?? f.pos;
      const r = hostRead(f, want, pos);
      if (typeof r === 'number') return r;
      if (at === null && f.pos !== null) f.pos += r.length;
      if (r.length > 0) fileEvent(f, IN_ACCESS);
      data = r;
    }
  }
  let o = 0;
  for (const [base, len] of iov) {
    if (o >= data.length) break;
    const n = Math.min(len, data.length - o);
    p.as.write(base, data.subarray(o, o + n));
    o += n;
  }
  return data.length;
}

const EVENTFD_MAX = (1n << 64n) - 2n;

function eventfdRead(p: Process, f: EventFd, want: number): Uint8Array | number | typeof BLOCKED {
  if (want < 8) return -ERRNO.EINVAL;
  if (f.counter === 0n) {
    if (f.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
    p.block(p.current!, { kind: 'retry', deadline: null });
    return BLOCKED;
  }
  const v = f.semaphore ? 1n : f.counter;
  f.counter -= v;
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  p.wakeRetriers();
  return b;
}

function eventfdWrite(p: Process, t: Thread, f: EventFd, data: Uint8Array): SysResult {
  if (data.length < 8) return -ERRNO.EINVAL;
  const v = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
  if (v === (1n << 64n) - 1n) return -ERRNO.EINVAL;
  if (f.counter + v > EVENTFD_MAX) {
    if (f.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
    p.block(t, { kind: 'retry', deadline: null });
    return BLOCKED;
  }
  f.counter += v;
  p.wakeRetriers();
  return 8;
}

export function sigpipe(p: Process, t: Thread): number {
  p.sendToThread(t, { signo: SIGPIPE, code: SI_USER, pid: p.pid, uid: p.uid });
  return -ERRNO.EPIPE;
}

/** Writes for write/writev/pwrite/pwritev. */
export function doWrite(p: Process, t: Thread, f: OpenFile, iov: Iov, at: number | null): SysResult {
  if ((f.flags & O_ACCMODE) === O_RDONLY || f.flags & O_PATH) return -ERRNO.EBADF;
  const total = Math.min(ioTotal(iov), MAX_IO);
  const data = new Uint8Array(total);
  let o = 0;
  for (const [base, len] of iov) {
    if (o >= total) break;
    const n = Math.min(len, total - o);
    if (!p.as.readInto(base, data.subarray(o, o + n))) return -ERRNO.EFAULT;
    o += n;
  }
  if (f.kind === 'epoll' || isSpecial(f)) return -ERRNO.EINVAL;
  if (f.kind === 'socket') return at !== null ? -ERRNO.ESPIPE : socketWrite(p, t, f, data);
  if (f.kind === 'eventfd') return at !== null ? -ERRNO.ESPIPE : eventfdWrite(p, t, f, data);
  if (f.kind === 'pipe') {
    if (at !== null) return -ERRNO.ESPIPE;
    const pipe = f.pipe;
    if (pipe.readers === 0) return sigpipe(p, t);
    if (total === 0) return 0;
    const space = pipe.capacity - pipe.size;
    // Writes of at most PIPE_BUF (4096) bytes are atomic: wait for room for all of them.
    if (space <= 0 || (total <= 4096 && space < total)) { // over: bytes a host program left unread came back (host-exec.ts)
      if (f.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
      p.block(t, { kind: 'retry', deadline: null });
      return BLOCKED;
    }
    const n = Math.min(space, total);
    pipe.chunks.push(data.slice(0, n));
    pipe.size += n;
    p.wakeRetriers();
    return n;
  }
  if (f.kind === 'pty') return at !== null ? -ERRNO.ESPIPE : ptyWrite(p, t, f, data);
  if (f.isDir) return -ERRNO.EISDIR;
  if (total === 0) return 0;
  const out = at === null ? hostOutput(f) : null;
  if (out) {
    // A host pipe or FIFO: a write that cannot complete now blocks only this thread.
    const r = out.write(t.tid, data, (f.flags & O_NONBLOCK) !== 0, (tid) => p.kernel.findThread(tid) !== undefined);
    if (r === null) {
      p.block(t, { kind: 'retry', deadline: null });
      return BLOCKED;
    }
    if (out.takeContended()) p.wakeRetriers(); // other writers waited for this result to be taken
    return r === -ERRNO.EPIPE ? sigpipe(p, t) : r;
  }
  let pos = at ?? f.pos;
  if (at === null && f.pos !== null && f.flags & O_APPEND) {
    try {
      pos = Number(fstatSync(f.hostFd).size);
    } catch (e) {
      return hostErrno(e);
    }
  }
  let bytes = data;
  if (f.memfd) {
    const n = memfdCheckWrite(f, pos ?? 0, data.length);
    if (n < 0) return n;
    bytes = data.subarray(0, n);
  }
  const r = hostWrite(f, bytes, pos);
  if (r === -ERRNO.EPIPE) return sigpipe(p, t);
  if (r > 0 && at === null && f.pos !== null) f.pos = (pos ?? 0) + r;
  if (r > 0) fileEvent(f, IN_MODIFY);
  return r;
}

function fileOf(p: Process, fd: bigint): OpenFile | number {
  return p.fds.get(int(fd)) ?? -ERRNO.EBADF;
}

const sysRead = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const n = size(a[2]);
  return doRead(p, f, [[a[1]!, Math.min(n, MAX_IO)]], null);
};

const sysWrite = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const n = size(a[2]);
  return doWrite(p, t, f, [[a[1]!, Math.min(n, MAX_IO)]], null);
};

function offsetArg(v: bigint): number | null {
  const o = long(v);
  return o < 0 ? null : o;
}

const sysPread = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const at = offsetArg(a[3]!);
  if (at === null) return -ERRNO.EINVAL;
  if (f.kind !== 'host' || !f.seekable) return -ERRNO.ESPIPE;
  return doRead(p, f, [[a[1]!, Math.min(size(a[2]), MAX_IO)]], at);
};

const sysPwrite = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const at = offsetArg(a[3]!);
  if (at === null) return -ERRNO.EINVAL;
  if (f.kind !== 'host' || !f.seekable) return -ERRNO.ESPIPE;
  return doWrite(p, t, f, [[a[1]!, Math.min(size(a[2]), MAX_IO)]], at);
};

const vector = (write: boolean, positional: boolean) => (p: Process, t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const iov = readIovecs(p, a[1]!, int(a[2]));
  if (typeof iov === 'number') return iov;
  let at: number | null = null;
  if (positional) {
    at = offsetArg(a[3]!);
    if (at === null) return -ERRNO.EINVAL;
    if (f.kind !== 'host' || !f.seekable) return -ERRNO.ESPIPE;
  }
  return write ? doWrite(p, t, f, iov, at) : doRead(p, f, iov, at);
};

const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;

const sysLseek = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  const off = long(a[1]);
  const whence = int(a[2]);
  if (f.kind !== 'host') return -ERRNO.ESPIPE;
  if (f.isDir) {
    if (whence === SEEK_SET && off >= 0) {
      f.dirPos = off;
      if (off === 0) f.dirents = undefined;
      return off;
    }
    if (whence === SEEK_CUR && off === 0) return f.dirPos;
    return -ERRNO.EINVAL;
  }
  if (!f.seekable) {
    if (!isatty(f.hostFd)) {
      try {
        if (fstatSync(f.hostFd).isCharacterDevice()) return 0;
      } catch (e) {
        return hostErrno(e);
      }
    }
    return -ERRNO.ESPIPE;
  }
  const cur = f.pos ?? kernelOffset(f.hostFd);
  // A query on a description that uses the host kernel's offset (inherited stdio) leaves it so:
  // rvisor cannot move the host offset (Node has no lseek), and switching to an offset of its
  // own would let whatever shares the description write over the guest's later output.
  if (f.pos === null && whence === SEEK_CUR && off === 0) return cur;
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = cur;
  else if (whence === SEEK_END || whence === 3 || whence === 4) {
    try {
      base = Number(fstatSync(f.hostFd).size);
    } catch (e) {
      return hostErrno(e);
    }
    // SEEK_DATA / SEEK_HOLE without sparse-file knowledge: all data, one hole at the end.
    if (whence === 3) return off >= base ? -ERRNO.ENXIO : off;
    if (whence === 4) return off >= base ? -ERRNO.ENXIO : base;
  } else return -ERRNO.EINVAL;
  const np = base + off;
  if (np < 0) return -ERRNO.EINVAL;
  f.pos = np;
  return np;
};

const sysClose = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const r = p.fds.close(int(a[0]));
  p.wakeRetriers(); // a pipe end may have closed
  return r;
};

const sysCloseRange = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const first = u32(a[0]);
  const last = u32(a[1]);
  const flags = u32(a[2]);
  if (first > last || flags & ~6) return -ERRNO.EINVAL;
  for (const fd of p.fds.fds()) {
    if (fd < first || fd > last) continue;
    if (flags & 4) p.fds.setCloexec(fd, true);
    else p.fds.close(fd);
  }
  p.wakeRetriers();
  return 0;
};

const sysDup = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  return p.fds.install(f, false);
};

const sysDup3 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const oldfd = int(a[0]);
  const newfd = int(a[1]);
  const flags = int(a[2]);
  if (flags & ~O_CLOEXEC) return -ERRNO.EINVAL;
  const f = p.fds.get(oldfd);
  if (!f) return -ERRNO.EBADF;
  if (oldfd === newfd) return -ERRNO.EINVAL;
  const r = p.fds.installAt(newfd, f, (flags & O_CLOEXEC) !== 0);
  p.wakeRetriers();
  return r;
};

const F_DUPFD = 0;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETOWN = 8;
const F_GETOWN = 9;
const F_DUPFD_CLOEXEC = 1030;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
const FD_CLOEXEC = 1;

const sysFcntl = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const fd = int(a[0]);
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  const cmd = int(a[1]);
  const arg = a[2]!;
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const min = int(arg);
      if (min < 0 || min >= p.fds.limit) return -ERRNO.EINVAL;
      return p.fds.install(f, cmd === F_DUPFD_CLOEXEC, min);
    }
    case F_GETFD:
      return p.fds.getCloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      p.fds.setCloexec(fd, (int(arg) & FD_CLOEXEC) !== 0);
      return 0;
    case F_GETFL:
      return f.flags;
    case F_SETFL:
      f.flags = (f.flags & ~SETFL_MASK) | (int(arg) & SETFL_MASK);
      return 0;
    case F_GETLK:
    case F_OFD_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return fcntlLock(p, t, f, cmd, arg); // locking.ts
    case F_GETOWN:
      return 0;
    case F_SETOWN:
      return 0;
    case F_GETPIPE_SZ:
      return f.kind === 'pipe' ? f.pipe.capacity : -ERRNO.EBADF;
    case F_SETPIPE_SZ:
      return f.kind === 'pipe' ? setPipeSize(p, f.pipe, Number(arg & 0xffffffffn)) : -ERRNO.EBADF;
    case F_ADD_SEALS:
    case F_GET_SEALS:
      return memfdSeals(p, f, cmd === F_ADD_SEALS, int(arg));
    default:
      return -ERRNO.EINVAL;
  }
};

/** F_SETPIPE_SZ (fs/pipe.c pipe_set_size): the size rounded up to a power of two pages (at
 *  least one); beyond /proc/sys/fs/pipe-max-size only for a privileged process (EPERM); EBUSY
 *  when the pipe holds more than the new size. Returns the new capacity. */
function setPipeSize(p: Process, pipe: Pipe, arg: number): number {
  if (arg > 2 ** 31) return -ERRNO.EINVAL;
  let size = 4096;
  while (size < arg) size *= 2;
  if (size > pipe.capacity && size > PIPE_MAX_SIZE && !p.creds.privileged) return -ERRNO.EPERM;
  if (Math.ceil(pipe.size / 4096) > size / 4096) return -ERRNO.EBUSY;
  pipe.capacity = size;
  p.wakeRetriers(); // writers may now have room
  return size;
}

const sysPipe2 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[1]);
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) return -ERRNO.EINVAL;
  if (!p.as.check(a[0]!, 8, ACCESS_WRITE)) return -ERRNO.EFAULT;
  const [r, w] = p.fds.newPipe(flags);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const rfd = p.fds.install(r, cloexec);
  if (rfd < 0) return rfd;
  const wfd = p.fds.install(w, cloexec);
  if (wfd < 0) {
    p.fds.close(rfd);
    return wfd;
  }
  const b = new Uint8Array(8);
  new DataView(b.buffer).setInt32(0, rfd, true);
  new DataView(b.buffer).setInt32(4, wfd, true);
  p.as.write(a[0]!, b);
  return 0;
};

const hostOnly = (fn: (f: HostFile, a: bigint[]) => number) => (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = fileOf(p, a[0]!);
  if (typeof f === 'number') return f;
  if (f.kind !== 'host') return -ERRNO.EINVAL;
  try {
    return fn(f, a);
  } catch (e) {
    return hostErrno(e);
  }
};

// Both write back the file's pages stored through MAP_SHARED mappings too, as on Linux.
const sysFsync = hostOnly((f) => {
  coherentHostIo(f.hostFd, false, () => fsyncSync(f.hostFd));
  return 0;
});
const sysFdatasync = hostOnly((f) => {
  coherentHostIo(f.hostFd, false, () => fdatasyncSync(f.hostFd));
  return 0;
});
const sysFtruncate = hostOnly((f, a) => {
  const len = long(a[1]);
  if (len < 0 || f.isDir) return -ERRNO.EINVAL;
  if ((f.flags & O_ACCMODE) === O_RDONLY) return -ERRNO.EINVAL;
  const sealed = memfdCheckTruncate(f, len);
  if (sealed < 0) return sealed;
  coherentHostIo(f.hostFd, true, () => ftruncateSync(f.hostFd, len));
  fileEvent(f, IN_MODIFY);
  return 0;
});

const sysSendfile = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const out = fileOf(p, a[0]!);
  const inp = fileOf(p, a[1]!);
  if (typeof out === 'number') return out;
  if (typeof inp === 'number') return inp;
  if (inp.kind !== 'host' || inp.isDir) return -ERRNO.EINVAL;
  const count = Math.min(size(a[3]), MAX_IO);
  let at: number | null = null;
  if (a[2] !== 0n) {
    const o = p.as.readU64(a[2]!);
    if (o === null) return -ERRNO.EFAULT;
    at = Number(BigInt.asIntN(64, o));
    if (at < 0) return -ERRNO.EINVAL;
  }
  const stream = at === null ? hostInput(inp) : null;
  let data: Uint8Array;
  if (stream) {
    // A terminal, host pipe or socket: only this thread waits for the host (host-input.ts).
    const r = stream.take(count);
    if (r === null) {
      if (inp.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
      p.block(t, { kind: 'retry', deadline: null });
      return BLOCKED;
    }
    if (typeof r === 'number') return r;
    data = r;
  } else {
    const r = hostRead(inp, count, at ?? inp.pos);
    if (typeof r === 'number') return r;
    data = r;
  }
  if (data.length === 0) return 0;
  // Write through a scratch iovec-free path: doWrite wants guest memory, so go direct.
  let r: number;
  if (out.kind === 'eventfd' || out.kind === 'epoll' || out.kind === 'pty' || isSpecial(out)) return -ERRNO.EINVAL;
  if (out.kind === 'host' && out.memfd && memfdCheckWrite(out, out.pos ?? 0, data.length) < data.length) return -ERRNO.EPERM;
  if (out.kind === 'socket') {
    // The bytes were read already: a socket that cannot take them now is an error here.
    r = socketWrite(p, t, out, data) as number;
    if (typeof r !== 'number') r = -ERRNO.EAGAIN;
    if (r < 0) return r;
    if (at !== null) p.as.writeU64(a[2]!, BigInt(at + r));
    else if (inp.pos !== null) inp.pos += r;
    return r;
  }
  if (out.kind === 'pipe') {
    const pipe = out.pipe;
    if (pipe.readers === 0) return sigpipe(p, t);
    pipe.chunks.push(data.slice());
    pipe.size += data.length;
    p.wakeRetriers();
    r = data.length;
  } else {
    const wpos = out.pos;
    r = hostWrite(out, data, wpos);
    if (r < 0) return r === -ERRNO.EPIPE ? sigpipe(p, t) : r;
    if (r > 0) fileEvent(out, IN_MODIFY);
    if (out.pos !== null) out.pos += r;
  }
  if (at !== null) p.as.writeU64(a[2]!, BigInt(at + r));
  else if (inp.pos !== null) inp.pos += r;
  return r;
};

export { restoreTerminal } from './tty.js';

export const IO_SYSCALLS: Record<number, SyscallDef> = {
  23: { name: 'dup', args: 'd', fn: sysDup },
  24: { name: 'dup3', args: 'ddx', fn: sysDup3 },
  25: { name: 'fcntl', args: 'ddx', fn: sysFcntl },
  29: { name: 'ioctl', args: 'dxx', fn: sysIoctl },
  46: { name: 'ftruncate', args: 'dD', fn: sysFtruncate },
  57: { name: 'close', args: 'd', fn: sysClose },
  59: { name: 'pipe2', args: 'px', fn: sysPipe2 },
  62: { name: 'lseek', args: 'dDd', fn: sysLseek },
  63: { name: 'read', args: 'dpu', fn: sysRead },
  64: { name: 'write', args: 'dpu', fn: sysWrite },
  65: { name: 'readv', args: 'dpd', fn: vector(false, false) },
  66: { name: 'writev', args: 'dpd', fn: vector(true, false) },
  67: { name: 'pread64', args: 'dpuD', fn: sysPread },
  68: { name: 'pwrite64', args: 'dpuD', fn: sysPwrite },
  69: { name: 'preadv', args: 'dpdD', fn: vector(false, true) },
  70: { name: 'pwritev', args: 'dpdD', fn: vector(true, true) },
  71: { name: 'sendfile', args: 'ddpu', fn: sysSendfile },
  82: { name: 'fsync', args: 'd', fn: sysFsync },
  83: { name: 'fdatasync', args: 'd', fn: sysFdatasync },
  436: { name: 'close_range', args: 'uux', fn: sysCloseRange },
};
