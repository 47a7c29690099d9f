// The guest processes of one process VM run: the process `rvisor exec` started (the first) and
// every process forked from it. They share one HostMemory and one emulated CPU (the scheduler
// time-shares it between all their threads). This file keeps what is kernel-wide: pid
// allocation, the process table with parent links and zombies, and what a process's end sets
// off (its harts, memory and files are released, its children are reparented to a virtual init
// that reaps them, its parent gets SIGCHLD and a zombie to wait for).
//
// Ids: the first process has rvisor's own host pid (as before); every later thread and process
// gets the next id above it that no thread or process of the run and no live host process or
// thread has, so pids and tids never collide inside the run, nor with the host processes the
// guest sees in /proc (procfs.ts) and reaches with kill (a later host process may still take a
// guest's number: the guest's process is what the guest then sees under it). Orphans are
// reparented to a virtual init (getppid returns 1) and reaped as soon as they end.
import { existsSync } from 'node:fs';
import type { Core } from '../cpu/core.js';
import type { HostMemory } from '../memory/host-memory.js';
import { FutexTable } from './futex.js';
import { processEnded } from './job-control.js';
import type { Process } from './process.js';
import { SA_NOCLDWAIT, SIGCHLD, SIG_IGN } from './signals.js';
import type { Thread } from './thread.js';
import { noteProcessEnd } from './usage.js';
import { releaseCwd } from './workdir.js';

const SI_USER = 0;

/** si_code of SIGCHLD and waitid. */
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;

/** The pid getppid reports for an orphan (its parent is the virtual init). */
export const INIT_PID = 1;

export class Kernel {
  /** Every process that has not been reaped yet (running, exiting, or a zombie), by pid, in the
   *  order they were created. */
  readonly processes = new Map<number, Process>();
  /** The first process: its exit ends the run (and kills the others). */
  init: Process | undefined;
  private nextId: number;
  /** Waiters on futexes in MAP_SHARED memory, keyed by host offset (shared-futex.ts). */
  readonly sharedFutex = new FutexTable();
  /** The host working directory as last set for a process (the scheduler switches it). */
  hostCwd = '';

  constructor(readonly core: Core, readonly mem: HostMemory, firstPid: number) {
    this.nextId = firstPid + 1;
  }

  add(p: Process): void {
    this.processes.set(p.pid, p);
    this.init ??= p;
  }

  /** A new thread or process id, unused by any process or thread of the run and by any live
   *  host process or thread (the guest sees those in /proc and reaches them with kill). */
  allocId(): number {
    for (;;) {
      const id = this.nextId++;
      if (this.nextId > 0x3fffffff) this.nextId = 2;
      if (!this.processes.has(id) && !this.findThread(id) && !existsSync(`/proc/${id}`)) return id;
    }
  }

  /** The processes whose threads may still run (not ended). */
  running(): Process[] {
    const out: Process[] = [];
    for (const q of this.processes.values()) if (q.exitStatus === null) out.push(q);
    return out;
  }

  /** The process with this pid unless it is gone or a zombie. */
  live(pid: number): Process | undefined {
    const q = this.processes.get(pid);
    return q && !q.finished ? q : undefined;
  }

  children(p: Process): Process[] {
    const out: Process[] = [];
    for (const q of this.processes.values()) if (q.parent === p) out.push(q);
    return out;
  }

  /** The thread with id `tid` in any running process. */
  findThread(tid: number): [Process, Thread] | undefined {
    for (const q of this.processes.values()) {
      const t = q.threads.get(tid);
      if (t) return [q, t];
    }
    return undefined;
  }

  /** Wakes every thread, in every process, that waits to retry a system call (a pipe, a child,
   *  something it may wait for, changed). */
  wakeRetriers(): void {
    for (const q of this.processes.values()) if (q.exitStatus === null) q.wakeLocalRetriers();
  }

  /** Lets a parent blocked in vfork go on (its child `c` exec'ed or ended). */
  releaseVfork(c: Process): void {
    const v = c.vforkParent;
    if (!v) return;
    c.vforkParent = null;
    const par = this.processes.get(v.pid);
    const t = par?.threads.get(v.tid);
    if (par && t && t.wait?.kind === 'vfork' && t.wait.child === c.pid) par.endWait(t, 'woken');
  }

  /** Completes the end of every process that has exited since the last call (except the first
   *  process, whose end the scheduler handles). */
  finishExited(): void {
    for (const q of [...this.processes.values()]) {
      if (q.exitStatus !== null && !q.finished && q !== this.init) this.finish(q);
    }
  }

  /** The end of process q: threads and memory released, files closed (pipe ends seen as closed
   *  by readers and writers), children reparented, the parent told (SIGCHLD, a zombie to wait
   *  for, unless it ignores SIGCHLD). */
  finish(q: Process): void {
    if (q.finished) return;
    q.finished = true;
    if (q.exitStatus === null) q.exitStatus = 0;
    q.releaseThreads();
    q.alarm = null;
    q.fds.closeAll();
    releaseCwd(q);
    noteProcessEnd(q);
    q.as.destroy();
    this.releaseVfork(q);
    const reaper = this.subreaperFor(q);
    const children = this.children(q);
    for (const c of children) {
      c.parent = reaper ?? null;
      c.ppid = reaper?.pid ?? INIT_PID;
      if (c.finished && !reaper) this.processes.delete(c.pid);
      else if (c.finished && reaper) reaper.sendToProcess({ signo: SIGCHLD, code: c.killedBy ? CLD_KILLED : CLD_EXITED, pid: c.pid, uid: c.uid, status: c.killedBy || (c.exitStatus ?? 0) });
      else if (c.prctl.pdeathsig) c.sendToProcess({ signo: c.prctl.pdeathsig, code: SI_USER, pid: q.pid, uid: q.uid });
    }
    const par = q.parent;
    if (par && !par.finished && par.exitStatus === null) {
      const act = par.actions.get(SIGCHLD);
      const autoReap = act.handler === SIG_IGN || (act.flags & SA_NOCLDWAIT) !== 0;
      if (autoReap) this.processes.delete(q.pid);
      if (q.exitSignal > 0) {
        par.sendToProcess({
          signo: q.exitSignal, code: q.killedBy ? CLD_KILLED : CLD_EXITED, pid: q.pid, uid: q.uid,
          status: q.killedBy || q.exitStatus,
        });
      }
    } else {
      q.parent = null;
      this.processes.delete(q.pid);
    }
    processEnded(this, q, children);
    this.wakeRetriers();
  }

  /** The closest living ancestor of q that is a child subreaper (prctl
   *  PR_SET_CHILD_SUBREAPER): it adopts q's orphans instead of init. */
  private subreaperFor(q: Process): Process | undefined {
    for (let a = q.parent; a; a = a.parent) {
      if (a.prctl.childSubreaper && !a.finished && a.exitStatus === null) return a;
    }
    return undefined;
  }

  /** Removes a zombie once its parent has waited for it. */
  reap(q: Process): void {
    this.processes.delete(q.pid);
  }

  /** The first process ended: every other process is killed (SIGKILL) and finished. */
  shutdown(): void {
    for (const q of [...this.processes.values()]) {
      if (q === this.init || q.finished) continue;
      if (q.exitStatus === null) q.kill(9);
      this.finish(q);
    }
  }
}
