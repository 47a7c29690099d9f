// mount(2) and umount2(2) carried out by the host's mount(8) and umount(8) (util-linux; Node has
// no mount call). rvisor runs them only for a guest with CAP_SYS_ADMIN (effective uid 0,
// creds.ts), and they succeed only where rvisor's own user may mount (root on the host), as
// qemu-user's guests mount through the host kernel: the guest's paths are the host's, so what it
// mounts is mounted on the host. Anyone else gets Linux's EPERM (syscalls/mount.ts).
//
// The call's arguments become the tool's exactly (Linux 6.x path_mount's order decides the
// operation: MS_REMOUNT, then MS_BIND, then a propagation change, then MS_MOVE, else a new
// mount), with -i (no /sbin/mount.TYPE helpers), -n (no userspace mount table) and -c (paths as
// given): a bind never gains a second remount, data options reach the file system as the kernel
// would pass them. The tool's message names the error; errnoOf maps it back (libmount words each
// errno of mount(2) its own way). umount(8) has no MNT_EXPIRE: rvisor keeps the marks itself (a
// mark is not cleared when the mount is used meanwhile, as Linux's is).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ERRNO } from './errno.js';
import { hostTool } from './host-tools.js';

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64,
  DIRSYNC: 128, NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192,
  REC: 16384, SILENT: 32768, POSIXACL: 1 << 16, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18,
  SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, KERNMOUNT: 1 << 22, I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24, LAZYTIME: 1 << 25, NOUSER: 0x80000000,
} as const;

/** The magic old callers put in the top 16 bits (include/uapi/linux/mount.h MS_MGC_VAL). */
const MS_MGC_MSK = 0xffff0000, MS_MGC_VAL = 0xc0ed0000;
const PROPAGATION = MS.SHARED | MS.PRIVATE | MS.SLAVE | MS.UNBINDABLE;

/** Per-mount flags as mount(8) options (the order Linux's show_mnt_opts uses). */
const FLAG_OPTS: Array<[number, string]> = [
  [MS.NOSUID, 'nosuid'], [MS.NODEV, 'nodev'], [MS.NOEXEC, 'noexec'], [MS.SYNCHRONOUS, 'sync'],
  [MS.MANDLOCK, 'mand'], [MS.DIRSYNC, 'dirsync'], [MS.NOSYMFOLLOW, 'nosymfollow'],
  [MS.NOATIME, 'noatime'], [MS.NODIRATIME, 'nodiratime'], [MS.RELATIME, 'relatime'],
  [MS.STRICTATIME, 'strictatime'], [MS.LAZYTIME, 'lazytime'], [MS.SILENT, 'silent'],
  [MS.I_VERSION, 'iversion'],
];

/** Options libmount acts on itself instead of passing to the file system; in a mount(2) data
 *  string the kernel hands them to the file system, which refuses what it does not know. */
const USERSPACE = /^(loop|loop=.*|offset=.*|sizelimit=.*|encryption=.*|user|users|owner|group|noauto|auto|nofail|_netdev|comment=.*|x-.*|helper=.*|X-.*)$/;

/** The mount(8) arguments for mount(2)'s (source, target, type, flags, data) — all paths host
 *  paths — or -errno for a combination Linux refuses before mounting. */
export function mountArgs(source: string | null, target: string, type: string | null, flags: number, data: string | null): string[] | number {
  let f = flags >>> 0;
  if ((f & MS_MGC_MSK) >>> 0 === MS_MGC_VAL) f &= ~MS_MGC_MSK;
  const base = ['-i', '-n', '-c'];
  const optList = (withRo: boolean): string[] => {
    const o = withRo ? [f & MS.RDONLY ? 'ro' : 'rw'] : [];
    for (const [bit, name] of FLAG_OPTS) if (f & bit) o.push(name);
    return o;
  };
  const dataOpts = (): string[] | number => {
    if (data === null || data === '') return [];
    const parts = data.split(',').filter((x) => x !== '');
    return parts.some((x) => USERSPACE.test(x)) ? -ERRNO.EINVAL : parts;
  };
  if (f & MS.REMOUNT) {
    const d = dataOpts();
    if (typeof d === 'number') return d;
    const opts = ['remount', ...(f & MS.BIND ? ['bind'] : []), ...optList(true), ...(f & MS.BIND ? [] : d)];
    return [...base, '-o', opts.join(','), source ?? 'none', target];
  }
  if (f & MS.BIND) {
    if (source === null) return -ERRNO.EFAULT;
    return [...base, f & MS.REC ? '--rbind' : '--bind', source, target];
  }
  if (f & PROPAGATION) {
    // Exactly one propagation type (fs/namespace.c flags_to_propagation_type).
    const types = [MS.SHARED, MS.PRIVATE, MS.SLAVE, MS.UNBINDABLE].filter((b) => f & b);
    if (types.length !== 1) return -ERRNO.EINVAL;
    const name = { [MS.SHARED]: 'shared', [MS.PRIVATE]: 'private', [MS.SLAVE]: 'slave', [MS.UNBINDABLE]: 'unbindable' }[types[0]!]!;
    return [...base, `--make-${f & MS.REC ? 'r' : ''}${name}`, target];
  }
  if (f & MS.MOVE) {
    if (source === null) return -ERRNO.EFAULT;
    return [...base, '--move', source, target];
  }
  if (type === null || type === '') return -ERRNO.EINVAL;
  // mount(8) reads "noX" as "any type but X", a comma as a list of types and "auto" as "probe":
  // as a type for mount(2) such a name is one the kernel must know, else ENODEV.
  if ((/^no|[,\s]/.test(type) || type === 'auto') && !kernelFilesystems().includes(type)) return -ERRNO.ENODEV;
  const d = dataOpts();
  if (typeof d === 'number') return d;
  return [...base, '-t', type, '-o', [...optList(true), ...d].join(','), source ?? 'none', target];
}

/** The file system types the host kernel has registered (/proc/filesystems). */
function kernelFilesystems(): string[] {
  try {
    return readFileSync('/proc/filesystems', 'latin1').split('\n').map((l) => l.split('\t').pop() ?? '');
  } catch {
    return [];
  }
}

/** The errno a failing mount(8)/umount(8) stands for, from its message (libmount's wording of
 *  each mount(2)/umount2(2) error; util-linux 2.38). */
export function errnoOf(message: string): number {
  const m = message.toLowerCase();
  const table: Array<[RegExp, number]> = [
    [/must be superuser|operation not permitted|only root/, ERRNO.EPERM],
    [/permission denied/, ERRNO.EACCES],
    [/unknown filesystem type|no such device/, ERRNO.ENODEV],
    [/not a block device/, ERRNO.ENOTBLK],
    [/not a directory/, ERRNO.ENOTDIR],
    [/does not exist|no such file or directory|can't find/, ERRNO.ENOENT],
    [/target is busy|already mounted|busy/, ERRNO.EBUSY],
    [/not mounted|not mount point|bad option|bad superblock|invalid argument/, ERRNO.EINVAL],
    [/write-protected|read-only/, ERRNO.EROFS],
    [/too many levels of symbolic links/, ERRNO.ELOOP],
    [/file name too long/, ERRNO.ENAMETOOLONG],
    [/cannot allocate memory/, ERRNO.ENOMEM],
    [/too many open files/, ERRNO.EMFILE],
  ];
  for (const [re, e] of table) if (re.test(m)) return -e;
  return -ERRNO.EINVAL;
}

function run(tool: 'mount' | 'umount', args: string[]): number {
  const r = spawnSync(hostTool(tool), args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return 0;
  if (r.error) return -ERRNO.EPERM;
  return errnoOf(r.stderr ?? '');
}

/** mount(2) on the host: 0 or -errno. */
export function hostMount(source: string | null, target: string, type: string | null, flags: number, data: string | null): number {
  const args = mountArgs(source, target, type, flags, data);
  return typeof args === 'number' ? args : run('mount', args);
}

const MNT_FORCE = 1, MNT_DETACH = 2, MNT_EXPIRE = 4;
const expiring = new Set<string>();

/** The source (device) of the mount on host path `target`, from the host's mount table. */
export function mountSource(target: string): string | null {
  try {
    const lines = readFileSync('/proc/self/mounts', 'latin1').split('\n');
    const esc = target.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    for (let i = lines.length - 1; i >= 0; i--) {
      const [src, dir] = lines[i]!.split(' ');
      if (dir === esc) return src ?? null;
    }
  } catch {
    // no mount table: no source
  }
  return null;
}

/** umount2(2) on the host: 0 or -errno. MNT_EXPIRE as Linux: the first call marks the mount and
 *  fails with EAGAIN, a second one unmounts it (with MNT_FORCE or MNT_DETACH: EINVAL). */
export function hostUmount(target: string, flags: number): number {
  if (flags & MNT_EXPIRE) {
    if (flags & (MNT_FORCE | MNT_DETACH)) return -ERRNO.EINVAL;
    if (mountSource(target) === null) return -ERRNO.EINVAL;
    if (!expiring.has(target)) {
      expiring.add(target);
      return -ERRNO.EAGAIN;
    }
    expiring.delete(target);
  }
  return run('umount', ['-i', '-n', '-c', ...(flags & MNT_FORCE ? ['-f'] : []), ...(flags & MNT_DETACH ? ['-l'] : []), target]);
}
