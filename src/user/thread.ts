// One guest thread: a hart (registers in the shared memory) plus the per-thread kernel state
// Linux keeps for it. Plain data only (design rule 1): what a thread waits for is a tagged
// record, never a closure, so the scheduler's whole state can be saved and compared.
import type { Hart, HartState } from '../cpu/hart.js';

/** Why a blocked thread is waiting and how its system call completes. */
export type Wait =
  /** FUTEX_WAIT*: woken by FUTEX_WAKE* (returns 0), a timeout (-ETIMEDOUT) or a signal. */
  | { kind: 'futex'; addr: number; bitset: number; deadline: bigint | null; shared?: boolean; pi?: PiWait }
  /** nanosleep / clock_nanosleep: completes with 0 at the deadline; `rem` gets the time left if a
   *  signal interrupts it (0n: no pointer). */
  | { kind: 'sleep'; deadline: bigint; rem: bigint }
  /** The system call could not complete yet (an empty pipe, a full pipe): it is executed again
   *  from the start when something changes; at the deadline it returns timeoutResult (default
   *  0, as poll; a socket's SO_RCVTIMEO gives -EAGAIN), or with rerunAtDeadline only executes
   *  it again; a signal restarts it (SA_RESTART) or makes it fail with EINTR (always when
   *  noRestart); onInterrupt then runs first (it undoes what the call left under way). */
  | { kind: 'retry'; deadline: bigint | null; noRestart?: boolean; timeoutResult?: number; rerunAtDeadline?: boolean; onInterrupt?: () => void }
  /** rt_sigsuspend: only a signal ends it. */
  | { kind: 'sigsuspend' }
  /** rt_sigtimedwait: a signal in `set` becoming pending ends it (returns the signal). */
  | { kind: 'sigwait'; set: bigint; info: bigint; deadline: bigint | null }
  /** vfork: the parent waits until the child (pid `child`) execs or exits; returns its pid.
   *  Signals do not end it (they stay pending); a fatal one ends the process. */
  | { kind: 'vfork'; child: number };

/** FUTEX_LOCK_PI(2): the futex word's address in the waiter's own process (the lock is handed
 *  over by writing the waiter's TID there). A signal restarts the call, as Linux does. */
export interface PiWait {
  uaddr: number;
}

/** What a pending signal carries into siginfo_t. */
export interface SigInfo {
  signo: number;
  code: number;
  errno?: number;
  pid?: number;
  uid?: number;
  /** si_addr for faults. */
  addr?: bigint;
  /** si_value (sigqueue). */
  value?: bigint;
  status?: number;
  /** For a hardware fault: what the instruction did, for the message when it kills the process. */
  fault?: string;
}

export interface AltStack {
  sp: bigint;
  size: bigint;
  /** SS_DISABLE when none is set. */
  flags: number;
}

export const SS_ONSTACK = 1;
export const SS_DISABLE = 2;

export type ThreadStatus = 'runnable' | 'blocked' | 'exited';

export interface ThreadState {
  tid: number;
  status: ThreadStatus;
  wait: Wait | null;
  sigmask: string;
  savedMask: string | null;
  pending: SigInfo[];
  altstack: { sp: string; size: string; flags: number };
  clearChildTid: string;
  robustList: string;
  hart: HartState;
}

export class Thread {
  status: ThreadStatus = 'runnable';
  wait: Wait | null = null;
  /** Blocked signals: bit (signo - 1). */
  sigmask = 0n;
  /** The mask to restore when a sigsuspend-like call ends (it goes into the signal frame). */
  savedMask: bigint | null = null;
  /** Signals sent to this thread and not yet delivered, oldest first. */
  pending: SigInfo[] = [];
  /** Woken from a 'retry' wait and not yet executing its system call again (a signal handler
   *  about to run first lets the call try once more, scheduler.ts). */
  retrying = false;
  altstack: AltStack = { sp: 0n, size: 0n, flags: SS_DISABLE };
  /** CLONE_CHILD_CLEARTID / set_tid_address: zeroed and futex-woken when the thread exits. */
  clearChildTid = 0n;
  robustList = 0n;
  /** Host nanoseconds spent running this thread (CLOCK_THREAD_CPUTIME_ID). */
  cpuNs = 0n;
  /** sched_setaffinity's mask (bit i = CPU i); null: every CPU shown (cpus.ts). */
  affinity: bigint | null = null;

  constructor(readonly tid: number, readonly hart: Hart) {}

  save(): ThreadState {
    return {
      tid: this.tid,
      status: this.status,
      wait: this.wait && JSON.parse(JSON.stringify(this.wait, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
      sigmask: this.sigmask.toString(),
      savedMask: this.savedMask === null ? null : this.savedMask.toString(),
      pending: this.pending.map((p) => ({ ...p })),
      altstack: { sp: this.altstack.sp.toString(), size: this.altstack.size.toString(), flags: this.altstack.flags },
      clearChildTid: this.clearChildTid.toString(),
      robustList: this.robustList.toString(),
      hart: this.hart.save(),
    };
  }
}
