// Goldfish RTC: latched time reads, set_time, alarms and the interrupt, hostile accesses,
// save/restore. Time comes from a fake wall clock (the device never reads a real one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoldfishRtc, type GoldfishRtcState } from '../src/devices/rtc/rtc.js';

const TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c, IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14, ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c;

function make(start = 1_700_000_000_123_456_789n) {
  const clock = { ns: start };
  const irq = { level: false, set(l: boolean) { this.level = l; } };
  const rtc = new GoldfishRtc({ wallNs: () => clock.ns, irq });
  const r = (o: number) => rtc.read(o, 4);
  const w = (o: number, v: number) => rtc.write(o, v, 4);
  const readTime = () => BigInt(r(TIME_LOW)) | (BigInt(r(TIME_HIGH)) << 32n); // Linux's order
  const setAlarm = (t: bigint) => { w(ALARM_HIGH, Number(t >> 32n)); w(ALARM_LOW, Number(t & 0xffffffffn)); };
  return { rtc, clock, irq, r, w, readTime, setAlarm };
}

test('reading TIME_LOW latches TIME_HIGH', () => {
  const { clock, r, readTime } = make();
  assert.equal(readTime(), clock.ns);
  const low = r(TIME_LOW);
  const before = clock.ns;
  clock.ns += 1n << 32n; // the high half moves on...
  assert.equal(r(TIME_HIGH), Number(before >> 32n)); // ...but TIME_HIGH is the latched one
  assert.equal(low, Number(before & 0xffffffffn));
  assert.equal(readTime(), clock.ns);
});

test('set_time (TIME_HIGH then TIME_LOW, as Linux) moves the guest clock only', () => {
  const { rtc, clock, w, readTime } = make();
  const target = 946_684_800_000_000_000n; // 2000-01-01
  w(TIME_HIGH, Number(target >> 32n));
  w(TIME_LOW, Number(target & 0xffffffffn));
  assert.equal(readTime(), target);
  clock.ns += 5_000n;
  assert.equal(readTime(), target + 5_000n);
  assert.equal(rtc.guestNs(), target + 5_000n);
});

test('alarm in the future: ALARM_STATUS, nextAlarm, fires on poll, IRQ gated by IRQ_ENABLED', () => {
  const { rtc, clock, irq, r, w, setAlarm } = make();
  const at = clock.ns + 1_000_000n;
  setAlarm(at);
  assert.equal(r(ALARM_STATUS), 1);
  assert.equal(r(ALARM_LOW), Number(at & 0xffffffffn));
  assert.equal(r(ALARM_HIGH), Number(at >> 32n));
  assert.equal(rtc.nextAlarm(), at);
  w(IRQ_ENABLED, 1);
  assert.equal(r(IRQ_ENABLED), 1);
  clock.ns = at - 1n;
  rtc.poll();
  assert.equal(irq.level, false);
  clock.ns = at;
  rtc.poll();
  assert.equal(irq.level, true);
  assert.equal(r(ALARM_STATUS), 0);
  assert.equal(rtc.nextAlarm(), undefined);
  w(IRQ_ENABLED, 0);
  assert.equal(irq.level, false);
  w(IRQ_ENABLED, 1);
  assert.equal(irq.level, true); // still pending until cleared
  w(CLEAR_INTERRUPT, 1);
  assert.equal(irq.level, false);
});

test('alarm in the past fires at once; CLEAR_ALARM disarms', () => {
  const { rtc, clock, irq, r, w, setAlarm } = make();
  w(IRQ_ENABLED, 1);
  setAlarm(clock.ns - 1n);
  assert.equal(irq.level, true);
  assert.equal(r(ALARM_STATUS), 0);
  w(CLEAR_INTERRUPT, 0);
  setAlarm(clock.ns + 10n);
  w(CLEAR_ALARM, 1);
  assert.equal(r(ALARM_STATUS), 0);
  clock.ns += 100n;
  rtc.poll();
  assert.equal(irq.level, false);
});

test('alarm is compared with guest time (after set_time) and nextAlarm is in wall time', () => {
  const { rtc, clock, irq, w, setAlarm } = make(1_000_000n);
  w(TIME_HIGH, 0);
  w(TIME_LOW, 500_000); // guest = wall - 500000
  w(IRQ_ENABLED, 1);
  setAlarm(600_000n);
  assert.equal(rtc.nextAlarm(), 1_100_000n);
  clock.ns = 1_099_999n;
  rtc.poll();
  assert.equal(irq.level, false);
  clock.ns = 1_100_000n;
  rtc.poll();
  assert.equal(irq.level, true);
});

test('hostile accesses read 0 and never throw', () => {
  const { rtc, irq } = make();
  for (const off of [0x20, 0x1000, -4, 1, 2, 3, 1.5, NaN]) {
    assert.equal(rtc.read(off, 4), 0);
    rtc.write(off, 1, 4);
  }
  for (const size of [1, 2, 8, 0]) {
    assert.equal(rtc.read(TIME_LOW, size), 0);
    rtc.write(IRQ_ENABLED, 1, size);
    rtc.write(ALARM_LOW, 0, size);
  }
  assert.equal(rtc.read(IRQ_ENABLED, 4), 0);
  assert.equal(rtc.read(ALARM_STATUS, 4), 0);
  assert.equal(rtc.read(CLEAR_INTERRUPT, 4), 0);
  assert.equal(irq.level, false);
});

test('save/restore round-trips mid-operation (through JSON) and re-drives the IRQ', () => {
  const a = make();
  a.w(TIME_HIGH, 1);
  a.w(IRQ_ENABLED, 1);
  a.r(TIME_LOW);
  a.setAlarm(a.rtc.guestNs() + 50n);
  const saved = a.rtc.save();
  const b = make();
  b.rtc.restore(JSON.parse(JSON.stringify(saved)) as GoldfishRtcState);
  assert.deepEqual(b.rtc.save(), saved);
  assert.equal(b.irq.level, false);
  for (const d of [a, b]) {
    d.clock.ns += 60n;
    d.rtc.poll();
  }
  assert.equal(b.irq.level, true);
  const seq = (d: typeof a) => [d.r(TIME_HIGH), d.r(ALARM_STATUS), d.readTime(), d.irq.level];
  assert.deepEqual(seq(b), seq(a));
  const fired = a.rtc.save();
  const c = make();
  c.rtc.restore(fired);
  assert.equal(c.irq.level, true);
  assert.throws(() => c.rtc.restore({ ...fired, offsetNs: 'x' }), { code: 'INTERNAL' });
  assert.throws(() => c.rtc.restore({ ...fired, alarmNs: '-1' }), { code: 'INTERNAL' });
});
