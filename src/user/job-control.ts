// Job control: process groups and sessions, controlling terminals, and stopping and continuing
// processes, with Linux's rules.
//
// - A stop signal (SIGSTOP, or SIGTSTP/SIGTTIN/SIGTTOU with the default action) stops the whole
//   process when a thread takes it: its threads are no longer scheduled (Process.stopSig), the
//   parent gets SIGCHLD with CLD_STOPPED (unless SA_NOCLDSTOP) and wait with WUNTRACED reports it
//   once (Process.jobEvent). Sending SIGCONT continues a stopped process at once (even if
//   SIGCONT is blocked or ignored), discards its pending stop signals and reports CLD_CONTINUED;
//   sending a stop signal discards a pending SIGCONT.
// - A process's controlling terminal is `Process.ctty` (inherited by fork, dropped by setsid):
//   'host' for the terminal rvisor itself runs on, or an in-rvisor Pty, which records its session
//   and foreground process group. Reading it from a background group raises SIGTTIN, writing it
//   with TOSTOP (and changing its settings) SIGTTOU, to the caller's group, or fails with EIO
//   when that group is orphaned or the signal is ignored/blocked.
// - When a process ends: a session leader's terminal gets SIGHUP to its foreground group and
//   leaves the session; a process group it leaves orphaned that has a stopped member gets SIGHUP
//   and SIGCONT.
import type { Kernel } from './kernel.js';
import type { Process } from './process.js';
import type { Pty } from './pty.js';
import {
  SA_NOCLDSTOP, SIGCHLD, SIGCONT, SIGHUP, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIG_IGN, SI_KERNEL, sigbit,
} from './signals.js';
import type { SigInfo, Thread } from './thread.js';

/** si_code of SIGCHLD for a stop and a continue. */
export const CLD_STOPPED = 5;
export const CLD_CONTINUED = 6;

export type ControllingTty = Pty | 'host' | null;

export const isStopSignal = (sig: number): boolean => sig === SIGSTOP || sig === SIGTSTP || sig === SIGTTIN || sig === SIGTTOU;

/** The live (not yet ended) processes of a group. */
export function pgrpMembers(k: Kernel, pgid: number): Process[] {
  return [...k.processes.values()].filter((q) => q.pgid === pgid && !q.finished && q.exitStatus === null);
}

/** Sends a signal to every process of a group (kill(-pgid), terminal signals). */
export function signalPgrp(k: Kernel, pgid: number, info: SigInfo): void {
  for (const q of pgrpMembers(k, pgid)) q.sendToProcess({ ...info });
}

/** Is process group `pgid` orphaned: no member has a parent in another group of the same
 *  session? The first process's parent (the host's process that started rvisor) counts as
 *  such a parent: rvisor runs as a job of the host's session. */
export function isOrphanedPgrp(k: Kernel, pgid: number): boolean {
  for (const q of pgrpMembers(k, pgid)) {
    if (q === k.init) return false;
    const par = q.parent;
    if (par && !par.finished && par.pgid !== pgid && par.sid === q.sid) return false;
  }
  return true;
}

/** Tells the parent of `q` that it stopped or continued: SIGCHLD (unless it ignores SIGCHLD or
 *  set SA_NOCLDSTOP) and a wake-up for its waits. */
function notifyParent(q: Process, code: number, status: number): void {
  // Waits are woken first: a wait that can now report this child returns it (the SIGCHLD
  // handler runs before its return), as on Linux, instead of failing with EINTR.
  q.kernel.wakeRetriers();
  const par = q.parent;
  if (par && !par.finished && par.exitStatus === null) {
    const act = par.actions.get(SIGCHLD);
    if (act.handler !== SIG_IGN && !(act.flags & SA_NOCLDSTOP)) {
      par.sendToProcess({ signo: SIGCHLD, code, pid: q.pid, uid: q.uid, status });
    }
  }
}

/** Continued processes whose parent has not been sent CLD_CONTINUED yet. */
const continuedUnreported = new WeakSet<Process>();

/** A process is about to run: a continue not reported yet goes to its parent (SIGCHLD). */
export function reportContinued(p: Process): void {
  if (!continuedUnreported.delete(p)) return;
  notifyParent(p, CLD_CONTINUED, SIGCONT);
}

/** The stop signal `sig` takes effect (a thread of `p` dequeued it with the default action). */
export function stopProcess(p: Process, sig: number): void {
  if (p.exitStatus !== null) return;
  p.stopSig = sig;
  p.jobEvent = { kind: 'stopped', sig };
  p.yieldRequested = true;
  notifyParent(p, CLD_STOPPED, sig);
}

/** Should a stop signal with the default action be discarded instead (SIGTSTP, SIGTTIN and
 *  SIGTTOU do nothing to a process in an orphaned process group)? */
export function stopDiscarded(p: Process, sig: number): boolean {
  return sig !== SIGSTOP && isOrphanedPgrp(p.kernel, p.pgid);
}

/** What generating `sig` for `p` does before it is queued: SIGCONT continues a stopped process
 *  and discards pending stop signals; a stop signal discards a pending SIGCONT. */
export function signalGenerated(p: Process, sig: number): void {
  if (sig === SIGCONT) {
    const stops = sigbit(SIGSTOP) | sigbit(SIGTSTP) | sigbit(SIGTTIN) | sigbit(SIGTTOU);
    const keep = (s: SigInfo): boolean => (sigbit(s.signo) & stops) === 0n;
    p.pending = p.pending.filter(keep);
    for (const t of p.threads.values()) t.pending = t.pending.filter(keep);
    if (p.stopSig !== 0 && p.exitStatus === null) {
      p.stopSig = 0;
      p.jobEvent = { kind: 'continued' };
      // wait(WCONTINUED) sees it now; SIGCHLD is sent when the process runs again, as on Linux.
      continuedUnreported.add(p);
      p.kernel.wakeRetriers();
    }
  } else if (isStopSignal(sig)) {
    p.pending = p.pending.filter((s) => s.signo !== SIGCONT);
    for (const t of p.threads.values()) t.pending = t.pending.filter((s) => s.signo !== SIGCONT);
  }
}

// ---- controlling terminals ---------------------------------------------------------------------

/** Makes `pty` the controlling terminal of the session `p` leads (open without O_NOCTTY,
 *  TIOCSCTTY): every process of the session that has none gets it. */
export function acquireCtty(p: Process, pty: Pty): void {
  pty.session = p.sid;
  pty.fgPgrp = p.pgid;
  p.ctty = pty;
}

/** Would opening `pty` make it the caller's controlling terminal (a session leader without
 *  one, and the terminal belongs to no session)? */
export function mayAcquireOnOpen(p: Process, pty: Pty): boolean {
  return p.sid === p.pid && p.ctty === null && pty.session === 0;
}

/** The session of `pty` loses it: no process has it as controlling terminal any more. */
export function clearSessionTty(k: Kernel, pty: Pty): void {
  for (const q of k.processes.values()) if (q.ctty === pty) q.ctty = null;
  pty.session = 0;
  pty.fgPgrp = 0;
}

/** The master of `pty` was closed (the slave hangs up): the session leader gets SIGHUP and
 *  SIGCONT, and the session loses its terminal. */
export function hangup(k: Kernel, pty: Pty): void {
  const sid = pty.session;
  if (sid !== 0) {
    const leader = k.processes.get(sid);
    if (leader && !leader.finished && leader.exitStatus === null && leader.ctty === pty) {
      leader.sendToProcess({ signo: SIGHUP, code: SI_KERNEL });
      leader.sendToProcess({ signo: SIGCONT, code: SI_KERNEL });
    }
  }
  clearSessionTty(k, pty);
  k.wakeRetriers();
}

/** TIOCNOTTY: the caller gives up its controlling terminal; a session leader takes it from the
 *  whole session, and the foreground group gets SIGHUP and SIGCONT. */
export function dropCtty(p: Process, pty: Pty): void {
  if (p.sid !== p.pid) {
    p.ctty = null;
    return;
  }
  if (pty.fgPgrp) {
    signalPgrp(p.kernel, pty.fgPgrp, { signo: SIGHUP, code: SI_KERNEL });
    signalPgrp(p.kernel, pty.fgPgrp, { signo: SIGCONT, code: SI_KERNEL });
  }
  clearSessionTty(p.kernel, pty);
}

/** Is the signal ignored or blocked by the calling thread (the job control checks skip it)? */
function ignoredOrBlocked(p: Process, t: Thread, sig: number): boolean {
  return p.actions.get(sig).handler === SIG_IGN || (t.sigmask & sigbit(sig)) !== 0n;
}

/** The job control check before using the controlling terminal from a process group that is not
 *  in the foreground (Linux's tty_check_change): 0 to go on, -EIO, or 'signal' when SIGTTIN or
 *  SIGTTOU was sent to the caller's group (the call is restarted once the group runs again). */
export function ttyAccessCheck(p: Process, t: Thread, pty: Pty, sig: number): 0 | 'eio' | 'signal' {
  if (p.ctty !== pty || pty.fgPgrp === 0 || p.pgid === pty.fgPgrp) return 0;
  if (ignoredOrBlocked(p, t, sig)) return sig === SIGTTIN ? 'eio' : 0;
  if (isOrphanedPgrp(p.kernel, p.pgid)) return 'eio';
  signalPgrp(p.kernel, p.pgid, { signo: sig, code: SI_KERNEL });
  return 'signal';
}

// ---- the end of a process ------------------------------------------------------------------------

/** Job control consequences of the end of `q` (called by Kernel.finish, after its children
 *  were reparented): the terminal of a session leader, orphaned process groups. */
export function processEnded(k: Kernel, q: Process, formerChildren: Process[]): void {
  const tty = q.ctty;
  if (q.sid === q.pid && tty !== null && tty !== 'host' && tty.session === q.sid) {
    if (tty.fgPgrp) signalPgrp(k, tty.fgPgrp, { signo: SIGHUP, code: SI_KERNEL });
    clearSessionTty(k, tty);
  }
  q.ctty = null;
  const check = (pgid: number, par: Process | null, sid: number): void => {
    if (!par || par.pgid === pgid || par.sid !== sid) return;
    if (!isOrphanedPgrp(k, pgid)) return;
    const members = pgrpMembers(k, pgid);
    if (!members.some((m) => m.stopSig !== 0)) return;
    for (const m of members) m.sendToProcess({ signo: SIGHUP, code: SI_KERNEL });
    for (const m of members) m.sendToProcess({ signo: SIGCONT, code: SI_KERNEL });
  };
  check(q.pgid, q.parent, q.sid);
  for (const c of formerChildren) if (!c.finished) check(c.pgid, q, c.sid);
}

// ---- the host's terminal -------------------------------------------------------------------------

/** The foreground process group rvisor reports for the host terminal it runs on (the first
 *  process's group until a guest in that session sets another with tcsetpgrp). */
const hostForeground = new WeakMap<Kernel, number>();

export function hostTtyForeground(k: Kernel): number {
  return hostForeground.get(k) ?? k.init?.pgid ?? 0;
}

/** TIOCSPGRP on the host terminal: the same checks as on a pty (the caller's controlling
 *  terminal, a group of its session), without changing the host's own foreground group. */
export function setHostTtyForeground(p: Process, pgrp: number): number {
  if (p.ctty !== 'host' || p.sid !== p.kernel.init?.sid) return -25; // ENOTTY
  if (pgrp < 0) return -22; // EINVAL
  const procs = [...p.kernel.processes.values()];
  const g = procs.find((q) => q.pgid === pgrp) ?? procs.find((q) => q.pid === pgrp);
  if (!g) return -3; // ESRCH
  if (g.sid !== p.sid) return -1; // EPERM
  hostForeground.set(p.kernel, pgrp);
  return 0;
}
