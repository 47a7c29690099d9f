// Time system calls: clock_gettime/getres, gettimeofday, nanosleep, clock_nanosleep, times,
// getitimer/setitimer (ITIMER_REAL → SIGALRM; ITIMER_VIRTUAL/PROF count guest CPU time, usage.ts).
import { NS_PER_SEC, monotonicNs, realtimeNs, realtimeToMonotonic } from '../clock.js';
import { ERRNO } from '../errno.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { processCpuNs, processUsage, type CpuTimer } from '../usage.js';
import { BLOCKED, int, type SyscallDef, type SysResult } from './abi.js';

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;


/** The value of clock `clk` for thread `t` in nanoseconds, or null for an invalid clock. */
export function clockNs(p: Process, t: Thread, clk: number): bigint | null {
  if (clk < 0) {
    // CPU-time clocks of a pid or tid (clock_getcpuclockid): bit 2 set for a thread.
    return clk & 4 ? threadCpuNs(p, t) : processCpuNs(p);
  }
  switch (clk) {
    case 0: case 5: case 8: case 11:
      return realtimeNs();
    case 1: case 4: case 6: case 7: case 9:
      return monotonicNs();
    case CLOCK_PROCESS_CPUTIME_ID:
      return processCpuNs(p);
    case CLOCK_THREAD_CPUTIME_ID:
      return threadCpuNs(p, t);
    default:
      return null;
  }
}

function threadCpuNs(p: Process, t: Thread): bigint {
  return t.cpuNs + (p.current === t && p.sliceStartNs > 0n ? monotonicNs() - p.sliceStartNs : 0n);
}

export function encodeTimespec(ns: bigint): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, ns / NS_PER_SEC, true);
  v.setBigInt64(8, ns % NS_PER_SEC, true);
  return b;
}

/** Reads a struct timespec: nanoseconds, or -EFAULT / -EINVAL. */
export function readTimespec(p: Process, ptr: bigint): bigint | number {
  const b = p.as.read(ptr, 16);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer);
  const s = v.getBigInt64(0, true);
  const ns = v.getBigInt64(8, true);
  if (s < 0n || ns < 0n || ns >= NS_PER_SEC) return -ERRNO.EINVAL;
  return s * NS_PER_SEC + ns;
}

const sysClockGettime = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const ns = clockNs(p, t, int(a[0]));
  if (ns === null) return -ERRNO.EINVAL;
  return p.as.write(a[1]!, encodeTimespec(ns)) ? 0 : -ERRNO.EFAULT;
};

const sysClockGetres = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const clk = int(a[0]);
  if (clk >= 0 && (clk > 11 || clk === 10)) return -ERRNO.EINVAL;
  if (a[1] === 0n) return 0;
  const res = clk === 5 || clk === 6 ? 4_000_000n : 1n;
  return p.as.write(a[1]!, encodeTimespec(res)) ? 0 : -ERRNO.EFAULT;
};

const sysGettimeofday = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  if (a[0] !== 0n) {
    const ns = realtimeNs();
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setBigInt64(0, ns / NS_PER_SEC, true);
    v.setBigInt64(8, (ns % NS_PER_SEC) / 1000n, true);
    if (!p.as.write(a[0]!, b)) return -ERRNO.EFAULT;
  }
  if (a[1] !== 0n && !p.as.write(a[1]!, new Uint8Array(8))) return -ERRNO.EFAULT;
  return 0;
};

function sleepUntil(p: Process, t: Thread, deadline: bigint, rem: bigint): SysResult {
  if (deadline <= monotonicNs()) {
    p.yieldRequested = true;
    return 0;
  }
  p.block(t, { kind: 'sleep', deadline, rem });
  return BLOCKED;
}

const sysNanosleep = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const ns = readTimespec(p, a[0]!);
  if (typeof ns === 'number') return ns;
  return sleepUntil(p, t, monotonicNs() + ns, a[1]!);
};

const TIMER_ABSTIME = 1;

const sysClockNanosleep = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const clk = int(a[0]);
  const flags = int(a[1]);
  if (clk === CLOCK_THREAD_CPUTIME_ID || (clk < 0 && clk & 4)) return -ERRNO.EINVAL;
  if (clockNs(p, t, clk) === null) return -ERRNO.EINVAL;
  const ns = readTimespec(p, a[2]!);
  if (typeof ns === 'number') return ns;
  if (flags & TIMER_ABSTIME) {
    const realtime = clk === 0 || clk === 5 || clk === 8 || clk === 11;
    const deadline = realtime ? realtimeToMonotonic(ns) : clk === CLOCK_PROCESS_CPUTIME_ID ? monotonicNs() + (ns - processCpuNs(p)) : ns;
    return sleepUntil(p, t, deadline, 0n);
  }
  return sleepUntil(p, t, monotonicNs() + ns, a[3]!);
};

const sysTimes = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const ticks = (ns: bigint): bigint => ns / 10_000_000n;
  if (a[0] !== 0n) {
    // Guest CPU time (usage.ts): the process's own and that of its waited-for children.
    const u = processUsage(p);
    const c = p.usage.children;
    const b = new Uint8Array(32);
    const v = new DataView(b.buffer);
    v.setBigInt64(0, ticks(u.userNs), true);
    v.setBigInt64(8, ticks(u.sysNs), true);
    v.setBigInt64(16, ticks(c.userNs), true);
    v.setBigInt64(24, ticks(c.sysNs), true);
    if (!p.as.write(a[0]!, b)) return -ERRNO.EFAULT;
  }
  return monotonicNs() / 10_000_000n;
};

const ITIMER_REAL = 0;

function encodeItimerval(intervalNs: bigint, valueNs: bigint): Uint8Array {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, intervalNs / NS_PER_SEC, true);
  v.setBigInt64(8, (intervalNs % NS_PER_SEC) / 1000n, true);
  v.setBigInt64(16, valueNs / NS_PER_SEC, true);
  v.setBigInt64(24, (valueNs % NS_PER_SEC) / 1000n, true);
  return b;
}

function currentItimer(p: Process): Uint8Array {
  const left = p.alarm ? p.alarm.deadline - monotonicNs() : 0n;
  return encodeItimerval(p.alarm?.interval ?? 0n, left > 0n ? left : p.alarm ? 1000n : 0n);
}

/** ITIMER_VIRTUAL (1) and ITIMER_PROF (2) count process CPU time (usage.ts). */
function cpuItimer(p: Process, which: number): Uint8Array {
  const tm: CpuTimer | null = which === 1 ? p.usage.virtual : p.usage.prof;
  return encodeItimerval(tm?.interval ?? 0n, tm ? (tm.left > 0n ? tm.left : 1000n) : 0n);
}

const sysGetitimer = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const which = int(a[0]);
  if (which < 0 || which > 2) return -ERRNO.EINVAL;
  const b = which === ITIMER_REAL ? currentItimer(p) : cpuItimer(p, which);
  return p.as.write(a[1]!, b) ? 0 : -ERRNO.EFAULT;
};

const sysSetitimer = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const which = int(a[0]);
  if (which < 0 || which > 2) return -ERRNO.EINVAL;
  let interval = 0n;
  let value = 0n;
  if (a[1] !== 0n) {
    const b = p.as.read(a[1]!, 32);
    if (!b) return -ERRNO.EFAULT;
    const v = new DataView(b.buffer);
    const usec = (o: number): bigint | null => {
      const s = v.getBigInt64(o, true);
      const u = v.getBigInt64(o + 8, true);
      return s < 0n || u < 0n || u >= 1_000_000n ? null : s * NS_PER_SEC + u * 1000n;
    };
    const i = usec(0);
    const val = usec(16);
    if (i === null || val === null) return -ERRNO.EINVAL;
    interval = i;
    value = val;
  }
  if (which !== ITIMER_REAL) {
    const old = cpuItimer(p, which);
    const timer = value > 0n ? { left: value, interval } : null;
    if (which === 1) p.usage.virtual = timer;
    else p.usage.prof = timer;
    return a[2] !== 0n && !p.as.write(a[2]!, old) ? -ERRNO.EFAULT : 0;
  }
  const old = currentItimer(p);
  p.alarm = value > 0n ? { deadline: monotonicNs() + value, interval } : null;
  if (a[2] !== 0n && !p.as.write(a[2]!, old)) return -ERRNO.EFAULT;
  return 0;
};

export const TIME_SYSCALLS: Record<number, SyscallDef> = {
  101: { name: 'nanosleep', args: 'pp', fn: sysNanosleep },
  102: { name: 'getitimer', args: 'dp', fn: sysGetitimer },
  103: { name: 'setitimer', args: 'dpp', fn: sysSetitimer },
  113: { name: 'clock_gettime', args: 'dp', fn: sysClockGettime },
  114: { name: 'clock_getres', args: 'dp', fn: sysClockGetres },
  115: { name: 'clock_nanosleep', args: 'dxpp', fn: sysClockNanosleep },
  153: { name: 'times', args: 'p', fn: sysTimes },
  169: { name: 'gettimeofday', args: 'pp', fn: sysGettimeofday },
};
