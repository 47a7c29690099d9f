// What rvisor's /proc and prctl must do where QEMU user mode cannot serve as the oracle: QEMU
// passes most of /proc through to the host's files about the QEMU process itself (its own
// threads, signal dispositions, environment, host cpuinfo) and emulates /proc/self/stat with 44
// fields and the program name, and QEMU 7.2 rejects PR_SET_CHILD_SUBREAPER, PR_GET_TID_ADDRESS
// and PR_SET/GET_THP_DISABLE with EINVAL. These tests check Linux's behaviour (proc(5),
// prctl(2)) with the ctest binary's rvisor-only modes (`ctest procfs detail`, `ctest prctl
// linux`), and that a path under /proc never shows the host's view of the Node process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

let binary: string | undefined;
const ctest = (): string => (binary ??= unpackGz('guest/ctests/bin/ctest.gz'));

function run(args: string[], env: NodeJS.ProcessEnv = { LC_ALL: 'C' }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-procfs-'));
  try {
    // Run through a symlink: the comm of a new image is the name execve was given, unresolved.
    const prog = join(dir, 'linked-ctest');
    symlinkSync(ctest(), prog);
    const r = runRvisor(['exec', prog, ...args], { cwd: dir, env, timeoutMs: 120_000 });
    assert.equal(r.status, 0, `ctest ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('procfs detail: status, stat, task, fd, cpuinfo and environ describe the guest process', () => {
  const out = run(['procfs', 'detail'], { LC_ALL: 'C', RVT_ONE: '1', RVT_TWO: 'two words' });
  const lines = out.trim().split('\n');
  assert.deepEqual(lines, [
    'initial comm: linked-ctest',
    'environ is the environment with NULs: yes (3 strings)',
    'heap line after sbrk is [heap]: yes',
    'stat comm and state: (detail-name) R',
    'Threads=3',
    // SIGUSR1 blocked; SIGUSR2 ignored; SIGTERM caught, and glibc's SIGSETXID handler (33).
    'SigBlk=0000000000000200',
    'SigIgn=0000000000000800',
    'SigCgt=0000000100004000',
    'State=R (running)',
    'NoNewPrivs=0',
    'tasks=3',
    'stat fields=52',
    // Only comm is writable (EACCES rather than Linux's EINVAL at write time for root).
    'open status for writing: Permission denied',
    'statm fields=7',
    'cpuinfo isa=rv64imafdc_zicsr_zifencei',
    'cpuinfo mmu=sv39',
    // 0, 1, 2 and the directory's own fd.
    'fd entries=4',
  ]);
});

test('prctl linux: THP_DISABLE, GET_TID_ADDRESS and CHILD_SUBREAPER follow Linux', () => {
  const out = run(['prctl', 'linux']);
  assert.deepEqual(out.trim().split('\n'), [
    'PR_GET_THP_DISABLE: 0',
    'PR_SET_THP_DISABLE(1): 0',
    'PR_GET_THP_DISABLE: 1',
    'PR_GET_TID_ADDRESS: 0, it holds gettid(): yes',
    'PR_GET_TID_ADDRESS(bad pointer): Bad address',
    'PR_SET_CHILD_SUBREAPER: 0',
    'PR_GET_CHILD_SUBREAPER: 1',
    'orphan reparented to the subreaper: yes',
    'subreaper waits for it: yes, status 7',
  ]);
});

test('host processes appear in /proc beside the guest\'s, as the pids kill(2) reaches; rvisor itself does not', () => {
  const bb = unpackGz('guest/busybox/busybox.gz');
  // The test runner is a host process: its pid is rvisor's parent's parent here (runRvisor runs
  // node bin/rvisor.js, whose pid is the guest's first pid), and its /proc entry is the host's.
  const script = [
    `${bb} cat /proc/${process.pid}/comm`,
    `${bb} kill -0 ${process.pid} && echo kill-ok`,
    `${bb} ls /proc | ${bb} grep -cx ${process.pid}`,
    // A forked guest process is a guest pid, never a live host pid.
    `${bb} sh -c 'echo child $$' > c.txt; ${bb} cat c.txt`,
    `${bb} pidof -s no-such-program-anywhere || echo none`,
    // rvisor's own host threads are not host processes to the guest.
    `${bb} cat /proc/$$/comm`,
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-procfs-'));
  try {
    const r = runRvisor(['exec', bb, 'sh', '-c', script], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.toString().split('\n');
    assert.equal(lines[0], 'node');
    assert.equal(lines[1], 'kill-ok');
    assert.equal(lines[2], '1');
    const child = Number(/^child (\d+)$/.exec(lines[3] ?? '')?.[1]);
    assert.ok(child > 0, lines[3]);
    assert.equal(lines[4], 'none');
    assert.equal(lines[5], 'busybox', "rvisor's own pid shows the guest shell, not the host Node process");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
