// Random instruction streams (guest/streams): each program's stdout under rvisor must equal the
// bytes recorded under qemu-riscv64-static (test/golden/streams/NAME.out.gz). On a mismatch the
// message names the stream, every differing field (expected / actual / initial value) and lists the
// stream's instructions, regenerated from the seed by guest/streams/gen.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, readRepoFile, runRvisor, unpackGz } from './helpers.js';

interface ProgramEntry { name: string; asmSha256: string; binSha256: string; goldenSha256: string }
interface Manifest {
  seed: string; programs: ProgramEntry[]; streams: number; len: number; recordSize: number; bufferSize: number;
}
interface StreamListing { pattern: number; fcsr: number; x: string[]; f: string[]; code: string[] }
interface Generated { name: string; asm: string; listing: { streams: StreamListing[] } }

const manifest = JSON.parse(readRepoFile('guest/streams/manifest.json').toString('utf8')) as Manifest;
const REC = manifest.recordSize;
const XN = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];
const hex = (v: bigint, digits = 16): string => '0x' + v.toString(16).padStart(digits, '0');

/** Human-readable reading of a 64-bit FP register value. */
function fpText(v: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  const parts = [`double ${b.readDoubleLE(0)}`];
  if (v >> 32n === 0xffffffffn) parts.unshift(`single ${b.readFloatLE(0)}`);
  else parts.push('not NaN-boxed');
  return parts.join(', ');
}
function fcsrText(v: bigint): string {
  const fl = Number(v & 31n);
  const names = ['NX', 'UF', 'OF', 'DZ', 'NV'].filter((_, i) => fl & (1 << i)).reverse();
  return `frm=${Number((v >> 5n) & 7n)} fflags=${names.join('|') || '0'}${v >> 8n ? ' (bits above 7 set!)' : ''}`;
}

interface Diff { field: string; text: string }

const NOT_WRITING = /^(s[bhwd]|fs[wd]|c\.f?s[wd]|c\.f?s[wd]sp|b\w*|c\.b\w+|c\.j|c\.jr|c\.nop|fence.*|la|\.\w+)$/;
/** The stream's instructions that write register REG (its first operand), for a hint. */
function writers(code: string[], reg: string): string[] {
  return code.filter((c) => {
    const m = /^(\S+)\s+([^,\s]+)/.exec(c);
    if (!m) return false;
    if (m[1] === 'c.jalr') return reg === 'ra';
    return !NOT_WRITING.test(m[1]!) && m[2] === reg;
  });
}
/** Compares two records; returns the differing fields. */
function diffRecord(exp: Buffer, act: Buffer, init: StreamListing | undefined): Diff[] {
  const out: Diff[] = [];
  for (let i = 0; i < 31; i++) {
    const e = exp.readBigUInt64LE(i * 8), a = act.readBigUInt64LE(i * 8);
    if (e === a) continue;
    const ini = init ? `, initial ${init.x[i]}` : '';
    const w = init ? writers(init.code, XN[i + 1]!) : [];
    out.push({ field: XN[i + 1]!, text: `${XN[i + 1]} (x${i + 1}): expected ${hex(e)} actual ${hex(a)}${ini}` +
      (w.length ? `\n      written by: ${w.join(' | ')}` : '') });
  }
  for (let i = 0; i < 32; i++) {
    const o = 248 + i * 8;
    const e = exp.readBigUInt64LE(o), a = act.readBigUInt64LE(o);
    if (e === a) continue;
    const ini = init ? `\n      initial  ${init.f[i]} (${fpText(BigInt(init.f[i]!))})` : '';
    const w = init ? writers(init.code, `f${i}`) : [];
    out.push({ field: `f${i}`, text: `f${i}: expected ${hex(e)} (${fpText(e)})\n      actual   ${hex(a)} (${fpText(a)})${ini}` +
      (w.length ? `\n      written by: ${w.join(' | ')}` : '') });
  }
  {
    const e = exp.readBigUInt64LE(504), a = act.readBigUInt64LE(504);
    if (e !== a) {
      const ini = init ? `, initial ${hex(BigInt(init.fcsr), 2)} (${fcsrText(BigInt(init.fcsr))})` : '';
      out.push({ field: 'fcsr', text: `fcsr: expected ${hex(e, 2)} (${fcsrText(e)}) actual ${hex(a, 2)} (${fcsrText(a)})${ini}` });
    }
  }
  for (let o = 0; o < manifest.bufferSize; o += 8) {
    const e = exp.readBigUInt64LE(512 + o), a = act.readBigUInt64LE(512 + o);
    if (e === a) continue;
    out.push({ field: `buf+${o}`, text: `buffer[${o}..${o + 7}] (sp+${o}, s0${o - 128 >= 0 ? '+' : ''}${o - 128}): expected ${hex(e)} actual ${hex(a)}` });
  }
  return out;
}

const listingCache = new Map<string, StreamListing[] | string>();
/** The program's stream listings, regenerated from the seed (or why they are unavailable). */
async function listings(index: number, entry: ProgramEntry): Promise<StreamListing[] | string> {
  const hit = listingCache.get(entry.name);
  if (hit) return hit;
  let res: StreamListing[] | string;
  try {
    const gen = (await import(pathToFileURL(join(ROOT, 'guest', 'streams', 'gen.mjs')).href)) as {
      genProgram(seed: string, index: number, streams: number, len: number): Generated;
    };
    const g = gen.genProgram(manifest.seed, index, manifest.streams, manifest.len);
    const sha = createHash('sha256').update(g.asm).digest('hex');
    res = sha === entry.asmSha256 ? g.listing.streams
      : `(listing unavailable: guest/streams/gen.mjs no longer generates ${entry.name}.s — run guest/streams/regen.sh)`;
  } catch (e) {
    res = `(listing unavailable: ${(e as Error).message})`;
  }
  listingCache.set(entry.name, res);
  return res;
}

function showStream(name: string, s: number, l: StreamListing[] | string): string {
  if (typeof l === 'string') return l;
  const st = l[s];
  if (!st) return '';
  const code = st.code.filter((c) => !c.startsWith('.option')).map((c) => (c.endsWith(':') ? `    ${c}` : `      ${c}`));
  return `  ${name} stream ${s} (pattern ${st.pattern}, initial fcsr ${hex(BigInt(st.fcsr), 2)} = ${fcsrText(BigInt(st.fcsr))}):\n` +
    `  instructions (sp = buffer, s0 = buffer+128, buffer reset per stream):\n${code.join('\n')}`;
}

manifest.programs.forEach((entry, index) => {
  test(`streams ${entry.name} (${manifest.streams} random instruction streams)`, async () => {
    const golden = readRepoFile(`test/golden/streams/${entry.name}.out.gz`);
    assert.equal(golden.length, manifest.streams * REC, 'golden file size');
    const prog = unpackGz(`guest/streams/bin/${entry.name}.gz`);
    const r = runRvisor(['exec', prog], { timeoutMs: 300_000 });
    const out = r.stdout;
    if (r.status === 0 && out.equals(golden)) return;

    const lines: string[] = [];
    const nRec = Math.floor(out.length / REC);
    const differing: { s: number; diffs: Diff[] }[] = [];
    const l = await listings(index, entry);
    for (let s = 0; s < Math.min(nRec, manifest.streams); s++) {
      const e = golden.subarray(s * REC, (s + 1) * REC), a = out.subarray(s * REC, (s + 1) * REC);
      if (!e.equals(a)) differing.push({ s, diffs: diffRecord(e, a, typeof l === 'string' ? undefined : l[s]) });
    }
    if (differing.length) {
      const first = differing[0]!;
      lines.push(`${entry.name}: ${differing.length} of ${Math.min(nRec, manifest.streams)} complete streams differ from QEMU; first: stream ${first.s}`);
      lines.push(`  differing fields of stream ${first.s}:`, ...first.diffs.map((d) => `    ${d.text}`));
      lines.push(showStream(entry.name, first.s, l));
      if (differing.length > 1) {
        lines.push(`  other differing streams: ${differing.slice(1, 40).map((d) => `${d.s} (${d.diffs.map((x) => x.field).slice(0, 4).join(' ')})`).join(', ')}${differing.length > 40 ? ', …' : ''}`);
      }
    }
    if (out.length !== golden.length || r.status !== 0) {
      const expectN = manifest.streams;
      lines.push(`${entry.name}: exit status ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}, expected 0; ` +
        `stdout ${out.length} bytes (${nRec} complete records), expected ${golden.length} (${expectN} records)`);
      if (nRec < expectN) {
        lines.push(`  the program stopped during stream ${nRec} (or while dumping it):`, showStream(entry.name, nRec, l));
      }
      if (r.stderr) lines.push(`  stderr: ${r.stderr.slice(0, 2000)}`);
    }
    assert.fail(lines.join('\n'));
  });
});
