// What the JIT spends on compiling: the compile budget (guest instructions translated may not
// exceed an allowance that grows with the instructions run) and the density condition (a page
// that takes too long to get hot, relative to everything else that runs, is not compiled). Both
// only decide what is compiled and when; results stay the interpreter's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestMachine, I, DATA, CODE } from './cpu-machine.js';
import { CAUSE_ECALL_U, JITMAP_SLOTS } from '../src/cpu/layout.js';
import type { JitConfig } from '../src/jit/jit.js';

type Code = (number | [number])[];
const NOP = I('addi', { rd: 0, rs1: 0, imm: 0 });

/** Runs code to its ecall with the JIT configured as c (threshold 0: the interpreter); returns
 *  the machine. */
function runWith(code: Code, c: JitConfig): TestMachine {
  const m = new TestMachine();
  m.core.configureJit(c, [m.hart]);
  m.map(DATA, 8192);
  m.load(code);
  let cause = -1;
  for (let s = 0; s < 1000 && cause < 0; s++) {
    try { cause = m.run(100_000); } catch { /* budget: next slice */ }
  }
  assert.equal(cause, CAUSE_ECALL_U);
  return m;
}

function sameState(a: TestMachine, b: TestMachine): void {
  for (let r = 0; r < 32; r++) assert.equal(a.hart.x(r), b.hart.x(r), `x${r}`);
  assert.equal(a.hart.pc, b.hart.pc, 'pc');
  assert.equal(a.hart.instret, b.hart.instret, 'instret');
  assert.deepEqual(a.readBytes(DATA, 8192), b.readBytes(DATA, 8192), 'memory');
}

// a loop of 5 instructions run 60000 times on one page (300k instructions)
const hotLoop: Code = [
  I('lui', { rd: 10, imm: Number(DATA) }),
  I('lui', { rd: 11, imm: 15 << 12 }), // 61440
  I('ld', { rd: 12, rs1: 10, imm: 0 }),
  I('add', { rd: 12, rs1: 12, rs2: 11 }),
  I('sd', { rs1: 10, rs2: 12, imm: 0 }),
  I('addi', { rd: 11, rs1: 11, imm: -1 }),
  I('bne', { rs1: 11, rs2: 0, imm: -16 }),
];

test('jit budget: a page is not compiled until the instructions run pay for it, then it is', () => {
  const interp = runWith(hotLoop, { threshold: 0 });
  // no allowance to start with and one translated instruction per 10,000 run: the loop's region
  // (about 6 instructions) waits for some 60,000 instructions, then runs the rest
  const paid = runWith(hotLoop, { threshold: 500, budget: { initial: 0, ratio: 10_000 }, density: 0 });
  sameState(paid, interp);
  const s = paid.core.jitStats();
  assert.ok(s.deferred > 0, `refused at first: ${JSON.stringify(s)}`);
  assert.ok(s.translations >= 1 && s.instructions > 100_000, `then compiled and run: ${JSON.stringify(s)}`);
  assert.ok(s.translatedInstructions <= s.run / 10_000, `within the budget: ${JSON.stringify(s)}`);
  // an allowance the run never earns: the page is refused until it has run, interpreted, 50,000
  // instructions per instruction of its code (jit.ts RUN_PAYBACK, credited 4 x the threshold per
  // refusal; its size: what the core's profile of it saw), then compiled all the same for the
  // rest of the run
  const longLoop = hotLoop.map((w, i) => (i === 1 ? I('lui', { rd: 11, imm: 128 << 12 }) : w)); // 524,288 rounds
  const never = runWith(longLoop, { threshold: 500, budget: { initial: 0, ratio: 1_000_000_000 }, density: 0 });
  const longInterp = runWith(longLoop, { threshold: 0 });
  sameState(never, longInterp);
  const t = never.core.jitStats();
  assert.equal(t.translations, 1, JSON.stringify(t));
  // its size is what the core's profile of the page saw (the block the interpreter runs: the
  // loop's 5 instructions and the ecall it runs through to), so it pays after about
  // 6 x 50,000 / (4 x 500) = 150 refusals (with a size of 16 assumed it took 400)
  assert.ok(t.deferred >= 120 && t.deferred <= 180 && t.run === Number(longInterp.hart.instret), JSON.stringify(t));
  assert.ok(t.instructions > 100_000 && t.instructions < t.run - 200_000, `waited, then ran in the region: ${JSON.stringify(t)}`);
  // no budget: compiled as soon as it is hot
  const free = runWith(hotLoop, { threshold: 500, budget: { initial: 0, ratio: 0 }, density: 0 });
  sameState(free, interp);
  assert.ok(free.core.jitStats().instructions > 250_000, JSON.stringify(free.core.jitStats()));
});

test('jit density: a page that gets hot only slowly, beside a busier one, stays interpreted', () => {
  // page 1 (CODE): 600 times, call page 2 and count down (3 instructions per round on page 1);
  // page 2 (CODE + 4096): a loop of 2 instructions run 1000 times per call (2000 per round)
  const code: Code = [
    I('addi', { rd: 20, rs1: 0, imm: 600 }),
    I('jal', { rd: 1, imm: 4096 - 4 }),
    I('addi', { rd: 20, rs1: 20, imm: -1 }),
    I('bne', { rs1: 20, rs2: 0, imm: -8 }),
    I('ecall'),
  ];
  while (code.length < 1024) code.push(NOP);
  code.push(
    I('addi', { rd: 21, rs1: 0, imm: 1000 }),
    I('addi', { rd: 21, rs1: 21, imm: -1 }),
    I('bne', { rs1: 21, rs2: 0, imm: -4 }),
    I('jalr', { rd: 0, rs1: 1, imm: 0 }),
  );
  const interp = runWith(code, { threshold: 0 });
  const cfg = (density: number): JitConfig => ({ threshold: 200, budget: { initial: 0, ratio: 0 }, density });
  // page 1 reaches 200 instructions only after ~67 rounds, 134,000 instructions in all: more than
  // 64 x 200, so with density 64 only page 2 gets a region
  const dense = runWith(code, cfg(64));
  sameState(dense, interp);
  assert.equal(dense.core.jitStats().liveRegions, 1, JSON.stringify(dense.core.jitStats()));
  const any = runWith(code, cfg(0));
  sameState(any, interp);
  assert.equal(any.core.jitStats().liveRegions, 2, JSON.stringify(any.core.jitStats()));
  // the default is 64
  const byDefault = runWith(code, { threshold: 200, budget: { initial: 0, ratio: 0 } });
  assert.equal(byDefault.core.jitStats().liveRegions, 1, JSON.stringify(byDefault.core.jitStats()));
  // with density 1000 (a page must run 1/1000 of everything) page 1 qualifies again
  assert.equal(runWith(code, cfg(1000)).core.jitStats().liveRegions, 2);
});

test('jit budget: a refused recompilation is not asked about at every miss, and happens once the misses have paid for it', () => {
  // loop A (hot first: the region is compiled from it), then loop B on the same page, which the
  // region has no entry for: every round of B enters the region at B and misses
  const code: Code = [
    I('addi', { rd: 11, rs1: 0, imm: 2000 }),
    I('addi', { rd: 12, rs1: 12, imm: 1 }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -8 }),
    I('lui', { rd: 11, imm: 0x2000 }), // 8192 rounds
    I('addi', { rd: 13, rs1: 13, imm: 1 }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -8 }),
  ];
  const m = new TestMachine();
  m.core.configureJit({ threshold: 200, budget: { initial: 0, ratio: 0 }, density: 0 }, [m.hart]);
  m.load(code);
  m.core.run(m.hart, 1 + 2000 * 3); // loop A, compiled meanwhile
  const first = m.core.jitStats();
  assert.equal(first.translations, 1, JSON.stringify(first));
  // from now on no compilation is paid for by the budget
  m.core.configureJit({ threshold: 200, budget: { initial: 0, ratio: 1_000_000_000 }, density: 0 }, [m.hart]);
  assert.equal(m.run(), CAUSE_ECALL_U);
  assert.equal(m.hart.x(13), 8192n);
  assert.equal(m.hart.instret, BigInt(1 + 2000 * 3 + 1 + 8192 * 3));
  const s = m.core.jitStats();
  // refused at first (the budget), and the misses until the next question not asked about
  assert.ok(s.deferred >= 1 && s.missesAsked <= 8, `most misses are not asked about: ${JSON.stringify(s)}`);
  // the run loop knows where the region has code (CACHE_JITENTRY): a miss does not call it
  assert.ok(s.enters < 100, `the region is not entered at B: ${JSON.stringify(s)}`);
  // then the misses (512 per instruction of the page's code: jit.ts MISS_PAYBACK) paid for a
  // recompilation with B as an entry, outside the budget, and B's rounds run in the region
  assert.equal(s.translations, 2, JSON.stringify(s));
  assert.ok(s.misses >= 2000 && s.misses <= 6000, `B missed until recompiled, then no more: ${JSON.stringify(s)}`);
  assert.ok(s.instructions >= (8192 - 6000) * 3, `B ran in the region: ${JSON.stringify(s)}`);
});

test('jit entries: a computed jump into the middle of a straight run makes that offset an entry', () => {
  // an outer loop (from 4) whose straight run passes through offset 24, where an inner loop is
  // entered by jalr: a place control goes to, not one where the interpreter merely resumed, so
  // the region gets an entry there (once it jumps there) and keeps the inner loop
  const code: Code = [
    I('addi', { rd: 16, rs1: 0, imm: 300 }), // 0
    I('addi', { rd: 11, rs1: 0, imm: 20 }), // 4: the outer loop
    I('auipc', { rd: 5, imm: 0 }), // 8: x5 = CODE + 8
    I('addi', { rd: 5, rs1: 5, imm: 16 }), // 12: x5 = CODE + 24
    I('addi', { rd: 12, rs1: 12, imm: 1 }), // 16
    I('addi', { rd: 13, rs1: 13, imm: 1 }), // 20
    I('addi', { rd: 14, rs1: 14, imm: 1 }), // 24: the inner loop
    I('addi', { rd: 11, rs1: 11, imm: -1 }), // 28
    I('beq', { rs1: 11, rs2: 0, imm: 12 }), // 32: to 44
    I('jalr', { rd: 0, rs1: 5, imm: 0 }), // 36
    NOP, // 40
    I('addi', { rd: 16, rs1: 16, imm: -1 }), // 44
    I('bne', { rs1: 16, rs2: 0, imm: -44 }), // 48: to 4
    I('ecall'), // 52
  ];
  const interp = runWith(code, { threshold: 0 });
  const jit = runWith(code, { threshold: 200, budget: { initial: 0, ratio: 0 }, density: 0 });
  sameState(jit, interp);
  assert.equal(jit.hart.x(14), 300n * 20n);
  const s = jit.core.jitStats();
  assert.ok(s.instructions > s.run * 0.9, `the loops run in the region: ${JSON.stringify(s)}`);
  assert.ok(s.misses < 100, `and do not miss at every turn: ${JSON.stringify(s)}`);
});

test('jit slots: two hot pages that share a JIT map slot take it in turns, and each comes back with its whole region', () => {
  // page A (CODE) and page B (0x400000, in a frame JITMAP_SLOTS frames from A's: the same slot)
  // each run over JIT_HOLD instructions in turn, so each evicts the other's region four times
  const a: Code = [
    I('addi', { rd: 20, rs1: 0, imm: 4 }),
    I('lui', { rd: 21, imm: 0x400000 }),
    I('lui', { rd: 11, imm: 0x50000 }), // round: 327,680 inner rounds
    I('andi', { rd: 5, rs1: 11, imm: 7 }), // inner
    I('bne', { rs1: 5, rs2: 0, imm: 8 }),
    I('addi', { rd: 12, rs1: 12, imm: 3 }),
    I('addi', { rd: 12, rs1: 12, imm: 1 }),
    I('addi', { rd: 11, rs1: 11, imm: -1 }),
    I('bne', { rs1: 11, rs2: 0, imm: -20 }),
    I('jalr', { rd: 1, rs1: 21, imm: 0 }), // B
    I('addi', { rd: 20, rs1: 20, imm: -1 }),
    I('bne', { rs1: 20, rs2: 0, imm: -36 }),
  ];
  const b: Code = [
    I('lui', { rd: 13, imm: 0xa0000 }), // 655,360 rounds
    I('addi', { rd: 13, rs1: 13, imm: -1 }),
    I('bne', { rs1: 13, rs2: 0, imm: -4 }),
    I('jalr', { rd: 0, rs1: 1, imm: 0 }),
  ];
  const run = (c: JitConfig): TestMachine => {
    const m = new TestMachine();
    m.core.configureJit(c, [m.hart]);
    m.map(DATA, 8192);
    m.load(a);
    const slotOf = (frame: number) => (frame >>> 12) & (JITMAP_SLOTS - 1);
    const want = slotOf(m.host(CODE));
    let f = m.mem.allocFrame();
    while (slotOf(f) !== want) f = m.mem.allocFrame();
    m.pages.set(0x400n, { frame: f, write: false, exec: true });
    m.writeBytes(0x400000n, Uint8Array.from(b.flatMap((w) => { const v = w as number; return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]; })));
    let cause = -1;
    for (let s = 0; s < 1000 && cause < 0; s++) {
      try { cause = m.run(1_000_000); } catch { /* budget: next slice */ }
    }
    assert.equal(cause, CAUSE_ECALL_U);
    return m;
  };
  const interp = run({ threshold: 0 });
  const jit = run({ threshold: 200, budget: { initial: 0, ratio: 0 }, density: 0 });
  sameState(jit, interp);
  const s = jit.core.jitStats();
  // each page compiled again after losing the slot (module cache hits: the same code)
  assert.ok(s.translations >= 6, `the pages took the slot in turns: ${JSON.stringify(s)}`);
  // and each time with everything it had: almost nothing left to the interpreter
  assert.ok(s.instructions > s.run * 0.3, `most instructions ran in regions: ${JSON.stringify(s)}`);
  assert.ok(s.misses < 200, `the regions came back whole: ${JSON.stringify(s)}`);
});
