// One guest process: its address space, file descriptors, signal dispositions, futexes and
// threads, plus the kernel-side operations that act on several of them (sending a signal,
// waking a waiting thread, thread and process exit, fork, replacing the image on execve). The
// processes of a run and what is shared between them are in kernel.ts; the run loop that drives
// the threads is in scheduler.ts; the system calls are in syscalls/.
import type { Core } from '../cpu/core.js';
import type { HostMemory } from '../memory/host-memory.js';
import { AddressSpace, PROT_EXEC, PROT_READ, userAddr } from './address-space.js';
import { Creds } from './creds.js';
import type { ImageLayout } from './procfs-files.js';
import { ERRNO } from './errno.js';
import { FdTable } from './fd-table.js';
import { FutexTable } from './futex.js';
import { Kernel } from './kernel.js';
import { futexExitRelease } from './pi-futex.js';
import { futexKey, futexQueue, futexWakeKey } from './shared-futex.js';
import { signalGenerated, stopDiscarded, stopProcess, type ControllingTty } from './job-control.js';
import { SIGTRAMP_PAGE } from './layout.js';
import {
  SA_RESTART, SIGCHLD, SIG_DFL, SIG_IGN, SignalActions, UNBLOCKABLE, altstackFlags, defaultAction, encodeSiginfo, sigbit,
} from './signals.js';
import { Thread, type SigInfo, type Wait } from './thread.js';
import type { Strace } from './strace.js';
import { PrctlState } from './syscalls/prctl.js';
import { inheritCwd } from './workdir.js';
import { ProcUsage, noteThreadEnd } from './usage.js';

export interface ProcessConfig {
  /** Host path of the program (what /proc/self/exe names). */
  exePath: string;
  /** Root of the riscv64 file system for absolute guest paths (tried first), if any. */
  sysroot?: string;
  strace?: Strace;
  /** Where the initial stack put argv, envp and auxv (/proc/PID/cmdline, environ, auxv). */
  image?: ImageLayout;
}

/** How a blocked thread's wait ended. */
export type WaitOutcome = 'woken' | 'timeout' | 'signal';

/** What a forked child starts from (Process.fork builds it). */
interface ForkSource {
  parent: Process;
  as: AddressSpace;
  fds: FdTable;
}

export class Process {
  /** The address space (replaced by execve). */
  as: AddressSpace;
  readonly fds: FdTable;
  readonly actions = new SignalActions();
  futex = new FutexTable();
  readonly threads = new Map<number, Thread>();
  /** Process-directed signals no thread can take yet (all block them). */
  pending: SigInfo[] = [];
  readonly kernel: Kernel;
  readonly pid: number;
  /** The parent's pid (the host's parent for the first process, 1 once orphaned). */
  ppid: number;
  /** The parent process if it is a guest process that has not ended. */
  parent: Process | null = null;
  pgid: number;
  sid: number;
  /** The real user and group ids (what signals and SO_PEERCRED report; creds.ts has them all). */
  get uid(): number {
    return this.creds.ruid;
  }
  get gid(): number {
    return this.creds.rgid;
  }
  /** The working directory (the host's cwd is switched to it while the process runs). */
  cwd: string;
  /** The host fd holding the working directory when its path is too long to name (workdir.ts). */
  cwdHold: number | null = null;
  /** The signal the parent gets when this process ends (clone's low byte; SIGCHLD for fork). */
  exitSignal = SIGCHLD;
  /** Set once the end of the process is complete (kernel.finish): a zombie until reaped. */
  finished = false;
  /** The parent thread a vfork child must release (on execve or exit). */
  vforkParent: { pid: number; tid: number } | null = null;
  /** Exit status once the process has ended (exit_group, last thread, fatal signal). */
  exitStatus: number | null = null;
  /** Set when a fatal signal ended the process. */
  killedBy = 0;
  /** Exit code of the main thread (the status when threads exit one by one). */
  private mainExitCode = 0;
  /** The thread whose system call is running (or that ran last). */
  current: Thread | null = null;
  /** Ask the scheduler to end the current slice (sched_yield, a wakeup of another thread). */
  yieldRequested = false;
  /** Instructions retired by threads that have exited. */
  retiredInstructions = 0n;
  umask = 0o022;
  /** prctl PR_SET_NAME / the comm of each thread. */
  readonly threadNames = new Map<number, string>();
  /** Resource limits set by the guest (resource → [soft, hard]). */
  readonly rlimits = new Map<number, [bigint, bigint]>();
  readonly trampoline = SIGTRAMP_PAGE;
  /** ITIMER_REAL: when SIGALRM is due (monotonic ns) and its reload interval. */
  alarm: { deadline: bigint; interval: bigint } | null = null;
  /** Monotonic time the current slice started (thread CPU time accounting). */
  sliceStartNs = 0n;
  /** Deadlines of ppoll/pselect6 calls that are waiting to be re-executed, by thread. */
  readonly pollDeadlines = new Map<number, bigint>();
  /** Syscall numbers already reported as unimplemented (--strace). */
  readonly reportedEnosys = new Set<number>();
  /** The host program this process exec'ed (host-exec.ts): signals sent to it go there. */
  hostProgram: { signal(sig: number): void } | null = null;
  /** User and group ids (set*id); `uid`/`gid` above stay the ids the process started with. */
  creds: Creds;
  /** CPU time, context switches, peak RSS, ITIMER_VIRTUAL/PROF (usage.ts). */
  readonly usage = new ProcUsage();
  /** prctl settings (syscalls/prctl.ts). */
  prctl = new PrctlState();
  /** Job control (job-control.ts): the signal that stopped the process (0: not stopped), the
   *  stop or continue its parent has not collected with wait, whether it has exec'ed (setpgid
   *  on it then fails), its controlling terminal. */
  stopSig = 0;
  jobEvent: { kind: 'stopped'; sig: number } | { kind: 'continued' } | null = null;
  execed = false;
  ctty: ControllingTty = null;

  constructor(readonly core: Core, readonly mem: HostMemory, readonly config: ProcessConfig, from?: ForkSource) {
    if (from) {
      const par = from.parent;
      this.kernel = par.kernel;
      this.pid = this.kernel.allocId();
      this.ppid = par.pid;
      this.parent = par;
      this.pgid = par.pgid;
      this.sid = par.sid;
      this.cwd = par.cwd;
      inheritCwd(this, par);
      this.creds = par.creds.clone();
      this.prctl = par.prctl.forked();
      this.ctty = par.ctty;
      this.fds = from.fds;
      this.as = from.as;
      this.attach(this.as);
    } else {
      this.pid = process.pid;
      this.kernel = new Kernel(core, mem, this.pid);
      this.ppid = process.ppid;
      this.pgid = this.pid;
      this.sid = this.pid;
      this.cwd = process.cwd();
      this.creds = Creds.ofHost();
      this.ctty = 'host';
      this.kernel.hostCwd = this.cwd;
      this.umask = process.umask(); // inherited from whoever started rvisor, as on Linux
      this.fds = FdTable.withStdio();
      this.as = this.newAddressSpace();
      core.setTlbMissHandler(this.tlbMiss);
    }
    this.kernel.add(this);
  }

  /** The core's TLB-miss handler while this process runs (follows execve's new address space). */
  readonly tlbMiss = (_hart: number, va: bigint, access: number): number => this.as.translateMiss(userAddr(va), access);

  /** An empty address space for this process, holding only the signal return trampoline. */
  newAddressSpace(): AddressSpace {
    const as = new AddressSpace(this.mem);
    this.attach(as);
    // The rt_sigreturn trampoline: li a7, 139; ecall.
    const code = new Uint8Array(8);
    new DataView(code.buffer).setUint32(0, 0x08b00893, true);
    new DataView(code.buffer).setUint32(4, 0x00000073, true);
    as.mapFixed(SIGTRAMP_PAGE, 4096, PROT_READ | PROT_EXEC, { name: '[vdso]' });
    as.poke(SIGTRAMP_PAGE, code);
    return as;
  }

  /** Connects an address space's hooks to this process (TLB flushes of its harts). */
  private attach(as: AddressSpace): void {
    as.onShrink = () => {
      for (const t of this.threads.values()) this.core.flushTlb(t.hart);
    };
    as.onCowCopy = () => {
      // Every hart, the current one too: a copy made by a system call's write into guest memory
      // (read(2) into a page shared since fork) leaves the caller's TLB on the old frame.
      for (const t of this.threads.values()) this.core.flushTlb(t.hart);
    };
  }

  /** A new thread with a fresh hart (the caller sets its registers). The first thread of a
   *  process gets the pid as its tid. */
  newThread(): Thread {
    const tid = this.threads.size === 0 && !this.hadMainThread ? this.pid : this.kernel.allocId();
    this.hadMainThread = true;
    const t = new Thread(tid, this.core.newHart());
    this.threads.set(tid, t);
    return t;
  }

  private hadMainThread = false;

  get mainThread(): Thread | undefined {
    return this.threads.get(this.pid);
  }

  // ---- waiting and waking -------------------------------------------------------------------

  /** Puts `t` to sleep until its wait ends (the system call stays at the ecall). */
  block(t: Thread, w: Wait): void {
    t.status = 'blocked';
    t.wait = w;
    if (w.kind === 'futex') futexQueue(this, w.shared).enqueue(w.addr, t.tid, w.bitset, w.pi !== undefined);
    if (t === this.current) this.yieldRequested = true;
  }

  /** Ends the wait of a blocked thread and completes its system call as the outcome says. */
  endWait(t: Thread, outcome: WaitOutcome, signo = 0): void {
    const w = t.wait;
    if (!w || t.status !== 'blocked') return;
    if (w.kind === 'vfork' && outcome !== 'woken') return; // only the child releases it
    t.wait = null;
    t.status = 'runnable';
    const h = t.hart;
    const finish = (v: number | bigint): void => {
      h.setX(10, BigInt(v));
      h.pc = h.pc + 4n;
      this.config.strace?.done(t, v);
    };
    const restartOrEintr = (): void => {
      const act = this.actions.get(signo);
      if (act.flags & SA_RESTART || act.handler === SIG_DFL || act.handler === SIG_IGN) return; // executed again
      finish(-ERRNO.EINTR);
    };
    switch (w.kind) {
      case 'futex':
        if (outcome !== 'woken') futexQueue(this, w.shared).remove(w.addr, t.tid);
        if (outcome === 'woken') finish(0);
        else if (outcome === 'timeout') finish(-ERRNO.ETIMEDOUT);
        else if (w.pi) return; // FUTEX_LOCK_PI is restarted after a handler, never EINTR
        else if (w.deadline === null) restartOrEintr();
        else finish(-ERRNO.EINTR);
        break;
      case 'sleep':
        if (outcome === 'signal') {
          if (w.rem !== 0n) {
            const left = w.deadline - process.hrtime.bigint();
            const b = new Uint8Array(16);
            const dv = new DataView(b.buffer);
            const l = left > 0n ? left : 0n;
            dv.setBigInt64(0, l / 1_000_000_000n, true);
            dv.setBigInt64(8, l % 1_000_000_000n, true);
            this.as.write(w.rem, b);
          }
          finish(-ERRNO.EINTR);
        } else finish(0);
        break;
      case 'retry':
        if (outcome === 'woken') t.retrying = true;
        if (outcome === 'timeout') {
          this.pollDeadlines.delete(t.tid);
          if (w.rerunAtDeadline) break; // executed again (a terminal's VTIME)
          finish(w.timeoutResult ?? 0);
        } else if (outcome === 'signal') {
          w.onInterrupt?.();
          this.pollDeadlines.delete(t.tid);
          if (w.deadline !== null || w.noRestart) finish(-ERRNO.EINTR);
          else restartOrEintr();
        }
        break;
      case 'sigsuspend':
        finish(-ERRNO.EINTR);
        break;
      case 'sigwait':
        if (outcome === 'timeout') finish(-ERRNO.EAGAIN);
        else if (outcome === 'signal') finish(-ERRNO.EINTR);
        break;
      case 'vfork':
        finish(w.child);
        break;
    }
  }

  /** Wakes every thread, of every process, waiting to retry a system call (something they may
   *  wait for changed: pipes are shared between processes). */
  wakeRetriers(): void {
    this.kernel.wakeRetriers();
  }

  /** Wakes this process's threads that wait to retry a system call. */
  wakeLocalRetriers(): void {
    for (const t of this.threads.values()) if (t.wait?.kind === 'retry') this.endWait(t, 'woken');
  }

  /** Wakes up to n futex waiters on addr; returns how many. */
  futexWake(addr: number, n: number, bitset?: number): number {
    const tids = this.futex.wake(addr, n, bitset);
    for (const tid of tids) {
      const w = this.threads.get(tid);
      if (w) this.endWait(w, 'woken');
    }
    return tids.length;
  }

  // ---- signals --------------------------------------------------------------------------------

  /** Signals pending for `t` that it does not block (bit set). */
  deliverable(t: Thread): bigint {
    let set = 0n;
    for (const s of t.pending) set |= sigbit(s.signo);
    for (const s of this.pending) set |= sigbit(s.signo);
    return set & ~(t.sigmask & ~UNBLOCKABLE);
  }

  /** Sends a signal to one thread (tgkill, faults). */
  sendToThread(t: Thread, info: SigInfo): void {
    const sig = info.signo;
    signalGenerated(this, sig);
    const blocked = (t.sigmask & sigbit(sig)) !== 0n && (sigbit(sig) & UNBLOCKABLE) === 0n;
    if (!blocked && this.actions.ignored(sig)) return;
    if (sig < 32 && t.pending.some((p) => p.signo === sig)) return; // standard signals do not queue
    // rt_sigtimedwait takes a signal in its set directly.
    if (t.status === 'blocked' && t.wait?.kind === 'sigwait' && t.wait.set & sigbit(sig)) {
      this.completeSigwait(t, info);
      return;
    }
    t.pending.push(info);
    if (!blocked) this.interrupt(t, sig);
    else this.wakeLocalRetriers(); // a signalfd reader or poller may be waiting for it
  }

  /** Sends a signal to the process (kill): some thread that does not block it takes it. */
  sendToProcess(info: SigInfo): void {
    const sig = info.signo;
    if (this.hostProgram) {
      this.hostProgram.signal(sig);
      return;
    }
    signalGenerated(this, sig);
    const threads = [...this.threads.values()].filter((t) => t.status !== 'exited');
    const waiter = threads.find((t) => t.status === 'blocked' && t.wait?.kind === 'sigwait' && t.wait.set & sigbit(sig));
    if (waiter) {
      this.completeSigwait(waiter, info);
      return;
    }
    const taker = threads.find((t) => (t.sigmask & sigbit(sig)) === 0n || (sigbit(sig) & UNBLOCKABLE) !== 0n);
    if (taker) {
      this.sendToThread(taker, info);
      return;
    }
    if (this.actions.ignored(sig) && !threads.length) return;
    if (sig < 32 && this.pending.some((p) => p.signo === sig)) return;
    this.pending.push(info);
    this.wakeLocalRetriers(); // a signalfd reader or poller may be waiting for it
  }

  /** A signal `t` does not block arrived: a blocked thread's wait ends, a fatal default ends
   *  the process. */
  private interrupt(t: Thread, sig: number): void {
    const act = this.actions.get(sig);
    if (act.handler === SIG_DFL && (defaultAction(sig) === 'term' || defaultAction(sig) === 'core')) {
      this.kill(sig);
      return;
    }
    if (act.handler === SIG_DFL && defaultAction(sig) === 'stop' && t.status === 'blocked') {
      // Taken at once: the process stops and its waits go on (a sleep resumes after SIGCONT).
      t.pending = t.pending.filter((s) => s.signo !== sig);
      if (!stopDiscarded(this, sig)) stopProcess(this, sig);
      return;
    }
    if (t.status === 'blocked') this.endWait(t, 'signal', sig);
  }

  private completeSigwait(t: Thread, info: SigInfo): void {
    const w = t.wait;
    if (!w || w.kind !== 'sigwait') return;
    if (w.info !== 0n) {
      // Written at completion, in the thread's own address space (shared by all threads).
      this.as.write(w.info, encodeSiginfo(info));
    }
    t.wait = null;
    t.status = 'runnable';
    t.hart.setX(10, BigInt(info.signo));
    t.hart.pc = t.hart.pc + 4n;
    this.config.strace?.done(t, info.signo);
  }

  /** Takes the next signal `t` should handle now (its own pending first, then the process's). */
  takeSignal(t: Thread): SigInfo | undefined {
    const ok = (s: SigInfo): boolean => (t.sigmask & sigbit(s.signo) & ~UNBLOCKABLE) === 0n;
    // Synchronous faults are queued at the front; otherwise lowest number first, like Linux.
    const pick = (list: SigInfo[]): number => {
      let best = -1;
      for (let i = 0; i < list.length; i++) {
        if (!ok(list[i]!)) continue;
        if (best < 0 || list[i]!.signo < list[best]!.signo) best = i;
      }
      return best;
    };
    let i = pick(t.pending);
    if (i >= 0) return t.pending.splice(i, 1)[0];
    i = pick(this.pending);
    if (i >= 0) return this.pending.splice(i, 1)[0];
    return undefined;
  }

  /** Ends the process as a fatal signal does (status 128 + signo, like a shell reports). */
  kill(sig: number): void {
    if (this.exitStatus !== null) return;
    this.killedBy = sig;
    this.exitStatus = 128 + sig;
    this.yieldRequested = true;
  }

  // ---- exit -------------------------------------------------------------------------------

  /** One thread ends (exit): CLONE_CHILD_CLEARTID is honoured; the last thread ends the process. */
  exitThread(t: Thread, code: number): void {
    futexExitRelease(this, t);
    if (t.clearChildTid !== 0n) {
      if (this.as.writeU32(t.clearChildTid, 0)) {
        const k = futexKey(this, Number(t.clearChildTid), false);
        if (typeof k !== 'number') futexWakeKey(this, k, 1);
      }
    }
    if (t.wait?.kind === 'futex') futexQueue(this, t.wait.shared).remove(t.wait.addr, t.tid);
    t.status = 'exited';
    t.wait = null;
    if (t.tid === this.pid) this.mainExitCode = code & 0xff;
    this.retiredInstructions += t.hart.instret;
    noteThreadEnd(this, t);
    this.threads.delete(t.tid);
    this.mem.freeHart(t.hart.base);
    // Process-directed signals this thread could have taken go to the others.
    if (t === this.current) this.yieldRequested = true;
    if (this.threads.size === 0 && this.exitStatus === null) this.exitStatus = this.mainExitCode;
  }

  /** exit_group: every thread ends with `code`. */
  exitGroup(code: number): void {
    if (this.exitStatus === null) this.exitStatus = code & 0xff;
    this.yieldRequested = true;
  }

  /** Removes every thread (the process ended or exec'ed in another thread), freeing harts. */
  releaseThreads(keep?: Thread): void {
    for (const t of [...this.threads.values()]) {
      if (t === keep) continue;
      futexExitRelease(this, t);
      if (t.wait?.kind === 'futex') futexQueue(this, t.wait.shared).remove(t.wait.addr, t.tid);
      t.status = 'exited';
      t.wait = null;
      this.retiredInstructions += t.hart.instret;
      noteThreadEnd(this, t);
      this.threads.delete(t.tid);
      this.pollDeadlines.delete(t.tid);
      this.mem.freeHart(t.hart.base);
    }
  }

  /** The status wait4 reports for this ended process: the signal number for a fatal signal,
   *  else the exit code in bits 8-15. */
  waitStatus(): number {
    if (this.killedBy) return this.killedBy;
    return ((this.exitStatus ?? 0) & 0xff) << 8;
  }

  // ---- fork ---------------------------------------------------------------------------------

  /** A child process copied from this one (fork, vfork, clone without CLONE_VM): its address
   *  space copy-on-write, the fd table sharing every open file description, the signal
   *  dispositions, limits, cwd and umask; one thread, a copy of `t` (its registers, mask and
   *  alternate stack). The caller sets the child's return registers. */
  fork(t: Thread): { child: Process; thread: Thread } {
    const as = this.as.fork();
    const config: ProcessConfig = { ...this.config };
    const c = new Process(this.core, this.mem, config, { parent: this, as, fds: this.fds.fork() });
    if (this.config.strace) config.strace = this.config.strace.forAddressSpace(as);
    for (let sig = 1; sig < this.actions.actions.length; sig++) c.actions.set(sig, this.actions.get(sig));
    for (const [k, v] of this.rlimits) c.rlimits.set(k, [v[0], v[1]]);
    c.umask = this.umask;
    const name = this.threadNames.get(t.tid) ?? this.threadNames.get(this.pid);
    if (name !== undefined) c.threadNames.set(c.pid, name);
    let ct: Thread;
    try {
      ct = c.newThread();
    } catch (e) {
      // No room for another hart: undo the child (the caller reports EAGAIN).
      this.kernel.reap(c);
      c.fds.closeAll();
      c.as.destroy();
      throw e;
    }
    const a = t.hart;
    const b = ct.hart;
    for (let i = 1; i < 32; i++) b.setX(i, a.x(i));
    for (let i = 0; i < 32; i++) b.setF(i, a.f(i));
    b.fcsr = a.fcsr;
    b.pc = a.pc;
    ct.sigmask = t.sigmask;
    ct.affinity = t.affinity;
    ct.altstack = { ...t.altstack };
    return { child: c, thread: ct };
  }

  // ---- execve -------------------------------------------------------------------------------

  /** Replaces the process image (execve, after the new program was loaded into `as`): the
   *  other threads end, `t` becomes the only thread (with the pid as tid) with reset
   *  registers, the old address space is freed, caught signals go back to their default,
   *  close-on-exec fds are closed, a vfork parent is released. Returns the thread. */
  replaceImage(t: Thread, as: AddressSpace, exePath: string): Thread {
    futexExitRelease(this, t); // as Linux does on exec (the list lives in the old image)
    this.releaseThreads(t);
    let main = t;
    if (t.tid !== this.pid) {
      // The exec'ing thread takes over the thread-group leader's id, as on Linux.
      this.threads.delete(t.tid);
      main = new Thread(this.pid, t.hart);
      main.sigmask = t.sigmask;
      main.affinity = t.affinity;
      main.pending = t.pending;
      main.cpuNs = t.cpuNs;
      this.threads.set(this.pid, main);
    }
    main.status = 'runnable';
    main.wait = null;
    main.savedMask = null;
    main.altstack = { sp: 0n, size: 0n, flags: 2 };
    main.clearChildTid = 0n;
    main.robustList = 0n;
    const old = this.as;
    this.usage.dead.minflt += old.minorFaults;
    this.as = as;
    old.onShrink = () => {};
    old.destroy();
    this.futex = new FutexTable();
    this.pollDeadlines.clear();
    this.config.exePath = exePath;
    this.config.strace?.setAddressSpace(as);
    this.threadNames.clear();
    this.execed = true;
    for (let sig = 1; sig < this.actions.actions.length; sig++) {
      const a = this.actions.get(sig);
      this.actions.set(sig, { handler: a.handler === SIG_IGN ? SIG_IGN : SIG_DFL, flags: 0, mask: 0n });
    }
    for (const fd of this.fds.fds()) if (this.fds.getCloexec(fd)) this.fds.close(fd);
    const h = main.hart;
    this.retiredInstructions += h.instret;
    h.reset();
    this.core.flushTlb(h);
    this.wakeRetriers(); // close-on-exec may have closed pipe ends
    this.kernel.releaseVfork(this);
    return main;
  }

  /** Instructions retired by all threads so far. */
  instructions(): bigint {
    let n = this.retiredInstructions;
    for (const t of this.threads.values()) n += t.hart.instret;
    return n;
  }

  /** ss_flags as sigaltstack reports them for `t`. */
  altstackFlags(t: Thread): number {
    return altstackFlags(t.altstack, t.hart.x(2));
  }

  save(): object {
    return {
      pid: this.pid,
      exitStatus: this.exitStatus,
      umask: this.umask,
      as: this.as.save(),
      fds: this.fds.save(),
      actions: this.actions.save(),
      futex: this.futex.save(),
      pending: this.pending.map((p) => ({ ...p, addr: p.addr?.toString(), value: p.value?.toString() })),
      threads: [...this.threads.values()].map((t) => t.save()),
    };
  }
}
