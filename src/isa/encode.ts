// Assembler of single instructions from the table: used by tests (hand-written snippets) and by
// code generators. Operands are given by field, not parsed from text.
import { insnByName } from './table.js';
import { encodeImm } from './fields.js';

export interface Fields {
  rd?: number; rs1?: number; rs2?: number; rs3?: number;
  imm?: number; rm?: number; csr?: number; aq?: boolean; rl?: boolean;
}

export function encode(name: string, o: Fields = {}): number {
  const d = insnByName(name);
  let w = d.match;
  const has = (op: string) => (d.operands as readonly string[]).includes(op);
  if (o.rd !== undefined) w |= o.rd << 7;
  if (o.rs1 !== undefined) w |= o.rs1 << 15;
  if (o.rs2 !== undefined) w |= o.rs2 << 20;
  if (o.rs3 !== undefined) w |= o.rs3 << 27;
  if (has('rm')) w |= (o.rm ?? 7) << 12;
  if (o.aq) w |= 1 << 26;
  if (o.rl) w |= 1 << 25;
  if (o.csr !== undefined) w |= o.csr << 20;
  const imm = o.imm ?? 0;
  if (has('mem_s')) w |= encodeImm('S', imm);
  else if (has('off_b')) w |= encodeImm('B', imm);
  else if (has('off_j')) w |= encodeImm('J', imm);
  else if (has('imm_u')) w |= encodeImm('U', imm);
  else if (has('shamt6')) w |= (imm & 63) << 20;
  else if (has('shamt5')) w |= (imm & 31) << 20;
  else if (has('imm_i') || has('mem_i')) w |= encodeImm('I', imm);
  else if (has('zimm')) w |= (imm & 31) << 15;
  if (((w & d.mask) >>> 0) !== d.match) throw new Error(`${name}: operands overlap its fixed bits`);
  return w >>> 0;
}
