// Process-wide information and control: ids, process groups and sessions, uname, limits, usage,
// prctl, scheduling queries, getrandom.
import { randomFillSync } from 'node:crypto';
import { freemem, hostname, loadavg, totalmem, uptime } from 'node:os';
import { ERRNO } from '../errno.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, size, u32, type SyscallDef, type SysResult } from './abi.js';

const ok = (): SysResult => 0;

const sysGetpid = (p: Process): SysResult => p.pid;
const sysGetppid = (p: Process): SysResult => p.ppid;
const sysGettid = (_p: Process, t: Thread): SysResult => t.tid;
const sysGetuid = (p: Process): SysResult => p.uid;
const sysGetgid = (p: Process): SysResult => p.gid;

const writeIds = (p: Process, a: bigint[], id: number): SysResult => {
  for (let i = 0; i < 3; i++) if (!p.as.writeU32(a[i]!, id)) return -ERRNO.EFAULT;
  return 0;
};
const sysGetresuid = (p: Process, _t: Thread, a: bigint[]): SysResult => writeIds(p, a, p.uid);
const sysGetresgid = (p: Process, _t: Thread, a: bigint[]): SysResult => writeIds(p, a, p.gid);

/** set*id to the ids the process already has succeeds; anything else needs privileges. */
const setIds = (which: 'uid' | 'gid', n: number) => (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const cur = which === 'uid' ? p.uid : p.gid;
  for (let i = 0; i < n; i++) {
    const v = u32(a[i]);
    if (v !== 0xffffffff && v !== cur && cur !== 0) return -ERRNO.EPERM;
  }
  return 0;
};

const sysGetgroups = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const groups = (process.getgroups?.() ?? []).filter((g) => g !== p.gid);
  const n = int(a[0]);
  if (n < 0) return -ERRNO.EINVAL;
  if (n === 0) return groups.length;
  if (n < groups.length) return -ERRNO.EINVAL;
  const b = new Uint8Array(groups.length * 4);
  groups.forEach((g, i) => new DataView(b.buffer).setUint32(i * 4, g, true));
  return p.as.write(a[1]!, b) ? groups.length : -ERRNO.EFAULT;
};

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

function defaultRlimit(res: number): [bigint, bigint] {
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
    if (next[1] > cur[1] && p.uid !== 0) return -ERRNO.EPERM;
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

const sysGetrusage = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const who = int(a[0]);
  if (who !== 0 && who !== -1 && who !== 1) return -ERRNO.EINVAL; // SELF, CHILDREN, THREAD
  const b = new Uint8Array(144);
  const v = new DataView(b.buffer);
  if (who !== -1) {
    const u = process.resourceUsage();
    let user = u.userCPUTime;
    let sys = u.systemCPUTime;
    if (who === 1) {
      user = Number(t.cpuNs / 1000n);
      sys = 0;
    }
    v.setBigInt64(0, BigInt(Math.floor(user / 1e6)), true);
    v.setBigInt64(8, BigInt(user % 1e6), true);
    v.setBigInt64(16, BigInt(Math.floor(sys / 1e6)), true);
    v.setBigInt64(24, BigInt(sys % 1e6), true);
    v.setBigInt64(32, BigInt(Math.ceil((p.mem.framesInUse * 4096) / 1024)), true); // maxrss (KiB)
    v.setBigInt64(64, BigInt(u.minorPageFault), true);
    v.setBigInt64(72, BigInt(u.majorPageFault), true);
    v.setBigInt64(88, BigInt(u.fsRead), true);
    v.setBigInt64(96, BigInt(u.fsWrite), true);
    v.setBigInt64(128, BigInt(u.voluntaryContextSwitches), true);
    v.setBigInt64(136, BigInt(u.involuntaryContextSwitches), true);
  }
  return p.as.write(a[1]!, b) ? 0 : -ERRNO.EFAULT;
};

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

const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;
const PR_SET_VMA = 0x53564d41;

const sysPrctl = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const op = int(a[0]);
  switch (op) {
    case PR_SET_NAME: {
      const s = p.as.readCString(a[1]!, 16);
      if (typeof s === 'number' && s === -ERRNO.EFAULT) return s;
      const bytes = typeof s === 'number' ? p.as.read(a[1]!, 15) ?? new Uint8Array() : s.subarray(0, 15);
      p.threadNames.set(t.tid, new TextDecoder().decode(bytes));
      return 0;
    }
    case PR_GET_NAME: {
      const name = p.threadNames.get(t.tid) ?? p.threadNames.get(p.pid) ?? p.config.exePath.split('/').pop() ?? '';
      const b = new Uint8Array(16);
      b.set(new TextEncoder().encode(name).subarray(0, 15));
      return p.as.write(a[1]!, b) ? 0 : -ERRNO.EFAULT;
    }
    case PR_GET_DUMPABLE:
      return 1;
    case PR_SET_DUMPABLE:
    case PR_SET_PDEATHSIG:
    case PR_SET_NO_NEW_PRIVS:
    case PR_SET_VMA:
      return 0;
    case PR_GET_PDEATHSIG:
      return p.as.writeU32(a[1]!, 0) ? 0 : -ERRNO.EFAULT;
    case PR_GET_NO_NEW_PRIVS:
      return 0;
    default:
      return -ERRNO.EINVAL;
  }
};

const sysSchedYield = (p: Process): SysResult => {
  p.yieldRequested = true;
  return 0;
};

/** One emulated CPU: the affinity mask is CPU 0 only. */
const sysSchedGetaffinity = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const len = size(a[1]);
  if (len < 8 || len % 8 !== 0) return -ERRNO.EINVAL;
  const b = new Uint8Array(8);
  b[0] = 1;
  return p.as.write(a[2]!, b) ? 8 : -ERRNO.EFAULT;
};

const sysSchedGetparam = (p: Process, _t: Thread, a: bigint[]): SysResult => (p.as.writeU32(a[1]!, 0) ? 0 : -ERRNO.EFAULT);

const sysGetcpu = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  if (a[0] !== 0n && !p.as.writeU32(a[0]!, 0)) return -ERRNO.EFAULT;
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

const sysCapget = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  if (a[1] !== 0n && !p.as.write(a[1]!, new Uint8Array(24))) return -ERRNO.EFAULT;
  return 0;
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
  90: { name: 'capget', args: 'pp', fn: sysCapget },
  91: { name: 'capset', args: 'pp', fn: () => -ERRNO.EPERM },
  92: { name: 'personality', args: 'x', fn: sysPersonality },
  118: { name: 'sched_setparam', args: 'dp', fn: ok },
  119: { name: 'sched_setscheduler', args: 'ddp', fn: ok },
  120: { name: 'sched_getscheduler', args: 'd', fn: ok },
  121: { name: 'sched_getparam', args: 'dp', fn: sysSchedGetparam },
  122: { name: 'sched_setaffinity', args: 'dup', fn: ok },
  123: { name: 'sched_getaffinity', args: 'dup', fn: sysSchedGetaffinity },
  124: { name: 'sched_yield', args: '', fn: sysSchedYield },
  125: { name: 'sched_get_priority_max', args: 'd', fn: ok },
  126: { name: 'sched_get_priority_min', args: 'd', fn: ok },
  140: { name: 'setpriority', args: 'ddd', fn: ok },
  141: { name: 'getpriority', args: 'dd', fn: () => 20 },
  143: { name: 'setregid', args: 'dd', fn: setIds('gid', 2) },
  144: { name: 'setgid', args: 'd', fn: setIds('gid', 1) },
  145: { name: 'setreuid', args: 'dd', fn: setIds('uid', 2) },
  146: { name: 'setuid', args: 'd', fn: setIds('uid', 1) },
  147: { name: 'setresuid', args: 'ddd', fn: setIds('uid', 3) },
  148: { name: 'getresuid', args: 'ppp', fn: sysGetresuid },
  149: { name: 'setresgid', args: 'ddd', fn: setIds('gid', 3) },
  150: { name: 'getresgid', args: 'ppp', fn: sysGetresgid },
  151: { name: 'setfsuid', args: 'd', fn: (p) => p.uid },
  152: { name: 'setfsgid', args: 'd', fn: (p) => p.gid },
  154: { name: 'setpgid', args: 'dd', fn: sysSetpgid },
  155: { name: 'getpgid', args: 'd', fn: sysGetpgid },
  156: { name: 'getsid', args: 'd', fn: sysGetsid },
  157: { name: 'setsid', args: '', fn: sysSetsid },
  158: { name: 'getgroups', args: 'dp', fn: sysGetgroups },
  159: { name: 'setgroups', args: 'dp', fn: () => -ERRNO.EPERM },
  160: { name: 'uname', args: 'p', fn: sysUname },
  163: { name: 'getrlimit', args: 'dp', fn: sysGetrlimit },
  164: { name: 'setrlimit', args: 'dp', fn: sysSetrlimit },
  165: { name: 'getrusage', args: 'dp', fn: sysGetrusage },
  167: { name: 'prctl', args: 'dxxxx', fn: sysPrctl },
  168: { name: 'getcpu', args: 'ppp', fn: sysGetcpu },
  172: { name: 'getpid', args: '', fn: sysGetpid },
  173: { name: 'getppid', args: '', fn: sysGetppid },
  174: { name: 'getuid', args: '', fn: sysGetuid },
  175: { name: 'geteuid', args: '', fn: sysGetuid },
  176: { name: 'getgid', args: '', fn: sysGetgid },
  177: { name: 'getegid', args: '', fn: sysGetgid },
  178: { name: 'gettid', args: '', fn: sysGettid },
  179: { name: 'sysinfo', args: 'p', fn: sysSysinfo },
  198: { name: 'socket', args: 'ddd', fn: () => -ERRNO.EAFNOSUPPORT },
  199: { name: 'socketpair', args: 'dddp', fn: () => -ERRNO.EAFNOSUPPORT },
  259: { name: 'riscv_flush_icache', args: 'ppx', fn: ok },
  261: { name: 'prlimit64', args: 'ddpp', fn: sysPrlimit64 },
  278: { name: 'getrandom', args: 'pux', fn: sysGetrandom },
  283: { name: 'membarrier', args: 'dxd', fn: sysMembarrier },
  293: { name: 'rseq', args: 'puxx', fn: enosys },
};
