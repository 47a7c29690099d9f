// The floating-point unit of the wasm core (src/cpu/as/fpu.ts) against golden vectors recorded from
// QEMU (guest/fpu-vectors/: fpu-vectors.c run under qemu-riscv64-static; regen.sh re-checks them).
// Each golden line is "op rm a b c -> result fflags" in hex; rm d0..d4 marks the dynamic rounding
// mode (the interpreter resolves it, so the FPU sees the same mode number).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const FL = 65536; // address of the fflags word inside the shared memory

type Fn = (...args: (number | bigint)[]) => number | bigint;
type Kind = 'S' | 'D' | 'X'; // operand kind: single (number), double or integer (bigint)
interface OpSpec { exp: string; kind: Kind; n: number; rm: boolean; madd?: number; noFlags?: boolean }

const OPS = new Map<string, OpSpec>();
for (const [p, kind] of [['s', 'S'], ['d', 'D']] as const) {
  const f = p === 's' ? 'f32' : 'f64';
  const add = (name: string, spec: OpSpec): void => void OPS.set(name, spec);
  add(`fadd.${p}`, { exp: `${f}_add`, kind, n: 2, rm: true });
  add(`fsub.${p}`, { exp: `${f}_sub`, kind, n: 2, rm: true });
  add(`fmul.${p}`, { exp: `${f}_mul`, kind, n: 2, rm: true });
  add(`fdiv.${p}`, { exp: `${f}_div`, kind, n: 2, rm: true });
  add(`fsqrt.${p}`, { exp: `${f}_sqrt`, kind, n: 1, rm: true });
  add(`fmadd.${p}`, { exp: `${f}_madd`, kind, n: 3, rm: true, madd: 0 });
  add(`fmsub.${p}`, { exp: `${f}_madd`, kind, n: 3, rm: true, madd: 1 });
  add(`fnmsub.${p}`, { exp: `${f}_madd`, kind, n: 3, rm: true, madd: 2 });
  add(`fnmadd.${p}`, { exp: `${f}_madd`, kind, n: 3, rm: true, madd: 3 });
  add(`fmin.${p}`, { exp: `${f}_min`, kind, n: 2, rm: false });
  add(`fmax.${p}`, { exp: `${f}_max`, kind, n: 2, rm: false });
  add(`feq.${p}`, { exp: `${f}_eq`, kind, n: 2, rm: false });
  add(`flt.${p}`, { exp: `${f}_lt`, kind, n: 2, rm: false });
  add(`fle.${p}`, { exp: `${f}_le`, kind, n: 2, rm: false });
  add(`fclass.${p}`, { exp: `${f}_class`, kind, n: 1, rm: false, noFlags: true });
  add(`fcvt.w.${p}`, { exp: `${f}_to_i32`, kind, n: 1, rm: true });
  add(`fcvt.wu.${p}`, { exp: `${f}_to_u32`, kind, n: 1, rm: true });
  add(`fcvt.l.${p}`, { exp: `${f}_to_i64`, kind, n: 1, rm: true });
  add(`fcvt.lu.${p}`, { exp: `${f}_to_u64`, kind, n: 1, rm: true });
  add(`fcvt.${p}.w`, { exp: `i32_to_${f}`, kind: 'X', n: 1, rm: true });
  add(`fcvt.${p}.wu`, { exp: `u32_to_${f}`, kind: 'X', n: 1, rm: true });
  add(`fcvt.${p}.l`, { exp: `i64_to_${f}`, kind: 'X', n: 1, rm: true });
  add(`fcvt.${p}.lu`, { exp: `u64_to_${f}`, kind: 'X', n: 1, rm: true });
}
OPS.set('fcvt.s.d', { exp: 'f64_to_f32', kind: 'D', n: 1, rm: true });
OPS.set('fcvt.d.s', { exp: 'f32_to_f64', kind: 'S', n: 1, rm: false });

// Golden vectors, grouped by instruction (in file order).
const golden = new Map<string, string[]>();
for (const file of ['f32.txt.gz', 'f64.txt.gz']) {
  const text = gunzipSync(readFileSync(new URL(`../../test/golden/fpu/${file}`, import.meta.url))).toString('latin1');
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const name = line.slice(0, line.indexOf(' '));
    let list = golden.get(name);
    if (!list) golden.set(name, (list = []));
    list.push(line);
  }
}

const memory = new WebAssembly.Memory({ initial: 1040, maximum: 65536, shared: true });
const bytes = readFileSync(new URL('../wasm/fpu-harness.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, {
  env: { memory, abort: () => { throw new Error('abort'); } },
});
const fpu = instance.exports as unknown as Record<string, Fn>;
const flags = new Uint32Array(memory.buffer, FL, 1);

/** Runs one golden line; returns a description of the mismatch, or null. */
function check(spec: OpSpec, fn: Fn, line: string): string | null {
  const t = line.split(' ');
  if (t.length !== 8 || t[5] !== '->') return `malformed line: ${line}`;
  const rm = Number(t[1].startsWith('d') ? t[1].slice(1) : t[1]);
  const operands = t.slice(2, 2 + spec.n).map((h) => (spec.kind === 'S' ? parseInt(h, 16) | 0 : BigInt('0x' + h)));
  const args: (number | bigint)[] = spec.noFlags ? operands : [FL, ...operands];
  if (spec.rm) args.push(rm);
  if (spec.madd !== undefined) args.push(spec.madd);
  flags[0] = 0;
  const raw = fn(...args);
  const got = typeof raw === 'bigint' ? BigInt.asUintN(64, raw) : BigInt(raw >>> 0);
  const gotFlags = flags[0];
  const want = BigInt('0x' + t[6]), wantFlags = parseInt(t[7], 16);
  if (got === want && gotFlags === wantFlags) return null;
  return `${t[0]} rm=${t[1]} a=${t[2]} b=${t[3]} c=${t[4]}: QEMU ${t[6]} flags ${t[7]}, ours ${got.toString(16)} flags ${gotFlags.toString(16)}`;
}

test('golden FPU vectors cover every F/D instruction', () => {
  assert.deepEqual([...OPS.keys()].filter((op) => !golden.has(op)), []);
  assert.deepEqual([...golden.keys()].filter((op) => !OPS.has(op)), []);
});

for (const [name, spec] of OPS) {
  test(`${name} matches QEMU`, () => {
    const lines = golden.get(name) ?? [];
    const fn = fpu[spec.exp];
    assert.equal(typeof fn, 'function', `export ${spec.exp}`);
    const bad: string[] = [];
    let count = 0;
    for (const line of lines) {
      const m = check(spec, fn, line);
      if (m) {
        if (bad.length < 8) bad.push(m);
        count++;
      }
    }
    assert.ok(lines.length > 0, `no vectors for ${name}`);
    assert.deepEqual(bad, [], `${count} of ${lines.length} ${name} vectors differ from QEMU`);
  });
}
