// Futex keys (futex(2)): a futex without FUTEX_PRIVATE_FLAG on a MAP_SHARED page (anonymous
// shared memory after fork, or a shared file mapping, which is a page-cache frame) is keyed by
// the frame and the offset in it, in one queue for the whole run (Kernel.sharedFutex), so
// processes that map the same page wake each other whatever address each maps it at. Every other
// futex is keyed by its virtual address in its process's own queue (Process.futex), as Linux
// keys private mappings by (mm, address).
import { ACCESS_READ } from './address-space.js';
import { ERRNO } from './errno.js';
import { FUTEX_BITSET_MATCH_ANY, type FutexTable } from './futex.js';
import { PAGE_SIZE } from './layout.js';
import type { Process } from './process.js';
import type { Thread } from './thread.js';

export interface FutexKey {
  /** In the run-wide queue (key = host offset of the word) or the process's (key = address). */
  shared: boolean;
  key: number;
}

/** The key of the futex word at `addr` (4-byte aligned user address), or -EFAULT. */
export function futexKey(p: Process, addr: number, priv: boolean): FutexKey | number {
  if (priv) return { shared: false, key: addr };
  const vma = p.as.findVma(addr);
  if (!vma) return -ERRNO.EFAULT;
  if (!vma.shared) return { shared: false, key: addr };
  const frame = p.as.translate(addr, ACCESS_READ);
  if (frame < 0) return -ERRNO.EFAULT;
  return { shared: true, key: frame + (addr % PAGE_SIZE) };
}

/** The queue a key lives in. */
export function futexQueue(p: Process, shared: boolean | undefined): FutexTable {
  return shared ? p.kernel.sharedFutex : p.futex;
}

/** The thread `tid` waiting in the queue of `k` (from the process `p` that woke it). */
export function futexWaiter(p: Process, k: FutexKey, tid: number): [Process, Thread] | undefined {
  if (!k.shared) {
    const t = p.threads.get(tid);
    return t ? [p, t] : undefined;
  }
  return p.kernel.findThread(tid);
}

/** Wakes up to `n` waiters of `k` whose bitset intersects `bitset`; returns how many. */
export function futexWakeKey(p: Process, k: FutexKey, n: number, bitset = FUTEX_BITSET_MATCH_ANY): number {
  const tids = futexQueue(p, k.shared).wake(k.key, n, bitset);
  for (const tid of tids) {
    const w = futexWaiter(p, k, tid);
    if (w) w[0].endWait(w[1], 'woken');
  }
  return tids.length;
}

/** FUTEX_REQUEUE: wakes up to `nWake` waiters of `from` and moves up to `nMove` of the others to
 *  `to`'s queue; returns the number woken plus moved. */
export function futexRequeue(p: Process, from: FutexKey, to: FutexKey, nWake: number, nMove: number): number {
  const woken = futexWakeKey(p, from, nWake);
  if (nMove <= 0 || (from.shared === to.shared && from.key === to.key)) return woken;
  const moved = futexQueue(p, from.shared).take(from.key, nMove);
  futexQueue(p, to.shared).append(to.key, moved);
  for (const m of moved) {
    const w = futexWaiter(p, from, m.tid);
    const wt = w?.[1].wait;
    if (wt?.kind === 'futex') {
      wt.addr = to.key;
      wt.shared = to.shared;
    }
  }
  return woken + moved.length;
}
