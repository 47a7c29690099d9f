// The JIT's host side, one per Core instance (so per worker thread and memory arena): the core's
// run loop counts instructions per page and calls jit_compile when a page is hot; this translates
// the page (translate.ts), compiles the module (or finds it already compiled for the same bytes),
// instantiates it on the core's memory and puts its function in the core's table, where the run
// loop calls it. Bounded: modules compiled by this process are cached up to MODULE_CACHE_BYTES,
// and a core holds at most maxCodeBytes of live regions (then it drops them all and starts over,
// as QEMU flushes its translation buffer).
import { CACHE_JITSEEN, JITSEEN_BYTES, CACHE_JITMAP, JITMAP_SLOTS, JITMAP_ENTRY_SIZE, HART_JIT_THRESHOLD, CACHE_JIT_ENTERS, CACHE_JIT_INSNS,
  CACHE_JIT_MISSES, CACHE_JIT_CHECKS, CACHE_JIT_CHAINS, CACHE_JIT_RUN, CACHE_JIT_DENSITY, CACHE_JITENTRY, CACHE_JITJUMP, CACHE_JITSIZE } from '../cpu/layout.js';
import { discoverEntries, translatePage, countInstructions, REGION_IMPORTS } from './translate.js';

/** How the JIT runs: threshold 0 turns it off; 1 compiles every page the moment it runs. */
export interface JitConfig {
  threshold: number;
  /** Most bytes of wasm held by one core's live regions. */
  maxCodeBytes?: number;
  /** The compile budget: guest instructions translated may not exceed `initial` plus one per
   *  `ratio` instructions the harts have run (ratio 0: no budget). */
  budget?: { initial: number; ratio: number };
  /** A page is compiled only if it reaches the threshold within `density` times the threshold
   *  instructions run in all (0: whenever it reaches it). */
  density?: number;
}

/** The default threshold: instructions the interpreter runs on a page before it is compiled. */
export const DEFAULT_JIT_THRESHOLD = 50_000;
const DEFAULT_MAX_CODE_BYTES = 32 << 20;
/** Bytes of compiled modules this process keeps for reuse (regions of identical pages). */
const MODULE_CACHE_BYTES = 64 << 20;
/** Misses before a page is compiled again with the new offsets as entries (4 with threshold 1;
 *  4x more before each further one), and most recompilations of one page. A recompilation also takes as entries everything
 *  reachable from the entries (discoverEntries' follow), so that a page converges in one or two
 *  (each costs V8 a whole optimizing compile of the page). */
const MISSES_BEFORE_RECOMPILE = 64;
const MAX_RECOMPILES = 8;
/** Misses the core does not report once a page may not be recompiled any more (jit_miss). */
const MISS_SKIP_FOREVER = 0x3fffffff;
/** Misses the core does not report after the budget refused to recompile a page. */
const MISS_SKIP_REFUSED = 1024;
/** A page whose region missed this many times per instruction in it since it was last compiled
 *  is compiled again whatever the compile budget says, and not counted against it: a miss costs
 *  the region's exit, a lookup and the interpreter's run of the block (0.1–0.5 µs), a translated
 *  instruction about 300 µs (RUN_PAYBACK), so the recompilation about pays for itself if the
 *  misses go on as they did (and a region missing hot code misses at every turn). */
const MISS_PAYBACK = 512;
/** A page the budget refused is compiled whatever it says once it has run this many
 *  instructions interpreted per instruction of its code while refused: a translated instruction
 *  costs about 300 µs of host CPU (V8's compiles included: boots that translated 700–3,500
 *  instructions took 0.2–0.95 s more CPU, docs/performance.md session 13), and a region saves
 *  about 6 ns per instruction it runs instead of the interpreter. */
const RUN_PAYBACK = 50_000;
/** Most guest instructions and wasm bytes in one region (a page holds at most 2048
 *  instructions; overlapping runs from odd entries can repeat some); a bigger one is not compiled. */
const MAX_REGION_INSTRUCTIONS = 8192;
const MAX_REGION_BYTES = 1 << 20;
/** The compile budget (JitConfig.budget) when nobody sets one: the run earns nothing (the ratio
 *  is too big for any run to earn an instruction), so a page is compiled only once it has paid
 *  for itself (RUN_PAYBACK, MISS_PAYBACK), in a process VM and a system VM alike. A boot runs some
 *  160 pages hot briefly, none long enough to pay (5 fresh boots each: with ratio 300,000 the
 *  JIT's boot made 3-4 translations and took 0.99 s, with this none and 0.91 s, the interpreter
 *  0.90 s); CPU-bound programs in the guest ran faster too (bench/guest.mjs interp/JIT geomean
 *  2.09-2.42x against 1.68-1.78x: no page waits for budget the boot's pages used up); a short
 *  program (busybox sort of a 50 KB file, 3.6M instructions) ran in 0.035 s instead of 0.083 s
 *  with an initial allowance of 500 (4 translations it never paid back); the user-mode
 *  benchmarks within their noise. A budget with a smaller ratio (JitConfig.budget, or
 *  RVISOR_JIT_BUDGET) lets the run pay for compiling pages that have not yet paid themselves. */
export const DEFAULT_BUDGET = { initial: 0, ratio: Number.MAX_SAFE_INTEGER };
/** JitConfig.density: a page must run at least 1/64 of all instructions while it gets hot. */
export const DEFAULT_DENSITY = 64;

export interface JitStats {
  threshold: number;
  /** Pages translated (each translation, including recompilations with new entries). */
  translations: number;
  /** Translations whose module was already compiled (identical code elsewhere). */
  moduleCacheHits: number;
  compileMs: number;
  /** Guest instructions translated and wasm bytes produced. */
  translatedInstructions: number;
  wasmBytes: number;
  liveRegions: number;
  liveCodeBytes: number;
  /** Regions dropped because their page's bytes changed, whole-cache flushes at the cap, and
   *  pages left to the interpreter because their region was too big or failed to compile. */
  stale: number;
  flushes: number;
  failures: number;
  /** Compilations refused by the compile budget (the page stays interpreted for now), and the
   *  instructions run that the budget counts. */
  deferred: number;
  run: number;
  /** Misses the core asked the host about (the others it skipped: jit_miss). */
  missesAsked: number;
  /** Calls into regions (each returns to the interpreter once), instructions they retired,
   *  entries at offsets without code, byte checks of a region after an epoch change. */
  enters: number;
  instructions: number;
  misses: number;
  checks: number;
  /** Of the entries, those chained from another page's region (JIT_CHAIN, no lookup by the run
   *  loop). */
  chains: number;
}

function checkThreshold(t: number): void {
  if (!Number.isInteger(t) || t < 0 || t > 0x7fffffff) {
    throw new RangeError(`JIT threshold must be an integer from 0 to ${0x7fffffff}, not ${t}`);
  }
}

interface CachedModule { bytes: Uint8Array; module: WebAssembly.Module }
const moduleCache = new Map<string, CachedModule[]>();
let moduleCacheBytes = 0;

function hashBytes(b: Uint8Array): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ b[i]!, 0x5bd1e995);
  }
  return `${b.length}:${(h1 >>> 0).toString(36)}:${(h2 >>> 0).toString(36)}`;
}

/** Whether bit `off >> 1` of a bitmap (a bit per halfword of a page) is set. */
function hasBit(bits: Uint8Array | undefined, off: number): boolean {
  return bits !== undefined && (bits[off >>> 4]! & (1 << ((off >>> 1) & 7))) !== 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The compiled module for these bytes: from the process's cache, or compiled now. */
function moduleFor(bytes: Uint8Array): { module: WebAssembly.Module; hit: boolean } {
  const key = hashBytes(bytes);
  const list = moduleCache.get(key);
  const found = list?.find((m) => sameBytes(m.bytes, bytes));
  if (found) return { module: found.module, hit: true };
  const module = new WebAssembly.Module(bytes);
  if (moduleCacheBytes + bytes.length > MODULE_CACHE_BYTES) {
    // evict the oldest (Map keeps insertion order)
    for (const [k, l] of moduleCache) {
      for (const m of l) moduleCacheBytes -= m.bytes.length;
      moduleCache.delete(k);
      if (moduleCacheBytes + bytes.length <= MODULE_CACHE_BYTES / 2) break;
    }
  }
  moduleCache.set(key, [...(moduleCache.get(key) ?? []), { bytes, module }]);
  moduleCacheBytes += bytes.length;
  return { module, hit: false };
}

interface Region { index: number; module: WebAssembly.Module; refs: number; bytes: number }
/** A page's entry offsets seen so far, how many are not yet in its region, misses since it was
 *  last compiled, and how often it was compiled again. */
interface PageSeeds { seeds: Set<number>; fresh: number; misses: number; recompiles: number;
  /** Misses since the page was last compiled, those the core skipped included. */
  missed: number;
  /** Instructions the page ran interpreted (at least) while the budget refused to compile it. */
  waited: number;
  /** Instructions in its last translation, else the most its profiles or a refused build counted
   *  (0: none yet), and whether the last build was refused by the compile budget. */
  size: number; deferred: boolean;
  /** Offsets a region jumped to without having code there: entries even inside a straight run. */
  jumped: Set<number>;
  /** Where its region has code and where it runs through without an entry
   *  (Translation.interior), if it has one. */
  entryBits?: Uint8Array; interior?: Uint8Array }

/** The part of a WebAssembly.Table the JIT uses (the core's function table). */
export interface FuncTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, value: unknown): void;
}

export interface JitCore {
  memory: WebAssembly.Memory;
  /** The core instance's exports the regions import (REGION_IMPORTS). */
  exports: Record<string, unknown>;
  table: FuncTable;
  /** Address of the core's code cache (layout.ts CACHE_*). */
  codeCache: number;
  view(): DataView;
}

export class Jit {
  private readonly regions = new Map<number, Region>(); // by table index
  private readonly byModule = new Map<WebAssembly.Module, Region>();
  private readonly pages = new Map<number, PageSeeds>(); // by host page address
  private readonly free: number[] = [];
  /** Indices released during the current call from the core, reusable from the next one. */
  private readonly released: number[] = [];
  private readonly imports: Record<string, unknown>;
  private maxCodeBytes = DEFAULT_MAX_CODE_BYTES;
  private liveBytes = 0;
  private budget = DEFAULT_BUDGET;
  /** Guest instructions translated under the budget (recompilations the misses paid for are not). */
  private budgetUsed = 0;
  private s = { translations: 0, moduleCacheHits: 0, compileMs: 0, translatedInstructions: 0, wasmBytes: 0, stale: 0, flushes: 0, failures: 0, deferred: 0, missesAsked: 0 };

  constructor(private readonly core: JitCore) {
    const env: Record<string, unknown> = { memory: core.memory };
    for (const f of REGION_IMPORTS) env[f.name] = core.exports[f.name];
    this.imports = { env };
    core.view().setUint32(core.codeCache + CACHE_JIT_DENSITY, DEFAULT_DENSITY, true);
  }

  /** Sets the caps, the compile budget and the density condition (each kept unless given; the
   *  threshold is per hart: setThreshold). */
  configure(c: JitConfig): void {
    checkThreshold(c.threshold);
    if (c.maxCodeBytes !== undefined) this.maxCodeBytes = c.maxCodeBytes;
    if (c.budget !== undefined) this.budget = c.budget;
    if (c.density !== undefined) this.core.view().setUint32(this.core.codeCache + CACHE_JIT_DENSITY, c.density, true);
    this.defaultThreshold = c.threshold;
  }

  /** The threshold harts get unless told otherwise (the last configure's). */
  defaultThreshold = 0;

  /** Sets hart h's threshold (0: the JIT is off for it); takes effect at its next slice. */
  setThreshold(h: number, threshold: number): void {
    checkThreshold(threshold);
    this.core.view().setUint32(h + HART_JIT_THRESHOLD, threshold, true);
  }

  threshold(h: number): number {
    return this.core.view().getUint32(h + HART_JIT_THRESHOLD, true);
  }

  /** jit_compile from the core: hart h found the page at host address hp hot (entered at pc). */
  compile(h: number, pc: bigint, hp: number): number {
    this.recycle();
    const p = this.seedsOf(hp);
    p.seeds.add(Number(pc & 0xfffn));
    const all = this.threshold(h) === 1;
    // a page that had a region before (it lost its JIT map slot to another page that maps there,
    // or its bytes changed) is compiled from everything it was entered at, with what is reachable
    // from there, and its recompilations counted afresh: else a page that loses its slot again
    // and again (a user program's loop and the kernel's timer code 16 MiB apart) comes back each
    // time with only the blocks of the last profile, uses up its recompilations on the misses,
    // and then misses at every turn for good (intmix in the guest ran 6x slower so, now and then)
    const again = p.entryBits !== undefined;
    if (again) { p.recompiles = 0; p.misses = 0; p.missed = 0; }
    // what compiling it is likely to cost: its last translation's size, else the distinct blocks
    // its profile saw (the core's count: estimating it here, decoding the page in JavaScript
    // V8 has not optimized yet, took 1-5 ms a page, timed in a boot)
    if (p.entryBits === undefined) p.size = Math.max(p.size, this.profiledSize(hp), 1);
    // a page the budget refused comes back after the core's back-off (8x the threshold) and the
    // threshold again (measured: about 5x the threshold of its own instructions per refusal in
    // jit-budget.test's loop), credited 4x: once it has run RUN_PAYBACK instructions per
    // instruction of its code so, compiling it pays (if it goes on as it did), whatever the budget
    const paid = !all && p.waited >= RUN_PAYBACK * p.size;
    if (!all && !paid && this.overBudget(p.size)) { p.waited += 4 * this.threshold(h); return 0; }
    const fn = this.safeBuild(hp, p, all || again, !all && !paid);
    if (fn === 0 && p.deferred) p.waited += 4 * this.threshold(h);
    if (fn > 0) p.waited = 0;
    return fn;
  }

  /** jit_miss from the core: the region `fn` of page hp was entered at pc, which it has no code
   *  for. Returns a new region with that entry, 0 to keep the old one for now, or -n to keep it
   *  and not be asked for the page's next n misses (recompiling it is refused by the budget, or
   *  it was recompiled as often as it may be: each miss asked of the host costs about a
   *  microsecond, and a region whose hot code is missing misses at every turn). */
  miss(h: number, pc: bigint, hp: number, fn: number, jumped = false): number {
    this.recycle();
    this.s.missesAsked++;
    const p = this.seedsOf(hp);
    const off = Number(pc & 0xfffn);
    if (p.recompiles >= MAX_RECOMPILES) return -MISS_SKIP_FOREVER;
    // an offset inside one of the region's straight runs is where the interpreter stopped and
    // resumes (a slice's end, a load's slow path), unless the region jumped there (a branch's or
    // a computed jump's target): it reaches the region's next entry within a block, and
    // compiling such offsets as entries would split every run into single instructions over time
    if (jumped && !p.jumped.has(off)) { p.jumped.add(off); p.seeds.add(off); p.fresh++; }
    else if (!p.seeds.has(off) && !hasBit(p.interior, off)) { p.seeds.add(off); p.fresh++; }
    p.misses++;
    p.missed++;
    /** Keep the region and skip the next n misses (counted in p.missed now). */
    const skip = (n: number): number => { p.missed += n; return -n; };
    const th = this.threshold(h);
    // each recompilation of the page waits for 4x the misses of the last (cold code reached
    // now and then is cheaper to interpret than a page is to compile again); the misses until
    // then are not asked about (the core still records where they were: freshSeen)
    const due = th === 1 ? 4 : MISSES_BEFORE_RECOMPILE << (2 * p.recompiles);
    if (p.misses < due) { const n = due - p.misses; p.misses = due - 1; return skip(n); }
    if (p.fresh === 0 && !this.freshSeen(hp, p)) { p.misses = 0; return skip(Math.max(due, MISS_SKIP_REFUSED)); }
    // refused by the budget: asked again after as many misses, at least MISS_SKIP_REFUSED (the
    // core skips those; the budget grows slowly) — unless the misses have paid for it already
    const refused = (): number => { p.misses = due - 1; return skip(Math.max(due, MISS_SKIP_REFUSED)); };
    const budgeted = th !== 1 && p.missed < MISS_PAYBACK * Math.max(p.size, 1);
    if (budgeted && this.overBudget(p.size)) return refused();
    p.misses = 0;
    p.fresh = 0;
    p.recompiles++;
    const nf = this.safeBuild(hp, p, true, budgeted);
    if (nf === 0 && p.deferred) { p.recompiles--; p.fresh = 1; return refused(); }
    if (nf === fn) this.drop(fn, false); // the same region: give back the reference build took
    return nf === fn ? 0 : nf;
  }

  /** Whether the core saw page hp entered where its region has no code and does not run
   *  through (its seen bitmap, which records the misses not asked about too). */
  private freshSeen(hp: number, p: PageSeeds): boolean {
    const seen = this.seenBits(hp);
    for (let i = 0; i < JITSEEN_BYTES; i++) {
      if ((seen[i]! & ~((p.entryBits?.[i] ?? 0) | (p.interior?.[i] ?? 0))) !== 0) return true;
    }
    return false;
  }

  /** The instructions of the distinct blocks the core saw entered on page hp while profiling it
   *  (layout.ts CACHE_JITSIZE). */
  private profiledSize(hp: number): number {
    return this.core.view().getUint32(this.core.codeCache + CACHE_JITSIZE + ((hp >>> 12) & (JITMAP_SLOTS - 1)) * 4, true);
  }

  private seenBits(hp: number): Uint8Array {
    return this.slotBits(CACHE_JITSEEN, hp);
  }

  /** Page hp's slot's bitmap in the per-slot table at `map` (CACHE_JITSEEN, CACHE_JITJUMP,
   *  CACHE_JITENTRY). */
  private slotBits(map: number, hp: number): Uint8Array {
    return new Uint8Array(this.core.memory.buffer, this.core.codeCache + map + ((hp >>> 12) & (JITMAP_SLOTS - 1)) * JITSEEN_BYTES, JITSEEN_BYTES);
  }

  /** jit_drop from the core: a slot no longer names region fn (stale: its page's bytes
   *  changed). */
  drop(fn: number, stale: boolean): void {
    if (stale) this.s.stale++;
    const r = this.regions.get(fn);
    if (!r) return;
    if (--r.refs > 0) return;
    this.release(r);
  }

  /** Whether translating `need` more guest instructions (at least 1) would exceed the compile
   *  budget: counts a refusal. (Not asked with threshold 1, which compiles everything at once.) */
  private overBudget(need: number): boolean {
    const { initial, ratio } = this.budget;
    if (ratio === 0) return false;
    const run = Number(this.core.view().getBigUint64(this.core.codeCache + CACHE_JIT_RUN, true));
    if (this.budgetUsed + Math.max(need, 1) <= initial + run / ratio) return false;
    this.s.deferred++;
    return true;
  }

  stats(): JitStats {
    const v = this.core.view();
    const c = this.core.codeCache;
    const u64 = (o: number) => Number(v.getBigUint64(c + o, true));
    return {
      threshold: this.defaultThreshold,
      ...this.s,
      compileMs: Math.round(this.s.compileMs * 1000) / 1000,
      liveRegions: this.regions.size,
      liveCodeBytes: this.liveBytes,
      enters: u64(CACHE_JIT_ENTERS),
      instructions: u64(CACHE_JIT_INSNS),
      misses: u64(CACHE_JIT_MISSES),
      checks: u64(CACHE_JIT_CHECKS),
      chains: u64(CACHE_JIT_CHAINS),
      run: u64(CACHE_JIT_RUN),
    };
  }

  /** Forgets every region (the core's slots are emptied). */
  flush(): void {
    const v = this.core.view();
    const base = this.core.codeCache + CACHE_JITMAP;
    for (let i = 0; i < JITMAP_SLOTS; i++) {
      v.setUint32(base + i * JITMAP_ENTRY_SIZE, 0, true);
      v.setInt32(base + i * JITMAP_ENTRY_SIZE + 4, 0, true);
      v.setInt32(base + i * JITMAP_ENTRY_SIZE + 12, 0, true);
    }
    for (const r of [...this.regions.values()]) this.release(r);
    this.pages.clear();
    this.s.flushes++;
  }

  private seedsOf(hp: number): PageSeeds {
    let p = this.pages.get(hp);
    if (!p) {
      if (this.pages.size >= 4 * JITMAP_SLOTS) this.pages.clear();
      p = { seeds: new Set(), jumped: new Set(), fresh: 0, misses: 0, missed: 0, waited: 0, recompiles: 0, size: 0, deferred: false };
      this.pages.set(hp, p);
    }
    return p;
  }

  /** build, or 0 (the page stays interpreted, the core backs off) when the page's code is too
   *  big to compile or anything fails: a guest's code never takes the host down. */
  private safeBuild(hp: number, p: PageSeeds, follow: boolean, budgeted: boolean): number {
    p.deferred = false;
    try {
      return this.build(hp, p, follow, budgeted);
    } catch {
      this.s.failures++;
      return 0;
    }
  }

  /** Compiles page hp from its seeds (follow: and everything reachable from them); budgeted:
   *  unless that exceeds the compile budget (p.deferred). */
  private build(hp: number, p: PageSeeds, follow: boolean, budgeted: boolean): number {
    const t0 = performance.now();
    const page = new Uint8Array(this.core.memory.buffer, hp, 4096).slice();
    // where code was entered on the page (the core's bitmap for its slot) is where it is compiled
    // from; with threshold 1 everything reachable from there is compiled too
    const seen = this.seenBits(hp);
    const jumps = this.slotBits(CACHE_JITJUMP, hp);
    for (let i = 0; i < JITSEEN_BYTES; i++) {
      for (let bit = 0, v = seen[i]!; v !== 0; bit++, v >>= 1) if (v & 1) p.seeds.add((i * 8 + bit) * 2);
      for (let bit = 0, v = jumps[i]!; v !== 0; bit++, v >>= 1) if (v & 1) p.jumped.add((i * 8 + bit) * 2);
    }
    const entries = discoverEntries(page, p.seeds, follow, 512, p.jumped);
    if (entries.length === 0) return 0;
    if (budgeted) {
      // asked before translating (a translation refused afterwards would be time lost)
      const need = countInstructions(page, entries);
      if (this.overBudget(need)) { p.size = need; p.deferred = true; return 0; }
    }
    const tr = translatePage(page, entries, 65536);
    if (tr.instructions === 0) return 0;
    p.size = tr.instructions; // (what the next attempt is likely to cost)
    if (budgeted && this.overBudget(tr.instructions)) { p.deferred = true; return 0; }
    if (tr.instructions > MAX_REGION_INSTRUCTIONS || tr.wasm.length > MAX_REGION_BYTES) { this.s.failures++; return 0; }
    const { module, hit } = moduleFor(tr.wasm);
    this.s.translations++;
    this.s.translatedInstructions += tr.instructions;
    if (budgeted) this.budgetUsed += tr.instructions;
    p.missed = 0;
    this.s.wasmBytes += tr.wasm.length;
    if (hit) this.s.moduleCacheHits++;
    let r = this.byModule.get(module);
    if (r) {
      r.refs++;
    } else {
      if (this.liveBytes + tr.wasm.length > this.maxCodeBytes) this.flush();
      const inst = new WebAssembly.Instance(module, this.imports as WebAssembly.Imports);
      const index = this.free.pop() ?? this.grow();
      this.core.table.set(index, inst.exports.run as () => void);
      r = { index, module, refs: 1, bytes: tr.wasm.length };
      this.regions.set(index, r);
      this.byModule.set(module, r);
      this.liveBytes += r.bytes;
    }
    // where the region has code: the run loop enters it only there
    const eb = this.slotBits(CACHE_JITENTRY, hp);
    eb.fill(0);
    for (const o of tr.entries) eb[o >>> 4] |= 1 << ((o >>> 1) & 7);
    p.entryBits = eb.slice();
    p.interior = tr.interior;
    this.s.compileMs += performance.now() - t0;
    return r.index;
  }

  private release(r: Region): void {
    this.regions.delete(r.index);
    this.byModule.delete(r.module);
    this.liveBytes -= r.bytes;
    this.core.table.set(r.index, null);
    this.released.push(r.index);
  }

  private recycle(): void {
    while (this.released.length > 0) this.free.push(this.released.pop()!);
  }

  private grow(): number {
    const t = this.core.table;
    const at = t.length;
    t.grow(Math.max(64, at >> 1));
    for (let i = t.length - 1; i > at; i--) this.free.push(i);
    return at;
  }
}
