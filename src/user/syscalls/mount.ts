// mount, umount2 and pivot_root. rvisor does not mount host file systems (nor keep a mount table
// of its own), so these fail as Linux fails them for a caller without CAP_SYS_ADMIN: EPERM, after
// the checks Linux makes before asking for the capability (mount: the strings are copied (EFAULT),
// the mount point is looked up (ENOENT, ENOTDIR, EACCES, ELOOP), MS_NOUSER is EINVAL; umount2:
// unknown flags are EINVAL, then the lookup; pivot_root asks for the capability first).
import { statSync, lstatSync } from 'node:fs';
import { ERRNO, hostErrno } from '../errno.js';
import { readPath, resolveAt } from '../paths.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { AT_FDCWD, u32, type SyscallDef, type SysResult } from './abi.js';

const MS_NOUSER = 0x80000000;
const MNT_FORCE = 1, MNT_DETACH = 2, MNT_EXPIRE = 4, UMOUNT_NOFOLLOW = 8;

/** Looks up mount point `ptr` as Linux's user_path_at does: 0 when it exists, else -errno. */
function lookup(p: Process, ptr: bigint, follow: boolean): number {
  const s = readPath(p, ptr);
  if (typeof s === 'number') return s;
  const path = resolveAt(p, AT_FDCWD, s);
  if (typeof path === 'number') return path;
  try {
    if (follow) statSync(path);
    else lstatSync(path);
    return 0;
  } catch (e) {
    return hostErrno(e);
  }
}

/** An optional string argument (type, source), copied as strndup_user does: EFAULT when the
 *  pointer is bad, EINVAL when it has no NUL within a page. */
function stringArg(p: Process, ptr: bigint): number {
  if (ptr === 0n) return 0;
  const b = p.as.readCString(ptr, 4096);
  if (b === -ERRNO.ENAMETOOLONG) return -ERRNO.EINVAL;
  return typeof b === 'number' ? b : 0;
}

const sysMount = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  for (const ptr of [a[2]!, a[0]!]) {
    const err = stringArg(p, ptr);
    if (err < 0) return err;
  }
  if (a[4] !== 0n && p.as.read(a[4]!, 1) === null) return -ERRNO.EFAULT; // data: its first byte must be readable
  const err = lookup(p, a[1]!, true);
  if (err < 0) return err;
  if ((u32(a[3]) & MS_NOUSER) !== 0) return -ERRNO.EINVAL;
  return -ERRNO.EPERM;
};

const sysUmount2 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = u32(a[1]);
  if ((flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) !== 0) return -ERRNO.EINVAL;
  const err = lookup(p, a[0]!, (flags & UMOUNT_NOFOLLOW) === 0);
  if (err < 0) return err;
  return -ERRNO.EPERM;
};

const sysPivotRoot = (): SysResult => -ERRNO.EPERM;

export const MOUNT_SYSCALLS: Record<number, SyscallDef> = {
  39: { name: 'umount2', args: 'sx', fn: sysUmount2 },
  40: { name: 'mount', args: 'sssxp', fn: sysMount },
  41: { name: 'pivot_root', args: 'ss', fn: sysPivotRoot },
};
