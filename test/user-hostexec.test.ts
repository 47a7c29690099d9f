// execve of host-native programs (src/user/host-exec.ts): a guest (the bundled riscv64 busybox)
// runs the host's own /bin/sh, /bin/cat, /usr/bin/env... natively; they get the guest's fds,
// cwd, env, umask and ignored signals; their exit status or signal comes back through wait4;
// rvisor pipes carry their bytes both ways; a guest kill reaches them; --no-host-exec turns it
// off. Every run is bounded (runRvisor's timeout) and every host program started here ends by
// itself within that bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRvisor, unpackGz } from './helpers.js';

const HOST_OK = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64');
const skip = HOST_OK ? false : 'needs a Linux host whose /bin programs are native ELF';

const bb = (): string => unpackGz('guest/busybox/busybox.gz');

function withDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-hostexec-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `busybox sh -c SCRIPT` under rvisor (60 s at most). */
function sh(script: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer; flags?: string[] } = {}) {
  return runRvisor(['exec', ...(opts.flags ?? []), bb(), 'sh', '-c', script], { cwd: opts.cwd, env: opts.env, input: opts.input, timeoutMs: 60_000 });
}

test('host exec: busybox sh runs host /bin/echo and /usr/bin/true', { skip }, () => {
  const r = sh('/bin/echo hi; /usr/bin/true; echo $?');
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.toString(), 'hi\n0\n');
  assert.equal(r.status, 0);
});

test('host exec: exit status and death by signal come back through wait4; a missing program is 127', { skip }, () => {
  const r = sh('/bin/sh -c "exit 7"; echo st=$?; /bin/sh -c \'kill -TERM $$\'; echo st=$?; /nonexistent/prog; echo st=$?');
  assert.equal(r.stdout.toString(), 'st=7\nst=143\nst=127\n', r.stderr);
  assert.equal(r.status, 0);
});

test('host exec: a host program whose ELF interpreter is missing fails the execve with ENOENT (pipes or not)', { skip }, () => {
  withDir((dir) => {
    // /bin/true with its PT_INTERP path changed to one that does not exist (same length).
    const elf = readFileSync('/bin/true');
    const at = elf.indexOf('/lib');
    const end = elf.indexOf(0, at);
    assert.ok(at > 0 && end > at + 2);
    elf[end - 1] = 0x21; // '!'
    writeFileSync(join(dir, 'badinterp'), elf);
    chmodSync(join(dir, 'badinterp'), 0o755);
    const a = runRvisor(['exec', bb(), 'env', './badinterp'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(a.status, 127);
    assert.match(a.stderr, /No such file or directory/);
    const b = sh('echo x | ./badinterp | cat; echo y | /bin/cat', { cwd: dir });
    assert.equal(b.stdout.toString(), 'y\n', b.stderr);
  });
});

test('host exec: the first process itself replaced by a host program gives rvisor its status', { skip }, () => {
  const a = runRvisor(['exec', bb(), 'sh', '-c', 'exec /bin/sh -c "echo out; exit 5"'], { timeoutMs: 60_000 });
  assert.equal(a.stdout.toString(), 'out\n', a.stderr);
  assert.equal(a.status, 5);
  const b = runRvisor(['exec', bb(), 'sh', '-c', 'exec /bin/sh -c \'kill -TERM $$\''], { timeoutMs: 60_000 });
  assert.equal(b.status, 128 + 15, b.stderr);
});

test('host exec: a 3 MB payload through guest -> host -> guest pipes, and each direction alone, keeps every byte', { skip }, () => {
  withDir((dir) => {
    const data = Buffer.alloc(3_000_000);
    let x = 12345;
    for (let i = 0; i < data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      data[i] = x >>> 24;
    }
    writeFileSync(join(dir, 'in'), data);
    const sum = createHash('sha256').update(data).digest('hex');
    const r = sh(`B=${bb()}; $B cat in | /bin/cat | $B sha256sum; /bin/cat in | $B sha256sum; $B cat in | /usr/bin/sha256sum`, { cwd: dir });
    assert.equal(r.stdout.toString(), `${sum}  -\n`.repeat(3), r.stderr);
    assert.equal(r.status, 0);
  });
});

test('host exec: bytes a host program did not read stay in the guest pipe', { skip }, () => {
  const r = sh('printf "l1\\nl2\\nl3\\n" | while read l; do /bin/echo "got $l"; done; printf "a\\nb\\nc\\n" | { /bin/sh -c "read x; echo host:\\$x"; cat; }');
  assert.equal(r.stdout.toString(), 'got l1\ngot l2\ngot l3\nhost:a\nb\nc\n', r.stderr);
});

test('host exec: bytes rvisor read ahead from its own stdin go to the host program first, and back', { skip }, () => {
  const r = sh('read x; echo guest:$x; /bin/sh -c "read y; echo host:\\$y"; cat', { input: 'a\nb\nc\nd\n' });
  assert.equal(r.stdout.toString(), 'guest:a\nhost:b\nc\nd\n', r.stderr);
});

test('host exec: a guest pipeline stage keeps running while the host reader waits', { skip }, () => {
  const r = sh('{ i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo $i; } | /bin/sh -c "read x; echo host:\\$x"');
  assert.equal(r.stdout.toString(), 'host:3000\n', r.stderr);
});

test('host exec: fds at numbers >= 3 (a file and an rvisor pipe), file offsets shared with the guest', { skip }, () => {
  withDir((dir) => {
    const r = sh('exec 5>f5; /bin/sh -c "echo five >&5"; /bin/sh -c "echo seven >&7" 7>&1 | cat; '
      + '{ echo a; /bin/echo b; echo c; } > abc; printf "12345" > num; { read -n 2 x; /bin/cat; echo; } < num; '
      + '(exec 0<&-; /bin/sh -c "if [ -e /proc/self/fd/0 ]; then echo fd0-open; else echo fd0-closed; fi")', { cwd: dir });
    assert.equal(r.stdout.toString(), 'seven\n345\nfd0-closed\n', r.stderr);
    assert.equal(readFileSync(join(dir, 'f5'), 'utf8'), 'five\n');
    assert.equal(readFileSync(join(dir, 'abc'), 'utf8'), 'a\nb\nc\n');
  });
});

test('host exec: working directory, the environment given to execve, argv[0], umask, ignored signals', { skip }, () => {
  withDir((dir) => {
    mkdirSync(join(dir, 'sub'));
    const r = sh('cd sub && FOO=bar /usr/bin/env | grep -E "^(FOO|PWD)=" | sort; /bin/pwd; '
      + 'exec -a myname /bin/sh -c \'echo "argv0=$0"\' & wait; umask 027; /bin/sh -c umask; '
      + 'trap "" INT; /bin/grep SigIgn /proc/self/status', { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const lines = r.stdout.toString().split('\n');
    assert.deepEqual(lines.slice(0, 5), ['FOO=bar', `PWD=${join(dir, 'sub')}`, join(dir, 'sub'), 'argv0=myname', '0027'], r.stderr);
    const m = /^SigIgn:\s+([0-9a-f]+)$/.exec(lines[5] ?? '');
    assert.ok(m, lines[5]);
    assert.equal(BigInt('0x' + m[1]) & 2n, 2n, 'SIGINT is ignored in the host program');
  });
});

test('host exec: arguments and environment that are not UTF-8 reach the host program byte for byte', { skip }, () => {
  // printf makes the bytes (0xff, 0xc3 0x28: not UTF-8; é is); the host's od shows what it got.
  const r = sh('a=$(printf "x\\377y"); b=$(printf "\\303("); V=$(printf "v\\376") /bin/sh -c \'printf "%s|%s|%s|%s" "$0" "$1" "$2" "$V" | /usr/bin/od -An -tx1\' "$(printf "\\375")" "$a" "$b é"', {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.toString().replace(/\s+/g, ' ').trim(), 'fd 7c 78 ff 79 7c c3 28 20 c3 a9 7c 76 fe');
});

test('host exec: a guest kill reaches the running host program', { skip }, () => {
  withDir((dir) => {
    const r = sh('/bin/sh -c \'trap "echo got-usr1; exit 3" USR1; echo ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\' > out & p=$!; '
      + 'until grep -q ready out; do sleep 0.1; done; kill -USR1 $p; wait $p; echo st=$?; cat out', { cwd: dir });
    assert.equal(r.stdout.toString(), 'st=3\nready\ngot-usr1\n', r.stderr);
  });
});

test('host exec: --no-host-exec and RVISOR_HOST_EXEC=0 make such an execve fail with ENOEXEC', { skip }, () => {
  const a = runRvisor(['exec', '--no-host-exec', bb(), 'env', '/bin/true'], { timeoutMs: 60_000 });
  assert.equal(a.status, 126);
  assert.match(a.stderr, /Exec format error/);
  const b = runRvisor(['exec', bb(), 'env', '/bin/true'], { env: { ...process.env, RVISOR_HOST_EXEC: '0' }, timeoutMs: 60_000 });
  assert.equal(b.status, 126);
  const c = runRvisor(['exec', bb(), 'env', '/bin/true'], { timeoutMs: 60_000 });
  assert.equal(c.status, 0, c.stderr);
});
