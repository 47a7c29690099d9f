// prctl(2): per-process and per-thread controls. What rvisor cannot do (seccomp, anonymous VMA
// names, capability bounding changes, memory-map changes) fails as a kernel without that
// feature, or an unprivileged caller, would; unknown options fail with EINVAL.
import { ERRNO } from '../errno.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, long, type SyscallDef, type SysResult } from './abi.js';
import { setThreadName, threadName } from '../comm.js';

/** prctl state of a process (Process.prctl). */
export class PrctlState {
  /** PR_SET_PDEATHSIG: the signal this process gets when its parent ends (0: none). */
  pdeathsig = 0;
  dumpable = 1;
  noNewPrivs = false;
  /** PR_SET_CHILD_SUBREAPER: orphaned descendants are reparented here instead of to init. */
  childSubreaper = false;
  timerslackNs = 50_000n;
  keepCaps = false;
  thpDisable = false;

  /** What a fork child starts with: the death signal and subreaper flag are not inherited. */
  forked(): PrctlState {
    const s = new PrctlState();
    s.dumpable = this.dumpable;
    s.noNewPrivs = this.noNewPrivs;
    s.timerslackNs = this.timerslackNs;
    s.thpDisable = this.thpDisable;
    return s;
  }
}

const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;
const PR_GET_KEEPCAPS = 7;
const PR_SET_KEEPCAPS = 8;
const PR_GET_TIMING = 13;
const PR_SET_TIMING = 14;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_GET_SECCOMP = 21;
const PR_SET_SECCOMP = 22;
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_GET_SECUREBITS = 27;
const PR_SET_SECUREBITS = 28;
const PR_SET_TIMERSLACK = 29;
const PR_GET_TIMERSLACK = 30;
const PR_SET_MM = 35;
const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_GET_NO_NEW_PRIVS = 39;
const PR_GET_TID_ADDRESS = 40;
const PR_SET_THP_DISABLE = 41;
const PR_GET_THP_DISABLE = 42;
const PR_CAP_AMBIENT = 47;
const CAP_LAST_CAP = 40;

const zeroArgs = (a: bigint[], from: number): boolean => a.slice(from, 5).every((v) => v === 0n);

const sysPrctl = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const op = int(a[0]);
  const s = p.prctl;
  const arg2 = a[1]!;
  switch (op) {
    case PR_SET_NAME: {
      const b = p.as.readCString(arg2, 16);
      if (b === -ERRNO.EFAULT) return b;
      const bytes = typeof b === 'number' ? p.as.read(arg2, 16) : b;
      if (!bytes) return -ERRNO.EFAULT;
      setThreadName(p, t.tid, bytes);
      return 0;
    }
    case PR_GET_NAME: {
      const out = new Uint8Array(16);
      out.set(new TextEncoder().encode(threadName(p, t.tid)).subarray(0, 15));
      return p.as.write(arg2, out) ? 0 : -ERRNO.EFAULT;
    }
    case PR_SET_PDEATHSIG: {
      const sig = long(arg2);
      if (sig < 0 || sig > 64) return -ERRNO.EINVAL;
      s.pdeathsig = sig;
      return 0;
    }
    case PR_GET_PDEATHSIG:
      return p.as.writeU32(arg2, s.pdeathsig) ? 0 : -ERRNO.EFAULT;
    case PR_GET_DUMPABLE:
      return s.dumpable;
    case PR_SET_DUMPABLE:
      if (arg2 !== 0n && arg2 !== 1n) return -ERRNO.EINVAL;
      s.dumpable = Number(arg2);
      return 0;
    case PR_GET_KEEPCAPS:
      return s.keepCaps ? 1 : 0;
    case PR_SET_KEEPCAPS:
      if (arg2 > 1n) return -ERRNO.EINVAL;
      s.keepCaps = arg2 === 1n;
      return 0;
    case PR_GET_TIMING:
      return 0; // PR_TIMING_STATISTICAL
    case PR_SET_TIMING:
      return arg2 === 0n ? 0 : -ERRNO.EINVAL;
    case PR_GET_SECCOMP:
    case PR_SET_SECCOMP:
      return -ERRNO.EINVAL; // as a kernel built without seccomp
    case PR_CAPBSET_READ:
      return arg2 <= BigInt(CAP_LAST_CAP) ? 1 : -ERRNO.EINVAL;
    case PR_CAPBSET_DROP:
      if (arg2 > BigInt(CAP_LAST_CAP)) return -ERRNO.EINVAL;
      return -ERRNO.EPERM;
    case PR_GET_SECUREBITS:
      return 0;
    case PR_SET_SECUREBITS:
      return -ERRNO.EPERM;
    case PR_SET_TIMERSLACK:
      s.timerslackNs = arg2 === 0n ? 50_000n : arg2;
      return 0;
    case PR_GET_TIMERSLACK:
      return s.timerslackNs;
    case PR_SET_MM:
      return -ERRNO.EPERM;
    case PR_SET_CHILD_SUBREAPER:
      s.childSubreaper = arg2 !== 0n;
      return 0;
    case PR_GET_CHILD_SUBREAPER:
      return p.as.writeU32(arg2, s.childSubreaper ? 1 : 0) ? 0 : -ERRNO.EFAULT;
    case PR_SET_NO_NEW_PRIVS:
      if (arg2 !== 1n || !zeroArgs(a, 2)) return -ERRNO.EINVAL;
      s.noNewPrivs = true;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      if (!zeroArgs(a, 1)) return -ERRNO.EINVAL;
      return s.noNewPrivs ? 1 : 0;
    case PR_GET_TID_ADDRESS:
      return p.as.writeU64(arg2, t.clearChildTid) ? 0 : -ERRNO.EFAULT;
    case PR_SET_THP_DISABLE:
      if (!zeroArgs(a, 2)) return -ERRNO.EINVAL;
      s.thpDisable = arg2 !== 0n;
      return 0;
    case PR_GET_THP_DISABLE:
      if (!zeroArgs(a, 1)) return -ERRNO.EINVAL;
      return s.thpDisable ? 1 : 0;
    case PR_CAP_AMBIENT: {
      // The ambient set is always empty: IS_SET says 0, CLEAR_ALL and LOWER have nothing to do,
      // RAISE needs the capability in the permitted and inheritable sets (never here).
      const sub = Number(arg2);
      const cap = a[2]!;
      if (sub === 4) return zeroArgs(a, 2) ? 0 : -ERRNO.EINVAL; // CLEAR_ALL
      if (sub < 1 || sub > 3 || !zeroArgs(a, 3)) return -ERRNO.EINVAL;
      if (cap > BigInt(CAP_LAST_CAP)) return -ERRNO.EINVAL;
      return sub === 2 ? -ERRNO.EPERM : 0;
    }
    default:
      return -ERRNO.EINVAL;
  }
};

export const PRCTL_SYSCALLS: Record<number, SyscallDef> = {
  167: { name: 'prctl', args: 'dxxxx', fn: sysPrctl },
};
