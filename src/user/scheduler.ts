// The run loop: the threads of every guest process of the run time-share the one emulated CPU,
// round robin (by thread id, across processes), in slices of SLICE instructions. A slice ends
// early when the thread blocks, exits or yields. Each thread has its own hart (and so its own
// TLB); switching to another process's thread points the core's TLB-miss handler at that
// process's address space and the host's working directory at that process's cwd.
// Traps come back as values (design: a guest fault is a return value, never an exception):
// ecall → the system call table; faults → a synchronous signal. Signals are delivered whenever a
// thread is about to return to guest code. When no thread can run, the host sleeps until the
// earliest deadline or until host input arrives (host-input.ts); with neither to wait for,
// every thread is blocked forever and the run ends (deadlock).
import { hostCwdOf } from './workdir.js';
import { sweepFifoOpens } from './fifo-open.js';
import { STOP_TRAP } from '../cpu/layout.js';
import { disassemble } from '../isa/disasm.js';
import { ERROR_CODES } from '../errors.js';
import { monotonicNs, rdtimeTicks } from './clock.js';
import { describeHostInputs, hostEventsChanged, hostInputStatus, shutdownHostInput, waitHostEvents } from './host-input.js';
import { ERRNO } from './errno.js';
import { hostProgramsPending, shutdownHostPrograms, stepHostPrograms } from './host-exec.js';
import { fireTimerfds, nextTimerfdDeadline } from './fd-kinds.js';
import { reportContinued, stopDiscarded, stopProcess } from './job-control.js';
import type { Process } from './process.js';
import {
  BUS_ADRALN, BUS_ADRERR, ILL_ILLOPC, SA_NODEFER, SA_RESETHAND, SEGV_ACCERR, SIGALRM, SIGBUS, SIGILL, SIGSEGV, SIGTRAP, SIG_DFL,
  SIG_IGN, SI_KERNEL, TRAP_BRKPT, UNBLOCKABLE, defaultAction, pushSignalFrame, sigbit, signalName,
} from './signals.js';
import { BLOCKED, NO_RETURN } from './syscalls/abi.js';
import { SYSCALLS, UNIMPLEMENTED_NAMES } from './syscalls/table.js';
import type { SigInfo, Thread, Wait } from './thread.js';
import { chargeSlice, chargeSyscall, sysNsOf } from './usage.js';

/** Instructions per time slice. */
export const SLICE = 100_000;

/** Exit status when every thread is blocked with nothing that could wake it. */
export const DEADLOCK_STATUS = ERROR_CODES.GUEST_DEADLOCK.exit;

export interface RunOptions {
  /** --trace: called before each instruction (the run then goes one instruction at a time). */
  trace?: (p: Process, t: Thread) => void;
  /** Called with a message when the run ends abnormally (deadlock). */
  report?: (msg: string) => void;
}

function deadlineOf(w: Wait | null): bigint | null {
  if (!w) return null;
  switch (w.kind) {
    case 'futex':
    case 'retry':
    case 'sigwait':
      return w.deadline;
    case 'sleep':
      return w.deadline;
    default:
      return null;
  }
}

/** Ends the waits whose deadline has passed and fires ITIMER_REAL. */
function expireTimers(p: Process): void {
  const now = monotonicNs();
  for (const t of [...p.threads.values()]) {
    if (t.status !== 'blocked') continue;
    const d = deadlineOf(t.wait);
    if (d !== null && d <= now) p.endWait(t, 'timeout');
  }
  if (p.alarm && p.alarm.deadline <= now) {
    const { interval } = p.alarm;
    p.alarm = interval > 0n ? { deadline: now + interval, interval } : null;
    p.sendToProcess({ signo: SIGALRM, code: SI_KERNEL });
  }
}

/** The earliest pending deadline (waits and the alarm), or null. */
function earliestDeadline(p: Process): bigint | null {
  let best: bigint | null = p.alarm?.deadline ?? null;
  for (const t of p.threads.values()) {
    const d = t.status === 'blocked' ? deadlineOf(t.wait) : null;
    if (d !== null && (best === null || d < best)) best = d;
  }
  return best;
}

/** Sends a synchronous fault signal: like Linux's force_sig_fault, a blocked or ignored
 *  signal is unblocked and reset to its default action so the fault cannot be lost. */
export function forceSignal(p: Process, t: Thread, info: SigInfo): void {
  const sig = info.signo;
  const act = p.actions.get(sig);
  const blocked = (t.sigmask & sigbit(sig)) !== 0n;
  if (blocked || act.handler === SIG_IGN) {
    t.sigmask &= ~sigbit(sig);
    if (blocked || act.handler === SIG_IGN) p.actions.set(sig, { handler: SIG_DFL, flags: 0, mask: 0n });
  }
  t.pending.unshift(info);
}

/** Delivers the signals `t` can take now: default actions, or a frame per handler. */
export function deliverSignals(p: Process, t: Thread, report?: (msg: string) => void): void {
  reportContinued(p);
  while (t.status === 'runnable' && p.exitStatus === null) {
    const info = p.takeSignal(t);
    if (!info) break;
    const sig = info.signo;
    const act = p.actions.get(sig);
    if (act.handler === SIG_IGN) continue;
    if (act.handler === SIG_DFL) {
      const d = defaultAction(sig);
      if (d === 'term' || d === 'core') {
        // Like QEMU's "uncaught target signal": say which instruction killed the program.
        if (info.fault) report?.(`uncaught ${signalName(sig)}: ${info.fault}`);
        p.kill(sig);
        return;
      }
      if (d === 'stop' && !stopDiscarded(p, sig)) {
        stopProcess(p, sig);
        return;
      }
      continue;
    }
    if (t.retrying) {
      // The thread's system call was woken but has not run again: like Linux, it first checks
      // whether it can complete now; if it would still wait, the handler interrupts it (EINTR,
      // or executed again after the handler with SA_RESTART).
      t.retrying = false;
      syscall(p, t);
      if ((t.status as string) === 'blocked') p.endWait(t, 'signal', sig);
      if (p.exitStatus !== null) return;
    }
    const oldMask = t.savedMask ?? t.sigmask;
    t.savedMask = null;
    if (!pushSignalFrame(p.as, t, info, act, oldMask, p.trampoline)) {
      p.kill(SIGSEGV);
      return;
    }
    p.config.strace?.note(t, `--- ${sig} delivered to handler 0x${act.handler.toString(16)} ---`);
    t.sigmask = (t.sigmask | act.mask | (act.flags & SA_NODEFER ? 0n : sigbit(sig))) & ~UNBLOCKABLE;
    if (act.flags & SA_RESETHAND) p.actions.set(sig, { handler: SIG_DFL, flags: act.flags & ~SA_RESETHAND, mask: act.mask });
  }
  if (t.status === 'runnable' && t.savedMask !== null) {
    t.sigmask = t.savedMask;
    t.savedMask = null;
  }
}

/** Executes the system call `t` trapped on. */
function syscall(p: Process, t: Thread): void {
  const h = t.hart;
  const nr = Number(h.x(17));
  const a = [h.x(10), h.x(11), h.x(12), h.x(13), h.x(14), h.x(15)];
  const def = SYSCALLS.get(nr);
  t.retrying = false;
  const st = p.config.strace;
  if (st) st.begin(t, st.formatCall(nr, def, a));
  let r;
  if (def) {
    const t0 = monotonicNs();
    r = def.fn(p, t, a);
    chargeSyscall(t, monotonicNs() - t0);
  }
  else {
    r = -ERRNO.ENOSYS;
    if (st && !p.reportedEnosys.has(nr)) {
      p.reportedEnosys.add(nr);
      st.note(t, `unimplemented system call ${nr}${UNIMPLEMENTED_NAMES[nr] ? ` (${UNIMPLEMENTED_NAMES[nr]})` : ''}: ENOSYS`);
    }
  }
  if (r === BLOCKED) return;
  if (r === NO_RETURN) {
    st?.noReturn(t);
    return;
  }
  h.setX(10, BigInt(r));
  h.pc = h.pc + 4n;
  st?.done(t, r);
}

/** Handles a STOP_TRAP of `t`. */
function trap(p: Process, t: Thread): void {
  const h = t.hart;
  const cause = h.cause;
  if (cause === 8) {
    syscall(p, t);
    return;
  }
  const pc = h.pc;
  const tval = h.tval;
  let info: SigInfo;
  switch (cause) {
    case 2:
      info = { signo: SIGILL, code: ILL_ILLOPC, addr: pc };
      break;
    case 3:
      info = { signo: SIGTRAP, code: TRAP_BRKPT, addr: pc };
      break;
    case 12:
    case 13:
    case 15: {
      const va = Number(tval < 2n ** 53n ? tval : 2n ** 53n);
      if (p.as.pastEof(va)) info = { signo: SIGBUS, code: BUS_ADRERR, addr: tval };
      else info = { signo: SIGSEGV, code: p.as.faultCode(va), addr: tval };
      break;
    }
    case 1:
    case 5:
    case 7:
      info = { signo: SIGSEGV, code: SEGV_ACCERR, addr: tval };
      break;
    case 0:
    case 4:
    case 6:
      info = { signo: SIGBUS, code: BUS_ADRALN, addr: tval };
      break;
    default:
      info = { signo: SIGILL, code: ILL_ILLOPC, addr: pc };
  }
  info.fault = describeFault(p, cause, pc, tval);
  p.config.strace?.note(t, `--- fault: cause ${cause} at pc 0x${pc.toString(16)}, tval 0x${tval.toString(16)}: ${info.signo} ---`);
  forceSignal(p, t, info);
}

/** One line on a hardware fault, with the instruction disassembled from the table. */
function describeFault(p: Process, cause: number, pc: bigint, tval: bigint): string {
  const at = `at pc 0x${pc.toString(16)}`;
  let insn = '';
  if (cause === 2) insn = disassemble(Number(tval & 0xffffffffn), pc);
  else {
    const b = p.as.read(pc, 4);
    if (b) insn = disassemble(b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24), pc);
  }
  const what: Record<number, string> = {
    0: 'misaligned jump target', 1: 'instruction fetch from an inaccessible address', 2: 'illegal instruction',
    3: 'breakpoint', 4: 'misaligned load', 5: 'load from an inaccessible address', 6: 'misaligned store',
    7: 'store to an inaccessible address', 12: 'instruction fetch from an unmapped address',
    13: 'load from an unmapped address', 15: 'store to an unmapped or read-only address',
  };
  const addr = cause === 2 || cause === 3 ? '' : ` 0x${tval.toString(16)}`;
  return `${what[cause] ?? `exception ${cause}`}${addr} ${at}${insn ? ` (${insn})` : ''}`;
}

/** Runs `t` for one slice. */
function runSlice(p: Process, t: Thread, opts: RunOptions): void {
  p.current = t;
  p.yieldRequested = false;
  deliverSignals(p, t, opts.report);
  if (p.exitStatus !== null || t.status !== 'runnable') return;
  const h = t.hart;
  let budget = SLICE;
  p.sliceStartNs = monotonicNs();
  const sysBefore = sysNsOf(t);
  while (budget > 0) {
    h.time = rdtimeTicks();
    const before = h.instret;
    if (opts.trace) opts.trace(p, t);
    const stop = p.core.run(h, opts.trace ? 1 : budget);
    const ran = Number(h.instret - before);
    budget -= stop === STOP_TRAP ? Math.max(ran, 1) : Math.max(ran, opts.trace ? 1 : budget);
    if (stop === STOP_TRAP) {
      trap(p, t);
      if (p.exitStatus !== null || t.status !== 'runnable') break;
      deliverSignals(p, t, opts.report);
      if (p.exitStatus !== null || t.status !== 'runnable') break;
    }
    if (p.yieldRequested) break;
  }
  const sliceNs = monotonicNs() - p.sliceStartNs;
  t.cpuNs += sliceNs;
  p.sliceStartNs = 0n;
  chargeSlice(p, t, sliceNs, sysBefore);
  if (p.threads.has(t.tid)) h.clearReservation();
}

/** Makes `q` the process the core runs: its TLB-miss handler, its working directory. */
function switchTo(q: Process): void {
  q.core.setTlbMissHandler(q.tlbMiss);
  const k = q.kernel;
  const cwd = hostCwdOf(q);
  if (k.hostCwd !== cwd) {
    try {
      process.chdir(cwd);
    } catch {
      // the directory went away: relative paths then fail, as they would on Linux
    }
    k.hostCwd = cwd;
  }
}

/** Runs the process `p` (and every process it forks) until `p` exits; returns its exit status.
 *  The processes still running then are killed. */
export function runProcess(p: Process, opts: RunOptions = {}): number {
  const k = p.kernel;
  let last = -1;
  while (p.exitStatus === null) {
    k.finishExited();
    for (const q of k.running()) expireTimers(q);
    if (p.exitStatus !== null) break;
    k.finishExited();
    if (hostEventsChanged()) k.wakeRetriers(); // host input arrived (host-input.ts)
    if (stepHostPrograms()) { // bytes moved through a bridge, a host program ended (host-exec.ts)
      k.finishExited();
      if (p.exitStatus !== null) break;
    }
    if (fireTimerfds()) k.wakeRetriers(); // a timerfd expired (fd-kinds.ts)
    sweepFifoOpens(); // FIFO opens whose thread no longer waits (fifo-open.ts)
    const all: Array<[Process, Thread]> = [];
    for (const q of k.running()) for (const t of q.threads.values()) all.push([q, t]);
    const runnable = all.filter(([q, t]) => t.status === 'runnable' && q.stopSig === 0).sort((x, y) => x[1].tid - y[1].tid);
    if (runnable.length === 0) {
      if (all.length === 0 && !hostProgramsPending()) break;
      let d: bigint | null = nextTimerfdDeadline();
      for (const q of k.running()) {
        const e = earliestDeadline(q);
        if (e !== null && (d === null || e < d)) d = e;
      }
      const input = hostInputStatus();
      if (input === 'ready') { // input became ready (even if its wake-up signal is still on the way)
        k.wakeRetriers();
        continue;
      }
      if (d === null && input === 'none' && !hostProgramsPending()) {
        const n = all.length;
        const waits = all.map(([, x]) => `${x.tid}: ${x.wait?.kind ?? x.status}`).join(', ');
        opts.report?.(`deadlock: ${n === 1 ? 'the only thread is' : `all ${n} threads are`} blocked with nothing that could wake ${n === 1 ? 'it' : 'them'} (threads ${waits}; host input ${describeHostInputs()})`);
        p.exitStatus = DEADLOCK_STATUS;
        break;
      }
      waitHostEvents(d === null ? null : d - monotonicNs());
      continue;
    }
    const [q, t] = runnable.find(([, x]) => x.tid > last) ?? runnable[0]!;
    last = t.tid;
    switchTo(q);
    runSlice(q, t, opts);
  }
  k.shutdown();
  shutdownHostInput();
  shutdownHostPrograms();
  switchTo(p);
  p.as.cache.syncAll();
  return p.exitStatus ?? 0;
}
