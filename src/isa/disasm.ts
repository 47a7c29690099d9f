// Disassembler driven by the instruction table, in the style of GNU objdump's `-M no-aliases`
// output (ABI register names, compressed instructions shown under their own names).
import { INSNS, matchOrder, type InsnDef, type Operand } from './table.js';
import { decodeCompressed, expandCompressed } from './compressed.js';
import * as f from './fields.js';

export const XREG = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];
export const FREG = ['ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4',
  'fa5', 'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11'];
const RM = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'rm5', 'rm6', 'dyn'];
const CSR_NAMES: Record<number, string> = { 0x001: 'fflags', 0x002: 'frm', 0x003: 'fcsr', 0xc00: 'cycle', 0xc01: 'time', 0xc02: 'instret' };

const ordered = matchOrder(INSNS);
const cache = new Map<number, InsnDef | null>();

/** The table entry of a 32-bit instruction word, or undefined if it is not a known encoding. */
export function decodeInsn(word: number): InsnDef | undefined {
  word >>>= 0;
  let d = cache.get(word);
  if (d === undefined) {
    d = ordered.find((x) => ((word & x.mask) >>> 0) === x.match) ?? null;
    if (cache.size < 1 << 16) cache.set(word, d);
  }
  return d ?? undefined;
}

function fence(bits: number): string {
  return (bits & 8 ? 'i' : '') + (bits & 4 ? 'o' : '') + (bits & 2 ? 'r' : '') + (bits & 1 ? 'w' : '') || '0';
}

function operand(op: Operand, w: number, pc: bigint): string {
  switch (op) {
    case 'rd': return XREG[f.rd(w)]!;
    case 'rs1': return XREG[f.rs1(w)]!;
    case 'rs2': return XREG[f.rs2(w)]!;
    case 'fd': return FREG[f.rd(w)]!;
    case 'fs1': return FREG[f.rs1(w)]!;
    case 'fs2': return FREG[f.rs2(w)]!;
    case 'fs3': return FREG[f.rs3(w)]!;
    case 'imm_i': return String(f.immI(w));
    case 'imm_u': return '0x' + (f.immU(w) >>> 12).toString(16);
    case 'shamt6': return String((w >>> 20) & 63);
    case 'shamt5': return String((w >>> 20) & 31);
    case 'off_b': return (BigInt.asUintN(64, pc + BigInt(f.immB(w)))).toString(16);
    case 'off_j': return (BigInt.asUintN(64, pc + BigInt(f.immJ(w)))).toString(16);
    case 'mem_i': return `${f.immI(w)}(${XREG[f.rs1(w)]})`;
    case 'mem_s': return `${f.immS(w)}(${XREG[f.rs1(w)]})`;
    case 'mem_a': return `(${XREG[f.rs1(w)]})`;
    case 'csr': return CSR_NAMES[f.csr(w)] ?? '0x' + f.csr(w).toString(16);
    case 'zimm': return String(f.rs1(w));
    case 'rm': return RM[f.funct3(w)]!;
    case 'fence': return `${fence((w >>> 24) & 15)},${fence((w >>> 20) & 15)}`;
  }
}

/** Mnemonic and operands of a 32-bit instruction (or of the expansion of a compressed one). */
function format(d: InsnDef, w: number, pc: bigint, name = d.name): string {
  let mnemonic = name;
  if (d.ext === 'A') mnemonic += ['', '.rl', '.aq', '.aqrl'][(w >>> 25) & 3];
  // objdump leaves the rounding-mode operand out when it is dynamic.
  const ops = d.operands.filter((o) => !(o === 'rm' && f.funct3(w) === 7));
  return ops.length ? `${mnemonic} ${ops.map((o) => operand(o, w, pc)).join(',')}` : mnemonic;
}

/** Disassembles one instruction: `word` holds 32 bits, or a 16-bit parcel in its low half when
 *  the low two bits are not 11. `pc` resolves branch targets. */
export function disassemble(word: number, pc = 0n): string {
  word >>>= 0;
  if ((word & 3) !== 3) {
    const h = word & 0xffff;
    const c = decodeCompressed(h);
    const x = expandCompressed(h);
    const d = c && decodeInsn(x);
    return d ? format(d, x, pc, c.name) : `.insn 0x${h.toString(16).padStart(4, '0')} (illegal)`;
  }
  const d = decodeInsn(word);
  return d ? format(d, word, pc) : `.insn 0x${word.toString(16).padStart(8, '0')} (illegal)`;
}

/** Length in bytes of the instruction whose first parcel is `lowHalf`. */
export const insnLength = (lowHalf: number): 2 | 4 => ((lowHalf & 3) === 3 ? 4 : 2);
