// The loop driver's ioctls (include/uapi/linux/loop.h) on the host's /dev/loop-control and
// /dev/loopN, which a guest opens as ordinary host files (as root on the host: the device files
// are root's). Node cannot make these ioctls, so rvisor answers them from the host's sysfs
// (/sys/block/loopN/loop/: backing_file, offset, sizelimit, autoclear, partscan, ro, dio) and
// carries out the changes with the host's losetup(8): LOOP_CTL_GET_FREE (`losetup -f`),
// LOOP_SET_FD and LOOP_CONFIGURE (attach the guest's open file through /proc/<rvisor>/fd/N,
// read-only when the file or the loop device was opened read-only, as the kernel's
// loop_configure decides), LOOP_SET_STATUS(64) (offset and size limit by re-attaching the same
// backing file), LOOP_CLR_FD (`losetup -d`), LOOP_SET_CAPACITY (`losetup -c`),
// LOOP_SET_DIRECT_IO (`losetup --direct-io`). The name and flags a guest sets with
// LOOP_SET_STATUS are kept here (losetup names a device after the path it opened); a guest's
// LO_FLAGS_AUTOCLEAR is carried out when rvisor unmounts the device (syscalls/mount.ts), not at
// the device's last close. Not carried out (EINVAL, as for an option the driver refuses):
// LOOP_CHANGE_FD, LOOP_SET_BLOCK_SIZE on a bound device, encryption; LOOP_CTL_ADD/REMOVE: EPERM.
import { spawnSync } from 'node:child_process';
import { existsSync, fstatSync, readFileSync, statSync } from 'node:fs';
import { ERRNO } from './errno.js';
import { O_ACCMODE, O_RDONLY, type HostFile } from './fd-table.js';
import { hostTool } from './host-tools.js';
import { errnoOf } from './host-mount.js';
import type { Process } from './process.js';

const LOOP_SET_FD = 0x4c00, LOOP_CLR_FD = 0x4c01, LOOP_SET_STATUS = 0x4c02, LOOP_GET_STATUS = 0x4c03;
const LOOP_SET_STATUS64 = 0x4c04, LOOP_GET_STATUS64 = 0x4c05, LOOP_CHANGE_FD = 0x4c06;
const LOOP_SET_CAPACITY = 0x4c07, LOOP_SET_DIRECT_IO = 0x4c08, LOOP_SET_BLOCK_SIZE = 0x4c09, LOOP_CONFIGURE = 0x4c0a;
const LOOP_CTL_ADD = 0x4c80, LOOP_CTL_REMOVE = 0x4c81, LOOP_CTL_GET_FREE = 0x4c82;
export const LO_FLAGS_READ_ONLY = 1, LO_FLAGS_AUTOCLEAR = 4, LO_FLAGS_PARTSCAN = 8, LO_FLAGS_DIRECT_IO = 16;
const LO_NAME_SIZE = 64;
const LOOP_MAJOR = 7, MISC_MAJOR = 10, LOOP_CTRL_MINOR = 237;
/** struct loop_info64's size and struct loop_config's (fd, block_size, info, 8 reserved u64). */
const INFO64 = 232, CONFIG = 8 + INFO64 + 64;
/** struct loop_info's size on a 64-bit architecture (int, old dev_t as u32, unsigned long). */
const INFO_OLD = 160;

/** What a guest set with LOOP_SET_STATUS / LOOP_CONFIGURE, by loop minor. */
interface Record {
  fileName: Uint8Array;
  cryptName: Uint8Array;
  autoclear: boolean;
}
const records = new Map<number, Record>();

/** What the driver reports of a bound loop device. */
interface Status { backing: string; offset: bigint; sizelimit: bigint; flags: number }

function readFileOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

const sysfs = (minor: number, name: string): string | null => readFileOr(`/sys/block/loop${minor}/loop/${name}`);

/** The status of loop device `minor` (sysfs), or null when no file is bound to it. */
function status(minor: number): Status | null {
  const backing = sysfs(minor, 'backing_file');
  if (backing === null) return null;
  const rec = records.get(minor);
  let flags = 0;
  if (readFileOr(`/sys/block/loop${minor}/ro`) === '1') flags |= LO_FLAGS_READ_ONLY;
  if (sysfs(minor, 'autoclear') === '1' || rec?.autoclear) flags |= LO_FLAGS_AUTOCLEAR;
  if (sysfs(minor, 'partscan') === '1') flags |= LO_FLAGS_PARTSCAN;
  if (sysfs(minor, 'dio') === '1') flags |= LO_FLAGS_DIRECT_IO;
  return { backing, offset: BigInt(sysfs(minor, 'offset') ?? '0'), sizelimit: BigInt(sysfs(minor, 'sizelimit') ?? '0'), flags };
}

function losetup(args: string[]): number | string {
  const r = spawnSync(hostTool('losetup'), args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  if (r.error) return -ERRNO.EPERM;
  return r.status === 0 ? (r.stdout ?? '') : errnoOf(r.stderr ?? '');
}

/** Linux's dev_t encodings: new_encode_dev (stat's st_dev) and old_encode_dev (16 bits). */
const major = (d: number): number => (d >>> 8) & 0xfff;
const minorOf = (d: number): number => (d & 0xff) | ((d >>> 12) & 0xfff00);

/** The struct loop_info64 bytes for `st` on device `minor`. */
function info64(minor: number, st: Status): Uint8Array {
  const b = new Uint8Array(INFO64);
  const v = new DataView(b.buffer);
  const rec = records.get(minor);
  try {
    const s = statSync(st.backing, { bigint: true });
    v.setBigUint64(0, s.dev, true);
    v.setBigUint64(8, s.ino, true);
    v.setBigUint64(16, s.rdev, true);
  } catch {
    // a backing file deleted since: its numbers stay 0
  }
  v.setBigUint64(24, st.offset, true);
  v.setBigUint64(32, st.sizelimit, true);
  v.setUint32(40, minor, true);
  v.setUint32(52, st.flags, true);
  b.set(rec ? rec.fileName : Buffer.from(st.backing).subarray(0, LO_NAME_SIZE - 1), 56);
  if (rec) b.set(rec.cryptName, 120);
  return b;
}

/** struct loop_info64 from struct loop_info (64-bit layout) and back. */
function oldToInfo64(o: Uint8Array): Uint8Array {
  const ov = new DataView(o.buffer, o.byteOffset, o.byteLength);
  const b = new Uint8Array(INFO64);
  const v = new DataView(b.buffer);
  v.setBigUint64(24, BigInt(ov.getInt32(20, true) >>> 0), true);
  v.setUint32(44, ov.getUint32(24, true), true);
  v.setUint32(48, ov.getUint32(28, true), true);
  v.setUint32(52, ov.getUint32(32, true), true);
  b.set(o.subarray(36, 36 + LO_NAME_SIZE), 56);
  return b;
}

function info64ToOld(b: Uint8Array): Uint8Array {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const o = new Uint8Array(INFO_OLD);
  const ov = new DataView(o.buffer);
  const dev = Number(v.getBigUint64(0, true)), rdev = Number(v.getBigUint64(16, true));
  ov.setInt32(0, v.getUint32(40, true), true);
  ov.setUint32(4, ((major(dev) << 8) | (minorOf(dev) & 0xff)) >>> 0, true);
  ov.setBigUint64(8, v.getBigUint64(8, true), true);
  ov.setUint32(16, ((major(rdev) << 8) | (minorOf(rdev) & 0xff)) >>> 0, true);
  ov.setInt32(20, Number(BigInt.asIntN(32, v.getBigUint64(24, true))), true);
  ov.setUint32(32, v.getUint32(52, true), true);
  o.set(b.subarray(56, 56 + LO_NAME_SIZE), 36);
  return o;
}

/** Records the settable part of a status (name, crypt name, autoclear) for `minor`. */
function remember(minor: number, info: Uint8Array, flags: number): void {
  const name = info.slice(56, 56 + LO_NAME_SIZE);
  name[LO_NAME_SIZE - 1] = 0;
  const crypt = info.slice(120, 120 + LO_NAME_SIZE);
  crypt[LO_NAME_SIZE - 1] = 0;
  records.set(minor, { fileName: name, cryptName: crypt, autoclear: (flags & LO_FLAGS_AUTOCLEAR) !== 0 });
}

/** Attaches guest fd `fd` to loop `minor` with `info`'s offset, size limit and flags. */
function attach(p: Process, minor: number, loopFile: HostFile, fd: number, info: Uint8Array | null, blockSize: number): number {
  const back = p.fds.get(fd);
  if (!back) return -ERRNO.EBADF;
  if (back.kind !== 'host') return -ERRNO.EINVAL;
  try {
    const s = fstatSync(back.hostFd);
    if (!s.isFile() && !s.isBlockDevice()) return -ERRNO.EINVAL;
  } catch {
    return -ERRNO.EBADF;
  }
  if (status(minor) !== null) return -ERRNO.EBUSY;
  const v = info ? new DataView(info.buffer, info.byteOffset, info.byteLength) : null;
  const flags = v ? v.getUint32(52, true) : 0;
  if (v && v.getUint32(44, true) !== 0) return -ERRNO.EINVAL;
  const ro = (back.flags & O_ACCMODE) === O_RDONLY || (loopFile.flags & O_ACCMODE) === O_RDONLY || (flags & LO_FLAGS_READ_ONLY) !== 0;
  const args = [...(ro ? ['-r'] : [])];
  if (v) {
    args.push('-o', v.getBigUint64(24, true).toString());
    if (v.getBigUint64(32, true) !== 0n) args.push('--sizelimit', v.getBigUint64(32, true).toString());
    if (flags & LO_FLAGS_PARTSCAN) args.push('-P');
    if (flags & LO_FLAGS_DIRECT_IO) args.push('--direct-io=on');
  }
  if (blockSize !== 0) args.push('-b', String(blockSize));
  const r = losetup([...args, `/dev/loop${minor}`, `/proc/${process.pid}/fd/${back.hostFd}`]);
  if (typeof r === 'number') return r;
  if (info) remember(minor, info, flags);
  else records.delete(minor);
  return 0;
}

/** LOOP_SET_STATUS64 with `info` on bound device `minor`. */
function setStatus(minor: number, info: Uint8Array): number {
  const st = status(minor);
  if (st === null) return -ERRNO.ENXIO;
  const v = new DataView(info.buffer, info.byteOffset, info.byteLength);
  if (v.getUint32(44, true) !== 0) return -ERRNO.EINVAL;
  const offset = v.getBigUint64(24, true), sizelimit = v.getBigUint64(32, true);
  const flags = v.getUint32(52, true);
  if (offset !== st.offset || sizelimit !== st.sizelimit) {
    // The driver changes them in place; losetup can only attach again, with the same file.
    const ro = (st.flags & LO_FLAGS_READ_ONLY) !== 0;
    const d = losetup(['-d', `/dev/loop${minor}`]);
    if (typeof d === 'number') return d;
    const a = losetup([...(ro ? ['-r'] : []), '-o', offset.toString(), ...(sizelimit ? ['--sizelimit', sizelimit.toString()] : []), `/dev/loop${minor}`, st.backing]);
    if (typeof a === 'number') return a;
  }
  remember(minor, info, flags);
  return 0;
}

/** The loop ioctl `req` on host file `f` (arg `arg`): the result, or null when `f` is not a loop
 *  device or `req` not a loop request. */
export function loopIoctl(p: Process, f: HostFile, req: number, arg: bigint): number | null {
  if ((req & 0xff00) !== 0x4c00) return null;
  // The device files are root's (0660 root:disk): an unprivileged caller could not have opened
  // them. rvisor opens files with its own (root) rights, so the refusal comes here, as EACCES.
  if (!p.creds.privileged && isLoopDevice(f)) return -ERRNO.EACCES;
  let rdev: number;
  let isBlock: boolean;
  try {
    const s = fstatSync(f.hostFd);
    rdev = s.rdev;
    isBlock = s.isBlockDevice();
    if (!isBlock && !s.isCharacterDevice()) return null;
  } catch {
    return null;
  }
  if (!isBlock) {
    if (major(rdev) !== MISC_MAJOR || minorOf(rdev) !== LOOP_CTRL_MINOR) return null;
    if (req === LOOP_CTL_GET_FREE) {
      const r = losetup(['-f']);
      if (typeof r === 'number') return r;
      const m = /\/dev\/loop(\d+)/.exec(r);
      return m ? Number(m[1]) : -ERRNO.ENODEV;
    }
    if (req === LOOP_CTL_ADD || req === LOOP_CTL_REMOVE) return -ERRNO.EPERM;
    return -ERRNO.ENOSYS;
  }
  if (major(rdev) !== LOOP_MAJOR) return null;
  const minor = minorOf(rdev);
  switch (req) {
    case LOOP_SET_FD:
      return attach(p, minor, f, Number(BigInt.asIntN(32, arg)), null, 0);
    case LOOP_CONFIGURE: {
      const c = p.as.read(arg, CONFIG);
      if (!c) return -ERRNO.EFAULT;
      const cv = new DataView(c.buffer, c.byteOffset, c.byteLength);
      return attach(p, minor, f, cv.getInt32(0, true), c.slice(8, 8 + INFO64), cv.getUint32(4, true));
    }
    case LOOP_CLR_FD: {
      if (status(minor) === null) return -ERRNO.ENXIO;
      const r = losetup(['-d', `/dev/loop${minor}`]);
      if (typeof r === 'number') return r;
      records.delete(minor);
      return 0;
    }
    case LOOP_GET_STATUS64:
    case LOOP_GET_STATUS: {
      const st = status(minor);
      if (st === null) return -ERRNO.ENXIO;
      const b = info64(minor, st);
      return p.as.write(arg, req === LOOP_GET_STATUS ? info64ToOld(b) : b) ? 0 : -ERRNO.EFAULT;
    }
    case LOOP_SET_STATUS64:
    case LOOP_SET_STATUS: {
      const raw = p.as.read(arg, req === LOOP_SET_STATUS ? INFO_OLD : INFO64);
      if (!raw) return -ERRNO.EFAULT;
      return setStatus(minor, req === LOOP_SET_STATUS ? oldToInfo64(raw) : raw.slice());
    }
    case LOOP_SET_CAPACITY: {
      if (status(minor) === null) return -ERRNO.ENXIO;
      const r = losetup(['-c', `/dev/loop${minor}`]);
      return typeof r === 'number' ? r : 0;
    }
    case LOOP_SET_DIRECT_IO: {
      if (status(minor) === null) return -ERRNO.ENXIO;
      const r = losetup([`--direct-io=${arg !== 0n ? 'on' : 'off'}`, `/dev/loop${minor}`]);
      return typeof r === 'number' ? r : 0;
    }
    case LOOP_CHANGE_FD:
    case LOOP_SET_BLOCK_SIZE:
      return -ERRNO.EINVAL;
    default:
      return -ERRNO.EINVAL;
  }
}

function isLoopDevice(f: HostFile): boolean {
  try {
    const s = fstatSync(f.hostFd);
    const maj = major(s.rdev);
    return (s.isBlockDevice() && maj === LOOP_MAJOR) || (s.isCharacterDevice() && maj === MISC_MAJOR && minorOf(s.rdev) === LOOP_CTRL_MINOR);
  } catch {
    return false;
  }
}

/** After `device` was unmounted: a loop device the guest marked LO_FLAGS_AUTOCLEAR is freed, as
 *  the driver frees it when its last user (the mount) goes away. */
export function loopUnmounted(device: string | null): void {
  const m = device === null ? null : /^\/dev\/loop(\d+)$/.exec(device);
  if (!m) return;
  const minor = Number(m[1]);
  if (!records.get(minor)?.autoclear || !existsSync(`/sys/block/loop${minor}/loop/backing_file`)) return;
  if (typeof losetup(['-d', `/dev/loop${minor}`]) !== 'number') records.delete(minor);
}
