// Guest RAM beyond one WebAssembly.Memory (4 GiB): three VMs whose guests each write and re-read
// 1.5 GiB run at once, their RAM spread over several shared-memory arenas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHost, ConsoleReader, toucherProgram, bareMetalVm } from './host-helpers.js';

const TOUCH = 1.5 * 1024 ** 3;

test('three VMs each touching 1.5 GiB run at once across arenas, every page intact', async () => {
  await withHost({ pcpus: 2 }, async (host, dir) => {
    const names = ['big-0', 'big-1', 'big-2'];
    for (const n of names) host.define(bareMetalVm(dir, n, toucherProgram(TOUCH + 65536), '1600M'));
    for (const n of names) await host.start(n);
    const consoles = names.map((n) => new ConsoleReader(host, n));
    // Each guest writes every page ("W"), then verifies them in a loop ("V" per clean pass).
    await Promise.all(consoles.map((c) => c.waitFor('W', 300000)));
    for (const c of consoles) await c.waitFor('VV', 300000); // two passes after all three wrote
    for (const c of consoles) assert.ok(!c.text.includes('X'), `${c.name} found a page that changed`);
    const stats = names.map((n) => host.stats(n));
    for (const s of stats) {
      assert.equal(s.state, 'running');
      assert.ok(s.memory.presentBytes >= TOUCH, `${s.name} holds ${s.memory.presentBytes} bytes`);
    }
    const h = host.hostStats();
    assert.ok(h.arenas.length >= 2, `${h.arenas.length} arena(s)`);
    const held = h.arenas.reduce((n, a) => n + a.framesInUse * 4096, 0);
    assert.ok(held > 3 * TOUCH && held > 4 * 1024 **3, `frames in use: ${held} bytes`);
    for (const n of names) await host.destroy(n);
    assert.ok(host.hostStats().arenas.every((a) => a.framesInUse * 4096 < 64 * 1048576), 'the frames went back to their arenas');
  });
});

test('a frame-pool lock left held by a thread that is gone is freed by its tag, and only by its tag', async () => {
  const { HostMemory } = await import('../src/memory/host-memory.js');
  const { Worker } = await import('node:worker_threads');
  const main = new HostMemory();
  // a thread takes the lock and is terminated while holding it (as the watchdog cuts off a pCPU)
  const src = `const { workerData, threadId, parentPort } = require('node:worker_threads');
    const i32 = new Int32Array(workerData.buffer, 0xf000, 64);
    Atomics.compareExchange(i32, 0, 0, threadId + 1); parentPort.postMessage('held'); for (;;) {}`;
  const w = new Worker(src, { eval: true, workerData: { buffer: main.memory.buffer } });
  const tag = w.threadId + 1;
  await new Promise((res) => w.once('message', res));
  await w.terminate();
  assert.equal(HostMemory.releaseHeldBy(main.memory, tag + 1), false, 'another tag does not free it');
  assert.equal(HostMemory.releaseHeldBy(main.memory, tag), true);
  const f = main.allocFrame(); // would spin for ever with the lock still held
  main.freeFrame(f);
  assert.equal(HostMemory.releaseHeldBy(main.memory, tag), false, 'free now');
});
