// SiFive test / syscon: power off, reboot, fail with exit code; everything else ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SifiveTest } from '../src/devices/syscon/syscon.js';

function make() {
  const log: string[] = [];
  const d = new SifiveTest({ onPowerOff: () => log.push('off'), onReboot: () => log.push('reboot'), onFail: (c) => log.push(`fail ${c}`) });
  return { d, log };
}

test('0x5555 powers off, 0x7777 reboots, 0x3333 | code << 16 fails with code', () => {
  const { d, log } = make();
  d.write(0, 0x5555, 4);
  d.write(0, 0x7777, 4);
  d.write(0, 0x3333 | (42 << 16), 4);
  d.write(0, 0xffff3333, 4);
  d.write(0, 0x3333, 4);
  d.write(0, 0x5555, 2); // QEMU accepts 2-byte writes
  assert.deepEqual(log, ['off', 'reboot', 'fail 42', 'fail 65535', 'fail 0', 'off']);
});

test('other values, offsets and sizes are ignored; reads return 0', () => {
  const { d, log } = make();
  d.write(0, 0x1234, 4);
  d.write(0, 0x55, 1);
  d.write(4, 0x5555, 4);
  d.write(0, 0x5555, 8);
  d.write(-1, 0x5555, 4);
  d.write(NaN, 0x5555, 4);
  assert.deepEqual(log, []);
  assert.equal(d.read(0, 4), 0);
  assert.equal(d.read(0x999, 3), 0);
});

test('save/restore: an empty, versioned state', () => {
  const { d } = make();
  const s = d.save();
  d.restore(JSON.parse(JSON.stringify(s)));
  assert.deepEqual(d.save(), s);
  assert.throws(() => d.restore({ version: 2 } as never), { code: 'INTERNAL' });
});
