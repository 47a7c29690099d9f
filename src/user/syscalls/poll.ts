// ppoll and pselect6. Readiness of rvisor's own pipes is exact; a host descriptor (a file, a
// terminal, a host pipe) is reported ready, so a following read may wait on the host. A call
// that finds nothing ready waits in the scheduler (for another thread to write a pipe, a
// signal or the timeout).
import { monotonicNs } from '../clock.js';
import { ERRNO } from '../errno.js';
import { PIPE_CAPACITY } from '../fd-table.js';
import type { Process } from '../process.js';
import { UNBLOCKABLE } from '../signals.js';
import type { Thread } from '../thread.js';
import { BLOCKED, int, size, type SyscallDef, type SysResult } from './abi.js';
import { readTimespec } from './time.js';

const POLLIN = 0x1;
const POLLPRI = 0x2;
const POLLOUT = 0x4;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
const POLLRDNORM = 0x40;
const POLLWRNORM = 0x100;

/** The poll bits fd has now (before masking with the requested events). */
function readiness(p: Process, fd: number): number {
  const f = p.fds.get(fd);
  if (!f) return POLLNVAL;
  if (f.kind === 'pipe') {
    if (f.write) return (f.pipe.readers === 0 ? POLLERR : 0) | (PIPE_CAPACITY - f.pipe.size > 0 ? POLLOUT | POLLWRNORM : 0);
    return (f.pipe.size > 0 ? POLLIN | POLLRDNORM : 0) | (f.pipe.writers === 0 ? POLLHUP : 0);
  }
  return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
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
  // Re-executed when something changes: keep the original deadline across retries.
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

export const POLL_SYSCALLS: Record<number, SyscallDef> = {
  72: { name: 'pselect6', args: 'dppppp', fn: sysPselect6 },
  73: { name: 'ppoll', args: 'pupp', fn: sysPpoll },
};
