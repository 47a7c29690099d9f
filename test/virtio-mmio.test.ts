// The virtio-mmio v2 transport (virtio 1.2 §4.2): identification registers, feature negotiation
// with VIRTIO_F_VERSION_1 mandatory, queue registers, reset, interrupts, the empty slot and the
// device-tree node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FdtNodeWriter } from '../src/devices/device.js';
import {
  VirtioMmioTransport, EmptyVirtioMmioSlot, MMIO_MAGIC_VALUE, MMIO_VERSION, MMIO_DEVICE_ID, MMIO_VENDOR_ID,
  MMIO_QUEUE_SEL, MMIO_QUEUE_NUM_MAX, MMIO_QUEUE_READY, MMIO_STATUS, MMIO_INTERRUPT_STATUS, MMIO_SHM_LEN_LOW,
  MMIO_SHM_LEN_HIGH, MMIO_CONFIG_GENERATION, MMIO_DRIVER_FEATURES, MMIO_DRIVER_FEATURES_SEL, MMIO_CONFIG,
  INT_CONFIG_CHANGE,
} from '../src/devices/virtio/transport/mmio.js';
import {
  STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FEATURES_OK, STATUS_DEVICE_NEEDS_RESET,
  VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC, type VirtioDevice, type VirtioHost,
} from '../src/devices/virtio/transport/virtio-device.js';
import { fdtNode } from '../src/devices/virtio/transport/fdt.js';
import { VirtioRng } from '../src/devices/virtio/rng/rng.js';
import { FakeIrq, FakeRam, TestDriver } from './virtio-driver.js';

function rngRig() {
  const ram = new FakeRam(1 << 20);
  const irq = new FakeIrq();
  let calls = 0;
  const rng = new VirtioRng((b) => { calls++; b.fill(0x5a); });
  const t = new VirtioMmioTransport(rng, { mem: ram, irq });
  return { ram, irq, t, rng, drv: new TestDriver(t, ram), calls: () => calls };
}

test('virtio-mmio: identification registers as Linux probes them', () => {
  const { drv } = rngRig();
  assert.equal(drv.r(MMIO_MAGIC_VALUE), 0x74726976);
  assert.equal(drv.r(MMIO_VERSION), 2);
  assert.equal(drv.r(MMIO_DEVICE_ID), 4);
  assert.equal(drv.r(MMIO_VENDOR_ID), 0x554d4551);
  const f = drv.offeredFeatures();
  assert.ok(f & VIRTIO_F_VERSION_1);
  assert.ok(f & VIRTIO_RING_F_EVENT_IDX);
  assert.ok(f & VIRTIO_RING_F_INDIRECT_DESC);
  assert.equal(drv.r(MMIO_SHM_LEN_LOW), 0xffffffff, 'no shared memory region');
  assert.equal(drv.r(MMIO_SHM_LEN_HIGH), 0xffffffff);
  assert.equal(drv.dev.read(MMIO_MAGIC_VALUE, 1), 0, 'registers are 32-bit only');
  drv.w(MMIO_QUEUE_SEL, 0);
  assert.equal(drv.r(MMIO_QUEUE_NUM_MAX), 64);
  drv.w(MMIO_QUEUE_SEL, 1);
  assert.equal(drv.r(MMIO_QUEUE_NUM_MAX), 0, 'no such queue');
  assert.equal(drv.r(MMIO_QUEUE_READY), 0);
  drv.w(MMIO_QUEUE_READY, 1); // ignored, no throw
  assert.equal(drv.r(0x0f0), 0, 'unimplemented register reads 0');
  drv.w(0x0f0, 123); // and ignores writes
});

test('virtio-mmio: an empty slot is DeviceID 0 behind a valid header', () => {
  const e = new EmptyVirtioMmioSlot();
  assert.equal(e.read(MMIO_MAGIC_VALUE, 4), 0x74726976);
  assert.equal(e.read(MMIO_VERSION, 4), 2);
  assert.equal(e.read(MMIO_DEVICE_ID, 4), 0);
  e.write(MMIO_STATUS, 1, 4);
  assert.equal(e.read(MMIO_STATUS, 4), 0);
});

test('virtio-mmio: FEATURES_OK only for a subset of the offer that includes VERSION_1', () => {
  const { drv } = rngRig();
  assert.equal(drv.negotiate({ exact: VIRTIO_RING_F_EVENT_IDX }) & STATUS_FEATURES_OK, 0, 'legacy driver refused');
  assert.equal(drv.negotiate({ exact: VIRTIO_F_VERSION_1 | (1n << 5n) }) & STATUS_FEATURES_OK, 0, 'unoffered bit refused');
  assert.equal(drv.negotiate({ exact: VIRTIO_F_VERSION_1 | (1n << 40n) }) & STATUS_FEATURES_OK, 0, 'RING_RESET not offered');
  const st = drv.negotiate({ exact: VIRTIO_F_VERSION_1 });
  assert.equal(st, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  // features are frozen once accepted
  drv.w(MMIO_DRIVER_FEATURES_SEL, 0);
  drv.w(MMIO_DRIVER_FEATURES, 1 << 29);
  assert.equal((drv.dev as VirtioMmioTransport).driverFeatures, VIRTIO_F_VERSION_1);
  // the driver cannot set DEVICE_NEEDS_RESET, nor clear bits without a reset
  drv.w(MMIO_STATUS, STATUS_DEVICE_NEEDS_RESET | STATUS_ACKNOWLEDGE);
  assert.equal(drv.r(MMIO_STATUS), st);
  drv.w(MMIO_STATUS, 0);
  assert.equal(drv.r(MMIO_STATUS), 0, 'reset');
  assert.equal((drv.dev as VirtioMmioTransport).driverFeatures, 0n);
});

test('virtio-mmio: buffers posted before DRIVER_OK are processed when it is set; reset stops the queue', () => {
  const { drv, ram, irq } = rngRig();
  drv.negotiate();
  const q = drv.setupQueue(0);
  const buf = drv.alloc(32);
  q.post([{ addr: buf, len: 32, write: true }]);
  drv.notify(0);
  assert.deepEqual(q.takeUsed(), [], 'nothing before DRIVER_OK');
  drv.driverOk();
  assert.deepEqual(q.takeUsed(), [{ id: 0, len: 32 }]);
  assert.ok(ram.bytes.subarray(buf - ram.base, buf - ram.base + 32).every((b) => b === 0x5a));
  assert.equal(irq.level, true);
  drv.w(MMIO_STATUS, 0);
  assert.equal(irq.level, false, 'reset clears the interrupt');
  drv.w(MMIO_QUEUE_SEL, 0);
  assert.equal(drv.r(MMIO_QUEUE_READY), 0, 'reset clears QueueReady');
  q.post([{ addr: buf, len: 32, write: true }]);
  drv.notify(0);
  assert.deepEqual(q.takeUsed(), []);
});

test('virtio-mmio: QueueReady reads back, can be cleared (vm_del_vq); queue registers frozen while live', () => {
  const { drv, t } = rngRig();
  drv.negotiate();
  drv.setupQueue(0, 16);
  drv.w(MMIO_QUEUE_SEL, 0);
  assert.equal(drv.r(MMIO_QUEUE_READY), 1);
  drv.w(0x038, 8); // QueueNum while live: ignored
  assert.equal(t.save().queues[0]!.size, 16);
  drv.w(MMIO_QUEUE_READY, 0);
  assert.equal(drv.r(MMIO_QUEUE_READY), 0);
});

test('virtio-mmio: a device that throws is failed with DEVICE_NEEDS_RESET, the host carries on', () => {
  const dev: VirtioDevice = {
    deviceId: 42, features: 0n, numQueues: 1,
    queueMaxSize: () => 8, attach: (_h: VirtioHost) => {}, readConfig: () => 0, writeConfig: () => {}, reset: () => {},
    notify: () => { throw new Error('boom'); },
  };
  const ram = new FakeRam(1 << 20);
  const irq = new FakeIrq();
  const t = new VirtioMmioTransport(dev, { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  drv.negotiate();
  drv.setupQueue(0);
  drv.driverOk();
  assert.doesNotThrow(() => drv.notify(0));
  assert.ok(drv.r(MMIO_STATUS) & STATUS_DEVICE_NEEDS_RESET);
  assert.equal(drv.r(MMIO_INTERRUPT_STATUS), INT_CONFIG_CHANGE);
  assert.match(t.lastError, /boom/);
});

test('virtio-mmio: config change bumps ConfigGeneration and interrupts after DRIVER_OK', () => {
  let host: VirtioHost | undefined;
  const dev: VirtioDevice = {
    deviceId: 9, features: 0n, numQueues: 0,
    queueMaxSize: () => 0, attach: (h) => { host = h; }, readConfig: (o, s) => (o === 0 && s === 4 ? 0xdeadbeef : 0),
    writeConfig: () => {}, reset: () => {}, notify: () => {},
  };
  const ram = new FakeRam(1 << 16);
  const irq = new FakeIrq();
  const t = new VirtioMmioTransport(dev, { mem: ram, irq });
  const drv = new TestDriver(t, ram);
  assert.equal(drv.r(MMIO_CONFIG), 0xdeadbeef);
  const g = drv.r(MMIO_CONFIG_GENERATION);
  host!.configChanged();
  assert.equal(drv.r(MMIO_CONFIG_GENERATION), g + 1);
  assert.equal(irq.level, false, 'no interrupt before DRIVER_OK');
  drv.negotiate();
  drv.driverOk();
  host!.configChanged();
  assert.equal(irq.level, true);
  assert.equal(drv.ack(), INT_CONFIG_CHANGE);
  assert.equal(irq.level, false);
});

test('virtio-mmio: the device-tree node matches QEMU virt', () => {
  const log: string[] = [];
  const w: FdtNodeWriter = {
    beginNode: (n) => log.push(`begin ${n}`),
    endNode: () => log.push('end'),
    propU32: (n, ...v) => log.push(`${n} = <${v.join(' ')}>`),
    propU64: (n, ...v) => log.push(`${n} = /bits/ 64 <${v.map((x) => '0x' + x.toString(16)).join(' ')}>`),
    propString: (n, ...v) => log.push(`${n} = "${v.join('","')}"`),
    propBytes: () => {},
    propEmpty: (n) => log.push(n),
    phandle: () => 0,
  };
  fdtNode(w, { plicPhandle: 3 }, { base: 0x10008000, irq: 8 });
  assert.deepEqual(log, [
    'begin virtio_mmio@10008000',
    'interrupts = <8>',
    'interrupt-parent = <3>',
    'reg = /bits/ 64 <0x10008000 0x1000>',
    'compatible = "virtio,mmio"',
    'end',
  ]);
});
