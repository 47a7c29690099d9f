// Priority-inheritance futexes (futex(2) "Priority-inheritance futexes"; the kernel's futex/pi.c
// behaviour): the futex word holds the owner's TID (FUTEX_TID_MASK), FUTEX_WAITERS when threads
// wait in the kernel, and FUTEX_OWNER_DIED after a robust owner died. User space takes and
// releases an uncontended lock with a compare-and-swap; the kernel is entered to wait
// (FUTEX_LOCK_PI), to try once more (FUTEX_TRYLOCK_PI) and to hand the lock to the top waiter
// (FUTEX_UNLOCK_PI), writing the waiter's TID | FUTEX_WAITERS into the word before waking it.
// rvisor runs every guest thread at the same priority on one host thread, so there is no
// priority to inherit: the top waiter is the oldest. When an owner ends (robust list walked or
// not) while others wait, the lock passes to the top waiter with FUTEX_OWNER_DIED set, as
// Linux's exit_pi_state_list and fixup_pi_state_owner do.
import { monotonicNs } from './clock.js';
import { ERRNO } from './errno.js';
import { FUTEX_BITSET_MATCH_ANY, type FutexTable } from './futex.js';
import type { Process } from './process.js';
import { FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, exitRobustList } from './robust-list.js';
import { futexKey, futexQueue, futexWaiter, type FutexKey } from './shared-futex.js';
import type { Thread } from './thread.js';
import { BLOCKED, type SysResult } from './syscalls/abi.js';

/** Takes the lock if its word has no owner: returns 0 (taken), 1 (owned by another thread) or
 *  a negative errno. */
function tryTake(p: Process, t: Thread, uaddr: number, k: FutexKey): number {
  const uval = p.as.readU32(uaddr);
  if (uval === null) return -ERRNO.EFAULT;
  const owner = uval & FUTEX_TID_MASK;
  if (owner === t.tid) return -ERRNO.EDEADLK;
  if (owner === 0) {
    const waiters = futexQueue(p, k.shared).hasPi(k.key) ? FUTEX_WAITERS : 0;
    const nv = (t.tid | (uval & FUTEX_OWNER_DIED) | waiters) >>> 0;
    return p.as.writeU32(uaddr, nv) ? 0 : -ERRNO.EFAULT;
  }
  // The owner must exist (Linux: ESRCH when the TID names no thread).
  if (!p.kernel.findThread(owner)) return -ERRNO.ESRCH;
  return 1;
}

/** FUTEX_LOCK_PI / FUTEX_LOCK_PI2 (`deadline`: monotonic ns or null). */
export function futexLockPi(p: Process, t: Thread, uaddr: number, priv: boolean, deadline: bigint | null): SysResult {
  const k = futexKey(p, uaddr, priv);
  if (typeof k === 'number') return k;
  const r = tryTake(p, t, uaddr, k);
  if (r <= 0) return r;
  if (deadline !== null && deadline <= monotonicNs()) return -ERRNO.ETIMEDOUT;
  const uval = p.as.readU32(uaddr)!;
  if (!(uval & FUTEX_WAITERS) && !p.as.writeU32(uaddr, (uval | FUTEX_WAITERS) >>> 0)) return -ERRNO.EFAULT;
  p.block(t, { kind: 'futex', addr: k.key, bitset: FUTEX_BITSET_MATCH_ANY, deadline, shared: k.shared, pi: { uaddr } });
  return BLOCKED;
}

/** FUTEX_TRYLOCK_PI. */
export function futexTrylockPi(p: Process, t: Thread, uaddr: number, priv: boolean): SysResult {
  const k = futexKey(p, uaddr, priv);
  if (typeof k === 'number') return k;
  const r = tryTake(p, t, uaddr, k);
  return r === 1 ? -ERRNO.EAGAIN : r;
}

/** Gives the lock whose word is at `uaddr` (in `p`) to the top PI waiter of `k`, keeping
 *  `keep` bits of the old word; returns false when nobody waits. */
function handOver(p: Process, uaddr: number, k: FutexKey, keep: number): boolean {
  const q: FutexTable = futexQueue(p, k.shared);
  for (;;) {
    const tid = q.takePi(k.key);
    if (tid === 0) return false;
    const w = futexWaiter(p, k, tid);
    if (!w) continue;
    p.as.writeU32(uaddr, (tid | FUTEX_WAITERS | keep) >>> 0);
    w[0].endWait(w[1], 'woken');
    return true;
  }
}

/** FUTEX_UNLOCK_PI: only the owner may unlock; the lock goes to the top waiter or becomes free. */
export function futexUnlockPi(p: Process, t: Thread, uaddr: number, priv: boolean): SysResult {
  const uval = p.as.readU32(uaddr);
  if (uval === null) return -ERRNO.EFAULT;
  if ((uval & FUTEX_TID_MASK) !== t.tid) return -ERRNO.EPERM;
  const k = futexKey(p, uaddr, priv);
  if (typeof k === 'number') return k;
  if (handOver(p, uaddr, k, 0)) return 0;
  return p.as.writeU32(uaddr, 0) ? 0 : -ERRNO.EFAULT;
}

/** A thread ends (exit, exec, its process killed): its robust list is walked, then every PI
 *  lock it owned and others wait for passes to the top waiter. The locks are found before the
 *  walk, which clears the owner's TID from robust words (Linux keeps them in the thread's own
 *  list of PI states). */
export function futexExitRelease(p: Process, t: Thread): void {
  const owned: Array<[Process, number, FutexKey]> = [];
  for (const shared of [false, true]) {
    for (const [key, tid] of futexQueue(p, shared).piWaiters()) {
      const w = futexWaiter(p, { shared, key }, tid);
      const pi = w?.[1].wait?.kind === 'futex' ? w[1].wait.pi : undefined;
      if (!w || !pi || owned.some(([, , k]) => k.shared === shared && k.key === key)) continue;
      const uval = w[0].as.readU32(pi.uaddr);
      if (uval !== null && (uval & FUTEX_TID_MASK) === t.tid) owned.push([w[0], pi.uaddr, { shared, key }]);
    }
  }
  exitRobustList(p, t);
  for (const [wp, uaddr, k] of owned) handOver(wp, uaddr, k, FUTEX_OWNER_DIED);
}
