// Parsing and checking an ELF64 RISC-V executable (System V gABI, "ELF-64 Object File Format";
// RISC-V ELF psABI). Only what loading needs: the file header and the program headers. Every
// problem becomes an RvisorError naming the file: NOT_ELF (no ELF magic), ELF_CLASS (an ELF, but
// not a 64-bit little-endian RISC-V executable), ELF_CORRUPT (truncated or inconsistent).
import { RvisorError } from '../errors.js';

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_RISCV = 243;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_PHDR = 6;
export const PT_GNU_STACK = 0x6474e551;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfImage {
  path: string;
  data: Uint8Array;
  type: number;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  flags: number;
  phdrs: ProgramHeader[];
  /** PT_INTERP's path, if the program asks for an interpreter. */
  interp?: string;
}

const EM_NAMES: Record<number, string> = {
  3: 'x86 (i386)', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 'S/390', 40: 'ARM', 62: 'x86-64', 183: 'AArch64',
  243: 'RISC-V', 258: 'LoongArch',
};

/** Checks `data` (the whole file named `path`) and returns its headers. */
export function parseElf(path: string, data: Uint8Array): ElfImage {
  const fail = (code: 'NOT_ELF' | 'ELF_CLASS' | 'ELF_CORRUPT', what: string): never => {
    throw new RvisorError(code, `${path}: ${what}`);
  };
  if (data.length < 4 || data[0] !== 0x7f || data[1] !== 0x45 || data[2] !== 0x4c || data[3] !== 0x46) {
    fail('NOT_ELF', 'not an ELF executable (no ELF magic number)');
  }
  if (data.length < 20) fail('ELF_CORRUPT', `truncated ELF file (${data.length} bytes, shorter than its header)`);
  const cls = data[4];
  const enc = data[5];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (enc !== 1 && enc !== 2) fail('ELF_CORRUPT', `bad ELF data encoding ${enc}`);
  const machine = dv.getUint16(18, enc === 1);
  const machineName = EM_NAMES[machine] ?? `machine ${machine}`;
  if (cls !== 2) {
    fail('ELF_CLASS', `${cls === 1 ? '32-bit' : `ELF class ${cls}`} ${machineName} ELF: only 64-bit RISC-V (riscv64) programs can run`);
  }
  if (enc !== 1) fail('ELF_CLASS', `big-endian ${machineName} ELF: only little-endian riscv64 programs can run`);
  if (machine !== EM_RISCV) fail('ELF_CLASS', `${machineName} ELF: only RISC-V (riscv64) programs can run`);
  if (data.length < EHDR_SIZE) fail('ELF_CORRUPT', `truncated ELF file (${data.length} bytes, shorter than its header)`);
  const type = dv.getUint16(16, true);
  if (type !== ET_EXEC && type !== ET_DYN) {
    fail('ELF_CLASS', `not an executable (ELF type ${type === 1 ? 'relocatable object' : type === 4 ? 'core dump' : type})`);
  }
  const big = (off: number): number => {
    const v = dv.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('ELF_CORRUPT', `header field at offset ${off} is out of range`);
    return Number(v);
  };
  const entry = big(24);
  const phoff = big(32);
  const flags = dv.getUint32(48, true);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum === 0) fail('ELF_CORRUPT', 'no program headers');
  if (phentsize !== PHDR_SIZE) fail('ELF_CORRUPT', `program header size ${phentsize} (expected ${PHDR_SIZE})`);
  if (phnum > 4096) fail('ELF_CORRUPT', `too many program headers (${phnum})`);
  if (phoff + phnum * PHDR_SIZE > data.length) {
    fail('ELF_CORRUPT', `truncated ELF file (program headers end at ${phoff + phnum * PHDR_SIZE}, file has ${data.length} bytes)`);
  }
  const phdrs: ProgramHeader[] = [];
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * PHDR_SIZE;
    const ph: ProgramHeader = {
      type: dv.getUint32(o, true),
      flags: dv.getUint32(o + 4, true),
      offset: big(o + 8),
      vaddr: big(o + 16),
      filesz: big(o + 32),
      memsz: big(o + 40),
      align: big(o + 48),
    };
    phdrs.push(ph);
    if (ph.type === PT_LOAD) {
      if (ph.filesz > ph.memsz) fail('ELF_CORRUPT', `segment ${i} has more file bytes than memory bytes`);
      if (ph.offset + ph.filesz > data.length) {
        fail('ELF_CORRUPT', `truncated ELF file (segment ${i} needs bytes up to ${ph.offset + ph.filesz}, file has ${data.length})`);
      }
      if ((ph.offset - ph.vaddr) % 4096 !== 0) fail('ELF_CORRUPT', `segment ${i} offset and address are not congruent modulo the page size`);
      if (ph.vaddr + ph.memsz > 2 ** 38) fail('ELF_CORRUPT', `segment ${i} lies outside the 256 GiB user address space`);
    } else if (ph.type === PT_INTERP) {
      if (ph.offset + ph.filesz > data.length || ph.filesz < 2 || ph.filesz > 4096) fail('ELF_CORRUPT', 'bad PT_INTERP header');
      const bytes = data.subarray(ph.offset, ph.offset + ph.filesz);
      const nul = bytes.indexOf(0);
      if (nul <= 0) fail('ELF_CORRUPT', 'PT_INTERP path is not NUL-terminated');
      interp = new TextDecoder().decode(bytes.subarray(0, nul));
    }
  }
  if (!phdrs.some((p) => p.type === PT_LOAD)) fail('ELF_CORRUPT', 'no loadable segments');
  return { path, data, type, entry, phoff, phentsize, phnum, flags, phdrs, interp };
}

/** The lowest and highest (exclusive) virtual addresses of the loadable segments. */
export function loadExtent(img: ElfImage): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = 0;
  for (const p of img.phdrs) {
    if (p.type !== PT_LOAD) continue;
    lo = Math.min(lo, p.vaddr);
    hi = Math.max(hi, p.vaddr + p.memsz);
  }
  return { lo, hi };
}
