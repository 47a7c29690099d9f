// mount, umount2 and pivot_root. The guest's paths are the host's, so a guest with
// CAP_SYS_ADMIN (effective uid 0) mounts on the host, through the host's mount(8)/umount(8)
// (host-mount.ts), which succeeds only where rvisor's own user may mount (root); rvisor keeps no
// mount table of its own (/proc/mounts is the host's). A guest without the capability gets what
// Linux gives it: EPERM, after the checks Linux makes before asking for the capability (mount:
// the strings are copied (EFAULT), the mount point is looked up (ENOENT, ENOTDIR, EACCES, ELOOP),
// MS_NOUSER is EINVAL; umount2: unknown flags are EINVAL, then the lookup). pivot_root is EPERM
// for every guest: it would change the root of rvisor's own host process.
import { mayLookup } from '../dac.js';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { ERRNO, hostErrno } from '../errno.js';
import { pathString, readPath, resolveAt } from '../paths.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { AT_FDCWD, u32, type SyscallDef, type SysResult } from './abi.js';
import { hostMount, hostUmount, mountSource } from '../host-mount.js';
import { loopUnmounted } from '../loop-device.js';
import { toolPath } from './mkfifo.js';

const MS_NOUSER = 0x80000000;
const MNT_FORCE = 1, MNT_DETACH = 2, MNT_EXPIRE = 4, UMOUNT_NOFOLLOW = 8;

/** Looks up mount point `ptr` as Linux's user_path_at does: its host path (for a host tool:
 *  relative paths stay relative, the host's cwd being the guest's while it runs), else -errno. */
function lookup(p: Process, ptr: bigint, follow: boolean): string | number {
  const s = readPath(p, ptr);
  if (typeof s === 'number') return s;
  const path = resolveAt(p, AT_FDCWD, s);
  if (typeof path === 'number') return path;
  const denied = mayLookup(p.creds, path, follow);
  if (denied) return denied;
  try {
    if (follow) statSync(path);
    else lstatSync(path);
    return toolPath(path);
  } catch (e) {
    return hostErrno(e);
  }
}

/** An optional string argument (type, source, data), copied as strndup_user does: null when
 *  absent, -EFAULT when the pointer is bad, -EINVAL when it has no NUL within a page. */
function stringArg(p: Process, ptr: bigint): string | null | number {
  if (ptr === 0n) return null;
  const b = p.as.readCString(ptr, 4096);
  if (b === -ERRNO.ENAMETOOLONG) return -ERRNO.EINVAL;
  return typeof b === 'number' ? b : pathString(b);
}

/** A mount source: a path when one of that name exists (block devices, bind sources), else the
 *  string itself ("tmpfs", "none", a server name), as the file system interprets it. */
function sourceArg(p: Process, s: string | null): string | null {
  if (s === null || s === '') return s;
  const r = resolveAt(p, AT_FDCWD, s);
  if (typeof r === 'number') return s;
  try {
    lstatSync(r);
    return toolPath(r);
  } catch {
    return s;
  }
}

const sysMount = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const type = stringArg(p, a[2]!);
  if (typeof type === 'number') return type;
  const source = stringArg(p, a[0]!);
  if (typeof source === 'number') return source;
  if (a[4] !== 0n && p.as.read(a[4]!, 1) === null) return -ERRNO.EFAULT; // data: its first byte must be readable
  const target = lookup(p, a[1]!, true);
  if (typeof target === 'number') return target;
  const flags = u32(a[3]);
  if ((flags & MS_NOUSER) !== 0) return -ERRNO.EINVAL;
  if (!p.creds.privileged) return -ERRNO.EPERM;
  // The data page: text options for the file systems rvisor mounts through mount(8).
  const data = a[4] === 0n ? null : stringArg(p, a[4]!);
  if (typeof data === 'number') return data;
  return hostMount(sourceArg(p, source), target, type, flags, data);
};

const sysUmount2 = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const flags = u32(a[1]);
  if ((flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) !== 0) return -ERRNO.EINVAL;
  let target = lookup(p, a[0]!, (flags & UMOUNT_NOFOLLOW) === 0);
  if (typeof target === 'number') return target;
  if (!p.creds.privileged) return -ERRNO.EPERM;
  if ((flags & UMOUNT_NOFOLLOW) === 0) {
    try {
      target = realpathSync(target); // the mount table's spelling
    } catch (e) {
      return hostErrno(e);
    }
  }
  const source = mountSource(target);
  const r = hostUmount(target, flags);
  if (r === 0) loopUnmounted(source);
  return r;
};

const sysPivotRoot = (): SysResult => -ERRNO.EPERM;

export const MOUNT_SYSCALLS: Record<number, SyscallDef> = {
  39: { name: 'umount2', args: 'sx', fn: sysUmount2 },
  40: { name: 'mount', args: 'sssxp', fn: sysMount },
  41: { name: 'pivot_root', args: 'ss', fn: sysPivotRoot },
};
