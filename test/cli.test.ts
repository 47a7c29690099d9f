// The `rvisor` command line at its edges: sizes, help on every verb, disks that must be refused
// before anything boots, and `exec` of a file Linux would not execute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, linkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, RvisorError, type ErrorCode } from '../src/errors.js';
import { parseSize, sizeBytes } from '../src/vmm/size.js';
import { parseRunArgs } from '../src/cli/run.js';
import { parseExecArgs } from '../src/cli/exec.js';
import { runRvisor, scratchDir, unpackGz } from './helpers.js';

const MiB = 1024 * 1024;

function isError(code: ErrorCode, pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof RvisorError, `an RvisorError, not ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

/** One "rvisor: ..." line (possibly followed by a usage text), the code's status, no stack. */
function assertFails(r: ReturnType<typeof runRvisor>, code: ErrorCode, pattern: RegExp): void {
  assert.equal(r.status, ERROR_CODES[code].exit, `exit status for ${code}; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^rvisor: /);
  assert.match(r.stderr.split('\n')[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('sizes: K/M/G (binary, optional B/iB), B is bytes, a bare number is MiB, as QEMU reads -m', () => {
  assert.equal(parseSize('256M', '--mem'), 256 * MiB);
  assert.equal(parseSize('256MiB', '--mem'), 256 * MiB);
  assert.equal(parseSize('256mb', '--mem'), 256 * MiB);
  assert.equal(parseSize('1G', '--mem'), 1024 * MiB);
  assert.equal(parseSize('1GiB', '--mem'), 1024 * MiB);
  assert.equal(parseSize('3G', '--mem'), 3072 * MiB);
  assert.equal(parseSize('16384K', '--mem'), 16 * MiB);
  assert.equal(parseSize('512', '--mem'), 512 * MiB);
  assert.equal(parseSize(String(32 * MiB) + 'B', '--mem'), 32 * MiB);
  assert.equal(sizeBytes('512B', 'x'), 512);
  assert.equal(sizeBytes('512b', 'x'), 512);
  assert.equal(sizeBytes('2K', 'x'), 2048);
});

test('sizes: 512B is 512 bytes (too small), never 512 MiB; bad text and out-of-range sizes name the option', () => {
  assert.throws(() => parseSize('512B', '--mem'), isError('MEM_TOO_SMALL', /^--mem 512B: memory too small/));
  assert.throws(() => parseSize('15M', '--mem'), isError('MEM_TOO_SMALL', /--mem 15M/));
  assert.throws(() => parseSize('4G', '--mem'), isError('USAGE', /^--mem 4G: at most 3G/));
  assert.throws(() => parseSize('99999999999999999G', '--mem'), isError('USAGE', /--mem/));
  assert.throws(() => parseSize(String(16 * MiB + 512) + 'B', 'memory'), isError('USAGE', /^memory \d+B: must be a multiple of 4K/));
  for (const bad of ['', 'M', '1.5G', '-1G', '12iB', '1T', '1 G B', '0x100M', '256MiBs']) {
    assert.throws(() => parseSize(bad, '--mem'), isError('USAGE', /^--mem .*expected a size/), JSON.stringify(bad));
  }
  assert.equal(parseRunArgs(['--mem', '1G']).memBytes, 1024 * MiB);
  assert.throws(() => parseRunArgs(['--mem', '512B']), isError('MEM_TOO_SMALL', /--mem 512B/));
  assert.throws(() => parseRunArgs(['-m', '512B']), isError('MEM_TOO_SMALL', /-m 512B/));
});

test('rvisor run --mem 512B fails before reading anything', () => {
  // The kernel does not exist: were 512B read as 512 MiB, the missing kernel would be the error.
  assertFails(runRvisor(['run', '--mem', '512B', '--kernel', join(scratchDir(), 'no-kernel')]), 'MEM_TOO_SMALL', /--mem 512B: memory too small/);
});

test('help is a success on stdout for every verb; no verb is a usage error on stderr', () => {
  for (const args of [['run', '--help'], ['run', '-h'], ['run', '--cpus', '2', '--help'], ['help', 'run']]) {
    const r = runRvisor(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    assert.match(r.stdout.toString(), /^usage: rvisor run \[options\]\n[\s\S]*--mem SIZE/, args.join(' '));
  }
  for (const args of [['exec', '--help'], ['exec', '-h'], ['exec', '--strace', '--help'], ['help', 'exec']]) {
    const r = runRvisor(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    assert.match(r.stdout.toString(), /^usage: rvisor exec [\s\S]*--sysroot DIR/, args.join(' '));
  }
  for (const args of [['help'], ['--help'], ['-h']]) {
    const r = runRvisor(args);
    assert.equal(r.status, 0, args.join(' '));
    assert.equal(r.stderr, '');
    assert.match(r.stdout.toString(), /^usage: rvisor <command>/);
  }
  const none = runRvisor([]);
  assert.equal(none.status, 2);
  assert.equal(none.stdout.length, 0);
  assert.match(none.stderr, /^rvisor: no command given\nusage: rvisor <command>/);
  assertFails(runRvisor(['help', 'frob']), 'USAGE', /help: unknown command "frob"/);
  // --help as an argument of the guest program belongs to the program
  const o = parseExecArgs(['prog', '--help']);
  assert.equal(o.help, false);
  assert.deepEqual(o.args, ['--help']);
});

/** A raw image of `bytes` zero bytes in the scratch directory. */
function image(name: string, bytes: number): string {
  const p = join(scratchDir(), name);
  writeFileSync(p, new Uint8Array(bytes));
  return p;
}

test('run: the same disk file attached twice is refused (same path, symlink, hard link), read-only or not', () => {
  const disk = image('twice.img', MiB);
  const sym = join(scratchDir(), 'twice-symlink.img');
  symlinkSync(disk, sym);
  const hard = join(scratchDir(), 'twice-hardlink.img');
  linkSync(disk, hard);
  const other = image('other.img', MiB);
  const cases: Array<[string[], RegExp]> = [
    [['--disk', disk, '--disk', disk], /twice\.img' is attached twice/],
    [['--disk', disk, '--disk', other, '--disk', `${sym},ro`], /twice-symlink\.img' \(the same file as '.*twice\.img'\) is attached twice/],
    [['--disk', `${disk},ro`, '--disk', `${hard},ro`], /twice-hardlink\.img' \(the same file as '.*twice\.img'\) is attached twice/],
  ];
  for (const [args, pattern] of cases) {
    // the guest must never start: a short timeout turns a boot into a failure
    assertFails(runRvisor(['run', ...args], { timeoutMs: 30000 }), 'DISK_OPEN', pattern);
  }
});

test('run: an empty disk image or one that is not whole 512-byte sectors is refused', () => {
  assertFails(runRvisor(['run', '--disk', image('empty.img', 0)], { timeoutMs: 30000 }), 'BAD_IMAGE', /empty\.img' is empty \(0 bytes\)/);
  assertFails(runRvisor(['run', '--disk', `${image('odd.img', MiB + 100)},ro`], { timeoutMs: 30000 }), 'BAD_IMAGE',
    /odd\.img' is 1048676 bytes, not a whole number of 512-byte sectors/);
});

test('exec: a file without execute permission fails with EACCES, as execve(2) does (even for root)', () => {
  const prog = unpackGz('test/fixtures/user/hello.gz');
  const noexec = join(scratchDir(), 'hello-noexec');
  copyFileSync(prog, noexec);
  chmodSync(noexec, 0o644);
  const r = runRvisor(['exec', noexec]);
  assertFails(r, 'EXEC_DENIED', /hello-noexec: permission denied/);
  assert.equal(r.status, 126, 'the status a shell gives for "Permission denied"');
  assert.equal(r.stdout.length, 0, 'nothing ran');
  assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, 'one line');
  chmodSync(noexec, 0o744);
  const ok = runRvisor(['exec', noexec]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.toString(), 'hello, world (argc=1)\n');
});
