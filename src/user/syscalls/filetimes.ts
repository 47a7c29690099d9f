// utimensat(2) (and so futimens, utimes, utime) with exact nanosecond times. Node's fs.utimes
// takes seconds as a double (about 0.25 µs of precision at today's times), libuv then keeps only
// whole microseconds, and Node turns a negative time into "now": a time set through it naively
// comes back a microsecond off. rvisor passes the double that libuv turns into exactly the wanted
// time when there is one (any whole number of microseconds since the epoch), which also gives
// Linux's errors (ENOENT, EPERM, EACCES, EROFS...); it reads the times back, and if either is not
// exactly what the guest asked for (nanoseconds, before 1970), sets it again with the host's
// touch(1), which passes a struct timespec to utimensat(2) unchanged (`touch -d @SEC.NSEC`).
// UTIME_NOW takes the guest's CLOCK_REALTIME, without that second step (its precision is
// immaterial).
import { mayTouch } from '../dac.js';
import { spawnSync } from 'node:child_process';
import { lstatSync, lutimesSync, statSync, utimesSync, type BigIntStats } from 'node:fs';
import { realtimeNs } from '../clock.js';
import { ERRNO, hostErrno } from '../errno.js';
import { IN_ATTRIB, childEvent, subjectAt } from '../inotify.js';
import { hostPath, resolveAt, readPath } from '../paths.js';
import type { Process } from '../process.js';
import type { Thread } from '../thread.js';
import { int, type SyscallDef, type SysResult } from './abi.js';
import { hostTool } from '../host-tools.js';

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;
const NS = 1_000_000_000n;

type Want = bigint | 'now' | 'omit';

/** One struct timespec of the times argument: ns since the epoch, 'now', 'omit', or null
 *  (tv_nsec out of range: EINVAL). */
function timespec(dv: DataView, off: number): Want | null {
  const sec = dv.getBigInt64(off, true);
  const nsec = dv.getBigInt64(off + 8, true);
  if (nsec === BigInt(UTIME_NOW)) return 'now';
  if (nsec === BigInt(UTIME_OMIT)) return 'omit';
  if (nsec < 0n || nsec >= NS) return null;
  return sec * NS + nsec;
}

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

/** The timespec libuv makes of the seconds Node passes it (uv__fs_to_timespec: truncation, then
 *  microseconds only), as ns. */
function libuvNs(x: number): bigint {
  let sec = Math.trunc(x);
  let nsec = Math.trunc((x - sec) * 1e9);
  nsec -= nsec % 1000;
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1;
  }
  return BigInt(sec) * NS + BigInt(nsec);
}

/** A double that Node and libuv turn into exactly `ns`, or null (sub-microsecond parts and
 *  negative times cannot pass through fs.utimes: Node turns a negative time into "now"). */
function exactSeconds(ns: bigint): number | null {
  if (ns < 0n || ns % 1000n !== 0n) return null;
  const x = Number(ns / NS) + Number(ns % NS) / 1e9;
  f64[0] = x;
  const bits = i64[0]!;
  for (let k = 0; k <= 8; k++) {
    for (const d of k === 0 ? [0n] : [BigInt(k), -BigInt(k)]) {
      i64[0] = bits + d;
      const y = f64[0]!;
      if (Number.isFinite(y) && y >= 0 && libuvNs(y) === ns) return y;
    }
  }
  return null;
}

/** `@SEC.NSEC` for touch -d. */
function touchDate(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `@${neg ? '-' : ''}${a / NS}.${(a % NS).toString().padStart(9, '0')}`;
}

/** A path the touch child process can use (it has its own /proc/self). */
function forChild(path: string): string {
  return path.startsWith('/proc/self/') ? `/proc/${process.pid}/${path.slice('/proc/self/'.length)}` : path;
}

/** Sets the access and modification times of host path `path` exactly; 0 or -errno. */
export function setFileTimes(path: string, nofollow: boolean, at: Want, mt: Want): number {
  const st = (): BigIntStats => (nofollow ? lstatSync(hostPath(path), { bigint: true }) : statSync(hostPath(path), { bigint: true }));
  try {
    const now = realtimeNs();
    let cur: BigIntStats | null = null;
    if (at === 'omit' || mt === 'omit') cur = st();
    const a = at === 'now' ? now : at === 'omit' ? cur!.atimeNs : at;
    const m = mt === 'now' ? now : mt === 'omit' ? cur!.mtimeNs : mt;
    const sec = (ns: bigint): number => exactSeconds(ns) ?? Math.max(0, Number(ns) / 1e9);
    if (at === 'now' && mt === 'now') {
      try {
        if (nofollow) lutimesSync(hostPath(path), sec(a), sec(m));
        else utimesSync(hostPath(path), sec(a), sec(m));
      } catch (e) {
        // Explicit times need ownership; "now" needs only write access: let touch(1) ask for
        // UTIME_NOW, so the host kernel decides.
        if ((e as { code?: string }).code !== 'EPERM') throw e;
        const r = spawnSync(hostTool('touch'), ['-c', ...(nofollow ? ['-h'] : []), '--', forChild(path)], { stdio: 'ignore' });
        if (r.status !== 0) throw e;
      }
      return 0;
    }
    if (nofollow) lutimesSync(hostPath(path), sec(a), sec(m));
    else utimesSync(hostPath(path), sec(a), sec(m));
    const got = st();
    const fix: Array<[string, bigint]> = [];
    if (at !== 'now' && got.atimeNs !== a) fix.push(['-a', a]);
    if (mt !== 'now' && got.mtimeNs !== m) fix.push(['-m', m]);
    for (const [which, ns] of fix) {
      const args = ['-c', ...(nofollow ? ['-h'] : []), which, '-d', touchDate(ns), '--', forChild(path)];
      const r = spawnSync(hostTool('touch'), args, { stdio: 'ignore' });
      if (r.status !== 0) return -ERRNO.EIO;
    }
    return 0;
  } catch (e) {
    return hostErrno(e);
  }
}

const sysUtimensat = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const dirfd = int(a[0]);
  const flags = int(a[3]);
  let at: Want = 'now';
  let mt: Want = 'now';
  if (a[2] !== 0n) {
    const b = p.as.read(a[2]!, 32);
    if (!b) return -ERRNO.EFAULT;
    const dv = new DataView(b.buffer, b.byteOffset, 32);
    const x = timespec(dv, 0);
    const y = timespec(dv, 16);
    // Both omitted: nothing to do, and Linux does not even look the path up.
    if (x === 'omit' && y === 'omit') return 0;
    if (x === null || y === null) return -ERRNO.EINVAL;
    at = x;
    mt = y;
  }
  let path: string | number;
  if (a[1] === 0n) {
    // futimens: the fd itself (no flags allowed).
    if (dirfd === -100) return -ERRNO.EFAULT;
    if (flags !== 0) return -ERRNO.EINVAL;
    const f = p.fds.get(dirfd);
    if (!f) return -ERRNO.EBADF;
    if (f.kind !== 'host') return -ERRNO.EINVAL;
    path = `/proc/self/fd/${f.hostFd}`;
  } else {
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -ERRNO.EINVAL;
    const s = readPath(p, a[1]!);
    if (typeof s === 'number') return s;
    path = resolveAt(p, dirfd, s, (flags & AT_EMPTY_PATH) !== 0);
  }
  if (typeof path === 'number') return path;
  const nofollow = (flags & AT_SYMLINK_NOFOLLOW) !== 0 && !/^\/proc\/self\/fd\/\d+$/.test(path);
  // Explicit times need the owner; "now" (UTIME_NOW, or no times) the owner or write access.
  const denied = mayTouch(p.creds, { path, follow: !nofollow }, typeof at === 'bigint' || typeof mt === 'bigint');
  if (denied) return denied;
  const r = setFileTimes(path, nofollow, at, mt);
  if (r === 0) childEvent(subjectAt(path, !nofollow), IN_ATTRIB);
  return r;
};

export const FILETIME_SYSCALLS: Record<number, SyscallDef> = {
  88: { name: 'utimensat', args: 'fspx', fn: sysUtimensat },
};
