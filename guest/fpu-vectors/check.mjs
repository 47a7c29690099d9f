#!/usr/bin/env node
// Replays FPU vectors (lines "op rm a b c -> result fflags", as printed by fpu-vectors)
// against the AssemblyScript FPU and reports mismatches per instruction.
//
// usage: node check.mjs WASM [FILE|-] [--max N]
//   WASM   path to fpu-harness.wasm (e.g. dist/wasm/fpu-harness.wasm)
//   FILE   vectors, plain or .gz; "-" or absent reads stdin (streamed)
import { readFileSync, createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const maxShow = args.includes('--max') ? Number(args[args.indexOf('--max') + 1]) : 5;
const pos = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--max');
const [wasmPath, file = '-'] = pos;
if (!wasmPath) {
  console.error('usage: node check.mjs WASM [FILE|-] [--max N]');
  process.exit(2);
}

const FL = 65536;
let instance;
for (const pages of [1040, 2048, 4096, 8192]) {
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  try {
    ({ instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
      env: { memory, abort() { throw new Error('abort'); } },
    }));
    break;
  } catch (e) {
    if (!(e instanceof WebAssembly.LinkError)) throw e;
  }
}
const x = instance.exports;
const mem32 = new Uint32Array(x.memory.buffer);

// name -> [export, input kind (S: f32 as number, D/X: BigInt), operand count, has rm, madd op]
const OPS = {};
for (const [p, k] of [['s', 'S'], ['d', 'D']]) {
  const f = p === 's' ? 'f32' : 'f64';
  Object.assign(OPS, {
    [`fadd.${p}`]: [`${f}_add`, k, 2, true], [`fsub.${p}`]: [`${f}_sub`, k, 2, true],
    [`fmul.${p}`]: [`${f}_mul`, k, 2, true], [`fdiv.${p}`]: [`${f}_div`, k, 2, true],
    [`fsqrt.${p}`]: [`${f}_sqrt`, k, 1, true],
    [`fmadd.${p}`]: [`${f}_madd`, k, 3, true, 0], [`fmsub.${p}`]: [`${f}_madd`, k, 3, true, 1],
    [`fnmsub.${p}`]: [`${f}_madd`, k, 3, true, 2], [`fnmadd.${p}`]: [`${f}_madd`, k, 3, true, 3],
    [`fmin.${p}`]: [`${f}_min`, k, 2, false], [`fmax.${p}`]: [`${f}_max`, k, 2, false],
    [`feq.${p}`]: [`${f}_eq`, k, 2, false], [`flt.${p}`]: [`${f}_lt`, k, 2, false],
    [`fle.${p}`]: [`${f}_le`, k, 2, false], [`fclass.${p}`]: [`${f}_class`, k, 1, false, -1],
    [`fcvt.w.${p}`]: [`${f}_to_i32`, k, 1, true], [`fcvt.wu.${p}`]: [`${f}_to_u32`, k, 1, true],
    [`fcvt.l.${p}`]: [`${f}_to_i64`, k, 1, true], [`fcvt.lu.${p}`]: [`${f}_to_u64`, k, 1, true],
    [`fcvt.${p}.w`]: [`i32_to_${f}`, 'X', 1, true], [`fcvt.${p}.wu`]: [`u32_to_${f}`, 'X', 1, true],
    [`fcvt.${p}.l`]: [`i64_to_${f}`, 'X', 1, true], [`fcvt.${p}.lu`]: [`u64_to_${f}`, 'X', 1, true],
  });
}
OPS['fcvt.s.d'] = ['f64_to_f32', 'D', 1, true];
OPS['fcvt.d.s'] = ['f32_to_f64', 'S', 1, false];

function run(line) {
  const t = line.split(' ');
  const [name, rmS, aS, bS, cS, , rS, fS] = t;
  const op = OPS[name];
  if (!op) throw new Error(`unknown op ${name}`);
  const [exp, kind, n, hasRm, madd] = op;
  const rm = Number(rmS.startsWith('d') ? rmS.slice(1) : rmS);
  const conv = kind === 'S' ? (s) => parseInt(s, 16) | 0 : (s) => BigInt('0x' + s);
  const ops = [aS, bS, cS].slice(0, n).map(conv);
  const fn = x[exp];
  mem32[FL >> 2] = 0;
  let r;
  if (madd === -1) r = fn(...ops);
  else {
    const a = [FL, ...ops];
    if (hasRm) a.push(rm);
    if (madd !== undefined) a.push(madd);
    r = fn(...a);
  }
  r = typeof r === 'bigint' ? BigInt.asUintN(64, r) : BigInt(r >>> 0);
  const fl = mem32[FL >> 2];
  const er = BigInt('0x' + rS), ef = parseInt(fS, 16);
  return r === er && fl === ef ? null : `${line}   got ${r.toString(16)} ${fl.toString(16)}`;
}

const stats = new Map();
let input = file === '-' ? process.stdin : createReadStream(file);
if (file.endsWith('.gz')) input = input.pipe(createGunzip());
const rl = createInterface({ input, crlfDelay: Infinity });
let total = 0, bad = 0;
for await (const line of rl) {
  if (!line || line.startsWith('#')) continue;
  const name = line.slice(0, line.indexOf(' '));
  let s = stats.get(name);
  if (!s) stats.set(name, (s = { n: 0, bad: 0, shown: [] }));
  s.n++;
  total++;
  const m = run(line);
  if (m) {
    s.bad++;
    bad++;
    if (s.shown.length < maxShow) s.shown.push(m);
  }
}
for (const [name, s] of stats) {
  console.log(`${name.padEnd(10)} ${String(s.n).padStart(8)} vectors  ${s.bad ? s.bad + ' MISMATCH' : 'ok'}`);
  for (const m of s.shown) console.log('    ' + m);
}
console.log(`total ${total} vectors, ${bad} mismatches`);
process.exit(bad ? 1 : 0);
