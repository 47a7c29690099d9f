// The guest's file descriptors. A guest fd names an open file description (shared by dup'ed
// fds, so they share the offset and status flags, as on Linux) which is either a host file
// descriptor or one end of a pipe kept inside rvisor. Pipes live here rather than on the host
// because every guest process of a run lives in this one host process: an in-process pipe lets
// a blocked reader wait in the scheduler while another thread or process writes. fork gives the
// child a table naming the same open file descriptions (one more reference each), so a pipe
// end is closed only when every process has closed it.
import { closeSync, fstatSync, readFileSync } from 'node:fs';
import { ERRNO } from './errno.js';
import { HostInput, blockingKind } from './host-input.js';
import { descriptionReleased, fdClosed } from './locks.js';
import { releaseSpecial, type SpecialFd } from './fd-kinds.js';
import { beforeClose } from './inotify.js';
import { closeHostOutput } from './host-output.js';
import type { SocketFile } from './socket.js';
import type { Pty } from './pty.js';

/** Guest open(2) flags (asm-generic/fcntl.h). */
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20000000;

/** Flags F_SETFL may change. */
export const SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

/** A new pipe's capacity (F_GETPIPE_SZ), and the most F_SETPIPE_SZ gives an unprivileged
 *  process (/proc/sys/fs/pipe-max-size). */
export const PIPE_CAPACITY = 65536;
export const PIPE_MAX_SIZE = 1048576;

export interface Pipe {
  id: number;
  /** Unread bytes, oldest first. */
  chunks: Uint8Array[];
  size: number;
  readers: number;
  writers: number;
  /** Bytes it holds at most (F_SETPIPE_SZ). */
  capacity: number;
}

/** The first n bytes (n at most what `chunks` hold) of a queue of byte chunks, oldest first,
 *  removed from it (or, with consume false, only copied: a peek). */
export function takeBytes(chunks: Uint8Array[], n: number, consume = true): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  let i = 0;
  while (o < n) {
    const c = chunks[i]!;
    const k = Math.min(c.length, n - o);
    out.set(c.subarray(0, k), o);
    o += k;
    if (!consume) i++;
    else if (k === c.length) chunks.shift();
    else chunks[0] = c.subarray(k);
  }
  return out;
}

/** Up to n of a pipe's oldest unread bytes, taken out of it (or, with consume false, only
 *  copied: a peek). */
export function pipeTake(pipe: Pipe, n: number, consume = true): Uint8Array {
  const out = takeBytes(pipe.chunks, Math.min(n, pipe.size), consume);
  if (consume) pipe.size -= out.length;
  return out;
}

export interface HostFile {
  kind: 'host';
  hostFd: number;
  /** The host path it was opened by ("" for inherited stdio), for getdents, fchdir and maps. */
  path: string;
  /** Guest-visible status flags and access mode. */
  flags: number;
  isDir: boolean;
  /** The file offset rvisor keeps for this description (positional host I/O), or null to use
   *  the host kernel's own offset (inherited stdio, pipes, terminals). */
  pos: number | null;
  /** Regular file or block device (lseek works). */
  seekable: boolean;
  /** Directory entries not yet returned by getdents64 (filled on the first call). */
  dirents?: Array<{ ino: bigint; type: number; name: Uint8Array }>;
  dirPos: number;
  /** Never closed on the host (rvisor's own stdin/stdout/stderr). */
  keepOpen: boolean;
  refs: number;
  /** Reads of a terminal, host pipe or socket (made on the first read or poll; null: the fd
   *  never blocks, reads stay synchronous). */
  input?: HostInput | null;
  /** A memfd (memfd_create): its seals (F_SEAL_*), shared by every fd of the description. */
  memfd?: { seals: number };
}

export interface PipeEnd {
  kind: 'pipe';
  pipe: Pipe;
  write: boolean;
  flags: number;
  refs: number;
}

/** eventfd(2): a 64-bit counter. */
export interface EventFd {
  kind: 'eventfd';
  id: number;
  counter: bigint;
  semaphore: boolean;
  flags: number;
  refs: number;
}

/** One epoll registration: the requested events (0 while a one-shot one is disarmed), the user's
 *  data, and for EPOLLET the file's generations last reported (socket.ts fileGen). */
export interface EpollInterest {
  events: number;
  data: bigint;
  et?: boolean;
  oneshot?: boolean;
  seen?: [number, number];
}

/** epoll(7): the interest list (fd → requested events and the user's 64-bit data). */
export interface Epoll {
  kind: 'epoll';
  id: number;
  interest: Map<number, EpollInterest>;
  flags: number;
  refs: number;
}

/** One end of an in-rvisor pseudo-terminal (pty.ts; syscalls/pty-files.ts). */
export interface PtyEnd {
  kind: 'pty';
  id: number;
  pty: Pty;
  master: boolean;
  flags: number;
  refs: number;
}

export type OpenFile = HostFile | PipeEnd | EventFd | Epoll | SpecialFd | SocketFile | PtyEnd;

/** Ids of anonymous files (pipes, eventfds, epolls), unique across the processes of a run. */
let nextAnonId = 1;

interface Slot {
  file: OpenFile;
  cloexec: boolean;
}

export class FdTable {
  private readonly slots = new Map<number, Slot>();
  /** RLIMIT_NOFILE: fds must be below this. */
  limit = 1024;

  /** A table with guest 0, 1, 2 on the host's stdin, stdout and stderr. */
  static withStdio(): FdTable {
    const t = new FdTable();
    const modes = [O_RDONLY, O_WRONLY, O_WRONLY];
    for (let fd = 0; fd < 3; fd++) {
      t.slots.set(fd, { file: { kind: 'host', hostFd: fd, path: '', flags: modes[fd]!, isDir: false, pos: null, seekable: isSeekable(fd), dirPos: 0, keepOpen: true, refs: 1 }, cloexec: false });
    }
    return t;
  }

  get(fd: number): OpenFile | undefined {
    return this.slots.get(fd)?.file;
  }

  has(fd: number): boolean {
    return this.slots.has(fd);
  }

  /** The lowest free fd at or above `min`, or -EMFILE. */
  private lowestFree(min: number): number {
    for (let fd = Math.max(0, min); fd < this.limit; fd++) if (!this.slots.has(fd)) return fd;
    return -ERRNO.EMFILE;
  }

  /** Installs `file` at the lowest free fd >= min (taking a reference); returns it or -EMFILE. */
  install(file: OpenFile, cloexec: boolean, min = 0): number {
    const fd = this.lowestFree(min);
    if (fd < 0) return fd;
    file.refs++;
    this.slots.set(fd, { file, cloexec });
    return fd;
  }

  /** Puts `file` at exactly `fd`, closing what was there (dup2/dup3). */
  installAt(fd: number, file: OpenFile, cloexec: boolean): number {
    if (fd < 0 || fd >= this.limit) return -ERRNO.EBADF;
    file.refs++;
    const old = this.slots.get(fd);
    this.slots.set(fd, { file, cloexec });
    if (old) {
      fdClosed(this, old.file);
      this.release(old.file);
    }
    return fd;
  }

  /** Closes guest fd; returns 0 or -EBADF. */
  close(fd: number): number {
    const s = this.slots.get(fd);
    if (!s) return -ERRNO.EBADF;
    this.slots.delete(fd);
    fdClosed(this, s.file); // this table's record locks on the file end (locks.ts)
    this.release(s.file);
    return 0;
  }

  /** A copy for a forked child: the same descriptions (each gets a reference), the same
   *  close-on-exec flags. */
  fork(): FdTable {
    const t = new FdTable();
    t.limit = this.limit;
    for (const [fd, s] of this.slots) {
      s.file.refs++;
      t.slots.set(fd, { file: s.file, cloexec: s.cloexec });
    }
    return t;
  }

  getCloexec(fd: number): boolean {
    return this.slots.get(fd)?.cloexec ?? false;
  }

  setCloexec(fd: number, v: boolean): void {
    const s = this.slots.get(fd);
    if (s) s.cloexec = v;
  }

  /** Drops one reference to an open file description, closing it when none are left (also for
   *  references held outside any table: a descriptor in flight in an SCM_RIGHTS message). */
  release(f: OpenFile): void {
    if (--f.refs > 0) return;
    descriptionReleased(f);
    if (f.kind === 'host') {
      if (!f.keepOpen && !(f.flags & O_PATH)) beforeClose(f, (f.flags & O_ACCMODE) !== O_RDONLY);
      closeHostOutput(f);
      if (f.input) f.input.close(); // its worker closes the host fd
      else if (!f.keepOpen) {
        try {
          closeSync(f.hostFd);
        } catch {
          // Closing can only fail for a bad fd here; the guest already saw success.
        }
      }
    } else if (f.kind === 'pipe') {
      if (f.write) f.pipe.writers--;
      else f.pipe.readers--;
    } else if (f.kind === 'socket') f.sk.release();
    else if (f.kind === 'pty') f.pty.endClosed(f.master);
    else if (f.kind !== 'eventfd' && f.kind !== 'epoll') releaseSpecial(f);
  }

  /** A new pipe: [read end, write end] (not yet installed). */
  newPipe(flags: number): [PipeEnd, PipeEnd] {
    const pipe: Pipe = { id: nextAnonId++, chunks: [], size: 0, readers: 1, writers: 1, capacity: PIPE_CAPACITY };
    return [
      { kind: 'pipe', pipe, write: false, flags: O_RDONLY | (flags & O_NONBLOCK), refs: 0 },
      { kind: 'pipe', pipe, write: true, flags: O_WRONLY | (flags & O_NONBLOCK), refs: 0 },
    ];
  }

  /** A new id for an anonymous file (pipe, eventfd, epoll: what fstat shows as st_ino). */
  newAnonId(): number {
    return nextAnonId++;
  }

  /** Every open fd (for close_range and exit). */
  fds(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  closeAll(): void {
    for (const fd of this.fds()) this.close(fd);
  }

  /** A description of the table (plain data; pipes by id). Host fds cannot be carried to
   *  another process, so restoring is left to a later snapshot design. */
  save(): Array<{ fd: number; cloexec: boolean; kind: string; hostFd?: number; pipe?: number; path?: string; flags: number }> {
    return this.fds().map((fd) => {
      const s = this.slots.get(fd)!;
      const f = s.file;
      if (f.kind === 'host') return { fd, cloexec: s.cloexec, kind: 'host', hostFd: f.hostFd, path: f.path, flags: f.flags };
      if (f.kind === 'pipe') return { fd, cloexec: s.cloexec, kind: f.write ? 'pipe-w' : 'pipe-r', pipe: f.pipe.id, flags: f.flags };
      return { fd, cloexec: s.cloexec, kind: f.kind, pipe: f.id, flags: f.flags };
    });
  }
}

/** The reader of a host file whose reads can block, made on first use; null for files that never
 *  block (regular files, directories, /dev/null and the like). */
export function hostInput(f: HostFile): HostInput | null {
  if (f.input !== undefined) return f.input;
  const k = f.seekable || f.isDir || (f.flags & O_ACCMODE) === O_WRONLY ? null : blockingKind(f.hostFd);
  f.input = k ? new HostInput(f.hostFd, k.tty, k.fifo, f.keepOpen) : null;
  return f.input;
}

/** True if host fd is a regular file or block device. */
export function isSeekable(hostFd: number): boolean {
  try {
    const st = fstatSync(hostFd);
    return st.isFile() || st.isBlockDevice();
  } catch {
    return false;
  }
}

/** The host kernel's offset of a host fd (from /proc/self/fdinfo), for descriptors rvisor does
 *  not track itself. */
export function kernelOffset(hostFd: number): number {
  try {
    const m = /pos:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${hostFd}`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
