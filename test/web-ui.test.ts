// The web console (src/web/app.ts, served at /ui by src/api/web-ui.ts) against an in-test fake
// host on a TCP listener with its token: the page and its scripts load without the token (they
// hold nothing secret) under a Content-Security-Policy, everything else still needs it, and the
// browser's way of sending the token to the console WebSocket (the subprotocol
// `rvisor.bearer.<token>` beside `rvisor.console`) opens the console; a wrong one does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import WebSocket from 'ws';
import { startApi, tokenPath } from '../src/api/listen.js';
import { FakeHost } from './fake-host.js';
import { rawRequest, tempStateDir, until, within } from './api-helpers.js';

test('web console: page, script and xterm.js served without the token under a CSP; the console WebSocket takes the token as a subprotocol', async (t) => {
  const dir = tempStateDir();
  const host = new FakeHost();
  const api = await within(startApi({ host, stateDir: dir, listen: '127.0.0.1:0' }), 10_000, 'startApi');
  const sockets: WebSocket[] = [];
  t.after(async () => { for (const s of sockets) s.terminate(); await api.close(); rmSync(dir, { recursive: true, force: true }); });
  const port = api.tcp!.port;
  const token = readFileSync(tokenPath(dir), 'utf8').trim();

  const page = await rawRequest({ port, path: '/ui' });
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(String(page.headers['content-security-policy']), new RegExp(`default-src 'self'; connect-src 'self' ws://127\\.0\\.0\\.1:${port}`));
  assert.match(page.body, /<script src="\/ui\/xterm\.js"><\/script>/);
  assert.match(page.body, /<script type="module" src="\/ui\/app\.js"><\/script>/);
  for (const [path, type] of [['/ui/app.js', /javascript/], ['/ui/xterm.js', /javascript/], ['/ui/xterm.css', /css/], ['/ui/app.css', /css/]] as const) {
    const r = await rawRequest({ port, path });
    assert.equal(r.status, 200, path);
    assert.match(String(r.headers['content-type']), type, path);
    assert.ok(String(r.body).length > 100, path);
  }
  // The page's script is the compiled src/web/app.ts: an ES module that uses the API only.
  const app = String((await rawRequest({ port, path: '/ui/app.js' })).body);
  assert.match(app, /fetch\(path/);
  assert.match(app, /rvisor\.bearer\./);
  assert.match(String((await rawRequest({ port, path: '/ui/xterm.js' })).body), /Terminal/);
  // Nothing else is open: the API, other paths under /ui, other methods.
  assert.equal((await rawRequest({ port, path: '/vms' })).status, 401);
  assert.equal((await rawRequest({ port, path: '/ui/../vms' })).status, 401);
  assert.equal((await rawRequest({ port, path: '/ui/secret.js' })).status, 401);
  assert.equal((await rawRequest({ port, method: 'POST', path: '/ui' })).status, 401);
  // The OpenAPI document does not list the page.
  const doc = (await rawRequest({ port, path: '/openapi.json', headers: { authorization: `Bearer ${token}` } })).body;
  assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/ui')));

  // The console, as the page opens it.
  host.define({ name: 'web' });
  await host.start('web');
  host.output('web', 'login: ');
  const open = (protocols: string[]) => new Promise<{ ws: WebSocket; first?: Buffer; status?: number }>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/vms/web/console`, protocols);
    sockets.push(ws);
    ws.once('message', (m: Buffer) => resolve({ ws, first: m }));
    ws.once('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
    ws.once('error', () => resolve({ ws }));
  });
  const good = await within(open(['rvisor.console', `rvisor.bearer.${token}`]), 5000, 'console with the token');
  assert.equal(good.ws.protocol, 'rvisor.console', 'the server selects rvisor.console, never echoes the token');
  assert.equal(good.first!.toString(), 'login: ');
  good.ws.send('root\n');
  await until(() => host.inputs.some((i) => i.bytes.toString() === 'root\n'), 5000, 'typed input reaches the guest');
  for (const protocols of [['rvisor.console', 'rvisor.bearer.wrong'], ['rvisor.console']]) {
    const bad = await within(open(protocols), 5000, `console with ${protocols.join(',')}`);
    assert.equal(bad.status, 401, protocols.join(','));
  }
});
