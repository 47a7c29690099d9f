// Sockets onto the host's network, end to end with programs nobody here wrote: the bundled
// riscv64 busybox's httpd under rvisor serves a file to a host client (Node's http.get on
// 127.0.0.1), and busybox wget under rvisor fetches from a host Node http server. Loopback only,
// ports chosen by the kernel, every wait bounded, every process killed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, runRvisor, unpackGz, withJitFlags } from './helpers.js';

const busybox = unpackGz('guest/busybox/busybox.gz');

/** A port that was free a moment ago (the kernel's choice for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function rvisor(args: string[], cwd: string): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...withJitFlags(['exec', ...args])], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('latin1')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

function fetchOnce(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A file whose bytes are not all text (every byte value, then a longer pattern). */
function content(): Buffer {
  const b = Buffer.alloc(200_000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + (i >> 8)) & 0xff;
  return b;
}

test('user-net: busybox httpd under rvisor serves a file to a host client', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-net-'));
  const body = content();
  writeFileSync(join(dir, 'data.bin'), body);
  writeFileSync(join(dir, 'index.html'), '<p>hello from riscv64</p>\n');
  const port = await freePort();
  const srv = rvisor([busybox, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', dir], dir);
  try {
    // Wait (bounded) until the server answers.
    let first: { status: number; body: Buffer } | null = null;
    for (let i = 0; i < 300 && !first; i++) {
      try {
        first = await fetchOnce(`http://127.0.0.1:${port}/index.html`);
      } catch {
        await sleep(100);
      }
    }
    assert.ok(first, `httpd never answered; stderr: ${srv.err()}`);
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), '<p>hello from riscv64</p>\n');
    const big = await fetchOnce(`http://127.0.0.1:${port}/data.bin`);
    assert.equal(big.status, 200);
    assert.ok(big.body.equals(body), `data.bin: got ${big.body.length} bytes`);
    const missing = await fetchOnce(`http://127.0.0.1:${port}/nope`);
    assert.equal(missing.status, 404);
  } finally {
    srv.child.kill('SIGKILL');
    await srv.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('user-net: busybox wget under rvisor fetches from a host http server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-net-'));
  const body = content();
  const server: Server = createServer((req, res) => {
    if (req.url === '/data.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const kids: ChildProcess[] = [];
  try {
    const ok = rvisor([busybox, 'wget', '-q', '-O', 'out.bin', `http://127.0.0.1:${port}/data.bin`], dir);
    kids.push(ok.child);
    const code = await Promise.race([ok.exited, sleep(120_000).then(() => 'timeout' as const)]);
    assert.equal(code, 0, `wget: ${code}; stderr: ${ok.err()}`);
    const { readFileSync } = await import('node:fs');
    assert.ok(readFileSync(join(dir, 'out.bin')).equals(body));
    const bad = rvisor([busybox, 'wget', '-q', '-O', 'nothing', `http://127.0.0.1:${port}/missing`], dir);
    kids.push(bad.child);
    const code2 = await Promise.race([bad.exited, sleep(120_000).then(() => 'timeout' as const)]);
    assert.equal(code2, 1, `wget of a missing page: ${code2}; stderr: ${bad.err()}`);
    assert.match(bad.err(), /404/);
  } finally {
    for (const k of kids) k.kill('SIGKILL');
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('user-net: wget to stdout on a file the parent shares: its offset query leaves the later output in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-net-'));
  const server: Server = createServer((_req, res) => res.end('hello over loopback\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const { closeSync, openSync, readFileSync, writeSync } = await import('node:fs');
  const outPath = join(dir, 'stdout.txt');
  const fd = openSync(outPath, 'w');
  let child: ChildProcess | undefined;
  try {
    // busybox wget asks for stdout's offset (lseek(1, 0, SEEK_CUR)) before writing the body.
    const script = `${busybox} wget -q -O - http://127.0.0.1:${port}/; echo "wget=$?"; echo done`;
    child = spawn(process.execPath, [CLI, ...withJitFlags(['exec', busybox, 'sh', '-c', script])], { cwd: dir, stdio: ['ignore', fd, 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const code = await Promise.race([exited, sleep(120_000).then(() => 'timeout' as const)]);
    assert.equal(code, 0);
    writeSync(fd, 'PARENT\n'); // at the shared description's offset, as a parent shell would
    assert.equal(readFileSync(outPath, 'utf8'), 'hello over loopback\nwget=0\ndone\nPARENT\n');
  } finally {
    child?.kill('SIGKILL');
    closeSync(fd);
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('user-net: control messages as Linux checks them, where QEMU rewrites them (ctest unixlinux)', () => {
  const ctest = unpackGz('guest/ctests/bin/ctest.gz');
  const r = runRvisor(['exec', ctest, 'unixlinux'], { timeoutMs: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  // Linux: a cmsg_len below sizeof(struct cmsghdr) or past msg_controllen is EINVAL
  // (__scm_send's CMSG_OK); descriptors that do not fit the receiver's buffer are dropped and
  // MSG_CTRUNC is set (scm_detach_fds), CMSG_SPACE(sizeof(int)) having room for two.
  assert.equal(r.stdout.toString(), 'cmsg_len 8: -1 EINVAL\ncmsg_len 200: -1 EINVAL\n3 fds: 4\nreceived 4 ctrunc 1 fds 2\n');
});
