// Processes making processes: the fork side of clone (fork, vfork, clone without CLONE_VM),
// execve and execveat, wait4 and waitid. vfork is a copy-on-write fork whose parent is held
// until the child execs or ends (what qemu-user also does instead of sharing the memory).
import { MAY_EXEC, execCreds, mayAccessFile } from '../dac.js';
import { accessSync, constants, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { RvisorError } from '../../errors.js';
import { ERRNO, hostErrno } from '../errno.js';
import { execHost, isHostElf } from '../host-exec.js';
import { CLD_EXITED, CLD_KILLED } from '../kernel.js';
import { auxvFor } from '../launch.js';
import { loadProgram } from '../loader.js';
import { resolveAt } from '../paths.js';
import { pidfdWaitTarget } from './fdkinds.js';
import type { Process } from '../process.js';
import { SIGCHLD, SIGCONT } from '../signals.js';
import { imageLayout } from '../procfs-files.js';
import { CLD_CONTINUED, CLD_STOPPED } from '../job-control.js';
import { buildStack, cstr } from '../stack.js';
import { encodeRusage, noteReaped, usageOfZombie } from '../usage.js';
import type { Thread } from '../thread.js';
import { AT_FDCWD, BLOCKED, NO_RETURN, int, u32, type SyscallDef, type SysResult } from './abi.js';

const CLONE_VM = 0x100;
const CLONE_SIGHAND = 0x800;
const CLONE_VFORK = 0x4000;
const CLONE_THREAD = 0x10000;
const CLONE_SETTLS = 0x80000;
const CLONE_PARENT_SETTID = 0x100000;
const CLONE_CHILD_CLEARTID = 0x200000;
const CLONE_CHILD_SETTID = 0x01000000;

/** clone without CLONE_VM, or with CLONE_VFORK: a new process. */
export function cloneProcess(p: Process, t: Thread, flags: number, newsp: bigint, ptid: bigint, tls: bigint, ctid: bigint): SysResult {
  if (flags & CLONE_THREAD || (flags & CLONE_SIGHAND && !(flags & CLONE_VM))) return -ERRNO.EINVAL;
  let forked;
  try {
    forked = p.fork(t);
  } catch (e) {
    if (e instanceof RvisorError && e.code === 'ENOMEM_HOST') return -ERRNO.EAGAIN;
    throw e;
  }
  const { child: c, thread: ct } = forked;
  c.exitSignal = flags & 0xff;
  const h = ct.hart;
  h.pc = t.hart.pc + 4n;
  h.setX(10, 0n);
  if (newsp !== 0n) h.setX(2, newsp);
  if (flags & CLONE_SETTLS) h.setX(4, tls);
  if (flags & CLONE_CHILD_SETTID) c.as.writeU32(ctid, c.pid);
  if (flags & CLONE_CHILD_CLEARTID) ct.clearChildTid = ctid;
  if (flags & CLONE_PARENT_SETTID) p.as.writeU32(ptid, c.pid);
  p.config.strace?.note(t, `--- process ${c.pid} forked ---`);
  // The child runs next (as it would at once on another CPU): a parent that goes on to signal it
  // (a shell's job control) then finds it past its setup, as on Linux.
  p.yieldRequested = true;
  if (flags & CLONE_VFORK) {
    c.vforkParent = { pid: p.pid, tid: t.tid };
    p.block(t, { kind: 'vfork', child: c.pid });
    return BLOCKED;
  }
  return c.pid;
}

// ---- execve ---------------------------------------------------------------------------------

const ARG_MAX = 2 * 1048576;

/** Reads a NULL-terminated array of C strings (argv, envp). */
function readStrings(p: Process, ptr: bigint, budget: { left: number }): Uint8Array[] | number {
  const out: Uint8Array[] = [];
  if (ptr === 0n) return out;
  for (let i = 0n; ; i++) {
    const v = p.as.readU64(ptr + 8n * i);
    if (v === null) return -ERRNO.EFAULT;
    if (v === 0n) return out;
    const s = p.as.readCString(v, 131072);
    if (typeof s === 'number') return s === -ERRNO.ENAMETOOLONG ? -ERRNO.E2BIG : s;
    budget.left -= s.length + 1 + 8;
    if (budget.left < 0) return -ERRNO.E2BIG;
    out.push(s);
  }
}

const decoder = new TextDecoder();

/** Loads `hostPath` (the guest named it `guestPath`) into a new address space and, if that
 *  works, makes it the image of `p`. A failure leaves the process as it was. */
function execFile(p: Process, t: Thread, hostPath: string, guestPath: string, argv: Uint8Array[], envp: Uint8Array[], depth: number): SysResult {
  const denied = mayAccessFile(p.creds, hostPath, MAY_EXEC);
  if (denied) return denied;
  let data: Uint8Array;
  let st: Stats;
  try {
    st = statSync(hostPath);
    if (!st.isFile()) return -ERRNO.EACCES;
    accessSync(hostPath, constants.X_OK);
    data = readFileSync(hostPath);
  } catch (e) {
    return hostErrno(e);
  }
  if (data[0] === 0x23 && data[1] === 0x21) {
    // "#!interpreter [one argument]": run the interpreter with the script's path.
    if (depth >= 4) return -ERRNO.ELOOP;
    let end = data.indexOf(0x0a);
    if (end < 0) end = Math.min(data.length, 256);
    const line = decoder.decode(data.subarray(2, end)).trim();
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) return -ERRNO.ENOEXEC;
    const interp = m[1]!;
    const nargv = [cstr(interp), ...(m[2] ? [cstr(m[2].trim())] : []), cstr(guestPath), ...argv.slice(1)];
    const ihost = resolveAt(p, AT_FDCWD, interp);
    if (typeof ihost === 'number') return ihost;
    return execFile(p, t, ihost, interp, nargv, envp, depth + 1);
  }
  if (isHostElf(data)) {
    const r = execHost(p, t, hostPath, argv, envp);
    return r < 0 ? r : NO_RETURN;
  }
  if (data.length < 4 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) return -ERRNO.ENOEXEC;
  const as = p.newAddressSpace();
  let loaded;
  try {
    loaded = loadProgram(as, hostPath, p.config.sysroot);
  } catch (e) {
    as.onShrink = () => {};
    as.destroy();
    if (e instanceof RvisorError) {
      if (e.code === 'ELF_INTERP') return -ERRNO.ENOENT;
      if (e.code === 'ENOMEM_HOST') return -ERRNO.ENOMEM;
      if (e.code === 'ENOENT_FILE') return -ERRNO.ENOENT;
      return -ERRNO.ENOEXEC;
    }
    throw e;
  }
  const stack = buildStack(as, {
    argv,
    envp,
    execfn: cstr(guestPath),
    auxv: auxvFor(p, loaded),
    random: new Uint8Array(randomBytes(16)),
  });
  let exe = hostPath;
  try {
    exe = realpathSync(hostPath);
  } catch {
    // keep the path as given
  }
  execCreds(p.creds, hostPath, st!, p.prctl.noNewPrivs);
  const main = p.replaceImage(t, as, exe);
  p.config.image = imageLayout(stack, guestPath);
  main.hart.pc = BigInt(loaded.startPc);
  main.hart.setX(2, BigInt(stack.sp));
  p.config.strace?.note(main, `--- execve ${JSON.stringify(guestPath)} ---`);
  return NO_RETURN;
}

function execve(p: Process, t: Thread, dirfd: number, pathPtr: bigint, argvPtr: bigint, envpPtr: bigint, flags: number): SysResult {
  const AT_EMPTY_PATH = 0x1000;
  const AT_SYMLINK_NOFOLLOW = 0x100;
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -ERRNO.EINVAL;
  const raw = p.as.readCString(pathPtr, 4096);
  if (typeof raw === 'number') return raw;
  const path = decoder.decode(raw);
  const budget = { left: ARG_MAX };
  const argv = readStrings(p, argvPtr, budget);
  if (typeof argv === 'number') return argv;
  const envp = readStrings(p, envpPtr, budget);
  if (typeof envp === 'number') return envp;
  const host = resolveAt(p, dirfd, path, (flags & AT_EMPTY_PATH) !== 0);
  if (typeof host === 'number') return host;
  return execFile(p, t, host, path, argv, envp, 0);
}

const sysExecve = (p: Process, t: Thread, a: bigint[]): SysResult => execve(p, t, AT_FDCWD, a[0]!, a[1]!, a[2]!, 0);
const sysExecveat = (p: Process, t: Thread, a: bigint[]): SysResult => execve(p, t, int(a[0]), a[1]!, a[2]!, a[3]!, int(a[4]));

// ---- wait4, waitid --------------------------------------------------------------------------

const WNOHANG = 1;
const WSTOPPED = 2;
const WEXITED = 4;
const WCONTINUED = 8;
const WNOWAIT = 0x01000000;
const __WNOTHREAD = 0x20000000;
const __WALL = 0x40000000;
const __WCLONE = 0x80000000;

/** The children of `p` a wait with selector `which` and `options` considers. */
function candidates(p: Process, which: (q: Process) => boolean, options: number): Process[] {
  return p.kernel.children(p).filter((q) => {
    if (!which(q)) return false;
    if (options & __WALL) return true;
    const clone = q.exitSignal !== SIGCHLD;
    return (options & __WCLONE) !== 0 ? clone : !clone;
  });
}

/** What a wait reports about a child: its end, or (WUNTRACED/WSTOPPED, WCONTINUED) a stop or
 *  continue not collected yet. */
interface WaitReport {
  q: Process;
  kind: 'exited' | 'stopped' | 'continued';
}

/** Either a child to report, 0 (WNOHANG, none yet), -ECHILD, or BLOCKED. Children are looked at
 *  oldest first; for each, its end first, then a stop, then a continue (as Linux does). */
function waitFor(p: Process, t: Thread, which: (q: Process) => boolean, options: number, exits = true): WaitReport | number | typeof BLOCKED {
  const kids = candidates(p, which, options);
  if (kids.length === 0) return -ERRNO.ECHILD;
  for (const q of kids) {
    if (q.finished) {
      if (exits) return { q, kind: 'exited' };
      continue;
    }
    const ev = q.jobEvent;
    if (ev?.kind === 'stopped' && options & WSTOPPED && q.stopSig !== 0) return { q, kind: 'stopped' };
    if (ev?.kind === 'continued' && options & WCONTINUED) return { q, kind: 'continued' };
  }
  if (options & WNOHANG) return 0;
  p.block(t, { kind: 'retry', deadline: null });
  return BLOCKED;
}

function selector(p: Process, pid: number): (q: Process) => boolean {
  if (pid < -1) return (q) => q.pgid === -pid;
  if (pid === -1) return () => true;
  if (pid === 0) return (q) => q.pgid === p.pgid;
  return (q) => q.pid === pid;
}

const RUSAGE_SIZE = 144;

const sysWait4 = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const pid = int(a[0]);
  const options = u32(a[2]);
  if (options & ~(WNOHANG | WSTOPPED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) return -ERRNO.EINVAL;
  const r = waitFor(p, t, selector(p, pid), options);
  if (typeof r === 'number' || r === BLOCKED) return r;
  const { q, kind } = r;
  const status = kind === 'exited' ? q.waitStatus() : kind === 'stopped' ? ((q.stopSig & 0xff) << 8) | 0x7f : 0xffff;
  if (a[1] !== 0n && !p.as.writeU32(a[1]!, status)) return -ERRNO.EFAULT;
  if (a[3] !== 0n && !p.as.write(a[3]!, kind === 'exited' ? encodeRusage(usageOfZombie(q)) : new Uint8Array(RUSAGE_SIZE))) return -ERRNO.EFAULT;
  if (kind === 'exited') {
    noteReaped(p, q);
    p.kernel.reap(q);
  } else q.jobEvent = null;
  return q.pid;
};

const P_ALL = 0;
const P_PID = 1;
const P_PGID = 2;
const P_PIDFD = 3;

const sysWaitid = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const idtype = int(a[0]);
  const id = int(a[1]);
  const options = u32(a[3]);
  if (options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE)) return -ERRNO.EINVAL;
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return -ERRNO.EINVAL;
  let which: (q: Process) => boolean;
  if (idtype === P_ALL) which = () => true;
  else if (idtype === P_PID) {
    if (id <= 0) return -ERRNO.EINVAL;
    which = (q) => q.pid === id;
  } else if (idtype === P_PGID) {
    if (id < 0) return -ERRNO.EINVAL;
    const g = id === 0 ? p.pgid : id;
    which = (q) => q.pgid === g;
  } else if (idtype === P_PIDFD) {
    const target = pidfdWaitTarget(p, id);
    if (typeof target === 'number') return target;
    which = (q) => q.pid === target.pid;
    if (target.nonblock && !(options & WNOHANG)) {
      // A non-blocking pidfd: EAGAIN instead of waiting.
      const kids = candidates(p, which, options);
      if (kids.length > 0 && !kids.some((q) => q.finished)) return -ERRNO.EAGAIN;
    }
  } else return -ERRNO.EINVAL;
  const r = waitFor(p, t, which, options, (options & WEXITED) !== 0);
  if (r === BLOCKED) return r;
  const info = new Uint8Array(128);
  if (typeof r !== 'number') {
    const { q, kind } = r;
    const v = new DataView(info.buffer);
    v.setInt32(0, SIGCHLD, true);
    // No core dumps (RLIMIT_CORE 0).
    const code = kind === 'stopped' ? CLD_STOPPED : kind === 'continued' ? CLD_CONTINUED : q.killedBy ? CLD_KILLED : CLD_EXITED;
    v.setInt32(8, code, true);
    v.setInt32(16, q.pid, true);
    v.setInt32(20, q.uid, true);
    const status = kind === 'stopped' ? q.stopSig : kind === 'continued' ? SIGCONT : q.killedBy || (q.exitStatus ?? 0);
    v.setInt32(24, status, true);
  } else if (r < 0) return r;
  if (a[2] !== 0n && !p.as.write(a[2]!, info)) return -ERRNO.EFAULT;
  const ru = typeof r !== 'number' && r.kind === 'exited' ? encodeRusage(usageOfZombie(r.q)) : new Uint8Array(RUSAGE_SIZE);
  if (a[4] !== 0n && !p.as.write(a[4]!, ru)) return -ERRNO.EFAULT;
  if (typeof r !== 'number' && !(options & WNOWAIT)) {
    if (r.kind === 'exited') {
      noteReaped(p, r.q);
      p.kernel.reap(r.q);
    } else r.q.jobEvent = null;
  }
  return 0;
};

export const CHILD_SYSCALLS: Record<number, SyscallDef> = {
  95: { name: 'waitid', args: 'ddpxp', fn: sysWaitid },
  221: { name: 'execve', args: 'spp', fn: sysExecve },
  260: { name: 'wait4', args: 'dpxp', fn: sysWait4 },
  281: { name: 'execveat', args: 'dsppx', fn: sysExecveat },
};

