// Signal system calls: rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigsuspend,
// rt_sigtimedwait, rt_sigqueueinfo, sigaltstack, rt_sigreturn, kill, tkill, tgkill.
import { ERRNO } from '../errno.js';
import { HOST_ROOT, maySignal, maySignalProcess } from '../creds.js';
import { readFileSync } from 'node:fs';
import type { Process } from '../process.js';
import {
  NSIG, SIGKILL, SIGSTOP, SI_TKILL, SI_USER, SIGNAL_NAMES, SIGSEGV, UNBLOCKABLE, popSignalFrame, sigbit, encodeSiginfo,
} from '../signals.js';
import { SS_DISABLE, SS_ONSTACK, type SigInfo, type Thread } from '../thread.js';
import { monotonicNs } from '../clock.js';
import { BLOCKED, NO_RETURN, int, size, type SyscallDef, type SysResult } from './abi.js';
import { readTimespec } from './time.js';

const SIGSET_SIZE = 8;

const validSig = (sig: number): boolean => sig >= 1 && sig <= NSIG;

const sysRtSigaction = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const sig = int(a[0]);
  if (size(a[3]) !== SIGSET_SIZE) return -ERRNO.EINVAL;
  if (!validSig(sig)) return -ERRNO.EINVAL;
  let next: { handler: bigint; flags: number; mask: bigint } | null = null;
  if (a[1] !== 0n) {
    if (sig === SIGKILL || sig === SIGSTOP) return -ERRNO.EINVAL;
    const b = p.as.read(a[1]!, 24);
    if (!b) return -ERRNO.EFAULT;
    const v = new DataView(b.buffer);
    next = { handler: v.getBigUint64(0, true), flags: Number(v.getBigUint64(8, true) & 0xffffffffn), mask: v.getBigUint64(16, true) };
  }
  if (a[2] !== 0n) {
    const cur = p.actions.get(sig);
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, cur.handler, true);
    v.setBigUint64(8, BigInt(cur.flags >>> 0), true);
    v.setBigUint64(16, cur.mask, true);
    if (!p.as.write(a[2]!, b)) return -ERRNO.EFAULT;
  }
  if (next) {
    p.actions.set(sig, next);
    // Setting a signal to be ignored discards it wherever it is pending (POSIX).
    if (p.actions.ignored(sig)) {
      p.pending = p.pending.filter((s) => s.signo !== sig);
      for (const t of p.threads.values()) t.pending = t.pending.filter((s) => s.signo !== sig);
    }
  }
  return 0;
};

const SIG_BLOCK = 0;
const SIG_UNBLOCK = 1;
const SIG_SETMASK = 2;

const sysRtSigprocmask = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const how = int(a[0]);
  if (size(a[3]) !== SIGSET_SIZE) return -ERRNO.EINVAL;
  let set: bigint | null = null;
  if (a[1] !== 0n) {
    set = p.as.readU64(a[1]!);
    if (set === null) return -ERRNO.EFAULT;
    if (how !== SIG_BLOCK && how !== SIG_UNBLOCK && how !== SIG_SETMASK) return -ERRNO.EINVAL;
  }
  if (a[2] !== 0n && !p.as.writeU64(a[2]!, t.sigmask)) return -ERRNO.EFAULT;
  if (set !== null) {
    if (how === SIG_BLOCK) t.sigmask |= set;
    else if (how === SIG_UNBLOCK) t.sigmask &= ~set;
    else t.sigmask = set;
    t.sigmask &= ~UNBLOCKABLE;
  }
  return 0;
};

const sysRtSigpending = (p: Process, t: Thread, a: bigint[]): SysResult => {
  if (size(a[1]) > SIGSET_SIZE) return -ERRNO.EINVAL;
  let set = 0n;
  for (const s of [...t.pending, ...p.pending]) set |= sigbit(s.signo);
  return p.as.writeU64(a[0]!, set & t.sigmask) ? 0 : -ERRNO.EFAULT;
};

const sysRtSigsuspend = (p: Process, t: Thread, a: bigint[]): SysResult => {
  if (size(a[1]) !== SIGSET_SIZE) return -ERRNO.EINVAL;
  const mask = p.as.readU64(a[0]!);
  if (mask === null) return -ERRNO.EFAULT;
  t.savedMask = t.sigmask;
  t.sigmask = mask & ~UNBLOCKABLE;
  p.block(t, { kind: 'sigsuspend' });
  if (p.deliverable(t) !== 0n) p.endWait(t, 'signal');
  return BLOCKED;
};

const sysRtSigtimedwait = (p: Process, t: Thread, a: bigint[]): SysResult => {
  if (size(a[3]) !== SIGSET_SIZE) return -ERRNO.EINVAL;
  const set = p.as.readU64(a[0]!);
  if (set === null) return -ERRNO.EFAULT;
  const want = set & ~UNBLOCKABLE;
  const take = (list: SigInfo[]): SigInfo | undefined => {
    const i = list.findIndex((s) => (sigbit(s.signo) & want) !== 0n);
    return i >= 0 ? list.splice(i, 1)[0] : undefined;
  };
  const got = take(t.pending) ?? take(p.pending);
  if (got) {
    if (a[1] !== 0n && !p.as.write(a[1]!, encodeSiginfo(got))) return -ERRNO.EFAULT;
    return got.signo;
  }
  let deadline: bigint | null = null;
  if (a[2] !== 0n) {
    const ns = readTimespec(p, a[2]!);
    if (typeof ns === 'number') return ns;
    if (ns === 0n) return -ERRNO.EAGAIN;
    deadline = monotonicNs() + ns;
  }
  p.block(t, { kind: 'sigwait', set: want, info: a[1]!, deadline });
  return BLOCKED;
};

/** The real and saved uid of host process `pid` (/proc/PID/status), or null when it is gone. */
function hostIds(pid: number): { ruid: number; suid: number } | null {
  try {
    const m = /^Uid:\s+(\d+)\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? { ruid: Number(m[1]), suid: Number(m[2]) } : null;
  } catch {
    return null;
  }
}

/** kill(2) on another host process: rvisor forwards it by name. While rvisor is root the host
 *  would allow anything, so a guest without CAP_KILL is held to Linux's rule here. */
function killHost(p: Process, pid: number, sig: number): number {
  if (HOST_ROOT && !p.creds.privileged) {
    const ids = hostIds(pid);
    // A host process is never in the guest's session: SIGCONT gets no exception.
    if (ids && !maySignal(p.creds, p.sid, sig, { ...ids, sid: -1 })) return -ERRNO.EPERM;
  }
  try {
    process.kill(pid, sig === 0 ? 0 : (SIGNAL_NAMES[sig] as NodeJS.Signals | undefined) ?? sig);
    return 0;
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === 'EPERM' ? -ERRNO.EPERM : code === 'EINVAL' ? -ERRNO.EINVAL : -ERRNO.ESRCH;
  }
}

/** kill(2): guest processes by pid, by process group (0: the caller's, < -1: -pid's) or all
 *  of them (-1: all but the caller); a pid that is no guest process is a host process, and the
 *  signal is forwarded to it. */
const sysKill = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const pid = int(a[0]);
  const sig = int(a[1]);
  if (sig < 0 || sig > NSIG) return -ERRNO.EINVAL;
  const k = p.kernel;
  let targets: Process[];
  if (pid > 0) {
    const q = k.processes.get(pid);
    if (!q) return killHost(p, pid, sig);
    targets = [q];
  } else {
    const all = [...k.processes.values()].filter((q) => !q.finished);
    if (pid === 0) targets = all.filter((q) => q.pgid === p.pgid);
    else if (pid === -1) targets = all.filter((q) => q !== p);
    else targets = all.filter((q) => q.pgid === -pid);
    if (pid === -1 && targets.length === 0) return 0;
    if (targets.length === 0) return -ERRNO.ESRCH;
  }
  // One target: EPERM without permission. A group: 0 if any member could be signalled. All
  // (-1): those allowed get it, and the call succeeds.
  const allowed = targets.filter((q) => maySignalProcess(p, q, sig));
  if (allowed.length === 0 && pid !== -1) return -ERRNO.EPERM;
  if (sig !== 0) {
    for (const q of allowed) if (!q.finished) q.sendToProcess({ signo: sig, code: SI_USER, pid: p.pid, uid: p.uid });
  }
  return 0;
};

function threadKill(p: Process, tgid: number, tid: number, sig: number): SysResult {
  if (sig < 0 || sig > NSIG || tid <= 0) return -ERRNO.EINVAL;
  const found = p.kernel.findThread(tid);
  if (!found || (tgid !== -1 && tgid !== found[0].pid) || found[0].exitStatus !== null) return -ERRNO.ESRCH;
  const [q, target] = found;
  if (!maySignalProcess(p, q, sig)) return -ERRNO.EPERM;
  if (sig !== 0) q.sendToThread(target, { signo: sig, code: SI_TKILL, pid: p.pid, uid: p.uid });
  return 0;
}

const sysTgkill = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const tgid = int(a[0]);
  if (tgid <= 0) return -ERRNO.EINVAL;
  return threadKill(p, tgid, int(a[1]), int(a[2]));
};
const sysTkill = (p: Process, _t: Thread, a: bigint[]): SysResult => threadKill(p, -1, int(a[0]), int(a[1]));

function readQueuedInfo(p: Process, ptr: bigint, sig: number): SigInfo | number {
  const b = p.as.read(ptr, 128);
  if (!b) return -ERRNO.EFAULT;
  const v = new DataView(b.buffer);
  const code = v.getInt32(8, true);
  if (code >= 0 || code === SI_TKILL) return -ERRNO.EPERM;
  return { signo: sig, code, pid: v.getInt32(16, true), uid: v.getInt32(20, true), value: v.getBigUint64(24, true) };
}

const sysRtSigqueueinfo = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const pid = int(a[0]);
  const sig = int(a[1]);
  if (!validSig(sig)) return -ERRNO.EINVAL;
  const q = p.kernel.live(pid);
  if (!q) return -ERRNO.ESRCH;
  const info = readQueuedInfo(p, a[2]!, sig);
  if (typeof info === 'number') return info;
  if (!maySignalProcess(p, q, sig)) return -ERRNO.EPERM;
  q.sendToProcess(info);
  return 0;
};

const sysRtTgsigqueueinfo = (p: Process, _t: Thread, a: bigint[]): SysResult => {
  const sig = int(a[2]);
  if (!validSig(sig)) return -ERRNO.EINVAL;
  const found = p.kernel.findThread(int(a[1]));
  if (!found || int(a[0]) !== found[0].pid) return -ERRNO.ESRCH;
  const info = readQueuedInfo(p, a[3]!, sig);
  if (typeof info === 'number') return info;
  if (!maySignalProcess(p, found[0], sig)) return -ERRNO.EPERM;
  found[0].sendToThread(found[1], info);
  return 0;
};

const SS_AUTODISARM = 1 << 31;
const MINSIGSTKSZ = 2048n;

const sysSigaltstack = (p: Process, t: Thread, a: bigint[]): SysResult => {
  const onAlt = p.altstackFlags(t) === SS_ONSTACK;
  let next: typeof t.altstack | null = null;
  if (a[0] !== 0n) {
    const b = p.as.read(a[0]!, 24);
    if (!b) return -ERRNO.EFAULT;
    const v = new DataView(b.buffer);
    const sp = v.getBigUint64(0, true);
    const flags = v.getInt32(8, true);
    const sz = v.getBigUint64(16, true);
    if (onAlt) return -ERRNO.EPERM;
    const mode = flags & ~SS_AUTODISARM;
    if (mode !== 0 && mode !== SS_DISABLE && mode !== SS_ONSTACK) return -ERRNO.EINVAL;
    if (mode === SS_DISABLE) next = { sp: 0n, size: 0n, flags: SS_DISABLE };
    else {
      if (sz < MINSIGSTKSZ) return -ERRNO.ENOMEM;
      next = { sp, size: sz, flags: flags & SS_AUTODISARM };
    }
  }
  if (a[1] !== 0n) {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, t.altstack.sp, true);
    v.setInt32(8, p.altstackFlags(t) | (t.altstack.flags & SS_AUTODISARM), true);
    v.setBigUint64(16, t.altstack.size, true);
    if (!p.as.write(a[1]!, b)) return -ERRNO.EFAULT;
  }
  if (next) t.altstack = next;
  return 0;
};

const sysRtSigreturn = (p: Process, t: Thread): SysResult => {
  if (!popSignalFrame(p.as, t)) p.kill(SIGSEGV);
  return NO_RETURN;
};

export const SIGNAL_SYSCALLS: Record<number, SyscallDef> = {
  129: { name: 'kill', args: 'dd', fn: sysKill },
  130: { name: 'tkill', args: 'dd', fn: sysTkill },
  131: { name: 'tgkill', args: 'ddd', fn: sysTgkill },
  132: { name: 'sigaltstack', args: 'pp', fn: sysSigaltstack },
  133: { name: 'rt_sigsuspend', args: 'pu', fn: sysRtSigsuspend },
  134: { name: 'rt_sigaction', args: 'dppu', fn: sysRtSigaction },
  135: { name: 'rt_sigprocmask', args: 'dppu', fn: sysRtSigprocmask },
  136: { name: 'rt_sigpending', args: 'pu', fn: sysRtSigpending },
  137: { name: 'rt_sigtimedwait', args: 'pppu', fn: sysRtSigtimedwait },
  138: { name: 'rt_sigqueueinfo', args: 'ddp', fn: sysRtSigqueueinfo },
  139: { name: 'rt_sigreturn', args: '', fn: sysRtSigreturn },
  240: { name: 'rt_tgsigqueueinfo', args: 'dddp', fn: sysRtTgsigqueueinfo },
};
