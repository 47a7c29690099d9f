// The bundled kernels and what the 6.12 guest adds: Linux 6.1 (images/Image-6.1.gz) still boots;
// the host's steal-time reports (SBI STA) show in the guest's /proc/stat; the host's power key
// (virtio-input) makes the bundled guest power off cleanly, through its stock acpid; Linux's
// vmgenid driver binds the board's VM generation ID and reseeds its RNG on a new generation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GuestSession } from './guest-session.js';
import { BoardSession } from './board-session.js';
import { ROOT, readRepoFile } from './helpers.js';
import { MemoryBlockBackend } from '../src/devices/virtio/blk/backend.js';

const READY = 'rvisor guest ready';

// The same reading of a boot log as boot.test.ts and scripts/oracle/check-all.sh.
const { complaints } = (await import(pathToFileURL(join(ROOT, 'scripts', 'oracle', 'boot-log.mjs')).href)) as { complaints(log: string): string[] };

/** The `cpuN` (or total `cpu`) line of /proc/stat as numbers: user nice system idle iowait irq
 *  softirq steal ... (USER_HZ = 100 ticks per second). */
function statLine(text: string, cpu: string): number[] {
  const m = new RegExp(`^${cpu} +([\\d ]+)\\r?$`, 'm').exec(text);
  assert.ok(m, `no ${cpu} line in:\n${text}`);
  return m[1]!.trim().split(/\s+/).map(Number);
}
const STEAL = 7;

test('Linux 6.1 (images/Image-6.1.gz) still boots the bundled initramfs and powers off', async () => {
  const s = new GuestSession(['--kernel', join(ROOT, 'images', 'Image-6.1.gz')]);
  try {
    await s.waitFor(READY);
    assert.match(await s.run('uname -r'), /\n6\.1\.\d+/);
    assert.match(await s.run('cat /proc/bus/input/devices'), /N: Name="rvisor power button"/);
    s.send('poweroff -f');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
  // every kernel complaint must also be in QEMU's boot of the same kernel
  const reference = new Set(complaints(readFileSync(join(ROOT, 'guest', 'linux', 'qemu-boot-6.1.log'), 'utf8')));
  const ours = complaints(s.output).filter((l) => !/^~ #|rvisor:/.test(l));
  assert.deepEqual(ours.filter((l) => !reference.has(l)), [], 'kernel complaints that QEMU\'s boot does not have');
});

test('steal time the host reports (SBI STA) shows in the guest\'s /proc/stat, per hart', async () => {
  const s = new BoardSession({ harts: 2 });
  try {
    const boot = await s.waitFor(READY);
    assert.match(boot, /SBI specification v2\.0 detected/);
    assert.match(boot, /SBI STA extension detected/);
    assert.match(await s.run('uname -r'), /\n6\.12\.\d+/);
    const before = await s.run('cat /proc/stat');
    const [cpu0, cpu1] = [statLine(before, 'cpu0')[STEAL]!, statLine(before, 'cpu1')[STEAL]!];
    assert.equal(s.board.addSteal(0, 3_000_000_000n), true, 'hart 0 registered its steal-time memory');
    assert.equal(s.board.addSteal(1, 1_000_000_000n), true, 'so did hart 1');
    assert.equal(s.board.sbi?.stealOf(0), 3_000_000_000n);
    // the guest accounts steal at its next tick on that hart: keep both harts busy for a moment
    const after = await s.run('(i=0; while [ $i -lt 300 ]; do i=$((i+1)); done) & (i=0; while [ $i -lt 300 ]; do i=$((i+1)); done); wait; cat /proc/stat');
    const d0 = statLine(after, 'cpu0')[STEAL]! - cpu0, d1 = statLine(after, 'cpu1')[STEAL]! - cpu1;
    console.log(`steal in /proc/stat grew by ${d0} ticks on cpu0 (host reported 3 s) and ${d1} on cpu1 (1 s)`);
    assert.ok(d0 >= 295 && d0 <= 300, `cpu0 steal grew by ${d0} ticks, want 300 (3 s at USER_HZ 100)`);
    assert.ok(d1 >= 95 && d1 <= 100, `cpu1 steal grew by ${d1} ticks, want 100`);
    s.send('poweroff -f');
    assert.equal(await s.ended, 0);
  } finally {
    await s.stop();
  }
});

test('the power key (virtio-input) makes the bundled guest power off cleanly: exit 0, disk unmounted', async () => {
  const disk = new MemoryBlockBackend(new Uint8Array(readRepoFile('images/disk.ext4.gz')));
  const s = new BoardSession({ disks: [{ backend: disk }] });
  try {
    await s.waitFor(READY);
    const devices = await s.run('cat /proc/bus/input/devices');
    assert.match(devices, /I: Bus=0006 Vendor=0000 Product=0001 Version=0001/);
    assert.match(devices, /N: Name="rvisor power button"/);
    assert.match(devices, /H: Handlers=.*event0/);
    assert.match(devices, /B: EV=3\r?\n/, 'EV_SYN and EV_KEY');
    assert.match(devices, /B: KEY=10000000000000 0\r?\n/, 'KEY_POWER only');
    assert.match(await s.run('ps'), /acpid/);
    await s.run('echo before-the-power-key > /mnt/pk.txt');
    const t0 = performance.now();
    assert.equal(s.board.pressPowerKey(), true, 'the guest\'s driver takes the events');
    s.kick();
    await s.waitFor('rvisor: power key pressed: powering off');
    assert.equal(await s.ended, 0, 'the board powered off with code 0');
    console.log(`power key to poweroff: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    assert.match(s.output, /reboot: Power down/);
  } finally {
    await s.stop();
  }
  // the next boot finds the file and a cleanly unmounted filesystem (no journal recovery)
  const again = new BoardSession({ disks: [{ backend: disk }] });
  try {
    const boot = await again.waitFor(READY);
    assert.doesNotMatch(boot, /recovery complete|orphan|was not properly unmounted/i);
    assert.match(await again.run('cat /mnt/pk.txt'), /before-the-power-key/);
    again.send('poweroff -f');
    assert.equal(await again.ended, 0);
  } finally {
    await again.stop();
  }
});

/** The count of the interrupt named `name` in /proc/interrupts (one hart). */
function interruptCount(text: string, name: string): number {
  const m = new RegExp(`^ *\\d+: +(\\d+) .*\\b${name}\\r?$`, 'm').exec(text);
  assert.ok(m, `no ${name} line in:\n${text}`);
  return Number(m[1]);
}

test('Linux\'s vmgenid driver binds the VM generation ID; newGeneration() interrupts it once and it reseeds its RNG', async () => {
  const s = new BoardSession();
  try {
    await s.waitFor(READY);
    assert.match(await s.run('ls /sys/bus/platform/drivers/vmgenid/'), /102000\.vmgenid/, 'the driver is bound to the device');
    assert.match(await s.run('cat /sys/firmware/devicetree/base/soc/vmgenid@102000/compatible'), /microsoft,vmgenid/);
    const before = interruptCount(await s.run('cat /proc/interrupts'), 'vmgenid');
    assert.equal(before, 0);
    const reads = s.board.vmgenid.guidReads;
    assert.ok(reads > 0, 'the driver read the ID at probe');
    const old = s.board.vmgenid.guid;
    const id = s.board.newGeneration();
    assert.notDeepEqual(id, old);
    assert.deepEqual(s.board.vmgenid.guid, id);
    s.kick();
    // printed by add_vmfork_randomness() only when the driver read an ID different from the last
    await s.waitFor('random: crng reseeded due to virtual machine fork');
    assert.ok(s.board.vmgenid.guidReads > reads, 'the interrupt handler read the new ID');
    assert.equal(interruptCount(await s.run('cat /proc/interrupts'), 'vmgenid'), 1, 'exactly one interrupt');
    // a second generation: one more
    s.board.newGeneration();
    s.kick();
    await s.waitFor('random: crng reseeded due to virtual machine fork');
    assert.equal(interruptCount(await s.run('cat /proc/interrupts'), 'vmgenid'), 2);
    s.send('poweroff -f');
    assert.equal(await s.ended, 0);
  } finally {
    await s.stop();
  }
});
