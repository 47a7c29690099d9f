// mount(2), umount2(2) and the loop driver's ioctls, run by the bundled busybox under rvisor. A
// guest with CAP_SYS_ADMIN (euid 0) mounts on the host through mount(8)/umount(8) and attaches
// loop devices through losetup(8) when rvisor runs as root (src/user/host-mount.ts,
// src/user/loop-device.ts); a guest without it gets Linux's EPERM after Linux's own lookup errors.
// These tests mount only below their own temporary directory and undo every mount and loop
// device found there when they end, also when they fail. The tests that need root skip otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

const hostRoot = process.getuid?.() === 0;
const canMount = hostRoot && spawnSync('/usr/bin/mount', ['--version']).status === 0;
const canLoop = canMount && existsSync('/dev/loop-control') && spawnSync('/usr/sbin/losetup', ['--version']).status === 0;

/** The host's mounts below `dir` (mount points, deepest first). */
function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mounts', 'latin1').split('\n')) {
    const mp = line.split(' ')[1];
    if (mp !== undefined && (mp === dir || mp.startsWith(`${dir}/`))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** The loop devices whose backing file is below `dir`. */
function loopsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of existsSync('/sys/block') ? readdirSync('/sys/block') : []) {
    if (!name.startsWith('loop')) continue;
    try {
      const b = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
      if (b.startsWith(`${dir}/`)) out.push(`/dev/${name}`);
    } catch {
      // not bound
    }
  }
  return out;
}

function withDir(fn: (dir: string, bb: string) => void): void {
  const bb = unpackGz('guest/busybox/busybox.gz');
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rvisor-mount-')));
  chmodSync(dir, 0o755); // guests that dropped root look names up in it
  try {
    fn(dir, bb);
  } finally {
    for (let round = 0; round < 3; round++) {
      for (const mp of mountsUnder(dir)) spawnSync('/usr/bin/umount', ['-l', mp]);
      for (const dev of loopsUnder(dir)) spawnSync('/usr/sbin/losetup', ['-d', dev]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a guest without CAP_SYS_ADMIN gets EPERM for mount and umount, after Linux\'s lookup errors', () => {
  withDir((dir, bb) => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const m = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', bb, 'mount', '-t', 'tmpfs', 'none', mnt]);
    // busybox mount words EPERM this way.
    assert.match(m.stderr, /mount: permission denied \(are you root\?\)/);
    assert.notEqual(m.status, 0);
    assert.deepEqual(mountsUnder(dir), []);
    const u = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', bb, 'umount', mnt]);
    assert.match(u.stderr, /umount: can't unmount .*: Operation not permitted/);
    const missing = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', bb, 'umount', join(dir, 'nothing')]);
    assert.match(missing.stderr, /No such file or directory/);
    if (canLoop) {
      // Nor may it use the loop devices (root's 0600 device files): the open fails, and busybox
      // says so as it does under QEMU run as nobody.
      const img = join(dir, 'img');
      writeFileSync(img, Buffer.alloc(65536));
      chmodSync(img, 0o644);
      const l = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', bb, 'losetup', '-f', img]);
      assert.match(l.stderr, /losetup: .*img: Permission denied/);
      assert.notEqual(l.status, 0);
      assert.deepEqual(loopsUnder(dir), []);
    }
  });
});

test('/proc/mounts (a link into the guest\'s /proc) reads as the host\'s mount table', () => {
  const bb = unpackGz('guest/busybox/busybox.gz');
  const r = runRvisor(['exec', bb, 'cat', '/proc/mounts']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.toString(), /^\S+ \/ \S+ /m);
});

test('a guest root mounts tmpfs and bind mounts on the host, changes propagation, remounts and unmounts', { skip: !canMount && 'needs root and mount(8)' }, () => {
  withDir((dir, bb) => {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'a'), 'A');
    mkdirSync(join(dir, 't'));
    mkdirSync(join(dir, 'b'));
    const script = [
      'mount -t tmpfs -o size=1m,mode=0750 tmpfs t && echo tmpfs-ok',
      'echo hello > t/f',
      'mount --bind src b && echo bind-ok',
      'mount --make-rshared b && echo shared-ok',
      'ls b',
      'mount -o remount,ro t && echo remount-ok',
      'echo no > t/g || echo ro-refused',
      'grep -F " $PWD/" /proc/mounts | cut -d" " -f1-4',
    ].map((l) => `${bb} ${l}`).join('\n');
    const r = runRvisor(['exec', bb, 'sh', '-c', script], { cwd: dir });
    assert.equal(r.stdout.toString().split('\n').slice(0, 6).join('\n'), 'tmpfs-ok\nbind-ok\nshared-ok\na\nremount-ok\nro-refused');
    assert.match(r.stderr, /Read-only file system/);
    // The host sees what the guest mounted, with the guest's options.
    const host = readFileSync('/proc/self/mounts', 'latin1');
    assert.match(host, new RegExp(`^tmpfs ${dir}/t tmpfs ro,[^ ]*size=1024k,mode=750`, 'm'));
    assert.equal(readFileSync(join(dir, 't', 'f'), 'utf8'), 'hello\n');
    const info = readFileSync('/proc/self/mountinfo', 'latin1').split('\n').find((l) => l.split(' ')[4] === `${dir}/b`);
    assert.match(info ?? '', / shared:\d+/);
    assert.match(r.stdout.toString(), new RegExp(`tmpfs ${dir}/t tmpfs ro,`));
    // Unmounting: umount(8)'s errors come back as Linux's errno.
    const u = runRvisor(['exec', bb, 'sh', '-c', `${bb} umount t b && echo umount-ok; ${bb} umount src; ${bb} mount -t nosuchfs none t; ${bb} mount -t bogusfs none t`], { cwd: dir });
    assert.match(u.stdout.toString(), /umount-ok/);
    assert.match(u.stderr, /umount: can't unmount src: Invalid argument/);
    assert.match(u.stderr, /mount: mounting none on t failed: No such device\n.*mount: mounting none on t failed: No such device/s);
    assert.deepEqual(mountsUnder(dir), []);
  });
});

test('a guest root attaches a loop device (LOOP_CTL_GET_FREE, LOOP_SET_FD, LOOP_SET_STATUS64), mounts it read-only and frees it with umount -d', { skip: !canLoop && 'needs root, mount(8), losetup(8) and /dev/loop-control' }, () => {
  withDir((dir, bb) => {
    mkdirSync(join(dir, 'm'));
    const script = [
      'dd if=/dev/zero of=img bs=1M count=4 2>/dev/null',
      'mke2fs -F img >/dev/null 2>&1 && echo mke2fs-ok',
      'mount -r -o loop -t ext2 img m && echo mount-ok',
      'losetup -a | grep -c img',
      'touch m/x || echo ro-refused',
      'ls m',
    ].map((l) => `${bb} ${l}`).join('\n');
    const r = runRvisor(['exec', bb, 'sh', '-c', script], { cwd: dir });
    assert.equal(r.stdout.toString(), 'mke2fs-ok\nmount-ok\n1\nro-refused\nlost+found\n', r.stderr);
    const line = readFileSync('/proc/self/mounts', 'latin1').split('\n').find((l) => l.split(' ')[1] === `${dir}/m`);
    assert.match(line ?? '', /^\/dev\/loop\d+ \S+ ext2 ro,/);
    const dev = line!.split(' ')[0]!;
    assert.deepEqual(loopsUnder(dir), [dev]);
    const u = runRvisor(['exec', bb, 'umount', '-d', 'm'], { cwd: dir });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(mountsUnder(dir), []);
    assert.deepEqual(loopsUnder(dir), [], 'umount -d frees the loop device');
  });
});
