// CLINT: msip, mtimecmp halves, mtime from the virtual clock (with guest writes as an offset),
// timerPending / nextDeadline, hostile accesses, save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clint, type ClintState } from '../src/devices/clint/clint.js';

const MSIP = (h: number) => 4 * h;
const CMP = (h: number) => 0x4000 + 8 * h;
const MTIME = 0xbff8;

function make(harts = 2) {
  const clock = { t: 0n };
  const sw: Array<[number, boolean]> = [];
  const timer: number[] = [];
  const c = new Clint({ harts, now: () => clock.t, onSoftware: (h, l) => sw.push([h, l]), onTimerChange: (h) => timer.push(h) });
  const r = (o: number) => c.read(o, 4);
  const w = (o: number, v: number) => c.write(o, v, 4);
  return { c, clock, sw, timer, r, w };
}

test('msip: bit 0 per hart, onSoftware on change', () => {
  const { c, sw, r, w } = make();
  w(MSIP(1), 0xffffffff);
  assert.equal(r(MSIP(1)), 1);
  assert.equal(r(MSIP(0)), 0);
  assert.equal(c.softwarePending(1), true);
  w(MSIP(1), 3); // unchanged
  w(MSIP(1), 2); // bit 0 clear
  assert.equal(r(MSIP(1)), 0);
  assert.deepEqual(sw, [[1, true], [1, false]]);
});

test('mtime reads the virtual clock, in two halves', () => {
  const { clock, r } = make();
  clock.t = 0x1_2345_6789n;
  assert.equal(r(MTIME), 0x2345_6789);
  assert.equal(r(MTIME + 4), 1);
});

test('mtimecmp: reset to all-ones, written as halves, timerPending and nextDeadline', () => {
  const { c, clock, timer, r, w } = make();
  assert.equal(r(CMP(0)), 0xffffffff);
  assert.equal(r(CMP(0) + 4), 0xffffffff);
  assert.equal(c.nextDeadline(), undefined);
  assert.equal(c.timerPending(0, 10n ** 15n), false);
  w(CMP(1), 0x10);
  assert.equal(c.timecmp(1), 0xffffffff_00000010n);
  w(CMP(1) + 4, 0);
  assert.equal(c.timecmp(1), 0x10n);
  assert.equal(r(CMP(1)), 0x10);
  assert.equal(r(CMP(1) + 4), 0);
  assert.deepEqual(timer, [1, 1]);
  assert.equal(c.nextDeadline(), 0x10n);
  assert.equal(c.nextDeadline(0), undefined);
  assert.equal(c.nextDeadline(1), 0x10n);
  assert.equal(c.timerPending(1, 0xfn), false);
  assert.equal(c.timerPending(1, 0x10n), true);
  assert.equal(c.timerPending(0, 0x10n), false);
  assert.equal(c.timerPending(7, 0x10n), false); // no such hart
  w(CMP(0), 5);
  w(CMP(0) + 4, 0);
  assert.equal(c.nextDeadline(), 5n);
  clock.t = 1n << 33n;
  w(CMP(0) + 4, 3); // 0x3_0000_0005
  assert.equal(c.timecmp(0), 0x3_0000_0005n);
  assert.equal(c.timerPending(0, clock.t), false);
  assert.equal(c.nextDeadline(), 0x10n);
});

test('mtime writes offset the clock; deadlines follow', () => {
  const { c, clock, timer, r, w } = make(1);
  clock.t = 1000n;
  w(MTIME, 5000);
  assert.equal(r(MTIME), 5000);
  clock.t = 1500n;
  assert.equal(r(MTIME), 5500);
  assert.equal(c.mtime(), 5500n);
  w(MTIME + 4, 2);
  assert.equal(c.mtime(), (2n << 32n) + 5500n);
  assert.deepEqual(timer, [0, 0]);
  w(MTIME, 0);
  w(MTIME + 4, 0); // mtime 0 at now = 1500
  w(CMP(0), 100);
  w(CMP(0) + 4, 0);
  assert.equal(c.nextDeadline(), 1600n); // in now() ticks
  assert.equal(c.timerPending(0, 1599n), false);
  assert.equal(c.timerPending(0, 1600n), true);
  clock.t = 0n;
  w(MTIME, 0xffffffff);
  w(MTIME + 4, 0xffffffff); // mtime = 2^64 - 1 at now 0: wraps to 0 one tick later
  clock.t = 1n;
  assert.equal(c.mtime(), 0n);
});

test('hostile accesses read 0 and never throw', () => {
  const { c, r, w, sw } = make(2);
  for (const off of [MSIP(2), CMP(2), CMP(2) + 4, 0x3ffc, 0xbff0, 0xc000, 0x10000, -4, 2, 1.5, NaN]) {
    assert.equal(c.read(off, 4), 0);
    c.write(off, 1, 4);
  }
  for (const size of [1, 2, 8, 0]) {
    assert.equal(c.read(MTIME, size), 0);
    c.write(MSIP(0), 1, size);
  }
  assert.deepEqual(sw, []);
  assert.equal(r(CMP(1)), 0xffffffff);
  w(MSIP(0), 1);
  assert.equal(r(MSIP(0)), 1);
  assert.throws(() => new Clint({ harts: 0, now: () => 0n, onSoftware() {} }), { code: 'INTERNAL' });
});

test('save/restore round-trips mid-operation (through JSON) and re-reports MSIP and deadlines', () => {
  const a = make(3);
  a.clock.t = 777n;
  a.w(MSIP(2), 1);
  a.w(CMP(1), 0x1234);
  a.w(CMP(1) + 4, 0);
  a.w(MTIME, 100); // offset = -677
  const saved = a.c.save();
  const b = make(3);
  b.clock.t = 777n;
  b.c.restore(JSON.parse(JSON.stringify(saved)) as ClintState);
  assert.deepEqual(b.c.save(), saved);
  assert.deepEqual(b.sw, [[0, false], [1, false], [2, true]]);
  assert.deepEqual(b.timer, [0, 1, 2]);
  for (const d of [a, b]) d.clock.t = 5000n;
  const seq = (d: typeof a) => [d.r(MTIME), d.r(MSIP(2)), d.r(CMP(1)), String(d.c.nextDeadline()), d.c.timerPending(1, 5000n)];
  assert.deepEqual(seq(b), seq(a));
  assert.throws(() => b.c.restore({ ...saved, harts: 2 }), { code: 'INTERNAL' });
  assert.throws(() => b.c.restore({ ...saved, mtimecmp: ['1', '2', '18446744073709551616'] }), { code: 'INTERNAL' });
  assert.throws(() => b.c.restore({ ...saved, mtimeOffset: '1e3' }), { code: 'INTERNAL' });
});
