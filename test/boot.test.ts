// The system VM end to end: the bundled Linux guest (images/) boots on the virtual board to its
// readiness line, runs commands typed on the console, writes to a virtio disk, reboots, finds the
// file, and powers off with status 0 — with the VMM's own SBI, with Debian's OpenSBI as firmware,
// and with two harts. Bad input is refused before anything is created or modified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, readFileSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GuestSession } from './guest-session.js';
import { ROOT, readRepoFile, scratchDir, runRvisor } from './helpers.js';

const IMAGES = join(ROOT, 'images');
const READY = 'rvisor guest ready';
const PROMPT = /# $/m;

function freshDisk(name: string): string {
  const path = join(scratchDir(), name);
  writeFileSync(path, readRepoFile('images/disk.ext4.gz'));
  return path;
}

/** Lines of a boot log that look like trouble: the same function re-checks guest/linux/qemu-boot.log
 *  against a live QEMU boot (scripts/oracle/qemu-boot-check.sh). */
const { complaints } = (await import(pathToFileURL(join(ROOT, 'scripts', 'oracle', 'boot-log.mjs')).href)) as { complaints(log: string): string[] };

test('the bundled guest boots, runs commands, keeps a file on its disk across a reboot, powers off with 0', async () => {
  const disk = freshDisk('boot-disk.ext4');
  const s = new GuestSession(['--disk', disk]);
  try {
    await s.waitFor(READY);
    assert.match(await s.run('uname -a'), /Linux .* riscv64/);
    assert.match(await s.run('echo R$((6*7))'), /R42/);
    assert.match(await s.run('cat /proc/cpuinfo'), /isa\s*:\s*rv64imafdc/);
    assert.match(await s.run('cat /mnt/hello.txt'), /hello from the disk/);
    await s.run('echo written-by-the-guest > /mnt/new.txt && sync');
    s.send('reboot -f');
    await s.waitFor('reboot: Restarting system');
    await s.waitFor(READY);
    assert.match(await s.run('cat /mnt/new.txt'), /written-by-the-guest/);
    s.send('poweroff -f');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
  // The kernel's own view of our devices: every complaint in our boot log must also be in the
  // reference QEMU boot of the same kernel (guest/linux/qemu-boot.log, re-checked against a live
  // QEMU boot by scripts/oracle/qemu-boot-check.sh).
  const reference = new Set(complaints(readFileSync(join(ROOT, 'guest', 'linux', 'qemu-boot.log'), 'utf8')));
  const ours = complaints(s.output).filter((l) => !/^~ #|rvisor:/.test(l));
  assert.deepEqual(ours.filter((l) => !reference.has(l)), [], 'kernel complaints that QEMU\'s boot does not have');
});

test('commands piped before the guest is ready are typed into its shell (the README example)', () => {
  const r = runRvisor(['run'], { input: 'echo R$((6*7))\npoweroff -f\n', timeoutMs: 120000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /\nR42\r?\n/);
});

test('the guest clock runs at wall-clock rate (sleep 1 takes one second)', async () => {
  const s = new GuestSession([]);
  try {
    await s.waitFor(READY);
    await s.run('true');
    const t0 = performance.now();
    await s.run('sleep 1');
    const secs = (performance.now() - t0) / 1000;
    console.log(`sleep 1 took ${secs.toFixed(3)} s`);
    assert.ok(secs > 0.9 && secs < 1.25, `sleep 1 took ${secs.toFixed(3)} s of wall time`);
    s.send('poweroff -f');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
});

test("Debian's OpenSBI (fw_jump) as M-mode firmware boots the same kernel", async () => {
  const bios = join(scratchDir(), 'fw_jump.bin');
  writeFileSync(bios, readRepoFile('images/opensbi-fw_jump.bin.gz'));
  const s = new GuestSession(['--bios', bios]);
  try {
    assert.match(await s.waitFor('Domain0 Next Mode'), /OpenSBI v1\.1/);
    await s.waitFor(READY);
    assert.match(await s.run('cat /proc/cpuinfo'), /mmu\s*:\s*sv39/);
    s.send('poweroff -f');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
});

test('two harts: both online in /proc/cpuinfo', async () => {
  const s = new GuestSession(['--cpus', '2']);
  try {
    await s.waitFor(READY);
    const info = await s.run('cat /proc/cpuinfo');
    assert.match(info, /processor\s*:\s*0/);
    assert.match(info, /processor\s*:\s*1/);
    assert.match(await s.run('cat /sys/devices/system/cpu/online'), /0-1/);
    s.send('poweroff -f');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
});

test('bad input: clear errors, non-zero exits, nothing created or modified', () => {
  const dir = scratchDir();
  /** Runs `rvisor run ARGS`: the status, the first line of stderr, and never a stack trace. */
  const refused = (args: string[], status: number, message: RegExp): void => {
    const r = runRvisor(['run', ...args]);
    const what = `rvisor run ${args.join(' ')}`;
    assert.equal(r.status, status, `${what}: status; stderr: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, message, what);
    assert.match(r.stderr, /^rvisor: /, what);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: a stack trace`);
    assert.equal(r.stdout.length, 0, `${what}: nothing on stdout`);
  };

  const missing = join(dir, 'no-such-kernel');
  refused(['--kernel', missing], 3, /kernel .*no-such-kernel: no such file/);

  const notKernel = join(dir, 'not-a-kernel');
  writeFileSync(notKernel, 'just some text, not a kernel\n'.repeat(10));
  refused(['--kernel', notKernel], 10, /not a RISC-V Linux kernel Image/);

  refused(['--mem', '16M'], 11, /memory too small/);

  const noDisk = join(dir, 'no-such-disk.img');
  refused(['--disk', noDisk], 3, /no-such-disk\.img.*does not exist/);
  assert.equal(existsSync(noDisk), false);

  const ro = freshDisk('readonly.ext4');
  chmodSync(ro, 0o444);
  const before = readFileSync(ro);
  const mtime = statSync(ro).mtimeMs;
  refused(['--disk', ro], 13, /readonly\.ext4' is read-only/);
  assert.deepEqual(readFileSync(ro), before);
  assert.equal(statSync(ro).mtimeMs, mtime);

  refused(['--cpus', '0'], 2, /--cpus 0: expected 1\.\.8/);
  refused(['--frobnicate'], 2, /unknown option --frobnicate/);
  assert.ok(existsSync(IMAGES));
});
