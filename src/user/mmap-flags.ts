// The guest's mmap/mprotect/mremap/madvise flag values (asm-generic/mman-common.h, mman.h) and
// the kinds of access a translation is asked for.
import { TASK_SIZE } from './layout.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const PROT_MASK = 7;

export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXEC = 2;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_FIXED_NOREPLACE = 0x100000;

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;

export const MADV_DONTNEED = 4;

/** A guest pointer as a number, or -1 when it cannot be a user address. */
export function userAddr(v: bigint | number): number {
  if (typeof v === 'number') return v >= 0 && v < TASK_SIZE && Number.isInteger(v) ? v : -1;
  return v >= 0n && v < BigInt(TASK_SIZE) ? Number(v) : -1;
}
