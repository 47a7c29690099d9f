// Calls Linux reserves to privileged callers, run by the bundled busybox under rvisor: mknod of
// device nodes (CAP_MKNOD: made on the host when the guest's euid is 0 and the host lets rvisor's
// user do it, EPERM otherwise). mount and the loop devices: user-mount.test.ts. QEMU cannot judge
// these here: it hands them to the host kernel, as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

const hostRoot = process.getuid?.() === 0;

function withDir(fn: (dir: string, bb: string) => void): void {
  const bb = unpackGz('guest/busybox/busybox.gz');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-priv-'));
  try {
    fn(dir, bb);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Linux's makedev for the host's st_rdev. */
const makedev = (major: number, minor: number): number => ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);

test('mknod: character and block devices are made on the host as root, with umask, type and number', () => {
  withDir((dir, bb) => {
    const r = runRvisor(['exec', bb, 'sh', '-c', `umask 027; ${bb} mknod ${dir}/c c 1 3 && ${bb} mknod ${dir}/b b 7 300; echo $?`]);
    if (!hostRoot) {
      // rvisor's user may not make device nodes: the guest gets Linux's EPERM.
      assert.match(r.stderr, /mknod: .*\/c: Operation not permitted/);
      assert.equal(existsSync(join(dir, 'c')), false);
      return;
    }
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.toString(), '0\n');
    const c = lstatSync(join(dir, 'c')), b = lstatSync(join(dir, 'b'));
    assert.ok(c.isCharacterDevice());
    assert.ok(b.isBlockDevice());
    assert.equal(c.rdev, makedev(1, 3));
    assert.equal(b.rdev, makedev(7, 300));
    assert.equal(c.mode & 0o777, 0o640);
    // The guest sees what it made: ls -l shows the major, minor numbers.
    const ls = runRvisor(['exec', bb, 'ls', '-l', join(dir, 'b')]);
    assert.match(ls.stdout.toString(), /^brw-r----- .* 7, *300 /);
    // An existing name is EEXIST, not a second node.
    const again = runRvisor(['exec', bb, 'mknod', join(dir, 'c'), 'c', '1', '3']);
    assert.match(again.stderr, /File exists/);
  });
});

test('mknod: a guest that dropped root gets EPERM for a device node', () => {
  withDir((dir, bb) => {
    // A directory it may write to: the one refusal left is CAP_MKNOD's (EACCES would come first).
    chmodSync(dir, 0o777);
    const r = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', bb, 'mknod', join(dir, 'c'), 'c', '1', '3']);
    assert.match(r.stderr, /Operation not permitted/);
    assert.notEqual(r.status, 0);
    assert.equal(existsSync(join(dir, 'c')), false);
  });
});
