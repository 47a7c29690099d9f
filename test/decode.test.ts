// The decoder against an oracle nobody here wrote: GNU objdump's reading of every 16-bit parcel
// and of a sample of 32-bit words (golden file recorded by scripts/oracle/decode-golden.mjs), and
// the wasm core's generated decoder against the table-driven TypeScript one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readRepoFile, ROOT } from './helpers.js';
import { join } from 'node:path';
import { disassemble, decodeInsn } from '../src/isa/disasm.js';
import { expandCompressed, decodeCompressed } from '../src/isa/compressed.js';
import { INSNS, ID_ILLEGAL } from '../src/isa/table.js';

const golden = readRepoFile('test/golden/decode/objdump.txt.gz').toString().split('\n')
  .filter((l) => l && !l.startsWith('#')).map((l) => {
    const [hex, name] = l.split(' ') as [string, string];
    return { word: parseInt(hex, 16) >>> 0, name };
  });

/** objdump's names for things it prints differently from the table, and encodings where the spec
 *  leaves freedom that objdump and rvisor (like QEMU) use differently. */
function normalize(name: string): string {
  if (name.startsWith('.') || name === 'c.unimp') return 'illegal';
  return name.replace(/^c\.(slli|srli|srai)64$/, 'c.$1').replace(/\.(aqrl|aq|rl)$/, '');
}

function ours(word: number): string {
  const text = disassemble(word);
  return text.includes('(illegal)') ? 'illegal' : normalize(text.split(' ')[0]!);
}

/** Encodings the spec reserves but tells implementations to accept (or where objdump is
 *  lenient about a reserved one), so objdump and the spec differ. */
function specAllows(word: number, theirs: string, mine: string): boolean {
  // FENCE: unused fields (rd, rs1, fm) are reserved and "shall be ignored" (spec section 2.7).
  if (mine === 'fence' && (word & 0x707f) === 0x000f) return true;
  // FENCE.I: imm, rs1 and rd are reserved and "shall be ignored" (Zifencei, chapter 3).
  if (mine === 'fence.i' && (word & 0x707f) === 0x100f) return true;
  // A reserved static rounding mode (5, 6): rvisor decodes the instruction and raises the
  // illegal-instruction trap when it executes (cpu.test.ts checks this), which is the same.
  const d = decodeInsn(word);
  if (theirs === 'illegal' && d?.operands.includes('rm') && [5, 6].includes((word >>> 12) & 7)) return true;
  // Exact conversions (fcvt.d.w, fcvt.d.wu, fcvt.d.s) have an rm field that cannot matter; binutils
  // 2.40 only disassembles them with rm=000, the spec (and QEMU) accept every valid rm.
  if (theirs === 'illegal' && ['fcvt.d.w', 'fcvt.d.wu', 'fcvt.d.s'].includes(mine)) return true;
  // C.ADDI16SP with nzimm=0 is reserved (spec 16.5); objdump still prints it.
  if (theirs === 'c.addi16sp' && mine === 'illegal' && (word & 0x107c) === 0) return true;
  return false;
}

test('every 16-bit parcel decodes as objdump says', () => {
  const bad: string[] = [];
  for (const { word, name } of golden.filter((g) => (g.word & 3) !== 3)) {
    const theirs = normalize(name), mine = ours(word);
    if (theirs !== mine && !specAllows(word, theirs, mine)) bad.push(`${word.toString(16)}: objdump ${theirs}, rvisor ${mine}`);
  }
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} parcels differ`);
});

test('32-bit words decode as objdump says', () => {
  const bad: string[] = [];
  for (const { word, name } of golden.filter((g) => (g.word & 3) === 3)) {
    const theirs = normalize(name), mine = ours(word);
    if (theirs !== mine && !specAllows(word, theirs, mine)) bad.push(`${word.toString(16)}: objdump ${theirs}, rvisor ${mine}`);
  }
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} words differ`);
});

test('the wasm decoder and expander agree with the table', async () => {
  const memory = new WebAssembly.Memory({ initial: 1040, maximum: 65536, shared: true });
  const bytes = readFileSync(join(ROOT, 'dist', 'wasm', 'decode-harness.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory, abort: () => { throw new Error('abort'); } } });
  const wasm = instance.exports as unknown as { decode(w: number): number; expand_c(h: number): number };
  for (let h = 0; h < 65536; h++) {
    if ((h & 3) === 3) continue;
    const want = expandCompressed(h);
    assert.equal(wasm.expand_c(h) >>> 0, want, `expansion of ${h.toString(16)} (${decodeCompressed(h)?.name})`);
  }
  for (const { word } of golden) {
    const w = (word & 3) === 3 ? word : expandCompressed(word);
    if (w === 0) continue;
    const d = decodeInsn(w);
    assert.equal(wasm.decode(w), d ? INSNS.indexOf(d) : ID_ILLEGAL, `decode of ${w.toString(16)}`);
  }
});
