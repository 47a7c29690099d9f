// Loading a program into a fresh address space the way Linux's binfmt_elf does: the
// executable's PT_LOAD segments at their addresses (a PIE at ELF_ET_DYN_BASE), the interpreter
// named by PT_INTERP (looked up inside the sysroot) top-down in the mmap area, the program break
// just after the executable's highest segment.
import { readFileSync, statSync } from 'node:fs';
import { RvisorError } from '../errors.js';
import type { AddressSpace } from './address-space.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from './address-space.js';
import { ET_DYN, PF_R, PF_W, PF_X, PT_LOAD, PT_PHDR, loadExtent, parseElf, type ElfImage } from './elf.js';
import { ELF_ET_DYN_BASE, pageDown, pageUp } from './layout.js';

export interface LoadedImage {
  /** Added to every address in the file (0 for ET_EXEC). */
  bias: number;
  entry: number;
  /** Where the program headers are in guest memory (AT_PHDR), 0 if not mapped. */
  phdr: number;
  phent: number;
  phnum: number;
  /** One past the highest byte of the loaded segments. */
  end: number;
}

export interface LoadedProgram {
  exe: LoadedImage;
  interp?: LoadedImage;
  /** Where the first instruction is: the interpreter's entry, or the program's. */
  startPc: number;
  /** The interpreter path as the program names it (PT_INTERP), if any. */
  interpPath?: string;
}

/** Reads a whole file named on the command line; a missing or unreadable file is ENOENT_FILE. */
export function readProgramFile(path: string, what = ''): Uint8Array {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new RvisorError('ENOENT_FILE', `${path}: ${what}is a directory`);
    return readFileSync(path);
  } catch (e) {
    if (e instanceof RvisorError) throw e;
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'not a directory in the path' : `cannot read (${code ?? String(e)})`;
    throw new RvisorError('ENOENT_FILE', `${path}: ${what}${why}`);
  }
}

function segProt(flags: number): number {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

/** Maps the PT_LOAD segments of `img` with the given bias. */
export function mapImage(as: AddressSpace, img: ElfImage, bias: number): LoadedImage {
  let end = 0;
  for (const p of img.phdrs) {
    if (p.type !== PT_LOAD || p.memsz === 0) continue;
    const vaddr = p.vaddr + bias;
    const start = pageDown(vaddr);
    const mapEnd = pageUp(vaddr + p.memsz);
    const fileStart = p.offset - (vaddr - start);
    const fileEnd = p.offset + p.filesz;
    // Like Linux, the last file page keeps the bytes that follow in the file unless the segment
    // has a zero-filled tail (.bss), which must read as zeros from vaddr+filesz on.
    const initEnd = p.memsz > p.filesz ? fileEnd : Math.min(pageUp(fileEnd), img.data.length);
    const init = p.filesz > 0 ? img.data.subarray(fileStart, initEnd) : undefined;
    as.mapFixed(start, mapEnd - start, segProt(p.flags), { file: true, name: img.path, init });
    const vma = as.findVma(start);
    if (vma) vma.offset = fileStart;
    end = Math.max(end, vaddr + p.memsz);
  }
  let phdr = 0;
  const pt = img.phdrs.find((p) => p.type === PT_PHDR);
  if (pt) phdr = pt.vaddr + bias;
  else {
    const seg = img.phdrs.find((p) => p.type === PT_LOAD && p.offset <= img.phoff && img.phoff < p.offset + p.filesz);
    if (seg) phdr = img.phoff - seg.offset + seg.vaddr + bias;
  }
  return { bias, entry: img.entry + bias, phdr, phent: img.phentsize, phnum: img.phnum, end };
}

/** Loads the program at `path` (and its interpreter) into `as`, which must be empty. */
export function loadProgram(as: AddressSpace, path: string, sysroot?: string): LoadedProgram {
  const img = parseElf(path, readProgramFile(path));
  const { lo, hi } = loadExtent(img);
  let bias = 0;
  if (img.type === ET_DYN) bias = ELF_ET_DYN_BASE - pageDown(lo);
  else if (lo < 0x1000) throw new RvisorError('ELF_CORRUPT', `${path}: a segment is mapped at address 0x${lo.toString(16)} (below the first page)`);
  if (hi + bias > 2 ** 38) throw new RvisorError('ELF_CORRUPT', `${path}: segments extend past the user address space`);
  const exe = mapImage(as, img, bias);
  as.brkStart = as.brk = pageUp(exe.end);

  if (img.interp === undefined) return { exe, startPc: exe.entry };

  const hostPath = sysroot !== undefined ? joinSysroot(sysroot, img.interp) : img.interp;
  let interpData: Uint8Array;
  try {
    interpData = readFileSync(hostPath);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const hint = sysroot === undefined ? ' (use --sysroot DIR to name the riscv64 root file system that holds it)' : '';
    throw new RvisorError('ELF_INTERP', `${path}: cannot load program interpreter ${hostPath}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}${hint}`);
  }
  let iimg: ElfImage;
  try {
    iimg = parseElf(hostPath, interpData);
  } catch (e) {
    if (e instanceof RvisorError) throw new RvisorError('ELF_INTERP', `${path}: bad program interpreter: ${e.message}`);
    throw e;
  }
  if (iimg.interp !== undefined) throw new RvisorError('ELF_INTERP', `${path}: the program interpreter ${hostPath} itself asks for an interpreter`);
  const ext = loadExtent(iimg);
  let ibias = 0;
  if (iimg.type === ET_DYN) {
    const span = pageUp(ext.hi) - pageDown(ext.lo);
    const base = as.findFree(span);
    if (base < 0) throw new RvisorError('ELF_INTERP', `${path}: no room for the program interpreter`);
    ibias = base - pageDown(ext.lo);
  }
  const interp = mapImage(as, iimg, ibias);
  return { exe, interp, startPc: interp.entry, interpPath: img.interp };
}

/** DIR + an absolute guest path (the path's own leading slash kept). */
export function joinSysroot(sysroot: string, guestPath: string): string {
  const root = sysroot.endsWith('/') ? sysroot.slice(0, -1) : sysroot;
  return root + (guestPath.startsWith('/') ? guestPath : '/' + guestPath);
}
