// The special fds and process handles where qemu-riscv64 7.2 cannot be the oracle (guest/ctests/
// fdlinux.c: clone3 and epoll_pwait2 are ENOSYS there, signalfd4's size argument is ignored).
// The expected lines are what Linux 6.18 printed for the same program built for the host and run
// as an unprivileged user (cc -DSTANDALONE guest/ctests/fdlinux.c; setpriv --reuid=65534).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

const EXPECTED = [
  'clone3: child>0 1 pidfd>=3 1 cloexec 1 parent_tid_ok 1',
  '  poll: 1 revents 0x1',
  '  waitid P_PIDFD: 0 pid_ok 1 code 1 status 5',
  'clone3 vfork, 128-byte struct: child>0 1 status 9',
  'nonzero byte past the known fields: E2BIG',
  'size 32: EINVAL',
  'size 4097: E2BIG',
  'bad pointer: EFAULT',
  'exit_signal 65: EINVAL',
  'exit_signal 0x111: EINVAL',
  'signal in flags: EINVAL',
  'unknown flag bit 40: EINVAL',
  'CLONE_DETACHED: EINVAL',
  'CLONE_SIGHAND|CLONE_CLEAR_SIGHAND: EINVAL',
  'CLONE_THREAD with exit_signal: EINVAL',
  'stack without size: EINVAL',
  'size without stack: EINVAL',
  'set_tid with size 0: EINVAL',
  'set_tid_size 33: EINVAL',
  'set_tid unprivileged: EPERM',
  'set_tid_size without set_tid: EINVAL',
  'CLONE_PIDFD bad pidfd pointer: EFAULT',
  'clone CLONE_PIDFD: pidfd>=3 1 status 3',
  'clone CLONE_PIDFD|CLONE_PARENT_SETTID: EINVAL',
  'epoll_pwait2 zero timeout: 0',
  'epoll_pwait2 20ms: 0 waited>=20ms 1',
  'epoll_pwait2 ready, no timeout: 1 data 77 events 0x1',
  'epoll_pwait2 bad nsec: EINVAL',
  'epoll_pwait2 bad timeout pointer: EFAULT',
  'epoll_pwait2 maxevents 0: EINVAL',
  'epoll_pwait2 not an epoll: EINVAL',
  'epoll_pwait2 bad fd: EBADF',
  'epoll_pwait2 sigsetsize 4: EINVAL',
  'signalfd4 sizemask 4: EINVAL',
  'signalfd4 sizemask 16: EINVAL',
];

test('fdkinds: clone3, CLONE_PIDFD, epoll_pwait2 and signalfd4 sizes as on Linux', () => {
  const binary = unpackGz('guest/ctests/bin/ctest.gz');
  const tmp = mkdtempSync(join(tmpdir(), 'fdlinux-'));
  try {
    const r = runRvisor(['exec', binary, 'fdlinux'], { cwd: tmp, env: { LC_ALL: 'C' }, timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.toString('utf8').split('\n'), [...EXPECTED, '']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
