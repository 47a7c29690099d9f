// Unit tests of the wasm interpreter on hand-assembled snippets: traps as values, memory fast and
// slow paths, M-extension corner values (spec table 7.1), atomics, compressed instructions. The
// broad conformance proof is the random-stream comparison with QEMU (streams.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestMachine, I, DATA, CODE } from './cpu-machine.js';
import {
  CAUSE_ECALL_U, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, CAUSE_FETCH_PAGE_FAULT,
  CAUSE_MISALIGNED_STORE, STOP_BUDGET,
} from '../src/cpu/layout.js';

const M64 = (1n << 64n) - 1n;
const u = (v: bigint) => BigInt.asUintN(64, v);

function exec(code: (number | [number])[], regs: Record<number, bigint> = {}): TestMachine {
  const m = new TestMachine();
  m.map(DATA, 8192);
  m.load(code);
  for (const [r, v] of Object.entries(regs)) m.hart.setX(Number(r), v);
  assert.equal(m.run(), CAUSE_ECALL_U);
  return m;
}

test('integer ALU and x0', () => {
  const m = exec([
    I('addi', { rd: 1, rs1: 0, imm: -5 }),
    I('add', { rd: 2, rs1: 1, rs2: 1 }),
    I('addi', { rd: 0, rs1: 1, imm: 7 }), // writes to x0 vanish
    I('lui', { rd: 3, imm: 0x80000000 | 0 }), // sign-extended on RV64
    I('addiw', { rd: 4, rs1: 3, imm: -1 }), // 0x7fffffff
    I('sraiw', { rd: 5, rs1: 3, imm: 31 }),
    I('srli', { rd: 6, rs1: 1, imm: 60 }),
    I('sltu', { rd: 7, rs1: 0, rs2: 1 }),
    I('slt', { rd: 8, rs1: 1, rs2: 0 }),
  ]);
  assert.equal(m.hart.x(0), 0n);
  assert.equal(m.hart.xs(1), -5n);
  assert.equal(m.hart.xs(2), -10n);
  assert.equal(m.hart.x(3), 0xffffffff80000000n);
  assert.equal(m.hart.x(4), 0x7fffffffn);
  assert.equal(m.hart.xs(5), -1n);
  assert.equal(m.hart.x(6), 0xfn);
  assert.equal(m.hart.x(7), 1n);
  assert.equal(m.hart.x(8), 1n);
  assert.equal(m.hart.instret, 9n); // nine instructions; the ecall traps and does not retire
});

test('M extension: division by zero and overflow follow table 7.1', () => {
  const MIN = 1n << 63n;
  const m = exec([
    I('div', { rd: 3, rs1: 1, rs2: 0 }), I('divu', { rd: 4, rs1: 1, rs2: 0 }),
    I('rem', { rd: 5, rs1: 1, rs2: 0 }), I('remu', { rd: 6, rs1: 1, rs2: 0 }),
    I('div', { rd: 7, rs1: 10, rs2: 11 }), I('rem', { rd: 8, rs1: 10, rs2: 11 }),
    I('divw', { rd: 9, rs1: 12, rs2: 11 }), I('remw', { rd: 13, rs1: 12, rs2: 11 }),
    I('mulh', { rd: 14, rs1: 10, rs2: 10 }), I('mulhu', { rd: 15, rs1: 11, rs2: 11 }),
    I('mulhsu', { rd: 16, rs1: 11, rs2: 11 }), I('mulw', { rd: 17, rs1: 12, rs2: 12 }),
    I('divuw', { rd: 18, rs1: 11, rs2: 0 }), I('remuw', { rd: 19, rs1: 11, rs2: 0 }),
  ], { 1: 42n, 10: MIN, 11: M64, 12: 0xffffffff80000000n });
  assert.equal(m.hart.x(3), M64);
  assert.equal(m.hart.x(4), M64);
  assert.equal(m.hart.x(5), 42n);
  assert.equal(m.hart.x(6), 42n);
  assert.equal(m.hart.x(7), MIN);
  assert.equal(m.hart.x(8), 0n);
  assert.equal(m.hart.x(9), 0xffffffff80000000n);
  assert.equal(m.hart.x(13), 0n);
  assert.equal(m.hart.x(14), 1n << 62n); // MIN*MIN = 2^126
  assert.equal(m.hart.x(15), M64 - 1n); // (2^64-1)^2 >> 64
  assert.equal(m.hart.x(16), M64); // -1 * (2^64-1) = -(2^64-1): high half all ones
  assert.equal(m.hart.x(17), 0n); // low 32 bits of 2^62
  assert.equal(m.hart.x(18), M64);
  assert.equal(m.hart.x(19), M64); // remuw by zero: the 32-bit dividend sign-extended
});

test('loads and stores, misaligned and across a page boundary', () => {
  const edge = DATA + 4093n; // an 8-byte access here spans two pages
  const m = exec([
    I('sd', { rs1: 1, rs2: 2, imm: 0 }),
    I('ld', { rd: 3, rs1: 1, imm: 0 }),
    I('lw', { rd: 4, rs1: 1, imm: 0 }),
    I('lhu', { rd: 5, rs1: 1, imm: 6 }),
    I('lb', { rd: 6, rs1: 1, imm: 7 }),
    I('sh', { rs1: 1, rs2: 2, imm: 1 }),
    I('lwu', { rd: 7, rs1: 1, imm: 0 }),
  ], { 1: edge, 2: 0x8877665544332211n });
  assert.equal(m.hart.x(3), 0x8877665544332211n);
  assert.equal(m.hart.x(4), 0x44332211n);
  assert.equal(m.hart.x(5), 0x8877n);
  assert.equal(m.hart.xs(6), -0x78n);
  assert.equal(m.hart.x(7), 0x44221111n);
  assert.deepEqual([...m.readBytes(edge, 8)], [0x11, 0x11, 0x22, 0x44, 0x55, 0x66, 0x77, 0x88]);
});

test('page faults are values: cause, tval, and pc at the faulting instruction', () => {
  const m = new TestMachine();
  m.load([I('addi', { rd: 1, rs1: 0, imm: 1 }), I('ld', { rd: 2, rs1: 3, imm: 8 })]);
  m.hart.setX(3, 0x7000000n);
  assert.equal(m.run(), CAUSE_LOAD_PAGE_FAULT);
  assert.equal(m.hart.tval, 0x7000008n);
  assert.equal(m.hart.pc, CODE + 4n);
  assert.equal(m.hart.x(1), 1n);

  // A store that would span a mapped and an unmapped page writes nothing.
  const s = new TestMachine();
  s.map(DATA, 4096);
  s.load([I('sd', { rs1: 1, rs2: 2, imm: 0 })]);
  s.hart.setX(1, DATA + 4092n);
  s.hart.setX(2, M64);
  assert.equal(s.run(), CAUSE_STORE_PAGE_FAULT);
  assert.equal(s.hart.tval, DATA + 4096n);
  assert.deepEqual([...s.readBytes(DATA + 4092n, 4)], [0, 0, 0, 0]);

  // Writing to a read-only page and jumping to an unmapped one.
  const r = new TestMachine();
  r.load([I('sw', { rs1: 1, rs2: 0, imm: 0 })]);
  r.hart.setX(1, CODE);
  assert.equal(r.run(), CAUSE_STORE_PAGE_FAULT);
  const j = new TestMachine();
  j.load([I('jalr', { rd: 0, rs1: 1, imm: 0 })]);
  j.hart.setX(1, 0x5555000n);
  assert.equal(j.run(), CAUSE_FETCH_PAGE_FAULT);
  assert.equal(j.hart.pc, 0x5555000n);
});

test('illegal instructions trap with the instruction bits in tval', () => {
  for (const bad of [0xffffffff, 0x0000007f, I('csrrs', { rd: 1, csr: 0x300, rs1: 0 })]) {
    const m = new TestMachine();
    m.load([bad]);
    assert.equal(m.run(), CAUSE_ILLEGAL_INSTRUCTION);
    assert.equal(m.hart.tval, BigInt(bad >>> 0));
  }
  const c = new TestMachine();
  c.load([[0x0000]]); // the all-zero parcel is defined illegal
  assert.equal(c.run(), CAUSE_ILLEGAL_INSTRUCTION);
  // frm = 5 is reserved: a dynamic-rounding FP op is then illegal
  const f = new TestMachine();
  f.load([I('fadd.d', { rd: 1, rs1: 2, rs2: 3, rm: 7 })]);
  f.hart.fcsr = 5 << 5;
  assert.equal(f.run(), CAUSE_ILLEGAL_INSTRUCTION);
});

test('atomics: AMOs return the old value, LR/SC pairs, misaligned AMO traps', () => {
  const m = exec([
    I('sd', { rs1: 1, rs2: 2, imm: 0 }),
    I('amoadd.d', { rd: 3, rs1: 1, rs2: 2 }),
    I('amomin.w', { rd: 4, rs1: 1, rs2: 5 }),
    I('lr.d', { rd: 6, rs1: 1 }),
    I('sc.d', { rd: 7, rs1: 1, rs2: 2 }),
    I('sc.d', { rd: 8, rs1: 1, rs2: 2 }), // no reservation any more
    I('ld', { rd: 9, rs1: 1, imm: 0 }),
  ], { 1: DATA, 2: 5n, 5: u(-3n) });
  assert.equal(m.hart.x(3), 5n);
  assert.equal(m.hart.x(4), 10n);
  assert.equal(m.hart.x(6), u(-3n) & 0xffffffffn);
  assert.equal(m.hart.x(7), 0n);
  assert.equal(m.hart.x(8), 1n);
  assert.equal(m.hart.x(9), 5n);
  const t = new TestMachine();
  t.map(DATA, 4096);
  t.load([I('amoswap.w', { rd: 1, rs1: 2, rs2: 0 })]);
  t.hart.setX(2, DATA + 2n);
  assert.equal(t.run(), CAUSE_MISALIGNED_STORE);
});

test('compressed instructions expand and link with pc+2', () => {
  const m = exec([
    [0x4505], // c.li a0, 1
    [0x0505], // c.addi a0, 1
    [0x85aa], // c.mv a1, a0
    [0x95aa], // c.add a1, a0
    [0x0586], // c.slli a1, 1
    I('jal', { rd: 1, imm: 8 }), // skip the next instruction
    I('addi', { rd: 12, rs1: 0, imm: 99 }),
    [0x8532], // c.mv a0, a2 (a2 still 0)
  ]);
  assert.equal(m.hart.x(10), 0n);
  assert.equal(m.hart.x(11), 8n);
  assert.equal(m.hart.x(12), 0n);
  assert.equal(m.hart.x(1), CODE + 10n + 4n);
});

test('a slice stops after its budget and resumes where it left off', () => {
  const m = new TestMachine();
  m.load([I('addi', { rd: 1, rs1: 1, imm: 1 }), I('jal', { rd: 0, imm: -4 })]);
  assert.equal(m.core.run(m.hart, 1001), STOP_BUDGET);
  assert.equal(m.hart.x(1), 501n);
  assert.equal(m.core.run(m.hart, 1000), STOP_BUDGET);
  assert.equal(m.hart.x(1), 1001n);
  assert.equal(m.hart.instret, 2001n);
});

test('self-modifying code is seen without a fence.i (the decode cache is keyed by bits)', () => {
  const m = new TestMachine();
  m.map(CODE, 4096, { exec: true, write: true });
  const patched = I('addi', { rd: 5, rs1: 0, imm: 77 });
  m.writeBytes(CODE, new Uint8Array(new Uint32Array([
    I('sw', { rs1: 1, rs2: 2, imm: 8 }), I('fence.i'), I('addi', { rd: 5, rs1: 0, imm: 1 }), I('ecall'),
  ]).buffer));
  m.hart.setX(1, CODE);
  m.hart.setX(2, BigInt(patched));
  assert.equal(m.run(), CAUSE_ECALL_U);
  assert.equal(m.hart.x(5), 77n);
});

test('fcsr, frm and fflags CSRs alias one register', () => {
  const m = exec([
    I('csrrwi', { rd: 1, csr: 0x003, imm: 0x1f }),
    I('csrrsi', { rd: 2, csr: 0x002, imm: 3 }),
    I('csrrci', { rd: 3, csr: 0x001, imm: 1 }),
    I('csrrs', { rd: 4, csr: 0x003, rs1: 0 }),
  ]);
  assert.equal(m.hart.x(2), 0n);
  assert.equal(m.hart.x(3), 0x1fn);
  assert.equal(m.hart.x(4), (3n << 5n) | 0x1en);
});

test('hart state: save() and restore() round-trip registers and privileged state through JSON', async () => {
  const { HART_MSTATUS, HART_SATP, HART_PMPADDR, HART_PRIV } = await import('../src/cpu/layout.js');
  const m = exec([I('addi', { rd: 5, rs1: 0, imm: 123 }), I('fadd.d', { rd: 3, rs1: 1, rs2: 2, rm: 0 })]);
  m.hart.setField(HART_MSTATUS, 0x6000n | 0x80n);
  m.hart.setField(HART_SATP, (8n << 60n) | 0x80123n);
  m.hart.setField(HART_PMPADDR + 8 * 5, 0x1234n);
  m.hart.setField(HART_PRIV, 1n);
  const saved = JSON.parse(JSON.stringify(m.hart.save()));
  const other = m.core.newHart();
  other.restore(saved);
  assert.deepEqual(other.save(), m.hart.save());
  assert.equal(other.x(5), 123n);
  assert.equal(other.field(HART_SATP), (8n << 60n) | 0x80123n);
  assert.equal(other.field(HART_PMPADDR + 8 * 5), 0x1234n);
});

test('code cache: harts of one core with different address spaces share it without mixing up code', async () => {
  const { HART_SIZE } = await import('../src/cpu/layout.js');
  assert.ok(HART_SIZE <= 200 * 1024, `HART_SIZE ${HART_SIZE}`);
  const m = new TestMachine();
  const a = m.hart;
  const b = m.core.newHart();
  m.map(CODE, 4096, { exec: true, write: false });
  const frameA = m.pages.get(CODE >> 12n)!.frame;
  const frameB = m.mem.allocFrame();
  // b sees its own frame at CODE, and a's code frame (writable) at DATA
  m.core.setTlbMissHandler((hart, va, access) => {
    if (hart === b.base) return va >> 12n === CODE >> 12n ? frameB : va >> 12n === DATA >> 12n ? frameA : -1;
    return va >> 12n === CODE >> 12n && access !== 1 ? frameA : -1;
  });
  const put = (frame: number, words: number[]) => words.forEach((w, i) => m.mem.view.setUint32(frame + i * 4, w, true));
  const code = (k: number) => [I('addi', { rd: 5, rs1: 0, imm: k }), I('addi', { rd: 6, rs1: 5, imm: 10 * k }), I('ecall')];
  put(frameA, code(1));
  put(frameB, code(2));
  const runTo = (h: typeof a) => {
    h.pc = CODE;
    assert.equal(m.core.run(h, 1000), 1 /* STOP_TRAP */);
    assert.equal(h.cause, CAUSE_ECALL_U);
    return [h.x(5), h.x(6)];
  };
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(runTo(a), [1n, 11n]);
    assert.deepEqual(runTo(b), [2n, 22n]);
  }
  // the same bytes at another host address: the same code
  put(frameB, code(1));
  assert.deepEqual(runTo(b), [1n, 11n]);
  assert.deepEqual(runTo(a), [1n, 11n]);
  // b rewrites a's code through its own mapping, then a runs the new code
  b.setX(8, BigInt(code(3)[0]!));
  b.setX(9, DATA);
  put(frameB, [I('sw', { rs1: 9, rs2: 8, imm: 0 }), I('ecall')]);
  runTo(b);
  assert.deepEqual(runTo(a), [3n, 13n]);
});
