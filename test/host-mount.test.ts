// mount(2)'s arguments as mount(8)'s (src/user/host-mount.ts) and mount(8)'s messages as errnos:
// the translation alone, without mounting anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errnoOf, MS, mountArgs } from '../src/user/host-mount.js';
import { ERRNO } from '../src/user/errno.js';

const base = ['-i', '-n', '-c'];

test('mount(2) flags become mount(8) arguments in the kernel\'s order of operations', () => {
  assert.deepEqual(mountArgs('tmpfs', '/m', 'tmpfs', MS.NOSUID | MS.NODEV, 'size=1m'), [...base, '-t', 'tmpfs', '-o', 'rw,nosuid,nodev,size=1m', 'tmpfs', '/m']);
  assert.deepEqual(mountArgs('/dev/loop0', '/m', 'ext2', MS.RDONLY | MS.NOATIME, null), [...base, '-t', 'ext2', '-o', 'ro,noatime', '/dev/loop0', '/m']);
  // The old magic number in the top bits is dropped.
  assert.deepEqual(mountArgs('none', '/m', 'proc', (0xc0ed0000 | MS.NOEXEC) >>> 0, ''), [...base, '-t', 'proc', '-o', 'rw,noexec', 'none', '/m']);
  // Remount comes before bind: a read-only bind remount.
  assert.deepEqual(mountArgs(null, '/m', null, MS.REMOUNT | MS.BIND | MS.RDONLY, null), [...base, '-o', 'remount,bind,ro', 'none', '/m']);
  assert.deepEqual(mountArgs(null, '/m', null, MS.REMOUNT, 'size=2m'), [...base, '-o', 'remount,rw,size=2m', 'none', '/m']);
  // A bind ignores other per-mount flags, as the kernel does (no second remount).
  assert.deepEqual(mountArgs('/a', '/m', null, MS.BIND | MS.RDONLY, null), [...base, '--bind', '/a', '/m']);
  assert.deepEqual(mountArgs('/a', '/m', null, MS.BIND | MS.REC, null), [...base, '--rbind', '/a', '/m']);
  assert.deepEqual(mountArgs(null, '/m', null, MS.SHARED | MS.REC, null), [...base, '--make-rshared', '/m']);
  assert.deepEqual(mountArgs(null, '/m', null, MS.PRIVATE, null), [...base, '--make-private', '/m']);
  assert.deepEqual(mountArgs('/a', '/m', null, MS.MOVE, null), [...base, '--move', '/a', '/m']);
});

test('mount(2) arguments Linux refuses are refused before mount(8) runs', () => {
  assert.equal(mountArgs(null, '/m', null, MS.SHARED | MS.PRIVATE, null), -ERRNO.EINVAL);
  assert.equal(mountArgs('x', '/m', null, 0, null), -ERRNO.EINVAL); // a new mount needs a type
  assert.equal(mountArgs('x', '/m', '', 0, null), -ERRNO.EINVAL);
  // mount(8)'s own words in the data string would be acted on by the tool, not the file system.
  assert.equal(mountArgs('img', '/m', 'ext2', 0, 'loop'), -ERRNO.EINVAL);
  assert.equal(mountArgs('img', '/m', 'ext2', 0, 'ro,x-gvfs-show'), -ERRNO.EINVAL);
  // Type names mount(8) reads as lists or negations: ENODEV unless the kernel knows them.
  assert.equal(mountArgs('x', '/m', 'nosuchfs', 0, null), -ERRNO.ENODEV);
  assert.equal(mountArgs('x', '/m', 'ext2,ext3', 0, null), -ERRNO.ENODEV);
  assert.equal(mountArgs('x', '/m', 'auto', 0, null), -ERRNO.ENODEV);
});

test('mount(8) and umount(8) messages map back to mount(2)\'s errnos', () => {
  const cases: Array<[string, number]> = [
    ['mount: /m: must be superuser to use mount.', ERRNO.EPERM],
    ['mount: /m: permission denied.', ERRNO.EACCES],
    ["mount: /m: unknown filesystem type 'bogusfs'.", ERRNO.ENODEV],
    ['mount: /m: special device /dev/nothing does not exist.', ERRNO.ENOENT],
    ['mount: /m: mount point does not exist.', ERRNO.ENOENT],
    ['mount: /m: /dev/loop0 already mounted on /n.', ERRNO.EBUSY],
    ['umount: /m: target is busy.', ERRNO.EBUSY],
    ['umount: /m: not mounted.', ERRNO.EINVAL],
    ['mount: /m: wrong fs type, bad option, bad superblock on /dev/loop0, missing codepage or helper program, or other error.', ERRNO.EINVAL],
    ['mount: /m: cannot mount /dev/loop0 read-only.', ERRNO.EROFS],
    ['mount: /m: /x is not a block device.', ERRNO.ENOTBLK],
    ['mount: /m: mount point is not a directory.', ERRNO.ENOTDIR],
  ];
  for (const [msg, e] of cases) assert.equal(errnoOf(msg), -e, msg);
});
