// The bundled Linux guests' (6.12 and 6.1) stock virtio_balloon driver against the board's
// balloon, in this process (BoardSession): the driver binds, statistics arrive, a 16 MiB target is
// reached (ballooned pages hold no frame), a target of 0 gives them back, and memory the guest
// frees is reported (free page reporting) and released; under memory pressure the driver deflates
// by itself (DEFLATE_ON_OOM); a machine saved with the balloon inflated
// and the stats buffer held, and rebuilt from that state, goes on (stats refreshed, deflate).
// Every wait is bounded (generous: the CPU is shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoardSession } from './board-session.js';
import { balloonStatus } from '../src/machine/balloon-status.js';
import { P2M_BALLOONED, P2M_FRAME_MASK } from '../src/cpu/layout.js';
import type { VirtBoard } from '../src/machine/board.js';

const PAGES_16M = (16 << 20) / 4096;

/** Polls `cond` until it holds or `ms` pass; returns whether it held. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(100);
  }
  return cond();
}

/** Pages whose P2M entry says ballooned, and how many of those still have a frame. */
function balloonedPages(board: VirtBoard): { ballooned: number; backed: number } {
  const v = board.host.view, ram = board.ram;
  let ballooned = 0, backed = 0;
  for (let i = 0; i < ram.pages; i++) {
    const e = v.getUint32(ram.p2m + 4 * i, true);
    if (e & P2M_BALLOONED) {
      ballooned++;
      if (e & P2M_FRAME_MASK) backed++;
    }
  }
  return { ballooned, backed };
}

for (const kernel of ['images/Image.gz', 'images/Image-6.1.gz']) {
test(`Linux virtio_balloon (${kernel}): binds, sends stats, inflates to the target and deflates, reports freed pages`, { timeout: 600_000 }, async (t) => {
  const s = new BoardSession({ memBytes: 256 << 20, kernel });
  try {
    await s.waitFor('rvisor guest ready', 180_000);
    const board = s.board, dev = board.balloon!;
    assert.ok(dev, 'the board has a balloon by default');
    const bound = await s.run('ls /sys/bus/virtio/drivers/virtio_balloon/');
    assert.match(bound, /virtio\d+/, 'the stock driver bound a device');

    // statistics: the driver's first buffer arrives at probe, with real values
    assert.ok(await until(() => (dev.stats.total_memory ?? 0) > 0, 60_000), 'stats arrived');
    assert.ok(dev.stats.free_memory! > 0 && dev.stats.free_memory! < dev.stats.total_memory!);
    const firstAt = dev.statsAtMs!;
    assert.ok(await until(() => dev.statsAtMs! > firstAt, 60_000), 'stats refreshed at the interval');

    // free page reporting: memory the guest frees is handed back by itself
    const reported0 = dev.counters.reported;
    await s.run('dd if=/dev/zero of=/tmp/x bs=1M count=32 2>/dev/null; rm /tmp/x', 120_000);
    assert.ok(await until(() => dev.counters.reported > reported0, 60_000),
      `reported pages grow after the guest freed 32 MiB (before ${reported0}, now ${dev.counters.reported})`);

    // data the guest holds across inflate and deflate (checksummed inside the guest)
    const sum = async () => /([0-9a-f]{32})\s+\/tmp\/r/.exec(await s.run('md5sum /tmp/r', 120_000))![1];
    await s.run('dd if=/dev/urandom of=/tmp/r bs=1M count=16 2>/dev/null', 120_000);
    const sum0 = await sum();

    // inflate to 16 MiB
    const backedBefore = board.ram.backedPages();
    const free0 = Number(/MemFree:\s+(\d+)/.exec(await s.run('cat /proc/meminfo'))![1]);
    assert.equal(board.setBalloonTarget(PAGES_16M), true);
    s.kick();
    assert.ok(await until(() => dev.actual === PAGES_16M, 120_000), `actual reaches the target (now ${dev.actual})`);
    assert.equal(dev.counters.inflated, PAGES_16M);
    const b = balloonedPages(board);
    assert.equal(b.ballooned, PAGES_16M, 'the P2M marks the inflated pages ballooned');
    assert.equal(b.backed, 0, 'no ballooned page holds a frame');
    assert.equal(board.ram.counters().ballooned, PAGES_16M);
    assert.ok(board.ram.backedPages() <= backedBefore + 512, 'the balloon did not make the guest hold more frames');
    const free1 = Number(/MemFree:\s+(\d+)/.exec(await s.run('cat /proc/meminfo'))![1]);
    assert.ok(free1 < free0 - 12 * 1024, `MemFree drops by about 16 MiB (${free0} kB -> ${free1} kB)`);
    const st = balloonStatus(board.save());
    assert.equal(st?.targetPages, PAGES_16M);
    assert.equal(st?.actualPages, PAGES_16M);

    // deflate to 0
    board.setBalloonTarget(0);
    s.kick();
    assert.ok(await until(() => dev.actual === 0, 120_000), `actual back to 0 (now ${dev.actual})`);
    assert.equal(dev.counters.deflated, PAGES_16M);
    assert.equal(balloonedPages(board).ballooned, 0);
    assert.equal(board.ram.counters().ballooned, 0);
    t.diagnostic(`stats ${JSON.stringify(dev.stats)}; reported ${dev.counters.reported} pages; MemFree ${free0} -> ${free1} kB`);
    // the guest still works and its data is intact
    assert.match(await s.run('echo ok-$((6*7))'), /ok-42/);
    assert.equal(await sum(), sum0, '16 MiB of random data in tmpfs reads back the same');
  } finally {
    await s.stop();
  }
});
}

test('Linux virtio_balloon: deflate on OOM (a guest with 100 of its 128 MiB ballooned writes 40 MiB to tmpfs and lives)', { timeout: 600_000 }, async () => {
  const s = new BoardSession({ memBytes: 128 << 20 });
  try {
    await s.waitFor('rvisor guest ready', 180_000);
    const dev = s.board.balloon!;
    const target = (100 << 20) / 4096;
    s.board.setBalloonTarget(target);
    s.kick();
    assert.ok(await until(() => dev.actual === target, 120_000), `actual reaches ${target} (now ${dev.actual})`);
    const out = await s.run('dd if=/dev/zero of=/tmp/x bs=1M count=40 2>&1; rm /tmp/x; echo still-$((6*7))', 120_000);
    assert.match(out, /41943040 bytes/, 'the write succeeded');
    assert.match(out, /still-42/);
    assert.ok(dev.counters.deflated > 0 && dev.actual < target, `the driver deflated under pressure (deflated ${dev.counters.deflated}, actual ${dev.actual})`);
    assert.equal(balloonedPages(s.board).ballooned, dev.actual, 'the P2M agrees with the driver');
  } finally {
    await s.stop();
  }
});

test('Linux virtio_balloon: a machine saved inflated, with the stats buffer held, goes on after a rebuild from its state', { timeout: 600_000 }, async () => {
  const s = new BoardSession({ memBytes: 256 << 20 });
  let s2: BoardSession | undefined;
  try {
    await s.waitFor('rvisor guest ready', 180_000);
    const dev = s.board.balloon!;
    assert.ok(await until(() => dev.save().statsHead !== undefined, 60_000), 'the stats buffer is held');
    s.board.setBalloonTarget(2048);
    s.kick();
    assert.ok(await until(() => dev.actual === 2048, 120_000), `actual reaches 2048 (now ${dev.actual})`);
    const host = s.board.host;
    const state = await s.hold();
    const saved = balloonStatus(state)!;
    assert.equal(saved.actualPages, 2048);
    assert.equal(saved.targetPages, 2048);
    s2 = new BoardSession({ memBytes: 256 << 20, restore: { host, state } });
    const dev2 = s2.board.balloon!;
    assert.equal(dev2.actual, 2048);
    assert.equal(balloonedPages(s2.board).ballooned, 2048, 'the P2M keeps the ballooned pages');
    // the held buffer is used at the next interval; the driver refills it
    assert.ok(await until(() => (dev2.statsAtMs ?? 0) > (saved.statsAtMs ?? 0), 60_000), 'stats go on after the rebuild');
    s2.board.setBalloonTarget(0);
    s2.kick();
    assert.ok(await until(() => dev2.actual === 0, 120_000), `deflated after the rebuild (now ${dev2.actual})`);
    assert.equal(balloonedPages(s2.board).ballooned, 0);
    assert.match(await s2.run('echo ok-$((6*7))'), /ok-42/);
  } finally {
    await s.stop();
    await s2?.stop();
  }
});
