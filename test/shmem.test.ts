// Shared memory and exit checks that cannot be compared with QEMU by the ctests: robust mutexes
// (QEMU user mode does not implement set_robust_list, so glibc refuses robust mutexes there; the
// expected lines are what Linux gives, checked with a native build of the same C code), and a
// process whose threads are blocked writing to a host pipe nobody reads while its main thread
// exits (the run must end, as on Linux, where exit_group ends the blocked writers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runRvisor, unpackGz, withJitFlags } from './helpers.js';

const ctest = (): string => unpackGz('guest/ctests/bin/ctest.gz');

test('robust mutexes: a dead owner thread or process gives EOWNERDEAD (anonymous and file shared memory)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-robust-'));
  try {
    const r = runRvisor(['exec', ctest(), 'robust', dir], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    const want: string[] = [];
    for (const kind of ['anon', 'file']) {
      want.push(
        `${kind} lock after owner thread died: EOWNERDEAD`,
        `${kind} consistent: 0`,
        `${kind} unlock: 0`,
        `${kind} lock again: 0`,
        `${kind} lock after owner process died: EOWNERDEAD`,
        `${kind} lock of unrecoverable mutex: ENOTRECOVERABLE`,
        `${kind} lock after owner killed: EOWNERDEAD`,
      );
    }
    assert.equal(r.stdout.toString(), want.join('\n') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `ctest busyexit child MODE` with stdout and stderr to pipes this test does not read
 *  until the run has ended; resolves with the exit code (or 'timeout'). */
function runUnread(bin: string, mode: number, limitMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...withJitFlags(['exec', bin, 'busyexit', 'child', String(mode)])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stdout.pause();
    c.stderr.pause();
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      resolve('timeout');
    }, limitMs);
    c.on('exit', (code, sig) => {
      clearTimeout(timer);
      c.stdout.destroy();
      c.stderr.destroy();
      resolve(code ?? `signal ${sig}`);
    });
  });
}

test('exit while threads are blocked writing to a host pipe nobody reads ends the process', async () => {
  const bin = ctest();
  for (let mode = 0; mode < 6; mode++) {
    // The bound only keeps a regression from hanging the suite; a correct run ends at once.
    const r = await runUnread(bin, mode, 60_000);
    assert.equal(r, 0, `mode ${mode}`);
  }
});
