// Resource usage of guest processes and threads, and the CPU-time interval timers.
//
// CPU time is measured, not derived from instruction counts: the scheduler charges each thread
// the host monotonic time its slices took (Thread.cpuNs) and, separately, the time spent inside
// system call handlers (system time); user time is the difference. A process's usage is that
// of its threads, live and ended; RUSAGE_CHILDREN adds the totals of the children it has waited
// for (with their own waited-for descendants), as Linux does. Context switches: a slice that
// ends with the thread blocked counts as voluntary, one that used its whole budget (or was
// preempted by another thread's wakeup) as involuntary. maxrss is the largest resident set (pages
// with a frame in the process's address space) seen when usage was asked for or the process
// ended. minflt counts the pages of the process's address spaces that got a frame on first touch
// or were copied on write (per process: RUSAGE_THREAD reports 0); majflt is always 0.
//
// ITIMER_VIRTUAL counts down with the process's user time, ITIMER_PROF with user + system time;
// they are charged at the end of every slice, so they fire with slice granularity (SLICE
// instructions) and deliver SIGVTALRM / SIGPROF to the process. fork does not copy them; execve
// keeps them (they live on the process).
import { monotonicNs } from './clock.js';
import type { Process } from './process.js';
import type { Thread } from './thread.js';

export const SIGVTALRM = 26;
export const SIGPROF = 27;
const SI_KERNEL = 0x80;

export interface CpuTimer {
  /** Time left until it fires (ns of CPU time). */
  left: bigint;
  interval: bigint;
}

/** Per-thread counters the scheduler keeps besides Thread.cpuNs. */
interface ThreadUsage {
  sysNs: bigint;
  nvcsw: number;
  nivcsw: number;
}

const threadUsage = new WeakMap<Thread, ThreadUsage>();

function tu(t: Thread): ThreadUsage {
  let u = threadUsage.get(t);
  if (!u) threadUsage.set(t, (u = { sysNs: 0n, nvcsw: 0, nivcsw: 0 }));
  return u;
}

/** What getrusage reports (times in ns, maxrss in KiB). */
export interface Usage {
  userNs: bigint;
  sysNs: bigint;
  maxrssKb: number;
  minflt: number;
  majflt: number;
  nvcsw: number;
  nivcsw: number;
}

const zero = (): Usage => ({ userNs: 0n, sysNs: 0n, maxrssKb: 0, minflt: 0, majflt: 0, nvcsw: 0, nivcsw: 0 });

function add(a: Usage, b: Usage): void {
  a.userNs += b.userNs;
  a.sysNs += b.sysNs;
  a.minflt += b.minflt;
  a.majflt += b.majflt;
  a.nvcsw += b.nvcsw;
  a.nivcsw += b.nivcsw;
  a.maxrssKb = Math.max(a.maxrssKb, b.maxrssKb);
}

/** The usage state of one process (Process.usage). */
export class ProcUsage {
  /** Monotonic time the process was created (/proc/PID/stat starttime). */
  readonly startNs = monotonicNs();
  /** Threads that have ended. */
  readonly dead: Usage = zero();
  /** Waited-for children. */
  readonly children: Usage = zero();
  /** Largest resident set seen, KiB. */
  maxrssKb = 0;
  virtual: CpuTimer | null = null;
  prof: CpuTimer | null = null;
}

/** Adds the time a system call handler took to the thread's system time. */
export function chargeSyscall(t: Thread, ns: bigint): void {
  tu(t).sysNs += ns;
}

/** The CPU time of `t` so far, including the slice it is running now. */
function liveCpuNs(p: Process, t: Thread): bigint {
  return t.cpuNs + (p.current === t && p.sliceStartNs > 0n ? monotonicNs() - p.sliceStartNs : 0n);
}

/** Usage of one thread (RUSAGE_THREAD). */
export function threadUsageOf(p: Process, t: Thread): Usage {
  const u = tu(t);
  const cpu = liveCpuNs(p, t);
  const sys = u.sysNs < cpu ? u.sysNs : cpu;
  return { userNs: cpu - sys, sysNs: sys, maxrssKb: maxRss(p), minflt: 0, majflt: 0, nvcsw: u.nvcsw, nivcsw: u.nivcsw };
}

/** Resident set of the process now, in KiB (pages of its address space that have a frame). */
export function rssPages(p: Process): number {
  if (p.finished) return 0;
  return p.as.pages.size;
}

function maxRss(p: Process): number {
  const kb = rssPages(p) * 4;
  if (kb > p.usage.maxrssKb) p.usage.maxrssKb = kb;
  return p.usage.maxrssKb;
}

/** Usage of the whole process (RUSAGE_SELF). */
export function processUsage(p: Process): Usage {
  const u = zero();
  add(u, p.usage.dead);
  for (const t of p.threads.values()) add(u, threadUsageOf(p, t));
  if (!p.finished) u.minflt += p.as.minorFaults;
  u.maxrssKb = maxRss(p);
  return u;
}

/** CPU time of the process (user + system), ns. */
export function processCpuNs(p: Process): bigint {
  const u = processUsage(p);
  return u.userNs + u.sysNs;
}

/** A thread of `p` ends: its usage moves to the process's account of ended threads. */
export function noteThreadEnd(p: Process, t: Thread): void {
  const u = threadUsageOf(p, t);
  u.maxrssKb = 0;
  add(p.usage.dead, u);
}

/** The process is ending (its memory about to be released): remember its peak RSS. */
export function noteProcessEnd(p: Process): void {
  maxRss(p);
  p.usage.dead.minflt += p.as.minorFaults;
}

/** What wait4/waitid report for the ended child `c`: its own usage and its waited-for
 *  children's (Linux's RUSAGE_BOTH). */
export function usageOfZombie(c: Process): Usage {
  const all = processUsage(c);
  all.maxrssKb = c.usage.maxrssKb;
  add(all, c.usage.children);
  return all;
}

/** A parent waited for child `c`: the child's totals join the parent's RUSAGE_CHILDREN. */
export function noteReaped(parent: Process, c: Process): void {
  add(parent.usage.children, usageOfZombie(c));
}

/** The end of a slice of `t` that took `ns` (already added to t.cpuNs): counts the context
 *  switch and runs the CPU-time timers down (user time: slice time minus the system time the
 *  slice added). */
export function chargeSlice(p: Process, t: Thread, ns: bigint, sysBefore: bigint): void {
  const u = tu(t);
  if (t.status === 'blocked') u.nvcsw++;
  else if (t.status === 'runnable') u.nivcsw++;
  let sys = u.sysNs - sysBefore;
  if (sys > ns) sys = ns;
  const user = ns - sys;
  const fire = (timer: CpuTimer | null, spent: bigint, signo: number): CpuTimer | null => {
    if (!timer) return null;
    timer.left -= spent;
    if (timer.left > 0n) return timer;
    p.sendToProcess({ signo, code: SI_KERNEL });
    if (timer.interval === 0n) return null;
    timer.left += timer.interval;
    if (timer.left <= 0n) timer.left = timer.interval;
    return timer;
  };
  p.usage.virtual = fire(p.usage.virtual, user, SIGVTALRM);
  p.usage.prof = fire(p.usage.prof, ns, SIGPROF);
}

/** System time of `t` so far (the scheduler reads it before a slice). */
export function sysNsOf(t: Thread): bigint {
  return tu(t).sysNs;
}

/** struct rusage (144 bytes) for `u`. */
export function encodeRusage(u: Usage): Uint8Array {
  const b = new Uint8Array(144);
  const v = new DataView(b.buffer);
  const tv = (o: number, ns: bigint): void => {
    v.setBigInt64(o, ns / 1_000_000_000n, true);
    v.setBigInt64(o + 8, (ns % 1_000_000_000n) / 1000n, true);
  };
  tv(0, u.userNs);
  tv(16, u.sysNs);
  v.setBigInt64(32, BigInt(u.maxrssKb), true);
  v.setBigInt64(64, BigInt(u.minflt), true);
  v.setBigInt64(72, BigInt(u.majflt), true);
  v.setBigInt64(128, BigInt(u.nvcsw), true);
  v.setBigInt64(136, BigInt(u.nivcsw), true);
  return b;
}
