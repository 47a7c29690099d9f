// The robust futex list (set_robust_list(2)): when a thread ends (exit, exit_group, a fatal
// signal, its process killed), the kernel walks the list the thread registered and, in each
// futex word still owned by it (its TID in the low 30 bits), sets FUTEX_OWNER_DIED and wakes one
// waiter if FUTEX_WAITERS is set; so the next locker of a robust mutex gets EOWNERDEAD.
//
// The list in guest memory: struct robust_list_head { struct robust_list *next; long
// futex_offset; struct robust_list *list_op_pending; } (24 bytes on riscv64); each entry is a
// `next` pointer (bit 0: a PI futex) and its futex word is at entry + futex_offset. The head's
// own address ends the list; at most ROBUST_LIST_LIMIT entries are visited (a cyclic list must
// not hang the exit); list_op_pending, an entry being added or removed, is handled last.
import { ERRNO } from './errno.js';
import type { Process } from './process.js';
import { futexKey, futexWakeKey } from './shared-futex.js';
import type { Thread } from './thread.js';

export const ROBUST_LIST_HEAD_SIZE = 24n;
const ROBUST_LIST_LIMIT = 2048;
export const FUTEX_WAITERS = 0x80000000;
export const FUTEX_OWNER_DIED = 0x40000000;
export const FUTEX_TID_MASK = 0x3fffffff;

const MASK64 = (1n << 64n) - 1n;

/** The futex word at `uaddr` of a robust mutex whose owner `t` is dying. */
function handleDeath(p: Process, t: Thread, uaddr: bigint, pi: boolean, pending: boolean): boolean {
  if (uaddr & 3n) return false;
  const addr = Number(uaddr);
  const uval = p.as.readU32(uaddr);
  if (uval === null) return false;
  const wake = (): void => {
    const k = futexKey(p, addr, false);
    if (typeof k !== 'number') futexWakeKey(p, k, 1);
  };
  // The thread died between taking the lock and (glibc) setting the owner: wake a waiter so it
  // can retry.
  if (pending && !pi && uval === 0) {
    wake();
    return true;
  }
  if ((uval & FUTEX_TID_MASK) !== t.tid) return true;
  const nv = ((uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED) >>> 0;
  if (!p.as.writeU32(uaddr, nv)) return false;
  if (!pi && uval & FUTEX_WAITERS) wake();
  return true;
}

/** Walks `t`'s robust list (it is ending). Faults end the walk silently, as on Linux. */
export function exitRobustList(p: Process, t: Thread): void {
  const head = t.robustList;
  if (head === 0n) return;
  t.robustList = 0n;
  const first = p.as.readU64(head);
  const off = p.as.readU64(head + 8n);
  const pendingRaw = p.as.readU64(head + 16n);
  if (first === null || off === null || pendingRaw === null) return;
  const offset = BigInt.asIntN(64, off);
  const pending = pendingRaw & ~1n;
  const pendingPi = (pendingRaw & 1n) !== 0n;
  let entry = first & ~1n;
  let pi = (first & 1n) !== 0n;
  let limit = ROBUST_LIST_LIMIT;
  while (entry !== head) {
    const next = p.as.readU64(entry);
    if (entry !== pending && !handleDeath(p, t, (entry + offset) & MASK64, pi, false)) return;
    if (next === null) return;
    entry = next & ~1n;
    pi = (next & 1n) !== 0n;
    if (--limit === 0) break;
  }
  if (pending !== 0n) handleDeath(p, t, (pending + offset) & MASK64, pendingPi, true);
}

/** set_robust_list's length check. */
export function robustListLenOk(len: bigint): number {
  return len === ROBUST_LIST_HEAD_SIZE ? 0 : -ERRNO.EINVAL;
}
