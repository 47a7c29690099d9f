// The host tools rvisor runs for calls Node lacks (mkfifo(1) for mknod S_IFIFO here) come from
// the system's directories, not from rvisor's PATH: a PATH that puts another "mkfifo" first (as
// busybox's testsuite does, with links that run the riscv64 busybox under rvisor again) must not
// change what the guest's system call does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runRvisor, unpackGz, withJitFlags } from './helpers.js';

test('mkfifo under a PATH whose first "mkfifo" is something else still makes the FIFO', () => {
  const bb = unpackGz('guest/busybox/busybox.gz');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-tools-'));
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const marker = join(dir, 'decoy-ran');
    for (const tool of ['mkfifo', 'mknod', 'touch', 'sync', 'fallocate']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "$0" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
    }
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const r = runRvisor(['exec', bb, 'mkfifo', join(dir, 'fifo')], { env, cwd: dir });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    assert.ok(lstatSync(join(dir, 'fifo')).isFIFO());
    assert.equal(existsSync(marker), false, 'rvisor ran a tool found by PATH lookup');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FIFOs opened and closed over and over leave no Node warning on the guest\'s stderr', () => {
  // A blocking FIFO open happens in a worker thread (fifo-open.ts) and the fd is closed by the
  // main thread: with Node's per-thread fd tracking on, a number coming round again printed
  // "File descriptor N opened in unmanaged mode twice" into the guest's stderr.
  const bb = unpackGz('guest/busybox/busybox.gz');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-fifo-'));
  try {
    const f = join(dir, 'f');
    const loop = `${bb} mkfifo ${f}; for i in 1 2 3 4 5 6 7 8; do ${bb} cat ${f} > /dev/null & echo x > ${f}; wait; done; echo end`;
    // stdin /dev/null: with an empty pipe there the fd numbers happened not to come round.
    const r = spawnSync(process.execPath, [CLI, ...withJitFlags(['exec', bb, 'sh', '-c', loop])], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    assert.equal(r.stdout.toString(), 'end\n');
    assert.equal(r.stderr.toString(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
