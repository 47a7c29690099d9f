// User and group ids and capabilities: get*id, set*id, getgroups/setgroups, capget/capset, with
// the rules of credentials(7) (creds.ts holds the ids and the rules).
import { ERRNO } from '../errno.js';
import { setFsId, setId, setReId, setResId, type IdKind } from '../creds.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, u32, type SyscallDef, type SysResult } from './abi.js';

const writeIds = (p: Process, a: bigint[], v: [number, number, number]): SysResult => {
  for (let i = 0; i < 3; i++) if (!p.as.writeU32(a[i]!, v[i]!)) return -ERRNO.EFAULT;
  return 0;
};

/** -1 from the rules is EPERM, -22 EINVAL. */
const err = (r: number): SysResult => (r === -1 ? -ERRNO.EPERM : r === -22 ? -ERRNO.EINVAL : r);

const set1 = (k: IdKind) => (p: Process, _t: Thread, a: bigint[]): SysResult => err(setId(p.creds, k, u32(a[0])));
const set2 = (k: IdKind) => (p: Process, _t: Thread, a: bigint[]): SysResult => err(setReId(p.creds, k, u32(a[0]), u32(a[1])));
const set3 = (k: IdKind) => (p: Process, _t: Thread, a: bigint[]): SysResult => err(setResId(p.creds, k, u32(a[0]), u32(a[1]), u32(a[2])));
const setFs = (k: IdKind) => (p: Process, _t: Thread, a: bigint[]): SysResult => setFsId(p.creds, k, u32(a[0]));

const NGROUPS_MAX = 65536;

const sysGetgroups = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const groups = p.creds.groups;
  const n = int(a[0]);
  if (n < 0) return -ERRNO.EINVAL;
  if (n === 0) return groups.length;
  if (n < groups.length) return -ERRNO.EINVAL;
  const b = new Uint8Array(groups.length * 4);
  groups.forEach((g, i) => new DataView(b.buffer).setUint32(i * 4, g, true));
  return p.as.write(a[1]!, b) ? groups.length : -ERRNO.EFAULT;
};

const sysSetgroups = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const n = int(a[0]);
  if (!p.creds.privileged) return -ERRNO.EPERM;
  if (n < 0 || n > NGROUPS_MAX) return -ERRNO.EINVAL;
  const b = n > 0 ? p.as.read(a[1]!, n * 4) : new Uint8Array(0);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const groups: number[] = [];
  for (let i = 0; i < n; i++) groups.push(v.getUint32(i * 4, true));
  p.creds.groups = [...new Set(groups)].sort((x, y) => x - y);
  return 0;
};

const CAP_V1 = 0x19980330;
const CAP_V2 = 0x20071026;
const CAP_V3 = 0x20080522;
/** Capabilities 0..40 (CAP_LAST_CAP of Linux 6.1). */
const CAP_ALL_LO = 0xffffffff;
const CAP_ALL_HI = 0x1ff;

/** Reads the header: the version (validated) and pid; on a bad version the preferred one is
 *  written back and EINVAL returned, as Linux does. */
function capHeader(p: Process, hdr: bigint): { words: number; pid: number } | number {
  const b = p.as.read(hdr, 8);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer);
  const version = v.getUint32(0, true);
  const pid = v.getInt32(4, true);
  if (version !== CAP_V1 && version !== CAP_V2 && version !== CAP_V3) {
    return p.as.writeU32(hdr, CAP_V3) ? -ERRNO.EINVAL : -ERRNO.EFAULT;
  }
  return { words: version === CAP_V1 ? 1 : 2, pid };
}

const sysCapget = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const h = capHeader(p, a[0]!);
  if (typeof h === 'number') return a[1] === 0n && h === -ERRNO.EINVAL ? 0 : h;
  if (h.pid < 0) return -ERRNO.EINVAL;
  const q = h.pid === 0 ? p : p.kernel.live(h.pid);
  if (!q) return -ERRNO.ESRCH;
  if (a[1] === 0n) return 0;
  const out = new Uint8Array(12 * h.words);
  const v = new DataView(out.buffer);
  if (q.creds.privileged) {
    // effective and permitted: every capability; inheritable: none.
    v.setUint32(0, CAP_ALL_LO, true);
    v.setUint32(4, CAP_ALL_LO, true);
    if (h.words === 2) {
      v.setUint32(12, CAP_ALL_HI, true);
      v.setUint32(16, CAP_ALL_HI, true);
    }
  }
  return p.as.write(a[1]!, out) ? 0 : -ERRNO.EFAULT;
};

const sysCapset = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const h = capHeader(p, a[0]!);
  if (typeof h === 'number') return h;
  if (h.pid !== 0 && h.pid !== p.pid) return -ERRNO.EPERM;
  const b = p.as.read(a[1]!, 12 * h.words);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer);
  const lo = [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
  const hi = h.words === 2 ? [v.getUint32(12, true), v.getUint32(16, true), v.getUint32(20, true)] : [0, 0, 0];
  // Only a set that adds nothing is allowed: rvisor does not model a partial capability set.
  const allowedLo = p.creds.privileged ? CAP_ALL_LO : 0;
  const allowedHi = p.creds.privileged ? CAP_ALL_HI : 0;
  for (let i = 0; i < 3; i++) {
    if ((lo[i]! & ~allowedLo) !== 0 || (hi[i]! & ~allowedHi) !== 0) return -ERRNO.EPERM;
  }
  const full = lo[0] === allowedLo && lo[1] === allowedLo && hi[0] === allowedHi && hi[1] === allowedHi && lo[2] === 0 && hi[2] === 0;
  return full ? 0 : -ERRNO.EPERM;
};

export const ID_SYSCALLS: Record<number, SyscallDef> = {
  90: { name: 'capget', args: 'pp', fn: sysCapget },
  91: { name: 'capset', args: 'pp', fn: sysCapset },
  143: { name: 'setregid', args: 'dd', fn: set2('gid') },
  144: { name: 'setgid', args: 'd', fn: set1('gid') },
  145: { name: 'setreuid', args: 'dd', fn: set2('uid') },
  146: { name: 'setuid', args: 'd', fn: set1('uid') },
  147: { name: 'setresuid', args: 'ddd', fn: set3('uid') },
  148: { name: 'getresuid', args: 'ppp', fn: (p, _t, a) => writeIds(p, a, [p.creds.ruid, p.creds.euid, p.creds.suid]) },
  149: { name: 'setresgid', args: 'ddd', fn: set3('gid') },
  150: { name: 'getresgid', args: 'ppp', fn: (p, _t, a) => writeIds(p, a, [p.creds.rgid, p.creds.egid, p.creds.sgid]) },
  151: { name: 'setfsuid', args: 'd', fn: setFs('uid') },
  152: { name: 'setfsgid', args: 'd', fn: setFs('gid') },
  158: { name: 'getgroups', args: 'dp', fn: sysGetgroups },
  159: { name: 'setgroups', args: 'dp', fn: sysSetgroups },
  174: { name: 'getuid', args: '', fn: (p) => p.creds.ruid },
  175: { name: 'geteuid', args: '', fn: (p) => p.creds.euid },
  176: { name: 'getgid', args: '', fn: (p) => p.creds.rgid },
  177: { name: 'getegid', args: '', fn: (p) => p.creds.egid },
};
