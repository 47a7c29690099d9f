// Threads and futexes: clone (threads here; a clone that makes a process is in children.ts),
// exit, exit_group, set_tid_address, robust lists, futex.
import { userAddr } from '../address-space.js';
import { monotonicNs, realtimeToMonotonic } from '../clock.js';
import { ERRNO } from '../errno.js';
import {
  FUTEX_BITSET_MATCH_ANY, FUTEX_CLOCK_REALTIME, FUTEX_CMD_MASK, FUTEX_CMP_REQUEUE, FUTEX_REQUEUE, FUTEX_WAIT,
  FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_PRIVATE_FLAG, FUTEX_TRYLOCK_PI, FUTEX_UNLOCK_PI, FUTEX_WAIT_BITSET,
  FUTEX_WAIT_REQUEUE_PI, FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP, futexWakeOp,
} from '../futex.js';
import { futexLockPi, futexTrylockPi, futexUnlockPi } from '../pi-futex.js';
import { robustListLenOk } from '../robust-list.js';
import { futexKey, futexQueue, futexRequeue, futexWakeKey } from '../shared-futex.js';
import type { Process } from '../process.js';
import { SS_DISABLE, type Thread } from '../thread.js';
import { BLOCKED, NO_RETURN, int, u32, type SyscallDef, type SysResult } from './abi.js';
import { cloneProcess } from './children.js';
import { legacyClonePidfd } from './fdkinds.js';
import { readTimespec } from './time.js';

const CLONE_PIDFD = 0x1000;
export const CLONE_VM = 0x100;
export const CLONE_FS = 0x200;
export const CLONE_FILES = 0x400;
export const CLONE_SIGHAND = 0x800;
export const CLONE_VFORK = 0x4000;
export const CLONE_THREAD = 0x10000;
export const CLONE_SETTLS = 0x80000;
export const CLONE_PARENT_SETTID = 0x100000;
export const CLONE_CHILD_CLEARTID = 0x200000;
export const CLONE_CHILD_SETTID = 0x01000000;

/** Copies the user-visible registers of one hart to another. */
function copyRegisters(from: Thread, to: Thread): void {
  const a = from.hart;
  const b = to.hart;
  for (let i = 1; i < 32; i++) b.setX(i, a.x(i));
  for (let i = 0; i < 32; i++) b.setF(i, a.f(i));
  b.fcsr = a.fcsr;
  b.pc = a.pc;
}

const sysClone = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const flags = Number(a[0]! & 0xffffffffn);
  if (flags & CLONE_PIDFD) return legacyClonePidfd(p, t, flags, a[1]!, a[2]!, a[3]!, a[4]!);
  return doClone(p, t, flags, a[1]!, a[2]!, a[3]!, a[4]!);
};

/** clone (and clone3, syscalls/fdkinds.ts) after CLONE_PIDFD was dealt with. */
export function doClone(p: Process, t: Thread, flags: number, newsp: bigint, ptid: bigint, tls: bigint, ctid: bigint): SysResult {
  if (!(flags & CLONE_VM) || flags & CLONE_VFORK) return cloneProcess(p, t, flags, newsp, ptid, tls, ctid);
  if (!(flags & CLONE_THREAD)) return -ERRNO.EINVAL; // a process sharing memory: not offered
  if (!(flags & CLONE_SIGHAND)) return -ERRNO.EINVAL;
  const c = p.newThread();
  copyRegisters(t, c);
  c.hart.pc = t.hart.pc + 4n;
  c.hart.setX(10, 0n);
  if (newsp !== 0n) c.hart.setX(2, newsp);
  if (flags & CLONE_SETTLS) c.hart.setX(4, tls);
  c.sigmask = t.sigmask;
  c.affinity = t.affinity;
  c.altstack = { sp: 0n, size: 0n, flags: SS_DISABLE };
  if (flags & CLONE_PARENT_SETTID && !p.as.writeU32(ptid, c.tid)) {
    p.exitThread(c, 0);
    return -ERRNO.EFAULT;
  }
  if (flags & CLONE_CHILD_SETTID) p.as.writeU32(ctid, c.tid);
  if (flags & CLONE_CHILD_CLEARTID) c.clearChildTid = ctid;
  return c.tid;
}

const sysExit = (p: Process, t: Thread, a: bigint[]): SysResult => {
  p.exitThread(t, int(a[0]));
  return NO_RETURN;
};

const sysExitGroup = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  p.exitGroup(int(a[0]));
  return NO_RETURN;
};

const sysSetTidAddress = (_p: Process, t: Thread, a: bigint[]): SysResult => {
  t.clearChildTid = a[0]!;
  return t.tid;
};

const sysSetRobustList = (_p: Process, t: Thread, a: bigint[]): SysResult => {
  if (robustListLenOk(a[1]!) !== 0) return -ERRNO.EINVAL;
  t.robustList = a[0]!;
  return 0;
};

const sysGetRobustList = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const pid = int(a[0]);
  const target = pid === 0 ? t : p.threads.get(pid);
  if (!target) return -ERRNO.ESRCH;
  if (!p.as.writeU64(a[1]!, target.robustList) || !p.as.writeU64(a[2]!, 24n)) return -ERRNO.EFAULT;
  return 0;
};

const INT_MAX = 0x7fffffff;

const sysFutex = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const addr = userAddr(a[0]!);
  const op = int(a[1]);
  const val = int(a[2]);
  const cmd = op & FUTEX_CMD_MASK;
  const val3 = u32(a[5]);
  if (addr < 0 || addr % 4 !== 0) return -ERRNO.EINVAL;
  const priv = (op & FUTEX_PRIVATE_FLAG) !== 0;
  // Only these take FUTEX_CLOCK_REALTIME (Linux: ENOSYS for the others).
  if (op & FUTEX_CLOCK_REALTIME && cmd !== FUTEX_WAIT_BITSET && cmd !== FUTEX_WAIT_REQUEUE_PI && cmd !== FUTEX_LOCK_PI2) {
    return -ERRNO.ENOSYS;
  }
  switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET: {
      const bitset = cmd === FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : val3;
      if (bitset === 0) return -ERRNO.EINVAL;
      let deadline: bigint | null = null;
      if (a[3] !== 0n) {
        const ns = readTimespec(p, a[3]!);
        if (typeof ns === 'number') return ns;
        if (cmd === FUTEX_WAIT) deadline = monotonicNs() + ns;
        else deadline = op & FUTEX_CLOCK_REALTIME ? realtimeToMonotonic(ns) : ns;
      }
      const cur = p.as.readU32(addr);
      if (cur === null) return -ERRNO.EFAULT;
      if (cur !== u32(a[2])) return -ERRNO.EAGAIN;
      if (deadline !== null && deadline <= monotonicNs()) return -ERRNO.ETIMEDOUT;
      const k = futexKey(p, addr, priv);
      if (typeof k === 'number') return k;
      p.block(t, { kind: 'futex', addr: k.key, bitset, deadline, shared: k.shared });
      return BLOCKED;
    }
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET: {
      const bitset = cmd === FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY : val3;
      if (bitset === 0) return -ERRNO.EINVAL;
      const k = futexKey(p, addr, priv);
      if (typeof k === 'number') return k;
      if (futexQueue(p, k.shared).hasPi(k.key)) return -ERRNO.EINVAL; // a PI futex (Linux: EINVAL)
      return futexWakeKey(p, k, val <= 0 ? 1 : val, bitset);
    }
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
      const addr2 = userAddr(a[4]!);
      if (addr2 < 0 || addr2 % 4 !== 0) return -ERRNO.EINVAL;
      const nMove = Math.min(Number(BigInt.asIntN(32, a[3]!)), INT_MAX);
      if (val < 0 || nMove < 0) return -ERRNO.EINVAL;
      if (cmd === FUTEX_CMP_REQUEUE) {
        const cur = p.as.readU32(addr);
        if (cur === null) return -ERRNO.EFAULT;
        if (cur !== val3) return -ERRNO.EAGAIN;
      }
      const k1 = futexKey(p, addr, priv);
      if (typeof k1 === 'number') return k1;
      const k2 = futexKey(p, addr2, priv);
      if (typeof k2 === 'number') return k2;
      return futexRequeue(p, k1, k2, val, nMove);
    }
    case FUTEX_WAKE_OP: {
      const addr2 = userAddr(a[4]!);
      if (addr2 < 0 || addr2 % 4 !== 0) return -ERRNO.EINVAL;
      const old = p.as.readU32(addr2);
      if (old === null) return -ERRNO.EFAULT;
      const [nv, cond] = futexWakeOp(val3, old);
      if (!p.as.writeU32(addr2, nv)) return -ERRNO.EFAULT;
      const k1 = futexKey(p, addr, priv);
      if (typeof k1 === 'number') return k1;
      const k2 = futexKey(p, addr2, priv);
      if (typeof k2 === 'number') return k2;
      let n = futexWakeKey(p, k1, val <= 0 ? 1 : val);
      if (cond) n += futexWakeKey(p, k2, Math.max(1, Number(BigInt.asIntN(32, a[3]!))));
      return n;
    }
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2: {
      // An absolute timeout: FUTEX_LOCK_PI's on CLOCK_REALTIME, FUTEX_LOCK_PI2's on
      // CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME.
      let deadline: bigint | null = null;
      if (a[3] !== 0n) {
        const ns = readTimespec(p, a[3]!);
        if (typeof ns === 'number') return ns;
        deadline = cmd === FUTEX_LOCK_PI || op & FUTEX_CLOCK_REALTIME ? realtimeToMonotonic(ns) : ns;
      }
      return futexLockPi(p, t, addr, priv, deadline);
    }
    case FUTEX_TRYLOCK_PI:
      return futexTrylockPi(p, t, addr, priv);
    case FUTEX_UNLOCK_PI:
      return futexUnlockPi(p, t, addr, priv);
    default:
      // FUTEX_WAIT_REQUEUE_PI / FUTEX_CMP_REQUEUE_PI (unused by glibc since 2.25) and FUTEX_FD
      // (removed in Linux 2.6.26) are not implemented.
      return -ERRNO.ENOSYS;
  }
};

export const THREAD_SYSCALLS: Record<number, SyscallDef> = {
  93: { name: 'exit', args: 'd', fn: sysExit },
  94: { name: 'exit_group', args: 'd', fn: sysExitGroup },
  96: { name: 'set_tid_address', args: 'p', fn: sysSetTidAddress },
  98: { name: 'futex', args: 'pdupux', fn: sysFutex },
  99: { name: 'set_robust_list', args: 'pu', fn: sysSetRobustList },
  100: { name: 'get_robust_list', args: 'dpp', fn: sysGetRobustList },
  220: { name: 'clone', args: 'xpppp', fn: sysClone },
};
