// virtio-rng (§5.4) and virtio-console (§5.3) through the MMIO transport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { VirtioMmioTransport, MMIO_DEVICE_ID } from '../src/devices/virtio/transport/mmio.js';
import { VirtioRng } from '../src/devices/virtio/rng/rng.js';
import { VirtioConsole, CONSOLE_RECEIVEQ, CONSOLE_TRANSMITQ } from '../src/devices/virtio/console/console.js';
import { FakeIrq, FakeRam, TestDriver } from './virtio-driver.js';

test('virtio-rng: fills device-writable buffers from crypto.getRandomValues, in 64 KiB pieces', () => {
  const ram = new FakeRam(2 << 20);
  const irq = new FakeIrq();
  const sizes: number[] = [];
  const rng = new VirtioRng((b) => { sizes.push(b.length); webcrypto.getRandomValues(b); }, { maxBytesPerRequest: 100000 });
  const t = new VirtioMmioTransport(rng, { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  assert.equal(drv.r(MMIO_DEVICE_ID), 4);
  drv.negotiate();
  const q = drv.setupQueue(0);
  drv.driverOk();
  const a = drv.alloc(64);
  const b = drv.alloc(200000);
  q.post([{ addr: a, len: 64, write: true }]);
  q.post([{ addr: b, len: 50000, write: true }, { addr: b + 50000, len: 150000, write: true }]);
  drv.notify(0);
  assert.deepEqual(q.takeUsed(), [{ id: 0, len: 64 }, { id: 1, len: 100000 }], 'capped at maxBytesPerRequest');
  assert.ok(sizes.every((n) => n <= 65536));
  const filled = ram.bytes.subarray(b - ram.base, b - ram.base + 100000);
  assert.ok(filled.some((x) => x !== 0));
  assert.equal(irq.level, true);
  assert.equal(rng.bytesServed, 100064);
  // a failing entropy source gives short (empty) answers, not exceptions
  const bad = new VirtioRng(() => { throw new Error('no entropy'); });
  const t2 = new VirtioMmioTransport(bad, { mem: ram, irq: new FakeIrq() });
  const d2 = new TestDriver(t2, ram);
  d2.negotiate();
  const q2 = d2.setupQueue(0, 8);
  d2.driverOk();
  q2.post([{ addr: a, len: 16, write: true }]);
  assert.doesNotThrow(() => d2.notify(0));
  assert.deepEqual(q2.takeUsed(), [{ id: 0, len: 0 }]);
  assert.deepEqual(JSON.parse(JSON.stringify(rng.save())), { bytesServed: 100064 });
});

test('virtio-console: guest output reaches the host; host input waits for receive buffers', () => {
  const ram = new FakeRam(1 << 20);
  const irq = new FakeIrq();
  const out: string[] = [];
  const con = new VirtioConsole({ output: (b) => out.push(Buffer.from(b).toString()) });
  const t = new VirtioMmioTransport(con, { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  assert.equal(drv.r(MMIO_DEVICE_ID), 3);
  drv.negotiate();
  const rx = drv.setupQueue(CONSOLE_RECEIVEQ);
  const tx = drv.setupQueue(CONSOLE_TRANSMITQ);
  drv.driverOk();

  const msg = drv.alloc(32);
  ram.write(msg, new TextEncoder().encode('hello, world\n'));
  tx.post([{ addr: msg, len: 7 }, { addr: msg + 7, len: 6 }]);
  drv.notify(CONSOLE_TRANSMITQ);
  assert.deepEqual(out, ['hello, world\n']);
  assert.deepEqual(tx.takeUsed(), [{ id: 0, len: 0 }]);

  con.input(new TextEncoder().encode('ls\n'));
  assert.deepEqual(con.save(), { pendingInput: [0x6c, 0x73, 0x0a] }, 'no receive buffer yet');
  const inb = drv.alloc(2);
  const inb2 = drv.alloc(16);
  rx.post([{ addr: inb, len: 2, write: true }]);
  rx.post([{ addr: inb2, len: 16, write: true }]);
  drv.ack();
  drv.notify(CONSOLE_RECEIVEQ);
  assert.deepEqual(rx.takeUsed(), [{ id: 0, len: 2 }, { id: 1, len: 1 }]);
  assert.equal(Buffer.from(ram.bytes.subarray(inb - ram.base, inb - ram.base + 2)).toString(), 'ls');
  assert.equal(ram.bytes[inb2 - ram.base], 0x0a);
  assert.equal(irq.level, true);
  assert.deepEqual(con.save(), { pendingInput: [] });
  con.restore({ pendingInput: [0x41] });
  rx.post([{ addr: inb, len: 2, write: true }]);
  drv.notify(CONSOLE_RECEIVEQ);
  assert.deepEqual(rx.takeUsed(), [{ id: 2, len: 1 }]);
});
