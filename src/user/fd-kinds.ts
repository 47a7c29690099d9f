// The special file descriptors kept inside rvisor: timerfd, signalfd, inotify and pidfd (memfd is
// a host file: syscalls/fdkinds.ts). Each is an anonymous open file description in the fd table
// (shared by dup and fork like any other) whose reads, readiness and identity are answered here;
// the system calls that make and change them are in syscalls/fdkinds.ts and syscalls/inotify.ts.
//
// Waiting: a read that finds nothing blocks the thread with a 'retry' wait, re-executed when
// something changes, as pipes do. What wakes it: for a timerfd the scheduler, which treats the
// next expiry of every armed timerfd as a deadline (nextTimerfdDeadline/fireTimerfds) and wakes
// the retriers when one passes; for a signalfd a signal becoming pending (Process.sendTo*); for
// an inotify fd an event being queued; for a pidfd the end of the process (Kernel.finish).
import { monotonicNs } from './clock.js';
import { ERRNO } from './errno.js';
import type { Process } from './process.js';
import { sigbit } from './signals.js';
import type { SigInfo } from './thread.js';

const POLLIN = 0x1;
const POLLHUP = 0x10;
const POLLRDNORM = 0x40;

/** timerfd_create(2): expirations are counted lazily from the monotonic deadline. */
export interface TimerFd {
  kind: 'timerfd';
  id: number;
  clock: number;
  /** Next expiry (host monotonic ns), or null when disarmed. */
  deadline: bigint | null;
  /** Reload interval in ns (0: one-shot). */
  interval: bigint;
  /** Expirations not yet read. */
  ticks: bigint;
  flags: number;
  refs: number;
}

/** signalfd4(2): reads take the caller's pending signals in `mask`. */
export interface SignalFd {
  kind: 'signalfd';
  id: number;
  mask: bigint;
  flags: number;
  refs: number;
}

/** One inotify watch: the watched inode (host dev/ino) and its mask. */
export interface InotifyWatch {
  wd: number;
  dev: bigint;
  ino: bigint;
  mask: number;
  isDir: boolean;
}

/** inotify_init1(2): watches and the queue of encoded events not yet read. */
export interface InotifyFd {
  kind: 'inotify';
  id: number;
  watches: Map<number, InotifyWatch>;
  nextWd: number;
  queue: Uint8Array[];
  /** Bytes in `queue`. */
  queued: number;
  flags: number;
  refs: number;
}

/** pidfd_open(2) / CLONE_PIDFD: a handle on the process `pid` of this run. */
export interface PidFd {
  kind: 'pidfd';
  id: number;
  pid: number;
  flags: number;
  refs: number;
}

export type SpecialFd = TimerFd | SignalFd | InotifyFd | PidFd;

/** The open inotify instances of the run (inotify.ts sends them events). */
export const inotifyInstances = new Set<InotifyFd>();

export function isSpecial(f: { kind: string }): f is SpecialFd {
  return f.kind === 'timerfd' || f.kind === 'signalfd' || f.kind === 'inotify' || f.kind === 'pidfd';
}

// ---- timers ----------------------------------------------------------------------------------

/** Armed timerfds of the run (the scheduler wakes retriers when one expires). */
const armed = new Set<TimerFd>();

/** Counts the expirations of `f` up to `now` into f.ticks; true if there were any. */
export function tickTimer(f: TimerFd, now = monotonicNs()): boolean {
  if (f.deadline === null || now < f.deadline) return false;
  if (f.interval > 0n) {
    const n = (now - f.deadline) / f.interval + 1n;
    f.ticks += n;
    f.deadline += n * f.interval;
  } else {
    f.ticks += 1n;
    f.deadline = null;
    armed.delete(f);
  }
  return true;
}

/** Arms (deadline not null) or disarms a timer. */
export function armTimer(f: TimerFd, deadline: bigint | null, interval: bigint): void {
  f.deadline = deadline;
  f.interval = deadline === null ? 0n : interval;
  f.ticks = 0n;
  if (deadline === null) armed.delete(f);
  else armed.add(f);
}

/** The earliest expiry of any armed timerfd, or null. */
export function nextTimerfdDeadline(): bigint | null {
  let d: bigint | null = null;
  for (const f of armed) if (f.deadline !== null && (d === null || f.deadline < d)) d = f.deadline;
  return d;
}

/** Counts the expirations that are due; true if any timer expired (wake the retriers). */
export function fireTimerfds(): boolean {
  if (armed.size === 0) return false;
  const now = monotonicNs();
  let any = false;
  for (const f of [...armed]) if (tickTimer(f, now)) any = true;
  return any;
}

// ---- signals ---------------------------------------------------------------------------------

/** Removes and returns the next pending signal of the calling thread in `mask` (its own first,
 *  then the process's; lowest number first), or undefined. */
export function takeMaskedSignal(p: Process, mask: bigint): SigInfo | undefined {
  const t = p.current;
  const pick = (list: SigInfo[]): number => {
    let best = -1;
    for (let i = 0; i < list.length; i++) {
      if (!(sigbit(list[i]!.signo) & mask)) continue;
      if (best < 0 || list[i]!.signo < list[best]!.signo) best = i;
    }
    return best;
  };
  if (t) {
    const i = pick(t.pending);
    if (i >= 0) return t.pending.splice(i, 1)[0];
  }
  const i = pick(p.pending);
  return i >= 0 ? p.pending.splice(i, 1)[0] : undefined;
}

function hasMaskedSignal(p: Process, mask: bigint): boolean {
  const t = p.current;
  return (t?.pending.some((s) => (sigbit(s.signo) & mask) !== 0n) ?? false) || p.pending.some((s) => (sigbit(s.signo) & mask) !== 0n);
}

/** struct signalfd_siginfo (128 bytes) for a signal. */
export function encodeSignalfdInfo(info: SigInfo): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  v.setUint32(0, info.signo, true);
  v.setInt32(4, info.errno ?? 0, true);
  v.setInt32(8, info.code, true);
  v.setUint32(12, info.pid ?? 0, true);
  v.setUint32(16, info.uid ?? 0, true);
  v.setInt32(40, info.status ?? 0, true);
  if (info.value !== undefined) {
    v.setInt32(44, Number(BigInt.asIntN(32, info.value)), true);
    v.setBigUint64(48, BigInt.asUintN(64, info.value), true);
  }
  if (info.addr !== undefined) v.setBigUint64(72, BigInt.asUintN(64, info.addr), true);
  return b;
}

// ---- pidfds ----------------------------------------------------------------------------------

/** The process a pidfd names while it has not been reaped. */
export function pidfdTarget(p: Process, f: PidFd): Process | undefined {
  return p.kernel.processes.get(f.pid);
}

/** True once the process has ended (a zombie or reaped). */
export function pidfdExited(p: Process, f: PidFd): boolean {
  const q = pidfdTarget(p, f);
  return !q || q.exitStatus !== null;
}

// ---- the generic operations --------------------------------------------------------------------

/** Poll bits of a special fd now. */
export function specialReadiness(p: Process, f: SpecialFd): number {
  switch (f.kind) {
    case 'timerfd':
      tickTimer(f);
      return f.ticks > 0n ? POLLIN | POLLRDNORM : 0;
    case 'signalfd':
      return hasMaskedSignal(p, f.mask) ? POLLIN | POLLRDNORM : 0;
    case 'inotify':
      return f.queued > 0 ? POLLIN | POLLRDNORM : 0;
    case 'pidfd': {
      const q = pidfdTarget(p, f);
      if (!q) return POLLIN | POLLRDNORM | POLLHUP;
      return q.exitStatus !== null ? POLLIN | POLLRDNORM : 0;
    }
  }
}

/** read(2) of up to `want` bytes: the data, -errno, or null to block (the caller blocks the
 *  thread unless the file is non-blocking: then EAGAIN). */
export function specialRead(p: Process, f: SpecialFd, want: number): Uint8Array | number | null {
  switch (f.kind) {
    case 'timerfd': {
      if (want < 8) return -ERRNO.EINVAL;
      tickTimer(f);
      if (f.ticks === 0n) return null;
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, f.ticks), true);
      f.ticks = 0n;
      return b;
    }
    case 'signalfd': {
      if (want < 128) return -ERRNO.EINVAL;
      const out: Uint8Array[] = [];
      while (out.length < Math.floor(want / 128)) {
        const s = takeMaskedSignal(p, f.mask);
        if (!s) break;
        out.push(encodeSignalfdInfo(s));
      }
      if (out.length === 0) return null;
      const b = new Uint8Array(out.length * 128);
      out.forEach((x, i) => b.set(x, i * 128));
      return b;
    }
    case 'inotify': {
      if (f.queued === 0) return null;
      // Whole events only; a buffer too small for the first one is EINVAL.
      if (want < f.queue[0]!.length) return -ERRNO.EINVAL;
      let n = 0;
      let k = 0;
      while (k < f.queue.length && n + f.queue[k]!.length <= want) n += f.queue[k++]!.length;
      const b = new Uint8Array(n);
      let o = 0;
      for (const e of f.queue.splice(0, k)) {
        b.set(e, o);
        o += e.length;
      }
      f.queued -= n;
      return b;
    }
    case 'pidfd':
      return -ERRNO.EINVAL;
  }
}

/** What readlink(/proc/self/fd/N) shows for a special fd. */
export function specialLinkName(f: SpecialFd): string {
  switch (f.kind) {
    case 'timerfd':
      return 'anon_inode:[timerfd]';
    case 'signalfd':
      return 'anon_inode:[signalfd]';
    case 'inotify':
      return 'anon_inode:inotify';
    case 'pidfd':
      return 'anon_inode:[pidfd]';
  }
}

/** The last reference to a special fd went away. */
export function releaseSpecial(f: SpecialFd): void {
  if (f.kind === 'timerfd') armed.delete(f);
  else if (f.kind === 'inotify') inotifyInstances.delete(f);
}
