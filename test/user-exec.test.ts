// `rvisor exec` end to end: bad input gets one clear line and a distinct exit status; real
// riscv64 programs (test/fixtures/user, built by its build.sh) behave as under Linux: output and
// exit status match the transcripts recorded from qemu-riscv64-static.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { ERROR_CODES } from '../src/errors.js';
import { ROOT, runRvisor, scratchDir, unpackGz } from './helpers.js';

const FIX = 'test/fixtures/user';
const fixture = (name: string): string => unpackGz(`${FIX}/${name}.gz`);
const expected = (name: string): string => readFileSync(join(ROOT, FIX, `${name}.expected`), 'utf8');

/** Asserts a one-line "rvisor: ..." message and the exit status of `code`. */
function assertFails(r: ReturnType<typeof runRvisor>, code: keyof typeof ERROR_CODES, pattern: RegExp): void {
  assert.equal(r.status, ERROR_CODES[code].exit, `exit status for ${code}; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0]!, /^rvisor: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('exec: a file that is not ELF', () => {
  const p = join(scratchDir(), 'script.sh');
  writeFileSync(p, '#!/bin/sh\necho hi\n', { mode: 0o755 });
  assertFails(runRvisor(['exec', p]), 'NOT_ELF', /script\.sh: not an ELF/);
});

test('exec: a 32-bit ELF', () => {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  new DataView(b.buffer).setUint16(16, 2, true);
  new DataView(b.buffer).setUint16(18, 243, true);
  const p = join(scratchDir(), 'rv32');
  writeFileSync(p, b, { mode: 0o755 });
  assertFails(runRvisor(['exec', p]), 'ELF_CLASS', /rv32: 32-bit RISC-V ELF/);
});

test('exec: a host program (the node binary running this test: always there, never riscv64)', () => {
  const host = process.execPath;
  const r = runRvisor(['exec', host]);
  const named: Partial<Record<string, RegExp>> = { x64: /x86-64 ELF/, arm64: /AArch64 ELF/ };
  assertFails(r, 'ELF_CLASS', named[process.arch] ?? /ELF/);
});

test('exec: a truncated ELF', () => {
  const p = join(scratchDir(), 'truncated');
  writeFileSync(p, gunzipSync(readFileSync(join(ROOT, FIX, 'hello.gz'))).subarray(0, 2000), { mode: 0o755 });
  assertFails(runRvisor(['exec', p]), 'ELF_CORRUPT', /truncated: truncated ELF file/);
});

test('exec: a missing file, a directory, a bad sysroot', () => {
  assertFails(runRvisor(['exec', '/no/such/program']), 'ENOENT_FILE', /\/no\/such\/program: no such file/);
  assertFails(runRvisor(['exec', scratchDir()]), 'ENOENT_FILE', /is a directory/);
  assertFails(runRvisor(['exec', '--sysroot', '/no/such/dir', fixture('hello')]), 'ENOENT_FILE', /--sysroot/);
});

test('exec: a missing interpreter', () => {
  const dyn = fixture('hello-dyn');
  assertFails(runRvisor(['exec', dyn]), 'ELF_INTERP', /ld-linux-riscv64-lp64d\.so\.1/);
  const empty = mkdtempSync(join(tmpdir(), 'rvisor-empty-'));
  try {
    assertFails(runRvisor(['exec', '--sysroot', empty, dyn]), 'ELF_INTERP', /cannot load program interpreter/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('exec: usage errors', () => {
  assertFails(runRvisor(['exec']), 'USAGE', /no program/);
  assertFails(runRvisor(['exec', '--bogus', 'x']), 'USAGE', /unknown option "--bogus"/);
  assertFails(runRvisor(['exec', '--sysroot']), 'USAGE', /--sysroot needs/);
});

test('exec: a program jumping to garbage dies by SIGSEGV or SIGILL, never a host trace', () => {
  for (const [name, status] of [['jump-unmapped', 139], ['jump-data', 139], ['illegal', 132]] as const) {
    const r = runRvisor(['exec', fixture(name)]);
    assert.equal(r.status, status, `${name}: ${r.stderr}`);
    // one line naming the signal, the fault and the instruction (like QEMU's "uncaught target
    // signal"), never a host stack trace
    assert.match(r.stderr, new RegExp(`^rvisor: \\S+${name}: uncaught SIG(SEGV|ILL): .* at pc 0x[0-9a-f]+.*\\n$`), `${name}: ${r.stderr}`);
  }
});

test('exec: hello world, arguments and exit status pass through', () => {
  const hello = fixture('hello');
  let r = runRvisor(['exec', hello]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'hello, world (argc=1)\n');
  r = runRvisor(['exec', '--', hello, '42', 'two words']);
  assert.equal(r.status, 42);
  assert.equal(r.stdout.toString(), 'hello, world (argc=3)\nargv[1]=42\nargv[2]=two words\n');
});

test('exec: --stats, --strace and --trace write to stderr', () => {
  const hello = fixture('hello');
  let r = runRvisor(['exec', '--stats', hello, '3']);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /^rvisor: \d+ instructions in [\d.]+ s \([\d.]+ MIPS\)\nrvisor: jit: (off|threshold \d+; .+)\n$/);
  r = runRvisor(['exec', '--strace', hello]);
  assert.equal(r.status, 0);
  assert.match(r.stderr, /^\d+ write\(1,0x[0-9a-f]+,22\) = 22$/m);
  assert.match(r.stderr, /^\d+ exit_group\(0\)$/m);
  r = runRvisor(['exec', '--trace', fixture('illegal')]);
  assert.equal(r.status, 132);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 3, r.stderr);
  assert.match(lines[0]!, /^\d+ 0x0+10[0-9a-f]+: /);
  assert.match(lines[2]!, /uncaught SIGILL: illegal instruction at pc 0x[0-9a-f]+ \(\.insn 0x0000 \(illegal\)\)$/);
});

test('exec: syscall smoke test (files, descriptors, memory, time, process) matches Linux', () => {
  const smoke = fixture('smoke');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-smoke-'));
  try {
    const r = runRvisor(['exec', smoke, 'a', 'b'], { cwd: dir, env: { ...process.env, RVISOR_SMOKE: 'yes' } });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.toString(), expected('smoke'));
    assert.equal(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exec: threads (mutex, condvar, join, TLS, barrier, timed wait) match Linux', () => {
  const r = runRvisor(['exec', fixture('threads')]);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.toString(), expected('threads'));
  assert.equal(r.status, 0);
});

test('exec: signals (handlers, masks, altstack, faults, sigsuspend, alarm) match Linux', () => {
  const r = runRvisor(['exec', fixture('signals')]);
  assert.equal(r.stdout.toString(), expected('signals'));
  assert.equal(r.status, 128 + 15, 'killed by its own SIGTERM');
});

test('exec: a dynamic program through --sysroot', () => {
  const root = join(scratchDir(), 'sysroot');
  mkdirSync(join(root, 'lib'), { recursive: true });
  for (const f of ['ld-linux-riscv64-lp64d.so.1', 'libc.so.6']) {
    writeFileSync(join(root, 'lib', f), gunzipSync(readFileSync(join(ROOT, FIX, 'sysroot', `${f}.gz`))));
  }
  const r = runRvisor(['exec', '--sysroot', root, fixture('hello-dyn'), '7', 'x']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.toString(), 'hello, world (argc=3)\nargv[1]=7\nargv[2]=x\n');
  assert.equal(r.status, 7);
});
