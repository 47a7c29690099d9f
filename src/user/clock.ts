// The guest's clocks, read from the host: CLOCK_MONOTONIC is the host's monotonic clock (Node's
// hrtime is CLOCK_MONOTONIC on Linux), CLOCK_REALTIME is that plus the wall-clock offset taken
// once at start-up (so the two never disagree about elapsed time), and rdtime ticks at 10 MHz
// (the timebase-frequency of QEMU's virt board) from the monotonic clock.

const realtimeOffset: bigint = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export const NS_PER_SEC = 1_000_000_000n;
export const TIMEBASE_HZ = 10_000_000n;

export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

export function realtimeNs(): bigint {
  return process.hrtime.bigint() + realtimeOffset;
}

/** The value rdtime should return now. */
export function rdtimeTicks(): bigint {
  return process.hrtime.bigint() / (NS_PER_SEC / TIMEBASE_HZ);
}

/** Converts a realtime deadline to the monotonic clock. */
export function realtimeToMonotonic(ns: bigint): bigint {
  return ns - realtimeOffset;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the host thread for `ns` nanoseconds (a synchronous sleep: the guest has nothing to
 *  run until then). */
export function hostSleep(ns: bigint): void {
  if (ns <= 0n) return;
  const ms = Number(ns) / 1e6;
  Atomics.wait(sleeper, 0, 0, Math.max(ms, 0.001));
}
