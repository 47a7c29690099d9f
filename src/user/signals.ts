// Linux signals for a riscv64 guest: numbers, default actions, the sigaction table, and the
// signal frame (arch/riscv/kernel/signal.c): on the (alternate) stack, 16-byte aligned,
//   struct rt_sigframe { siginfo_t info (128 bytes); struct ucontext uc; }
//   ucontext: uc_flags @0, uc_link @8, uc_stack @16 (ss_sp, ss_flags, ss_size), uc_sigmask @40,
//   padding to @168, uc_mcontext @176 = sigcontext { user_regs_struct (pc, x1..x31) @0;
//   union __riscv_fp_state @256: f[32] (8 bytes each) then fcsr (u32); the q variant's size,
//   528 bytes, with its reserved words zeroed }.
// The handler starts with a0 = signo, a1 = &info, a2 = &uc, sp = the frame, ra = the
// rt_sigreturn trampoline.
import type { AddressSpace } from './address-space.js';
import { SS_DISABLE, SS_ONSTACK, type AltStack, type SigInfo, type Thread } from './thread.js';

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGWINCH = 28;
export const SIGSYS = 31;
export const NSIG = 64;

export const SIG_DFL = 0n;
export const SIG_IGN = 1n;

export const SA_NOCLDSTOP = 0x1;
export const SA_NOCLDWAIT = 0x2;
export const SA_SIGINFO = 0x4;
export const SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000;

/** si_code values. */
export const SI_USER = 0;
export const SI_KERNEL = 0x80;
export const SI_QUEUE = -1;
export const SI_TKILL = -6;
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const ILL_ILLOPC = 1;
export const TRAP_BRKPT = 1;

export const SIGNAL_NAMES = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1',
  'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP',
  'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
];
export const signalName = (n: number): string => SIGNAL_NAMES[n] ?? (n >= 32 && n <= 64 ? `SIGRT${n - 32}` : `signal ${n}`);

export type DefaultAction = 'term' | 'core' | 'ignore' | 'stop' | 'cont';

/** What SIG_DFL does (signal(7)). */
export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case SIGCHLD: case SIGURG: case SIGWINCH: return 'ignore';
    case SIGCONT: return 'cont';
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU: return 'stop';
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE: case SIGSEGV:
    case SIGXCPU: case SIGXFSZ: case SIGSYS: return 'core';
    default: return 'term';
  }
}

export const sigbit = (sig: number): bigint => 1n << BigInt(sig - 1);
/** Signals that can never be blocked or caught. */
export const UNBLOCKABLE = sigbit(SIGKILL) | sigbit(SIGSTOP);
export const ALL_SIGNALS = (1n << 64n) - 1n;

export interface SigAction {
  handler: bigint;
  flags: number;
  mask: bigint;
}

/** The process-wide signal dispositions (shared by all threads, CLONE_SIGHAND). */
export class SignalActions {
  readonly actions: SigAction[] = Array.from({ length: NSIG + 1 }, () => ({ handler: SIG_DFL, flags: 0, mask: 0n }));

  get(sig: number): SigAction {
    return this.actions[sig]!;
  }

  set(sig: number, a: SigAction): void {
    this.actions[sig] = { ...a, mask: a.mask & ~UNBLOCKABLE };
  }

  /** True if a signal sent now would be discarded (ignored, explicitly or by default). */
  ignored(sig: number): boolean {
    const a = this.get(sig);
    // Stop signals are not: their default action stops the process when it is delivered.
    return a.handler === SIG_IGN || (a.handler === SIG_DFL && (defaultAction(sig) === 'ignore' || defaultAction(sig) === 'cont'));
  }

  save(): Array<{ handler: string; flags: number; mask: string }> {
    return this.actions.map((a) => ({ handler: a.handler.toString(), flags: a.flags, mask: a.mask.toString() }));
  }
}

export const SIGINFO_SIZE = 128;
export const UC_STACK = 16;
export const UC_SIGMASK = 40;
export const UC_MCONTEXT = 176;
export const MC_FP = 256;
export const UCONTEXT_SIZE = UC_MCONTEXT + 256 + 528;
export const FRAME_SIZE = SIGINFO_SIZE + UCONTEXT_SIZE;

/** The 128-byte siginfo_t for `info` (generic layout, 64-bit: fields from offset 16). */
export function encodeSiginfo(info: SigInfo): Uint8Array {
  const b = new Uint8Array(SIGINFO_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, info.signo, true);
  dv.setInt32(4, info.errno ?? 0, true);
  dv.setInt32(8, info.code, true);
  if (info.addr !== undefined) dv.setBigUint64(16, BigInt.asUintN(64, info.addr), true);
  else {
    dv.setInt32(16, info.pid ?? 0, true);
    dv.setInt32(20, info.uid ?? 0, true);
    if (info.status !== undefined) dv.setInt32(24, info.status, true);
    else if (info.value !== undefined) dv.setBigUint64(24, BigInt.asUintN(64, info.value), true);
  }
  return b;
}

function onStack(st: AltStack, sp: bigint): boolean {
  return st.size > 0n && sp > st.sp && sp - st.sp <= st.size;
}

/** The ss_flags sigaltstack reports for a thread whose sp is `sp`. */
export function altstackFlags(st: AltStack, sp: bigint): number {
  if (st.flags & SS_DISABLE || st.size === 0n) return SS_DISABLE;
  return onStack(st, sp) ? SS_ONSTACK : 0;
}

/** Builds a signal frame for `info` on the guest stack of `t` and points the hart at the
 *  handler. `oldMask` is the mask the handler's return restores. Returns false if the frame
 *  could not be written (the caller must then kill the process with SIGSEGV, as Linux does). */
export function pushSignalFrame(as: AddressSpace, t: Thread, info: SigInfo, act: SigAction, oldMask: bigint, trampoline: number): boolean {
  const h = t.hart;
  const userSp = h.x(2);
  let sp = userSp;
  if (act.flags & SA_ONSTACK && altstackFlags(t.altstack, userSp) === 0) sp = t.altstack.sp + t.altstack.size;
  else if (onStack(t.altstack, userSp) && !onStack(t.altstack, userSp - BigInt(FRAME_SIZE))) return false;
  const frame = ((sp - BigInt(FRAME_SIZE)) & ~0xfn) & ((1n << 64n) - 1n);
  const b = new Uint8Array(FRAME_SIZE);
  const dv = new DataView(b.buffer);
  b.set(encodeSiginfo(info), 0);
  const uc = SIGINFO_SIZE;
  // uc_flags, uc_link = 0
  dv.setBigUint64(uc + UC_STACK, t.altstack.sp, true);
  dv.setInt32(uc + UC_STACK + 8, altstackFlags(t.altstack, userSp), true);
  dv.setBigUint64(uc + UC_STACK + 16, t.altstack.size, true);
  dv.setBigUint64(uc + UC_SIGMASK, oldMask, true);
  const mc = uc + UC_MCONTEXT;
  dv.setBigUint64(mc, h.pc, true);
  for (let i = 1; i < 32; i++) dv.setBigUint64(mc + i * 8, h.x(i), true);
  for (let i = 0; i < 32; i++) dv.setBigUint64(mc + MC_FP + i * 8, h.f(i), true);
  dv.setUint32(mc + MC_FP + 256, h.fcsr, true);
  if (!as.write(frame, b)) return false;
  h.pc = act.handler;
  h.setX(1, BigInt(trampoline));
  h.setX(2, frame);
  h.setX(10, BigInt(info.signo));
  h.setX(11, frame);
  h.setX(12, frame + BigInt(uc));
  h.clearReservation();
  return true;
}

/** rt_sigreturn: restores registers, FP state, mask and alternate stack from the frame at sp.
 *  Returns false if the frame is unreadable (the caller kills the process with SIGSEGV). */
export function popSignalFrame(as: AddressSpace, t: Thread): boolean {
  const h = t.hart;
  const frame = h.x(2);
  const b = as.read(frame, FRAME_SIZE);
  if (!b) return false;
  const dv = new DataView(b.buffer);
  const uc = SIGINFO_SIZE;
  const mc = uc + UC_MCONTEXT;
  t.sigmask = dv.getBigUint64(uc + UC_SIGMASK, true) & ~UNBLOCKABLE;
  h.pc = dv.getBigUint64(mc, true);
  for (let i = 1; i < 32; i++) h.setX(i, dv.getBigUint64(mc + i * 8, true));
  for (let i = 0; i < 32; i++) h.setF(i, dv.getBigUint64(mc + MC_FP + i * 8, true));
  h.fcsr = dv.getUint32(mc + MC_FP + 256, true);
  // restore_altstack(): like sigaltstack(), refused silently while on the alternate stack.
  const ssSp = dv.getBigUint64(uc + UC_STACK, true);
  const ssFlags = dv.getInt32(uc + UC_STACK + 8, true);
  const ssSize = dv.getBigUint64(uc + UC_STACK + 16, true);
  if (altstackFlags(t.altstack, h.x(2)) !== SS_ONSTACK) {
    if (ssFlags & SS_DISABLE) t.altstack = { sp: 0n, size: 0n, flags: SS_DISABLE };
    else if (ssSize >= 2048n) t.altstack = { sp: ssSp, size: ssSize, flags: 0 };
  }
  h.clearReservation();
  return true;
}
