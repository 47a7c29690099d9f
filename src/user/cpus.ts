// The CPUs the process VM shows its guest. rvisor runs every guest thread on one host thread,
// time-sliced, so by default the guest sees one CPU; `rvisor exec --cpus N` (or RVISOR_CPUS)
// shows an N-CPU machine whose CPUs share that host thread, as an overloaded N-CPU Linux
// interleaves its threads (qemu-user shows the host's CPUs). sched_getaffinity, /proc/cpuinfo,
// /proc/stat and getcpu agree with the count; sched_setaffinity keeps a mask per thread
// (inherited by clone and fork, as Linux's cpus_mask).
import { RvisorError } from '../errors.js';

/** Most CPUs `--cpus` accepts (one 64-bit cpumask word). */
export const MAX_CPUS = 64;

export const cpuConfig = { count: 1 };

/** The mask of every CPU shown (bit i = CPU i). */
export function onlineMask(): bigint {
  return (1n << BigInt(cpuConfig.count)) - 1n;
}

/** Parses a `--cpus` / RVISOR_CPUS value. */
export function cpusOption(v: string | undefined, prefix = ''): number {
  const n = v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CPUS) {
    throw new RvisorError('USAGE', `${prefix}--cpus needs a number of CPUs from 1 to ${MAX_CPUS}, not "${v ?? ''}"`);
  }
  return n;
}
