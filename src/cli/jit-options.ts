// --jit on|off and --jit-threshold N of `rvisor run` and `rvisor exec`: their values as USAGE
// errors when bad, and the JIT configuration they (or the environment, src/jit/config.ts) select.
import { RvisorError } from '../errors.js';
import { jitConfig, parseJitMode, parseJitThreshold } from '../jit/config.js';
import type { JitConfig } from '../jit/jit.js';

/** The value of --jit (undefined: it was the last argument), as a USAGE error when bad. */
export function jitOption(v: string | undefined, prefix = ''): boolean {
  if (v === undefined || v === '') throw new RvisorError('USAGE', `${prefix}--jit needs a value: on or off`);
  try {
    return parseJitMode(v);
  } catch (e) {
    throw new RvisorError('USAGE', prefix + (e as Error).message);
  }
}

/** The value of --jit-threshold, as a USAGE error when bad. */
export function jitThresholdOption(v: string | undefined, prefix = ''): number {
  if (v === undefined || v === '') throw new RvisorError('USAGE', `${prefix}--jit-threshold needs a value: a whole number from 1`);
  try {
    return parseJitThreshold(v);
  } catch (e) {
    throw new RvisorError('USAGE', prefix + (e as Error).message);
  }
}

/** The JIT configuration of the options (the environment's where they say nothing). A bad
 *  RVISOR_JIT or RVISOR_JIT_THRESHOLD is a USAGE error naming the variable. */
export function jitConfigOf(o: { jit?: boolean; jitThreshold?: number }): JitConfig {
  try {
    return jitConfig(o.jit, o.jitThreshold);
  } catch (e) {
    const m = (e as Error).message.replace(/^--jit-threshold/, 'RVISOR_JIT_THRESHOLD').replace(/^--jit/, 'RVISOR_JIT');
    throw new RvisorError('USAGE', `${m} (in the environment)`);
  }
}
