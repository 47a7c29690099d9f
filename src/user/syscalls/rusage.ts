// getrusage(2) over the usage rvisor measures for guest processes and threads (usage.ts).
import { ERRNO } from '../errno.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { encodeRusage, processUsage, threadUsageOf } from '../usage.js';
import { int, type SyscallDef, type SysResult } from './abi.js';

const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;
const RUSAGE_THREAD = 1;

const sysGetrusage = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const who = int(a[0]);
  let u;
  if (who === RUSAGE_SELF) u = processUsage(p);
  else if (who === RUSAGE_CHILDREN) u = p.usage.children;
  else if (who === RUSAGE_THREAD) u = threadUsageOf(p, t);
  else return -ERRNO.EINVAL;
  return p.as.write(a[1]!, encodeRusage(u)) ? 0 : -ERRNO.EFAULT;
};

export const USAGE_SYSCALLS: Record<number, SyscallDef> = {
  165: { name: 'getrusage', args: 'dp', fn: sysGetrusage },
};
