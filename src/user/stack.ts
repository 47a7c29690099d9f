// The initial stack of a new program, laid out as Linux's create_elf_tables() does (fs/exec.c and
// fs/binfmt_elf.c): at the top the exec file name, the environment strings and the argument
// strings; below them 16 random bytes (AT_RANDOM); then, from a 16-byte aligned sp upwards:
// argc, argv[] and NULL, envp[] and NULL, the auxiliary vector ending with AT_NULL.
import type { AddressSpace } from './address-space.js';
import { PROT_READ, PROT_WRITE } from './address-space.js';
import { STACK_SIZE, STACK_TOP } from './layout.js';

export const AT_NULL = 0;
export const AT_PHDR = 3;
export const AT_PHENT = 4;
export const AT_PHNUM = 5;
export const AT_PAGESZ = 6;
export const AT_BASE = 7;
export const AT_FLAGS = 8;
export const AT_ENTRY = 9;
export const AT_UID = 11;
export const AT_EUID = 12;
export const AT_GID = 13;
export const AT_EGID = 14;
export const AT_HWCAP = 16;
export const AT_CLKTCK = 17;
export const AT_SECURE = 23;
export const AT_RANDOM = 25;
export const AT_EXECFN = 31;

/** AT_HWCAP for RV64IMAFDC: Linux sets bit (letter - 'a') for each single-letter extension. */
export const HWCAP_RV64IMAFDC = ['i', 'm', 'a', 'f', 'd', 'c'].reduce((m, l) => m | (1 << (l.charCodeAt(0) - 97)), 0);

export interface StackSpec {
  argv: Uint8Array[];
  envp: Uint8Array[];
  /** The file name as passed to exec (AT_EXECFN points at it). */
  execfn: Uint8Array;
  /** Auxiliary vector entries without AT_RANDOM, AT_EXECFN and AT_NULL (added here). */
  auxv: Array<[number, bigint]>;
  random: Uint8Array;
}

export interface BuiltStack {
  sp: number;
  /** Where each piece went (for tests and --strace). */
  argvAddrs: number[];
  envpAddrs: number[];
  execfnAddr: number;
  randomAddr: number;
  auxv: Array<[number, bigint]>;
}

const utf8 = new TextEncoder();
/** Encodes a host string as the bytes a guest sees. */
export const cstr = (s: string): Uint8Array => utf8.encode(s);

/** Maps the stack and writes the initial process image onto it; returns the initial sp. */
export function buildStack(as: AddressSpace, spec: StackSpec): BuiltStack {
  as.mapFixed(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE, { name: '[stack]' });
  let p = STACK_TOP - 8;
  const putString = (s: Uint8Array): number => {
    const b = new Uint8Array(s.length + 1);
    b.set(s);
    p -= b.length;
    as.poke(p, b);
    return p;
  };
  const execfnAddr = putString(spec.execfn);
  const envpAddrs: number[] = [];
  for (let i = spec.envp.length - 1; i >= 0; i--) envpAddrs[i] = putString(spec.envp[i]!);
  const argvAddrs: number[] = [];
  for (let i = spec.argv.length - 1; i >= 0; i--) argvAddrs[i] = putString(spec.argv[i]!);
  p = Math.floor(p / 16) * 16; // (addresses exceed 32 bits: no bitwise operators)
  p -= 16;
  const randomAddr = p;
  as.poke(p, spec.random.subarray(0, 16));

  const auxv: Array<[number, bigint]> = [
    ...spec.auxv,
    [AT_RANDOM, BigInt(randomAddr)],
    [AT_EXECFN, BigInt(execfnAddr)],
    [AT_NULL, 0n],
  ];
  const items = spec.argv.length + 1 + spec.envp.length + 1 + 1;
  const words = items + auxv.length * 2;
  const sp = Math.floor((p - words * 8) / 16) * 16;
  const table = new Uint8Array(words * 8);
  const dv = new DataView(table.buffer);
  let o = 0;
  const put = (v: bigint | number): void => {
    dv.setBigUint64(o, BigInt(v), true);
    o += 8;
  };
  put(spec.argv.length);
  for (const a of argvAddrs) put(a);
  put(0);
  for (const e of envpAddrs) put(e);
  put(0);
  for (const [k, v] of auxv) {
    put(k);
    put(v);
  }
  as.poke(sp, table);
  return { sp, argvAddrs, envpAddrs, execfnAddr, randomAddr, auxv };
}
