// Memory system calls: brk, mmap, munmap, mprotect, mremap, madvise and the no-op locking calls.
import { memfdCheckMmap, memfdWriteSealed } from './fdkinds.js';
import { readSync } from 'node:fs';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_WRITE, userAddr } from '../address-space.js';
import { ERRNO, hostErrno } from '../errno.js';
import { O_ACCMODE, O_RDWR, O_WRONLY } from '../fd-table.js';
import { PAGE_SIZE, TASK_SIZE } from '../layout.js';
import { coherentHostIo } from '../page-cache.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, long, size, type SyscallDef, type SysResult } from './abi.js';

/** A length argument as a number, or -1 if it cannot fit the address space. */
function len(v: bigint | undefined): number {
  const n = size(v);
  return n > TASK_SIZE ? -1 : n;
}

/** An address argument that may legitimately lie anywhere (hints): clamp to "no hint". */
function hintAddr(v: bigint | undefined): number {
  const a = userAddr(v ?? 0n);
  return a < 0 ? 0 : a;
}

const sysBrk = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const want = userAddr(a[0]!);
  if (a[0] === 0n || want < 0) return p.as.brk;
  return p.as.setBrk(want);
};

const sysMmap = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const addr = a[0]!;
  const length = len(a[1]);
  const prot = int(a[2]);
  const flags = int(a[3]);
  const fd = int(a[4]);
  const off = long(a[5]);
  if (length <= 0) return length === 0 ? -ERRNO.EINVAL : -ERRNO.ENOMEM;
  if (off < 0 || off % PAGE_SIZE !== 0) return -ERRNO.EINVAL;
  const fixedAddr = userAddr(addr);
  if (flags & 0x100010 && fixedAddr < 0) return -ERRNO.ENOMEM;
  const where = flags & 0x100010 ? fixedAddr : hintAddr(addr);
  if (flags & MAP_ANONYMOUS) return p.as.mmap(where, length, prot, flags);
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  if (f.kind !== 'host' || f.isDir) return -ERRNO.ENODEV;
  const acc = f.flags & O_ACCMODE;
  if (acc === O_WRONLY) return -ERRNO.EACCES;
  if ((flags & 0x0f) !== MAP_PRIVATE && prot & PROT_WRITE && acc !== O_RDWR) return -ERRNO.EACCES;
  if (f.memfd) {
    const sealed = memfdCheckMmap(f, (flags & 0x0f) !== MAP_PRIVATE, (prot & PROT_WRITE) !== 0);
    if (sealed < 0) return sealed;
  }
  const shared = (flags & 0x0f) !== MAP_PRIVATE;
  // A shared mapping of a regular file: the pages are the file's page-cache frames
  // (page-cache.ts), loaded when first touched. Of a device (/dev/zero): shared memory that
  // starts with what the device reads as.
  const id = shared ? p.as.cache.attach(f.hostFd, (prot & PROT_WRITE) !== 0) : -ERRNO.ENODEV;
  if (id !== -ERRNO.ENODEV) {
    if (id < 0) return id;
    const r = p.as.mmap(where, length, prot, flags, { file: true, name: f.path, backing: { file: id, offset: off } });
    if (r < 0) p.as.cache.unrefVma(id);
    const vma = r >= 0 ? p.as.findVma(r) : undefined;
    if (vma) vma.offset = off; // for /proc/PID/maps
    return r;
  }
  // MAP_PRIVATE: the file's bytes (as the shared mappings of it have them) are copied in now.
  // (Linux leaves unspecified whether a private mapping sees later changes to the file.)
  const want = Math.min(length, 256 * 1048576);
  const buf = new Uint8Array(want);
  let got = 0;
  try {
    coherentHostIo(f.hostFd, false, () => {
      while (got < want) {
        const n = readSync(f.hostFd, buf, got, want - got, off + got);
        if (n === 0) break;
        got += n;
      }
    });
  } catch (e) {
    return hostErrno(e);
  }
  const r = p.as.mmap(where, length, prot, flags, { init: buf.subarray(0, got), file: true, name: f.path });
  const vma = r >= 0 ? p.as.findVma(r) : undefined;
  if (vma) vma.offset = off; // for /proc/PID/maps
  return r;
};

const sysMunmap = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const addr = userAddr(a[0]!);
  const length = len(a[1]);
  if (addr < 0 || length < 0) return -ERRNO.EINVAL;
  return p.as.munmap(addr, length);
};

const sysMprotect = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const addr = userAddr(a[0]!);
  const length = len(a[1]);
  if (addr < 0 || length < 0) return -ERRNO.ENOMEM;
  if (int(a[2]) & PROT_WRITE && memfdWriteSealed(p.as, addr, addr + length)) return -ERRNO.EACCES;
  return p.as.mprotect(addr, length, int(a[2]));
};

const sysMremap = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const old = userAddr(a[0]!);
  const oldLen = len(a[1]);
  const newLen = len(a[2]);
  if (old < 0) return -ERRNO.EFAULT;
  if (oldLen < 0 || newLen < 0) return -ERRNO.ENOMEM;
  const flags = int(a[3]);
  const na = userAddr(a[4]!);
  return p.as.mremap(old, oldLen, newLen, flags, na < 0 ? TASK_SIZE : na);
};

const sysMadvise = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const addr = userAddr(a[0]!);
  const length = len(a[1]);
  if (addr < 0 || length < 0) return -ERRNO.EINVAL;
  return p.as.madvise(addr, length, int(a[2]));
};

/** msync, mlock and friends: the range must be mapped; nothing else to do. */
const rangeCheck = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const addr = userAddr(a[0]!);
  const length = len(a[1]);
  if (addr < 0 || length < 0 || addr % PAGE_SIZE !== 0) return -ERRNO.EINVAL;
  if (length === 0) return 0;
  return p.as.isMapped(addr, addr + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE) ? 0 : -ERRNO.ENOMEM;
};

const zero = (): SysResult => 0;

const sysMsync = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const r = rangeCheck(p, t, a);
  if (r !== 0) return r;
  const addr = userAddr(a[0]!);
  p.as.syncShared(addr, addr + Math.ceil(len(a[1]) / PAGE_SIZE) * PAGE_SIZE);
  return 0;
};

const sysMincore = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const addr = userAddr(a[0]!);
  const length = len(a[1]);
  if (addr < 0 || length < 0 || addr % PAGE_SIZE !== 0) return -ERRNO.EINVAL;
  const pages = Math.ceil(length / PAGE_SIZE);
  if (!p.as.isMapped(addr, addr + pages * PAGE_SIZE)) return -ERRNO.ENOMEM;
  const v = new Uint8Array(pages);
  for (let i = 0; i < pages; i++) v[i] = p.as.pages.get(addr / PAGE_SIZE + i) & 1 ? 1 : 0;
  return p.as.write(a[2]!, v) ? 0 : -ERRNO.EFAULT;
};

export const MEMORY_SYSCALLS: Record<number, SyscallDef> = {
  214: { name: 'brk', args: 'p', fn: sysBrk },
  215: { name: 'munmap', args: 'pu', fn: sysMunmap },
  216: { name: 'mremap', args: 'puuxp', fn: sysMremap },
  222: { name: 'mmap', args: 'puxxdD', fn: sysMmap },
  226: { name: 'mprotect', args: 'pux', fn: sysMprotect },
  227: { name: 'msync', args: 'pux', fn: sysMsync },
  228: { name: 'mlock', args: 'pu', fn: rangeCheck },
  229: { name: 'munlock', args: 'pu', fn: rangeCheck },
  230: { name: 'mlockall', args: 'x', fn: zero },
  231: { name: 'munlockall', args: '', fn: zero },
  232: { name: 'mincore', args: 'pup', fn: sysMincore },
  233: { name: 'madvise', args: 'pud', fn: sysMadvise },
  284: { name: 'mlock2', args: 'pux', fn: rangeCheck },
};
