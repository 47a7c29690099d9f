// Translation of one 4 KiB page of guest code into a WebAssembly function (the JIT's unit, a
// "region"). The function runs the page's code with the guest's integer registers in wasm locals,
// dispatching between the page's entry points with a br_table, until control leaves the page, the
// budget would be passed, or something needs the interpreter; it then writes the registers back
// and returns why it stopped. Everything here is a function of the page's bytes and the entry
// offsets: the page's guest virtual address and host address are parameters, so one translation
// serves every hart, address space and VM whose page holds the same bytes.
//
// Signature: run(h i32, pc i64, base i64, hp i32, budget i32, check i32, dctx i64, fctx i64) -> i32
//   h: the hart; pc: where to start (on this page); base: the page's guest virtual address;
//   hp: the page's host address; budget: most instructions to run; check: nonzero to compare the
//   page's bytes with those translated first (returns JIT_STALE, with nothing done, if they
//   differ); dctx, fctx: the data and fetch translation contexts (mmu.ts).
//   Returns (instructions retired << 4) | status (JIT_* in layout.ts); the pc to go on from (the
//   faulting instruction's for JIT_TRAP) is stored in HART_PC.
// Chaining: where control leaves the page (JIT_OK), a region that finds the target page in the
// hart's fetch TLB, that page's JITMAP slot naming a region checked in the current epoch and an
// entry there at the target returns JIT_CHAIN with that region and page in HART_JIT_NEXT and
// HART_JIT_HP: the run loop calls it at once, without its own lookups. (A tail call from region to
// region, return_call_indirect, would need every region to import the core's function table, and
// V8 then updates every importing instance on each table.set: measured quadratic, a test that
// compiles 180,000 regions went from 45 s to beyond 5 minutes.)
//
// Handled in wasm: RV64I and M (C through expansion), loads and stores through the hart's TLB,
// FLW/FLD/FSW/FSD, binary64 arithmetic (add, sub, mul, div, sqrt, fused multiply-adds) by direct
// calls of the core's FPU functions, fflags/frm/fcsr accesses; the rest of A, F and D through the
// core's exec_ext. Everything that may change privilege, translation or control in ways a region
// cannot follow (system instructions, other CSRs, fence.i, illegal encodings, an instruction on
// the page's last halfword), an access tlb_fill leaves to the interpreter, a store to a frame
// holding checked code, and an FP instruction with mstatus.FS not Dirty (or a reserved dynamic
// rounding mode) end the region before that instruction (JIT_SLOW), which the interpreter runs.
import { INSNS, type InsnDef } from '../isa/table.js';
import { immB, immI, immJ, immS } from '../isa/fields.js';
import {
  HART_BCACHE, HART_F, HART_FCSR, HART_MSTATUS, HART_PC, HART_TLB, TLB_ENTRIES, TLB_TAG_W, TLB_ADDEND, MSTATUS_FS_SHIFT,
  CACHE_CODEMAP, CODEMAP_BITS, CACHE_JITMAP, JITMAP_SLOTS, CACHE_JITENTRY, CACHE_EPOCH, HART_JIT_HP, HART_JIT_NEXT, JIT_CHAIN, TLB_TAG_X, ACCESS_READ, ACCESS_WRITE, JIT_OK, JIT_TRAP, JIT_MISS, JIT_REFETCH, JIT_STALE, JIT_SLOW,
} from '../cpu/layout.js';
import { Body, I32, I64, Op, writeModule, type FuncImport, type ValType } from './wasm-writer.js';
import { type Insn, decodeAt, BRANCHES, interpreted, isFpCsr, targetsOf } from './page-code.js';
export { discoverEntries, countInstructions } from './page-code.js';

/** What a region imports from the core instance (in this order: call indices). */
export const REGION_IMPORTS: readonly FuncImport[] = [
  { name: 'exec_ext', params: [I32, I32, I32, I32, I32, I64, I64], result: I32 },
  ...['mulh', 'mulhu', 'mulhsu'].map((name) => ({ name, params: [I64, I64] as ValType[], result: I64 as ValType })),
  { name: 'tlb_fill', params: [I32, I64, I32, I32, I64], result: I32 },
  ...['f64_add', 'f64_sub', 'f64_mul', 'f64_div'].map((name) => ({ name, params: [I32, I64, I64, I32] as ValType[], result: I64 as ValType })),
  { name: 'f64_sqrt', params: [I32, I64, I32], result: I64 },
  { name: 'f64_madd', params: [I32, I64, I64, I64, I32, I32], result: I64 },
  ...['f64_eq', 'f64_lt', 'f64_le'].map((name) => ({ name, params: [I32, I64, I64] as ValType[], result: I64 as ValType })),
  ...['f64_to_i32', 'f64_to_u32', 'f64_to_i64', 'f64_to_u64', 'i32_to_f64', 'u32_to_f64', 'i64_to_f64', 'u64_to_f64']
    .map((name) => ({ name, params: [I32, I64, I32] as ValType[], result: I64 as ValType })),
];
const F_EXEC_EXT = 0;
const F_TLB_FILL = 4;
/** Binary64 operations called directly (D chapter): the import, its sources in rs1, rs2, rs3
 *  order (f: an FP register, x: an integer one), where the result goes, and whether a rounding
 *  mode is passed (fused multiply-adds pass their variant too, bits 3:2 of the opcode). */
interface FpCall { fn: number; srcs: string; dest: 'f' | 'x'; rm: boolean }
const fpCall = (fn: number, srcs: string, dest: 'f' | 'x', rm = true): FpCall => ({ fn, srcs, dest, rm });
const FP64: Record<string, FpCall> = {
  'fadd.d': fpCall(5, 'ff', 'f'), 'fsub.d': fpCall(6, 'ff', 'f'), 'fmul.d': fpCall(7, 'ff', 'f'), 'fdiv.d': fpCall(8, 'ff', 'f'),
  'fsqrt.d': fpCall(9, 'f', 'f'),
  'fmadd.d': fpCall(10, 'fff', 'f'), 'fmsub.d': fpCall(10, 'fff', 'f'), 'fnmsub.d': fpCall(10, 'fff', 'f'), 'fnmadd.d': fpCall(10, 'fff', 'f'),
  'feq.d': fpCall(11, 'ff', 'x', false), 'flt.d': fpCall(12, 'ff', 'x', false), 'fle.d': fpCall(13, 'ff', 'x', false),
  'fcvt.w.d': fpCall(14, 'f', 'x'), 'fcvt.wu.d': fpCall(15, 'f', 'x'), 'fcvt.l.d': fpCall(16, 'f', 'x'), 'fcvt.lu.d': fpCall(17, 'f', 'x'),
  'fcvt.d.w': fpCall(18, 'x', 'f'), 'fcvt.d.wu': fpCall(19, 'x', 'f'), 'fcvt.d.l': fpCall(20, 'x', 'f'), 'fcvt.d.lu': fpCall(21, 'x', 'f'),
};
/** Binary64 sign injection and moves between register files (D chapter 21.6, 21.7): bit
 *  operations written inline (no flags; the sign is bit 63). */
const FP_BITS = new Set(['fsgnj.d', 'fsgnjn.d', 'fsgnjx.d', 'fmv.x.d', 'fmv.d.x']);
const ALU_CALL: Record<string, number> = { mulh: 1, mulhu: 2, mulhsu: 3 };
/** Division and remainder (M, chapter 13): the wasm operator, the width, whether signed, whether
 *  a remainder. Inline: a zero divisor (and the signed overflow of div) is replaced by 1 before
 *  the operator, which then cannot trap, and the result selected as the spec defines it. */
const DIVS: Record<string, [number, 32 | 64, boolean, boolean]> = {
  div: [Op.i64_div_s, 64, true, false], divu: [Op.i64_div_u, 64, false, false],
  rem: [Op.i64_rem_s, 64, true, true], remu: [Op.i64_rem_u, 64, false, true],
  divw: [Op.i32_div_s, 32, true, false], divuw: [Op.i32_div_u, 32, false, false],
  remw: [Op.i32_rem_s, 32, true, true], remuw: [Op.i32_rem_u, 32, false, true],
};

const PARAMS: readonly ValType[] = [I32, I64, I64, I32, I32, I32, I64, I64];
const P_H = 0, P_PC = 1, P_BASE = 2, P_HP = 3, P_BUDGET = 4, P_CHECK = 5, P_DCTX = 6, P_FCTX = 7;

const ID = new Map<InsnDef, number>(INSNS.map((d, i) => [d, i]));
const FS_MASK = 3n << BigInt(MSTATUS_FS_SHIFT);

const LOADS: Record<string, [number, number]> = { // opcode, size
  lb: [Op.i64_load8_s, 1], lh: [Op.i64_load16_s, 2], lw: [Op.i64_load32_s, 4], ld: [Op.i64_load, 8],
  lbu: [Op.i64_load8_u, 1], lhu: [Op.i64_load16_u, 2], lwu: [Op.i64_load32_u, 4],
};
const STORES: Record<string, [number, number]> = {
  sb: [Op.i64_store8, 1], sh: [Op.i64_store16, 2], sw: [Op.i64_store32, 4], sd: [Op.i64_store, 8],
};

/** Whether an instruction is run by the core's exec_ext (A, and F/D other than loads/stores). */
function viaExt(d: InsnDef): boolean {
  return d.ext === 'A' || ((d.ext === 'F' || d.ext === 'D') && !['flw', 'fld', 'fsw', 'fsd'].includes(d.name));
}

export interface Translation {
  /** The module's bytes. */
  wasm: Uint8Array;
  /** Entry offsets translated. */
  entries: number[];
  /** Guest instructions translated (counting those duplicated in overlapping runs). */
  instructions: number;
  /** Offsets the translation runs through but cannot be entered at (a bit per halfword, as the
   *  core's entry bitmap): where an interpreter that stopped mid-run (a slice's end) resumes. */
  interior: Uint8Array;
}

/** Translates the page's code from the given entry offsets (as found by discoverEntries). */
export function translatePage(page: Uint8Array, entries: readonly number[], maxPages: number): Translation {
  return new RegionWriter(page, entries).write(maxPages);
}

class RegionWriter {
  private readonly b = new Body(PARAMS);
  private readonly n: number;
  private readonly status: number;
  private readonly c: number;
  private readonly va: number;
  private readonly a: number;
  private readonly t: number;
  private readonly x: number[] = [];
  /** Registers the region reads or writes (loaded into their locals on entry) and those it
   *  writes (stored back to the hart on every exit): inside the region a register lives in its
   *  local only. */
  private readonly used = new Set<number>();
  private readonly written = new Set<number>();
  /** Aligned 8-byte chunks of the page that translated instructions occupy. */
  private readonly chunks = new Set<number>();
  private instructions = 0;
  private readonly interior = new Uint8Array(256);
  /** Where the translated instructions may send control on the page (targetsOf): never interior. */
  private readonly targets: number[] = [];

  constructor(private readonly page: Uint8Array, private readonly entries: readonly number[]) {
    this.n = this.b.local(I32);
    this.status = this.b.local(I32);
    this.c = this.b.local(I32);
    this.a = this.b.local(I32);
    this.va = this.b.local(I64);
    this.t = this.b.local(I64);
    for (let r = 1; r < 32; r++) this.x[r] = this.b.local(I64);
    this.ex = this.b.local(I32);
    this.d = this.b.local(I32);
  }

  /** A second i32 scratch (the 32-bit divisor). */
  private readonly d: number;

  /** A packed exit or jump: (instructions retired << 17) | (page offset << 4) | status. */
  private readonly ex: number;

  write(maxPages: number): Translation {
    // The body is written first (collecting the registers and bytes it uses), then prefixed with
    // the byte check and the register loads: a second Body holds the prologue.
    const b = this.b;
    b.block('exit');
    b.block('chain');
    b.block('xexit');
    b.loop('disp');
    b.block('xjump');
    const cases = this.entries;
    for (let i = cases.length - 1; i >= 0; i--) b.block(`c${i}`);
    b.block('miss');
    // dispatch on (pc - base) >> 1
    const span = cases.length === 0 ? 0 : (cases[cases.length - 1]! >> 1) + 1;
    const targets: string[] = [];
    const index = new Map(cases.map((o, i) => [o, i]));
    for (let h = 0; h < span; h++) {
      const i = index.get(h << 1);
      targets.push(i === undefined ? 'miss' : `c${i}`);
    }
    b.get(P_PC).get(P_BASE).op(Op.i64_sub).op(Op.i32_wrap_i64).i32(1).op(Op.i32_shr_u);
    b.brTable(targets, 'miss');
    b.end(); // miss
    b.i32(JIT_MISS).set(this.status).br('exit');
    for (let i = 0; i < cases.length; i++) {
      b.end(); // c{i}: its code follows
      this.writeCase(cases[i]!, cases[i + 1]);
    }
    b.end(); // xjump (every case ends with a branch: the last one never falls here)
    // a packed jump to an offset on the page
    this.unpack();
    b.br('disp');
    b.end(); // loop
    b.op(Op.unreachable);
    b.end(); // xexit: a packed exit
    this.unpack();
    b.get(this.ex).i32(15).op(Op.i32_and).tee(this.status).i32(JIT_OK).op(Op.i32_ne).brIf('exit');
    b.end(); // chain: JIT_OK, to P_PC
    this.chain();
    b.end(); // exit
    // the registers written back, the pc, and how many retired and why
    for (const r of [...this.written].sort((q, s) => q - s)) b.get(P_H).get(this.x[r]!).mem(Op.i64_store, 3, r * 8);
    b.get(P_H).get(P_PC).mem(Op.i64_store, 3, HART_PC);
    b.get(this.n).i32(4).op(Op.i32_shl).get(this.status).op(Op.i32_or);
    for (const o of this.targets) if (o >= 0 && o < 0x1000) this.interior[o >>> 4]! &= ~(1 << ((o >>> 1) & 7));
    const full = this.prologue();
    return { wasm: writeModule(REGION_IMPORTS, { params: PARAMS, result: I32, body: full }, maxPages), entries: [...cases], instructions: this.instructions, interior: this.interior };
  }

  /** A body with the same locals: the byte check, register loads, then the code written so far. */
  private prologue(): Body {
    const p = new Body(PARAMS);
    // same local layout
    p.local(I32); p.local(I32); p.local(I32); p.local(I32); p.local(I64); p.local(I64);
    for (let r = 1; r < 32; r++) p.local(I64);
    p.local(I32); p.local(I32);
    p.get(P_CHECK).if();
    p.block('ok');
    p.block('stale');
    for (const o of [...this.chunks].sort((q, r) => q - r)) {
      const v = new DataView(this.page.buffer, this.page.byteOffset + o, 8).getBigInt64(0, true);
      p.get(P_HP).mem(Op.i64_load, 3, o).i64(v).op(Op.i64_ne).brIf('stale');
    }
    p.br('ok');
    p.end(); // stale
    p.i32(JIT_STALE).op(Op.return);
    p.end(); // ok
    p.end();
    p.get(P_H).mem(Op.i32_load, 2, HART_BCACHE).set(this.c);
    for (const r of [...this.used].sort((q, s) => q - s)) p.get(P_H).mem(Op.i64_load, 3, r * 8).set(this.x[r]!);
    p.code.bytes(this.b.code.view());
    return p;
  }

  // ---- helpers ----
  /** Pushes x[r] (its local). */
  private rx(r: number): void {
    if (r === 0) { this.b.i64(0); return; }
    this.used.add(r);
    this.b.get(this.x[r]!);
  }

  /** Sets x[rd] (its local) from the value on the stack (dropped for x0). */
  private wx(rd: number): void {
    if (rd === 0) { this.b.op(Op.drop); return; }
    this.used.add(rd); // a path that does not write it must still store its value on exit
    this.written.add(rd);
    this.b.set(this.x[rd]!);
  }

  private pcConst(off: number): void {
    this.b.get(P_BASE).i64(off).op(Op.i64_add);
  }

  /** Leaves the region: `k` more instructions retired, the pc at page offset `off` (or left as
   *  set when off is undefined), with `status`. */
  private exit(k: number, off: number | undefined, status: number): void {
    const b = this.b;
    if (off !== undefined && off >= 0 && off <= 0x1fff && k < 0x8000) { // the common case, packed (smaller code)
      b.i32((k << 17) | (off << 4) | status).set(this.ex).br('xexit');
      return;
    }
    if (k > 0) b.get(this.n).i32(k).op(Op.i32_add).set(this.n);
    if (off !== undefined) { this.pcConst(off); b.set(P_PC); }
    b.i32(status).set(this.status).br(status === JIT_OK ? 'chain' : 'exit');
  }

  /** Leaving with JIT_OK for P_PC: when it is on another page whose region can be entered there
   *  (the fetch TLB maps it, the page's JITMAP slot names a region checked in this epoch, which
   *  has an entry at that offset), exits with JIT_CHAIN and that region; else falls through to
   *  the exit with JIT_OK. (An exit for the budget stays on the page: never chained.) */
  private chain(): void {
    const b = this.b;
    const a = this.a, d = this.d, c = this.c;
    b.block('nochain');
    b.get(P_PC).get(P_BASE).op(Op.i64_sub).i64(0x1000n).op(Op.i64_lt_u).brIf('nochain');
    // the fetch TLB's entry for pc (as fastAddr's for data)
    b.get(P_H).get(P_PC).i64(12n).op(Op.i64_shr_u).op(Op.i32_wrap_i64).i32(TLB_ENTRIES - 1).op(Op.i32_and).i32(5).op(Op.i32_shl).op(Op.i32_add).set(a);
    b.get(a).mem(Op.i64_load, 3, HART_TLB + TLB_TAG_X).get(P_PC).i64(12n).op(Op.i64_shr_u).get(P_FCTX).op(Op.i64_or).op(Op.i64_ne).brIf('nochain');
    // its host page, and that page's slot (jit-track.ts jit_slot): the page, the region, the epoch
    b.get(P_PC).get(a).mem(Op.i64_load, 3, HART_TLB + TLB_ADDEND).op(Op.i64_add).op(Op.i32_wrap_i64).i32(~0xfff).op(Op.i32_and).set(d);
    b.get(c).get(d).i32(12).op(Op.i32_shr_u).i32(JITMAP_SLOTS - 1).op(Op.i32_and).i32(4).op(Op.i32_shl).op(Op.i32_add).set(a);
    b.get(a).mem(Op.i32_load, 2, CACHE_JITMAP).get(d).op(Op.i32_ne).brIf('nochain');
    b.get(a).mem(Op.i32_load, 2, CACHE_JITMAP + 8).get(c).mem(Op.i32_load, 2, CACHE_EPOCH).op(Op.i32_ne).brIf('nochain');
    b.get(a).mem(Op.i32_load, 2, CACHE_JITMAP + 4).tee(this.ex).i32(0).op(Op.i32_le_s).brIf('nochain');
    // the slot's entry bitmap (CACHE_JITENTRY, 256 bytes per slot) has pc's bit
    b.get(a).get(c).op(Op.i32_sub).i32(4).op(Op.i32_shl).get(c).op(Op.i32_add);
    b.get(P_PC).op(Op.i32_wrap_i64).i32(0xfff).op(Op.i32_and).i32(4).op(Op.i32_shr_u).op(Op.i32_add).mem(Op.i32_load8_u, 0, CACHE_JITENTRY);
    b.i32(1).get(P_PC).op(Op.i32_wrap_i64).i32(1).op(Op.i32_shr_u).i32(7).op(Op.i32_and).op(Op.i32_shl).op(Op.i32_and).op(Op.i32_eqz).brIf('nochain');
    b.get(P_H).get(d).mem(Op.i32_store, 2, HART_JIT_HP);
    b.get(P_H).get(this.ex).mem(Op.i32_store, 2, HART_JIT_NEXT);
    b.i32(JIT_CHAIN).set(this.status).br('exit');
    b.end(); // nochain
  }

  /** n += the packed count, pc = base + the packed offset. */
  private unpack(): void {
    const b = this.b;
    b.get(this.n).get(this.ex).i32(17).op(Op.i32_shr_u).op(Op.i32_add).set(this.n);
    b.get(P_BASE).get(this.ex).i32(4).op(Op.i32_shr_u).i32(0x1fff).op(Op.i32_and).op(Op.i64_extend_i32_u).op(Op.i64_add).set(P_PC);
  }

  /** Goes to page offset `off` (known at translation time): through the dispatch if it is on the
   *  page, else out of the region. */
  private goto(k: number, off: number): void {
    const b = this.b;
    if (off >= 0 && off < 0xffe && k < 0x8000) b.i32((k << 17) | (off << 4)).set(this.ex).br('xjump');
    else this.exit(k, off, JIT_OK);
  }

  /** Goes to the pc computed into P_PC: the dispatch if it is on the page, else out. */
  private gotoDynamic(k: number): void {
    const b = this.b;
    if (k > 0) b.get(this.n).i32(k).op(Op.i32_add).set(this.n);
    b.get(P_PC).get(P_BASE).op(Op.i64_sub).i64(0xffen).op(Op.i64_lt_u).brIf('disp');
    b.i32(JIT_OK).set(this.status).br('chain');
  }

  private writeCase(start: number, nextEntry: number | undefined): void {
    const b = this.b;
    // the run: instructions from start to the first that ends it (or the next entry)
    const run: Insn[] = [];
    let off = start;
    let end: 'fall' | 'edge' | 'stop' = 'edge';
    while (off < 0xffe) {
      if (off === nextEntry && run.length > 0) { end = 'fall'; break; }
      // past the next entry without landing on it (it is inside an instruction of this run):
      // stop here rather than translate the rest of the page once per such entry
      if (nextEntry !== undefined && off > nextEntry) break;
      const i = decodeAt(this.page, off);
      if (!i || interpreted(i)) { end = 'stop'; break; }
      run.push(i);
      off += i.len;
      if (i.name === 'jal' || i.name === 'jalr') { end = 'stop'; break; }
    }
    const cnt = run.length;
    if (cnt === 0) { this.exit(0, start, JIT_SLOW); return; } // the interpreter runs it
    // budget: never run past it (the interpreter finishes a slice's last partial run)
    b.get(this.n).i32(cnt).op(Op.i32_add).get(P_BUDGET).op(Op.i32_gt_u).if();
    this.exit(0, start, JIT_OK);
    b.end();
    for (let k = 0; k < cnt; k++) {
      const i = run[k]!;
      this.instructions++;
      if (k > 0) this.interior[i.off >>> 4]! |= 1 << ((i.off >>> 1) & 7);
      targetsOf(i, i.off, (o) => this.targets.push(o));
      for (let o = i.off & ~7; o < i.off + i.len; o += 8) this.chunks.add(o);
      this.insn(i, k);
    }
    const last = run[cnt - 1]!;
    if (last.name === 'jal' || last.name === 'jalr') return; // it branched
    const after = last.off + last.len;
    if (end === 'fall') {
      b.get(this.n).i32(cnt).op(Op.i32_add).set(this.n);
      return; // into the next case's code
    }
    // an instruction for the interpreter or an undecodable one (the interpreter runs it at once),
    // or the page's last halfword
    this.exit(cnt, after, end === 'stop' ? JIT_SLOW : JIT_OK);
  }

  /** Emits instruction i, the k-th of its run (k retired before it in this run). */
  private insn(i: Insn, k: number): void {
    const b = this.b;
    const w = i.ins;
    const rd = (w >>> 7) & 31, r1 = (w >>> 15) & 31, r2 = (w >>> 20) & 31;
    const next = i.off + i.len;
    const name = i.name;
    const bin = (o: number) => { this.rx(r1); this.rx(r2); b.op(o); this.wx(rd); };
    const imm = (o: number, v: number) => { this.rx(r1); b.i64(v); b.op(o); this.wx(rd); };
    const w32 = (f: () => void) => { f(); b.op(Op.i64_extend_i32_s); this.wx(rd); };
    const lo = (r: number) => { this.rx(r); b.op(Op.i32_wrap_i64); };
    const cmp = (o: number, r: () => void) => { this.rx(r1); r(); b.op(o).op(Op.i64_extend_i32_u); this.wx(rd); };
    if (LOADS[name]) { this.load(i, k, LOADS[name]![0], LOADS[name]![1], rd, false); return; }
    if (STORES[name]) { this.store(i, k, STORES[name]![0], STORES[name]![1], false); return; }
    if (BRANCHES.has(name)) {
      const o = { beq: Op.i64_eq, bne: Op.i64_ne, blt: Op.i64_lt_s, bge: Op.i64_ge_s, bltu: Op.i64_lt_u, bgeu: Op.i64_ge_u }[name]!;
      this.rx(r1); this.rx(r2); b.op(o).if();
      this.goto(k + 1, i.off + immB(w));
      b.end();
      return;
    }
    switch (name) {
      case 'lui': if (rd) { b.i64(w & 0xfffff000 | 0); this.wx(rd); } return;
      case 'auipc': if (rd) { this.pcConst(i.off + (w & 0xfffff000 | 0)); this.wx(rd); } return;
      case 'jal':
        if (rd) { this.pcConst(next); this.wx(rd); }
        this.goto(k + 1, i.off + immJ(w));
        return;
      case 'jalr':
        this.rx(r1); b.i64(immI(w)).op(Op.i64_add).i64(-2n).op(Op.i64_and).set(P_PC);
        if (rd) { this.pcConst(next); this.wx(rd); }
        this.gotoDynamic(k + 1);
        return;
      case 'addi': if (rd) imm(Op.i64_add, immI(w)); return;
      case 'slti': if (rd) { this.rx(r1); b.i64(immI(w)).op(Op.i64_lt_s).op(Op.i64_extend_i32_u); this.wx(rd); } return;
      case 'sltiu': if (rd) { this.rx(r1); b.i64(immI(w)).op(Op.i64_lt_u).op(Op.i64_extend_i32_u); this.wx(rd); } return;
      case 'xori': if (rd) imm(Op.i64_xor, immI(w)); return;
      case 'ori': if (rd) imm(Op.i64_or, immI(w)); return;
      case 'andi': if (rd) imm(Op.i64_and, immI(w)); return;
      case 'slli': if (rd) imm(Op.i64_shl, (w >>> 20) & 63); return;
      case 'srli': if (rd) imm(Op.i64_shr_u, (w >>> 20) & 63); return;
      case 'srai': if (rd) imm(Op.i64_shr_s, (w >>> 20) & 63); return;
      case 'addiw': if (rd) w32(() => { lo(r1); b.i32(immI(w)).op(Op.i32_add); }); return;
      case 'slliw': if (rd) w32(() => { lo(r1); b.i32(r2).op(Op.i32_shl); }); return;
      case 'srliw': if (rd) w32(() => { lo(r1); b.i32(r2).op(Op.i32_shr_u); }); return;
      case 'sraiw': if (rd) w32(() => { lo(r1); b.i32(r2).op(Op.i32_shr_s); }); return;
      case 'add': if (rd) bin(Op.i64_add); return;
      case 'sub': if (rd) bin(Op.i64_sub); return;
      case 'sll': if (rd) bin(Op.i64_shl); return; // wasm shifts by the count mod 64, as RV64 does
      case 'slt': if (rd) cmp(Op.i64_lt_s, () => this.rx(r2)); return;
      case 'sltu': if (rd) cmp(Op.i64_lt_u, () => this.rx(r2)); return;
      case 'xor': if (rd) bin(Op.i64_xor); return;
      case 'srl': if (rd) bin(Op.i64_shr_u); return;
      case 'sra': if (rd) bin(Op.i64_shr_s); return;
      case 'or': if (rd) bin(Op.i64_or); return;
      case 'and': if (rd) bin(Op.i64_and); return;
      case 'addw': if (rd) w32(() => { lo(r1); lo(r2); b.op(Op.i32_add); }); return;
      case 'subw': if (rd) w32(() => { lo(r1); lo(r2); b.op(Op.i32_sub); }); return;
      case 'sllw': if (rd) w32(() => { lo(r1); lo(r2); b.op(Op.i32_shl); }); return; // count mod 32
      case 'srlw': if (rd) w32(() => { lo(r1); lo(r2); b.op(Op.i32_shr_u); }); return;
      case 'sraw': if (rd) w32(() => { lo(r1); lo(r2); b.op(Op.i32_shr_s); }); return;
      case 'mul': if (rd) bin(Op.i64_mul); return;
      case 'mulw': if (rd) w32(() => { lo(r1); lo(r2); b.op(Op.i32_mul); }); return;
      case 'fence': return; // one hart at a time per instance
      case 'flw': case 'fld': this.load(i, k, name === 'flw' ? Op.i64_load32_u : Op.i64_load, name === 'flw' ? 4 : 8, rd, true); return;
      case 'fsw': case 'fsd': this.store(i, k, name === 'fsw' ? Op.i64_store32 : Op.i64_store, name === 'fsw' ? 4 : 8, true); return;
    }
    const dv = DIVS[name];
    if (dv !== undefined) {
      if (rd) this.divide(rd, r1, r2, ...dv);
      return;
    }
    const alu = ALU_CALL[name];
    if (alu !== undefined) {
      if (rd) { this.rx(r1); this.rx(r2); b.call(alu); this.wx(rd); }
      return;
    }
    const fp = FP64[name];
    const rm = (w >>> 12) & 7; // 5 and 6 are reserved: exec_ext raises the illegal instruction
    if (fp !== undefined && (!fp.rm || rm <= 4 || rm === 7)) { this.fp64(i, k, fp); return; }
    if (FP_BITS.has(name)) { this.fpBits(i, k); return; }
    if (isFpCsr(i)) { this.fpCsr(i, k); return; }
    if (i.def && viaExt(i.def)) { this.ext(i, k); return; }
    throw new Error(`jit: no translation for ${name}`);
  }

  /** x[rd] = x[r1] op x[r2] for a division or remainder (DIVS): by zero, -1 for a quotient and
   *  the dividend for a remainder; the signed overflow (most negative / -1) gives the dividend and
   *  remainder 0 (table 13.1), which wasm's rem_s gives too. */
  private divide(rd: number, r1: number, r2: number, op: number, width: 32 | 64, signed: boolean, rem: boolean): void {
    const b = this.b;
    const w = width === 32;
    const [x, y] = w ? [this.a, this.d] : [this.va, this.t];
    const konst = (v: number) => { if (w) b.i32(v); else b.i64(BigInt(v)); };
    const eqz = w ? Op.i32_eqz : Op.i64_eqz;
    const eq = w ? Op.i32_eq : Op.i64_eq;
    this.rx(r1); if (w) b.op(Op.i32_wrap_i64); b.set(x);
    this.rx(r2); if (w) b.op(Op.i32_wrap_i64); b.set(y);
    if (rem) b.get(x); else konst(-1); // the result for a zero divisor
    b.get(x);
    // the divisor, 1 where it is 0 (or, for a signed quotient, where it overflows)
    konst(1);
    b.get(y).get(y).op(eqz);
    if (signed && !rem) {
      b.get(x);
      if (w) b.i32(0x80000000 | 0); else b.i64(-(1n << 63n));
      b.op(eq).get(y);
      konst(-1);
      b.op(eq).op(Op.i32_and).op(Op.i32_or);
    }
    b.op(Op.select).op(op);
    b.get(y).op(eqz).op(Op.select);
    if (w) b.op(Op.i64_extend_i32_s);
    this.wx(rd);
  }

  /** Host address of the access at va (P_VA) into local a, through the TLB's fast path, else the
   *  core's tlb_fill. Leaves `a` = 0 when the interpreter must run the access. */
  private fastAddr(size: number, tagOffset: number): void {
    const b = this.b;
    // e = h + ((vpn & (TLB_ENTRIES-1)) << 5); a hit if tag == vpn(last byte) | dctx: an access
    // that runs onto the next page has another vpn for its last byte, which cannot be the tag of
    // this entry (a neighbour's vpn has another index), so it misses and tlb_fill takes it
    b.get(P_H);
    b.get(this.va).op(Op.i32_wrap_i64).i32(12 - 5).op(Op.i32_shr_u).i32((TLB_ENTRIES - 1) << 5).op(Op.i32_and);
    b.op(Op.i32_add).set(this.a);
    b.get(this.a).mem(Op.i64_load, 3, HART_TLB + tagOffset);
    b.get(this.va);
    if (size > 1) b.i64(BigInt(size - 1)).op(Op.i64_add);
    b.i64(12n).op(Op.i64_shr_u).get(P_DCTX).op(Op.i64_or).op(Op.i64_eq);
    b.if();
    b.get(this.va).get(this.a).mem(Op.i64_load, 3, HART_TLB + TLB_ADDEND).op(Op.i64_add).op(Op.i32_wrap_i64).set(this.a);
    b.else();
    b.get(P_H).get(this.va).i32(size).i32(tagOffset === 0 ? ACCESS_READ : ACCESS_WRITE).get(P_DCTX).call(F_TLB_FILL).set(this.a);
    b.end();
  }

  /** A binary64 operation (FP64) with a valid static or dynamic rounding mode: the core's own
   *  function on the operands (FP registers in the hart, integer ones in their locals), the result
   *  written to the hart's FP register or the integer register's local. Leaves to the interpreter
   *  when mstatus.FS is not Dirty or frm holds a reserved mode (which then traps). */
  private fp64(i: Insn, k: number, op: FpCall): void {
    const b = this.b;
    const w = i.ins;
    const rd = (w >>> 7) & 31, r1 = (w >>> 15) & 31, r2 = (w >>> 20) & 31, r3 = w >>> 27;
    this.fpGuard(i, k);
    const rm = (w >>> 12) & 7;
    if (op.rm && rm === 7) { // dynamic: frm, fcsr bits 7:5 (reserved values 5-7 make it illegal)
      b.get(P_H).mem(Op.i32_load, 2, HART_FCSR).i32(5).op(Op.i32_shr_u).i32(7).op(Op.i32_and).tee(this.d).i32(4).op(Op.i32_gt_u).if();
      this.exit(k, i.off, JIT_SLOW);
      b.end();
    }
    if (op.dest === 'f') b.get(P_H);
    b.get(P_H).i32(HART_FCSR).op(Op.i32_add);
    [r1, r2, r3].slice(0, op.srcs.length).forEach((r, j) => {
      if (op.srcs[j] === 'x') this.rx(r);
      else b.get(P_H).mem(Op.i64_load, 3, HART_F + r * 8);
    });
    if (op.rm) { if (rm === 7) b.get(this.d); else b.i32(rm); }
    if (op.srcs.length === 3) b.i32((w >>> 2) & 3);
    b.call(op.fn);
    if (op.dest === 'f') b.mem(Op.i64_store, 3, HART_F + rd * 8);
    else this.wx(rd);
  }

  /** FP_BITS: sign injection and moves, inline (after the FS guard, as every FP instruction). */
  private fpBits(i: Insn, k: number): void {
    const b = this.b;
    const w = i.ins;
    const rd = (w >>> 7) & 31, r1 = (w >>> 15) & 31, r2 = (w >>> 20) & 31;
    const f = (r: number) => b.get(P_H).mem(Op.i64_load, 3, HART_F + r * 8);
    const sign = -(1n << 63n);
    this.fpGuard(i, k);
    if (i.name === 'fmv.x.d') { f(r1); this.wx(rd); return; }
    b.get(P_H);
    if (i.name === 'fmv.d.x') this.rx(r1);
    else if (i.name === 'fsgnjx.d') { f(r1); f(r2); b.i64(sign).op(Op.i64_and).op(Op.i64_xor); }
    else {
      f(r1); b.i64(~sign).op(Op.i64_and);
      f(r2); if (i.name === 'fsgnjn.d') b.i64(-1n).op(Op.i64_xor);
      b.i64(sign).op(Op.i64_and).op(Op.i64_or);
    }
    b.mem(Op.i64_store, 3, HART_F + rd * 8);
  }

  /** CSRRW/S/C(I) on fflags, frm or fcsr (unprivileged spec 11.2, Zicsr 9.1), inline after the
   *  FS guard (FS Dirty: legal, and a write leaves it Dirty), as csr.ts does: rd gets the old
   *  value, a set or clear with x0 / immediate 0 writes nothing. */
  private fpCsr(i: Insn, k: number): void {
    const b = this.b;
    const w = i.ins;
    const rd = (w >>> 7) & 31, r1 = (w >>> 15) & 31, csr = w >>> 20, f3 = (w >>> 12) & 7;
    const op = f3 & 3, imm = (f3 & 4) !== 0;
    this.fpGuard(i, k);
    // old value into d, the source (low 32 bits are all that matter) into a
    const fcsr = () => b.get(P_H).mem(Op.i32_load, 2, HART_FCSR);
    fcsr();
    if (csr === 1) b.i32(0x1f).op(Op.i32_and);
    else if (csr === 2) b.i32(5).op(Op.i32_shr_u).i32(7).op(Op.i32_and);
    else b.i32(0xff).op(Op.i32_and);
    b.set(this.d);
    if (op === 1 || r1 !== 0) {
      if (imm) b.i32(r1); else { this.rx(r1); b.op(Op.i32_wrap_i64); }
      if (op === 2) b.get(this.d).op(Op.i32_or);
      else if (op === 3) b.i32(-1).op(Op.i32_xor).get(this.d).op(Op.i32_and);
      b.set(this.a);
      b.get(P_H);
      if (csr === 1) { fcsr(); b.i32(~0x1f).op(Op.i32_and).get(this.a).i32(0x1f).op(Op.i32_and).op(Op.i32_or); }
      else if (csr === 2) { fcsr(); b.i32(0x1f).op(Op.i32_and).get(this.a).i32(7).op(Op.i32_and).i32(5).op(Op.i32_shl).op(Op.i32_or); }
      else b.get(this.a).i32(0xff).op(Op.i32_and);
      b.mem(Op.i32_store, 2, HART_FCSR);
    }
    if (rd) { b.get(this.d).op(Op.i64_extend_i32_u); this.wx(rd); }
  }

  /** FLW/FLD/FSW/FSD: leaves to the interpreter unless mstatus.FS is Dirty (which then raises the
   *  illegal-instruction trap or marks FS Dirty, privileged spec 3.1.6.6). */
  private fpGuard(i: Insn, k: number): void {
    const b = this.b;
    b.get(P_H).mem(Op.i64_load, 3, HART_MSTATUS).i64(FS_MASK).op(Op.i64_and).i64(FS_MASK).op(Op.i64_ne).if();
    this.exit(k, i.off, JIT_SLOW);
    b.end();
  }

  private load(i: Insn, k: number, op: number, size: number, rd: number, fp: boolean): void {
    const b = this.b;
    const w = i.ins;
    const r1 = (w >>> 15) & 31;
    if (fp) this.fpGuard(i, k);
    this.rx(r1); b.i64(immI(w)).op(Op.i64_add).set(this.va);
    this.fastAddr(size, 0);
    const value = () => {
      if (fp) {
        b.get(P_H).get(this.a).mem(op, 0, 0);
        if (size === 4) b.i64(0xffffffff00000000n).op(Op.i64_or);
        b.mem(Op.i64_store, 3, HART_F + rd * 8);
      } else {
        b.get(this.a).mem(op, 0, 0);
        this.wx(rd);
      }
    };
    // what tlb_fill leaves to the interpreter (a fault, a device, a page-crossing access, a frame
    // the host wrote)
    b.get(this.a).op(Op.i32_eqz).if();
    this.exit(k, i.off, JIT_SLOW);
    b.end();
    value();
  }

  private store(i: Insn, k: number, op: number, size: number, fp: boolean): void {
    const b = this.b;
    const w = i.ins;
    const r1 = (w >>> 15) & 31, r2 = (w >>> 20) & 31;
    if (fp) this.fpGuard(i, k);
    if (fp) b.get(P_H).mem(Op.i64_load, 3, HART_F + r2 * 8);
    else this.rx(r2);
    b.set(this.t);
    this.rx(r1); b.i64(immS(w)).op(Op.i64_add).set(this.va);
    this.fastAddr(size, TLB_TAG_W);
    // what tlb_fill leaves to the interpreter, or a store to a frame holding checked code (which
    // must start a new epoch so that every translation is checked again): the interpreter runs it
    b.get(this.a).op(Op.i32_eqz);
    b.get(this.c).get(this.a).i32(12).op(Op.i32_shr_u).i32(CODEMAP_BITS - 1).op(Op.i32_and).i32(3).op(Op.i32_shr_u)
      .i32(~3).op(Op.i32_and).op(Op.i32_add).mem(Op.i32_load, 2, CACHE_CODEMAP);
    b.i32(1).get(this.a).i32(12).op(Op.i32_shr_u).op(Op.i32_shl).op(Op.i32_and).op(Op.i32_or).if();
    this.exit(k, i.off, JIT_SLOW);
    b.end();
    b.get(this.a).get(this.t).mem(op, 0, 0);
  }

  /** An instruction run by the core's exec_ext, which works on the registers in the hart (where
   *  the region keeps them current). */
  private ext(i: Insn, k: number): void {
    const b = this.b;
    const w = i.ins;
    const rd = (w >>> 7) & 31, r1 = (w >>> 15) & 31, r2 = (w >>> 20) & 31;
    // exec_ext works on the hart's registers: the operands' locals are stored first (harmless for
    // fields that name FP registers: the store writes back the integer register's own value)
    const sync = [...new Set([r1, r2, rd])].filter((r) => r !== 0);
    for (const r of sync) { b.get(P_H); this.rx(r); b.mem(Op.i64_store, 3, r * 8); }
    b.get(P_H).i32(ID.get(i.def!)!).i32(w | 0).i32(i.raw | 0).i32(0);
    this.pcConst(i.off);
    b.get(P_DCTX).call(F_EXEC_EXT).tee(this.status).i32(1).op(Op.i32_eq).if();
    this.exit(k, i.off, JIT_TRAP); // nothing written
    b.end();
    // done: its integer result is in the hart
    if (i.def!.operands.includes('rd')) {
      if (rd === 0) b.get(P_H).i64(0).mem(Op.i64_store, 3, 0);
      else { b.get(P_H).mem(Op.i64_load, 3, rd * 8); this.wx(rd); }
    }
    // a TLB miss or a store to code on the way: leave, as after a slow load or store
    b.get(this.status).if();
    this.exit(k + 1, i.off + i.len, JIT_REFETCH);
    b.end();
  }
}
