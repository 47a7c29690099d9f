// Tiny assembler helpers for the bare-metal test programs (instructions from the instruction
// table's encoder): 32-bit constants, zero extension, and the program's bytes.
import { encode as I } from '../src/isa/encode.js';

/** rd := v (a 32-bit value, sign-extended as lui/addi do). */
export function li32(code: number[], rd: number, v: number): void {
  const hi = (v + 0x800) & ~0xfff;
  code.push(I('lui', { rd, imm: hi | 0 }), I('addi', { rd, rs1: rd, imm: v - hi }));
}

/** rd := rd zero-extended from 32 bits. */
export function zext(code: number[], rd: number): void {
  code.push(I('slli', { rd, rs1: rd, imm: 32 }), I('srli', { rd, rs1: rd, imm: 32 }));
}

/** The program's bytes, little-endian. */
export function words(code: number[]): Uint8Array {
  return new Uint8Array(Uint32Array.from(code).buffer);
}
