// Input from host descriptors that can block (the host's stdin pipe here) blocks only the guest
// thread that reads it: other threads keep running, poll reports the truth, and rvisor does not
// wait for the host once the guest is done. The fixture (test/fixtures/user/hostio.c) printed the
// expected transcript (hostio.expected) under qemu-riscv64-static with its stdin fed the same way:
// (sleep 0.3; echo hello) | qemu-riscv64-static hostio — re-checked by test/fixtures/user/build.sh --check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, runRvisor, unpackGz } from './helpers.js';

const EXPECTED = readFileSync(join(ROOT, 'test', 'fixtures', 'user', 'hostio.expected'), 'utf8');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs rvisor with a stdin pipe; `feed` gets the pipe to write to later (or to keep open) and a
 *  way to wait until the program has printed something. */
function runWithStdin(args: string[], feed: (stdin: NodeJS.WritableStream, printed: (text: string) => Promise<void>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const c = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const waiters: { text: string; resolve: () => void }[] = [];
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      for (const w of waiters.splice(0)) if (stdout.includes(w.text)) w.resolve(); else waiters.push(w);
    });
    const printed = (text: string): Promise<void> =>
      new Promise((res) => (stdout.includes(text) ? res() : waiters.push({ text, resolve: res })));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.stdin.on('error', () => {}); // the guest may be gone before the test writes
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('error', reject);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - start });
    });
    feed(c.stdin, printed);
  });
}

test('host stdin: a thread blocked reading it does not stop the other threads; poll tells the truth (matches QEMU)', async () => {
  const prog = unpackGz('test/fixtures/user/hostio.gz');
  // QEMU got the input 0.3 s after it started, when its ticks were long done. rvisor starts slower
  // and a loaded host slows it down more, so the input comes once the last tick is out (the
  // reader thread has been blocked in poll all along): the same order as QEMU's, on any host.
  const r = await runWithStdin(['exec', prog], (stdin, printed) => {
    void printed('tick 5\n').then(() => setTimeout(() => stdin.end('hello\n'), 50));
  });
  assert.equal(r.stdout, EXPECTED, `stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
});

test('host stdin: rvisor exits when the guest does, even while the host keeps stdin open', async () => {
  const busybox = unpackGz('guest/busybox/busybox.gz');
  let pipe: NodeJS.WritableStream | undefined;
  // read -t polls stdin (a worker starts reading it); the host never writes nor closes it.
  const r = await runWithStdin(['exec', busybox, 'sh', '-c', 'read -t 0.2 x; echo timed out $?'], (stdin) => (pipe = stdin));
  pipe?.end();
  assert.match(r.stdout, /^timed out [1-9]\d*\n$/, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
});

test('host stdin: a shell reads its commands from a pipe; a big input; empty input is EOF', () => {
  const busybox = unpackGz('guest/busybox/busybox.gz');
  const sh = runRvisor(['exec', busybox, 'sh'], { input: 'echo hi\nexit 0\n' });
  assert.equal(sh.stdout.toString(), 'hi\n', sh.stderr);
  assert.equal(sh.status, 0, sh.stderr);
  const lines = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
  const wc = runRvisor(['exec', busybox, 'wc', '-l'], { input: lines });
  assert.equal(wc.stdout.toString().trim(), '20000', wc.stderr);
  const cat = runRvisor(['exec', busybox, 'cat'], { input: '' });
  assert.equal(cat.stdout.toString(), '');
  assert.equal(cat.status, 0, cat.stderr);
});
