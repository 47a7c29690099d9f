// RISC-V Platform-Level Interrupt Controller, per "RISC-V Platform-Level Interrupt Controller
// Specification" v1.0.0 (riscv/riscv-plic-spec), compatible "sifive,plic-1.0.0" / "riscv,plic0".
//
// Memory map (spec chapter "Memory Map"), all registers 32-bit, naturally aligned:
//   0x000000 + 4*s        priority of source s (s = 0 reserved, reads 0)
//   0x001000 + 4*w        pending bits of sources 32w .. 32w+31 (read-only)
//   0x002000 + 0x80*c     enable bits of context c, one word per 32 sources
//   0x200000 + 0x1000*c   priority threshold of context c
//   0x200004 + 0x1000*c   claim (read) / complete (write) of context c
// Any other offset, any access that is not 4 bytes wide and aligned, any source above numSources
// or context above the configured count reads 0 and ignores writes.
//
// Gateways are level-sensitive (spec "Interrupt Gateways"): when a source's line is high and the
// source is not in service, its pending bit is set. A claim clears the pending bit and puts the
// source in service; until the matching complete the gateway forwards no new request. On complete,
// if the line is still high, the source becomes pending again. A line that drops while its request
// is pending leaves the request pending (spec: "the interrupt request remains present in the IP bit
// ... and will be serviced by a handler, which will then have to determine that the interrupt
// device no longer requires service"). (QEMU's sifive_plic withdraws such a request instead; both
// are correct for Linux, which tolerates a spurious claim.)
//
// A context's interrupt output (EIP) is high while some source is pending, enabled for it and of
// priority > its threshold (spec "Interrupt Thresholds"). A claim returns the highest-priority such
// source, ties going to the lowest ID (spec "Interrupt Priorities"), or 0 when there is none.

import type { FdtNodeWriter, IrqLine, MmioDevice, Stateful } from '../device.js';
import { RvisorError } from '../../errors.js';
import type { PlicState } from './state.js';

export type { PlicState } from './state.js';

const PRIORITY_BASE = 0x000000;
const PENDING_BASE = 0x001000;
const ENABLE_BASE = 0x002000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x200000;
const CONTEXT_STRIDE = 0x1000;
/** The spec's hard limits. */
const MAX_SOURCES = 1023;
const MAX_CONTEXTS = 15872;

export interface PlicOptions {
  /** Number of contexts (this board: 2 per hart, context 2h = M-mode, 2h + 1 = S-mode). */
  contexts: number;
  /** Highest source number (default 95, as QEMU's virt board). */
  numSources?: number;
  /** Priority levels are 0..maxPriority (default 7: 3 priority bits, as QEMU's virt board). */
  maxPriority?: number;
  /** Called whenever a context's interrupt output changes (and, on restore, for every context). */
  onContextChange(context: number, pending: boolean): void;
}

export class Plic implements MmioDevice, Stateful<PlicState> {
  readonly numSources: number;
  readonly contexts: number;
  readonly maxPriority: number;
  private readonly words: number;
  private readonly onContextChange: (context: number, pending: boolean) => void;
  private priority: Uint32Array;
  private level: Uint32Array;
  private pending: Uint32Array;
  private inService: Uint32Array;
  private enable: Uint32Array; // contexts * words
  private threshold: Uint32Array;
  private eip: Uint8Array;

  constructor(opts: PlicOptions) {
    const numSources = opts.numSources ?? 95;
    const maxPriority = opts.maxPriority ?? 7;
    if (!Number.isInteger(numSources) || numSources < 1 || numSources > MAX_SOURCES) {
      throw new RvisorError('INTERNAL', `plic: ${numSources} sources is outside 1..${MAX_SOURCES}`);
    }
    if (!Number.isInteger(opts.contexts) || opts.contexts < 1 || opts.contexts > MAX_CONTEXTS) {
      throw new RvisorError('INTERNAL', `plic: ${opts.contexts} contexts is outside 1..${MAX_CONTEXTS}`);
    }
    if (!Number.isInteger(maxPriority) || maxPriority < 1 || maxPriority > 0xffffffff) {
      throw new RvisorError('INTERNAL', `plic: bad maximum priority ${maxPriority}`);
    }
    this.numSources = numSources;
    this.contexts = opts.contexts;
    this.maxPriority = maxPriority;
    this.words = (numSources >> 5) + 1;
    this.onContextChange = opts.onContextChange;
    this.priority = new Uint32Array(numSources + 1);
    this.level = new Uint32Array(this.words);
    this.pending = new Uint32Array(this.words);
    this.inService = new Uint32Array(this.words);
    this.enable = new Uint32Array(this.contexts * this.words);
    this.threshold = new Uint32Array(this.contexts);
    this.eip = new Uint8Array(this.contexts);
  }

  /** The interrupt line of source 1..numSources, for a device to drive. */
  irqLine(source: number): IrqLine {
    if (!Number.isInteger(source) || source < 1 || source > this.numSources) {
      throw new RvisorError('INTERNAL', `plic: no interrupt source ${source} (sources are 1..${this.numSources})`);
    }
    return { set: (level: boolean) => this.setLevel(source, level) };
  }

  /** Gateway input: a device drives source's line to `level`. */
  setLevel(source: number, level: boolean): void {
    if (!(source >= 1 && source <= this.numSources)) return;
    const w = source >> 5;
    const bit = 1 << (source & 31);
    if (level) {
      this.level[w]! |= bit;
      if (!(this.inService[w]! & bit) && !(this.pending[w]! & bit)) {
        this.pending[w]! |= bit;
        this.update();
      }
    } else {
      this.level[w]! &= ~bit;
    }
  }

  /** Whether context's interrupt output is high (the machine's view of MEIP/SEIP). */
  contextPending(context: number): boolean {
    return this.eip[context] === 1;
  }

  // ---- MMIO ----

  read(offset: number, size: number): number {
    if (size !== 4 || !Number.isInteger(offset) || offset < 0 || offset & 3) return 0;
    if (offset < PENDING_BASE) {
      const s = offset >> 2;
      return s <= this.numSources ? this.priority[s]! : 0;
    }
    if (offset < ENABLE_BASE) {
      const w = (offset - PENDING_BASE) >> 2;
      return w < this.words ? this.pending[w]! >>> 0 : 0;
    }
    if (offset < CONTEXT_BASE) {
      const c = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      return c < this.contexts && w < this.words ? this.enable[c * this.words + w]! >>> 0 : 0;
    }
    const c = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    if (c >= this.contexts) return 0;
    switch ((offset - CONTEXT_BASE) % CONTEXT_STRIDE) {
      case 0:
        return this.threshold[c]!;
      case 4:
        return this.claim(c);
      default:
        return 0;
    }
  }

  write(offset: number, value: number, size: number): void {
    if (size !== 4 || !Number.isInteger(offset) || offset < 0 || offset & 3) return;
    const v = value >>> 0;
    if (offset < PENDING_BASE) {
      const s = offset >> 2;
      if (s >= 1 && s <= this.numSources) {
        this.priority[s] = this.warlPriority(v, this.priority[s]!);
        this.update();
      }
      return;
    }
    if (offset < ENABLE_BASE) return; // pending bits are read-only
    if (offset < CONTEXT_BASE) {
      const c = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      if (c < this.contexts && w < this.words) {
        this.enable[c * this.words + w] = v & this.validMask(w);
        this.update();
      }
      return;
    }
    const c = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    if (c >= this.contexts) return;
    switch ((offset - CONTEXT_BASE) % CONTEXT_STRIDE) {
      case 0:
        this.threshold[c] = this.warlPriority(v, this.threshold[c]!);
        this.update();
        return;
      case 4:
        this.complete(c, v);
        return;
      default:
        return;
    }
  }

  // ---- claim / complete ----

  /** The source a claim by context c would return now (no side effects), or 0. */
  private best(c: number): number {
    let best = 0;
    let bestPrio = this.threshold[c]!;
    const base = c * this.words;
    for (let w = 0; w < this.words; w++) {
      let bits = this.pending[w]! & this.enable[base + w]!;
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const s = (w << 5) | b;
        const p = this.priority[s]!;
        if (p > bestPrio) {
          best = s;
          bestPrio = p;
        }
      }
    }
    return best;
  }

  private claim(c: number): number {
    const s = this.best(c);
    if (s !== 0) {
      const w = s >> 5;
      const bit = 1 << (s & 31);
      this.pending[w]! &= ~bit;
      this.inService[w]! |= bit;
      this.update();
    }
    return s;
  }

  private complete(c: number, source: number): void {
    if (!(source >= 1 && source <= this.numSources)) return;
    const w = source >> 5;
    const bit = 1 << (source & 31);
    // "If the completion ID does not match an interrupt source that is currently enabled for the
    // target, the completion is silently ignored."
    if (!(this.enable[c * this.words + w]! & bit)) return;
    if (!(this.inService[w]! & bit)) return;
    this.inService[w]! &= ~bit;
    if (this.level[w]! & bit) this.pending[w]! |= bit;
    this.update();
  }

  /** Priorities and thresholds are WARL: with 2^n levels the value is masked to n bits (as QEMU
   *  does); otherwise an out-of-range value leaves the register unchanged. */
  private warlPriority(v: number, old: number): number {
    const max = this.maxPriority;
    if (((max + 1) & max) === 0) return (v & max) >>> 0;
    return v <= max ? v : old;
  }

  private validMask(w: number): number {
    let mask = 0xffffffff;
    if (w === 0) mask &= ~1; // source 0 does not exist
    const top = this.numSources - (w << 5); // highest valid bit index in this word
    if (top < 31) mask &= top < 0 ? 0 : (2 ** (top + 1) - 1);
    return mask >>> 0;
  }

  private update(): void {
    for (let c = 0; c < this.contexts; c++) {
      const on = this.best(c) !== 0 ? 1 : 0;
      if (on !== this.eip[c]) {
        this.eip[c] = on;
        this.onContextChange(c, on === 1);
      }
    }
  }

  // ---- state ----

  save(): PlicState {
    const enable: number[][] = [];
    for (let c = 0; c < this.contexts; c++) enable.push(Array.from(this.enable.subarray(c * this.words, (c + 1) * this.words)));
    return {
      numSources: this.numSources,
      contexts: this.contexts,
      priority: Array.from(this.priority),
      level: Array.from(this.level),
      pending: Array.from(this.pending),
      inService: Array.from(this.inService),
      enable,
      threshold: Array.from(this.threshold),
      eip: Array.from(this.eip, (e) => e === 1),
    };
  }

  /** Restores a saved state (it must come from a PLIC of the same shape) and reports every
   *  context's output level through onContextChange, so the harts' MEIP/SEIP follow. */
  restore(state: PlicState): void {
    const words = this.words;
    const u32s = (a: unknown, n: number, max = 0xffffffff): a is number[] =>
      Array.isArray(a) && a.length === n && a.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max);
    const ok =
      state !== null && typeof state === 'object' &&
      state.numSources === this.numSources && state.contexts === this.contexts &&
      u32s(state.priority, this.numSources + 1, this.maxPriority) && state.priority[0] === 0 &&
      u32s(state.level, words) && u32s(state.pending, words) && u32s(state.inService, words) &&
      Array.isArray(state.enable) && state.enable.length === this.contexts && state.enable.every((e) => u32s(e, words)) &&
      u32s(state.threshold, this.contexts, this.maxPriority) &&
      Array.isArray(state.eip) && state.eip.length === this.contexts && state.eip.every((e) => typeof e === 'boolean');
    if (!ok) throw new RvisorError('INTERNAL', `plic: saved state does not fit a PLIC with ${this.numSources} sources and ${this.contexts} contexts`);
    this.priority.set(state.priority);
    this.level.set(state.level);
    this.pending.set(state.pending);
    this.inService.set(state.inService);
    for (let c = 0; c < this.contexts; c++) this.enable.set(state.enable[c]!.map((v, w) => v & this.validMask(w)), c * words);
    this.threshold.set(state.threshold);
    for (let c = 0; c < this.contexts; c++) {
      const on = this.best(c) !== 0;
      this.eip[c] = on ? 1 : 0;
      this.onContextChange(c, on);
    }
  }
}

export interface PlicFdtOptions {
  base: number;
  size: number;
  numSources: number;
}

/** The PLIC's device-tree node under /soc (as QEMU virt writes it). Per hart h it lists the M-mode
 *  context (cpu-intc, 11 = M external) then the S-mode one (cpu-intc, 9 = S external), so the i-th
 *  interrupts-extended entry is context i. The node declares ctx.irqParent as its phandle: the
 *  phandle every other device names in interrupt-parent. */
export function plicFdtNode(opts: PlicFdtOptions): {
  fdtNode(w: FdtNodeWriter, ctx: { readonly harts: number; readonly irqParent: number; cpuIntcPhandle(hart: number): number }): void;
} {
  return {
    fdtNode(w, ctx) {
      const ext: number[] = [];
      for (let h = 0; h < ctx.harts; h++) {
        const intc = ctx.cpuIntcPhandle(h);
        ext.push(intc, 11, intc, 9);
      }
      w.beginNode(`plic@${opts.base.toString(16)}`);
      w.propU32('phandle', ctx.irqParent);
      w.propU32('riscv,ndev', opts.numSources);
      w.propU64('reg', BigInt(opts.base), BigInt(opts.size));
      w.propU32('interrupts-extended', ...ext);
      w.propEmpty('interrupt-controller');
      w.propString('compatible', 'sifive,plic-1.0.0', 'riscv,plic0');
      w.propU32('#address-cells', 0);
      w.propU32('#interrupt-cells', 1);
      w.endNode();
    },
  };
}
