// virtio-input (virtio 1.2 §5.8) through the MMIO transport, driven the way Linux's virtio_input
// driver does: config questions by (select, subsel) byte writes, 8-byte event buffers on the
// eventq, status buffers on the statusq. Hostile buffers and states change nothing they should not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtioMmioTransport, MMIO_DEVICE_ID, MMIO_CONFIG } from '../src/devices/virtio/transport/mmio.js';
import { TRANSPORT_FEATURES } from '../src/devices/virtio/transport/virtio-device.js';
import {
  VirtioInput, powerButton, INPUT_EVENTQ, INPUT_STATUSQ, EV_KEY, EV_SYN, KEY_POWER, SYN_REPORT, BUS_VIRTUAL,
  VIRTIO_INPUT_CFG_ID_NAME, VIRTIO_INPUT_CFG_ID_SERIAL, VIRTIO_INPUT_CFG_ID_DEVIDS, VIRTIO_INPUT_CFG_PROP_BITS,
  VIRTIO_INPUT_CFG_EV_BITS, VIRTIO_INPUT_CFG_ABS_INFO, VIRTIO_INPUT_CFG_UNSET,
} from '../src/devices/virtio/input/input.js';
import { FakeIrq, FakeRam, TestDriver, type DriverQueue } from './virtio-driver.js';

const EV_REL = 0x02, EV_REP = 0x14, KEY_A = 30;

function rig(dev: VirtioInput = powerButton()) {
  const ram = new FakeRam(1 << 20);
  const irq = new FakeIrq();
  const t = new VirtioMmioTransport(dev, { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  /** What virtinput_cfg_select does: write select and subsel (one byte each), read size. */
  const cfgSelect = (select: number, subsel: number) => {
    t.write(MMIO_CONFIG + 0, select, 1);
    t.write(MMIO_CONFIG + 1, subsel, 1);
    return t.read(MMIO_CONFIG + 2, 1);
  };
  const cfgBytes = (n: number) => Array.from({ length: n }, (_, i) => t.read(MMIO_CONFIG + 8 + i, 1));
  return { dev, ram, irq, t, drv, cfgSelect, cfgBytes };
}

/** Negotiates, sets up both queues, DRIVER_OK; posts `n` 8-byte event buffers. */
function running(n = 8, dev?: VirtioInput) {
  const r = rig(dev);
  r.drv.negotiate();
  const evq = r.drv.setupQueue(INPUT_EVENTQ, 16);
  const stq = r.drv.setupQueue(INPUT_STATUSQ, 16);
  r.drv.driverOk();
  const bufs: number[] = [];
  for (let i = 0; i < n; i++) bufs.push(r.drv.alloc(8, 8));
  const post = (addrs: number[]) => { for (const a of addrs) evq.post([{ addr: a, len: 8, write: true }]); r.drv.notify(INPUT_EVENTQ); };
  return { ...r, evq, stq, bufs, post };
}

/** The events in the used buffers taken from `q` (buffer address by descriptor id). */
function events(q: DriverQueue, ram: FakeRam, addrOf: (id: number) => number) {
  return q.takeUsed().map(({ id, len }) => {
    const a = addrOf(id) - ram.base;
    return len === 8 ? [ram.view.getUint16(a, true), ram.view.getUint16(a + 2, true), ram.view.getInt32(a + 4, true)] : ['empty', len];
  });
}

const PRESS: [number, number, number][] = [[EV_KEY, KEY_POWER, 1], [EV_SYN, SYN_REPORT, 0], [EV_KEY, KEY_POWER, 0], [EV_SYN, SYN_REPORT, 0]];

test('virtio-input: device id 18, no device features, two queues', () => {
  const { drv, t } = rig();
  assert.equal(drv.r(MMIO_DEVICE_ID), 18);
  assert.equal(drv.offeredFeatures(), TRANSPORT_FEATURES);
  assert.equal(t.device.numQueues, 2);
});

test('virtio-input: configuration answers (select, subsel) as the Linux driver asks', () => {
  const { cfgSelect, cfgBytes, t } = rig();
  const name = 'rvisor power button';
  assert.equal(cfgSelect(VIRTIO_INPUT_CFG_ID_NAME, 0), name.length);
  assert.equal(String.fromCharCode(...cfgBytes(name.length)), name);
  assert.equal(t.read(MMIO_CONFIG + 0, 1), VIRTIO_INPUT_CFG_ID_NAME, 'select reads back');
  assert.equal(cfgSelect(VIRTIO_INPUT_CFG_ID_SERIAL, 0), 0, 'no serial');
  assert.equal(cfgSelect(VIRTIO_INPUT_CFG_ID_DEVIDS, 0), 8);
  assert.deepEqual(cfgBytes(8), [BUS_VIRTUAL, 0, 0, 0, 1, 0, 1, 0], 'bustype, vendor, product, version (le16)');
  assert.equal(cfgSelect(VIRTIO_INPUT_CFG_PROP_BITS, 0), 0);
  // EV_KEY: a bitmap with only KEY_POWER (116 = byte 14, bit 4)
  assert.equal(cfgSelect(VIRTIO_INPUT_CFG_EV_BITS, EV_KEY), 15);
  const bits = cfgBytes(128);
  assert.deepEqual(bits.slice(0, 15), [...new Array(14).fill(0), 0x10]);
  assert.ok(bits.slice(15).every((b) => b === 0), 'the rest of the union is zero');
  assert.equal(cfgSelect(VIRTIO_INPUT_CFG_EV_BITS, EV_SYN), 1);
  assert.deepEqual(cfgBytes(1), [1], 'SYN_REPORT');
  // types and selections the device does not support: size 0 (§5.8.5.2), union zero
  for (const [sel, sub] of [[VIRTIO_INPUT_CFG_EV_BITS, EV_REL], [VIRTIO_INPUT_CFG_EV_BITS, EV_REP], [VIRTIO_INPUT_CFG_ABS_INFO, 0],
    [VIRTIO_INPUT_CFG_UNSET, 0], [0x55, 0], [VIRTIO_INPUT_CFG_ID_NAME, 1], [VIRTIO_INPUT_CFG_ID_DEVIDS, 7]]) {
    assert.equal(cfgSelect(sel!, sub!), 0, `select ${sel} subsel ${sub}`);
    assert.ok(cfgBytes(128).every((b) => b === 0));
  }
  // a 2-byte write sets select and subsel together; size, reserved bytes and the union are read-only
  t.write(MMIO_CONFIG, VIRTIO_INPUT_CFG_EV_BITS | (EV_KEY << 8), 2);
  assert.equal(t.read(MMIO_CONFIG + 2, 1), 15);
  t.write(MMIO_CONFIG + 2, 99, 1);
  t.write(MMIO_CONFIG + 8, 0xffffffff, 4);
  t.write(MMIO_CONFIG + 200, 0xffffffff, 4);
  assert.equal(t.read(MMIO_CONFIG + 2, 1), 15);
  assert.equal(t.read(MMIO_CONFIG + 8, 4), 0);
  assert.equal(t.read(MMIO_CONFIG + 4, 4), 0, 'reserved');
  assert.equal(t.read(MMIO_CONFIG + 300, 4), 0, 'past the structure');
});

test('virtio-input: a power-key press is key down, SYN, key up, SYN in four buffers, with an interrupt', () => {
  const { dev, evq, ram, irq, bufs, post } = running(8);
  post(bufs.slice(0, 4));
  assert.deepEqual(evq.takeUsed(), [], 'nothing to send yet');
  assert.equal(dev.pressKey(KEY_POWER), true);
  assert.deepEqual(events(evq, ram, (id) => bufs[id]!), PRESS);
  assert.equal(irq.level, true);
  assert.equal(dev.delivered, 4);
});

test('virtio-input: events wait for buffers; the backlog is bounded; reset drops it', () => {
  const dev = new VirtioInput({ name: 'k', events: new Map([[EV_SYN, [0]], [EV_KEY, [KEY_POWER]]]), maxPendingEvents: 9 });
  const { evq, ram, bufs, post, drv } = running(8, dev);
  post(bufs.slice(0, 2));
  assert.equal(dev.pressKey(KEY_POWER), true);
  assert.deepEqual(events(evq, ram, (id) => bufs[id]!), PRESS.slice(0, 2));
  assert.deepEqual(dev.save().pending, PRESS.slice(2));
  assert.equal(dev.pressKey(KEY_POWER), true, '2 + 4 events fit in 9');
  assert.equal(dev.pressKey(KEY_POWER), false, 'a press that does not fit whole is dropped whole');
  assert.equal(dev.save().pending.length, 6);
  post(bufs.slice(2, 8));
  assert.deepEqual(events(evq, ram, (id) => bufs[id]!), [...PRESS.slice(2), ...PRESS]);
  assert.equal(dev.pressKey(KEY_POWER), true);
  assert.equal(dev.save().pending.length, 4);
  drv.negotiate(); // the driver resets the device (status 0) and starts over
  assert.equal(dev.save().pending.length, 0);
  assert.equal(dev.dropped, 4 + 4);
});

test('virtio-input: nothing is sent to a device with no driver, or codes it does not offer', () => {
  const r = rig();
  assert.equal(r.dev.pressKey(KEY_POWER), false, 'no driver');
  assert.equal(r.dev.dropped, 4);
  const { dev } = running(4);
  assert.equal(dev.pressKey(KEY_A), false);
  assert.equal(dev.send([{ type: EV_KEY, code: KEY_POWER, value: 1 }, { type: EV_REL, code: 0, value: 1 }]), false);
  assert.equal(dev.send([{ type: EV_KEY, code: KEY_POWER, value: 2 ** 31 }]), false, 'value outside s32');
  assert.deepEqual(dev.save().pending, [], 'a refused batch queues nothing, not even its valid part');
});

test('virtio-input: hostile event buffers come back empty and the device keeps working', () => {
  const { dev, evq, ram, drv, bufs } = running(4);
  const small = drv.alloc(8, 8);
  evq.post([{ addr: small, len: 4, write: true }]); // too small for an event
  evq.post([{ addr: bufs[0]!, len: 8 }]); // device-readable only
  evq.post([{ addr: 0x1000, len: 8, write: true }]); // outside RAM (the queue returns it itself)
  evq.post([{ addr: bufs[1]!, len: 8, write: true }]);
  ram.bytes.fill(0x77, small - ram.base, small - ram.base + 8);
  drv.notify(INPUT_EVENTQ);
  assert.equal(dev.pressKey(KEY_POWER), true);
  const used = evq.takeUsed();
  assert.deepEqual(used.map((u) => u.len), [0, 0, 0, 8]);
  assert.deepEqual([...ram.bytes.subarray(small - ram.base, small - ram.base + 8)], new Array(8).fill(0x77), 'the small buffer was not written');
  assert.equal(dev.save().pending.length, 3, 'the first event went into the one good buffer');
  evq.post([{ addr: bufs[2]!, len: 16, write: true }]); // larger than an event is fine
  drv.notify(INPUT_EVENTQ);
  assert.deepEqual(evq.takeUsed().map((u) => u.len), [8]);
});

test('virtio-input: status buffers (LEDs) are taken and returned', () => {
  const { stq, drv } = running(0);
  const b = drv.alloc(8, 8);
  stq.post([{ addr: b, len: 8 }]);
  stq.post([{ addr: b, len: 3 }]);
  stq.post([{ addr: b, len: 8, write: true }]);
  drv.notify(INPUT_STATUSQ);
  assert.deepEqual(stq.takeUsed().map((u) => u.len), [0, 0, 0]);
});

test('virtio-input: state round-trips through JSON; a hostile state is cut down to what the device offers', () => {
  const { dev, cfgSelect } = running(0);
  cfgSelect(VIRTIO_INPUT_CFG_EV_BITS, EV_KEY);
  dev.pressKey(KEY_POWER);
  const s = JSON.parse(JSON.stringify(dev.save()));
  assert.deepEqual(s, { select: VIRTIO_INPUT_CFG_EV_BITS, subsel: EV_KEY, pending: PRESS, delivered: 0, dropped: 0 });
  const fresh = rig();
  fresh.dev.restore(s);
  assert.equal(fresh.t.read(MMIO_CONFIG + 2, 1), 15, 'the selected configuration is back');
  assert.deepEqual(fresh.dev.save(), s);
  const hostile = rig();
  hostile.dev.restore({ select: 0x111, subsel: -1, pending: [[EV_KEY, KEY_A, 1], [EV_KEY, KEY_POWER, 1], ...new Array<[number, number, number]>(500).fill([EV_SYN, 0, 0])], delivered: 0, dropped: 0 });
  const h = hostile.dev.save();
  assert.equal(h.select, 0x11);
  assert.equal(h.subsel, 0xff);
  assert.ok(h.pending.length <= 128);
  assert.ok(h.pending.every(([t, c]) => (t === EV_KEY && c === KEY_POWER) || t === EV_SYN));
});
