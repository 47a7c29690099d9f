// A hart's architectural state as plain numbers at known offsets in the shared memory
// (layout.ts). This class is only a typed window onto those bytes: it holds no state itself.
import type { HostMemory } from '../memory/host-memory.js';
import * as L from './layout.js';
import {
  HART_CAUSE, HART_F, HART_FCSR, HART_INSTRET, HART_PC,
  HART_RESERVATION, HART_TIME, HART_TLB, HART_TVAL, HART_X, TLB_ENTRIES, TLB_ENTRY_SIZE, HART_MSTATUS,
  HART_MCOUNTEREN, HART_SCOUNTEREN, HART_MISA, HART_BCACHE, HART_JIT_THRESHOLD,
} from './layout.js';

/** Everything a snapshot of a hart needs (the TLB and the Core's code cache are derived state): the
 *  registers, and the privileged state by CSR name, all 64-bit values as hex strings (lossless). */
export interface HartState {
  x: string[];
  f: string[];
  pc: string;
  fcsr: number;
  instret: string;
  priv: Record<string, string>;
  pmpcfg: string[];
  pmpaddr: string[];
}

/** The privileged fields of a hart saved by name (layout.ts offsets). */
const PRIV_FIELDS: readonly (readonly [string, number])[] = [
  ['priv', L.HART_PRIV], ['flags', L.HART_FLAGS], ['mstatus', L.HART_MSTATUS], ['misa', L.HART_MISA],
  ['medeleg', L.HART_MEDELEG], ['mideleg', L.HART_MIDELEG], ['mie', L.HART_MIE], ['mip', L.HART_MIP],
  ['mipHost', L.HART_MIP_HOST], ['mtvec', L.HART_MTVEC], ['mcounteren', L.HART_MCOUNTEREN],
  ['menvcfg', L.HART_MENVCFG], ['mscratch', L.HART_MSCRATCH], ['mepc', L.HART_MEPC], ['mcause', L.HART_MCAUSE],
  ['mtval', L.HART_MTVAL], ['stvec', L.HART_STVEC], ['scounteren', L.HART_SCOUNTEREN], ['senvcfg', L.HART_SENVCFG],
  ['sscratch', L.HART_SSCRATCH], ['sepc', L.HART_SEPC], ['scause', L.HART_SCAUSE], ['stval', L.HART_STVAL],
  ['satp', L.HART_SATP], ['stimecmp', L.HART_STIMECMP], ['mhartid', L.HART_MHARTID],
  ['mcountinhibit', L.HART_MCOUNTINHIBIT], ['minstretOff', L.HART_MINSTRET_OFF], ['mcycleOff', L.HART_MCYCLE_OFF],
  ['minstretFrozen', L.HART_MINSTRET_FROZEN], ['mcycleFrozen', L.HART_MCYCLE_FROZEN],
  ['p2m', L.HART_P2M], ['ramBase', L.HART_RAM_BASE], ['ramSize', L.HART_RAM_SIZE],
];

/** misa of an RV64GC hart with S and U modes: MXL=2, extensions A C D F I M S U (section 3.1.1). */
export const MISA_RV64GC = (2n << 62n) | 0x14112dn;

const hex = (v: bigint): string => '0x' + v.toString(16);

export class Hart {
  constructor(private readonly mem: HostMemory, readonly base: number) {}

  x(i: number): bigint {
    return this.mem.view.getBigUint64(this.base + HART_X + i * 8, true);
  }
  /** Signed view of register i. */
  xs(i: number): bigint {
    return this.mem.view.getBigInt64(this.base + HART_X + i * 8, true);
  }
  setX(i: number, v: bigint): void {
    if (i !== 0) this.mem.view.setBigUint64(this.base + HART_X + i * 8, BigInt.asUintN(64, v), true);
  }
  f(i: number): bigint {
    return this.mem.view.getBigUint64(this.base + HART_F + i * 8, true);
  }
  setF(i: number, v: bigint): void {
    this.mem.view.setBigUint64(this.base + HART_F + i * 8, BigInt.asUintN(64, v), true);
  }
  get pc(): bigint {
    return this.mem.view.getBigUint64(this.base + HART_PC, true);
  }
  set pc(v: bigint) {
    this.mem.view.setBigUint64(this.base + HART_PC, BigInt.asUintN(64, v), true);
  }
  get fcsr(): number {
    return this.mem.view.getUint32(this.base + HART_FCSR, true);
  }
  set fcsr(v: number) {
    this.mem.view.setUint32(this.base + HART_FCSR, v & 0xff, true);
  }
  get instret(): bigint {
    return this.mem.view.getBigUint64(this.base + HART_INSTRET, true);
  }
  set instret(v: bigint) {
    this.mem.view.setBigUint64(this.base + HART_INSTRET, v, true);
  }
  /** Exception cause of the last STOP_TRAP. */
  get cause(): number {
    return Number(this.mem.view.getBigUint64(this.base + HART_CAUSE, true));
  }
  /** Trap value of the last STOP_TRAP (faulting address, or the instruction bits). */
  get tval(): bigint {
    return this.mem.view.getBigUint64(this.base + HART_TVAL, true);
  }
  /** Value rdtime returns during the next slice. */
  set time(v: bigint) {
    this.mem.view.setBigUint64(this.base + HART_TIME, v, true);
  }
  /** Drops any LR reservation (on a context switch or a signal). */
  clearReservation(): void {
    this.mem.view.setBigInt64(this.base + HART_RESERVATION, -1n, true);
  }

  /** Zeroes registers and invalidates TLB and fetch page (the code cache it runs with is the
   *  Core's, and stays). The hart starts as a
   *  process-VM hart: U-mode, FP on (mstatus.FS = Dirty), counters readable, no system flags. A
   *  system VM then sets its own reset state (src/machine/). */
  reset(): void {
    const v = this.mem.view;
    const cache = v.getUint32(this.base + HART_BCACHE, true); // the Core's code cache: kept
    const jit = v.getUint32(this.base + HART_JIT_THRESHOLD, true); // and how the JIT runs it
    this.mem.bytes.fill(0, this.base, this.base + HART_TLB);
    v.setUint32(this.base + HART_BCACHE, cache, true);
    v.setUint32(this.base + HART_JIT_THRESHOLD, jit, true);
    v.setBigUint64(this.base + HART_MSTATUS, 3n << 13n, true);
    v.setBigUint64(this.base + HART_MCOUNTEREN, 7n, true);
    v.setBigUint64(this.base + HART_SCOUNTEREN, 7n, true);
    v.setBigUint64(this.base + HART_MISA, MISA_RV64GC, true);
    this.clearReservation();
    this.invalidateCaches();
  }

  /** Reads a 64-bit field of the hart at a layout.ts offset. */
  field(offset: number): bigint {
    return this.mem.view.getBigUint64(this.base + offset, true);
  }
  setField(offset: number, v: bigint): void {
    this.mem.view.setBigUint64(this.base + offset, BigInt.asUintN(64, v), true);
  }

  /** Invalidates the TLB and the fetch fast path (decoded instructions and blocks are checked
   *  against the instruction bits and stay valid). */
  invalidateCaches(): void {
    const v = this.mem.view;
    for (let i = 0; i < TLB_ENTRIES; i++) {
      const e = this.base + HART_TLB + i * TLB_ENTRY_SIZE;
      v.setBigInt64(e, -1n, true);
      v.setBigInt64(e + 8, -1n, true);
      v.setBigInt64(e + 16, -1n, true);
    }
    // Decode-cache and block-cache entries are checked against the instruction bits (layout.ts):
    // they stay valid.
  }

  save(): HartState {
    const x: string[] = [];
    const f: string[] = [];
    for (let i = 0; i < 32; i++) {
      x.push(hex(this.x(i)));
      f.push(hex(this.f(i)));
    }
    const priv: Record<string, string> = {};
    for (const [name, off] of PRIV_FIELDS) priv[name] = hex(this.field(off));
    const pmpcfg: string[] = [], pmpaddr: string[] = [];
    for (let i = 0; i < 16; i++) pmpcfg.push(hex(this.field(L.HART_PMPCFG + i * 8)));
    for (let i = 0; i < 64; i++) pmpaddr.push(hex(this.field(L.HART_PMPADDR + i * 8)));
    return { x, f, pc: hex(this.pc), fcsr: this.fcsr, instret: hex(this.instret), priv, pmpcfg, pmpaddr };
  }

  restore(s: HartState): void {
    for (let i = 0; i < 32; i++) {
      this.setX(i, BigInt(s.x[i] ?? '0'));
      this.setF(i, BigInt(s.f[i] ?? '0'));
    }
    this.pc = BigInt(s.pc);
    this.fcsr = s.fcsr;
    this.instret = BigInt(s.instret);
    for (const [name, off] of PRIV_FIELDS) this.setField(off, BigInt(s.priv[name] ?? '0'));
    // Never more entries than the hart has: a state from a file or a peer must not write past them.
    if (!Array.isArray(s.pmpcfg) || !Array.isArray(s.pmpaddr) || s.pmpcfg.length > 16 || s.pmpaddr.length > 64) {
      throw new RangeError('a hart state has more PMP entries than a hart (16 pmpcfg, 64 pmpaddr)');
    }
    s.pmpcfg.forEach((v, i) => this.setField(L.HART_PMPCFG + i * 8, BigInt(v)));
    s.pmpaddr.forEach((v, i) => this.setField(L.HART_PMPADDR + i * 8, BigInt(v)));
    this.clearReservation();
    this.invalidateCaches();
  }
}
