// Compressed (RVC) instructions: decoding a 16-bit parcel and expanding it to the 32-bit
// instruction it stands for (unprivileged spec chapter 16), driven by CINSNS in table.ts.
import { CINSNS, type CImm, type CInsnDef, type CReg, type InsnDef, insnByName, matchOrder } from './table.js';
import { encodeImm, type ImmFormat } from './fields.js';

/** [instruction bit, immediate bit] pairs of a scrambled immediate, and the sign bit. */
export function immBits(imm: CImm): { pairs: [number, number][]; signBit: number } {
  const pairs: [number, number][] = [];
  for (const [top, spec] of imm.segs) {
    let pos = top;
    for (const part of spec.split('|')) {
      const [hi, lo] = part.includes(':') ? part.split(':').map(Number) as [number, number] : [Number(part), Number(part)];
      for (let b = hi; b >= lo; b--) pairs.push([pos--, b]);
    }
  }
  return { pairs, signBit: Math.max(...pairs.map((p) => p[1])) };
}

export function cImmValue(imm: CImm, h: number): number {
  const { pairs, signBit } = immBits(imm);
  let v = 0;
  for (const [ib, vb] of pairs) v |= ((h >>> ib) & 1) << vb;
  if (imm.signed && (v >>> signBit) & 1) v |= -1 << signBit;
  return v;
}

export function cRegValue(r: CReg, h: number): number {
  switch (r) {
    case 'rd': case 'rs1': return (h >>> 7) & 31;
    case 'rs2': return (h >>> 2) & 31;
    case "rd'": case "rs2'": return 8 + ((h >>> 2) & 7);
    case "rs1'": return 8 + ((h >>> 7) & 7);
    case 'x0': return 0;
    case 'x1': return 1;
    case 'x2': return 2;
  }
}

/** The base-format immediate of the instruction a compressed one expands to. */
export function immFormatOf(d: InsnDef): ImmFormat | undefined {
  const ops = d.operands;
  if (ops.includes('mem_s')) return 'S';
  if (ops.includes('off_b')) return 'B';
  if (ops.includes('off_j')) return 'J';
  if (ops.includes('imm_u')) return 'U';
  if (ops.includes('mem_i') || ops.includes('imm_i') || ops.includes('shamt6') || ops.includes('shamt5')) return 'I';
  return undefined;
}

const ordered = matchOrder(CINSNS);

/** Finds the compressed instruction of a 16-bit parcel, or undefined if it is reserved/illegal. */
export function decodeCompressed(h: number): CInsnDef | undefined {
  for (const d of ordered) {
    if ((h & d.mask) !== d.match) continue;
    const bad = (d.nonzero ?? []).some((f) =>
      f === 'imm' ? cImmValue(d.imm!, h) === 0 : cRegValue(f === 'rd' ? d.rd! : f === 'rs1' ? d.rs1! : d.rs2!, h) === 0);
    if (bad) {
      // A zero field may mean another instruction of the same mask (c.jr/c.mv share one); keep looking.
      continue;
    }
    return d;
  }
  return undefined;
}

/** The 32-bit instruction a compressed parcel expands to, or 0 if it is illegal. */
export function expandCompressed(h: number): number {
  const d = decodeCompressed(h & 0xffff);
  if (!d) return 0;
  const t = insnByName(d.to);
  let w = t.match;
  if (d.rd) w |= cRegValue(d.rd, h) << 7;
  if (d.rs1) w |= cRegValue(d.rs1, h) << 15;
  if (d.rs2) w |= cRegValue(d.rs2, h) << 20;
  const fmt = immFormatOf(t);
  if (d.imm && fmt) w |= encodeImm(fmt, cImmValue(d.imm, h));
  return w >>> 0;
}
