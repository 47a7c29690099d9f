// --strace: one line per system call on stderr, in the spirit of qemu-user's -strace:
//   TID name(arg, ...) = result     (errors as "-1 errno=N (ENAME)")
// A call that blocks is printed when it completes; a call that is restarted is printed once.
import { writeSync } from 'node:fs';
import type { AddressSpace } from './address-space.js';
import { errnoName } from './errno.js';
import type { SyscallDef } from './syscalls/abi.js';
import type { Thread } from './thread.js';

export class Strace {
  /** The text of calls that blocked, by thread, until they complete. */
  private readonly waiting = new Map<number, string>();

  constructor(private as: AddressSpace, private readonly fd = 2) {}

  /** A tracer for another process (a forked child) writing to the same fd. */
  forAddressSpace(as: AddressSpace): Strace {
    return new Strace(as, this.fd);
  }

  /** The process's address space was replaced (execve). */
  setAddressSpace(as: AddressSpace): void {
    this.as = as;
  }

  private out(line: string): void {
    try {
      writeSync(this.fd, line + '\n');
    } catch {
      // stderr is gone: nothing to report to.
    }
  }

  formatCall(nr: number, def: SyscallDef | undefined, a: bigint[]): string {
    if (!def) return `syscall_${nr}(${a.map((v) => '0x' + v.toString(16)).join(',')})`;
    const parts: string[] = [];
    for (let i = 0; i < def.args.length; i++) parts.push(this.formatArg(def.args[i]!, a[i] ?? 0n));
    return `${def.name}(${parts.join(',')})`;
  }

  private formatArg(kind: string, v: bigint): string {
    switch (kind) {
      case 'd':
        return String(BigInt.asIntN(32, v));
      case 'D':
        return String(BigInt.asIntN(64, v));
      case 'u':
        return String(v);
      case 'x':
        return '0x' + v.toString(16);
      case 'o':
        return '0' + v.toString(8);
      case 'f':
        return BigInt.asIntN(32, v) === -100n ? 'AT_FDCWD' : String(BigInt.asIntN(32, v));
      case 's': {
        if (v === 0n) return 'NULL';
        const s = this.as.readCString(v, 256);
        if (typeof s === 'number') return '0x' + v.toString(16);
        return JSON.stringify(new TextDecoder().decode(s));
      }
      default:
        return v === 0n ? 'NULL' : '0x' + v.toString(16);
    }
  }

  static formatResult(r: number | bigint): string {
    const n = typeof r === 'bigint' ? BigInt.asIntN(64, r) : BigInt(r);
    if (n < 0n && n >= -4095n) return `-1 errno=${-n} (${errnoName(Number(-n))})`;
    if (n > 0xffffn || n < -0xffffn) return '0x' + BigInt.asUintN(64, n).toString(16);
    return String(n);
  }

  /** A system call starts (its text is kept until it completes, even if it blocks). */
  begin(t: Thread, call: string): void {
    this.waiting.set(t.tid, call);
  }

  /** The call of `t` returned `r` (at once, or after blocking). */
  done(t: Thread, r: number | bigint): void {
    const call = this.waiting.get(t.tid);
    this.waiting.delete(t.tid);
    if (call !== undefined) this.out(`${t.tid} ${call} = ${Strace.formatResult(r)}`);
  }

  /** The call of `t` does not return to its caller (exit, rt_sigreturn). */
  noReturn(t: Thread): void {
    const call = this.waiting.get(t.tid);
    this.waiting.delete(t.tid);
    if (call !== undefined) this.out(`${t.tid} ${call}`);
  }

  note(t: Thread | null, text: string): void {
    this.out(`${t?.tid ?? '-'} ${text}`);
  }
}
