// The REST API layer (src/api/) against an in-test fake host: request validation and error codes,
// response checking, the OpenAPI document (served and committed), the Unix socket and TCP
// listeners with their token, consoles over WebSocket (several viewers, scrollback) and the event
// stream, through the typed client. The same API on the real host: api-host.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildApi, openApiDocument } from '../src/api/server.js';
import { startApi, tokenPath } from '../src/api/listen.js';
import { connect } from '../src/api/client.js';
import { RvisorError } from '../src/errors.js';
import type { HostEvent } from '../src/vmm/types.js';
import { FakeHost } from './fake-host.js';
import { ROOT } from './helpers.js';
import { rawRequest, tempStateDir, until, within } from './api-helpers.js';

function tempDir(): string {
  return tempStateDir();
}

async function injectApp(host = new FakeHost()) {
  const app = await buildApi(host);
  const call = async (method: string, url: string, body?: unknown, raw?: string) => {
    const r = await app.inject({
      method: method as 'GET', url,
      ...(raw !== undefined ? { payload: raw, headers: { 'content-type': 'application/json' } } : body !== undefined ? { payload: body as object } : {}),
    });
    return { status: r.statusCode, body: r.body === '' ? undefined : r.json() as any };
  };
  return { app, host, call };
}

test('bad requests get 400 with a stable code and change nothing', async (t) => {
  const { app, host, call } = await injectApp();
  t.after(() => app.close());
  await call('POST', '/vms', { name: 'web', memory: '64M' });
  const before = JSON.stringify(host.list());
  const cases: [string, string, unknown, string | undefined, string][] = [
    ['POST', '/vms', { name: 'Bad_Name' }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: '-lead' }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'a'.repeat(64) }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', memory: 'lots' }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', memory: 256 }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', vcpus: 0 }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', vcpus: 9 }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', weight: 0 }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', cap: 801 }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', memroy: '64M' }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', disks: [{ path: 'relative.img' }] }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', disks: [{ path: '/nonexistent/disk.img' }] }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', { name: 'x', kernel: 'Image' }, undefined, 'BAD_DEFINITION'],
    ['POST', '/vms', undefined, '{"name": "x",', 'BAD_REQUEST'],
    ['POST', '/vms', undefined, '[1, 2]', 'BAD_DEFINITION'],
    ['GET', '/vms/Bad_Name', undefined, undefined, 'BAD_REQUEST'],
    ['POST', '/vms/web/start', { paused: 'yes' }, undefined, 'BAD_REQUEST'],
    ['POST', '/vms/web/shutdown', { timeoutMs: -1 }, undefined, 'BAD_REQUEST'],
    ['PUT', '/vms/web/schedinfo', {}, undefined, 'BAD_REQUEST'],
    ['PUT', '/vms/web/schedinfo', { weight: 70000 }, undefined, 'BAD_REQUEST'],
    ['PUT', '/vms/web/schedinfo', { weight: '5' }, undefined, 'BAD_REQUEST'],
    ['PUT', '/vms/web/autostart', { autostart: 1 }, undefined, 'BAD_REQUEST'],
  ];
  for (const [method, url, body, raw, code] of cases) {
    const r = await call(method, url, body, raw);
    assert.equal(r.status, 400, `${method} ${url} ${JSON.stringify(body ?? raw)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, code, `${method} ${url} ${JSON.stringify(body ?? raw)}`);
    assert.equal(typeof r.body.error.message, 'string');
  }
  const unknownKey = await call('POST', '/vms', { name: 'x', memroy: '64M' });
  assert.match(unknownKey.body.error.message, /unknown key "memroy"/);
  assert.equal(JSON.stringify(host.list()), before, 'nothing changed');
});

test('unknown VM 404, duplicate 409, verb that does not fit the state 409, unknown endpoint 404', async (t) => {
  const { app, call } = await injectApp();
  t.after(() => app.close());
  assert.equal((await call('POST', '/vms', { name: 'web' })).status, 201);
  const dup = await call('POST', '/vms', { name: 'web' });
  assert.deepEqual([dup.status, dup.body.error.code], [409, 'VM_EXISTS']);
  for (const [m, u] of [['GET', '/vms/nope'], ['DELETE', '/vms/nope'], ['POST', '/vms/nope/start'], ['GET', '/vms/nope/stats'], ['GET', '/vms/nope/schedinfo']]) {
    const r = await call(m!, u!);
    assert.deepEqual([r.status, r.body.error.code], [404, 'VM_NOT_FOUND'], `${m} ${u}`);
  }
  for (const verb of ['pause', 'resume', 'shutdown', 'destroy', 'reboot', 'reset']) {
    const r = await call('POST', `/vms/web/${verb}`);
    assert.deepEqual([r.status, r.body.error.code], [409, 'VM_STATE'], verb);
  }
  assert.equal((await call('POST', '/vms/web/start')).body.state, 'running');
  const und = await call('DELETE', '/vms/web');
  assert.deepEqual([und.status, und.body.error.code], [409, 'VM_STATE']);
  const timeout = await call('POST', '/vms/web/shutdown', { timeoutMs: 0 });
  assert.deepEqual([timeout.status, timeout.body.error.code], [504, 'SHUTDOWN_TIMEOUT']);
  const nf = await call('GET', '/nothing/here');
  assert.deepEqual([nf.status, nf.body.error.code], [404, 'BAD_REQUEST']);
});

test('every verb answers with the schema\'s shape', async (t) => {
  const { app, call } = await injectApp();
  t.after(() => app.close());
  const d = await call('POST', '/vms', { name: 'web', disks: [{ path: join(ROOT, 'package.json') }] });
  assert.equal(d.status, 201);
  assert.deepEqual(d.body.definition.disks, [{ path: join(ROOT, 'package.json'), readonly: false }]);
  assert.equal((await call('POST', '/vms/web/start', { paused: true })).body.state, 'paused');
  assert.equal((await call('POST', '/vms/web/resume')).body.state, 'running');
  assert.equal((await call('POST', '/vms/web/pause')).body.state, 'paused');
  assert.equal((await call('POST', '/vms/web/destroy')).body.state, 'shutoff');
  assert.equal((await call('PUT', '/vms/web/autostart', { autostart: true })).body.definition.autostart, true);
  assert.deepEqual((await call('PUT', '/vms/web/schedinfo', { weight: 512 })).body, { weight: 512, cap: 0 });
  assert.deepEqual((await call('GET', '/vms/web/schedinfo')).body, { weight: 512, cap: 0 });
  assert.equal((await call('GET', '/vms/web/stats')).body.instructions, 123456789);
  const h = await call('GET', '/host');
  assert.equal(h.body.pcpus, 2);
  assert.equal(typeof h.body.version, 'string');
  const del = await call('DELETE', '/vms/web');
  assert.deepEqual([del.status, del.body], [204, undefined]);
  assert.deepEqual((await call('GET', '/vms')).body, []);
});

test('a host answer that breaks the response schema becomes 500 INTERNAL, not a broken contract', async (t) => {
  const host = new FakeHost();
  const seen: unknown[] = [];
  const app = await buildApi(host, { onInternalError: (e) => seen.push(e) });
  t.after(() => app.close());
  host.broken = true;
  const r = await app.inject({ method: 'GET', url: '/vms' });
  assert.equal(r.statusCode, 500);
  assert.equal(r.json().error.code, 'INTERNAL');
  assert.match(r.json().error.message, /does not fit its schema/);
  assert.equal(seen.length, 1);
});

test('the OpenAPI document is served and docs/openapi.json is not stale', async (t) => {
  const { app, call } = await injectApp();
  t.after(() => app.close());
  const served = await call('GET', '/openapi.json');
  assert.equal(served.body.openapi, '3.1.0');
  for (const p of ['/vms', '/vms/{name}', '/vms/{name}/start', '/vms/{name}/console', '/events', '/host', '/vms/{name}/schedinfo']) {
    assert.ok(served.body.paths[p], `documents ${p}`);
  }
  const generated = await openApiDocument();
  assert.equal(JSON.stringify(served.body, null, 2) + '\n', generated);
  const committed = readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8');
  assert.ok(committed === generated, 'docs/openapi.json is stale: run "npm run build && npm run openapi" and commit it');
});

/** A raw HTTP request (for checks the client would not make). */
const raw = (opts: { socketPath?: string; port?: number; path: string; headers?: Record<string, string> }) => rawRequest(opts);

test('listeners: Unix socket 0600 without token, TCP with bearer token (401 JSON otherwise), token file 0600 reused, stale socket removed, live socket refused', async (t) => {
  const dir = tempDir();
  const host = new FakeHost();
  const cleanup: (() => Promise<unknown> | void)[] = [];
  t.after(async () => { for (const c of cleanup.reverse()) await c(); rmSync(dir, { recursive: true, force: true }); });

  // A socket file left by a daemon that was killed (kill -9) is removed at start.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(join(dir, 'rvisor.sock'))}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.push(() => { child.kill('SIGKILL'); });
  await within(new Promise((r) => child.stdout!.once('data', r)), 10_000, 'the stale daemon listening');
  child.kill('SIGKILL');
  await within(new Promise((r) => child.once('exit', r)), 10_000, 'the stale daemon killed');
  assert.ok(existsSync(join(dir, 'rvisor.sock')), 'kill -9 leaves the socket file');

  const api = await within(startApi({ host, stateDir: dir, listen: '127.0.0.1:0' }), 10_000, 'startApi');
  cleanup.push(() => api.close());
  assert.equal(statSync(api.socketPath).mode & 0o777, 0o600);
  assert.equal(statSync(tokenPath(dir)).mode & 0o777, 0o600);
  const token = readFileSync(tokenPath(dir), 'utf8').trim();
  assert.match(token, /^[A-Za-z0-9_-]{40,}$/);

  assert.equal((await raw({ socketPath: api.socketPath, path: '/vms' })).status, 200);
  const port = api.tcp!.port;
  for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: token }, { authorization: `Basic ${token}` }] as Record<string, string>[]) {
    const r = await raw({ port, path: '/vms', headers });
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.body.error.code, 'UNAUTHORIZED');
    assert.match(String(r.headers['www-authenticate']), /^Bearer/);
  }
  assert.equal((await raw({ port, path: '/openapi.json' })).status, 401, 'the document too');
  assert.equal((await raw({ port, path: '/no/such', headers: {} })).status, 401, 'unknown paths too');
  assert.equal((await raw({ port, path: '/vms', headers: { authorization: `Bearer ${token}` } })).status, 200);

  // The client: token given, from $RVISOR_TOKEN, or from the state dir.
  const c1 = await connect(api.tcp!.url, { token, stateDir: '/nonexistent' });
  cleanup.push(() => c1.close());
  assert.deepEqual(await c1.list(), []);
  const c2 = await connect(api.tcp!.url, { stateDir: dir });
  cleanup.push(() => c2.close());
  assert.equal(c2.pcpus, 2);
  await assert.rejects(connect(api.tcp!.url, { token: 'wrong', stateDir: dir }), (e: RvisorError) => e.code === 'UNAUTHORIZED');

  // A second API on the same state dir is refused while the first one answers.
  await assert.rejects(startApi({ host, stateDir: dir }), /already listening/);
  await api.close();
  assert.ok(!existsSync(api.socketPath), 'the socket file is removed at close');

  // The token is reused by the next start.
  const again = await startApi({ host, stateDir: dir, listen: '127.0.0.1:0' });
  cleanup.push(() => again.close());
  assert.equal(readFileSync(tokenPath(dir), 'utf8').trim(), token);
  await again.close();
  await assert.rejects(connect(join(dir, 'rvisor.sock')), (e: RvisorError) => e.code === 'HOST_UNREACHABLE');
});

test('console over WebSocket: two viewers, 64 KiB scrollback, input, refusals, closed when the VM stops', async (t) => {
  const dir = tempDir();
  const host = new FakeHost();
  const api = await startApi({ host, stateDir: dir });
  const client = await connect(api.socketPath);
  t.after(async () => { await client.close(); await api.close(); rmSync(dir, { recursive: true, force: true }); });

  await assert.rejects(client.attachConsole('nope', () => {}), (e: RvisorError) => e.code === 'VM_NOT_FOUND');
  await client.define({ name: 'web' });
  await assert.rejects(client.attachConsole('web', () => {}), (e: RvisorError) => e.code === 'VM_STATE');
  await client.start('web');
  // More than the scrollback holds: only the last 64 KiB come back.
  host.output('web', 'x'.repeat(70_000) + 'boot done\n');

  const outA: Buffer[] = [];
  const a = await within(client.attachConsole('web', (b) => outA.push(Buffer.from(b))), 5000, 'viewer A');
  assert.equal(a.scrollback.length, 65536);
  assert.ok(Buffer.from(a.scrollback).toString().endsWith('boot done\n'));
  host.output('web', 'first\n');
  await until(() => Buffer.concat(outA).toString().includes('first\n'), 5000, 'A sees output');

  const outB: Buffer[] = [];
  const b = await within(client.attachConsole('web', (x) => outB.push(Buffer.from(x))), 5000, 'viewer B');
  assert.ok(Buffer.from(b.scrollback).toString().endsWith('boot done\nfirst\n'), 'B gets the scrollback including what A saw');
  assert.equal(host.viewerCount('web'), 2);
  host.output('web', 'second\n');
  await until(() => Buffer.concat(outA).toString().includes('second\n') && Buffer.concat(outB).toString().includes('second\n'), 5000, 'both see output');

  // Input from one viewer reaches the guest; its echo reaches both viewers.
  b.write(Buffer.from('ls\n'));
  await until(() => host.inputs.some((i) => i.bytes.toString() === 'ls\n'), 5000, 'input reaches the guest');
  await until(() => Buffer.concat(outA).toString().includes('ls\n'), 5000, 'echo reaches A');

  a.detach();
  assert.equal((await within(a.closed, 5000, 'A closed')).code, 1000);
  await until(() => host.viewerCount('web') === 1, 5000, 'A detached on the host');
  host.output('web', 'third\n');
  await until(() => Buffer.concat(outB).toString().includes('third\n'), 5000, 'B still attached');
  assert.ok(!Buffer.concat(outA).toString().includes('third'));

  // The VM stops: the remaining viewer is closed with 1000.
  await client.destroy('web');
  const closed = await within(b.closed, 5000, 'B closed when the VM stopped');
  assert.equal(closed.code, 1000);
  assert.match(closed.reason, /shutoff/);
  await until(() => host.viewerCount('web') === 0, 5000, 'B detached on the host');

  // A plain GET (no upgrade) on the console endpoint is a JSON 400.
  await client.start('web');
  const r = await raw({ socketPath: api.socketPath, path: '/vms/web/console' });
  assert.deepEqual([r.status, r.body.error.code], [400, 'BAD_REQUEST']);
});

test('event stream: state, definition and schedinfo events reach the client in order', async (t) => {
  const dir = tempDir();
  const host = new FakeHost();
  const api = await startApi({ host, stateDir: dir });
  const client = await connect(api.socketPath);
  t.after(async () => { await client.close(); await api.close(); rmSync(dir, { recursive: true, force: true }); });
  const events: HostEvent[] = [];
  client.on('event', (e) => events.push(e));
  await within(client.eventsOpen(), 5000, 'event stream open');
  await client.define({ name: 'ev' });
  await client.start('ev');
  await client.setSchedinfo('ev', { cap: 50 });
  await client.pause('ev');
  await client.destroy('ev');
  await client.undefine('ev');
  await until(() => events.length >= 6, 5000, 'six events');
  assert.deepEqual(events.map((e) => e.type === 'state' ? `state:${e.state}` : e.type), ['defined', 'state:running', 'schedinfo', 'state:paused', 'state:shutoff', 'undefined']);
  // The stream ends when the API stops; the client says so.
  const errors: RvisorError[] = [];
  client.on('error', (e) => errors.push(e));
  await api.close();
  await until(() => errors.length === 1, 5000, 'the client notices the end of the stream');
  assert.equal(errors[0]!.code, 'HOST_UNREACHABLE');
});

test('the client maps connection failures to HOST_UNREACHABLE and refuses https', async () => {
  const dir = tempDir();
  try {
    await assert.rejects(connect(join(dir, 'rvisor.sock')), (e: RvisorError) => e.code === 'HOST_UNREACHABLE' && /no such socket/.test(e.message));
    writeFileSync(join(dir, 'plain'), '');
    await assert.rejects(connect('https://127.0.0.1:1'), (e: RvisorError) => e.code === 'USAGE');
    await assert.rejects(connect('http://127.0.0.1:1', { token: 'x' }), (e: RvisorError) => e.code === 'HOST_UNREACHABLE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
