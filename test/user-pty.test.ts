// An interactive busybox shell on an rvisor pseudo-terminal: `busybox script` opens /dev/ptmx,
// forks `sh -i` with the slave as its controlling terminal and copies its stdin to the master.
// The shell runs with job control (setpgid, tcsetpgrp on the pty), so a background job stopped
// by SIGSTOP is reported as such. Cannot be compared with QEMU (qemu-user cannot execve a
// riscv64 program without binfmt_misc), so the output is checked for what Linux prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

test('user-pty: busybox sh -i under busybox script (a pty inside rvisor) runs commands and job control', () => {
  const busybox = unpackGz('guest/busybox/busybox.gz');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-pty-'));
  try {
    for (const a of ['sh', 'tty', 'stty', 'sleep', 'echo', 'kill']) symlinkSync(busybox, join(dir, a));
    const input = [
      'echo hi $((1+2))', 'tty', 'stty rows 33 cols 99', 'stty size', 'sleep 5 &', 'kill -STOP $!', 'sleep 0.2', 'jobs',
      'kill %1', 'wait', 'echo done', 'exit', '',
    ].join('\n');
    const r = runRvisor(['exec', busybox, 'script', '-q', '-c', `${dir}/sh -i`, '/dev/null'], {
      input, cwd: dir, env: { PATH: dir, SHELL: join(dir, 'sh'), HOME: dir }, timeoutMs: 120_000,
    });
    const out = r.stdout.toString();
    assert.equal(r.status, 0, r.stderr + out);
    // The shell's output went through the line discipline (ONLCR) and includes the echo.
    assert.match(out, /# echo hi \$\(\(1\+2\)\)\r\nhi 3\r\n/);
    assert.match(out, /# tty\r\n\/dev\/pts\/\d+\r\n/);
    assert.match(out, /# stty size\r\n33 99\r\n/);
    assert.match(out, /\[1\]\+ +Stopped \(signal\) +sleep 5/);
    assert.match(out, /done\r\n/);
    assert.match(out, /\[1\]\+ +Terminated +sleep 5/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
