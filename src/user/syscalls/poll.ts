// ppoll and pselect6. Readiness of rvisor's own pipes is exact; so is a host terminal's, host
// pipe's or socket's input (host-input.ts); other host descriptors (files) are always ready. A call
// that finds nothing ready waits in the scheduler (for another thread to write a pipe, a
// signal or the timeout).
import { monotonicNs } from '../clock.js';
import { ERRNO } from '../errno.js';
import { hostInput, O_ACCMODE, O_RDONLY, O_WRONLY } from '../fd-table.js';
import { blockingKind } from '../host-input.js';
import type { Process } from '../process.js';
import { UNBLOCKABLE } from '../signals.js';
import type { Thread } from '../thread.js';
import { BLOCKED, int, size, type SyscallDef, type SysResult } from './abi.js';
import { O_CLOEXEC, O_NONBLOCK, type Epoll } from '../fd-table.js';
import { readTimespec } from './time.js';
import { isSpecial, specialReadiness } from '../fd-kinds.js';
import { fileGen } from '../socket.js';
import { ptyReadiness } from './pty-files.js';

const POLLIN = 0x1;
const POLLPRI = 0x2;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
const POLLRDNORM = 0x40;
const POLLWRNORM = 0x100;

/** The poll bits fd has now (before masking with the requested events). */
export function readiness(p: Process, fd: number): number {
  const f = p.fds.get(fd);
  if (!f) return POLLNVAL;
  if (f.kind === 'eventfd') return (f.counter > 0n ? POLLIN | POLLRDNORM : 0) | (f.counter < (1n << 64n) - 2n ? POLLOUT | POLLWRNORM : 0);
  if (f.kind === 'epoll') return epollReady(p, f, 1, false).length > 0 ? POLLIN | POLLRDNORM : 0;
  if (f.kind === 'socket') return f.sk.readiness();
  if (isSpecial(f)) return specialReadiness(p, f);
  if (f.kind === 'pipe') {
    if (f.write) return (f.pipe.readers === 0 ? POLLERR : 0) | (f.pipe.capacity - f.pipe.size > 0 ? POLLOUT | POLLWRNORM : 0);
    return (f.pipe.size > 0 ? POLLIN | POLLRDNORM : 0) | (f.pipe.writers === 0 ? POLLHUP : 0);
  }
  if (f.kind === 'pty') return ptyReadiness(f);
  const inp = hostInput(f);
  const acc = f.flags & O_ACCMODE;
  // A pipe or FIFO reports only the directions it was opened for (fs/pipe.c pipe_poll: POLLIN
  // with FMODE_READ, POLLOUT with FMODE_WRITE); other files all of them. The room left in a host
  // pipe is not known: its write end is always writable.
  if (!inp) return acc === O_WRONLY && !f.seekable && blockingKind(f.hostFd)?.fifo ? POLLOUT | POLLWRNORM : POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
  // A terminal, host pipe or socket: readable once its reader holds data, EOF or an error.
  const r = inp.poll();
  const out = inp.fifo && acc === O_RDONLY ? 0 : POLLOUT | POLLWRNORM;
  if (r === 'in') return out | POLLIN | POLLRDNORM;
  // A pipe or FIFO without writers is POLLHUP only (fs/pipe.c); a socket at EOF is readable.
  if (r === 'eof') return out | (inp.fifo ? POLLHUP : POLLIN | POLLRDNORM);
  return out;
}

/** Applies the temporary signal mask of ppoll/pselect6 (restored when the call ends). */
function applyMask(p: Process, t: Thread, maskPtr: bigint, setsize: bigint): number {
  if (maskPtr === 0n) return 0;
  if (setsize !== 8n) return -ERRNO.EINVAL;
  const m = p.as.readU64(maskPtr);
  if (m === null) return -ERRNO.EFAULT;
  if (t.savedMask === null) t.savedMask = t.sigmask;
  t.sigmask = m & ~UNBLOCKABLE;
  return 0;
}

function waitOrReturn(p: Process, t: Thread, ready: number, timeoutPtr: bigint): SysResult {
  if (ready > 0) return ready;
  let deadline: bigint | null = null;
  if (timeoutPtr !== 0n) {
    const ns = readTimespec(p, timeoutPtr);
    if (typeof ns === 'number') return ns;
    if (ns === 0n) return 0;
    deadline = monotonicNs() + ns;
  }
  return blockUntil(p, t, deadline);
}

/** Blocks a poll-like call until `deadline` (null: forever). The call is re-executed when
 *  something changes, so the first deadline is kept across retries; 0 once it has passed. */
function blockUntil(p: Process, t: Thread, deadline: bigint | null): SysResult {
  const prev = p.pollDeadlines.get(t.tid);
  if (prev !== undefined) deadline = prev;
  else if (deadline !== null) p.pollDeadlines.set(t.tid, deadline);
  if (deadline !== null && deadline <= monotonicNs()) {
    p.pollDeadlines.delete(t.tid);
    return 0;
  }
  p.block(t, { kind: 'retry', deadline, noRestart: true });
  if (p.deliverable(t) !== 0n) p.endWait(t, 'signal');
  return BLOCKED;
}

const sysPpoll = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const nfds = size(a[1]);
  if (nfds > p.fds.limit) return -ERRNO.EINVAL;
  const r = applyMask(p, t, a[3]!, a[4]!);
  if (r < 0) return r;
  const b = p.as.read(a[0]!, nfds * 8);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer);
  let ready = 0;
  for (let i = 0; i < nfds; i++) {
    const fd = v.getInt32(i * 8, true);
    const events = v.getUint16(i * 8 + 4, true);
    let rev = 0;
    if (fd >= 0) {
      const now = readiness(p, fd);
      rev = now & (events | POLLERR | POLLHUP | POLLNVAL);
    }
    v.setUint16(i * 8 + 6, rev, true);
    if (rev) ready++;
  }
  if (nfds > 0 && !p.as.write(a[0]!, b)) return -ERRNO.EFAULT;
  const res = waitOrReturn(p, t, ready, a[2]!);
  if (res !== BLOCKED) p.pollDeadlines.delete(t.tid);
  return res;
};

const sysPselect6 = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const n = int(a[0]);
  if (n < 0 || n > p.fds.limit) return -ERRNO.EINVAL;
  // The sixth argument points to { const sigset_t *ss; size_t ss_len; }.
  if (a[5] !== 0n) {
    const b = p.as.read(a[5]!, 16);
    if (!b) return -ERRNO.EFAULT;
    const v = new DataView(b.buffer);
    const r = applyMask(p, t, v.getBigUint64(0, true), v.getBigUint64(8, true));
    if (r < 0) return r;
  }
  const words = Math.ceil(n / 64);
  const sets: Array<Uint8Array | null> = [];
  for (let k = 0; k < 3; k++) {
    const ptr = a[1 + k]!;
    if (ptr === 0n) sets.push(null);
    else {
      const b = p.as.read(ptr, words * 8);
      if (!b) return -ERRNO.EFAULT;
      sets.push(b);
    }
  }
  const out = sets.map((s) => (s ? new Uint8Array(s.length) : null));
  let ready = 0;
  for (let fd = 0; fd < n; fd++) {
    const bit = (s: Uint8Array | null): boolean => !!s && (s[fd >> 3]! & (1 << (fd & 7))) !== 0;
    const want = [bit(sets[0]!), bit(sets[1]!), bit(sets[2]!)];
    if (!want.some((w) => w)) continue;
    const r = readiness(p, fd);
    if (r & POLLNVAL) return -ERRNO.EBADF;
    const got = [want[0] && r & (POLLIN | POLLHUP | POLLERR), want[1] && r & (POLLOUT | POLLERR), want[2] && r & POLLPRI];
    got.forEach((g, k) => {
      if (g) {
        out[k]![fd >> 3]! |= 1 << (fd & 7);
        ready++;
      }
    });
  }
  for (let k = 0; k < 3; k++) if (out[k] && !p.as.write(a[1 + k]!, out[k]!)) return -ERRNO.EFAULT;
  const res = waitOrReturn(p, t, ready, a[4]!);
  if (res !== BLOCKED) p.pollDeadlines.delete(t.tid);
  return res;
};

// ---- epoll and eventfd ------------------------------------------------------------------------

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLLET = 1 << 31;
const EPOLLONESHOT = 1 << 30;
const EPOLLEXCLUSIVE = 1 << 28;

/** Ready events of an epoll set: [fd, events, data] for at most max entries. Level-triggered,
 *  except that an EPOLLET registration of a file with generations (sockets) reports only when
 *  the file's input generation moved (for input events) or its output generation moved (for
 *  POLLOUT) since the last report; other EPOLLET files behave level-triggered. `consume`: this
 *  is epoll_wait reporting (EPOLLET remembers the generations, EPOLLONESHOT disarms). */
function epollReady(p: Process, ep: Epoll, max: number, consume = true): Array<[number, number, bigint]> {
  const out: Array<[number, number, bigint]> = [];
  for (const [fd, it] of ep.interest) {
    if (out.length >= max) break;
    if (it.events === 0) continue;
    const f = p.fds.get(fd);
    if (!f) continue;
    const ev = readiness(p, fd) & ((it.events & 0xffff) | POLLERR | POLLHUP);
    if (!ev) continue;
    const g = it.et ? fileGen(f) : null;
    if (g && it.seen) {
      const fresh = (g[0] !== it.seen[0] && ev & ~POLLOUT & ~POLLWRNORM) || (g[1] !== it.seen[1] && ev & (POLLOUT | POLLWRNORM));
      if (!fresh) continue;
    }
    if (consume) {
      if (g) it.seen = g;
      if (it.oneshot) it.events = 0;
    }
    out.push([fd, ev, it.data]);
  }
  return out;
}

const sysEpollCreate1 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[0]);
  if (flags & ~O_CLOEXEC) return -ERRNO.EINVAL;
  const ep: Epoll = { kind: 'epoll', id: p.fds.newAnonId(), interest: new Map(), flags: 2, refs: 0 };
  return p.fds.install(ep, (flags & O_CLOEXEC) !== 0);
};

const sysEpollCtl = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const ep = p.fds.get(int(a[0]));
  const op = int(a[1]);
  const fd = int(a[2]);
  if (!ep) return -ERRNO.EBADF;
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  if (ep.kind !== 'epoll' || f === ep) return -ERRNO.EINVAL;
  // Regular files and directories are always ready: Linux refuses them (EPERM).
  if (f.kind === 'host' && (f.seekable || f.isDir)) return -ERRNO.EPERM;
  let events = 0;
  let data = 0n;
  if (op !== EPOLL_CTL_DEL) {
    const b = p.as.read(a[3]!, 16);
    if (!b) return -ERRNO.EFAULT;
    const v = new DataView(b.buffer);
    events = v.getUint32(0, true);
    data = v.getBigUint64(8, true);
  }
  switch (op) {
    case EPOLL_CTL_ADD:
    case EPOLL_CTL_MOD: {
      if (op === EPOLL_CTL_ADD && ep.interest.has(fd)) return -ERRNO.EEXIST;
      if (op === EPOLL_CTL_MOD && !ep.interest.has(fd)) return -ERRNO.ENOENT;
      // Bits 0-15 are poll events; the ones epoll does not know are dropped (EPOLLRDHUP kept).
      ep.interest.set(fd, { events: events & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE) & 0x3fff, data, et: (events & EPOLLET) !== 0, oneshot: (events & EPOLLONESHOT) !== 0 });
      break;
    }
    case EPOLL_CTL_DEL:
      if (!ep.interest.delete(fd)) return -ERRNO.ENOENT;
      break;
    default:
      return -ERRNO.EINVAL;
  }
  p.wakeRetriers();
  return 0;
};

const sysEpollPwait = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const timeoutMs = int(a[3]);
  return epollWait(p, t, a, timeoutMs < 0 ? null : BigInt(timeoutMs) * 1_000_000n);
};

/** epoll_pwait2: the timeout is a struct timespec (NULL: none). */
const sysEpollPwait2 = (p: Process, t: Thread, a: bigint[]): SysResult => {
  let timeout: bigint | null = null;
  if (a[3] !== 0n) {
    const ns = readTimespec(p, a[3]!);
    if (typeof ns === 'number') return ns;
    timeout = ns;
  }
  return epollWait(p, t, a, timeout);
};

function epollWait(p: Process, t: Thread, a: bigint[], timeout: bigint | null): SysResult {
  const max = int(a[2]);
  if (max <= 0 || max > 1 << 20) return -ERRNO.EINVAL;
  const ep = p.fds.get(int(a[0]));
  if (!ep) return -ERRNO.EBADF;
  if (ep.kind !== 'epoll') return -ERRNO.EINVAL;
  const r = applyMask(p, t, a[4]!, a[5]!);
  if (r < 0) return r;
  const ready = epollReady(p, ep, max);
  if (ready.length > 0) {
    const b = new Uint8Array(ready.length * 16);
    const v = new DataView(b.buffer);
    ready.forEach(([, ev, data], i) => {
      v.setUint32(i * 16, ev, true);
      v.setBigUint64(i * 16 + 8, data, true);
    });
    p.pollDeadlines.delete(t.tid);
    return p.as.write(a[1]!, b) ? ready.length : -ERRNO.EFAULT;
  }
  if (timeout === 0n) return 0;
  const deadline = timeout === null ? null : monotonicNs() + timeout;
  return blockUntil(p, t, deadline);
}

const EFD_SEMAPHORE = 1;

const sysEventfd2 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[1]);
  if (flags & ~(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK)) return -ERRNO.EINVAL;
  const f = { kind: 'eventfd' as const, id: p.fds.newAnonId(), counter: BigInt(a[0]! & 0xffffffffn), semaphore: (flags & EFD_SEMAPHORE) !== 0, flags: 2 | (flags & O_NONBLOCK), refs: 0 };
  return p.fds.install(f, (flags & O_CLOEXEC) !== 0);
};

export const POLL_SYSCALLS: Record<number, SyscallDef> = {
  72: { name: 'pselect6', args: 'dppppp', fn: sysPselect6 },
  73: { name: 'ppoll', args: 'pupp', fn: sysPpoll },
  19: { name: 'eventfd2', args: 'ux', fn: sysEventfd2 },
  20: { name: 'epoll_create1', args: 'x', fn: sysEpollCreate1 },
  21: { name: 'epoll_ctl', args: 'dddp', fn: sysEpollCtl },
  22: { name: 'epoll_pwait', args: 'dpddpu', fn: sysEpollPwait },
  441: { name: 'epoll_pwait2', args: 'dpdppu', fn: sysEpollPwait2 },
};
