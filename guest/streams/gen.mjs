#!/usr/bin/env node
// Random instruction-stream generator for the rvisor CPU oracle.
//
// Writes, for each program, a riscv64 assembly file (no libc: _start + raw ecalls) and a compact
// JSON listing used by test/streams.test.ts to explain mismatches. Everything is a pure function
// of the seed, so `regen.sh` can rebuild byte-identical programs.
//
// Usage: node gen.mjs --out DIR [--seed S] [--programs N] [--streams N] [--len N] [--only NAME]
//
// Program layout (per stream):
//   reset the 256-byte scratch buffer from one of 8 patterns, set sp = buffer, s0 = buffer+128
//   fcsr <- random (frm 0..4, random fflags); f0..f31, x1..x31 (except sp, s0) <- table
//   ~LEN random instruction "items" (every user-level RV64GC instruction, see OPS below)
//   dump record: x1..x31, f0..f31, fcsr, buffer  (768 bytes) with write(1, rec, 768)
// At the end: exit_group(0).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const RECORD_SIZE = 768; // 31*8 x + 32*8 f + 8 fcsr + 256 buffer
export const BUF_SIZE = 256;
export const DEFAULTS = { seed: 'rvisor-streams-v1', programs: 40, streams: 100, len: 60 };

// ---------------------------------------------------------------- PRNG (xoshiro128**, seeded by a string hash)
class Rng {
  constructor(seedStr) {
    let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
    for (let i = 0; i < seedStr.length; i++) {
      const k = seedStr.charCodeAt(i);
      h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
      h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
      h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
      h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
    }
    h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
    h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
    h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
    h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
    this.s = [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
    if (!this.s.some((x) => x)) this.s[0] = 1;
  }
  u32() {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11);
    s[0] >>>= 0; s[1] >>>= 0; s[2] >>>= 0; s[3] >>>= 0;
    return r;
  }
  int(n) { return Math.floor((this.u32() / 4294967296) * n); }
  range(lo, hi) { return lo + this.int(hi - lo + 1); } // inclusive
  chance(p) { return this.u32() / 4294967296 < p; }
  pick(a) { return a[this.int(a.length)]; }
  u64() { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
}
function rotl(x, k) { return ((x << k) | (x >>> (32 - k))) >>> 0; }

const U64 = (x) => BigInt.asUintN(64, BigInt(x));
const hex64 = (x) => '0x' + U64(x).toString(16).padStart(16, '0');

// ---------------------------------------------------------------- value pools
const INT_CORNERS = [
  0n, 1n, -1n, 2n, -2n, 3n, 5n, 7n, 31n, 32n, 33n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn,
  0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, -0x80000000n, -0x80000001n, -0x7fffffffn,
  -(1n << 63n), (1n << 63n) - 1n, -(1n << 63n) + 1n, 0xffffffff00000000n, 0x00000000ffffffffn,
  0x5555555555555555n, 0xaaaaaaaaaaaaaaaan, 0x0123456789abcdefn, 0x8000000080000000n, 0x7fffffff7fffffffn,
  0xffffffff7fffffffn, 0x00000000fffffffen, 0x12345678deadbeefn,
];

// IEEE single bit patterns
const F32_CORNERS = [
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
  0x7f800001, 0xff800001, 0x7fa00000, 0x7fbfffff, 0x7fc12345, 0xffd55555, 0x00000001, 0x80000001,
  0x007fffff, 0x807fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x3f000000, 0xbf000000,
  0x3fc00000, 0xbfc00000, 0x40200000, 0xc0200000, 0x40400000, 0x3eaaaaab, 0x4f000000, 0xcf000000,
  0x4f800000, 0xcf800000, 0x5f000000, 0xdf000000, 0x5f800000, 0xdf800000, 0x4effffff, 0xcf000001,
  0x5effffff, 0x4f7fffff, 0x3effffff, 0x33800000, 0x00400000, 0x3fffffff, 0x7effffff, 0x40490fdb,
  0x3f7fffff, 0x34000000, 0x4b000000, 0x4b7fffff, 0xcb000001, 0x3fa00000,
];
// IEEE double bit patterns
const F64_CORNERS = [
  0x0000000000000000n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n,
  0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000000n,
  0x7ff0000000000001n, 0xfff0000000000001n, 0x7ff4000000000000n, 0x7ff7ffffffffffffn,
  0x7ff8000012345678n, 0xfffaaaaaaaaaaaaan, 0x0000000000000001n, 0x8000000000000001n,
  0x000fffffffffffffn, 0x800fffffffffffffn, 0x0010000000000000n, 0x8010000000000000n,
  0x7fefffffffffffffn, 0xffefffffffffffffn, 0x3fe0000000000000n, 0xbfe0000000000000n,
  0x3ff8000000000000n, 0xbff8000000000000n, 0x4004000000000000n, 0xc004000000000000n,
  0x4008000000000000n, 0x3fd5555555555555n, 0x41e0000000000000n, 0xc1e0000000000000n,
  0x41efffffffe00000n, 0x41dfffffffc00000n, 0xc1e0000000200000n, 0x41f0000000000000n,
  0x43e0000000000000n, 0xc3e0000000000000n, 0x43f0000000000000n, 0x43dfffffffffffffn,
  0x43efffffffffffffn, 0xc3e0000000000001n, 0x3fdfffffffffffffn, 0x47efffffe0000000n,
  0x47efffffffffffffn, 0x47f0000000000000n, 0x36a0000000000000n, 0x3690000000000000n,
  0x3810000000000000n, 0x380fffffffffffffn, 0x400921fb54442d18n, 0x3ff0000000000001n,
  0x4330000000000000n, 0x4330000000000001n, 0xc330000000000001n, 0x3e80000000000000n,
  0x3ff0000010000000n, 0x3ff0000020000000n, 0x3ff0000030000000n,
];

const f32bits = (x) => { const b = new DataView(new ArrayBuffer(4)); b.setFloat32(0, x, true); return b.getUint32(0, true); };
const f64bits = (x) => { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, x, true); return b.getBigUint64(0, true); };

function randF32(r) {
  const k = r.int(10);
  if (k < 4) return r.pick(F32_CORNERS) >>> 0;
  if (k < 6) return r.u32();
  if (k < 8) { // "reasonable" magnitude
    const sign = r.int(2), exp = r.range(127 - 30, 127 + 40), man = r.int(1 << 23);
    return ((sign << 31) | (exp << 23) | man) >>> 0;
  }
  if (k < 9) return f32bits(r.range(-5000, 5000) / r.pick([1, 2, 4, 8, 10, 3]));
  return f32bits(Math.fround(r.range(-1000000, 1000000) + r.pick([0, 0.5, 0.25, 0.75, 0.4999, 0.5001])));
}
function randF64(r) {
  const k = r.int(10);
  if (k < 4) return r.pick(F64_CORNERS);
  if (k < 6) return r.u64();
  if (k < 8) {
    const sign = BigInt(r.int(2)), exp = BigInt(r.range(1023 - 60, 1023 + 70));
    return (sign << 63n) | (exp << 52n) | (r.u64() & ((1n << 52n) - 1n));
  }
  if (k < 9) return f64bits(r.range(-5000, 5000) / r.pick([1, 2, 4, 8, 10, 3]));
  // values that round when converted to single / exercise single overflow+underflow
  return f64bits(r.pick([1e39, -1e39, 3.4028235677973366e38, 3.4028234663852886e38 * (1 + 2 ** -25), 1e-46, 1.4e-45,
    7e-46, 1 + 2 ** -24, 1 + 3 * 2 ** -24, 1 - 2 ** -25, 16777217, 2 ** 63 - 1024, 2 ** 64 - 2048, -(2 ** 63) - 2048]));
}
function randInt(r) {
  const k = r.int(20);
  if (k < 7) return U64(r.pick(INT_CORNERS));
  if (k < 10) return U64(r.range(-16, 16));
  if (k < 14) return r.u64();
  if (k < 16) return U64(BigInt.asIntN(32, BigInt(r.u32()))); // sign-extended 32-bit
  if (k < 17) return BigInt(r.u32()); // zero-extended 32-bit
  if (k < 18) return U64(r.range(-3000, 3000));
  if (k < 19) return BigInt(randF32(r)) | (r.chance(0.5) ? 0xffffffff00000000n : 0n);
  return randF64(r);
}
/** FP register init: boxed single, double, or a non-NaN-boxed 64-bit pattern. */
function randFreg(r) {
  const k = r.int(20);
  if (k < 9) return { bits: 0xffffffff00000000n | BigInt(randF32(r)), kind: 'S' };
  if (k < 18) return { bits: randF64(r), kind: 'D' };
  const upper = r.pick([0n, 0xfffffffen, 0x7fffffffn, 0xffff0000n, BigInt(r.u32())]);
  return { bits: (upper << 32n) | BigInt(randF32(r)), kind: 'X' };
}

// ---------------------------------------------------------------- registers
const XN = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];
const SP = 2, S0 = 8;
const WR = [1, 3, 4, 5, 6, 7, ...Array.from({ length: 23 }, (_, i) => i + 9)]; // writable (not x0, sp, s0)
const CWR = [9, 10, 11, 12, 13, 14, 15]; // writable compressed registers x9..x15
const CRS = [8, 9, 10, 11, 12, 13, 14, 15];
const FN = (i) => `f${i}`;
const RMS = ['', ', rne', ', rtz', ', rdn', ', rup', ', rmm', ', dyn'];

// ---------------------------------------------------------------- stream generator
class StreamGen {
  constructor(r, sid, fkinds, frm) {
    this.r = r; this.sid = sid; this.fk = fkinds; this.frms = new Set([frm]); this.lab = 0; this.skipEnd = 0;
    this.items = []; // {lines, label?: {name, skip}}
  }
  // register pickers
  rd() { return XN[this.r.chance(0.03) ? 0 : this.r.pick(WR)]; }
  rdi() { return this.r.pick(WR); } // never x0
  rs() { const r = this.r; return XN[r.chance(0.05) ? 0 : r.int(32)]; }
  tmp() { return XN[this.r.pick(WR)]; }
  fsrc(kind) {
    const r = this.r;
    if (r.chance(0.85)) {
      const c = []; for (let i = 0; i < 32; i++) if (this.fk[i] === kind) c.push(i);
      if (c.length) return r.pick(c);
    }
    return r.int(32);
  }
  fdst(kind) { const d = this.r.int(32); this.fk[d] = kind; return d; }
  rm() { return this.r.pick(RMS); }
  imm12() { const r = this.r; return r.chance(0.25) ? r.pick([0, 1, -1, 2047, -2048, 2046, -2047, 0x7ff, 0x555, -0x556]) : r.range(-2048, 2047); }
  label() { return `.L${this.sid}_${this.lab++}`; }
  emit(lines, label) { this.items.push({ lines: Array.isArray(lines) ? lines : [lines], label }); }
  /** A branch item skipping the next 0..3 items (0 = falls to the next item either way). */
  branch(mk) {
    const name = this.label(); const skip = this.r.int(4);
    this.skipEnd = Math.max(this.skipEnd, this.items.length + 1 + skip);
    this.emit(mk(name), { name, skip });
  }
  /** Whether the item about to be emitted may be jumped over. */
  skippable() { return this.items.length < this.skipEnd; }

  /** Memory operand inside the scratch buffer: returns {pre, addr} with addr like "off(base)". */
  mem(size, align = 1) {
    const r = this.r;
    const pickOff = (lo, hi) => { // inclusive range, prefer misaligned for align==1
      let o = r.range(lo, hi);
      if (align > 1) o -= ((o % align) + align) % align;
      if (o < lo) o += align;
      return o;
    };
    const k = r.int(10);
    if (k < 4) return { pre: [], addr: `${pickOff(0, BUF_SIZE - size)}(sp)` };
    if (k < 8) return { pre: [], addr: `${pickOff(-128, 128 - size)}(s0)` };
    const t = this.tmp();
    const e = pickOff(-128, 128 - size);
    let d = r.range(Math.max(-2040, e - 2040), Math.min(2040, e + 2040));
    if (align > 1) d -= ((d % align) + align) % align;
    const off = e - d;
    return { pre: [`addi ${t}, s0, ${d}`], addr: `${off}(${t})` };
  }

  gen(len) {
    for (let i = 0; i < len; i++) this.pickOp();
    // assemble with labels
    const out = [];
    const pending = new Map(); // item index -> labels
    const n = this.items.length;
    this.items.forEach((it, i) => {
      for (const l of pending.get(i) ?? []) out.push(`${l}:`);
      out.push(...it.lines);
      if (it.label) {
        const at = Math.min(i + 1 + it.label.skip, n);
        if (!pending.has(at)) pending.set(at, []);
        pending.get(at).push(it.label.name);
      }
    });
    for (const l of pending.get(n) ?? []) out.push(`${l}:`);
    return out;
  }

  pickOp() {
    const op = pickWeighted(this.r);
    const before = this.items.length;
    op.gen(this, op.name);
    // one op = one item, so that a forward branch never lands inside a dependent sequence
    if (this.items.length !== before + 1) throw new Error(`op ${op.name} emitted ${this.items.length - before} items`);
  }
}

// ---------------------------------------------------------------- ops
const OPS = [];
function op(name, gen, weight = 1) { OPS.push({ name, gen, weight }); }
let TOTAL_W = 0;
function pickWeighted(r) {
  let x = r.u32() / 4294967296 * TOTAL_W;
  for (const o of OPS) { x -= o.weight; if (x < 0) return o; }
  return OPS[OPS.length - 1];
}

// RV64I ALU
for (const n of ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'addiw'])
  op(n, (g, n) => g.emit(`${n} ${g.rd()}, ${g.rs()}, ${g.imm12()}`));
for (const n of ['slli', 'srli', 'srai']) op(n, (g, n) => g.emit(`${n} ${g.rd()}, ${g.rs()}, ${g.r.int(64)}`));
for (const n of ['slliw', 'srliw', 'sraiw']) op(n, (g, n) => g.emit(`${n} ${g.rd()}, ${g.rs()}, ${g.r.int(32)}`));
for (const n of ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'addw', 'subw', 'sllw', 'srlw', 'sraw',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'mulw'])
  op(n, (g, n) => g.emit(`${n} ${g.rd()}, ${g.rs()}, ${g.rs()}`));
for (const n of ['div', 'divu', 'rem', 'remu', 'divw', 'divuw', 'remw', 'remuw'])
  op(n, (g, n) => {
    const r = g.r;
    if (r.chance(0.35)) { // corner operands: overflow and division by zero, with junk in the upper half for W forms
      const a = g.rdi(); let b = g.rdi(); while (b === a) b = g.rdi();
      const w = n.endsWith('w');
      const junk = w ? (r.chance(0.5) ? 0x5a5a5a5an << 32n : 0xffffffffn << 32n) : 0n;
      const va = r.pick(w ? [0x80000000n, 0xffffffffn, 7n, 0n] : [-(1n << 63n), -1n, 7n, 0n, (1n << 63n) - 1n]);
      const vb = r.pick(w ? [0xffffffffn, 0n, 0x80000000n] : [-1n, 0n]);
      const A = w ? BigInt.asUintN(32, va) | junk : U64(va);
      const B = w ? BigInt.asUintN(32, vb) | junk : U64(vb);
      g.emit([`li ${XN[a]}, ${hex64(A)}`, `li ${XN[b]}, ${hex64(B)}`, `${n} ${g.rd()}, ${XN[a]}, ${XN[b]}`]);
    } else g.emit(`${n} ${g.rd()}, ${g.rs()}, ${g.rs()}`);
  });
op('lui', (g) => g.emit(`lui ${g.rd()}, ${hexS(g.r.chance(0.3) ? g.r.pick([0, 0x80000, 0xfffff, 0x7ffff, 1]) : g.r.int(1 << 20))}`));
op('auipc', (g) => g.emit(`auipc ${g.rd()}, ${hexS(g.r.chance(0.3) ? g.r.pick([0, 0x80000, 0xfffff, 0x7ffff, 1]) : g.r.int(1 << 20))}`));
op('li', (g) => g.emit(`li ${g.rd()}, ${hex64(randInt(g.r))}`), 2);
function hexS(v) { return '0x' + v.toString(16); }

// loads / stores (misaligned offsets are allowed for the plain forms)
for (const [n, size] of [['lb', 1], ['lh', 2], ['lw', 4], ['ld', 8], ['lbu', 1], ['lhu', 2], ['lwu', 4]])
  op(n, (g, n) => { const m = g.mem(size); g.emit([...m.pre, `${n} ${g.rd()}, ${m.addr}`]); }, 1.5);
for (const [n, size] of [['sb', 1], ['sh', 2], ['sw', 4], ['sd', 8]])
  op(n, (g, n) => { const m = g.mem(size); g.emit([...m.pre, `${n} ${g.rs()}, ${m.addr}`]); }, 1.5);
op('flw', (g) => { const m = g.mem(4); g.emit([...m.pre, `flw ${FN(g.fdst('S'))}, ${m.addr}`]); }, 1.5);
op('fld', (g) => { const m = g.mem(8); g.emit([...m.pre, `fld ${FN(g.fdst('D'))}, ${m.addr}`]); }, 1.5);
op('fsw', (g) => { const m = g.mem(4); g.emit([...m.pre, `fsw ${FN(g.r.int(32))}, ${m.addr}`]); }, 1.5);
op('fsd', (g) => { const m = g.mem(8); g.emit([...m.pre, `fsd ${FN(g.r.int(32))}, ${m.addr}`]); }, 1.5);

// control flow: forward only, skipping whole items
for (const n of ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'])
  op(n, (g, n) => { const a = g.rs(); const b = g.r.chance(0.1) ? a : g.rs(); g.branch((L) => [`${n} ${a}, ${b}, ${L}`]); }, 1.5);
op('jal', (g) => g.branch((L) => [`jal ${g.rd()}, ${L}`]));
op('jalr', (g) => {
  const t = g.tmp(); const r = g.r;
  const imm = r.chance(0.4) ? 0 : r.range(-64, 64);
  const odd = r.chance(0.3) ? 1 : 0; // jalr clears bit 0 of the target
  g.branch((L) => [`la ${t}, ${L}${-imm + odd >= 0 ? '+' : ''}${-imm + odd}`, `jalr ${g.rd()}, ${imm}(${t})`]);
});
op('fence', (g) => g.emit(g.r.pick(['fence', 'fence rw, rw', 'fence r, r', 'fence w, w', 'fence iorw, iorw', 'fence r, rw', 'fence io, io'])));
op('fence.tso', (g) => g.emit('fence.tso'), 0.3);
op('fence.i', (g) => g.emit('fence.i'), 0.3);

// A extension
const ORD = ['', '.aq', '.rl', '.aqrl'];
for (const w of ['w', 'd']) {
  const al = w === 'w' ? 4 : 8;
  const slot = (g) => g.r.range(-128 / al, 128 / al - 1) * al;
  for (const n of ['amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'])
    op(`${n}.${w}`, (g) => {
      const t = g.tmp();
      g.emit([`addi ${t}, s0, ${slot(g)}`, `${n}.${w}${g.r.pick(ORD)} ${g.r.chance(0.1) ? t : g.rd()}, ${g.rs()}, (${t})`]);
    });
  op(`lr.${w}`, (g) => { // LR/SC pair on one address: succeeds (only ALU ops between)
    const t = XN[g.rdi()]; let d1; do d1 = g.rd(); while (d1 === t);
    const mid = [];
    for (let i = g.r.int(3); i > 0; i--) { let d; do d = g.rd(); while (d === t); mid.push(`${g.r.pick(['add', 'xor', 'sub', 'or', 'addw'])} ${d}, ${g.rs()}, ${g.rs()}`); }
    let rs2; do rs2 = g.rs(); while (rs2 === t && g.r.chance(0.9));
    g.emit([`addi ${t}, s0, ${slot(g)}`, `lr.${w}${g.r.pick(ORD)} ${d1}, (${t})`, ...mid,
      `sc.${w}${g.r.pick(ORD)} ${g.rd()}, ${rs2}, (${t})`]);
  }, 1.5);
  op(`sc.${w}`, (g) => { // SC failures: no reservation, or reservation on another address
    const t = XN[g.rdi()]; let u; do u = XN[g.rdi()]; while (u === t);
    const a = slot(g); let b; do b = slot(g); while (Math.abs(b - a) < 64 && g.r.chance(0.95) || b === a);
    if (g.r.chance(0.5)) g.emit([`addi ${t}, s0, ${a}`, `sc.${w}${g.r.pick(ORD)} ${g.rd()}, ${g.rs()}, (${t})`]);
    else {
      let d1; do d1 = g.rd(); while (d1 === t || d1 === u);
      g.emit([`addi ${t}, s0, ${a}`, `addi ${u}, s0, ${b}`, `lr.${w}${g.r.pick(ORD)} ${d1}, (${t})`,
        `sc.${w}${g.r.pick(ORD)} ${g.rd()}, ${g.rs()}, (${u})`]);
    }
  });
}

// F and D. With some probability an operation gets "prepared" operands: curated special values,
// pairs and triples (signed zeros, NaNs, rounding ties, tiny results, overflow, fused-vs-unfused
// cases, integer-conversion boundaries) loaded with li + fmv.{w,d}.x right before it.
function fpSpecials(K) {
  const s = K === 'S';
  const B = s ? (x) => BigInt(f32bits(x)) : (x) => f64bits(x);
  const p = s ? 24 : 53, emin = s ? -126 : -1022;
  const SIGN = s ? 0x80000000n : 1n << 63n;
  const raw = s
    ? { inf: 0x7f800000n, qnan: 0x7fc00000n, snan: 0x7f800001n, pnan: 0x7fc12345n, maxn: 0x7f7fffffn, maxs: 0x007fffffn }
    : { inf: 0x7ff0000000000000n, qnan: 0x7ff8000000000000n, snan: 0x7ff0000000000001n, pnan: 0x7ff8000012345678n,
        maxn: 0x7fefffffffffffffn, maxs: 0x000fffffffffffffn };
  const v = {
    z: 0n, nz: SIGN, one: B(1), none: B(-1), two: B(2), three: B(3), half: B(0.5), nhalf: B(-0.5), h3: B(1.5), nh3: B(-1.5),
    h5: B(2.5), nh5: B(-2.5), tenth: B(0.1), third: B(1 / 3), n6: B(-6), n09: B(-0.9),
    tie: B(2 ** -p), tie3: B(3 * 2 ** -p), ntie: B(-(2 ** -p)), below1: B(1 - 2 ** -p), above1: B(1 + 2 ** -(p - 1)),
    minn: B(2 ** emin), nminn: B(-(2 ** emin)), minn1: B(2 ** emin * (1 + 2 ** -(p - 1))),
    maxs: raw.maxs, mins: 1n, nmins: SIGN | 1n, maxn: raw.maxn, nmaxn: SIGN | raw.maxn,
    inf: raw.inf, ninf: SIGN | raw.inf, qnan: raw.qnan, nqnan: SIGN | raw.qnan, snan: raw.snan, nsnan: SIGN | raw.snan, pnan: raw.pnan,
    i31: B(2 ** 31), ni31: B(-(2 ** 31)), i32: B(2 ** 32), i63: B(2 ** 63), ni63: B(-(2 ** 63)), i64: B(2 ** 64),
    i31m: B(s ? 2147483520 : 2147483647.5), ni31m: B(s ? -2147483904 : -2147483648.5), u32m: B(s ? 4294967040 : 4294967295.5),
    i63m: B(s ? 2 ** 63 - 2 ** 39 : 2 ** 63 - 1024), u64m: B(s ? 2 ** 64 - 2 ** 40 : 2 ** 64 - 2048),
  };
  const P = (str) => str.trim().split(/\s+/).map((t) => t.split(',').map((n) => { if (!(n in v)) throw new Error(n); return v[n]; }));
  return {
    vals: Object.values(v),
    pairs: P(`z,nz nz,z nz,nz z,z one,none none,one one,tie one,tie3 none,ntie one,ntie below1,tie qnan,one one,qnan snan,one
      one,snan snan,qnan nqnan,pnan qnan,qnan inf,ninf inf,inf ninf,ninf inf,z z,inf one,z none,z minn,half minn,h3 minn1,half
      maxs,half mins,half mins,nhalf minn,below1 maxn,two maxn,maxn maxn,nmaxn nmaxn,two one,three two,three none,three
      above1,below1 minn,nminn minn,minn maxs,mins third,three tenth,three h5,h5 one,one nz,one z,none maxs,maxs nmins,mins`),
    fma: P(`inf,z,qnan z,inf,qnan inf,z,one one,one,none two,three,n6 inf,one,ninf minn,half,z maxn,two,nmaxn above1,below1,none
      snan,one,one one,one,snan qnan,one,one tie,one,one nz,one,nz z,none,z third,three,none tenth,three,n09 minn,below1,z
      one,tie,one none,tie3,none maxn,maxn,ninf`),
    conv: P(`half nhalf h3 nh3 h5 nh5 i31 ni31 i31m ni31m u32m i63 ni63 i63m u64m i64 i32 nz z qnan snan inf ninf none below1 n09
      above1 mins nminn maxn`).map((x) => x[0]),
  };
}
const SPECIAL = { S: fpSpecials('S'), D: fpSpecials('D') };
/** Loads prepared values into distinct FP registers: returns [setup lines, register numbers]. */
function prepF(g, K, values) {
  const regs = []; const lines = [];
  const t = XN[g.rdi()];
  for (const val of values) {
    let f; do f = g.r.int(32); while (regs.includes(f));
    regs.push(f); g.fk[f] = K;
    lines.push(`li ${t}, ${hex64(val)}`, `${K === 'S' ? 'fmv.w.x' : 'fmv.d.x'} ${FN(f)}, ${t}`);
  }
  return [lines, regs];
}
/** Source operands for an n-operand FP op: prepared (curated) or whatever the registers hold. */
function fops(g, K, n, kind) {
  const sp = SPECIAL[K]; const r = g.r;
  if (!r.chance(kind === 'conv' ? 0.35 : 0.3)) return [[], Array.from({ length: n }, () => g.fsrc(K))];
  let vals;
  if (kind === 'conv') vals = [r.pick(sp.conv)];
  else if (n === 3 && r.chance(0.6)) vals = r.pick(sp.fma);
  else if (n === 2 && r.chance(0.6)) vals = r.pick(sp.pairs);
  else vals = Array.from({ length: n }, () => r.pick(sp.vals));
  return prepF(g, K, vals);
}
for (const p of ['s', 'd']) {
  const K = p === 's' ? 'S' : 'D';
  for (const n of ['fadd', 'fsub', 'fmul', 'fdiv'])
    op(`${n}.${p}`, (g) => { const [pre, [a, b]] = fops(g, K, 2); g.emit([...pre, `${n}.${p} ${FN(g.fdst(K))}, ${FN(a)}, ${FN(b)}${g.rm()}`]); }, 2);
  op(`fsqrt.${p}`, (g) => { const [pre, [a]] = fops(g, K, 1); g.emit([...pre, `fsqrt.${p} ${FN(g.fdst(K))}, ${FN(a)}${g.rm()}`]); }, 2);
  for (const n of ['fmadd', 'fmsub', 'fnmsub', 'fnmadd'])
    op(`${n}.${p}`, (g) => { const [pre, [a, b, c]] = fops(g, K, 3); g.emit([...pre, `${n}.${p} ${FN(g.fdst(K))}, ${FN(a)}, ${FN(b)}, ${FN(c)}${g.rm()}`]); }, 2);
  for (const n of ['fsgnj', 'fsgnjn', 'fsgnjx', 'fmin', 'fmax'])
    op(`${n}.${p}`, (g) => {
      let [pre, [a, b]] = fops(g, K, 2);
      if (!pre.length && g.r.chance(0.1)) b = a;
      g.emit([...pre, `${n}.${p} ${FN(g.fdst(K))}, ${FN(a)}, ${FN(b)}`]);
    }, 1.5);
  for (const n of ['feq', 'flt', 'fle'])
    op(`${n}.${p}`, (g) => {
      let [pre, [a, b]] = fops(g, K, 2);
      if (!pre.length && g.r.chance(0.1)) b = a;
      g.emit([...pre, `${n}.${p} ${g.rd()}, ${FN(a)}, ${FN(b)}`]);
    }, 1.5);
  op(`fclass.${p}`, (g) => { const [pre, [a]] = fops(g, K, 1); g.emit([...pre, `fclass.${p} ${g.rd()}, ${FN(a)}`]); });
  for (const i of ['w', 'wu', 'l', 'lu']) {
    op(`fcvt.${i}.${p}`, (g) => { const [pre, [a]] = fops(g, K, 1, 'conv'); g.emit([...pre, `fcvt.${i}.${p} ${g.rd()}, ${FN(a)}${g.rm()}`]); }, 1.5);
    op(`fcvt.${p}.${i}`, (g) => {
      const exact = p === 'd' && (i === 'w' || i === 'wu'); // binutils takes no rm for these
      const pre = [];
      let src = g.rs();
      if (g.r.chance(0.25)) { src = XN[g.rdi()]; pre.push(`li ${src}, ${hex64(randInt(g.r))}`); }
      g.emit([...pre, `fcvt.${p}.${i} ${FN(g.fdst(K))}, ${src}${exact ? '' : g.rm()}`]);
    }, 1.5);
  }
}
op('fcvt.s.d', (g) => { const [pre, [a]] = fops(g, 'D', 1); g.emit([...pre, `fcvt.s.d ${FN(g.fdst('S'))}, ${FN(a)}${g.rm()}`]); }, 1.5);
op('fcvt.d.s', (g) => { const [pre, [a]] = fops(g, 'S', 1); g.emit([...pre, `fcvt.d.s ${FN(g.fdst('D'))}, ${FN(a)}`]); }, 1.5);
// exact conversions with a non-default rm field (valid encodings GNU as does not write by name)
op('fcvt.d.*(rm)', (g) => {
  const rm = g.r.pick([1, 2, 3, 4, 7]);
  const [f7, rs2, isInt] = g.r.pick([[0x69, 0, true], [0x69, 1, true], [0x21, 0, false]]);
  const src = isInt ? g.rs() : FN(g.fsrc('S'));
  g.emit(`.insn r OP_FP, ${rm}, ${hexS(f7)}, ${FN(g.fdst('D'))}, ${src}, x${rs2}`);
}, 0.5);
op('fmv.x.w', (g) => g.emit(`fmv.x.w ${g.rd()}, ${FN(g.r.int(32))}`));
op('fmv.x.d', (g) => g.emit(`fmv.x.d ${g.rd()}, ${FN(g.r.int(32))}`));
op('fmv.w.x', (g) => {
  const pre = []; let src = g.rs();
  if (g.r.chance(0.4)) { src = XN[g.rdi()]; pre.push(`li ${src}, ${hex64(BigInt(randF32(g.r)) | (g.r.chance(0.5) ? 0xabcdef0100000000n : 0n))}`); }
  g.emit([...pre, `fmv.w.x ${FN(g.fdst('S'))}, ${src}`]);
});
op('fmv.d.x', (g) => {
  const pre = []; let src = g.rs();
  if (g.r.chance(0.4)) { src = XN[g.rdi()]; pre.push(`li ${src}, ${hex64(randF64(g.r))}`); }
  g.emit([...pre, `fmv.d.x ${FN(g.fdst('D'))}, ${src}`]);
});

// Zicsr on the FP CSRs. frm must stay 0..4 so that dynamic-rm instructions stay legal: the
// generator tracks the set of values frm may hold here (items inside a forward branch's reach may
// or may not run) and only writes values that keep every possibility legal.
const CSRS = ['fflags', 'frm', 'fcsr'];
/** Values v such that csrrs with frm bits v keeps frm legal for every possible current frm. */
const sOk = (g, v) => [...g.frms].every((f) => (f | v) <= 4);
function pickFrmBits(g, kind) {
  const r = g.r; let v;
  if (kind === 'w') v = r.int(5);
  else if (kind === 's') { do v = r.int(8); while (!sOk(g, v)); }
  else v = r.int(8);
  return v;
}
function applyFrm(g, kind, v) { // v: frm bits written (null = unknown, csrrc only)
  let next;
  if (kind === 'w') next = new Set([v]);
  else if (kind === 's') next = new Set([...g.frms].map((f) => f | v));
  else if (v !== null) next = new Set([...g.frms].map((f) => f & ~v));
  else { next = new Set(); for (const f of g.frms) for (let m = 0; m < 8; m++) next.add(f & m); }
  if (g.skippable()) for (const f of g.frms) next.add(f);
  g.frms = next;
}
for (const [n, kind] of [['csrrw', 'w'], ['csrrs', 's'], ['csrrc', 'c']])
  op(n, (g, n) => {
    const r = g.r;
    const csr = r.pick(CSRS);
    const rd = r.chance(0.2) ? 'zero' : g.rd();
    if (kind !== 'w' && r.chance(0.25)) { g.emit(`${n} ${rd}, ${csr}, zero`); return; } // pure read
    if (kind === 'c' && r.chance(0.5)) { // any register value is safe for csrrc: frm can only lose bits
      g.emit(`${n} ${rd}, ${csr}, ${g.rs()}`);
      if (csr !== 'fflags') applyFrm(g, 'c', null);
      return;
    }
    const junk = r.chance(0.5) ? (r.u64() & ~0xffn) : 0n;
    let v;
    if (csr === 'fflags') v = junk | BigInt(r.int(256));
    else {
      const f = pickFrmBits(g, kind);
      v = csr === 'frm' ? junk | BigInt((r.int(32) << 3) | f) : junk | BigInt((f << 5) | r.int(32));
      applyFrm(g, kind, f);
    }
    const t = XN[g.rdi()];
    g.emit([`li ${t}, ${hex64(v)}`, `${n} ${r.chance(0.1) ? t : rd}, ${csr}, ${t}`]);
  }, 1.5);
for (const [n, kind] of [['csrrwi', 'w'], ['csrrsi', 's'], ['csrrci', 'c']])
  op(n, (g, n) => {
    const r = g.r;
    const csr = r.pick(CSRS);
    const rd = r.chance(0.2) ? 'zero' : g.rd();
    let z;
    if (kind !== 'w' && r.chance(0.15)) z = 0; // read-only form
    else if (csr === 'fflags') z = r.int(32);
    else if (csr === 'frm') { const f = pickFrmBits(g, kind); z = (r.int(4) << 3) | f; applyFrm(g, kind, f); }
    else { z = r.int(32); if (kind === 'w') applyFrm(g, 'w', 0); } // a 5-bit immediate only reaches fflags; csrrwi clears frm
    g.emit(`${n} ${rd}, ${csr}, ${z}`);
  }, 1.5);

// C extension (explicit c. mnemonics, assembled under ".option rvc")
const C = (g, l, pre = []) => g.emit([...pre, '.option push', '.option rvc', ...(Array.isArray(l) ? l : [l]), '.option pop']);
const cimm6 = (g, nz) => { let v; do v = g.r.range(-32, 31); while (nz && v === 0); return v; };
const creg = (g) => XN[g.r.pick(CWR)];
const crs = (g) => XN[g.r.pick(CRS)];
op('c.addi4spn', (g) => C(g, `c.addi4spn ${creg(g)}, sp, ${g.r.range(1, 255) * 4}`));
op('c.addi16sp', (g) => { // paired so sp is restored; in between only sp-relative address arithmetic
  let v; do v = g.r.range(-31, 31) * 16; while (v === 0);
  const mid = g.r.chance(0.6) ? [`c.addi4spn ${creg(g)}, sp, ${g.r.range(1, 255) * 4}`] : [];
  C(g, [`c.addi16sp sp, ${v}`, ...mid, `c.addi16sp sp, ${-v}`]);
});
// compressed register-based memory ops: base s0 or a temp x9..x15 pointing into the buffer
function cmem(g, size) {
  const r = g.r; const maxOff = size === 4 ? 124 : 248;
  if (r.chance(0.6)) { const off = r.range(0, Math.floor((128 - size) / size)) * size; return { pre: [], addr: `${Math.min(off, maxOff)}(s0)` }; }
  const t = creg(g);
  const off = r.range(0, Math.floor(maxOff / size)) * size;
  const e = r.range(-128, 128 - size);
  const d = e - off;
  return { pre: [`addi ${t}, s0, ${d}`], addr: `${off}(${t})` };
}
for (const [n, size, isF, isSt] of [['c.lw', 4, 0, 0], ['c.ld', 8, 0, 0], ['c.fld', 8, 1, 0], ['c.sw', 4, 0, 1], ['c.sd', 8, 0, 1], ['c.fsd', 8, 1, 1]])
  op(n, (g, n) => {
    const m = cmem(g, size);
    let reg;
    if (isF) reg = FN(isSt ? g.r.range(8, 15) : (() => { const d = g.r.range(8, 15); g.fk[d] = 'D'; return d; })());
    else reg = isSt ? crs(g) : creg(g);
    C(g, `${n} ${reg}, ${m.addr}`, m.pre);
  }, 1.2);
for (const [n, size, isF, isSt] of [['c.lwsp', 4, 0, 0], ['c.ldsp', 8, 0, 0], ['c.fldsp', 8, 1, 0], ['c.swsp', 4, 0, 1], ['c.sdsp', 8, 0, 1], ['c.fsdsp', 8, 1, 1]])
  op(n, (g, n) => {
    const off = g.r.range(0, (BUF_SIZE - size) / size) * size;
    let reg;
    if (isF) reg = FN(isSt ? g.r.int(32) : g.fdst('D'));
    else reg = isSt ? XN[g.r.int(32)] : XN[g.rdi()];
    C(g, `${n} ${reg}, ${off}(sp)`);
  }, 1.2);
op('c.nop', (g) => C(g, 'c.nop'), 0.5);
op('c.addi', (g) => C(g, `c.addi ${XN[g.rdi()]}, ${cimm6(g, true)}`));
op('c.addiw', (g) => C(g, `c.addiw ${XN[g.rdi()]}, ${cimm6(g, false)}`));
op('c.li', (g) => C(g, `c.li ${XN[g.rdi()]}, ${cimm6(g, false)}`));
op('c.lui', (g) => C(g, `c.lui ${XN[g.rdi()]}, ${hexS(g.r.chance(0.5) ? g.r.range(1, 31) : g.r.range(0xfffe0, 0xfffff))}`));
for (const n of ['c.srli', 'c.srai']) op(n, (g, n) => C(g, `${n} ${creg(g)}, ${g.r.range(1, 63)}`));
op('c.slli', (g) => C(g, `c.slli ${XN[g.rdi()]}, ${g.r.range(1, 63)}`));
op('c.andi', (g) => C(g, `c.andi ${creg(g)}, ${cimm6(g, false)}`));
for (const n of ['c.sub', 'c.xor', 'c.or', 'c.and', 'c.subw', 'c.addw']) op(n, (g, n) => C(g, `${n} ${creg(g)}, ${crs(g)}`));
op('c.mv', (g) => C(g, `c.mv ${XN[g.rdi()]}, ${XN[g.r.range(1, 31)]}`));
op('c.add', (g) => C(g, `c.add ${XN[g.rdi()]}, ${XN[g.r.range(1, 31)]}`));
op('c.j', (g) => g.branch((L) => ['.option push', '.option rvc', `c.j ${L}`, '.option pop']));
for (const n of ['c.beqz', 'c.bnez'])
  op(n, (g, n) => { const a = crs(g); g.branch((L) => ['.option push', '.option rvc', `${n} ${a}, ${L}`, '.option pop']); }, 1.2);
for (const n of ['c.jr', 'c.jalr'])
  op(n, (g, n) => { const t = g.tmp(); g.branch((L) => [`la ${t}, ${L}`, '.option push', '.option rvc', `${n} ${t}`, '.option pop']); });

TOTAL_W = OPS.reduce((s, o) => s + o.weight, 0);
export const OP_NAMES = OPS.map((o) => o.name);

// ---------------------------------------------------------------- program
export function programName(i) { return `s${String(i).padStart(2, '0')}`; }

export function genProgram(seed, index, nStreams, len) {
  const name = programName(index);
  const r = new Rng(`${seed}/${name}`);
  const text = [];
  const data = [];
  const listing = { name, seed: `${seed}/${name}`, recordSize: RECORD_SIZE, streams: [] };
  const hdr = [
    `# ${name}: generated by guest/streams/gen.mjs (seed "${seed}/${name}") - do not edit`,
    '  .option norvc', '  .option norelax',
    '  .section .text', '  .globl _start', '_start:',
  ];
  const NPAT = 8;
  for (let s = 0; s < nStreams; s++) {
    const pat = r.int(NPAT);
    const xs = Array(32).fill(0n);
    for (const i of WR) xs[i] = randInt(r);
    const fr = Array.from({ length: 32 }, () => randFreg(r));
    const frm = r.int(5);
    const fcsr = (frm << 5) | r.int(32);
    const g = new StreamGen(r, s, fr.map((f) => f.kind), frm);
    const code = g.gen(len);
    listing.streams.push({
      pattern: pat, fcsr,
      x: xs.slice(1).map(hex64), f: fr.map((f) => hex64(f.bits)), code,
    });
    text.push(`# ---- stream ${s}`, `stream_${s}:`, `  la a0, pat_${pat}`, '  jal ra, reset', `  la t6, d_${s}`,
      '  ld t0, 256(t6)', '  fscsr t0');
    for (let i = 0; i < 32; i++) text.push(`  fld f${i}, ${i * 8}(t6)`);
    for (let i = 1; i < 31; i++) if (i !== SP && i !== S0) text.push(`  ld ${XN[i]}, ${264 + (i - 1) * 8}(t6)`);
    text.push(`  ld t6, ${264 + 30 * 8}(t6)`);
    text.push(`body_${s}:`);
    for (const l of code) text.push(l.endsWith(':') ? l : `  ${l}`);
    text.push(`end_${s}:`);
    for (let i = 1; i < 32; i++) text.push(`  sd ${XN[i]}, ${(i - 1) * 8 - 512}(sp)`);
    text.push('  jal ra, dump');
    data.push(`d_${s}:`);
    const q = [...fr.map((f) => f.bits), BigInt(fcsr), ...xs.slice(1)];
    for (let i = 0; i < q.length; i += 4) data.push(`  .quad ${q.slice(i, i + 4).map(hex64).join(', ')}`);
  }
  const tail = [
    '  li a0, 0', '  li a7, 94', '  ecall', // exit_group(0)
    '# reset(a0 = pattern): sp = buffer, s0 = buffer + 128, buffer <- pattern',
    'reset:', '  la sp, rec+512', '  addi s0, sp, 128', '  li t0, 32', '  mv t1, sp',
    '1:', '  ld t2, 0(a0)', '  sd t2, 0(t1)', '  addi a0, a0, 8', '  addi t1, t1, 8', '  addi t0, t0, -1', '  bnez t0, 1b', '  ret',
    '# dump: x regs are already stored; store f regs + fcsr, write the 768-byte record',
  'dump:'];
  for (let i = 0; i < 32; i++) tail.push(`  fsd f${i}, ${248 + i * 8 - 512}(sp)`);
  tail.push('  frcsr t0', '  sd t0, -8(sp)', '  li a0, 1', '  addi a1, sp, -512', `  li a2, ${RECORD_SIZE}`, '  li a7, 64', '  ecall',
    `  li t1, ${RECORD_SIZE}`, '  bne a0, t1, 2f', '  ret', '2:', '  li a0, 3', '  li a7, 94', '  ecall');
  const pats = ['  .section .rodata', '  .balign 8'];
  for (let p = 0; p < NPAT; p++) {
    pats.push(`pat_${p}:`);
    const q = Array.from({ length: 32 }, () => (r.chance(0.3) ? randInt(r) : r.chance(0.5) ? randF64(r) : r.u64()));
    for (let i = 0; i < 32; i += 4) pats.push(`  .quad ${q.slice(i, i + 4).map(hex64).join(', ')}`);
  }
  // s0 (= buffer + 128 = rec + 640) is page-aligned: misaligned accesses near it cross a page boundary
  const bss = ['  .section .bss', '  .balign 4096', `  .skip ${4096 - 640}`, `rec: .skip ${RECORD_SIZE}`];
  const asm = [...hdr, ...text, ...tail, ...pats, ...data, ...bss, ''].join('\n');
  return { name, asm, listing };
}

// ---------------------------------------------------------------- CLI
function main() {
  const args = process.argv.slice(2);
  const opt = { ...DEFAULTS, out: null, only: null };
  for (let i = 0; i < args.length; i++) {
    const k = args[i].replace(/^--/, '');
    if (!(k in opt)) throw new Error(`unknown option ${args[i]}`);
    const v = args[++i];
    opt[k] = ['programs', 'streams', 'len'].includes(k) ? Number(v) : v;
  }
  if (!opt.out) throw new Error('usage: gen.mjs --out DIR [--seed S] [--programs N] [--streams N] [--len N] [--only NAME]');
  mkdirSync(opt.out, { recursive: true });
  for (let p = 0; p < opt.programs; p++) {
    if (opt.only && opt.only !== programName(p)) continue;
    const { name, asm, listing } = genProgram(opt.seed, p, opt.streams, opt.len);
    writeFileSync(join(opt.out, `${name}.s`), asm);
    writeFileSync(join(opt.out, `${name}.json.gz`), gzipSync(JSON.stringify(listing), { level: 9 }));
  }
  writeFileSync(join(opt.out, 'ops.txt'), OP_NAMES.join('\n') + '\n');
}
if (import.meta.url === `file://${process.argv[1]}`) main();
