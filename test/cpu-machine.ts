// A minimal harness for CPU tests: one hart, guest pages mapped explicitly, code assembled with
// the table's encoder. Not a process: ecall simply stops the run.
import { HostMemory } from '../src/memory/host-memory.js';
import { Core } from '../src/cpu/core.js';
import type { Hart } from '../src/cpu/hart.js';
import { encode, type Fields } from '../src/isa/encode.js';
import { STOP_TRAP } from '../src/cpu/layout.js';

export const CODE = 0x10000n;
export const DATA = 0x200000n;

export class TestMachine {
  readonly mem = new HostMemory();
  readonly core = new Core(this.mem);
  readonly hart: Hart;
  readonly pages = new Map<bigint, { frame: number; write: boolean; exec: boolean }>();
  misses = 0;

  constructor() {
    this.core.setTlbMissHandler((_h, va, access) => {
      this.misses++;
      const p = this.pages.get(va >> 12n);
      if (!p || (access === 1 && !p.write) || (access === 2 && !p.exec)) return -1;
      return p.frame;
    });
    this.hart = this.core.newHart();
    this.hart.pc = CODE;
  }

  map(va: bigint, length: number, opts: { write?: boolean; exec?: boolean } = {}): void {
    for (let p = va >> 12n; p <= (va + BigInt(length) - 1n) >> 12n; p++) {
      if (!this.pages.has(p)) this.pages.set(p, { frame: this.mem.allocFrame(), write: opts.write ?? true, exec: opts.exec ?? false });
    }
  }

  host(va: bigint): number {
    const p = this.pages.get(va >> 12n);
    if (!p) throw new Error(`unmapped ${va.toString(16)}`);
    return p.frame + Number(va & 0xfffn);
  }

  writeBytes(va: bigint, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.mem.bytes[this.host(va + BigInt(i))] = data[i]!;
  }
  readBytes(va: bigint, n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mem.bytes[this.host(va + BigInt(i))]!;
    return out;
  }

  /** Places instructions (32-bit words, or [16-bit parcel] arrays) at CODE followed by ecall. */
  load(code: (number | [number])[], at = CODE): void {
    const bytes: number[] = [];
    for (const c of [...code, encode('ecall')]) {
      if (Array.isArray(c)) bytes.push(c[0] & 0xff, c[0] >>> 8);
      else bytes.push(c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24);
    }
    this.map(at, bytes.length, { exec: true, write: false });
    this.writeBytes(at, Uint8Array.from(bytes));
    this.hart.pc = at;
  }

  /** Runs until a trap; returns the trap cause. */
  run(budget = 1_000_000): number {
    const stop = this.core.run(this.hart, budget);
    if (stop !== STOP_TRAP) throw new Error('budget exhausted without a trap');
    return this.hart.cause;
  }
}

export const I = (name: string, f: Fields = {}): number => encode(name, f);
