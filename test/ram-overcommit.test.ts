// GuestRam's overcommit mechanisms (issue #9) on a host memory, without a guest: hypervisor swap
// by recency, balloon discard, zero pages, the counters, and a swap file that cannot be written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostMemory } from '../src/memory/host-memory.js';
import { GuestRam } from '../src/machine/ram.js';
import { collectDirty, shareRam } from '../src/machine/p2m.js';
import { P2M_ACCESSED, P2M_SWAPPED } from '../src/cpu/layout.js';
import { closeSwapFile, openSwapFile, useNodeSwap } from '../src/vmm/swap-file.js';
import { RvisorError } from '../src/errors.js';

const PAGE = 4096, BASE = 0x80000000;
useNodeSwap();

function fill(ram: GuestRam, page: number, seed: number): void {
  const b = new Uint8Array(PAGE);
  for (let i = 0; i < PAGE; i++) b[i] = (seed * 131 + i * 7) & 0xff;
  ram.write(BASE + page * PAGE, b);
}

function sum(ram: GuestRam, page: number): string {
  const b = new Uint8Array(PAGE);
  ram.read(BASE + page * PAGE, b);
  return Buffer.from(b).toString('base64');
}

/** A 4 MiB RAM with a swap file (`swapOn`: a path the swap file links to, e.g. /dev/full). */
function withSwap(fn: (ram: GuestRam, host: HostMemory, dir: string) => void, swapOn?: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-swap-'));
  const host = new HostMemory();
  const ram = new GuestRam(host, BASE, 1024 * PAGE);
  if (swapOn) symlinkSync(swapOn, join(dir, 'swap'));
  const fd = openSwapFile(join(dir, 'swap'));
  ram.setSwapFd(fd);
  try {
    fn(ram, host, dir);
  } finally {
    ram.free();
    closeSwapFile(fd, join(dir, 'swap'));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reclaim swaps out pages not used lately, a touch brings each back intact', () => {
  withSwap((ram, host) => {
    for (let p = 0; p < 300; p++) fill(ram, p, p);
    const want = Array.from({ length: 300 }, (_, p) => sum(ram, p));
    assert.equal(ram.counters().present, 300);
    const framesBefore = host.framesInUse;
    // An aging pass clears every accessed bit; then pages 0..49 are used again: they are hot.
    ram.age();
    for (let p = 0; p < 50; p++) sum(ram, p);
    ram.setLimit(100);
    assert.ok(ram.overLimit());
    ram.settle();
    const c = ram.counters();
    assert.equal(c.present, 100);
    assert.equal(c.swapped, 200);
    assert.equal(c.swapOuts, 200);
    assert.equal(host.framesInUse, framesBefore - 200);
    // Recency: none of the hot pages went out.
    const t = new Uint32Array(host.memory.buffer, ram.p2m, 300);
    for (let p = 0; p < 50; p++) assert.equal(t[p]! & P2M_SWAPPED, 0, `hot page ${p} was swapped`);
    ram.setLimit(0);
    for (let p = 0; p < 300; p++) assert.equal(sum(ram, p), want[p], `page ${p}`);
    const d = ram.counters();
    assert.equal(d.swapped, 0);
    assert.equal(d.swapIns, 200);
    assert.equal(d.present, 300);
  });
});

test('balloon discard and deflate, zero pages: frames go back, content is zero, counters add up', () => {
  withSwap((ram, host) => {
    for (let p = 0; p < 64; p++) fill(ram, p, p + 1);
    const before = host.framesInUse;
    for (let p = 0; p < 32; p++) ram.discard(p, true);
    for (let p = 32; p < 40; p++) ram.discard(p, false);
    ram.discard(5000, true); // outside RAM: ignored
    assert.equal(host.framesInUse, before - 40);
    assert.deepEqual([ram.counters().present, ram.counters().ballooned, ram.counters().zero], [24, 32, 8]);
    for (let p = 0; p < 32; p++) ram.undiscard(p);
    assert.deepEqual([ram.counters().ballooned, ram.counters().zero], [0, 40]);
    assert.equal(sum(ram, 3), Buffer.alloc(PAGE).toString('base64'));
    assert.equal(ram.counters().zero, 39);
    assert.equal(ram.counters().present, 25);
  });
});

test('a clone shares frames; swapping one VM\'s page out never changes the other\'s', () => {
  withSwap((ram, host) => {
    for (let p = 0; p < 20; p++) fill(ram, p, p);
    const want = Array.from({ length: 20 }, (_, p) => sum(ram, p));
    const cloneState = shareRam(host, ram.save());
    const clone = GuestRam.attach(host, cloneState);
    assert.equal(clone.counters().present, 20);
    // Shared frames are the last choice: with only shared pages, the third pass takes them.
    ram.age();
    ram.setLimit(10);
    ram.settle();
    assert.equal(ram.counters().present, 10);
    fill(clone, 3, 99);
    for (let p = 0; p < 20; p++) assert.equal(sum(ram, p), want[p]);
    for (let p = 0; p < 20; p++) if (p !== 3) assert.equal(sum(clone, p), want[p]);
    clone.free();
  });
});

test('a swap file that cannot be written fails with SWAP_FAILED and loses no page', () => {
  withSwap((ram) => {
    for (let p = 0; p < 40; p++) fill(ram, p, p);
    const want = Array.from({ length: 40 }, (_, p) => sum(ram, p));
    ram.age();
    ram.setLimit(10);
    assert.throws(() => ram.settle(), (e: unknown) => e instanceof RvisorError && e.code === 'SWAP_FAILED' && /ENOSPC|no space/i.test(e.message));
    assert.equal(ram.counters().present, 40);
    ram.setLimit(0);
    for (let p = 0; p < 40; p++) assert.equal(sum(ram, p), want[p]);
  }, '/dev/full'); // every write: ENOSPC
});

test('the accessed bit is set by the host on every use of a page', () => {
  withSwap((ram, host) => {
    fill(ram, 7, 1);
    const t = new Uint32Array(host.memory.buffer, ram.p2m, 8);
    ram.age();
    assert.equal(t[7]! & P2M_ACCESSED, 0);
    sum(ram, 7);
    assert.notEqual(t[7]! & P2M_ACCESSED, 0);
  });
});

test('discard: translations dropped in one batch before the guest runs again; the page is logged dirty', () => {
  withSwap((ram, host) => {
    for (let p = 0; p < 20; p++) fill(ram, p, p);
    const moved: number[] = [];
    let flushes = 0;
    ram.onMoved = (f) => moved.push(f);
    ram.onFlush = () => flushes++;
    const ramState = ram.save();
    collectDirty(host, ramState, () => {}); // a migration sent everything: the log is clean
    ram.discard(1, true);
    ram.discard(2, false);
    assert.deepEqual([moved.length, flushes], [0, 0], 'nothing until the batch ends');
    ram.flushDiscards();
    assert.deepEqual([moved.length, flushes], [2, 0]);
    for (let p = 3; p < 15; p++) ram.discard(p, true);
    ram.flushDiscards();
    assert.deepEqual([moved.length, flushes], [2, 1], 'past 8 frames: one full flush');
    const dirty: number[] = [];
    collectDirty(host, ramState, (p) => dirty.push(p));
    assert.deepEqual(dirty, Array.from({ length: 14 }, (_, i) => i + 1), 'a discarded page is sent again (as zero)');
  });
});
