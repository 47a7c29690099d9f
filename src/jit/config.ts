// The JIT's configuration when nobody names one: RVISOR_JIT=on|off and RVISOR_JIT_THRESHOLD=N in
// the environment (CI runs the test suites with RVISOR_JIT=on RVISOR_JIT_THRESHOLD=1, every page
// compiled at once, and with RVISOR_JIT=off), else the default. The CLI's --jit and
// --jit-threshold, and a VM definition's jit, override it. RVISOR_JIT_BUDGET=initial,ratio[,density]
// sets the compile budget and the density condition (jit.ts; for measurements).
import { DEFAULT_JIT_THRESHOLD, DEFAULT_BUDGET, type JitConfig } from './jit.js';
export type { JitConfig };

/** Whether the JIT is on when nothing says otherwise: on since it is faster everywhere measured
 *  (docs/performance.md "Session 14": user-mode programs 1.9-4.7x, CPU-bound programs in the
 *  guest 1.3-4.9x, a boot as fast as the interpreter, compiling nothing; short programs compile nothing). */
export const JIT_DEFAULT_ON = true;

/** Parses --jit / a definition's value: 'on' or 'off'. */
export function parseJitMode(v: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new RangeError(`--jit must be "on" or "off", not "${v}"`);
}

/** Parses --jit-threshold: a positive integer (instructions run on a page before it is compiled). */
export function parseJitThreshold(v: string | number): number {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) {
    throw new RangeError(`--jit-threshold must be a whole number from 1 to ${0x7fffffff}, not "${v}"`);
  }
  return n;
}

/** The configuration from mode and threshold (each undefined: the environment's, else the
 *  default), for a process VM (`rvisor exec`) and a system VM (a board) alike. */
export function jitConfig(mode?: boolean, threshold?: number): JitConfig {
  const env = typeof process === 'object' ? process.env : {};
  const on = mode ?? (env.RVISOR_JIT !== undefined ? parseJitMode(env.RVISOR_JIT) : JIT_DEFAULT_ON);
  const th = threshold ?? (env.RVISOR_JIT_THRESHOLD !== undefined ? parseJitThreshold(env.RVISOR_JIT_THRESHOLD) : DEFAULT_JIT_THRESHOLD);
  const b = env.RVISOR_JIT_BUDGET?.match(/^(\d+),(\d+)(?:,(\d+))?$/);
  if (b) return { threshold: on ? th : 0, budget: { initial: Number(b[1]), ratio: Number(b[2]) }, density: Number(b[3] ?? 64) };
  return { threshold: on ? th : 0, budget: DEFAULT_BUDGET };
}
