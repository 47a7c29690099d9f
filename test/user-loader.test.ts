// Unit tests of ELF parsing, program loading and the initial stack (no CPU needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostMemory } from '../src/memory/host-memory.js';
import { RvisorError, type ErrorCode } from '../src/errors.js';
import { AddressSpace, ACCESS_EXEC, ACCESS_WRITE } from '../src/user/address-space.js';
import { ET_DYN, ET_EXEC, PT_INTERP, PT_LOAD, parseElf } from '../src/user/elf.js';
import { ELF_ET_DYN_BASE, STACK_TOP, TASK_SIZE } from '../src/user/layout.js';
import { loadProgram, mapImage } from '../src/user/loader.js';
import {
  AT_ENTRY, AT_EXECFN, AT_HWCAP, AT_NULL, AT_PAGESZ, AT_RANDOM, HWCAP_RV64IMAFDC, buildStack, cstr,
} from '../src/user/stack.js';
import { readRepoFile, scratchDir } from './helpers.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Seg { type: number; flags: number; offset: number; vaddr: number; filesz: number; memsz: number }

/** A minimal ELF64 image with the given program headers (data placed after them). */
function makeElf(opts: { cls?: number; machine?: number; type?: number; entry?: number; segs: Seg[]; size?: number }): Uint8Array {
  const size = opts.size ?? 0x3000;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, opts.cls ?? 2, 1, 1]);
  v.setUint16(16, opts.type ?? ET_EXEC, true);
  v.setUint16(18, opts.machine ?? 243, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, BigInt(opts.entry ?? 0x10000), true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, opts.segs.length, true);
  opts.segs.forEach((s, i) => {
    const o = 64 + i * 56;
    v.setUint32(o, s.type, true);
    v.setUint32(o + 4, s.flags, true);
    v.setBigUint64(o + 8, BigInt(s.offset), true);
    v.setBigUint64(o + 16, BigInt(s.vaddr), true);
    v.setBigUint64(o + 24, BigInt(s.vaddr), true);
    v.setBigUint64(o + 32, BigInt(s.filesz), true);
    v.setBigUint64(o + 40, BigInt(s.memsz), true);
    v.setBigUint64(o + 48, 0x1000n, true);
  });
  return b;
}

const TEXT: Seg = { type: PT_LOAD, flags: 5, offset: 0, vaddr: 0x10000, filesz: 0x1800, memsz: 0x1800 };
const DATA: Seg = { type: PT_LOAD, flags: 6, offset: 0x2000, vaddr: 0x12000, filesz: 0x100, memsz: 0x3000 };

/** Asserts that f throws an RvisorError with this code (and a message matching `message`). */
function throwsCode(f: () => unknown, code: ErrorCode, message?: string | RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof RvisorError, `expected an RvisorError, got ${String(e)}`);
    assert.equal(e.code, code, `${typeof message === 'string' ? `${message}: ` : ''}${e.message}`);
    if (message instanceof RegExp) assert.match(e.message, message);
    return true;
  });
}

test('elf: a valid executable parses', () => {
  const img = parseElf('x', makeElf({ segs: [TEXT, DATA] }));
  assert.equal(img.type, ET_EXEC);
  assert.equal(img.entry, 0x10000);
  assert.equal(img.phdrs.length, 2);
  assert.equal(img.interp, undefined);
});

test('elf: bad input gets a distinct error code naming the file', () => {
  throwsCode(() => parseElf('x', new TextEncoder().encode('#!/bin/sh\necho hi\n')), 'NOT_ELF');
  throwsCode(() => parseElf('x', new Uint8Array(0)), 'NOT_ELF');
  throwsCode(() => parseElf('x', makeElf({ cls: 1, segs: [TEXT] })), 'ELF_CLASS');
  throwsCode(() => parseElf('x', makeElf({ machine: 62, segs: [TEXT] })), 'ELF_CLASS');
  throwsCode(() => parseElf('x', makeElf({ type: 1, segs: [TEXT] })), 'ELF_CLASS');
  throwsCode(() => parseElf('x', makeElf({ segs: [TEXT, DATA] }).subarray(0, 40)), 'ELF_CORRUPT');
  throwsCode(() => parseElf('x', makeElf({ segs: [TEXT, DATA] }).subarray(0, 0x2010)), 'ELF_CORRUPT');
  throwsCode(() => parseElf('x', makeElf({ segs: [{ ...DATA, filesz: 0x4000 }] })), 'ELF_CORRUPT');
  throwsCode(() => parseElf('x', makeElf({ segs: [{ ...DATA, vaddr: 0x12010 }] })), 'ELF_CORRUPT', 'offset/vaddr not congruent');
  throwsCode(() => parseElf('x', makeElf({ segs: [] })), 'ELF_CORRUPT');
  throwsCode(() => parseElf('/some/prog', makeElf({ machine: 62, segs: [TEXT] })), 'ELF_CLASS', /^\/some\/prog: x86-64 ELF/);
});

test('loader: segments land at their addresses with the right contents and protections', () => {
  const data = makeElf({ segs: [TEXT, DATA] });
  data[0x1000] = 0x13; // in the text segment
  data[0x2000] = 0xaa; // first byte of .data
  data[0x2100] = 0xbb; // past filesz: must read as zero (.bss)
  const as = new AddressSpace(new HostMemory(64 * 1048576 + 4 * 1048576));
  const li = mapImage(as, parseElf('x', data), 0);
  assert.equal(li.entry, 0x10000);
  assert.equal(li.end, 0x15000);
  assert.equal(li.phdr, 0x10040, 'AT_PHDR: the headers inside the first segment');
  assert.deepEqual(as.read(0x11000, 1), new Uint8Array([0x13]));
  assert.deepEqual(as.read(0x12000, 1), new Uint8Array([0xaa]));
  assert.deepEqual(as.read(0x12100, 1), new Uint8Array([0]), 'bss is zero');
  assert.deepEqual(as.read(0x14fff, 1), new Uint8Array([0]));
  assert.ok(as.translate(0x10000, ACCESS_EXEC) >= 0);
  assert.equal(as.translate(0x10000, ACCESS_WRITE), -1, 'text is read-only');
  assert.equal(as.translate(0x12000, ACCESS_EXEC), -1, 'data is not executable');
  assert.ok(as.translate(0x14000, ACCESS_WRITE) >= 0);
});

test('loader: a PIE goes to ELF_ET_DYN_BASE; a missing interpreter is ELF_INTERP', () => {
  const dir = scratchDir();
  const pie = makeElf({ type: ET_DYN, entry: 0x100, segs: [{ ...TEXT, vaddr: 0 }] });
  writeFileSync(join(dir, 'pie'), pie);
  const as = new AddressSpace(new HostMemory(64 * 1048576 + 4 * 1048576));
  const lp = loadProgram(as, join(dir, 'pie'));
  assert.equal(lp.exe.bias, ELF_ET_DYN_BASE);
  assert.equal(lp.startPc, ELF_ET_DYN_BASE + 0x100);
  assert.equal(as.brkStart, ELF_ET_DYN_BASE + 0x2000, 'the break follows the highest segment');
  const withInterp = makeElf({ segs: [TEXT, { type: PT_INTERP, flags: 4, offset: 0x1f00, vaddr: 0x11f00, filesz: 20, memsz: 20 }] });
  withInterp.set(new TextEncoder().encode('/lib/ld-missing.so\0'), 0x1f00);
  writeFileSync(join(dir, 'dyn'), withInterp);
  throwsCode(() => loadProgram(new AddressSpace(new HostMemory(64 * 1048576 + 4 * 1048576)), join(dir, 'dyn'), dir), 'ELF_INTERP');
  throwsCode(() => loadProgram(new AddressSpace(new HostMemory(64 * 1048576 + 4 * 1048576)), join(dir, 'does-not-exist')), 'ENOENT_FILE');
});

test('loader: the real hello fixture loads (static, ET_EXEC)', () => {
  const dir = scratchDir();
  writeFileSync(join(dir, 'hello-static'), readRepoFile('test/fixtures/user/hello.gz'));
  const as = new AddressSpace(new HostMemory(64 * 1048576 + 4 * 1048576));
  const lp = loadProgram(as, join(dir, 'hello-static'));
  assert.equal(lp.interp, undefined);
  assert.ok(as.translate(lp.startPc, ACCESS_EXEC) >= 0);
});

test('stack: argc, argv, envp and auxv laid out like Linux, sp 16-byte aligned', () => {
  const as = new AddressSpace(new HostMemory(64 * 1048576 + 4 * 1048576));
  const random = new Uint8Array(16).map((_, i) => i + 1);
  const st = buildStack(as, {
    argv: ['prog', 'a b', ''].map(cstr),
    envp: ['HOME=/root', 'X=1'].map(cstr),
    execfn: cstr('./prog'),
    auxv: [[AT_HWCAP, BigInt(HWCAP_RV64IMAFDC)], [AT_PAGESZ, 4096n], [AT_ENTRY, 0x10000n]],
    random,
  });
  assert.equal(st.sp % 16, 0);
  assert.ok(st.sp < STACK_TOP && st.sp > STACK_TOP - 8 * 1048576);
  const u64 = (a: number): bigint => as.readU64(a)!;
  const str = (a: bigint): string => new TextDecoder().decode(as.readCString(a) as Uint8Array);
  assert.equal(u64(st.sp), 3n, 'argc');
  assert.deepEqual([1, 2, 3].map((i) => str(u64(st.sp + i * 8))), ['prog', 'a b', '']);
  assert.equal(u64(st.sp + 4 * 8), 0n);
  assert.deepEqual([5, 6].map((i) => str(u64(st.sp + i * 8))), ['HOME=/root', 'X=1']);
  assert.equal(u64(st.sp + 7 * 8), 0n);
  const aux = new Map<number, bigint>();
  for (let o = st.sp + 8 * 8; ; o += 16) {
    const k = Number(u64(o));
    aux.set(k, u64(o + 8));
    if (k === AT_NULL) break;
  }
  assert.equal(aux.get(AT_HWCAP), 0x112dn, 'rv64imafdc: a c d f i m bits');
  assert.equal(aux.get(AT_PAGESZ), 4096n);
  assert.equal(str(aux.get(AT_EXECFN)!), './prog');
  assert.deepEqual(as.read(aux.get(AT_RANDOM)!, 16), random);
  assert.ok(st.execfnAddr > st.envpAddrs[1]! && st.envpAddrs[0]! > st.argvAddrs[2]!, 'strings: execfn, env, args from the top');
  assert.ok(STACK_TOP <= TASK_SIZE);
});
