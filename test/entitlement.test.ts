// The memory manager's entitlement rule (src/vmm/entitlement.ts): shares per page with the idle
// memory tax, reservations never crossed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entitlements } from '../src/vmm/entitlement.js';

test('under contention the idle VM gives more than the busy one (idle memory tax)', () => {
  const busy = { pages: 50000, reservation: 0, shares: 1000, active: 0.9 };
  const idle = { pages: 50000, reservation: 0, shares: 1000, active: 0.05 };
  const [b, i] = entitlements([busy, idle], 40000, 75);
  assert.equal(b! + i!, 60000);
  assert.ok(i! < b!, `idle keeps ${i}, busy ${b}`);
  // Without the tax (0%) equal shares on equal pages give back equally.
  const [b0, i0] = entitlements([busy, idle], 40000, 0);
  assert.ok(Math.abs(b0! - i0!) <= 512, `${b0} vs ${i0}`);
});

test('shares weigh the claim, reservations are never crossed, excess beyond them is left', () => {
  const [hi, lo] = entitlements([
    { pages: 40000, reservation: 0, shares: 3000, active: 1 },
    { pages: 40000, reservation: 0, shares: 1000, active: 1 },
  ], 40000, 75);
  assert.ok(hi! > lo! * 2, `more shares keep more: ${hi} vs ${lo}`);
  const [r1, r2] = entitlements([
    { pages: 30000, reservation: 25000, shares: 1, active: null },
    { pages: 30000, reservation: 20000, shares: 1000000, active: null },
  ], 100000, 75);
  assert.deepEqual([r1, r2], [25000, 20000]);
  assert.deepEqual(entitlements([{ pages: 100, reservation: 0, shares: 1, active: 0 }], 0, 75), [100]);
});
