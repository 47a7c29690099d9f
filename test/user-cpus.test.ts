// `rvisor exec --cpus N` (src/user/cpus.ts): the guest is shown N CPUs (default 1) consistently
// in sched_getaffinity (busybox nproc), /proc/cpuinfo, /proc/stat and /sys/devices/system/cpu's lists; sched_setaffinity keeps a
// mask (busybox taskset), inherited by children; bad values are refused before anything runs.
// QEMU cannot be the oracle here: it shows the host's CPUs, whatever their number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRvisor, unpackGz } from './helpers.js';

const bb = (): string => unpackGz('guest/busybox/busybox.gz');

test('cpus: the count shown is 1 by default and N with --cpus N or RVISOR_CPUS', () => {
  const b = bb();
  const one = runRvisor(['exec', b, 'nproc'], { timeoutMs: 60_000, env: { ...process.env, RVISOR_CPUS: '' } });
  assert.equal(one.status, 0, one.stderr);
  assert.equal(one.stdout.toString(), '1\n');
  const script = `${b} grep -c ^processor /proc/cpuinfo; ${b} grep -c '^cpu[0-9]' /proc/stat; ${b} nproc`;
  const three = runRvisor(['exec', '--cpus', '3', b, 'sh', '-c', script], { timeoutMs: 60_000 });
  assert.equal(three.status, 0, three.stderr);
  assert.equal(three.stdout.toString(), '3\n3\n3\n');
  const env = runRvisor(['exec', b, 'nproc'], { timeoutMs: 60_000, env: { ...process.env, RVISOR_CPUS: '5' } });
  assert.equal(env.stdout.toString(), '5\n');
});

test('cpus: /sys/devices/system/cpu online, possible, present and offline list the CPUs shown (glibc\'s sysconf reads them)', () => {
  const b = bb();
  const script = `cd /sys/devices/system; for f in online possible present offline; do ${b} cat cpu/$f; done; ${b} cat /sys/devices/system/cpu/../cpu/online`;
  const three = runRvisor(['exec', '--cpus', '3', b, 'sh', '-c', script], { timeoutMs: 60_000 });
  assert.equal(three.status, 0, three.stderr);
  assert.equal(three.stdout.toString(), '0-2\n0-2\n0-2\n\n0-2\n');
  const one = runRvisor(['exec', b, 'cat', '/sys/devices/system/cpu/online'], { timeoutMs: 60_000, env: { ...process.env, RVISOR_CPUS: '' } });
  assert.equal(one.stdout.toString(), '0\n');
});

test('cpus: sched_setaffinity keeps a mask within the CPUs shown, inherited by a child', () => {
  const b = bb();
  const script = `${b} taskset -p 2 $$ >/dev/null; ${b} nproc; ${b} taskset -p $$ | ${b} sed 's/.*: //'; ` +
    `${b} taskset -p 8 $$ >/dev/null 2>&1 || echo refused`;
  const r = runRvisor(['exec', '--cpus', '2', b, 'sh', '-c', script], { timeoutMs: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), '1\n2\nrefused\n');
});

test('cpus: an impossible count is refused with exit 2 and nothing run', () => {
  const b = bb();
  for (const v of ['0', '65', 'two', '']) {
    const r = runRvisor(['exec', `--cpus=${v}`, b, 'echo', 'ran'], { timeoutMs: 60_000 });
    assert.equal(r.status, 2);
    assert.equal(r.stdout.toString(), '');
    assert.match(r.stderr.toString(), /--cpus needs a number of CPUs from 1 to 64/);
  }
});
