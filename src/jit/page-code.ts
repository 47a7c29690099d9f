// What a page of guest code is, as the JIT sees it: its instructions decoded (cached by their
// bits), where straight runs of code end, where control may arrive (targetsOf) and so which offsets
// become a region's entries (discoverEntries), and what translating them would cost
// (countInstructions). Pure functions of the page's bytes; translate.ts writes the regions.
import { decodeInsn } from '../isa/disasm.js';
import { expandCompressed } from '../isa/compressed.js';
import type { InsnDef } from '../isa/table.js';
import { immB, immJ } from '../isa/fields.js';

/** One decoded instruction at a page offset. */
export interface Insn {
  off: number;
  len: 2 | 4;
  /** The 32-bit form (compressed ones expanded). */
  ins: number;
  /** The raw bits as fetched (16 bits for a compressed one). */
  raw: number;
  def: InsnDef | undefined;
  name: string;
}

/** Decoded instructions by raw bits (decoding is a pure function of them). */
const decoded = new Map<number, Omit<Insn, 'off'> | null>();

/** The decoded instruction at page offset off (below 0xffe), shared by every place with the
 *  same bits, or null for an illegal encoding: for the walks that only look (no allocation). */
function decodedAt(page: Uint8Array, off: number): Omit<Insn, 'off'> | null {
  const lo = page[off]! | (page[off + 1]! << 8);
  const raw = (lo & 3) !== 3 ? lo : (lo | (page[off + 2]! << 16) | (page[off + 3]! << 24)) >>> 0;
  let d = decoded.get(raw);
  if (d === undefined) {
    const len = (lo & 3) !== 3 ? 2 : 4;
    const ins = len === 2 ? expandCompressed(lo) : raw;
    const def = ins === 0 ? undefined : decodeInsn(ins);
    d = def ? { len, ins, raw, def, name: def.name } : null;
    if (decoded.size > 1 << 18) decoded.clear();
    decoded.set(raw, d);
  }
  return d;
}

/** Decodes the instruction at page offset off (below 0xffe), or returns undefined for an
 *  illegal encoding. */
export function decodeAt(page: Uint8Array, off: number): Insn | undefined {
  const d = decodedAt(page, off);
  return d ? { ...d, off } : undefined;
}

export const BRANCHES = new Set(['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu']);

/** Instructions the interpreter must run (the region ends before them), but see interpreted. */
const INTERPRETED = new Set(['ecall', 'ebreak', 'sret', 'mret', 'wfi', 'sfence.vma', 'fence.i',
  'csrrw', 'csrrs', 'csrrc', 'csrrwi', 'csrrsi', 'csrrci']);

/** Whether i accesses fflags, frm or fcsr (CSRs 0x001-0x003, unprivileged spec 11.2): a region
 *  runs those itself (libm's floor and friends save and restore fflags around every call). */
export function isFpCsr(i: Omit<Insn, 'off'>): boolean {
  const csr = i.ins >>> 20;
  return i.name.startsWith('csr') && csr >= 1 && csr <= 3;
}

/** Whether the interpreter must run i (a region ends before it). */
export function interpreted(i: Omit<Insn, 'off'>): boolean {
  return INTERPRETED.has(i.name) && !isFpCsr(i);
}

/** Whether the instruction ends a straight run of code: jumps, and instructions left to the
 *  interpreter. */
function endsRun(i: Omit<Insn, 'off'> | null | undefined): boolean {
  return !i || i.name === 'jal' || i.name === 'jalr' || interpreted(i);
}

/** The entry offsets to compile a page with: the seeds (where code was entered), and with
 *  `follow`, every branch and jump target on the page reachable from them, the instruction after
 *  a branch, after a call (where the callee returns) and after an instruction left to the interpreter (where the
 *  region is entered again). At most `max`. Seeds in `keep` (where a region jumped) stay entries
 *  even inside another entry's straight run. */
export function discoverEntries(page: Uint8Array, seeds: Iterable<number>, follow = true, max = 512, keep: ReadonlySet<number> = new Set()): number[] {
  const found = new Set<number>();
  const work: number[] = [];
  const add = (o: number) => {
    if (o >= 0 && o < 0xffe && (o & 1) === 0 && !found.has(o) && found.size < max) {
      found.add(o);
      work.push(o);
    }
  };
  for (const s of seeds) add(s);
  while (follow && work.length > 0) {
    let off = work.pop()!;
    for (let first = true; ; first = false) {
      if (off >= 0xffe || (!first && found.has(off))) break; // the rest is walked from there
      const i = decodedAt(page, off);
      if (!i) break;
      targetsOf(i, off, add);
      if (endsRun(i)) break;
      off += i.len;
    }
  }
  // A seed in the middle of another entry's straight run, and no target of the code there, is
  // where the interpreter happened to stop and resume (a slice's end, a load's slow path), not
  // where control arrives: left out, it costs the interpreter one block when it happens again;
  // kept, it would split the run (and over time every run) into single-instruction cases.
  const targets = new Set<number>();
  const passed: number[] = [];
  const walked = new Set<number>();
  for (const e of [...found].sort((a, b) => b - a)) { // from the last: a walk stops at one walked
    walked.add(e);
    for (let off = e; off < 0xffe; ) {
      const i = decodedAt(page, off);
      if (!i) break;
      targetsOf(i, off, (o) => targets.add(o));
      if (endsRun(i)) break;
      off += i.len;
      passed.push(off);
      if (walked.has(off)) break;
    }
  }
  const inside = new Set(passed.filter((o) => found.has(o) && !targets.has(o) && !keep.has(o)));
  return [...found].filter((o) => !inside.has(o)).sort((a, b) => a - b);
}

/** Calls add with the page offsets where control may arrive from the instruction i at off: its
 *  branch or jump target, the fall-through of a branch (the interpreter, running a block left to
 *  it, stops there), where a call returns, and after an instruction left to the interpreter. */
export function targetsOf(i: Omit<Insn, 'off'>, off: number, add: (o: number) => void): void {
  const next = off + i.len;
  if (BRANCHES.has(i.name)) { add(off + immB(i.ins)); add(next); }
  else if (i.name === 'jal') {
    add(off + immJ(i.ins));
    if (((i.ins >>> 7) & 31) !== 0) add(next);
  } else if (i.name === 'jalr') {
    if (((i.ins >>> 7) & 31) !== 0) add(next);
  } else if (interpreted(i)) add(next);
}

/** About how many guest instructions translatePage would translate from these entries (each
 *  entry's straight run up to the next entry or the run's end), without translating: what the
 *  JIT's compile budget is asked for before it spends a translation. */
export function countInstructions(page: Uint8Array, entries: readonly number[]): number {
  const set = new Set(entries);
  let n = 0;
  for (const e of entries) {
    for (let off = e; off < 0xffe && (off === e || !set.has(off)); ) {
      const i = decodedAt(page, off);
      if (!i || interpreted(i)) break;
      n++;
      if (endsRun(i)) break;
      off += i.len;
    }
  }
  return n;
}
