// Field extractors of the RISC-V base formats (unprivileged spec section 2.2-2.3, figure 2.3/2.4)
// and the immediate encoders that put them back. Plain functions on numbers: used by the
// disassembler, the compressed-instruction expander and the generator of the wasm decoder.

export const rd = (w: number): number => (w >>> 7) & 31;
export const rs1 = (w: number): number => (w >>> 15) & 31;
export const rs2 = (w: number): number => (w >>> 20) & 31;
export const rs3 = (w: number): number => (w >>> 27) & 31;
export const funct3 = (w: number): number => (w >>> 12) & 7;
export const immI = (w: number): number => w >> 20;
export const immS = (w: number): number => ((w >> 25) << 5) | ((w >>> 7) & 31);
export const immB = (w: number): number =>
  ((w >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3f) << 5) | (((w >>> 8) & 0xf) << 1);
export const immU = (w: number): number => w & 0xfffff000;
export const immJ = (w: number): number =>
  ((w >> 31) << 20) | (((w >>> 12) & 0xff) << 12) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3ff) << 1);
export const csr = (w: number): number => w >>> 20;

/** Immediate formats of the base ISA, as the `encode*` functions below produce them. */
export type ImmFormat = 'I' | 'S' | 'B' | 'U' | 'J';

export function encodeImm(fmt: ImmFormat, imm: number): number {
  switch (fmt) {
    case 'I': return ((imm & 0xfff) << 20) >>> 0;
    case 'S': return ((((imm >> 5) & 0x7f) << 25) | ((imm & 31) << 7)) >>> 0;
    case 'B': return ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7)) >>> 0;
    case 'U': return (imm & 0xfffff000) >>> 0;
    case 'J': return ((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) | (((imm >> 12) & 0xff) << 12)) >>> 0;
  }
}

/** The same encoders as expressions over a variable, for the generated AssemblyScript. */
export function encodeImmExpr(fmt: ImmFormat, v: string): string {
  switch (fmt) {
    case 'I': return `((${v} & 0xfff) << 20)`;
    case 'S': return `((((${v} >> 5) & 0x7f) << 25) | ((${v} & 31) << 7))`;
    case 'B': return `((((${v} >> 12) & 1) << 31) | (((${v} >> 5) & 0x3f) << 25) | (((${v} >> 1) & 0xf) << 8) | (((${v} >> 11) & 1) << 7))`;
    case 'U': return `(${v} & 0xfffff000)`;
    case 'J': return `((((${v} >> 20) & 1) << 31) | (((${v} >> 1) & 0x3ff) << 21) | (((${v} >> 11) & 1) << 20) | (((${v} >> 12) & 0xff) << 12))`;
  }
}
