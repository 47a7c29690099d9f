// Where things go in a guest process's virtual address space. User space is the lower 2^38
// bytes, like Linux on RISC-V with Sv39 (TASK_SIZE = 0x40_0000_0000), so a process VM address
// space could later be run under a real Sv39 page table unchanged.

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** One past the highest user address (Sv39: 256 GiB). */
export const TASK_SIZE = 2 ** 38;
/** The lowest address mmap may use (Linux's default vm.mmap_min_addr). */
export const MMAP_MIN_ADDR = 0x10000;
/** Where a position-independent executable with an interpreter is placed: Linux's
 *  ELF_ET_DYN_BASE = TASK_SIZE / 3 * 2, page aligned (no randomization). */
export const ELF_ET_DYN_BASE = Math.floor(TASK_SIZE / 3 * 2 / PAGE_SIZE) * PAGE_SIZE;
/** The initial stack: 8 MiB ending one page below TASK_SIZE (the page above is a hole, so a
 *  stack underflow faults). Not grown on demand. */
export const STACK_TOP = TASK_SIZE - PAGE_SIZE;
export const STACK_SIZE = 8 * 1048576;
/** The page holding the signal return trampoline (Linux uses the vDSO's __vdso_rt_sigreturn). */
export const SIGTRAMP_PAGE = STACK_TOP - STACK_SIZE - 16 * PAGE_SIZE;
/** mmap without a usable hint allocates top-down below this address (Linux leaves a gap of at
 *  least 128 MiB below the stack for it to grow into). */
export const MMAP_BASE = STACK_TOP - STACK_SIZE - 128 * 1048576;

export const pageDown = (a: number): number => Math.floor(a / PAGE_SIZE) * PAGE_SIZE;
export const pageUp = (a: number): number => Math.ceil(a / PAGE_SIZE) * PAGE_SIZE;
