// Futex wait queues (futex(2)), keyed by a number: a guest virtual address in a process's own
// queue, or a host offset in the run-wide queue of shared futexes (see shared-futex.ts). Queues hold thread ids in arrival
// order; waking takes the oldest first, as Linux does for equal priorities.

export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;
export const FUTEX_FD = 2;
export const FUTEX_REQUEUE = 3;
export const FUTEX_CMP_REQUEUE = 4;
export const FUTEX_WAKE_OP = 5;
export const FUTEX_LOCK_PI = 6;
export const FUTEX_UNLOCK_PI = 7;
export const FUTEX_TRYLOCK_PI = 8;
export const FUTEX_WAIT_BITSET = 9;
export const FUTEX_WAKE_BITSET = 10;
export const FUTEX_WAIT_REQUEUE_PI = 11;
export const FUTEX_CMP_REQUEUE_PI = 12;
export const FUTEX_LOCK_PI2 = 13;
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_CLOCK_REALTIME = 256;
export const FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
export const FUTEX_BITSET_MATCH_ANY = 0xffffffff;

export interface FutexWaiter {
  tid: number;
  bitset: number;
  /** Waits in FUTEX_LOCK_PI for the lock itself (never woken by FUTEX_WAKE: the unlocker hands
   *  it the lock). */
  pi?: boolean;
}

export class FutexTable {
  private readonly queues = new Map<number, FutexWaiter[]>();

  enqueue(addr: number, tid: number, bitset: number, pi = false): void {
    let q = this.queues.get(addr);
    if (!q) this.queues.set(addr, (q = []));
    q.push(pi ? { tid, bitset, pi } : { tid, bitset });
  }

  /** Removes `tid` from the queue of `addr` (timeout, signal, exit). */
  remove(addr: number, tid: number): void {
    const q = this.queues.get(addr);
    if (!q) return;
    const i = q.findIndex((w) => w.tid === tid);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.queues.delete(addr);
  }

  /** Dequeues up to `n` waiters on `addr` whose bitset intersects `bitset`; returns their tids. */
  wake(addr: number, n: number, bitset = FUTEX_BITSET_MATCH_ANY): number[] {
    const q = this.queues.get(addr);
    if (!q || n <= 0) return [];
    const woken: number[] = [];
    for (let i = 0; i < q.length && woken.length < n; ) {
      if (!q[i]!.pi && (q[i]!.bitset & bitset) !== 0) {
        woken.push(q[i]!.tid);
        q.splice(i, 1);
      } else i++;
    }
    if (q.length === 0) this.queues.delete(addr);
    return woken;
  }

  /** Wakes up to `nWake` waiters of `from`, then moves up to `nMove` of the rest to `to`.
   *  Returns the woken tids and the moved tids. */
  requeue(from: number, to: number, nWake: number, nMove: number): { woken: number[]; moved: number[] } {
    const woken = this.wake(from, nWake);
    const q = this.queues.get(from);
    const moved: number[] = [];
    if (q && nMove > 0 && from !== to) {
      const take = q.splice(0, nMove);
      if (q.length === 0) this.queues.delete(from);
      let dst = this.queues.get(to);
      if (!dst) this.queues.set(to, (dst = []));
      dst.push(...take);
      moved.push(...take.map((w) => w.tid));
    }
    return { woken, moved };
  }

  /** Dequeues up to `n` waiters of `addr` (oldest first), whatever their bitset. */
  take(addr: number, n: number): FutexWaiter[] {
    const q = this.queues.get(addr);
    if (!q || n <= 0) return [];
    const out = q.splice(0, n);
    if (q.length === 0) this.queues.delete(addr);
    return out;
  }

  /** Appends waiters to the queue of `addr`. */
  append(addr: number, ws: FutexWaiter[]): void {
    if (ws.length === 0) return;
    let q = this.queues.get(addr);
    if (!q) this.queues.set(addr, (q = []));
    q.push(...ws);
  }

  /** Whether a thread waits on `addr` in FUTEX_LOCK_PI (the futex has PI state, as Linux says). */
  hasPi(addr: number): boolean {
    return this.queues.get(addr)?.some((w) => w.pi) ?? false;
  }

  /** Dequeues the oldest FUTEX_LOCK_PI waiter of `addr` (every guest thread has the same
   *  priority, so the top waiter of Linux's rt_mutex is the oldest); returns its tid or 0. */
  takePi(addr: number): number {
    const q = this.queues.get(addr);
    const i = q ? q.findIndex((w) => w.pi) : -1;
    if (!q || i < 0) return 0;
    const tid = q[i]!.tid;
    q.splice(i, 1);
    if (q.length === 0) this.queues.delete(addr);
    return tid;
  }

  /** Every FUTEX_LOCK_PI waiter: [key, tid] (for handing locks over when their owner dies). */
  piWaiters(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [a, q] of this.queues) for (const w of q) if (w.pi) out.push([a, w.tid]);
    return out;
  }

  /** Number of waiters on `addr`. */
  count(addr: number): number {
    return this.queues.get(addr)?.length ?? 0;
  }

  save(): Array<[number, FutexWaiter[]]> {
    return [...this.queues].map(([a, q]) => [a, q.map((w) => ({ ...w }))]);
  }
}

/** FUTEX_WAKE_OP: applies the operation encoded in `val3` to `old` (the value at uaddr2) and
 *  says whether the comparison holds. Returns [new value, condition]. */
export function futexWakeOp(val3: number, old: number): [number, boolean] {
  const op = (val3 >>> 28) & 7;
  const shift = (val3 >>> 28) & 8;
  const cmp = (val3 >>> 24) & 15;
  let oparg = (val3 << 8) >> 20; // sign-extended 12 bits
  const cmparg = (val3 << 20) >> 20;
  if (shift) oparg = 1 << (oparg & 31);
  let nv: number;
  switch (op) {
    case 0: nv = oparg; break; // SET
    case 1: nv = old + oparg; break; // ADD
    case 2: nv = old | oparg; break; // OR
    case 3: nv = old & ~oparg; break; // ANDN
    case 4: nv = old ^ oparg; break; // XOR
    default: nv = old;
  }
  const o = old | 0;
  let c: boolean;
  switch (cmp) {
    case 0: c = o === cmparg; break;
    case 1: c = o !== cmparg; break;
    case 2: c = o < cmparg; break;
    case 3: c = o <= cmparg; break;
    case 4: c = o > cmparg; break;
    case 5: c = o >= cmparg; break;
    default: c = false;
  }
  return [nv >>> 0, c];
}
