// Process-wide information and control: ids, process groups and sessions, uname, limits, usage,
// prctl, scheduling queries, getrandom.
import { randomFillSync } from 'node:crypto';
import { freemem, hostname, loadavg, totalmem, uptime } from 'node:os';
import { onlineMask } from '../cpus.js';
import { ERRNO } from '../errno.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, size, u32, type SyscallDef, type SysResult } from './abi.js';
import { ID_SYSCALLS } from './ids.js';
import { PRCTL_SYSCALLS } from './prctl.js';
import { USAGE_SYSCALLS } from './rusage.js';

const ok = (): SysResult => 0;

const sysGetpid = (p: Process): SysResult => p.pid;
const sysGetppid = (p: Process): SysResult => p.ppid;
const sysGettid = (_p: Process, t: Thread): SysResult => t.tid;
const sysUname = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const fields = ['Linux', hostname(), '6.1.0', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.0 (rvisor)', 'riscv64', '(none)'];
  const b = new Uint8Array(65 * 6);
  const enc = new TextEncoder();
  fields.forEach((f, i) => b.set(enc.encode(f).subarray(0, 64), i * 65));
  return p.as.write(a[0]!, b) ? 0 : -ERRNO.EFAULT;
};

const sysGetrandom = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const n = Math.min(size(a[1]), 33554431);
  const flags = u32(a[2]);
  if (flags & ~7) return -ERRNO.EINVAL;
  const b = new Uint8Array(n);
  randomFillSync(b);
  return p.as.write(a[0]!, b) ? n : -ERRNO.EFAULT;
};

const RLIM_INFINITY = (1n << 64n) - 1n;
const RLIMIT_STACK = 3;
const RLIMIT_NOFILE = 7;

export function defaultRlimit(res: number): [bigint, bigint] {
  switch (res) {
    case RLIMIT_STACK: return [8n * 1048576n, RLIM_INFINITY];
    case RLIMIT_NOFILE: return [1024n, 1048576n];
    case 4: return [0n, RLIM_INFINITY]; // RLIMIT_CORE
    case 6: return [63704n, 63704n]; // RLIMIT_NPROC
    case 8: return [8n * 1048576n, 8n * 1048576n]; // RLIMIT_MEMLOCK
    case 11: return [63704n, 63704n]; // RLIMIT_SIGPENDING
    case 12: return [819200n, 819200n]; // RLIMIT_MSGQUEUE
    case 13: case 14: return [0n, 0n]; // RLIMIT_NICE, RLIMIT_RTPRIO
    default: return [RLIM_INFINITY, RLIM_INFINITY];
  }
}

/** get/setrlimit on the limits of process `q` (default: the caller `p`, whose memory holds the
 *  structures). */
function prlimit(p: Process, res: number, newPtr: bigint, oldPtr: bigint, q: Process = p): SysResult {
  if (res < 0 || res > 15) return -ERRNO.EINVAL;
  const cur = q.rlimits.get(res) ?? defaultRlimit(res);
  let next: [bigint, bigint] | null = null;
  if (newPtr !== 0n) {
    const b = p.as.read(newPtr, 16);
    if (!b) return -ERRNO.EFAULT;
    const v = new DataView(b.buffer);
    next = [v.getBigUint64(0, true), v.getBigUint64(8, true)];
    if (next[0] > next[1]) return -ERRNO.EINVAL;
    if (next[1] > cur[1] && !p.creds.privileged) return -ERRNO.EPERM;
  }
  if (oldPtr !== 0n) {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, cur[0], true);
    v.setBigUint64(8, cur[1], true);
    if (!p.as.write(oldPtr, b)) return -ERRNO.EFAULT;
  }
  if (next) {
    q.rlimits.set(res, next);
    if (res === RLIMIT_NOFILE) q.fds.limit = Number(next[0] > 1048576n ? 1048576n : next[0]);
  }
  return 0;
}

const sysPrlimit64 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const q = target(p, int(a[0]));
  if (!q || q.finished) return -ERRNO.ESRCH;
  return prlimit(p, int(a[1]), a[2]!, a[3]!, q);
};
const sysGetrlimit = (p: Process, _t: Thread, a: bigint[]): SysResult => prlimit(p, int(a[0]), 0n, a[1]!);
const sysSetrlimit = (p: Process, _t: Thread, a: bigint[]): SysResult => prlimit(p, int(a[0]), a[1]!, 0n);

const sysSysinfo = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const b = new Uint8Array(112);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(Math.floor(uptime())), true);
  loadavg().forEach((l, i) => v.setBigUint64(8 + i * 8, BigInt(Math.floor(l * 65536)), true));
  v.setBigUint64(32, BigInt(totalmem()), true);
  v.setBigUint64(40, BigInt(freemem()), true);
  v.setUint16(80, p.threads.size, true);
  v.setUint32(104, 1, true);
  return p.as.write(a[0]!, b) ? 0 : -ERRNO.EFAULT;
};

const sysSchedYield = (p: Process): SysResult => {
  p.yieldRequested = true;
  return 0;
};

/** The thread sched_*affinity names: 0 is the caller, else any thread by TID. */
function affinityTarget(p: Process, t: Thread, pid: number): Thread | null {
  if (pid === 0) return t;
  return p.kernel.findThread(pid)?.[1] ?? null;
}

/** The CPUs shown (cpus.ts): the kernel's mask is one 64-bit word (8 bytes). */
const sysSchedGetaffinity = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const len = size(a[1]);
  if (len < 8 || len % 8 !== 0) return -ERRNO.EINVAL;
  const target = affinityTarget(p, t, int(a[0]));
  if (!target) return -ERRNO.ESRCH;
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, target.affinity ?? onlineMask(), true);
  return p.as.write(a[2]!, b) ? 8 : -ERRNO.EFAULT;
};

/** Keeps the mask (limited to the CPUs shown; none of them: EINVAL); every CPU shares one host
 *  thread, so it only changes what sched_getaffinity reports. */
const sysSchedSetaffinity = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const len = Math.min(size(a[1]), 8);
  const target = affinityTarget(p, t, int(a[0]));
  if (!target) return -ERRNO.ESRCH;
  const raw = len > 0 ? p.as.read(a[2]!, len) : new Uint8Array(0);
  if (!raw) return -ERRNO.EFAULT;
  let mask = 0n;
  for (let i = 0; i < raw.length; i++) mask |= BigInt(raw[i]!) << BigInt(8 * i);
  mask &= onlineMask();
  if (mask === 0n) return -ERRNO.EINVAL;
  target.affinity = mask === onlineMask() ? null : mask;
  return 0;
};

const sysSchedGetparam = (p: Process, _t: Thread, a: bigint[]): SysResult => (p.as.writeU32(a[1]!, 0) ? 0 : -ERRNO.EFAULT);

/** The CPU a thread runs on: the lowest of its mask (the CPUs shown share one host thread). */
const sysGetcpu = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const mask = t.affinity ?? 1n;
  let cpu = 0;
  while (!((mask >> BigInt(cpu)) & 1n)) cpu++;
  if (a[0] !== 0n && !p.as.writeU32(a[0]!, cpu)) return -ERRNO.EFAULT;
  if (a[1] !== 0n && !p.as.writeU32(a[1]!, 0)) return -ERRNO.EFAULT;
  return 0;
};

const sysPersonality = (_p: Process, _t: Thread, a: bigint[]): SysResult => (u32(a[0]) === 0xffffffff ? 0 : 0);

const sysMembarrier = (_p: Process, _t: Thread, a: bigint[]): SysResult => {
  const cmd = int(a[0]);
  // One CPU: every barrier is already satisfied. QUERY reports GLOBAL, PRIVATE_EXPEDITED and its
  // registration.
  if (cmd === 0) return 1 | 8 | 16;
  return [1, 8, 16].includes(cmd) ? 0 : -ERRNO.EINVAL;
};

/** The process `pid` names (0: the caller), zombies included. */
function target(p: Process, pid: number): Process | undefined {
  return pid === 0 ? p : p.kernel.processes.get(pid);
}

const sysGetpgid = (p: Process, _t: Thread, a: bigint[]): SysResult => target(p, int(a[0]))?.pgid ?? -ERRNO.ESRCH;
const sysGetsid = (p: Process, _t: Thread, a: bigint[]): SysResult => target(p, int(a[0]))?.sid ?? -ERRNO.ESRCH;

/** setpgid with Linux's rules: only the caller or a child of it (ESRCH), a child in the same
 *  session (EPERM) that has not exec'ed (EACCES), never a session leader (EPERM), into its own
 *  new group or an existing group of the caller's session (EPERM). */
const sysSetpgid = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const pid = int(a[0]) || p.pid;
  const pgid = int(a[1]) || pid;
  if (pgid < 0) return -ERRNO.EINVAL;
  const q = p.kernel.processes.get(pid);
  if (!q) return -ERRNO.ESRCH;
  if (q.parent === p) {
    if (q.sid !== p.sid) return -ERRNO.EPERM;
    if (q.execed) return -ERRNO.EACCES;
  } else if (q !== p) return -ERRNO.ESRCH;
  if (q.sid === q.pid) return -ERRNO.EPERM;
  if (pgid !== pid && ![...p.kernel.processes.values()].some((g) => g.pgid === pgid && g.sid === p.sid)) return -ERRNO.EPERM;
  q.pgid = pgid;
  return 0;
};

/** setsid: fails if a process group with the caller's id exists; the caller leaves its
 *  controlling terminal. */
const sysSetsid = (p: Process): SysResult => {
  for (const q of p.kernel.processes.values()) if (q.pgid === p.pid) return -ERRNO.EPERM;
  p.sid = p.pid;
  p.pgid = p.pid;
  p.ctty = null;
  return p.pid;
};

const enosys = (): SysResult => -ERRNO.ENOSYS;

export const PROC_SYSCALLS: Record<number, SyscallDef> = {
  ...ID_SYSCALLS,
  ...PRCTL_SYSCALLS,
  ...USAGE_SYSCALLS,
  92: { name: 'personality', args: 'x', fn: sysPersonality },
  118: { name: 'sched_setparam', args: 'dp', fn: ok },
  119: { name: 'sched_setscheduler', args: 'ddp', fn: ok },
  120: { name: 'sched_getscheduler', args: 'd', fn: ok },
  121: { name: 'sched_getparam', args: 'dp', fn: sysSchedGetparam },
  122: { name: 'sched_setaffinity', args: 'dup', fn: sysSchedSetaffinity },
  123: { name: 'sched_getaffinity', args: 'dup', fn: sysSchedGetaffinity },
  124: { name: 'sched_yield', args: '', fn: sysSchedYield },
  125: { name: 'sched_get_priority_max', args: 'd', fn: ok },
  126: { name: 'sched_get_priority_min', args: 'd', fn: ok },
  140: { name: 'setpriority', args: 'ddd', fn: ok },
  141: { name: 'getpriority', args: 'dd', fn: () => 20 },
  154: { name: 'setpgid', args: 'dd', fn: sysSetpgid },
  155: { name: 'getpgid', args: 'd', fn: sysGetpgid },
  156: { name: 'getsid', args: 'd', fn: sysGetsid },
  157: { name: 'setsid', args: '', fn: sysSetsid },
  160: { name: 'uname', args: 'p', fn: sysUname },
  163: { name: 'getrlimit', args: 'dp', fn: sysGetrlimit },
  164: { name: 'setrlimit', args: 'dp', fn: sysSetrlimit },
  168: { name: 'getcpu', args: 'ppp', fn: sysGetcpu },
  172: { name: 'getpid', args: '', fn: sysGetpid },
  173: { name: 'getppid', args: '', fn: sysGetppid },
  178: { name: 'gettid', args: '', fn: sysGettid },
  179: { name: 'sysinfo', args: 'p', fn: sysSysinfo },
  259: { name: 'riscv_flush_icache', args: 'ppx', fn: ok },
  261: { name: 'prlimit64', args: 'ddpp', fn: sysPrlimit64 },
  278: { name: 'getrandom', args: 'pux', fn: sysGetrandom },
  283: { name: 'membarrier', args: 'dxd', fn: sysMembarrier },
  293: { name: 'rseq', args: 'puxx', fn: enosys },
};
