// What a system call handler is: a function of the process, the calling thread and the six
// argument registers (a0..a5, unsigned 64-bit). It returns the value for a0 (a negative number
// is -errno), or BLOCKED after putting the thread to sleep (Process.block), or NO_RETURN when it
// has set the registers itself (rt_sigreturn, exit).
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';

export const BLOCKED = Symbol('blocked');
export const NO_RETURN = Symbol('no-return');
export type SysResult = number | bigint | typeof BLOCKED | typeof NO_RETURN;
export type Handler = (p: Process, t: Thread, a: bigint[]) => SysResult;

/** One row of the system call table. `args` says how --strace prints each argument:
 *  d signed int, u unsigned, x hex, p pointer, s C string, o octal, f dirfd (AT_FDCWD). */
export interface SyscallDef {
  name: string;
  args: string;
  fn: Handler;
}

/** The low 32 bits as a signed int (C `int` arguments). */
export const int = (v: bigint | undefined): number => Number(BigInt.asIntN(32, v ?? 0n));
/** The low 32 bits, unsigned. */
export const u32 = (v: bigint | undefined): number => Number(BigInt.asUintN(32, v ?? 0n));
/** A signed 64-bit argument (off_t, long) as a number (exact below 2^53). */
export const long = (v: bigint | undefined): number => Number(BigInt.asIntN(64, v ?? 0n));
/** A size_t argument: values too big to be real sizes become Infinity. */
export const size = (v: bigint | undefined): number => ((v ?? 0n) > 2n ** 53n ? Infinity : Number(v ?? 0n));

export const AT_FDCWD = -100;
