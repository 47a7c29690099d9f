#!/usr/bin/env node
// Records what GNU objdump (binutils-riscv64-linux-gnu, an encoder/decoder nobody here wrote)
// says every 16-bit parcel and a deterministic sample of 32-bit words are, into
// test/golden/decode/objdump.txt.gz. With --check, compares against the committed file instead.
// Needs: apt-get install binutils-riscv64-linux-gnu. Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, mkdtempSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { INSNS } = await import(join(root, 'dist/src/isa/table.js'));
const golden = join(root, 'test/golden/decode/objdump.txt.gz');

let seed = 0x2545f491;
const rand = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };

const words = [];
for (let h = 0; h < 65536; h++) if ((h & 3) !== 3) words.push(h);
for (const d of INSNS) for (let k = 0; k < 40; k++) words.push(((d.match | (rand() & ~d.mask)) >>> 0));
for (let k = 0; k < 4000; k++) { let w = (rand() | 3) >>> 0; if ((w & 0x1c) === 0x1c) w = (w & ~0x10) >>> 0; words.push(w); }

const dir = mkdtempSync(join(tmpdir(), 'rvisor-objdump-'));
const bytes = [];
for (const w of words) {
  bytes.push(w & 0xff, (w >>> 8) & 0xff);
  if ((w & 3) === 3) bytes.push((w >>> 16) & 0xff, w >>> 24);
}
writeFileSync(join(dir, 'words.bin'), Uint8Array.from(bytes));
const out = execFileSync('riscv64-linux-gnu-objdump', ['-D', '-z', '-b', 'binary', '-m', 'riscv:rv64', '-M', 'no-aliases', join(dir, 'words.bin')],
  { maxBuffer: 1 << 28 }).toString();
const lines = [];
for (const line of out.split('\n')) {
  const m = /^\s*[0-9a-f]+:\t([0-9a-f]+)\s*\t(\S+)/.exec(line);
  if (m) lines.push(`${m[1]} ${m[2]}`);
}
if (lines.length !== words.length) throw new Error(`objdump gave ${lines.length} lines for ${words.length} words`);
const version = execFileSync('riscv64-linux-gnu-objdump', ['--version']).toString().split('\n')[0];
const text = `# ${version}\n` + lines.join('\n') + '\n';
if (process.argv.includes('--check')) {
  const old = gunzipSync(readFileSync(golden)).toString();
  const body = (t) => t.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  if (body(old) !== body(text)) { console.error('decode golden differs from live objdump'); process.exit(1); }
  console.log(`decode golden matches live objdump (${lines.length} encodings)`);
} else {
  writeFileSync(golden, gzipSync(text));
  console.log(`wrote ${golden}: ${lines.length} encodings`);
}
