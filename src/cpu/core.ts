// Host-side handle on the wasm CPU core (built from src/cpu/as/ by AssemblyScript). The core keeps
// no state of its own: every hart lives at an address in the shared HostMemory, so one compiled
// module can be instantiated per worker thread on the same memory.
import { readFileSync } from 'node:fs';
import { HostMemory } from '../memory/host-memory.js';
import { Hart } from './hart.js';
import { RvisorError } from '../errors.js';
import { CACHE_SIZE, HART_BCACHE, HART_TIME, PAGE_SIZE } from './layout.js';
import { Jit, type FuncTable, type JitConfig, type JitStats } from '../jit/jit.js';
import { jitConfig } from '../jit/config.js';

/** Called by the core when a guest virtual address misses in the hart's software TLB. Returns the
 *  host byte offset of the 4 KiB frame that backs the page for this access kind (0 read, 1 write,
 *  2 execute), plus 1 if the handler wrote guest memory to provide it (a new or copied frame: the
 *  code caches then check their code again), or -1 if the access must fault (the core then stops
 *  with a page-fault trap). */
export type TlbMissHandler = (hartBase: number, va: bigint, access: number) => number;

/** What a system VM provides to the core: backing for guest RAM pages on first touch, and before
 *  the first write to a page marked P2M_WP (returns the host frame offset, after recording it in
 *  the VM's P2M, or -1), and device register access. */
export interface SystemHooks {
  ramMiss(hartBase: number, pa: bigint, write: boolean): number;
  /** Whether a device claims physical address pa (else the access faults). */
  mmioPresent(hartBase: number, pa: bigint): boolean;
  /** The current mtime in ticks (the time CSR, Sstc). */
  timeNow(hartBase: number): bigint;
  mmioRead(hartBase: number, pa: bigint, size: number): bigint;
  mmioWrite(hartBase: number, pa: bigint, value: bigint, size: number): void;
}

const noSystem: SystemHooks = {
  ramMiss: () => -1,
  mmioPresent: () => false,
  timeNow: () => -1n, // the process VM: the host writes HART_TIME before each slice
  mmioRead: () => 0n,
  mmioWrite: () => {},
};

interface CoreExports {
  run(hart: number, budget: number): number;
  flush_tlb(hart: number): void;
  tlb_drop_frame(hart: number, frame: number): void;
  tlb_drop_writes(hart: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** Uses a module compiled elsewhere (a worker thread gets the main thread's, so the core is
 *  compiled once per process). */
export function setCoreModule(m: WebAssembly.Module): void {
  compiled = m;
}

/** The compiled core module (compiled once per process, shareable with worker threads). */
export function coreModule(): WebAssembly.Module {
  if (!compiled) {
    const url = new URL('../../wasm/core.wasm', import.meta.url);
    let bytes: Buffer;
    try {
      bytes = readFileSync(url);
    } catch (e) {
      throw new RvisorError('INTERNAL', `the wasm core is missing (${url.pathname}): run "npm run build"`, { cause: e });
    }
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

export class Core {
  readonly mem: HostMemory;
  private readonly exports: CoreExports;
  private missHandler: TlbMissHandler = () => -1;
  private system: SystemHooks = noSystem;
  /** Address of this instance's code cache (decoded instructions and blocks, layout.ts CACHE_*),
   *  shared by all the harts it makes: they run one at a time. */
  private readonly codeCache: number;
  /** Compiles hot guest code to wasm for this instance (src/jit/). */
  private readonly jit: Jit;

  constructor(mem: HostMemory, jit: JitConfig = jitConfig()) {
    this.mem = mem;
    this.codeCache = mem.allocContiguous(CACHE_SIZE);
    let self: Jit | undefined;
    const instance = new WebAssembly.Instance(coreModule(), {
      env: {
        memory: mem.memory,
        abort: (_msg: number, _file: number, line: number, col: number) => {
          throw new RvisorError('INTERNAL', `wasm core aborted at ${line}:${col}`);
        },
        tlb_miss: (hart: number, va: bigint, access: number): bigint => BigInt(this.missHandler(hart, va, access)),
        ram_miss: (hart: number, pa: bigint, write: number): bigint => BigInt(this.system.ramMiss(hart, pa, write !== 0)),
        mmio_read: (hart: number, pa: bigint, size: number): bigint => this.system.mmioRead(hart, pa, size),
        mmio_present: (hart: number, pa: bigint): number => (this.system.mmioPresent(hart, pa) ? 1 : 0),
        time_now: (hart: number): bigint => {
          const t = this.system.timeNow(hart);
          return t >= 0n ? t : mem.view.getBigUint64(hart + HART_TIME, true);
        },
        mmio_write: (hart: number, pa: bigint, value: bigint, size: number): void => this.system.mmioWrite(hart, pa, value, size),
        jit_compile: (hart: number, pc: bigint, hp: number): number => self!.compile(hart, pc, hp),
        jit_miss: (hart: number, pc: bigint, hp: number, fn: number, jumped: number): number => self!.miss(hart, pc, hp, fn, jumped !== 0),
        jit_drop: (fn: number, stale: number): void => self!.drop(fn, stale !== 0),
      },
    });
    this.exports = instance.exports as unknown as CoreExports;
    const ex = instance.exports as Record<string, unknown>;
    self = this.jit = new Jit({
      memory: mem.memory,
      exports: ex,
      table: ex.table as FuncTable,
      codeCache: this.codeCache,
      view: () => mem.view,
    });
    this.jit.configure(jit);
  }

  /** Sets how the JIT runs for the harts this instance makes from now on, and for `harts`
   *  (threshold 0: off). */
  configureJit(c: JitConfig, harts: readonly (Hart | number)[] = []): void {
    this.jit.configure(c);
    for (const h of harts) this.jit.setThreshold(typeof h === 'number' ? h : h.base, c.threshold);
  }

  /** Sets how the JIT runs `hart` (threshold 0: off), from its next slice. */
  setJitThreshold(hart: Hart | number, threshold: number): void {
    this.jit.setThreshold(typeof hart === 'number' ? hart : hart.base, threshold);
  }

  /** The JIT's counters on this instance. */
  jitStats(): JitStats {
    return this.jit.stats();
  }

  /** Sets who answers TLB misses (the address space of the process or VM being run). */
  setTlbMissHandler(h: TlbMissHandler): void {
    this.missHandler = h;
  }

  /** Sets the RAM and device hooks of the system VM whose harts this core runs. */
  setSystemHooks(h: SystemHooks): void {
    this.system = h;
  }

  /** A new hart with zeroed registers, an empty TLB and no reservation, running with this
   *  instance's code cache. */
  newHart(): Hart {
    const base = this.mem.allocHart();
    this.mem.view.setUint32(base + HART_BCACHE, this.codeCache, true);
    const h = new Hart(this.mem, base);
    h.reset();
    this.jit.setThreshold(base, this.jit.defaultThreshold);
    return h;
  }

  /** A hart made elsewhere (another thread's Core on the same memory) that this instance will run
   *  from now on: it is pointed at this instance's code cache. */
  adoptHart(base: number): Hart {
    this.mem.view.setUint32(base + HART_BCACHE, this.codeCache, true);
    return new Hart(this.mem, base);
  }

  /** Runs at most `budget` instructions on `hart`; returns STOP_BUDGET, STOP_TRAP or STOP_WFI
   *  (layout.ts). */
  run(hart: Hart, budget: number): number {
    return this.exports.run(hart.base, budget);
  }

  /** Returns the code cache's frames to the pool. The harts this core made must not run again
   *  (free them with HostMemory.freeHart). */
  destroy(): void {
    this.jit.flush();
    for (let off = 0; off < CACHE_SIZE; off += PAGE_SIZE) this.mem.freeFrame(this.codeCache + off);
  }

  /** Forgets the translations of `hart` that reach the frame at host offset `frame`. */
  dropFrame(hart: Hart | number, frame: number): void {
    this.exports.tlb_drop_frame(typeof hart === 'number' ? hart : hart.base, frame);
  }

  /** Forgets every write permission in `hart`'s TLB (pages were write-protected). */
  dropWrites(hart: Hart | number): void {
    this.exports.tlb_drop_writes(typeof hart === 'number' ? hart : hart.base);
  }

  /** Forgets every cached translation of `hart` (after a page map change). */
  flushTlb(hart: Hart): void {
    this.exports.flush_tlb(hart.base);
  }
}
