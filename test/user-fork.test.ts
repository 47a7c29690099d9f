// Several guest processes in one `rvisor exec`: fork, vfork, execve, wait4/waitid, pipes between
// processes, signals across them. Expected results come from qemu-riscv64-static
// (test/fixtures/user/build.sh, which re-checks them with --check): busybox shell cases in
// fork-cases.json and the transcript of the C fixture fork.c in fork.expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runRvisor, scratchDir, unpackGz } from './helpers.js';

const FIX = join(ROOT, 'test', 'fixtures', 'user');

interface Case {
  name: string;
  cmd: string;
  expect: { status: number; stdout: string };
}
interface Golden {
  applets: string[];
  env: Record<string, string>;
  cases: Case[];
}

const golden = JSON.parse(readFileSync(join(FIX, 'fork-cases.json'), 'utf8')) as Golden;
const busybox = unpackGz('guest/busybox/busybox.gz');

/** A directory of applet names linked to busybox (the guest's PATH). */
const bin = join(scratchDir(), 'fork-bin');
mkdirSync(bin, { recursive: true });
for (const a of golden.applets) {
  try {
    symlinkSync(busybox, join(bin, a));
  } catch {
    // already there (another test file made it)
  }
}

for (const c of golden.cases) {
  test(`fork: sh -c ${JSON.stringify(c.cmd)} (${c.name}) matches QEMU`, () => {
    const cwd = mkdtempSync(join(scratchDir(), 'fork-run-'));
    copyFileSync(join(FIX, 'zdata.txt.gz'), join(cwd, 'zdata.txt.gz'));
    try {
      const r = runRvisor(['exec', busybox, 'sh', '-c', c.cmd], { cwd, env: { PATH: bin, ...golden.env }, timeoutMs: 120_000 });
      assert.equal(r.stdout.toString(), c.expect.stdout, `stdout (stderr: ${r.stderr})`);
      assert.equal(r.status, c.expect.status, `exit status (stderr: ${r.stderr})`);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
}

test('fork: C program (fork, pipes, wait statuses, COW, orphans, fork+exec, vfork+exec) matches QEMU', () => {
  const prog = unpackGz('test/fixtures/user/fork.gz');
  const cwd = mkdtempSync(join(scratchDir(), 'fork-c-'));
  try {
    const r = runRvisor(['exec', prog, busybox], { cwd, env: { PATH: bin }, timeoutMs: 120_000 });
    assert.equal(r.stdout.toString(), readFileSync(join(FIX, 'fork.expected'), 'utf8'), `stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('fork: rvisor exits with the first process status and kills the processes left', () => {
  const t0 = Date.now();
  const r = runRvisor(['exec', busybox, 'sh', '-c', 'sleep 30 & echo spawned; exit 5'], { env: { PATH: bin } });
  assert.equal(r.stdout.toString(), 'spawned\n');
  assert.equal(r.status, 5);
  assert.ok(Date.now() - t0 < 20_000, 'the background sleep was not waited for');
});

test('fork: execve runs #! scripts through their interpreter', () => {
  const dir = mkdtempSync(join(scratchDir(), 'fork-script-'));
  try {
    const script = join(dir, 'hello.sh');
    writeFileSync(script, `#!${busybox} sh\necho "script $0 says $1"\nexit 6\n`);
    chmodSync(script, 0o755);
    const r = runRvisor(['exec', busybox, 'sh', '-c', './hello.sh hi; echo status $?'], { cwd: dir, env: { PATH: bin } });
    assert.equal(r.stdout.toString(), 'script ./hello.sh says hi\nstatus 6\n', r.stderr);
    assert.equal(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
