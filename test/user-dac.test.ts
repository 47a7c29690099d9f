// A guest that dropped root while rvisor runs as root (dac.ts): what the ctests `dac` case
// (recorded under QEMU as root) cannot show because QEMU hands it to the host kernel as a whole
// process: the host programs such a guest starts run with its ids, a set-user-ID file it runs
// gives it the owner's euid, and it may not bind a privileged port. Run by another user, rvisor
// cannot change ids at all, and these tests are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

const skip = process.getuid?.() !== 0 ? 'rvisor must run as root to act as another user' : false;

function withDir(fn: (dir: string, bb: string) => void): void {
  const bb = unpackGz('guest/busybox/busybox.gz');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-dac-'));
  chmodSync(dir, 0o755);
  try {
    fn(dir, bb);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a host program started by a guest that dropped root runs with the guest\'s ids', { skip }, () => {
  withDir((_dir, bb) => {
    const id = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', '/usr/bin/id']);
    assert.equal(id.stderr, '');
    assert.equal(id.stdout.toString(), 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n');
    const shadow = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', '/usr/bin/head', '-c1', '/etc/shadow']);
    assert.match(shadow.stderr, /Permission denied/);
    assert.notEqual(shadow.status, 0);
    // Root's own host programs stay root's.
    const rootId = runRvisor(['exec', bb, 'sh', '-c', '/usr/bin/id -u']);
    assert.equal(rootId.stdout.toString(), '0\n');
  });
});

test('execve of a set-user-ID or set-group-ID file gives the guest the owner\'s euid or group\'s egid', { skip }, () => {
  withDir((dir, bb) => {
    const ctest = join(dir, 'ctest');
    copyFileSync(unpackGz('guest/ctests/bin/ctest.gz'), ctest);
    const ids = (): string => {
      const r = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', ctest, 'dac', '--ids']);
      assert.equal(r.stderr, '');
      return r.stdout.toString();
    };
    chmodSync(ctest, 0o755);
    assert.equal(ids(), 'uid 65534 65534 65534 gid 65534 65534 65534\n');
    chmodSync(ctest, 0o4755); // root's file: euid and saved uid 0, the real uid stays
    assert.equal(ids(), 'uid 65534 0 0 gid 65534 65534 65534\n');
    chownSync(ctest, 0, 1234);
    chmodSync(ctest, 0o2755);
    assert.equal(ids(), 'uid 65534 65534 65534 gid 65534 1234 1234\n');
    chmodSync(ctest, 0o2745); // set-group-ID without group execute: no change (mandatory-locking mark)
    assert.equal(ids(), 'uid 65534 65534 65534 gid 65534 65534 65534\n');
  });
});

test('a guest that dropped root may not bind a port below 1024', { skip }, () => {
  withDir((_dir, bb) => {
    const r = runRvisor(['exec', bb, 'chpst', '-u', 'nobody', bb, 'nc', '-l', '-s', '127.0.0.1', '-p', '79'], { timeoutMs: 30_000 });
    assert.match(r.stderr, /bind: Permission denied/);
    assert.notEqual(r.status, 0);
  });
});
