// inotify_init1, inotify_add_watch, inotify_rm_watch. The events come from the file system
// calls through the hooks of ../inotify.ts; reads and readiness are in ../fd-kinds.ts.
import { MAY_READ, mayAccessFile } from '../dac.js';
import { lstatSync, statSync } from 'node:fs';
import { ERRNO, hostErrno } from '../errno.js';
import { inotifyInstances, type InotifyFd } from '../fd-kinds.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, type HostFile } from '../fd-table.js';
import { IN_ALL_EVENTS, IN_ISDIR, IN_ONESHOT, dropWatch, setInotifyKernel } from '../inotify.js';
import { readPath, resolveAt } from '../paths.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { AT_FDCWD, int, u32, type SyscallDef, type SysResult } from './abi.js';

const IN_UNMOUNT = 0x2000;
const IN_Q_OVERFLOW = 0x4000;
const IN_IGNORED = 0x8000;
const IN_ONLYDIR = 0x01000000;
const IN_DONT_FOLLOW = 0x02000000;
const IN_EXCL_UNLINK = 0x04000000;
const IN_MASK_CREATE = 0x10000000;
const IN_MASK_ADD = 0x20000000;
const ALL_BITS = IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK |
  IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT;
/** What a watch keeps of the mask it was given. */
const KEPT = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

/** Every host file open in any process of the run (for "is the unlinked inode still open"). */
function openHostFiles(p: Process): HostFile[] {
  const out: HostFile[] = [];
  for (const q of p.kernel.processes.values()) {
    if (q.finished) continue;
    for (const fd of q.fds.fds()) {
      const f = q.fds.get(fd);
      if (f && f.kind === 'host' && !f.keepOpen) out.push(f);
    }
  }
  return out;
}

const sysInotifyInit1 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = int(a[0]);
  if (flags & ~(O_CLOEXEC | O_NONBLOCK)) return -ERRNO.EINVAL;
  const f: InotifyFd = { kind: 'inotify', id: p.fds.newAnonId(), watches: new Map(), nextWd: 1, queue: [], queued: 0, flags: O_RDONLY | (flags & O_NONBLOCK), refs: 0 };
  const fd = p.fds.install(f, (flags & O_CLOEXEC) !== 0);
  if (fd >= 0) {
    inotifyInstances.add(f);
    const k = p.kernel;
    setInotifyKernel({ wake: () => k.wakeRetriers(), openFiles: () => openHostFiles(k.init ?? p) });
  }
  return fd;
};

function inotifyOf(p: Process, fd: number): InotifyFd | number {
  const f = p.fds.get(fd);
  if (!f) return -ERRNO.EBADF;
  return f.kind === 'inotify' ? f : -ERRNO.EINVAL;
}

const sysInotifyAddWatch = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const mask = u32(a[2]);
  if (mask & IN_MASK_ADD && mask & IN_MASK_CREATE) return -ERRNO.EINVAL;
  if (!(mask & ALL_BITS) || mask & ~ALL_BITS) return -ERRNO.EINVAL;
  const inst = inotifyOf(p, int(a[0]));
  if (typeof inst === 'number') return inst;
  const s = readPath(p, a[1]!);
  if (typeof s === 'number') return s;
  const path = resolveAt(p, AT_FDCWD, s);
  if (typeof path === 'number') return path;
  const denied = mayAccessFile(p.creds, path, MAY_READ, false, !(mask & IN_DONT_FOLLOW));
  if (denied) return denied;
  let st;
  try {
    st = mask & IN_DONT_FOLLOW ? lstatSync(path, { bigint: true }) : statSync(path, { bigint: true });
  } catch (e) {
    return hostErrno(e);
  }
  if (mask & IN_ONLYDIR && !st.isDirectory()) return -ERRNO.ENOTDIR;
  for (const w of inst.watches.values()) {
    if (w.dev !== st.dev || w.ino !== st.ino) continue;
    if (mask & IN_MASK_CREATE) return -ERRNO.EEXIST;
    w.mask = mask & IN_MASK_ADD ? w.mask | (mask & KEPT) : mask & KEPT;
    return w.wd;
  }
  const wd = inst.nextWd++;
  inst.watches.set(wd, { wd, dev: st.dev, ino: st.ino, mask: mask & KEPT, isDir: st.isDirectory() });
  return wd;
};

const sysInotifyRmWatch = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const inst = inotifyOf(p, int(a[0]));
  if (typeof inst === 'number') return inst;
  const w = inst.watches.get(int(a[1]));
  if (!w) return -ERRNO.EINVAL;
  dropWatch(inst, w);
  p.wakeRetriers();
  return 0;
};

export const INOTIFY_SYSCALLS: Record<number, SyscallDef> = {
  26: { name: 'inotify_init1', args: 'x', fn: sysInotifyInit1 },
  27: { name: 'inotify_add_watch', args: 'dsx', fn: sysInotifyAddWatch },
  28: { name: 'inotify_rm_watch', args: 'dd', fn: sysInotifyRmWatch },
};
