// Job control that QEMU (the reference of the C cases) cannot check: it does not reliably stop a
// guest on SIGTSTP, SIGTTIN or SIGTTOU. `ctest jobctl tstp` and `ctest jobctl tty`
// (guest/ctests/jobctl.c) run under rvisor and must print what they print on Linux (recorded from
// qemu-riscv64-static runs in which the stops happened, i.e. the host kernel's answers):
// SIGTSTP seen by waitid WSTOPPED (+WNOWAIT) and WCONTINUED with SIGCHLD's si_code; on a pty that
// is the session's controlling terminal, background reads stop with SIGTTIN, tcsetpgrp and
// tcsetattr from the background and writes with TOSTOP with SIGTTOU, reads with SIGTTIN ignored
// fail with EIO, an orphaned stopped process group gets SIGHUP + SIGCONT, TIOCNOTTY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRvisor, unpackGz } from './helpers.js';

const ctest = unpackGz('guest/ctests/bin/ctest.gz');

const TSTP = [
  "waitid WSTOPPED: ok code 5 status 20 pid==t2 1",
  "waitid again (WNOWAIT kept it): ok code 5 status 20",
  "after SIGTSTP: SIGCHLD x1 [code 5 status 20]",
  "waitid WCONTINUED: ok code 6 status 18",
  "after continue: SIGCHLD x1 [code 6 status 18]",
  "done: 0",
  ].join('\n') + '\n';

const TTY = [
  "open slave as session leader: ok, tcgetpgrp==pid 1",
  "TIOCSCTTY again: ok",
  "background read: stopped 1 sig 21",
  "tcsetpgrp(reader): ok",
  "reader in foreground read: exit 107 ('k' is 107)",
  "tcsetpgrp back from the background, SIGTTOU default: stopped 1 sig 22",
  "tcsetpgrp(self) with SIGTTOU ignored: ok, fg==us 1",
  "tcsetpgrp(other session's pid 1): Operation not permitted",
  "tcsetpgrp(-1): Invalid argument",
  "background write without TOSTOP then tcsetattr: stopped 1 sig 22",
  "master got 7 bytes: k\r",
  "bg\r",
  "background write with TOSTOP: stopped 1 sig 22",
  "background read with SIGTTIN ignored fails with EIO: 1",
  "middle process saw the stop: 1",
  "orphaned group: continued after orphaning",
  "TIOCNOTTY: ok, tcgetpgrp after: Inappropriate ioctl for device",
  "done: 0",
  ].join('\n') + '\n';

for (const [mode, want] of [['tstp', TSTP], ['tty', TTY]] as const) {
  test(`user-jobctl: ctest jobctl ${mode} prints what Linux prints`, () => {
    const r = runRvisor(['exec', ctest, 'jobctl', mode], { env: { LC_ALL: 'C' }, timeoutMs: 120_000 });
    assert.equal(r.stdout.toString(), want, r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
}
