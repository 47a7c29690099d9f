// PLIC: priorities, pending, enables, thresholds, claim/complete with level-triggered gateways
// (RISC-V PLIC spec v1.0.0), hostile accesses, save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plic, type PlicState } from '../src/devices/plic/plic.js';

const PRIO = (s: number) => 4 * s;
const PENDING = (w: number) => 0x1000 + 4 * w;
const ENABLE = (c: number, w: number) => 0x2000 + 0x80 * c + 4 * w;
const THRESH = (c: number) => 0x200000 + 0x1000 * c;
const CLAIM = (c: number) => 0x200004 + 0x1000 * c;

function make(contexts = 4) {
  const eip = new Array<boolean>(contexts).fill(false);
  const log: Array<[number, boolean]> = [];
  const p = new Plic({ contexts, onContextChange: (c, on) => { eip[c] = on; log.push([c, on]); } });
  const r = (o: number) => p.read(o, 4);
  const w = (o: number, v: number) => p.write(o, v, 4);
  return { p, eip, log, r, w };
}

test('priority registers: source 0 hardwired, 3 bits WARL, sources above 95 absent', () => {
  const { r, w } = make();
  w(PRIO(0), 5);
  assert.equal(r(PRIO(0)), 0);
  w(PRIO(10), 0xff);
  assert.equal(r(PRIO(10)), 7);
  w(PRIO(95), 3);
  assert.equal(r(PRIO(95)), 3);
  w(PRIO(96), 3);
  assert.equal(r(PRIO(96)), 0);
  w(THRESH(1), 9);
  assert.equal(r(THRESH(1)), 1);
});

test('enable bits: source 0 and sources above 95 cannot be enabled', () => {
  const { r, w } = make();
  w(ENABLE(1, 0), 0xffffffff);
  assert.equal(r(ENABLE(1, 0)), 0xfffffffe);
  w(ENABLE(1, 2), 0xffffffff);
  assert.equal(r(ENABLE(1, 2)), 0xffffffff); // 64..95
  w(ENABLE(1, 3), 0xffffffff);
  assert.equal(r(ENABLE(1, 3)), 0);
  assert.equal(r(ENABLE(0, 0)), 0); // per context
});

test('a level line sets pending; claim returns it, complete re-arms while the line is high', () => {
  const { p, eip, r, w } = make();
  const line = p.irqLine(10);
  w(PRIO(10), 1);
  w(ENABLE(1, 0), 1 << 10);
  line.set(true);
  assert.equal(r(PENDING(0)), 1 << 10);
  assert.equal(eip[1], true);
  assert.equal(eip[0], false); // not enabled for context 0
  assert.equal(r(CLAIM(1)), 10);
  assert.equal(r(PENDING(0)), 0);
  assert.equal(eip[1], false);
  assert.equal(r(CLAIM(1)), 0); // nothing else
  line.set(true); // still high, in service: no new request
  assert.equal(r(PENDING(0)), 0);
  w(CLAIM(1), 10); // complete with the line high: pending again
  assert.equal(r(PENDING(0)), 1 << 10);
  assert.equal(eip[1], true);
  assert.equal(r(CLAIM(1)), 10);
  line.set(false); // device serviced
  w(CLAIM(1), 10);
  assert.equal(r(PENDING(0)), 0);
  assert.equal(eip[1], false);
});

test('claim picks the highest priority, ties to the lowest ID; threshold masks <= threshold', () => {
  const { p, eip, r, w } = make();
  for (const [s, prio] of [[3, 2], [5, 6], [7, 6], [40, 1], [70, 7]] as const) {
    w(PRIO(s), prio);
    p.irqLine(s).set(true);
  }
  w(ENABLE(1, 0), (1 << 3) | (1 << 5) | (1 << 7));
  w(ENABLE(1, 1), 1 << (40 - 32));
  w(ENABLE(1, 2), 1 << (70 - 64));
  w(THRESH(1), 6);
  assert.equal(eip[1], true); // source 70, prio 7 > 6
  assert.equal(r(CLAIM(1)), 70);
  assert.equal(eip[1], false); // 5 and 7 are prio 6, not > 6
  assert.equal(r(CLAIM(1)), 0);
  w(THRESH(1), 0);
  assert.equal(eip[1], true);
  assert.equal(r(CLAIM(1)), 5); // tie between 5 and 7 -> 5
  assert.equal(r(CLAIM(1)), 7);
  assert.equal(r(CLAIM(1)), 3);
  assert.equal(r(CLAIM(1)), 40);
  assert.equal(r(CLAIM(1)), 0);
  assert.equal(eip[1], false);
});

test('priority 0 never interrupts; a dropped line leaves its request pending (spec gateway)', () => {
  const { p, eip, r, w } = make();
  const l = p.irqLine(1);
  w(ENABLE(1, 0), 2);
  l.set(true);
  assert.equal(r(PENDING(0)), 2);
  assert.equal(eip[1], false); // priority 0
  w(PRIO(1), 1);
  assert.equal(eip[1], true);
  l.set(false);
  assert.equal(eip[1], true);
  assert.equal(r(CLAIM(1)), 1);
  w(CLAIM(1), 1);
  assert.equal(r(PENDING(0)), 0); // line low at complete: no new request
});

test('complete is ignored for a source not enabled in that context, or not in service', () => {
  const { p, r, w } = make();
  const l = p.irqLine(4);
  w(PRIO(4), 1);
  w(ENABLE(1, 0), 1 << 4);
  l.set(true);
  assert.equal(r(CLAIM(1)), 4);
  w(CLAIM(3), 4); // context 3 does not enable 4: ignored
  assert.equal(r(PENDING(0)), 0);
  w(ENABLE(1, 0), 0);
  w(CLAIM(1), 4); // no longer enabled: ignored
  w(ENABLE(1, 0), 1 << 4);
  w(CLAIM(1), 0); // source 0 / bogus IDs: ignored
  w(CLAIM(1), 1000);
  w(CLAIM(1), 4);
  assert.equal(r(PENDING(0)), 1 << 4);
  w(CLAIM(1), 9); // not in service: ignored
});

test('two contexts share a source: one claim takes it from both', () => {
  const { p, eip, r, w } = make();
  w(PRIO(8), 1);
  w(ENABLE(0, 0), 1 << 8);
  w(ENABLE(1, 0), 1 << 8);
  p.irqLine(8).set(true);
  assert.deepEqual([eip[0], eip[1]], [true, true]);
  assert.equal(r(CLAIM(0)), 8);
  assert.deepEqual([eip[0], eip[1]], [false, false]);
  assert.equal(r(CLAIM(1)), 0);
});

test('onContextChange fires on changes only', () => {
  const { p, log, w } = make();
  w(PRIO(2), 1);
  w(ENABLE(1, 0), 4);
  const l = p.irqLine(2);
  l.set(true);
  l.set(true);
  w(PRIO(2), 2);
  assert.deepEqual(log, [[1, true]]);
});

test('pending bits are read-only; irqLine rejects bad sources', () => {
  const { p, r, w } = make();
  w(PENDING(0), 0xffffffff);
  assert.equal(r(PENDING(0)), 0);
  assert.throws(() => p.irqLine(0), { code: 'INTERNAL' });
  assert.throws(() => p.irqLine(96), { code: 'INTERNAL' });
  assert.throws(() => new Plic({ contexts: 0, onContextChange() {} }), { code: 'INTERNAL' });
});

test('hostile accesses read 0 and never throw', () => {
  const { p, r, w } = make(2);
  p.irqLine(1).set(true);
  w(PRIO(1), 1);
  w(ENABLE(1, 0), 2);
  for (const off of [-4, 1, 2, 3, 0x1010, 0x3fffffc, 0x600000, 0x5ffffc, THRESH(2), CLAIM(2), ENABLE(2, 0), 0x200008, 1.5, NaN, 2 ** 40]) {
    assert.equal(p.read(off, 4), 0);
    p.write(off, 0xffffffff, 4);
  }
  for (const size of [1, 2, 8, 0, 3]) {
    assert.equal(p.read(CLAIM(1), size), 0);
    p.write(PRIO(1), 5, size);
  }
  assert.equal(r(PRIO(1)), 1);
  assert.equal(r(CLAIM(1)), 1); // still there: nothing above claimed it
});

test('save/restore round-trips mid-operation (through JSON) and reports every context', () => {
  const a = make();
  for (const s of [1, 33, 95]) a.w(PRIO(s), s % 7 + 1);
  a.w(ENABLE(1, 0), 2);
  a.w(ENABLE(1, 1), 2);
  a.w(ENABLE(3, 2), 0x80000000);
  a.w(THRESH(0), 3);
  a.p.irqLine(1).set(true);
  a.p.irqLine(33).set(true);
  a.p.irqLine(95).set(true);
  assert.equal(a.r(CLAIM(1)), 33); // priority 6: 33 in service, 1 and 95 pending
  const saved = a.p.save();
  const b = make();
  b.p.restore(JSON.parse(JSON.stringify(saved)) as PlicState);
  assert.deepEqual(b.p.save(), saved);
  assert.deepEqual(b.eip, a.eip);
  assert.equal(b.log.length, 4);
  const seq = (d: typeof a) => [d.r(CLAIM(1)), d.r(CLAIM(3)), (d.w(CLAIM(1), 33), d.r(PENDING(1))), d.r(CLAIM(1)), d.r(CLAIM(1))];
  assert.deepEqual(seq(b), seq(a));
  assert.deepEqual(b.p.save(), a.p.save());
  assert.throws(() => b.p.restore({ ...saved, contexts: 2 }), { code: 'INTERNAL' });
  assert.throws(() => b.p.restore({ ...saved, pending: [1, 2] }), { code: 'INTERNAL' });
  assert.throws(() => b.p.restore({ ...saved, priority: saved.priority.map(() => 9) }), { code: 'INTERNAL' });
});
