// The signal mask while a handler runs (sa_mask, SA_NODEFER, restoring it afterwards), against
// Linux itself: guest/sigmask/sigmask.c printed test/golden/sigmask/linux.out natively on a Linux
// host (guest/sigmask/regen.sh re-checks it), and its riscv64 build must print the same under
// rvisor. (qemu-riscv64 7.2 cannot be the reference here: it ignores sa_mask on riscv64; see
// guest/sigmask/README.md.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRepoFile, runRvisor, unpackGz } from './helpers.js';

test('sa_mask is blocked while a handler runs and restored after it, as on Linux', () => {
  const linux = readRepoFile('test/golden/sigmask/linux.out').toString('utf8');
  assert.match(linux, /USR2 \(sa_mask\) blocked 1/, 'the golden file is Linux\'s, not QEMU\'s');
  const r = runRvisor(['exec', unpackGz('guest/sigmask/bin/sigmask.gz')]);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.toString(), linux);
  assert.equal(r.status, 0);
});
