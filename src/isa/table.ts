// The one instruction table of rvisor: every RV64GC user-level instruction (RV64I, M, A, F, D, C,
// Zicsr, Zifencei) with its encoding and operands, per the RISC-V unprivileged ISA spec (20191213),
// chapters 2, 5, 7, 8, 9, 11, 12, 16 and 24 (opcode map). The wasm interpreter's decoder and
// compressed-instruction expander are generated from this table (src/isa/gen-decoder.ts), the
// disassembler reads it directly, and the JIT will read it later.

export type Ext = 'I' | 'M' | 'A' | 'F' | 'D' | 'C' | 'Zicsr' | 'Zifencei' | 'Priv';

/** Operand kinds, named for what they print as. */
export type Operand =
  | 'rd' | 'rs1' | 'rs2' // integer registers
  | 'fd' | 'fs1' | 'fs2' | 'fs3' // floating-point registers
  | 'imm_i' | 'imm_u' | 'shamt6' | 'shamt5' // immediates
  | 'off_b' | 'off_j' // pc-relative branch/jump targets
  | 'mem_i' | 'mem_s' | 'mem_a' // imm(rs1) for loads, stores; (rs1) for atomics
  | 'csr' | 'zimm' | 'rm' | 'fence';

/** A 32-bit instruction. `mask`/`match`: (word & mask) === match identifies it. */
export interface InsnDef {
  readonly name: string;
  readonly ext: Ext;
  readonly mask: number;
  readonly match: number;
  readonly operands: readonly Operand[];
}

/** A bit-scrambled immediate of a compressed instruction: segments of [top instruction bit, the
 *  spec's immediate-bit list written high to low, e.g. '5:4|9:6|2|3']. */
export interface CImm {
  readonly segs: readonly (readonly [number, string])[];
  readonly signed: boolean;
}

/** Register fields of compressed formats: full 5-bit fields, 3-bit "prime" fields (x8..x15),
 *  or fixed registers. */
export type CReg = 'rd' | 'rs1' | 'rs2' | "rd'" | "rs1'" | "rs2'" | 'x0' | 'x1' | 'x2';

/** A 16-bit instruction and the 32-bit instruction it expands to (spec chapter 16). */
export interface CInsnDef {
  readonly name: string;
  readonly mask: number;
  readonly match: number;
  readonly to: string;
  readonly rd?: CReg;
  readonly rs1?: CReg;
  readonly rs2?: CReg;
  readonly imm?: CImm;
  /** Encodings where these are zero are reserved (illegal) or belong to another instruction. */
  readonly nonzero?: readonly ('rd' | 'rs1' | 'rs2' | 'imm')[];
}

// ---- encoding helpers -------------------------------------------------------------------------
const F3 = 0x7000, F7 = 0xfe000000 | 0, RS2 = 0x01f00000, F5 = 0xf8000000 | 0, FMT = 0x06000000, F6 = 0xfc000000 | 0;

function def(name: string, ext: Ext, mask: number, match: number, operands: Operand[]): InsnDef {
  return { name, ext, mask: mask >>> 0, match: match >>> 0, operands };
}
const op = (opcode: number, f3 = -1, f7 = -1) =>
  [0x7f | (f3 >= 0 ? F3 : 0) | (f7 >= 0 ? F7 : 0), opcode | (f3 >= 0 ? f3 << 12 : 0) | (f7 >= 0 ? f7 << 25 : 0)] as const;

function r(name: string, ext: Ext, opcode: number, f3: number, f7: number): InsnDef {
  const [m, v] = op(opcode, f3, f7);
  return def(name, ext, m, v, ['rd', 'rs1', 'rs2']);
}
function i(name: string, ext: Ext, opcode: number, f3: number, operands: Operand[] = ['rd', 'rs1', 'imm_i']): InsnDef {
  const [m, v] = op(opcode, f3);
  return def(name, ext, m, v, operands);
}
function shift(name: string, opcode: number, f3: number, hi: number, six: boolean): InsnDef {
  const m = 0x7f | F3 | (six ? F6 : F7);
  return def(name, 'I', m, opcode | (f3 << 12) | (hi << (six ? 26 : 25)), ['rd', 'rs1', six ? 'shamt6' : 'shamt5']);
}
function amo(name: string, f5: number, width: number, lr = false): InsnDef {
  const m = 0x7f | F3 | F5 | (lr ? RS2 : 0);
  return def(name, 'A', m, 0x2f | (width << 12) | (f5 << 27), lr ? ['rd', 'mem_a'] : ['rd', 'rs2', 'mem_a']);
}
/** OP-FP: funct7 fixed; `f3` fixed or -1 when it is the rounding mode; `rs2v` fixed or -1. */
function fp(name: string, ext: Ext, f7: number, f3: number, rs2v: number, operands: Operand[]): InsnDef {
  let m = 0x7f | F7, v = 0x53 | (f7 << 25);
  if (f3 >= 0) { m |= F3; v |= f3 << 12; }
  if (rs2v >= 0) { m |= RS2; v |= rs2v << 20; }
  return def(name, ext, m, v, operands);
}
function fma(name: string, ext: Ext, opcode: number, fmt: number): InsnDef {
  return def(name, ext, 0x7f | FMT, opcode | (fmt << 25), ['fd', 'fs1', 'fs2', 'fs3', 'rm']);
}

// ---- the 32-bit instructions ------------------------------------------------------------------
const base: InsnDef[] = [
  // RV32I/RV64I (chapters 2 and 5)
  def('lui', 'I', 0x7f, 0x37, ['rd', 'imm_u']),
  def('auipc', 'I', 0x7f, 0x17, ['rd', 'imm_u']),
  def('jal', 'I', 0x7f, 0x6f, ['rd', 'off_j']),
  i('jalr', 'I', 0x67, 0, ['rd', 'mem_i']),
  ...(['beq', 'bne', '', '', 'blt', 'bge', 'bltu', 'bgeu'] as const).flatMap((n, f3) =>
    n ? [i(n, 'I', 0x63, f3, ['rs1', 'rs2', 'off_b'])] : []),
  ...(['lb', 'lh', 'lw', 'ld', 'lbu', 'lhu', 'lwu'] as const).map((n, f3) => i(n, 'I', 0x03, f3, ['rd', 'mem_i'])),
  ...(['sb', 'sh', 'sw', 'sd'] as const).map((n, f3) => i(n, 'I', 0x23, f3, ['rs2', 'mem_s'])),
  i('addi', 'I', 0x13, 0), i('slti', 'I', 0x13, 2), i('sltiu', 'I', 0x13, 3),
  i('xori', 'I', 0x13, 4), i('ori', 'I', 0x13, 6), i('andi', 'I', 0x13, 7),
  shift('slli', 0x13, 1, 0, true), shift('srli', 0x13, 5, 0, true), shift('srai', 0x13, 5, 0x10, true),
  i('addiw', 'I', 0x1b, 0),
  shift('slliw', 0x1b, 1, 0, false), shift('srliw', 0x1b, 5, 0, false), shift('sraiw', 0x1b, 5, 0x20, false),
  r('add', 'I', 0x33, 0, 0), r('sub', 'I', 0x33, 0, 0x20), r('sll', 'I', 0x33, 1, 0), r('slt', 'I', 0x33, 2, 0),
  r('sltu', 'I', 0x33, 3, 0), r('xor', 'I', 0x33, 4, 0), r('srl', 'I', 0x33, 5, 0), r('sra', 'I', 0x33, 5, 0x20),
  r('or', 'I', 0x33, 6, 0), r('and', 'I', 0x33, 7, 0),
  r('addw', 'I', 0x3b, 0, 0), r('subw', 'I', 0x3b, 0, 0x20), r('sllw', 'I', 0x3b, 1, 0),
  r('srlw', 'I', 0x3b, 5, 0), r('sraw', 'I', 0x3b, 5, 0x20),
  def('fence', 'I', 0x707f, 0x000f, ['fence']),
  def('fence.i', 'Zifencei', 0x707f, 0x100f, []),
  def('ecall', 'I', 0xffffffff, 0x00000073, []),
  def('ebreak', 'I', 0xffffffff, 0x00100073, []),
  // Privileged instructions (privileged spec 1.12, sections 3.3 and 4.2.1)
  def('sret', 'Priv', 0xffffffff, 0x10200073, []),
  def('mret', 'Priv', 0xffffffff, 0x30200073, []),
  def('wfi', 'Priv', 0xffffffff, 0x10500073, []),
  def('sfence.vma', 'Priv', 0xfe007fff, 0x12000073, ['rs1', 'rs2']),
  // Zicsr (chapter 9)
  i('csrrw', 'Zicsr', 0x73, 1, ['rd', 'csr', 'rs1']), i('csrrs', 'Zicsr', 0x73, 2, ['rd', 'csr', 'rs1']),
  i('csrrc', 'Zicsr', 0x73, 3, ['rd', 'csr', 'rs1']), i('csrrwi', 'Zicsr', 0x73, 5, ['rd', 'csr', 'zimm']),
  i('csrrsi', 'Zicsr', 0x73, 6, ['rd', 'csr', 'zimm']), i('csrrci', 'Zicsr', 0x73, 7, ['rd', 'csr', 'zimm']),
  // M (chapter 7)
  ...(['mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu'] as const).map((n, f3) => r(n, 'M', 0x33, f3, 1)),
  r('mulw', 'M', 0x3b, 0, 1), r('divw', 'M', 0x3b, 4, 1), r('divuw', 'M', 0x3b, 5, 1),
  r('remw', 'M', 0x3b, 6, 1), r('remuw', 'M', 0x3b, 7, 1),
  // A (chapter 8); the aq/rl bits (26:25) are free in the mask
  ...([2, 3] as const).flatMap((w) => {
    const s = w === 2 ? '.w' : '.d';
    return [
      amo('lr' + s, 0x02, w, true), amo('sc' + s, 0x03, w), amo('amoswap' + s, 0x01, w), amo('amoadd' + s, 0x00, w),
      amo('amoxor' + s, 0x04, w), amo('amoand' + s, 0x0c, w), amo('amoor' + s, 0x08, w), amo('amomin' + s, 0x10, w),
      amo('amomax' + s, 0x14, w), amo('amominu' + s, 0x18, w), amo('amomaxu' + s, 0x1c, w),
    ];
  }),
  // F and D (chapters 11 and 12)
  i('flw', 'F', 0x07, 2, ['fd', 'mem_i']), i('fld', 'D', 0x07, 3, ['fd', 'mem_i']),
  i('fsw', 'F', 0x27, 2, ['fs2', 'mem_s']), i('fsd', 'D', 0x27, 3, ['fs2', 'mem_s']),
  ...([0, 1] as const).flatMap((fmt) => {
    const s = fmt === 0 ? '.s' : '.d', e: Ext = fmt === 0 ? 'F' : 'D', x = fmt === 0 ? 'w' : 'd';
    return [
      fma('fmadd' + s, e, 0x43, fmt), fma('fmsub' + s, e, 0x47, fmt), fma('fnmsub' + s, e, 0x4b, fmt), fma('fnmadd' + s, e, 0x4f, fmt),
      fp('fadd' + s, e, 0x00 | fmt, -1, -1, ['fd', 'fs1', 'fs2', 'rm']), fp('fsub' + s, e, 0x04 | fmt, -1, -1, ['fd', 'fs1', 'fs2', 'rm']),
      fp('fmul' + s, e, 0x08 | fmt, -1, -1, ['fd', 'fs1', 'fs2', 'rm']), fp('fdiv' + s, e, 0x0c | fmt, -1, -1, ['fd', 'fs1', 'fs2', 'rm']),
      fp('fsqrt' + s, e, 0x2c | fmt, -1, 0, ['fd', 'fs1', 'rm']),
      fp('fsgnj' + s, e, 0x10 | fmt, 0, -1, ['fd', 'fs1', 'fs2']), fp('fsgnjn' + s, e, 0x10 | fmt, 1, -1, ['fd', 'fs1', 'fs2']),
      fp('fsgnjx' + s, e, 0x10 | fmt, 2, -1, ['fd', 'fs1', 'fs2']),
      fp('fmin' + s, e, 0x14 | fmt, 0, -1, ['fd', 'fs1', 'fs2']), fp('fmax' + s, e, 0x14 | fmt, 1, -1, ['fd', 'fs1', 'fs2']),
      fp('feq' + s, e, 0x50 | fmt, 2, -1, ['rd', 'fs1', 'fs2']), fp('flt' + s, e, 0x50 | fmt, 1, -1, ['rd', 'fs1', 'fs2']),
      fp('fle' + s, e, 0x50 | fmt, 0, -1, ['rd', 'fs1', 'fs2']),
      fp('fclass' + s, e, 0x70 | fmt, 1, 0, ['rd', 'fs1']),
      fp('fcvt.w' + s, e, 0x60 | fmt, -1, 0, ['rd', 'fs1', 'rm']), fp('fcvt.wu' + s, e, 0x60 | fmt, -1, 1, ['rd', 'fs1', 'rm']),
      fp('fcvt.l' + s, e, 0x60 | fmt, -1, 2, ['rd', 'fs1', 'rm']), fp('fcvt.lu' + s, e, 0x60 | fmt, -1, 3, ['rd', 'fs1', 'rm']),
      fp('fcvt' + s + '.w', e, 0x68 | fmt, -1, 0, ['fd', 'rs1', 'rm']), fp('fcvt' + s + '.wu', e, 0x68 | fmt, -1, 1, ['fd', 'rs1', 'rm']),
      fp('fcvt' + s + '.l', e, 0x68 | fmt, -1, 2, ['fd', 'rs1', 'rm']), fp('fcvt' + s + '.lu', e, 0x68 | fmt, -1, 3, ['fd', 'rs1', 'rm']),
      fp('fmv.x.' + x, e, 0x70 | fmt, 0, 0, ['rd', 'fs1']), fp('fmv.' + x + '.x', e, 0x78 | fmt, 0, 0, ['fd', 'rs1']),
    ];
  }),
  fp('fcvt.s.d', 'D', 0x20, -1, 1, ['fd', 'fs1', 'rm']),
  fp('fcvt.d.s', 'D', 0x21, -1, 0, ['fd', 'fs1', 'rm']),
];

/** Every 32-bit instruction; an instruction's id is its index here (ids 0.. are stable within a
 *  build and are what the wasm decoder returns). */
export const INSNS: readonly InsnDef[] = base;

// ---- the compressed instructions (RV64C, chapter 16, tables 16.5-16.7) -------------------------
const imm = (segs: [number, string][], signed: boolean): CImm => ({ segs, signed });
const c = (d: CInsnDef): CInsnDef => d;
const LWIMM = imm([[12, '5:3'], [6, '2|6']], false);
const LDIMM = imm([[12, '5:3'], [6, '7:6']], false);
const CI6 = imm([[12, '5'], [6, '4:0']], true);
const SH6 = imm([[12, '5'], [6, '4:0']], false);

export const CINSNS: readonly CInsnDef[] = [
  // quadrant 0
  c({ name: 'c.addi4spn', mask: 0xe003, match: 0x0000, to: 'addi', rd: "rd'", rs1: 'x2', imm: imm([[12, '5:4|9:6|2|3']], false), nonzero: ['imm'] }),
  c({ name: 'c.fld', mask: 0xe003, match: 0x2000, to: 'fld', rd: "rd'", rs1: "rs1'", imm: LDIMM }),
  c({ name: 'c.lw', mask: 0xe003, match: 0x4000, to: 'lw', rd: "rd'", rs1: "rs1'", imm: LWIMM }),
  c({ name: 'c.ld', mask: 0xe003, match: 0x6000, to: 'ld', rd: "rd'", rs1: "rs1'", imm: LDIMM }),
  c({ name: 'c.fsd', mask: 0xe003, match: 0xa000, to: 'fsd', rs1: "rs1'", rs2: "rs2'", imm: LDIMM }),
  c({ name: 'c.sw', mask: 0xe003, match: 0xc000, to: 'sw', rs1: "rs1'", rs2: "rs2'", imm: LWIMM }),
  c({ name: 'c.sd', mask: 0xe003, match: 0xe000, to: 'sd', rs1: "rs1'", rs2: "rs2'", imm: LDIMM }),
  // quadrant 1
  c({ name: 'c.addi', mask: 0xe003, match: 0x0001, to: 'addi', rd: 'rd', rs1: 'rd', imm: CI6 }),
  c({ name: 'c.addiw', mask: 0xe003, match: 0x2001, to: 'addiw', rd: 'rd', rs1: 'rd', imm: CI6, nonzero: ['rd'] }),
  c({ name: 'c.li', mask: 0xe003, match: 0x4001, to: 'addi', rd: 'rd', rs1: 'x0', imm: CI6 }),
  c({ name: 'c.addi16sp', mask: 0xef83, match: 0x6101, to: 'addi', rd: 'x2', rs1: 'x2', imm: imm([[12, '9'], [6, '4|6|8:7|5']], true), nonzero: ['imm'] }),
  c({ name: 'c.lui', mask: 0xe003, match: 0x6001, to: 'lui', rd: 'rd', imm: imm([[12, '17'], [6, '16:12']], true), nonzero: ['imm'] }),
  c({ name: 'c.srli', mask: 0xec03, match: 0x8001, to: 'srli', rd: "rs1'", rs1: "rs1'", imm: SH6 }),
  c({ name: 'c.srai', mask: 0xec03, match: 0x8401, to: 'srai', rd: "rs1'", rs1: "rs1'", imm: SH6 }),
  c({ name: 'c.andi', mask: 0xec03, match: 0x8801, to: 'andi', rd: "rs1'", rs1: "rs1'", imm: CI6 }),
  c({ name: 'c.sub', mask: 0xfc63, match: 0x8c01, to: 'sub', rd: "rs1'", rs1: "rs1'", rs2: "rs2'" }),
  c({ name: 'c.xor', mask: 0xfc63, match: 0x8c21, to: 'xor', rd: "rs1'", rs1: "rs1'", rs2: "rs2'" }),
  c({ name: 'c.or', mask: 0xfc63, match: 0x8c41, to: 'or', rd: "rs1'", rs1: "rs1'", rs2: "rs2'" }),
  c({ name: 'c.and', mask: 0xfc63, match: 0x8c61, to: 'and', rd: "rs1'", rs1: "rs1'", rs2: "rs2'" }),
  c({ name: 'c.subw', mask: 0xfc63, match: 0x9c01, to: 'subw', rd: "rs1'", rs1: "rs1'", rs2: "rs2'" }),
  c({ name: 'c.addw', mask: 0xfc63, match: 0x9c21, to: 'addw', rd: "rs1'", rs1: "rs1'", rs2: "rs2'" }),
  c({ name: 'c.j', mask: 0xe003, match: 0xa001, to: 'jal', rd: 'x0', imm: imm([[12, '11|4|9:8|10|6|7|3:1|5']], true) }),
  c({ name: 'c.beqz', mask: 0xe003, match: 0xc001, to: 'beq', rs1: "rs1'", rs2: 'x0', imm: imm([[12, '8|4:3'], [6, '7:6|2:1|5']], true) }),
  c({ name: 'c.bnez', mask: 0xe003, match: 0xe001, to: 'bne', rs1: "rs1'", rs2: 'x0', imm: imm([[12, '8|4:3'], [6, '7:6|2:1|5']], true) }),
  // quadrant 2
  c({ name: 'c.slli', mask: 0xe003, match: 0x0002, to: 'slli', rd: 'rd', rs1: 'rd', imm: SH6 }),
  c({ name: 'c.fldsp', mask: 0xe003, match: 0x2002, to: 'fld', rd: 'rd', rs1: 'x2', imm: imm([[12, '5'], [6, '4:3|8:6']], false) }),
  c({ name: 'c.lwsp', mask: 0xe003, match: 0x4002, to: 'lw', rd: 'rd', rs1: 'x2', imm: imm([[12, '5'], [6, '4:2|7:6']], false), nonzero: ['rd'] }),
  c({ name: 'c.ldsp', mask: 0xe003, match: 0x6002, to: 'ld', rd: 'rd', rs1: 'x2', imm: imm([[12, '5'], [6, '4:3|8:6']], false), nonzero: ['rd'] }),
  c({ name: 'c.jr', mask: 0xf07f, match: 0x8002, to: 'jalr', rd: 'x0', rs1: 'rs1', nonzero: ['rs1'] }),
  c({ name: 'c.mv', mask: 0xf003, match: 0x8002, to: 'add', rd: 'rd', rs1: 'x0', rs2: 'rs2', nonzero: ['rs2'] }),
  c({ name: 'c.ebreak', mask: 0xffff, match: 0x9002, to: 'ebreak' }),
  c({ name: 'c.jalr', mask: 0xf07f, match: 0x9002, to: 'jalr', rd: 'x1', rs1: 'rs1', nonzero: ['rs1'] }),
  c({ name: 'c.add', mask: 0xf003, match: 0x9002, to: 'add', rd: 'rd', rs1: 'rd', rs2: 'rs2', nonzero: ['rs2'] }),
  c({ name: 'c.fsdsp', mask: 0xe003, match: 0xa002, to: 'fsd', rs1: 'x2', rs2: 'rs2', imm: imm([[12, '5:3|8:6']], false) }),
  c({ name: 'c.swsp', mask: 0xe003, match: 0xc002, to: 'sw', rs1: 'x2', rs2: 'rs2', imm: imm([[12, '5:2|7:6']], false) }),
  c({ name: 'c.sdsp', mask: 0xe003, match: 0xe002, to: 'sd', rs1: 'x2', rs2: 'rs2', imm: imm([[12, '5:3|8:6']], false) }),
];

/** Id of the pseudo-instruction "illegal" returned by the decoder for unknown encodings. */
export const ID_ILLEGAL = INSNS.length;

export function insnByName(name: string): InsnDef {
  const d = INSNS.find((x) => x.name === name);
  if (!d) throw new Error(`no instruction named ${name}`);
  return d;
}

/** Instruction ids sorted for matching: more specific masks first, so that e.g. ecall is found
 *  before a broader SYSTEM encoding. */
export function matchOrder<T extends { mask: number }>(defs: readonly T[]): T[] {
  const pop = (m: number) => { let n = 0; for (let x = m >>> 0; x; x >>>= 1) n += x & 1; return n; };
  return [...defs].sort((a, b) => pop(b.mask) - pop(a.mask));
}
