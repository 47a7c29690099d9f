// The file side of rvisor's pseudo-terminals (pty.ts has the line discipline): opening
// /dev/ptmx (a new master, its slave locked until unlockpt), /dev/pts/N (the slave) and /dev/tty
// (the controlling terminal), and read, write, ioctl, poll readiness and stat of either end.
// A read or write that cannot go on blocks only the calling thread (retried when something
// changes); the job control checks (SIGTTIN, SIGTTOU) and the controlling terminal rules are in
// job-control.ts.
import { existsSync } from 'node:fs';
import { monotonicNs } from '../clock.js';
import { ERRNO } from '../errno.js';
import { O_ACCMODE, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDONLY, O_WRONLY, type PtyEnd } from '../fd-table.js';
import {
  acquireCtty, clearSessionTty, dropCtty, hangup, mayAcquireOnOpen, signalPgrp, ttyAccessCheck,
} from '../job-control.js';
import { INIT_PID, type Kernel } from '../kernel.js';
import type { Process } from '../process.js';
import { Pty, TERMIOS_SIZE, TOSTOP, VMIN, VTIME } from '../pty.js';
import { SA_RESTART, SIGTTIN, SIGTTOU, SIGWINCH, SIG_DFL, SIG_IGN, SI_KERNEL } from '../signals.js';
import { S_IFCHR, type StatFields } from '../stat.js';
import type { Thread } from '../thread.js';
import { BLOCKED, NO_RETURN, type SysResult } from './abi.js';

/** The ptys of each run that can still be opened by name (their master is open), by index. */
const registries = new WeakMap<Kernel, Map<number, Pty>>();

function registry(k: Kernel): Map<number, Pty> {
  let r = registries.get(k);
  if (!r) registries.set(k, (r = new Map()));
  return r;
}

/** The lowest index that is neither one of ours nor a host pty (so /dev/pts/N names one thing). */
function freeIndex(k: Kernel): number {
  const r = registry(k);
  for (let n = 0; ; n++) if (!r.has(n) && !existsSync(`/dev/pts/${n}`)) return n;
}

function newEnd(p: Process, pty: Pty, master: boolean, flags: number): PtyEnd {
  return { kind: 'pty', id: p.fds.newAnonId(), pty, master, flags: flags & (O_ACCMODE | O_NONBLOCK), refs: 0 };
}

/** A new master (/dev/ptmx): its slave is locked until unlockpt. */
function openMaster(p: Process, flags: number): SysResult {
  const k = p.kernel;
  const pty = new Pty(freeIndex(k));
  pty.masterRefs = 1;
  pty.onMasterClosed = () => {
    registry(k).delete(pty.index);
    hangup(k, pty);
  };
  registry(k).set(pty.index, pty);
  const fd = p.fds.install(newEnd(p, pty, true, flags), (flags & O_CLOEXEC) !== 0);
  if (fd < 0) pty.endClosed(true);
  return fd;
}

/** A new open file description of the slave; a session leader without a controlling terminal
 *  gets this one unless O_NOCTTY. */
function openSlave(p: Process, pty: Pty, flags: number): SysResult {
  if (pty.masterClosed || pty.locked) return -ERRNO.EIO;
  pty.slaveRefs++;
  pty.slaveClosed = false;
  const fd = p.fds.install(newEnd(p, pty, false, flags), (flags & O_CLOEXEC) !== 0);
  if (fd < 0) {
    pty.endClosed(false);
    return fd;
  }
  if (!(flags & O_NOCTTY) && mayAcquireOnOpen(p, pty)) acquireCtty(p, pty);
  p.wakeRetriers();
  return fd;
}

/** open(2) of a terminal path rvisor provides itself, or null when the host's file is meant. */
export function openPtyPath(p: Process, path: string, flags: number): SysResult | null {
  if (path === '/dev/ptmx' || path === '/dev/pts/ptmx') return openMaster(p, flags);
  const m = /^\/dev\/pts\/(\d+)$/.exec(path);
  if (m) {
    const pty = registry(p.kernel).get(Number(m[1]));
    return pty ? openSlave(p, pty, flags) : null;
  }
  if (path === '/dev/tty') {
    if (p.ctty === null) return -ERRNO.ENXIO;
    if (p.ctty !== 'host') return openSlave(p, p.ctty, flags | O_NOCTTY);
  }
  return null;
}

const makedev = (major: number, minor: number): bigint => BigInt(((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12));

function ptyFields(p: Process, pty: Pty, master: boolean): StatFields {
  return {
    dev: makedev(0, 25), ino: BigInt(master ? 2 : pty.index + 3), mode: S_IFCHR | (master ? 0o666 : 0o620), nlink: 1,
    uid: master ? 0 : p.uid, gid: master ? 0 : 5, rdev: master ? makedev(5, 2) : makedev(136, pty.index), size: 0n,
    blksize: 1024, blocks: 0n, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, birthtimeNs: 0n,
  };
}

/** fstat of a pty end: a character device (the master as /dev/ptmx, the slave as /dev/pts/N). */
export function ptyStat(p: Process, f: PtyEnd): StatFields {
  return ptyFields(p, f.pty, f.master);
}

/** stat of /dev/pts/N naming one of our ptys (null: not ours). */
export function ptyPathStat(p: Process, path: string): StatFields | null {
  const m = /^\/dev\/pts\/(\d+)$/.exec(path);
  const pty = m ? registry(p.kernel).get(Number(m[1])) : undefined;
  return pty ? ptyFields(p, pty, false) : null;
}

/** What /proc/self/fd/N links to for a pty end. */
export function ptyLinkName(f: PtyEnd): string {
  return f.master ? '/dev/ptmx' : `/dev/pts/${f.pty.index}`;
}

/** A job control check said SIGTTIN/SIGTTOU went to the caller's group: the call is executed
 *  again once that is dealt with (a handler without SA_RESTART makes it fail with EINTR). */
function restartAfter(p: Process, sig: number): SysResult {
  const act = p.actions.get(sig);
  if (act.handler !== SIG_DFL && act.handler !== SIG_IGN && !(act.flags & SA_RESTART)) return -ERRNO.EINTR;
  return NO_RETURN;
}

function wait(p: Process, t: Thread, f: PtyEnd, deadline: bigint | null = null, rerun = false): SysResult {
  if (f.flags & O_NONBLOCK) return -ERRNO.EAGAIN;
  p.block(t, { kind: 'retry', deadline, rerunAtDeadline: rerun || undefined });
  return BLOCKED;
}

const DECISECOND = 100_000_000n;

/** read(2) on a pty end: the bytes read, or -errno / BLOCKED / NO_RETURN. */
export function ptyRead(p: Process, t: Thread, f: PtyEnd, want: number): Uint8Array | SysResult {
  if ((f.flags & O_ACCMODE) === O_WRONLY) return -ERRNO.EBADF;
  const pty = f.pty;
  if (f.master) {
    if (pty.masterAvailable() > 0) {
      if (want === 0) return 0;
      const d = pty.masterRead(want);
      p.wakeRetriers();
      return d;
    }
    if (pty.slaveClosed) return -ERRNO.EIO;
    if (want === 0) return 0;
    return wait(p, t, f);
  }
  if (pty.masterClosed) return 0; // hung up
  const jc = ttyAccessCheck(p, t, pty, SIGTTIN);
  if (jc === 'eio') return -ERRNO.EIO;
  if (jc === 'signal') return restartAfter(p, SIGTTIN);
  if (want === 0) return 0;
  const take = (n: number): Uint8Array => {
    const d = pty.slaveRead(n);
    p.pollDeadlines.delete(t.tid);
    p.wakeRetriers();
    return d;
  };
  if (pty.canonical) return pty.slaveReadable() ? take(want) : wait(p, t, f);
  const min = pty.cc(VMIN);
  const time = BigInt(pty.cc(VTIME)) * DECISECOND;
  const avail = pty.slaveInq();
  if (f.flags & O_NONBLOCK) return avail > 0 ? take(want) : min === 0 && time === 0n ? 0 : -ERRNO.EAGAIN;
  if (min === 0) {
    if (avail > 0 || time === 0n) return take(want);
    // VTIME alone: one timer from the start of the read; at its end the read returns 0.
    let deadline = p.pollDeadlines.get(t.tid);
    if (deadline === undefined) p.pollDeadlines.set(t.tid, (deadline = monotonicNs() + time));
    if (deadline <= monotonicNs()) {
      p.pollDeadlines.delete(t.tid);
      return 0;
    }
    return wait(p, t, f, deadline);
  }
  if (avail >= Math.min(min, want)) return take(want);
  if (avail > 0 && time > 0n) {
    // VMIN and VTIME: an inter-byte timer, started by the first byte.
    const deadline = pty.lastInputNs + time;
    if (deadline <= monotonicNs()) return take(want);
    return wait(p, t, f, deadline, true);
  }
  return wait(p, t, f);
}

/** write(2) on a pty end. */
export function ptyWrite(p: Process, t: Thread, f: PtyEnd, data: Uint8Array): SysResult {
  if ((f.flags & O_ACCMODE) === O_RDONLY) return -ERRNO.EBADF;
  const pty = f.pty;
  if (f.master) {
    if (data.length === 0) return 0;
    const room = pty.inputRoom();
    if (room === 0) return wait(p, t, f);
    const r = pty.receive(data.subarray(0, room), monotonicNs());
    for (const sig of r.signals) if (pty.fgPgrp) signalPgrp(p.kernel, pty.fgPgrp, { signo: sig, code: SI_KERNEL });
    p.wakeRetriers();
    return r.taken;
  }
  if (pty.masterClosed) return -ERRNO.EIO;
  if (pty.lflag & TOSTOP) {
    const jc = ttyAccessCheck(p, t, pty, SIGTTOU);
    if (jc === 'eio') return -ERRNO.EIO;
    if (jc === 'signal') return restartAfter(p, SIGTTOU);
  }
  if (data.length === 0) return 0;
  if (pty.outputRoom() === 0) return wait(p, t, f);
  const n = pty.slaveWrite(data);
  p.wakeRetriers();
  return n;
}

const POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLRDNORM = 0x40, POLLWRNORM = 0x100;

/** The poll bits of a pty end now. */
export function ptyReadiness(f: PtyEnd): number {
  const pty = f.pty;
  const out = POLLOUT | POLLWRNORM;
  const inp = POLLIN | POLLRDNORM;
  if (f.master) {
    return (pty.masterAvailable() > 0 ? inp : 0) | (pty.slaveClosed ? POLLHUP : 0) | (pty.inputRoom() > 0 ? out : 0);
  }
  if (pty.masterClosed) return inp | out | POLLERR | POLLHUP;
  const min = pty.cc(VMIN);
  const amt = !pty.canonical && pty.cc(VTIME) === 0 && min > 0 ? min : 1;
  return (pty.slaveReadable(amt) ? inp : 0) | (pty.outputRoom() > 0 ? out : 0);
}

// ---- ioctl --------------------------------------------------------------------------------------

const TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TCSBRK = 0x5409, TCXONC = 0x540a;
const TCFLSH = 0x540b, TIOCEXCL = 0x540c, TIOCNXCL = 0x540d, TIOCSCTTY = 0x540e, TIOCGPGRP = 0x540f;
const TIOCSPGRP = 0x5410, TIOCOUTQ = 0x5411, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541b;
const TIOCNOTTY = 0x5422, TCSBRKP = 0x5425, TIOCGSID = 0x5429, TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431;
const TIOCGPTLCK = 0x80045439, TIOCGPTPEER = 0x5441;

/** ioctl(2) on a pty end (FIONBIO and FIOCLEX/FIONCLEX are handled before). */
export function ptyIoctl(p: Process, t: Thread, f: PtyEnd, req: number, arg: bigint): SysResult {
  const pty = f.pty;
  const k = p.kernel;
  if (!f.master && pty.masterClosed) return req === TIOCSPGRP ? -ERRNO.ENOTTY : -ERRNO.EIO;
  const putInt = (v: number): SysResult => (p.as.writeU32(arg, v) ? 0 : -ERRNO.EFAULT);
  /** The SIGTTOU check of requests that change the terminal. */
  const changeCheck = (): SysResult | null => {
    const jc = ttyAccessCheck(p, t, pty, SIGTTOU);
    if (jc === 'eio') return -ERRNO.EIO;
    if (jc === 'signal') return restartAfter(p, SIGTTOU);
    return null;
  };
  switch (req) {
    case TCGETS:
      return p.as.write(arg, pty.termios) ? 0 : -ERRNO.EFAULT;
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      const c = changeCheck();
      if (c !== null) return c;
      const b = p.as.read(arg, TERMIOS_SIZE);
      if (!b) return -ERRNO.EFAULT;
      if (req === TCSETSF) pty.flushInput();
      pty.setTermios(b);
      p.wakeRetriers();
      return 0;
    }
    case TCSBRK:
    case TCSBRKP:
      return 0; // output is never pending
    case TCXONC: {
      const v = Number(BigInt.asIntN(32, arg));
      if (v < 0 || v > 3) return -ERRNO.EINVAL;
      const c = changeCheck();
      if (c !== null) return c;
      if (v === 0) pty.stopped = true;
      else if (v === 1) pty.stopped = false;
      p.wakeRetriers();
      return 0;
    }
    case TCFLSH: {
      const v = Number(BigInt.asIntN(32, arg));
      if (v < 0 || v > 2) return -ERRNO.EINVAL;
      const c = changeCheck();
      if (c !== null) return c;
      // TCIFLUSH (0) empties what this end reads, TCOFLUSH (1) what the other end reads.
      const mine = f.master ? () => pty.flushOutput() : () => pty.flushInput();
      const theirs = f.master ? () => pty.flushInput() : () => pty.flushOutput();
      if (v !== 1) mine();
      if (v !== 0) theirs();
      p.wakeRetriers();
      return 0;
    }
    case TIOCEXCL:
    case TIOCNXCL:
      return 0;
    case TIOCGWINSZ:
      return p.as.write(arg, pty.winsize) ? 0 : -ERRNO.EFAULT;
    case TIOCSWINSZ: {
      const b = p.as.read(arg, 8);
      if (!b) return -ERRNO.EFAULT;
      if (b.every((x, i) => x === pty.winsize[i])) return 0;
      pty.winsize = new Uint8Array(b);
      if (pty.fgPgrp) signalPgrp(k, pty.fgPgrp, { signo: SIGWINCH, code: SI_KERNEL });
      return 0;
    }
    case FIONREAD:
      return putInt(f.master ? pty.masterAvailable() : pty.slaveInq());
    case TIOCOUTQ:
      return putInt(0);
    case TIOCGPGRP:
      if (!f.master && p.ctty !== pty) return -ERRNO.ENOTTY;
      return putInt(pty.fgPgrp);
    case TIOCGSID:
      if (!f.master && p.ctty !== pty) return -ERRNO.ENOTTY;
      if (pty.session === 0) return -ERRNO.ENOTTY;
      return putInt(pty.session);
    case TIOCSPGRP: {
      if (p.ctty !== pty || pty.session !== p.sid) return -ERRNO.ENOTTY;
      const jc = ttyAccessCheck(p, t, pty, SIGTTOU);
      if (jc === 'eio') return -ERRNO.ENOTTY;
      if (jc === 'signal') return restartAfter(p, SIGTTOU);
      const v = p.as.readU32(arg);
      if (v === null) return -ERRNO.EFAULT;
      const pgrp = v | 0;
      if (pgrp < 0) return -ERRNO.EINVAL;
      const procs = [...k.processes.values()];
      const g = procs.find((q) => q.pgid === pgrp) ?? procs.find((q) => q.pid === pgrp);
      if (!g) return pgrp === INIT_PID ? -ERRNO.EPERM : -ERRNO.ESRCH; // init: another session
      if (g.sid !== p.sid) return -ERRNO.EPERM;
      pty.fgPgrp = pgrp;
      p.wakeRetriers();
      return 0;
    }
    case TIOCSCTTY: {
      if (p.sid === p.pid && pty.session === p.sid) return 0;
      if (p.sid !== p.pid || p.ctty !== null) return -ERRNO.EPERM;
      if (pty.session !== 0) {
        // Stealing a terminal from another session needs CAP_SYS_ADMIN.
        if (Number(BigInt.asIntN(32, arg)) !== 1 || !p.creds.privileged) return -ERRNO.EPERM;
        clearSessionTty(k, pty);
      }
      if ((f.flags & O_ACCMODE) === O_WRONLY && !p.creds.privileged) return -ERRNO.EPERM;
      acquireCtty(p, pty);
      return 0;
    }
    case TIOCNOTTY:
      if (p.ctty !== pty) return -ERRNO.ENOTTY;
      dropCtty(p, pty);
      return 0;
    case TIOCGPTN:
      return f.master ? putInt(pty.index) : -ERRNO.ENOTTY;
    case TIOCSPTLCK: {
      if (!f.master) return -ERRNO.ENOTTY;
      const v = p.as.readU32(arg);
      if (v === null) return -ERRNO.EFAULT;
      pty.locked = v !== 0;
      return 0;
    }
    case TIOCGPTLCK:
      return f.master ? putInt(pty.locked ? 1 : 0) : -ERRNO.ENOTTY;
    case TIOCGPTPEER: {
      if (!f.master) return -ERRNO.ENOTTY;
      const flags = Number(BigInt.asIntN(32, arg));
      if (flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | 0o100000)) return -ERRNO.EINVAL;
      return openSlave(p, pty, flags | O_NOCTTY);
    }
    default:
      return -ERRNO.ENOTTY;
  }
}
