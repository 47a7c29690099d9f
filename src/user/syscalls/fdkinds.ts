// System calls making the special file descriptors of fd-kinds.ts and the process handles:
// timerfd_create/settime/gettime, signalfd4, memfd_create (+ its seals), pidfd_open,
// pidfd_send_signal, pidfd_getfd, clone3 and CLONE_PIDFD. inotify is in inotify.ts.
//
// A memfd is a host file: a temporary file unlinked at once (so nothing is left behind), mode
// 0777 and nlink 0 like Linux's shmem inode; /proc/self/fd/N names it "/memfd:NAME (deleted)".
// Its seals live on the open file description (HostFile.memfd), which every fd and every
// process sharing the memfd reaches; writes, ftruncate and mmap check them (memfdCheck*).
import { closeSync, fchmodSync, fstatSync, openSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_WRITE, type AddressSpace } from '../address-space.js';
import { monotonicNs, realtimeToMonotonic, NS_PER_SEC } from '../clock.js';
import { ERRNO, hostErrno } from '../errno.js';
import { maySignalProcess } from '../creds.js';
import { armTimer, tickTimer, type PidFd, type SignalFd, type TimerFd } from '../fd-kinds.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR, O_LARGEFILE, type HostFile, type OpenFile } from '../fd-table.js';
import type { Process } from '../process.js';
import { NSIG, SI_TKILL, SI_USER, UNBLOCKABLE } from '../signals.js';
import type { SigInfo, Thread } from '../thread.js';
import { BLOCKED, int, u32, type SyscallDef, type SysResult } from './abi.js';
import { doClone } from './threads.js';

// ---- timerfd -----------------------------------------------------------------------------------

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_BOOTTIME = 7;
const CLOCK_REALTIME_ALARM = 8;
const CLOCK_BOOTTIME_ALARM = 9;
const TFD_TIMER_ABSTIME = 1;
const TFD_TIMER_CANCEL_ON_SET = 2;

const sysTimerfdCreate = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const clock = int(a[0]);
  const flags = int(a[1]);
  if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -ERRNO.EINVAL;
  if (clock !== CLOCK_REALTIME && clock !== CLOCK_MONOTONIC && clock !== CLOCK_BOOTTIME && clock !== CLOCK_REALTIME_ALARM && clock !== CLOCK_BOOTTIME_ALARM) return -ERRNO.EINVAL;
  // The alarm clocks need CAP_WAKE_ALARM (root has it); they then run as their base clock.
  if ((clock === CLOCK_REALTIME_ALARM || clock === CLOCK_BOOTTIME_ALARM) && !p.creds.privileged) return -ERRNO.EPERM;
  const f: TimerFd = { kind: 'timerfd', id: p.fds.newAnonId(), clock: clock === CLOCK_REALTIME_ALARM ? CLOCK_REALTIME : clock, deadline: null, interval: 0n, ticks: 0n, flags: O_RDWR | (flags & O_NONBLOCK), refs: 0 };
  return p.fds.install(f, (flags & O_CLOEXEC) !== 0);
};

/** Reads struct itimerspec: [interval, value] in ns, or -errno (EINVAL for a bad timespec). */
function readItimerspec(p: Process, ptr: bigint): [bigint, bigint] | number {
  const b = p.as.read(ptr, 32);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer);
  const out: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    const s = v.getBigInt64(i * 16, true);
    const ns = v.getBigInt64(i * 16 + 8, true);
    if (s < 0n || ns < 0n || ns >= NS_PER_SEC) return -ERRNO.EINVAL;
    const t = s * NS_PER_SEC + ns;
    out.push(t > KTIME_MAX ? KTIME_MAX : t); // Linux's ktime saturates
  }
  return [out[0]!, out[1]!];
}

/** The largest time Linux keeps (ns, signed 64-bit). */
const KTIME_MAX = (1n << 63n) - 1n;

function encodeItimerspec(interval: bigint, value: bigint): Uint8Array {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, interval / NS_PER_SEC, true);
  v.setBigInt64(8, interval % NS_PER_SEC, true);
  v.setBigInt64(16, value / NS_PER_SEC, true);
  v.setBigInt64(24, value % NS_PER_SEC, true);
  return b;
}

function timerfdOf(p: Process, fd: number): TimerFd | number {
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  return f.kind === 'timerfd' ? f : -ERRNO.EINVAL;
}

/** The current setting of a timer as timerfd_gettime reports it. */
function currentSetting(f: TimerFd): Uint8Array {
  tickTimer(f);
  if (f.deadline === null) return encodeItimerspec(f.interval, 0n);
  const left = f.deadline - monotonicNs();
  return encodeItimerspec(f.interval, left > 0n ? left : 1n);
}

const sysTimerfdSettime = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[1]);
  const spec = readItimerspec(p, a[2]!);
  if (spec === -ERRNO.EFAULT) return spec;
  if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) || typeof spec === 'number') return -ERRNO.EINVAL;
  const f = timerfdOf(p, int(a[0]));
  if (typeof f === 'number') return f;
  const old = currentSetting(f);
  const [interval, value] = spec;
  let deadline: bigint | null = null;
  if (value !== 0n) {
    if (!(flags & TFD_TIMER_ABSTIME)) deadline = monotonicNs() + value;
    else if (f.clock === CLOCK_REALTIME) deadline = realtimeToMonotonic(value);
    else deadline = value; // CLOCK_MONOTONIC and CLOCK_BOOTTIME read the host's monotonic clock
  }
  armTimer(f, deadline, interval);
  p.wakeRetriers(); // a reader of a timer that was reset sees its new state
  if (a[3] !== 0n && !p.as.write(a[3]!, old)) return -ERRNO.EFAULT;
  return 0;
};

const sysTimerfdGettime = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const f = timerfdOf(p, int(a[0]));
  if (typeof f === 'number') return f;
  return p.as.write(a[1]!, currentSetting(f)) ? 0 : -ERRNO.EFAULT;
};

// ---- signalfd ----------------------------------------------------------------------------------

const sysSignalfd4 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const fd = int(a[0]);
  const flags = int(a[3]);
  if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -ERRNO.EINVAL;
  if (a[2] !== 8n) return -ERRNO.EINVAL;
  const m = p.as.readU64(a[1]!);
  if (m === null) return -ERRNO.EFAULT;
  const mask = m & ~UNBLOCKABLE;
  if (fd === -1) {
    const f: SignalFd = { kind: 'signalfd', id: p.fds.newAnonId(), mask, flags: O_RDWR | (flags & O_NONBLOCK), refs: 0 };
    return p.fds.install(f, (flags & O_CLOEXEC) !== 0);
  }
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'signalfd') return -ERRNO.EINVAL;
  f.mask = mask;
  p.wakeRetriers();
  return fd;
};

// ---- memfd -------------------------------------------------------------------------------------

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const MFD_HUGETLB = 4;
const MFD_NOEXEC_SEAL = 8;
const MFD_EXEC = 0x10;
export const F_SEAL_SEAL = 1;
export const F_SEAL_SHRINK = 2;
export const F_SEAL_GROW = 4;
export const F_SEAL_WRITE = 8;
export const F_SEAL_FUTURE_WRITE = 0x10;
export const F_SEAL_EXEC = 0x20;
const ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;
const MFD_NAME_MAX = 249;

const sysMemfdCreate = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = u32(a[1]);
  if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) && !(flags & MFD_HUGETLB)) return -ERRNO.EINVAL;
  // Huge pages cannot be had for a host file: refused (as Linux does without hugetlbfs pages).
  if (flags & MFD_HUGETLB) return -ERRNO.EINVAL;
  if ((flags & (MFD_NOEXEC_SEAL | MFD_EXEC)) === (MFD_NOEXEC_SEAL | MFD_EXEC)) return -ERRNO.EINVAL;
  const raw = p.as.readCString(a[0]!, MFD_NAME_MAX + 1);
  if (typeof raw === 'number') return raw === -ERRNO.ENAMETOOLONG ? -ERRNO.EINVAL : raw;
  if (raw.length > MFD_NAME_MAX) return -ERRNO.EINVAL;
  const name = new TextDecoder().decode(raw);
  let hostFd: number;
  const tmp = join(tmpdir(), `rvisor-memfd-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    hostFd = openSync(tmp, 'wx+', 0o600);
  } catch (e) {
    return hostErrno(e);
  }
  try {
    unlinkSync(tmp);
    fchmodSync(hostFd, flags & MFD_NOEXEC_SEAL ? 0o666 : 0o777);
  } catch (e) {
    closeSync(hostFd);
    return hostErrno(e);
  }
  let seals = flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL) ? 0 : F_SEAL_SEAL;
  if (flags & MFD_NOEXEC_SEAL) seals |= F_SEAL_EXEC;
  const f: HostFile = {
    kind: 'host', hostFd, path: `/memfd:${name} (deleted)`, flags: O_RDWR | O_LARGEFILE, isDir: false, pos: 0, seekable: true,
    dirPos: 0, keepOpen: false, refs: 0, memfd: { seals },
  };
  const fd = p.fds.install(f, (flags & MFD_CLOEXEC) !== 0);
  if (fd < 0) closeSync(hostFd);
  else memfds.set(hostFd, f);
  return fd;
};

/** Memfds by host fd (an entry whose file has no references left is stale: its host fd was
 *  closed and may name another file now). */
const memfds = new Map<number, HostFile>();

/** mprotect adding PROT_WRITE over [start, end) of `as`: true if a shared mapping there is of a memfd
 *  sealed against writing (Linux: EACCES). */
export function memfdWriteSealed(as: AddressSpace, start: number, end: number): boolean {
  const ids = as.sharedFilesIn(start, end);
  if (ids.length === 0) return false;
  for (const [h, f] of memfds) {
    if (f.refs <= 0 || !((f.memfd?.seals ?? 0) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) continue;
    const id = as.cache.idOf(h);
    if (id !== null && ids.includes(id)) return true;
  }
  return false;
}

/** fcntl F_ADD_SEALS / F_GET_SEALS (cmd 1033 / 1034). */
export function memfdSeals(p: Process, f: OpenFile, add: boolean, arg: number): SysResult {
  if (f.kind !== 'host' || !f.memfd) return -ERRNO.EINVAL;
  if (!add) return f.memfd.seals;
  if (arg & ~ALL_SEALS) return -ERRNO.EINVAL;
  if ((f.flags & 3) === 0) return -ERRNO.EPERM; // needs a writable descriptor
  if (f.memfd.seals & F_SEAL_SEAL) return -ERRNO.EPERM;
  if (arg & F_SEAL_WRITE && !(f.memfd.seals & F_SEAL_WRITE)) {
    for (const q of p.kernel.processes.values()) if (!q.finished && q.as.hasWritableSharedView(f.hostFd)) return -ERRNO.EBUSY;
  }
  f.memfd.seals |= arg;
  return 0;
}

/** How much of a write of `len` bytes at `pos` the seals allow: len, a shorter count, or -EPERM. */
export function memfdCheckWrite(f: HostFile, pos: number, len: number): number {
  const seals = f.memfd?.seals ?? 0;
  if (!seals || len === 0) return len;
  if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -ERRNO.EPERM;
  if (seals & F_SEAL_GROW) {
    const size = fstatSync(f.hostFd).size;
    if (pos + len > size) {
      // Linux writes page by page and stops at the first page that would grow the file.
      const ok = Math.floor(size / 4096) * 4096 - pos;
      return ok > 0 ? ok : -ERRNO.EPERM;
    }
  }
  return len;
}

/** ftruncate of a sealed memfd: 0 or -EPERM. */
export function memfdCheckTruncate(f: HostFile, len: number): number {
  const seals = f.memfd?.seals ?? 0;
  if (!seals) return 0;
  const size = fstatSync(f.hostFd).size;
  if (len < size && seals & F_SEAL_SHRINK) return -ERRNO.EPERM;
  if (len > size && seals & F_SEAL_GROW) return -ERRNO.EPERM;
  return 0;
}

/** mmap of a sealed memfd: a writable shared mapping needs no write seal. */
export function memfdCheckMmap(f: HostFile, shared: boolean, writable: boolean): number {
  if (shared && writable && (f.memfd?.seals ?? 0) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -ERRNO.EPERM;
  return 0;
}

// ---- pidfd -------------------------------------------------------------------------------------

const PIDFD_NONBLOCK = O_NONBLOCK;
const PIDFD_SIGNAL_THREAD = 1;
const PIDFD_SIGNAL_THREAD_GROUP = 2;
const PIDFD_SIGNAL_PROCESS_GROUP = 4;

/** A new pidfd on process `pid` (always close-on-exec, as on Linux). */
export function installPidfd(p: Process, pid: number, flags = 0): number {
  const f: PidFd = { kind: 'pidfd', id: p.fds.newAnonId(), pid, flags: O_RDWR | (flags & O_NONBLOCK), refs: 0 };
  return p.fds.install(f, true);
}

const sysPidfdOpen = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const pid = int(a[0]);
  const flags = u32(a[1]);
  if (flags & ~PIDFD_NONBLOCK || pid <= 0) return -ERRNO.EINVAL;
  const q = p.kernel.processes.get(pid);
  if (!q) return p.kernel.findThread(pid) ? -ERRNO.ENOENT : -ERRNO.ESRCH; // a thread that is no leader
  return installPidfd(p, pid, flags);
}

/** The pidfd at guest fd `fd`, or -EBADF. */
function pidfdOf(p: Process, fd: number): PidFd | number {
  const f = p.fds.get(fd);
  return f && f.kind === 'pidfd' ? f : -ERRNO.EBADF;
}

/** For waitid(P_PIDFD): the pid the pidfd names and whether it is non-blocking, or -errno. */
export function pidfdWaitTarget(p: Process, fd: number): { pid: number; nonblock: boolean } | number {
  if (fd < 0) return -ERRNO.EINVAL;
  const f = pidfdOf(p, fd);
  if (typeof f === 'number') return f;
  return { pid: f.pid, nonblock: (f.flags & O_NONBLOCK) !== 0 };
}

const sysPidfdSendSignal = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const sig = int(a[1]);
  const flags = u32(a[3]);
  if (flags & ~(PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP)) return -ERRNO.EINVAL;
  if (flags & (flags - 1)) return -ERRNO.EINVAL; // at most one scope
  const f = pidfdOf(p, int(a[0]));
  if (typeof f === 'number') return f;
  if (sig < 0 || sig > NSIG) return -ERRNO.EINVAL;
  let info: SigInfo = { signo: sig, code: SI_USER, pid: p.pid, uid: p.uid };
  if (a[2] !== 0n) {
    const b = p.as.read(a[2]!, 128);
    if (!b) return -ERRNO.EFAULT;
    const v = new DataView(b.buffer);
    if (v.getInt32(0, true) !== sig) return -ERRNO.EINVAL;
    const code = v.getInt32(8, true);
    const self = f.pid === p.pid && !(flags & PIDFD_SIGNAL_PROCESS_GROUP);
    if (!self && (code >= 0 || code === SI_TKILL)) return -ERRNO.EPERM;
    info = { signo: sig, code, pid: v.getInt32(16, true), uid: v.getInt32(20, true), value: v.getBigUint64(24, true) };
  }
  const q = p.kernel.processes.get(f.pid);
  if (!q) return -ERRNO.ESRCH;
  if (!maySignalProcess(p, q, sig)) return -ERRNO.EPERM;
  if (sig === 0 || q.finished || q.exitStatus !== null) return 0;
  if (flags & PIDFD_SIGNAL_PROCESS_GROUP) {
    for (const r of p.kernel.processes.values()) if (!r.finished && r.pgid === q.pgid) r.sendToProcess({ ...info });
  } else if (flags & PIDFD_SIGNAL_THREAD) {
    const t = q.mainThread;
    if (!t) return -ERRNO.ESRCH;
    q.sendToThread(t, info);
  } else q.sendToProcess(info);
  return 0;
};

const sysPidfdGetfd = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const targetFd = int(a[1]);
  if (u32(a[2]) !== 0) return -ERRNO.EINVAL;
  const f = pidfdOf(p, int(a[0]));
  if (typeof f === 'number') return f;
  const q = p.kernel.processes.get(f.pid);
  if (!q) return -ERRNO.ESRCH;
  // Same user and no privilege boundary in a run: ptrace access is granted, as Linux grants it.
  const file = q.finished ? undefined : q.fds.get(targetFd);
  if (!file) return -ERRNO.EBADF;
  return p.fds.install(file, true);
};

// ---- clone3 and CLONE_PIDFD ---------------------------------------------------------------------

const CSIGNAL = 0xff;
const CLONE_NEWTIME = 0x80;
const CLONE_PIDFD = 0x1000;
const CLONE_THREAD = 0x10000;
const CLONE_PARENT = 0x8000;
const CLONE_SIGHAND = 0x800;
const CLONE_DETACHED = 0x400000;
const CLONE_PARENT_SETTID = 0x100000;
const CLONE_CLEAR_SIGHAND = 0x100000000n;
const CLONE_INTO_CGROUP = 0x200000000n;
/** Namespace flags: creating namespaces is not offered (EPERM, as for an unprivileged user
 *  where user namespaces are disabled). */
const CLONE_NEWNS = 0x20000;
const NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWTIME | 0x02000000 /* CGROUP */ | 0x04000000 /* UTS */ | 0x08000000 /* IPC */ | 0x10000000 /* USER */ | 0x20000000 /* PID */ | 0x40000000; /* NET */

/** clone with CLONE_PIDFD: the clone, then a pidfd on the child written (as an int) to
 *  `pidfdPtr`. `flags` still holds CLONE_PIDFD. */
export function clonePidfd(p: Process, t: Thread, flags: number, newsp: bigint, ptid: bigint, tls: bigint, ctid: bigint, pidfdPtr: bigint): SysResult {
  if (flags & (CLONE_THREAD | CLONE_DETACHED)) return -ERRNO.EINVAL;
  if (!p.as.check(pidfdPtr, 4, ACCESS_WRITE)) return -ERRNO.EFAULT;
  const r = doClone(p, t, flags & ~CLONE_PIDFD, newsp, ptid, tls, ctid);
  let child: number;
  if (r === BLOCKED) {
    if (t.wait?.kind !== 'vfork') return r;
    child = t.wait.child;
  } else if (typeof r !== 'number' || r <= 0) return r;
  else child = r;
  const fd = installPidfd(p, child);
  if (fd >= 0) p.as.writeU32(pidfdPtr, fd);
  else {
    p.as.writeU32(pidfdPtr, 0xffffffff);
    const q = p.kernel.processes.get(child);
    q?.kill(9);
  }
  return r;
}

const sysClone3 = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const usize = a[1]!;
  if (usize > 4096n) return -ERRNO.E2BIG;
  if (usize < 64n) return -ERRNO.EINVAL;
  const b = p.as.read(a[0]!, Number(usize));
  if (!b) return -ERRNO.EFAULT;
  for (let i = 88; i < b.length; i++) if (b[i]) return -ERRNO.E2BIG;
  const v = new DataView(b.buffer);
  const u64 = (off: number): bigint => (off + 8 <= b.length ? v.getBigUint64(off, true) : 0n);
  const flags = u64(0);
  const pidfd = u64(8);
  const childTid = u64(16);
  const parentTid = u64(24);
  const exitSignal = u64(32);
  const stack = u64(40);
  const stackSize = u64(48);
  const tls = u64(56);
  const setTid = u64(64);
  const setTidSize = u64(72);
  const cgroup = u64(80);
  if (setTidSize > 32n || (setTid === 0n && setTidSize > 0n) || (setTid !== 0n && setTidSize === 0n)) return -ERRNO.EINVAL;
  if (setTid !== 0n && !p.as.read(setTid, Number(setTidSize) * 4)) return -ERRNO.EFAULT;
  if (exitSignal & ~BigInt(CSIGNAL) || exitSignal > 64n) return -ERRNO.EINVAL;
  if (flags & CLONE_INTO_CGROUP && (cgroup > 0x7fffffffn || usize < 88n)) return -ERRNO.EINVAL;
  if (flags & ~(0xffffffffn | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP)) return -ERRNO.EINVAL;
  const lo = Number(flags & 0xffffffffn);
  if (lo & (CLONE_DETACHED | (CSIGNAL & ~CLONE_NEWTIME))) return -ERRNO.EINVAL;
  if (lo & CLONE_SIGHAND && flags & CLONE_CLEAR_SIGHAND) return -ERRNO.EINVAL;
  if (lo & (CLONE_THREAD | CLONE_PARENT) && exitSignal !== 0n) return -ERRNO.EINVAL;
  if ((stack === 0n) !== (stackSize === 0n)) return -ERRNO.EINVAL;
  if (setTidSize > 0n) return -ERRNO.EPERM; // choosing the pid needs CAP_CHECKPOINT_RESTORE
  if (lo & NAMESPACE_FLAGS || flags & CLONE_INTO_CGROUP) return -ERRNO.EPERM;
  if (flags & CLONE_CLEAR_SIGHAND) return -ERRNO.EINVAL; // not offered
  const legacy = lo | Number(exitSignal);
  const sp = stack === 0n ? 0n : stack + stackSize;
  if (lo & CLONE_PIDFD) return clonePidfd(p, t, legacy, sp, parentTid, tls, childTid, pidfd);
  return doClone(p, t, legacy, sp, parentTid, tls, childTid);
};

/** Legacy clone with CLONE_PIDFD: the pidfd goes where parent_tid points. */
export function legacyClonePidfd(p: Process, t: Thread, flags: number, newsp: bigint, ptid: bigint, tls: bigint, ctid: bigint): SysResult {
  if (flags & CLONE_PARENT_SETTID) return -ERRNO.EINVAL;
  return clonePidfd(p, t, flags, newsp, 0n, tls, ctid, ptid);
}

export const FDKIND_SYSCALLS: Record<number, SyscallDef> = {
  74: { name: 'signalfd4', args: 'dpux', fn: sysSignalfd4 },
  85: { name: 'timerfd_create', args: 'dx', fn: sysTimerfdCreate },
  86: { name: 'timerfd_settime', args: 'dxpp', fn: sysTimerfdSettime },
  87: { name: 'timerfd_gettime', args: 'dp', fn: sysTimerfdGettime },
  279: { name: 'memfd_create', args: 'sx', fn: sysMemfdCreate },
  424: { name: 'pidfd_send_signal', args: 'ddpx', fn: sysPidfdSendSignal },
  434: { name: 'pidfd_open', args: 'dx', fn: sysPidfdOpen },
  435: { name: 'clone3', args: 'pu', fn: sysClone3 },
  438: { name: 'pidfd_getfd', args: 'ddx', fn: sysPidfdGetfd },
};
