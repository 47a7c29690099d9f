// Live clones (`rvisor vm clone`, src/vmm/clone.ts) and the copy-on-write sharing under them
// (src/machine/p2m.ts, GuestRam's write path, HostMemory share counts): a write in one VM is never
// visible in the other, in RAM (through the core's stores, the kernel's, and device DMA) or on
// disk; either VM can end first without taking the other's pages; refusals leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { HostMemory } from '../src/memory/host-memory.js';
import { GuestRam } from '../src/machine/ram.js';
import { shareRam, protectAll, collectDirty } from '../src/machine/p2m.js';
import { P2M_WP, CACHE_SIZE, PAGE_SIZE } from '../src/cpu/layout.js';
import { IMAGES_DIR } from '../src/vmm/files.js';
import { ROOT } from './helpers.js';
import { withHost, ConsoleReader, errorCode } from './host-helpers.js';

const BASE = 0x8000_0000;
const code = errorCode;

test('shared RAM: copy-on-write in either direction, share counts free a frame only with its last user', () => {
  const host = new HostMemory();
  const a = new GuestRam(host, BASE, 1 << 20);
  const before = host.framesInUse;
  for (let p = 0; p < 16; p++) a.write(BASE + p * 4096, new Uint8Array(4096).fill(p + 1));
  const b = GuestRam.attach(host, shareRam(host, a.save()));
  assert.equal(host.framesInUse, before + 16 + 1, 'sharing copies no page (one frame for the new P2M)');
  const moved: number[] = [];
  a.onMoved = (f) => moved.push(f);
  // A writes page 0: B still sees the old bytes; A's old frame is reported moved.
  a.write(BASE, new Uint8Array([0xaa]));
  const one = new Uint8Array(1);
  b.read(BASE, one);
  assert.equal(one[0], 1);
  a.read(BASE, one);
  assert.equal(one[0], 0xaa);
  assert.equal(moved.length, 1);
  // B writes page 1 through a scalar store: A unchanged.
  b.writeU32(BASE + 4096, 0xdeadbeef);
  assert.equal(a.readU32(BASE + 4096), 0x02020202);
  assert.equal(b.readU32(BASE + 4096), 0xdeadbeef);
  // Page 0 is now B's alone: B's write takes it in place, no copy.
  const used = host.framesInUse;
  b.write(BASE, new Uint8Array([0xbb]));
  assert.equal(host.framesInUse, used);
  a.read(BASE, one);
  assert.equal(one[0], 0xaa);
  // A goes: B keeps every page it shared with A.
  a.free();
  for (let p = 2; p < 16; p++) assert.equal(b.readU32(BASE + p * 4096), (p + 1) * 0x01010101);
  b.free();
  assert.equal(host.framesInUse, before - 1, 'every frame went back (and both P2Ms)');
});

test('dirty log: protect, writes mark pages, collect re-protects', () => {
  const host = new HostMemory();
  const ram = new GuestRam(host, BASE, 1 << 20);
  ram.write(BASE, new Uint8Array(3 * 4096).fill(7));
  const all: number[] = [];
  protectAll(host, ram.save(), (p) => all.push(p));
  assert.deepEqual(all, [0, 1, 2]);
  assert.equal(collectDirty(host, ram.save(), () => {}), 0);
  ram.writeU16(BASE + 4096 + 10, 1); // written
  ram.readU16(BASE + 5 * 4096); // first touched by a read: new to the log too
  const dirty: number[] = [];
  collectDirty(host, ram.save(), (p) => dirty.push(p));
  assert.deepEqual(dirty, [1, 5]);
  assert.ok((host.view.getUint32(ram.p2m + 4, true) & P2M_WP) !== 0, 're-protected');
  assert.equal(collectDirty(host, ram.save(), () => {}), 0);
  ram.free();
});

test('live clone of the bundled guest: both run on, RAM and disk writes stay in their VM, either can end first, refusals leave nothing', { timeout: 300_000 }, async () => {
  await withHost({ pcpus: 2 }, async (host, dir) => {
    const disk = join(dir, 'disk.ext4');
    writeFileSync(disk, gunzipSync(readFileSync(join(ROOT, 'images', 'disk.ext4.gz'))));
    const initrd = join(dir, 'initramfs.cpio.gz');
    copyFileSync(join(IMAGES_DIR, 'initramfs.cpio.gz'), initrd);
    host.define({ name: 'orig', memory: '128M', initrd, disks: [{ path: disk, readonly: false }] });
    await host.start('orig');
    const o = new ConsoleReader(host, 'orig');
    await o.waitFor('rvisor guest ready', 120_000);
    // 8 MiB of random bytes in the page cache (tmpfs) and a file on the disk.
    await o.run('dmesg -n 1'); // kernel messages (mounts) off the console
    const sum = await o.run('head -c 8388608 /dev/urandom > /tmp/r; echo before > /mnt/f; sync; md5sum /tmp/r | cut -c1-32');
    assert.match(sum, /^[0-9a-f]{32}$/);
    const framesBefore = host.hostStats().arenas[0]!.framesInUse;

    const c = await host.clone('orig', 'copy');
    assert.equal(c.vm.name, 'copy');
    assert.equal(c.vm.state, 'running');
    assert.equal(c.vm.reason, 'cloned');
    assert.equal(host.info('orig').state, 'running');
    assert.ok(c.pagesShared > 2048, `the 8 MiB file alone is 2048 pages (${c.pagesShared} shared)`);
    assert.notEqual(c.vm.definition.disks[0]!.path, disk, 'the clone has its own disk file');
    assert.ok(host.hostStats().arenas[0]!.framesInUse < framesBefore + 1024, 'the clone copied no guest page');
    const k = new ConsoleReader(host, 'copy');
    assert.equal(await k.run('md5sum /tmp/r | cut -c1-32; cat /mnt/f'), `${sum}\nbefore`);
    // A new identity: the clone's kernel saw a new VM generation ID and reseeded its RNG.
    assert.equal(await k.run('dmesg | grep -c "machine fork"'), '1');
    assert.equal(await o.run('dmesg | grep -c "machine fork"'), '0');
    assert.notEqual(await k.run('head -c 16 /dev/urandom | od -An -tx1'), await o.run('head -c 16 /dev/urandom | od -An -tx1'));

    // Writes in each: RAM (tmpfs), and the disk.
    const sumO = await o.run('head -c 8388608 /dev/urandom > /tmp/r; echo orig > /mnt/f; echo o > /tmp/only-orig; sync; md5sum /tmp/r | cut -c1-32');
    assert.notEqual(sumO, sum);
    assert.equal(await k.run('md5sum /tmp/r | cut -c1-32; cat /mnt/f; ls /tmp/only-orig 2>&1 | grep -c "No such"'), `${sum}\nbefore\n1`);
    await k.run('echo copy > /mnt/f; echo c > /tmp/only-copy; dd if=/dev/zero of=/tmp/r bs=4096 count=100 conv=notrunc 2>/dev/null; sync');
    assert.equal(await o.run('md5sum /tmp/r | cut -c1-32; cat /mnt/f; ls /tmp/only-copy 2>&1 | grep -c "No such"'), `${sumO}\norig\n1`);
    // The disks hold their own VM's data when read back from the device, not the page cache.
    assert.equal(await o.run('umount /mnt && mount /dev/vda /mnt && cat /mnt/f'), 'orig');
    assert.equal(await k.run('umount /mnt && mount /dev/vda /mnt && cat /mnt/f'), 'copy');

    // Refusals change nothing.
    assert.equal(await code(host.clone('orig', 'copy')), 'VM_EXISTS');
    assert.equal(await code(host.clone('orig', 'Bad_Name')), 'BAD_DEFINITION');
    assert.equal(await code(host.clone('nope', 'x')), 'VM_NOT_FOUND');
    host.define({ name: 'off', memory: '64M', initrd });
    assert.equal(await code(host.clone('off', 'off2')), 'VM_STATE');
    assert.ok(!existsSync(join(dir, 'vms', 'off2')) && !existsSync(join(dir, 'vms', 'Bad_Name')));
    assert.deepEqual(host.list().map((v) => v.name).sort(), ['copy', 'off', 'orig']);

    // The original goes first: the clone keeps every page it shared, and answers.
    await host.destroy('orig');
    assert.equal(await k.run('cat /tmp/only-copy; head -c 409600 /tmp/r | od -An -v -tx1 | sort -u | tr -d " "'), 'c\n00000000000000000000000000000000');
    assert.equal(await k.run('md5sum /tmp/r | cut -c1-32 | wc -c'), '33');
    // A clone of the clone, then both end: all frames go back.
    await host.clone('copy', 'copy2', { paused: true });
    assert.equal(host.info('copy2').state, 'paused');
    await host.destroy('copy2');
    await host.destroy('copy');
    host.undefine('copy2');
    assert.ok(!existsSync(join(dir, 'vms', 'copy2')), 'undefine removes the clone\'s folder and its disk copy');
    // nothing left in use but the two workers' code caches
    assert.ok(host.hostStats().arenas[0]!.framesInUse <= 2 * (CACHE_SIZE / PAGE_SIZE), `frames back in the arena (${host.hostStats().arenas[0]!.framesInUse} in use: code caches)`);
  });
});
