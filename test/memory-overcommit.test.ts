// Memory overcommit on a host with the bundled Linux guest (issue #9): a limit enforced by
// hypervisor swap (no balloon driver) and by the balloon, page sharing between VMs of one sharing
// group with copy-on-write, admission control, and a swap file on a full disk failing its VM only.
// Every guest's data is checked from inside the guest (md5sum) before and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGES_DIR } from '../src/vmm/files.js';
import { ConsoleReader, errorCode, withHost, waitForState } from './host-helpers.js';
import type { Host } from '../src/vmm/host.js';

const MiB = 1048576;

async function until(what: string, fn: () => boolean, timeoutMs = 60000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function boot(host: Host, name: string): Promise<ConsoleReader> {
  await host.start(name);
  const c = new ConsoleReader(host, name);
  await c.waitFor('rvisor guest ready', 180_000);
  await c.run('dmesg -n 1');
  return c;
}

// Commands stay short: the guest's shell wraps lines past 80 columns, which ConsoleReader.run cannot parse.
const md5 = (c: ConsoleReader, file: string) => c.run(`md5sum ${file}|cut -c-32`);

test('a limit with no balloon driver: the host swaps the guest\'s cold pages and every byte comes back', { timeout: 300_000 }, async () => {
  await withHost({ pcpus: 2, pageSharingRate: 0, hostMem: '1G' }, async (host) => {
    host.define({ name: 'lim', memory: '256M', limit: '48M', balloon: false });
    const c = await boot(host, 'lim');
    await c.run('head -c 67108864 /dev/urandom >/tmp/r');
    const sum = await md5(c, '/tmp/r');
    assert.match(sum, /^[0-9a-f]{32}$/);
    const s = host.stats('lim').memory;
    assert.ok(s.swapOuts > 4096, `pages went to the swap file (${s.swapOuts})`);
    assert.ok(s.swappedBytes > 16 * MiB, `${s.swappedBytes / MiB} MiB swapped`);
    assert.ok(s.presentBytes <= 48 * MiB + 8 * MiB, `present ${s.presentBytes / MiB} MiB, limit 48 MiB`);
    assert.equal(s.limitBytes, 48 * MiB);
    assert.equal(await md5(c, '/tmp/r'), sum);
    assert.ok(host.stats('lim').memory.swapIns > 0);
    // Raising the limit live: the guest takes its pages back as it touches them.
    assert.deepEqual(host.memtune('lim', { limit: null }), { reservation: '0', limit: null, shares: 2560 });
    assert.equal(await md5(c, '/tmp/r'), sum);
    assert.ok(host.stats('lim').memory.presentBytes > 64 * MiB);
    // A reservation the host cannot give is refused and changes nothing.
    assert.equal(await errorCode(() => host.memtune('lim', { reservation: '2G' })), 'BAD_DEFINITION'); // more than its memory
    host.define({ name: 'big', memory: '2G', reservation: '1100M' });
    assert.equal(await errorCode(host.start('big')), 'INSUFFICIENT_MEMORY');
    assert.equal(host.info('big').state, 'shutoff');
    assert.equal(host.memtune('lim', { reservation: '200M' }).reservation, '200M');
    host.define({ name: 'fits', memory: '1G', reservation: '900M' });
    assert.equal(await errorCode(host.start('fits')), 'INSUFFICIENT_MEMORY', '200M + 900M is more than --host-mem 1G');
    assert.equal(host.hostStats().memory.reservedBytes, 200 * MiB);
    assert.match(await c.run('echo alive'), /alive/);
  });
});

test('a limit with the balloon: the guest gives memory back, then gets it back, data intact', { timeout: 300_000 }, async () => {
  await withHost({ pcpus: 2, pageSharingRate: 0, hostMem: '2G' }, async (host) => {
    host.define({ name: 'bal', memory: '256M' });
    const c = await boot(host, 'bal');
    await c.run('head -c 33554432 /dev/urandom >/tmp/r');
    const sum = await md5(c, '/tmp/r');
    const avail = async () => Number(await c.run("awk '/MemAv/{print $2}' /proc/meminfo"));
    const total0 = await avail();
    host.memtune('bal', { limit: '96M' });
    await until('the balloon holds 150 MiB', () => host.stats('bal').memory.balloon!.actualBytes >= 150 * MiB, 90_000);
    const s = host.stats('bal').memory;
    assert.ok(s.balloonedBytes >= 150 * MiB, `${s.balloonedBytes / MiB} MiB ballooned`);
    // (With deflate-on-OOM, Linux keeps MemTotal and counts the balloon as used.)
    const total1 = await avail();
    assert.ok(total1 < total0 - 140 * 1024, `MemAvailable ${total0} kB → ${total1} kB`);
    assert.equal(await md5(c, '/tmp/r'), sum);
    await until('the guest reported its memory statistics', () => (host.stats('bal').memory.balloon?.stats.total_memory ?? 0) > 0, 30_000);
    host.memtune('bal', { limit: null });
    await until('the balloon is empty', () => host.stats('bal').memory.balloon!.actualBytes === 0, 90_000);
    assert.equal(host.stats('bal').memory.balloonedBytes, 0);
    assert.equal(await md5(c, '/tmp/r'), sum);
    const total2 = await avail();
    // Back within what the guest's own caches move (the balloon held 150+ MiB of it).
    assert.ok(total2 > total0 - 48 * 1024, `MemAvailable back: ${total2} kB (was ${total0} kB)`);
  });
});

test('page sharing merges identical pages within a sharing group only, and a write stays in its VM', { timeout: 300_000 }, async () => {
  await withHost({ pcpus: 2, pageSharingRate: 400_000, hostMem: '2G' }, async (host, dir) => {
    const initrd = join(dir, 'initramfs.cpio.gz');
    copyFileSync(join(IMAGES_DIR, 'initramfs.cpio.gz'), initrd);
    for (const name of ['a', 'b']) host.define({ name, memory: '128M', initrd, sharingGroup: 'g' });
    host.define({ name: 'c', memory: '128M', initrd });
    const con: Record<string, ConsoleReader> = {};
    for (const name of ['a', 'b', 'c']) con[name] = await boot(host, name);
    // The same 8 MiB (2048 distinct pages) in each guest's page cache.
    const sums: string[] = [];
    for (const n of ['a', 'b', 'c']) {
      await con[n]!.run('seq 1 2000000 | head -c 8388608 >/tmp/s');
      sums.push(await md5(con[n]!, '/tmp/s'));
    }
    const sum = sums[0]!;
    assert.match(sum, /^[0-9a-f]{32}$/);
    assert.deepEqual(sums, [sum, sum, sum]);
    // Booted, each holds about 12 MiB, of which the two share 8 (kernel, initramfs); then the file.
    await until('a and b share the file', () => host.stats('a').memory.sharedBytes > 14 * MiB && host.stats('b').memory.sharedBytes > 14 * MiB, 120_000);
    const h = host.hostStats().memory;
    assert.ok(h.sharing.stableFrames > 2048, `${h.sharing.stableFrames} stable frames`);
    assert.ok(h.presentBytes - h.sharedBytes / 2 > 0);
    // c is in no group: it shares only with itself (no file page is merged with a's or b's).
    const cShared = host.stats('c').memory.sharedBytes;
    assert.ok(cShared < 4 * MiB, `c shares ${cShared / MiB} MiB`);
    // Copy-on-write: a rewrites half the file; b still reads the original.
    await con.a!.run('U=/dev/urandom');
    await con.a!.run('dd if=$U of=/tmp/s bs=4k count=1k conv=notrunc');
    const sumA = await md5(con.a!, '/tmp/s');
    assert.notEqual(sumA, sum);
    assert.equal(await md5(con.b!, '/tmp/s'), sum);
    assert.equal(await md5(con.c!, '/tmp/s'), sum);
    assert.equal(await md5(con.a!, '/tmp/s'), sumA);
    // Zero pages have no frame of their own.
    assert.ok(host.stats('a').memory.zeroBytes > 0);
    await host.destroy('a');
    assert.equal(await md5(con.b!, '/tmp/s'), sum);
  });
});

test('a swap file that cannot be written fails its VM only', { timeout: 300_000 }, async () => {
  await withHost({ pcpus: 2, pageSharingRate: 0, hostMem: '1G' }, async (host, dir) => {
    host.define({ name: 'full', memory: '128M', limit: '40M', balloon: false });
    host.define({ name: 'ok', memory: '128M', limit: '40M', balloon: false });
    symlinkSync('/dev/full', join(dir, 'vms', 'full', 'swap')); // every write: ENOSPC
    const ok = await boot(host, 'ok');
    const full = await boot(host, 'full').catch(() => undefined); // it may fail as soon as it boots
    full?.send('head -c 50331648 /dev/urandom >/tmp/r\n');
    await ok.run('head -c 50331648 /dev/urandom >/tmp/r');
    const sum = await md5(ok, '/tmp/r');
    assert.ok(await waitForState(host, 'full', 'crashed', 180_000), `full is ${host.info('full').state}`);
    assert.match(host.info('full').reason, /swap file/);
    assert.equal(await md5(ok, '/tmp/r'), sum);
    assert.ok(host.stats('ok').memory.swapOuts > 0);
    assert.equal(host.info('ok').state, 'running');
  });
});

test('a host short of memory takes it from the idle VM first (idle memory tax), by its balloon', { timeout: 420_000 }, async () => {
  await withHost({ pcpus: 2, pageSharingRate: 0, hostMem: '230M' }, async (host, dir) => {
    // The idle VM has 120 MiB of a disk in its page cache (the shell keeps the device open: Linux
    // drops a block device's cache at its last close); the busy one keeps reading 100 MiB of tmpfs.
    const disk = join(dir, 'cache.img');
    const bytes = Buffer.alloc(120 * MiB);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeFileSync(disk, bytes);
    host.define({ name: 'idle', memory: '256M', disks: [{ path: disk, readonly: true }] });
    host.define({ name: 'busy', memory: '256M' });
    const idle = await boot(host, 'idle');
    await idle.run('exec 3</dev/vda; cat /dev/vda >/dev/null');
    const busy = await boot(host, 'busy');
    await busy.run('mount -t tmpfs -o size=200m t /mnt');
    busy.send('head -c 104857600 /dev/zero | tr "\\0" x >/mnt/x; echo written\n'); // slow once squeezed
    await busy.waitFor('\nwritten', 240_000);
    // (^C does not reach the console shell: no job control there, so the loop is bounded.)
    busy.send('i=0; while [ $i -lt 6 ]; do cat /mnt/x >/dev/null; i=$((i+1)); done; echo looped\n');
    await until('the host squeezes', () => host.stats('idle').memory.targetBytes !== null, 120_000);
    await until('the idle VM\'s balloon holds 24 MiB', () => host.stats('idle').memory.balloonedBytes >= 24 * MiB, 120_000);
    const i = host.stats('idle').memory, b = host.stats('busy').memory;
    assert.ok(i.activeFraction !== null && i.activeFraction < 0.1, `idle active ${i.activeFraction}`);
    assert.ok(i.balloonedBytes > b.balloonedBytes + 16 * MiB, `idle gave ${i.balloonedBytes / MiB} MiB, busy ${b.balloonedBytes / MiB} MiB`);
    assert.ok(host.hostStats().memory.heldBytes < 230 * MiB, `${host.hostStats().memory.heldBytes / MiB} MiB held`);
    await busy.waitFor('\nlooped', 240_000);
    assert.match(await idle.run('echo alive'), /alive/);
    assert.equal(await busy.run('wc -c </mnt/x'), '104857600');
  });
});

test('a swap file left by a killed host is removed when the next host starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-swapleft-'));
  try {
    await withHost({ stateDir: dir }, async (host) => { host.define({ name: 'v', memory: '64M' }); });
    writeFileSync(join(dir, 'vms', 'v', 'swap'), 'guest memory');
    await withHost({ stateDir: dir }, async () => {
      assert.equal(existsSync(join(dir, 'vms', 'v', 'swap')), false);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
