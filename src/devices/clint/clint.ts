// Core-Local Interruptor: the SiFive CLINT layout that QEMU's virt board has at 0x0200_0000
// (compatible "sifive,clint0" / "riscv,clint0"), which is an ACLINT MSWI device followed by an
// ACLINT MTIMER device (RISC-V ACLINT spec v1.0-rc4: "MSWI" at offset 0, "MTIMER" with MTIMECMP at
// offset 0x4000 and MTIME at offset 0xbff8).
//
//   0x0000 + 4*h    msip of hart h: bit 0 drives hart h's MSIP (bits 31:1 read 0)
//   0x4000 + 8*h    mtimecmp of hart h, 64-bit, two 32-bit halves (low at +0, high at +4)
//   0xbff8          mtime, 64-bit, two 32-bit halves
// Accesses must be 4 bytes wide and aligned (the bus splits 8-byte accesses into two, low half
// first); anything else, and offsets of harts that do not exist, read 0 and ignore writes.
//
// Time is virtual: mtime is (now() + offset) mod 2^64 where now() is the machine's clock in
// timebase ticks (10 MHz), given at construction. A guest write to either half of mtime sets the
// offset so that mtime reads back the written value and counts on from it (the ACLINT spec makes
// MTIME writable). Note that a 64-bit read of mtime is two 32-bit reads; if now() advances across a
// 2^32 boundary between them the halves tear, as on hardware (software reads high-low-high).
//
// MTIP is not a stored bit: hart h's machine timer interrupt is pending while mtime >= mtimecmp[h]
// (privileged spec, "Machine Timer Registers"). The machine asks timerPending(h, now) when it needs
// MTIP, nextDeadline() for how long a sleeping machine may wait, and is told through the optional
// onTimerChange(h) when a guest write moved a deadline. mtimecmp resets to 2^64 - 1 (the spec
// leaves it unspecified; all-ones means "no timer" so nothing fires before software programs it).

import type { FdtNodeWriter, MmioDevice, Stateful } from '../device.js';
import { RvisorError } from '../../errors.js';
import type { ClintState } from './state.js';

export type { ClintState } from './state.js';

const MSIP_BASE = 0x0000;
const MTIMECMP_BASE = 0x4000;
const MTIME = 0xbff8;
const U64 = (1n << 64n) - 1n;
const LOW = 0xffffffffn;
/** ACLINT limit: 4095 harts per MSWI / MTIMER device. */
const MAX_HARTS = 4095;

export interface ClintOptions {
  harts: number;
  /** The machine's virtual clock in timebase ticks (10 MHz on this board). */
  now(): bigint;
  /** Hart h's MSIP follows `level` (called when a guest write changes msip[h], and on restore). */
  onSoftware(hart: number, level: boolean): void;
  /** Optional: hart h's timer deadline (mtimecmp, or mtime itself) was written by the guest; the
   *  machine re-evaluates MTIP and its sleep deadline. */
  onTimerChange?(hart: number): void;
}

export class Clint implements MmioDevice, Stateful<ClintState> {
  readonly harts: number;
  private readonly now: () => bigint;
  private readonly onSoftware: (hart: number, level: boolean) => void;
  private readonly onTimerChange: ((hart: number) => void) | undefined;
  private msip: Uint8Array;
  private mtimecmp: bigint[];
  private offset = 0n;

  constructor(opts: ClintOptions) {
    if (!Number.isInteger(opts.harts) || opts.harts < 1 || opts.harts > MAX_HARTS) {
      throw new RvisorError('INTERNAL', `clint: ${opts.harts} harts is outside 1..${MAX_HARTS}`);
    }
    this.harts = opts.harts;
    this.now = opts.now;
    this.onSoftware = opts.onSoftware;
    this.onTimerChange = opts.onTimerChange;
    this.msip = new Uint8Array(this.harts);
    this.mtimecmp = new Array<bigint>(this.harts).fill(U64);
  }

  /** mtime as the guest sees it when the machine's clock reads `now` ticks. */
  mtime(now: bigint = this.now()): bigint {
    return (now + this.offset) & U64;
  }

  /** The now() tick at which mtime reads `value` (for deadlines compared against mtime, such as
   *  Sstc's stimecmp); 0 when mtime is already past it. */
  clockAt(value: bigint): bigint {
    const t = value - this.offset;
    return t < 0n ? 0n : t;
  }

  /** mtimecmp of a hart (unsigned 64-bit). */
  timecmp(hart: number): bigint {
    return this.mtimecmp[hart] ?? U64;
  }

  /** Whether hart's MTIP is set at machine time `now` (ticks of the now() clock). */
  timerPending(hart: number, now: bigint): boolean {
    const cmp = this.mtimecmp[hart];
    return cmp !== undefined && this.mtime(now) >= cmp;
  }

  /** Whether hart's MSIP is set. */
  softwarePending(hart: number): boolean {
    return this.msip[hart] === 1;
  }

  /** The earliest now() tick at which some hart's MTIP becomes set (it may be in the past: that
   *  timer is already pending), or undefined when no hart has a timer programmed (all mtimecmp
   *  are 2^64 - 1). With `hart`, that hart's deadline only. */
  nextDeadline(hart?: number): bigint | undefined {
    let best: bigint | undefined;
    const from = hart ?? 0;
    const to = hart === undefined ? this.harts : Math.min(hart + 1, this.harts);
    for (let h = from; h < to; h++) {
      const cmp = this.mtimecmp[h]!;
      if (cmp === U64) continue;
      let t = cmp - this.offset;
      if (t < 0n) t = 0n;
      if (best === undefined || t < best) best = t;
    }
    return best;
  }

  read(offset: number, size: number): number {
    if (size !== 4 || !Number.isInteger(offset) || offset < 0 || offset & 3) return 0;
    if (offset >= MTIME) {
      if (offset > MTIME + 4) return 0;
      const t = this.mtime();
      return Number(offset === MTIME ? t & LOW : t >> 32n);
    }
    if (offset >= MTIMECMP_BASE) {
      const h = (offset - MTIMECMP_BASE) >> 3;
      if (h >= this.harts) return 0;
      const v = this.mtimecmp[h]!;
      return Number(offset & 4 ? v >> 32n : v & LOW);
    }
    const h = (offset - MSIP_BASE) >> 2;
    return h < this.harts ? this.msip[h]! : 0;
  }

  write(offset: number, value: number, size: number): void {
    if (size !== 4 || !Number.isInteger(offset) || offset < 0 || offset & 3) return;
    const v = BigInt(value >>> 0);
    if (offset >= MTIME) {
      if (offset > MTIME + 4) return;
      const now = this.now();
      const t = this.mtime(now);
      const nt = offset === MTIME ? (t & ~LOW) | v : (t & LOW) | (v << 32n);
      this.offset = BigInt.asIntN(64, nt - now);
      for (let h = 0; h < this.harts; h++) this.onTimerChange?.(h);
      return;
    }
    if (offset >= MTIMECMP_BASE) {
      const h = (offset - MTIMECMP_BASE) >> 3;
      if (h >= this.harts) return;
      const old = this.mtimecmp[h]!;
      this.mtimecmp[h] = offset & 4 ? (old & LOW) | (v << 32n) : (old & ~LOW & U64) | v;
      this.onTimerChange?.(h);
      return;
    }
    const h = (offset - MSIP_BASE) >> 2;
    if (h >= this.harts) return;
    const bit = value & 1;
    if (bit !== this.msip[h]) {
      this.msip[h] = bit;
      this.onSoftware(h, bit === 1);
    }
  }

  save(): ClintState {
    return {
      harts: this.harts,
      msip: Array.from(this.msip),
      mtimecmp: this.mtimecmp.map((v) => v.toString()),
      mtimeOffset: this.offset.toString(),
    };
  }

  /** Restores a saved state (from a CLINT with as many harts) and reports every hart's MSIP
   *  through onSoftware and every deadline through onTimerChange. */
  restore(state: ClintState): void {
    const dec = /^(0|[1-9][0-9]*)$/;
    const ok =
      state !== null && typeof state === 'object' && state.harts === this.harts &&
      Array.isArray(state.msip) && state.msip.length === this.harts && state.msip.every((b) => b === 0 || b === 1) &&
      Array.isArray(state.mtimecmp) && state.mtimecmp.length === this.harts &&
      state.mtimecmp.every((s) => typeof s === 'string' && dec.test(s) && BigInt(s) <= U64) &&
      typeof state.mtimeOffset === 'string' && /^-?(0|[1-9][0-9]*)$/.test(state.mtimeOffset) &&
      BigInt.asIntN(64, BigInt(state.mtimeOffset)) === BigInt(state.mtimeOffset);
    if (!ok) throw new RvisorError('INTERNAL', `clint: saved state does not fit a CLINT with ${this.harts} harts`);
    this.msip.set(state.msip);
    this.mtimecmp = state.mtimecmp.map((s) => BigInt(s));
    this.offset = BigInt(state.mtimeOffset);
    for (let h = 0; h < this.harts; h++) {
      this.onSoftware(h, this.msip[h] === 1);
      this.onTimerChange?.(h);
    }
  }
}

export interface ClintFdtOptions {
  base: number;
  size: number;
}

/** The CLINT's device-tree node under /soc (as QEMU virt writes it): per hart h,
 *  interrupts-extended names (cpu-intc, 3 = M software) and (cpu-intc, 7 = M timer). */
export function clintFdtNode(opts: ClintFdtOptions): {
  fdtNode(w: FdtNodeWriter, ctx: { readonly harts: number; cpuIntcPhandle(hart: number): number }): void;
} {
  return {
    fdtNode(w, ctx) {
      const ext: number[] = [];
      for (let h = 0; h < ctx.harts; h++) {
        const intc = ctx.cpuIntcPhandle(h);
        ext.push(intc, 3, intc, 7);
      }
      w.beginNode(`clint@${opts.base.toString(16)}`);
      w.propU32('interrupts-extended', ...ext);
      w.propU64('reg', BigInt(opts.base), BigInt(opts.size));
      w.propString('compatible', 'sifive,clint0', 'riscv,clint0');
      w.endNode();
    },
  };
}
