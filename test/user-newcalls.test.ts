// Calls QEMU 7.2 cannot judge (it has no openat2 and refuses the RWF_* flags of
// preadv2/pwritev2), so the ctests oracle cannot record them: `ctest newcalls DIR`
// (guest/ctests/newcalls.c) runs under rvisor and its output is compared with the same C file
// built for the host and run on the host's Linux kernel (test/golden/native/newcalls.txt, recorded
// by guest/ctests/native.sh --update; its first line names the kernel it came from). Also: the
// umask survives execve (QEMU user mode cannot run a riscv64 execve without binfmt_misc), and
// robust PI mutexes (pifutex.c; QEMU 7.2 has no set_robust_list).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runRvisor, unpackGz } from './helpers.js';

test('newcalls: openat2 RESOLVE_* and preadv2/pwritev2 RWF_* match the host kernel', () => {
  const ctest = unpackGz('guest/ctests/bin/ctest.gz');
  const golden = readFileSync(join(ROOT, 'test', 'golden', 'native', 'newcalls.txt'), 'utf8');
  const expected = golden.slice(golden.indexOf('\n') + 1);
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-newcalls-'));
  try {
    const r = runRvisor(['exec', ctest, 'newcalls', dir], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    assert.equal(r.stdout.toString(), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('umask is kept over execve and inherited by the exec\'ed program', () => {
  const bb = unpackGz('guest/busybox/busybox.gz');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-umask-'));
  try {
    const script = join(dir, 'show');
    writeFileSync(script, `#!${bb} sh\numask\n`);
    chmodSync(script, 0o755);
    const r = runRvisor(['exec', bb, 'sh', '-c', `umask 0027; exec ${script}`], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), '0027\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pifutex: PI futexes and robust PI mutexes whose owner dies match the host kernel', () => {
  // QEMU 7.2 records the rest of this case (ctests pifutex); its robust part needs the kernel's
  // set_robust_list, which QEMU does not pass on.
  const ctest = unpackGz('guest/ctests/bin/ctest.gz');
  const golden = readFileSync(join(ROOT, 'test', 'golden', 'native', 'pifutex.txt'), 'utf8');
  const r = runRvisor(['exec', ctest, 'pifutex', 'robust'], { timeoutMs: 300_000 });
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.stdout.toString(), golden.slice(golden.indexOf('\n') + 1));
});
