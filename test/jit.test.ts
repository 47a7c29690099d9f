// The JIT (src/jit/) against the interpreter on the same code: every register, the pc, instret,
// memory and the stop reason must be equal after each slice, including slices that end in a trap
// inside translated code, slices cut by the budget, code that rewrites itself, code rewritten by
// the host, and a page remapped under the same virtual address. (The oracle suites run with the
// JIT forced on in CI as well: RVISOR_JIT=on RVISOR_JIT_THRESHOLD=1.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestMachine, I, DATA, CODE } from './cpu-machine.js';
import { STOP_TRAP, STOP_BUDGET, CAUSE_LOAD_PAGE_FAULT, CAUSE_ECALL_U, CAUSE_STORE_PAGE_FAULT } from '../src/cpu/layout.js';
import { discoverEntries, translatePage } from '../src/jit/translate.js';
import { parseJitThreshold, parseJitMode } from '../src/jit/config.js';

type Code = (number | [number])[];

/** Two machines with the same program and data: one with the JIT (threshold th, compiling
 *  whatever gets hot: no compile budget, no density condition, jit-budget.test.ts), one without. */
function pair(code: Code, th = 1, setup?: (m: TestMachine) => void): [TestMachine, TestMachine] {
  const ms = [new TestMachine(), new TestMachine()] as [TestMachine, TestMachine];
  ms.forEach((m, i) => {
    m.core.configureJit({ threshold: i === 0 ? th : 0, budget: { initial: 0, ratio: 0 }, density: 0 }, [m.hart]);
    m.map(DATA, 8192);
    m.load(code);
    setup?.(m);
  });
  return ms;
}

function same(j: TestMachine, n: TestMachine, what: string, memory = true): void {
  for (let r = 0; r < 32; r++) assert.equal(j.hart.x(r), n.hart.x(r), `${what}: x${r}`);
  assert.equal(j.hart.pc, n.hart.pc, `${what}: pc`);
  assert.equal(j.hart.instret, n.hart.instret, `${what}: instret`);
  if (memory) assert.deepEqual(j.readBytes(DATA, 8192), n.readBytes(DATA, 8192), `${what}: memory`);
}

/** Runs both in slices of `budget` until the interpreter's stops with a trap; compares each. */
function lockstep(j: TestMachine, n: TestMachine, budget: number, maxSlices = 100_000): number {
  for (let s = 0; s < maxSlices; s++) {
    const a = j.core.run(j.hart, budget), b = n.core.run(n.hart, budget);
    assert.equal(a, b, `slice ${s}: stop`);
    same(j, n, `slice ${s}`, b === STOP_TRAP);
    if (b === STOP_TRAP) {
      assert.equal(j.hart.cause, n.hart.cause, 'cause');
      return s;
    }
  }
  throw new Error('no trap');
}

// a0 = DATA, a1 = count: a loop of loads, stores, ALU ops, M, compressed instructions and a call
const loop: Code = [
  I('lui', { rd: 10, imm: Number(DATA) }), // a0 = DATA
  I('addi', { rd: 11, rs1: 0, imm: 1000 }), // a1 = 1000
  I('addi', { rd: 12, rs1: 0, imm: 0 }), // a2 = sum
  // loop:
  I('andi', { rd: 13, rs1: 11, imm: 0x3f8 }),
  I('add', { rd: 13, rs1: 13, rs2: 10 }),
  I('ld', { rd: 14, rs1: 13, imm: 0 }),
  I('add', { rd: 14, rs1: 14, rs2: 11 }),
  I('mul', { rd: 15, rs1: 14, rs2: 11 }),
  I('divu', { rd: 16, rs1: 15, rs2: 11 }),
  I('rem', { rd: 17, rs1: 15, rs2: 0 }), // by zero: the dividend
  I('sd', { rs1: 13, rs2: 14, imm: 0 }),
  I('sw', { rs1: 13, rs2: 15, imm: 4 }),
  I('lbu', { rd: 18, rs1: 13, imm: 3 }),
  I('xor', { rd: 12, rs1: 12, rs2: 18 }),
  I('addw', { rd: 12, rs1: 12, rs2: 16 }),
  [0x0505], // c.addi a0, 1 ... and back
  I('addi', { rd: 10, rs1: 10, imm: -1 }),
  I('jal', { rd: 1, imm: 16 }), // call f
  I('addi', { rd: 11, rs1: 11, imm: -1 }),
  I('bne', { rs1: 11, rs2: 0, imm: -62 }), // to loop
  I('jal', { rd: 0, imm: 12 }), // to the end
  // f: a2 += 3; return
  I('addi', { rd: 12, rs1: 12, imm: 3 }),
  I('jalr', { rd: 0, rs1: 1, imm: 0 }),
  // end (then the ecall load() appends)
  I('addi', { rd: 19, rs1: 12, imm: 1 }),
];

test('jit: a loop of loads, stores, M, compressed instructions and calls gives the interpreter\'s results', () => {
  for (const budget of [1_000_000, 997, 13, 3]) {
    const [j, n] = pair(loop);
    lockstep(j, n, budget);
    assert.equal(j.hart.cause, CAUSE_ECALL_U);
    if (budget >= 13) {
      const s = j.core.jitStats();
      assert.ok(s.translations > 0 && s.instructions > 0, `budget ${budget}: ${JSON.stringify(s)}`);
    }
  }
});

test('jit: a page fault inside translated code leaves pc, registers and instret as the interpreter does', () => {
  // the loop walks a pointer upward by 512 bytes until it leaves the mapped data (8 KiB)
  const code: Code = [
    I('lui', { rd: 10, imm: Number(DATA) }),
    I('addi', { rd: 11, rs1: 0, imm: 0 }),
    I('ld', { rd: 12, rs1: 10, imm: 8 }),
    I('addi', { rd: 11, rs1: 11, imm: 1 }),
    I('sd', { rs1: 10, rs2: 11, imm: 16 }),
    I('addi', { rd: 10, rs1: 10, imm: 512 }),
    I('jal', { rd: 0, imm: -16 }),
  ];
  const [j, n] = pair(code);
  lockstep(j, n, 1_000_000);
  assert.equal(j.hart.cause, CAUSE_LOAD_PAGE_FAULT);
  assert.equal(j.hart.pc, CODE + 8n);
  assert.equal(j.hart.tval, DATA + 8192n + 8n);
  // and a store fault
  const st: Code = [
    I('lui', { rd: 10, imm: Number(DATA) }),
    I('addi', { rd: 11, rs1: 11, imm: 1 }),
    I('sd', { rs1: 10, rs2: 11, imm: 0 }),
    I('addi', { rd: 10, rs1: 10, imm: 1024 }),
    I('jal', { rd: 0, imm: -12 }),
  ];
  const [j2, n2] = pair(st);
  lockstep(j2, n2, 50);
  assert.equal(j2.hart.cause, CAUSE_STORE_PAGE_FAULT);
});

test('jit: code that rewrites the instruction it runs next, in a hot loop, runs the new bits', () => {
  // the loop patches the immediate of "addi a2, a2, K" with the counter each time round
  const code: Code = [
    I('auipc', { rd: 10, imm: 0 }), // a0 = CODE
    I('addi', { rd: 11, rs1: 0, imm: 300 }),
    // loop (CODE+8): build "addi a2, a2, a1&0x7ff" and store it at CODE+28
    I('andi', { rd: 13, rs1: 11, imm: 0x7ff }),
    I('slli', { rd: 13, rs1: 13, imm: 20 }),
    I('lui', { rd: 14, imm: 0 }),
    I('addi', { rd: 14, rs1: 0, imm: 0x613 }), // addi opcode, rd=a2 (x12): 0x00060613 low part
    I('fence.i'),
    // CODE+28: the patched instruction; the store is placed after it in program order, so the
    // next iteration runs what this one wrote
    I('addi', { rd: 12, rs1: 12, imm: 0 }),
    I('lui', { rd: 15, imm: 0x60000 }), // rs1 = a2 in bits 19:15 (12 << 15 = 0x60000)
    I('or', { rd: 14, rs1: 14, rs2: 15 }),
    I('or', { rd: 14, rs1: 14, rs2: 13 }),
    I('sw', { rs1: 10, rs2: 14, imm: 28 }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -44 }),
  ];
  const make = (th: number) => {
    const m = new TestMachine();
    m.core.configureJit({ threshold: th }, [m.hart]);
    m.map(DATA, 8192);
    m.load(code);
    m.pages.get(CODE >> 12n)!.write = true; // RWX
    return m;
  };
  const j = make(1), n = make(0);
  lockstep(j, n, 1_000_000);
  let expect = 0n, imm = 0n;
  for (let k = 300n; k > 0n; k--) { expect += imm; imm = k & 0x7ffn; } // each round adds what the one before wrote
  assert.equal(n.hart.x(12), expect, 'the interpreter ran the patched code');
  assert.ok(j.core.jitStats().stale > 0, 'the region over the rewritten page was dropped');
});

test('jit: code rewritten by the host and a page remapped under the same address run the new code', () => {
  const prog = (k: number): Code => [
    I('addi', { rd: 11, rs1: 0, imm: 500 }),
    I('addi', { rd: 12, rs1: 12, imm: k }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -8 }),
  ];
  const m = new TestMachine();
  m.core.configureJit({ threshold: 1 }, [m.hart]);
  const run = () => {
    m.hart.pc = CODE;
    m.hart.setX(12, 0n);
    assert.equal(m.core.run(m.hart, 100_000), STOP_TRAP);
    return m.hart.x(12);
  };
  m.load(prog(1));
  assert.equal(run(), 500n);
  assert.equal(run(), 500n);
  // the host writes new code into the same frame (as a DMA or a loader would)
  const host = m.host(CODE);
  const bytes = (c: Code) => new Uint8Array(Uint32Array.from([...c, I('ecall')] as number[]).buffer);
  m.mem.bytes.set(bytes(prog(2)), host);
  assert.equal(run(), 1000n);
  // another frame with other code under the same virtual page
  const other = m.mem.allocFrame();
  m.mem.bytes.set(bytes(prog(3)), other);
  m.pages.get(CODE >> 12n)!.frame = other;
  m.core.flushTlb(m.hart);
  assert.equal(run(), 1500n);
  // and back: the first frame's code, unchanged since, may be run from its region again
  m.pages.get(CODE >> 12n)!.frame = host - Number(CODE & 0xfffn);
  m.core.flushTlb(m.hart);
  assert.equal(run(), 1000n);
});

test('jit: translations are keyed by the code, shared by harts and address spaces with the same bytes', () => {
  const m = new TestMachine();
  m.core.configureJit({ threshold: 1 }, [m.hart]);
  const b = m.core.newHart();
  m.core.setJitThreshold(b, 1);
  const code = [I('addi', { rd: 11, rs1: 0, imm: 100 }), I('addi', { rd: 12, rs1: 12, imm: 7 }), I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -8 }), I('ecall')];
  const fa = m.mem.allocFrame(), fb = m.mem.allocFrame();
  for (const f of [fa, fb]) code.forEach((w, i) => m.mem.view.setUint32(f + i * 4, w, true));
  // hart a sees fa at CODE, hart b sees fb at DATA (another address space, another address)
  m.core.setTlbMissHandler((hart, va) => (hart === b.base ? (va >> 12n === DATA >> 12n ? fb : -1) : va >> 12n === CODE >> 12n ? fa : -1));
  m.hart.pc = CODE;
  b.pc = DATA;
  assert.equal(m.core.run(m.hart, 10_000), STOP_TRAP);
  assert.equal(m.core.run(b, 10_000), STOP_TRAP);
  assert.equal(m.hart.x(12), 700n);
  assert.equal(b.x(12), 700n);
  const s = m.core.jitStats();
  assert.equal(s.liveRegions, 1, `one region for both pages: ${JSON.stringify(s)}`);
  assert.ok(s.instructions > 500, 'both ran in it');
});

test('jit: a budget cut inside a translated loop stops exactly where the interpreter stops', () => {
  const code: Code = [
    I('lui', { rd: 11, imm: 0x19000 }), // 102400 rounds: longer than every budget below
    I('addi', { rd: 12, rs1: 12, imm: 1 }),
    I('addi', { rd: 13, rs1: 12, imm: 5 }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -12 }),
  ];
  for (const budget of [1, 2, 3, 5, 7, 100, 1001]) {
    const [j, n] = pair(code);
    for (let s = 0; s < 20; s++) {
      assert.equal(j.core.run(j.hart, budget), STOP_BUDGET);
      assert.equal(n.core.run(n.hart, budget), STOP_BUDGET);
      same(j, n, `budget ${budget} slice ${s}`);
    }
  }
});

test('jit: the translator turns every RV64GC instruction it meets into valid wasm or leaves it to the interpreter', () => {
  // every 32-bit encoding the table knows, with operand bits varied, on one page, from every offset
  const page = new Uint8Array(4096);
  const v = new DataView(page.buffer);
  let x = 0x12345678;
  for (let o = 0; o < 4096; o += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    v.setUint32(o, x, true);
  }
  const entries = discoverEntries(page, Array.from({ length: 2047 }, (_, i) => i * 2), false, 2047);
  const t = translatePage(page, entries, 65536);
  assert.doesNotThrow(() => new WebAssembly.Module(t.wasm), 'the module validates');
  assert.ok(t.instructions > 100);
});

test('jit: a page a hostile guest enters at every halfword translates to a bounded region', () => {
  // 0x3083 read from any halfword is ld x1, 0x308(x6): every entry overlaps the next one
  const page = new Uint8Array(4096);
  for (let o = 0; o < 4096; o += 2) { page[o] = 0x83; page[o + 1] = 0x30; }
  const entries = discoverEntries(page, Array.from({ length: 2047 }, (_, i) => i * 2), false, 512);
  // the entries inside another's straight run are left out: the two interleaved runs remain
  assert.deepEqual(entries, [0, 2]);
  const t = translatePage(page, entries, 65536);
  assert.ok(t.instructions <= 2 * 2048, `${t.instructions} instructions`);
  assert.ok(t.wasm.length < 1 << 20, `${t.wasm.length} bytes`);
  assert.doesNotThrow(() => new WebAssembly.Module(t.wasm));
  // 0x8082 (c.jr ra) at every halfword: every entry a run of its own, up to the cap
  for (let o = 0; o < 4096; o += 2) { page[o] = 0x82; page[o + 1] = 0x80; }
  const many = discoverEntries(page, Array.from({ length: 2047 }, (_, i) => i * 2), false, 512);
  assert.equal(many.length, 512);
  const u = translatePage(page, many, 65536);
  assert.equal(u.instructions, 512);
  assert.doesNotThrow(() => new WebAssembly.Module(u.wasm));
});

test('jit: an offset the interpreter only resumes at (inside a straight run) is no entry; a branch target there is', () => {
  // 0: addi x5,x5,1; 4: addi x6,x6,1; 8: bne x5,x7,-4 (to 4); 12: addi x7,x7,1; 16: jalr x0,0(x1)
  const page = new Uint8Array(4096);
  const v = new DataView(page.buffer);
  [0x00128293, 0x00130313, 0xfe729ee3, 0x00138393, 0x00008067].forEach((w, i) => v.setUint32(i * 4, w, true));
  // seeds 0 and 16 (16 is where a slice ended: inside the run from 0) and 4 (a branch target)
  assert.deepEqual(discoverEntries(page, [0, 4, 16], false), [0, 4]);
  const t = translatePage(page, [0, 4], 65536);
  const bit = (o: number) => (t.interior[o >>> 4]! >> ((o >>> 1) & 7)) & 1;
  assert.deepEqual([0, 4, 8, 12, 16].map(bit), [0, 0, 1, 0, 1], 'interior: 8 and 16; 12 follows a branch');
});

test('jit: --jit and --jit-threshold values are checked', () => {
  assert.equal(parseJitMode('on'), true);
  assert.equal(parseJitMode('off'), false);
  assert.throws(() => parseJitMode('yes'), /"on" or "off"/);
  assert.equal(parseJitThreshold('1'), 1);
  assert.throws(() => parseJitThreshold('0'), /whole number from 1/);
  assert.throws(() => parseJitThreshold('1e3'), /whole number/);
  assert.throws(() => parseJitThreshold('-5'), /whole number/);
});

test('jit: a hot page is compiled from the blocks run once it is hot, not its cold start-up code', () => {
  // 200 instructions run once, then a loop of 5 run 20000 times, on the same page
  const code: Code = [];
  for (let i = 0; i < 200; i++) code.push(I('addi', { rd: 5 + (i % 3), rs1: 5 + (i % 3), imm: i }));
  code.push(
    I('lui', { rd: 10, imm: Number(DATA) }),
    I('lui', { rd: 11, imm: 5 << 12 }), // 20480
    // loop:
    I('ld', { rd: 12, rs1: 10, imm: 0 }),
    I('add', { rd: 12, rs1: 12, rs2: 11 }),
    I('sd', { rs1: 10, rs2: 12, imm: 0 }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -16 }),
  );
  const [j, n] = pair(code, 2000);
  lockstep(j, n, 1_000_000);
  assert.equal(j.hart.cause, CAUSE_ECALL_U);
  const s = j.core.jitStats();
  assert.ok(s.translations >= 1 && s.instructions > 90_000, JSON.stringify(s));
  assert.ok(s.translatedInstructions < 50, `only the loop is translated: ${JSON.stringify(s)}`);
});

/** A loop on one page calling f on the next page (4 KiB on): regions chain into each other. With
 *  `slow`, f runs an instruction left to the interpreter (fence.i), so the region of f, entered
 *  by a chain, stops with JIT_SLOW on its own page. */
function crossPage(slow: boolean): Code {
  const nop = I('addi', { rd: 0, rs1: 0, imm: 0 });
  const code: Code = [
    I('lui', { rd: 10, imm: Number(DATA) }), // a0 = DATA
    I('addi', { rd: 11, rs1: 0, imm: 1000 }), // a1 = 1000
    I('addi', { rd: 12, rs1: 0, imm: 0 }), // a2 = 0
    // loop (index 3):
    I('andi', { rd: 13, rs1: 11, imm: 0x3f8 }),
    I('add', { rd: 13, rs1: 13, rs2: 10 }),
    I('ld', { rd: 14, rs1: 13, imm: 0 }),
    I('add', { rd: 12, rs1: 12, rs2: 14 }),
    I('jal', { rd: 1, imm: 4096 - 7 * 4 }), // call f (index 1024)
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -24 }), // to loop
    I('jal', { rd: 0, imm: 4096 + 16 - 10 * 4 }), // to the end (index 1028)
  ];
  while (code.length < 1024) code.push(nop);
  code.push(
    I('addi', { rd: 12, rs1: 12, imm: 3 }), // f:
    I('sd', { rs1: 13, rs2: 12, imm: 0 }),
    slow ? I('fence.i') : nop,
    I('jalr', { rd: 0, rs1: 1, imm: 0 }),
    I('addi', { rd: 19, rs1: 12, imm: 1 }), // the end (then the ecall load() appends)
  );
  return code;
}

test('jit: a region calls the next page\'s region directly (chained), with the interpreter\'s results', () => {
  for (const slow of [false, true]) {
    for (const budget of [1_000_000, 997, 13]) {
      const [j, n] = pair(crossPage(slow));
      lockstep(j, n, budget);
      assert.equal(j.hart.cause, CAUSE_ECALL_U);
      const s = j.core.jitStats();
      // fence.i starts a new code epoch: a chain needs the target checked in the current one
      if (!slow && budget >= 997) assert.ok(s.chains > 1000, `budget ${budget}: ${JSON.stringify(s)}`);
    }
  }
});

test('jit: fflags, frm and fcsr accesses run in the region with the interpreter\'s results', () => {
  // a loop of divisions that raise flags (1/3 inexact, 1/0 divide by zero), read, cleared, set
  // and swapped through every CSR form, and conversions under the dynamic rounding mode
  const code: Code = [
    I('addi', { rd: 11, rs1: 0, imm: 300 }),
    I('addi', { rd: 5, rs1: 0, imm: 1 }),
    I('fcvt.d.l', { rd: 1, rs1: 5, rm: 0 }), // f1 = 1.0
    I('addi', { rd: 5, rs1: 0, imm: 3 }),
    I('fcvt.d.l', { rd: 2, rs1: 5, rm: 0 }), // f2 = 3.0
    I('fcvt.d.l', { rd: 3, rs1: 0, rm: 0 }), // f3 = 0.0
    // loop:
    I('csrrw', { rd: 20, csr: 0x001, rs1: 0 }), // frflags + clear (fsflags x0)
    I('fdiv.d', { rd: 4, rs1: 1, rs2: 2, rm: 7 }),
    I('csrrs', { rd: 21, csr: 0x001, rs1: 0 }), // frflags: NX
    I('fdiv.d', { rd: 5, rs1: 1, rs2: 3, rm: 7 }),
    I('csrrs', { rd: 22, csr: 0x003, rs1: 0 }), // frcsr
    I('andi', { rd: 6, rs1: 11, imm: 3 }),
    I('csrrw', { rd: 23, csr: 0x002, rs1: 6 }), // fsrm a rotating mode 0-3
    I('fmul.d', { rd: 6, rs1: 4, rs2: 2, rm: 7 }),
    I('fcvt.l.d', { rd: 24, rs1: 4, rm: 7 }),
    I('csrrsi', { rd: 25, csr: 0x001, imm: 0x10 }), // set NV
    I('csrrci', { rd: 26, csr: 0x003, imm: 0x01 }), // clear NX
    I('csrrwi', { rd: 27, csr: 0x002, imm: 0 }), // back to RNE
    I('csrrc', { rd: 28, csr: 0x001, rs1: 11 }), // clear the counter's low bits
    I('add', { rd: 12, rs1: 12, rs2: 20 }), I('add', { rd: 12, rs1: 12, rs2: 21 }),
    I('add', { rd: 12, rs1: 12, rs2: 22 }), I('add', { rd: 12, rs1: 12, rs2: 23 }),
    I('add', { rd: 12, rs1: 12, rs2: 25 }), I('add', { rd: 12, rs1: 12, rs2: 26 }),
    I('add', { rd: 12, rs1: 12, rs2: 27 }), I('add', { rd: 12, rs1: 12, rs2: 28 }),
    I('andi', { rd: 7, rs1: 11, imm: 0x17f }), // (frm stays 0-3: bit 7 clear)
    I('csrrs', { rd: 0, csr: 0x003, rs1: 7 }), // fcsr |= that (bit 8 dropped)
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -96 }),
    I('csrrs', { rd: 29, csr: 0x003, rs1: 0 }),
  ];
  for (const budget of [1_000_000, 97, 5]) {
    const [j, n] = pair(code);
    lockstep(j, n, budget);
    assert.equal(j.hart.cause, CAUSE_ECALL_U);
    assert.equal(j.hart.fcsr, n.hart.fcsr, 'fcsr');
    for (let r = 0; r < 8; r++) assert.equal(j.hart.f(r), n.hart.f(r), `f${r}`);
    const s = j.core.jitStats();
    assert.ok(budget === 5 || s.instructions > 300 * 15, `the loop ran in the region: ${JSON.stringify(s)}`);
    if (budget === 1_000_000) assert.ok(s.enters < 10, `no exit per CSR access: ${JSON.stringify(s)}`);
  }
  // the interpreter's run (the reference) saw the flags: NX and DZ, the modes it set
  const [, n] = pair(code);
  n.run();
  assert.equal(n.hart.x(21), 1n, 'NX after 1/3');
  assert.equal(n.hart.x(22) & 0x1fn, 0x9n, 'NX|DZ after 1/0');
});

test('jit: loads and stores that run onto the next page give the interpreter\'s results', () => {
  // a0 walks DATA+4080 .. DATA+4100 a byte at a time: every width straddles the page boundary at
  // some step (the region's fast path must send those to the slow path, tlb_fill, not the TLB)
  const code: Code = [
    I('lui', { rd: 10, imm: Number(DATA) + 0x1000 }),
    I('addi', { rd: 10, rs1: 10, imm: -16 }),
    I('addi', { rd: 11, rs1: 0, imm: 20 }),
    I('lui', { rd: 5, imm: 0x12345000 }),
    I('addi', { rd: 5, rs1: 5, imm: 0x678 }),
    // loop:
    I('sd', { rs1: 10, rs2: 5, imm: 0 }),
    I('ld', { rd: 6, rs1: 10, imm: 1 }),
    I('sw', { rs1: 10, rs2: 6, imm: 3 }),
    I('lw', { rd: 7, rs1: 10, imm: 2 }),
    I('sh', { rs1: 10, rs2: 7, imm: 5 }),
    I('lhu', { rd: 8, rs1: 10, imm: 1 }),
    I('lwu', { rd: 9, rs1: 10, imm: 0 }),
    I('add', { rd: 5, rs1: 5, rs2: 6 }), I('xor', { rd: 5, rs1: 5, rs2: 7 }),
    I('add', { rd: 5, rs1: 5, rs2: 8 }), I('add', { rd: 5, rs1: 5, rs2: 9 }),
    I('addi', { rd: 10, rs1: 10, imm: 1 }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -52 }),
  ];
  for (const budget of [1_000_000, 97, 7]) {
    // the second page's frame is not the one after the first's in host memory (as it would be by
    // chance), so reading on past the first frame gives other bytes than the guest's
    const [j, n] = pair(code, 1, (m) => { m.mem.allocFrame(); m.pages.get((DATA >> 12n) + 1n)!.frame = m.mem.allocFrame(); });
    lockstep(j, n, budget);
    assert.equal(j.hart.cause, CAUSE_ECALL_U);
    assert.ok(budget === 7 || j.core.jitStats().instructions > 100, JSON.stringify(j.core.jitStats()));
  }
});
