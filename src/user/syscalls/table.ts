// The system call table: riscv64 system call number (asm-generic/unistd.h) → handler. Anything
// not listed fails with ENOSYS.
import type { SyscallDef } from './abi.js';
import { CHILD_SYSCALLS } from './children.js';
import { FDKIND_SYSCALLS } from './fdkinds.js';
import { FILE_SYSCALLS } from './files.js';
import { FILECALL_SYSCALLS } from './filecalls.js';
import { FILETIME_SYSCALLS } from './filetimes.js';
import { INOTIFY_SYSCALLS } from './inotify.js';
import { IO_SYSCALLS } from './io.js';
import { LOCK_SYSCALLS } from './locking.js';
import { MEMORY_SYSCALLS } from './memory.js';
import { MOUNT_SYSCALLS } from './mount.js';
import { OPENAT2_SYSCALLS } from './openat2.js';
import { NET_SYSCALLS } from './net.js';
import { POLL_SYSCALLS } from './poll.js';
import { PROC_SYSCALLS } from './proc.js';
import { SIGNAL_SYSCALLS } from './signal.js';
import { SPLICE_SYSCALLS } from './splice.js';
import { THREAD_SYSCALLS } from './threads.js';
import { TIME_SYSCALLS } from './time.js';

function build(): Map<number, SyscallDef> {
  const t = new Map<number, SyscallDef>();
  for (const family of [CHILD_SYSCALLS, FDKIND_SYSCALLS, INOTIFY_SYSCALLS, IO_SYSCALLS, LOCK_SYSCALLS, FILE_SYSCALLS, FILETIME_SYSCALLS, FILECALL_SYSCALLS, SPLICE_SYSCALLS, OPENAT2_SYSCALLS, MEMORY_SYSCALLS, MOUNT_SYSCALLS, NET_SYSCALLS, POLL_SYSCALLS, PROC_SYSCALLS, SIGNAL_SYSCALLS, THREAD_SYSCALLS, TIME_SYSCALLS]) {
    for (const [nr, def] of Object.entries(family)) {
      const n = Number(nr);
      if (t.has(n)) throw new Error(`system call ${n} defined twice (${t.get(n)!.name}, ${def.name})`);
      t.set(n, def);
    }
  }
  return t;
}

export const SYSCALLS: ReadonlyMap<number, SyscallDef> = build();

/** Names of well-known calls that are deliberately left unimplemented (for --strace). */
export const UNIMPLEMENTED_NAMES: Record<number, string> = {
  107: 'timer_create', 425: 'io_uring_setup',
};
