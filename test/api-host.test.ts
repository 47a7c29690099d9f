// The REST API on the real host (openHost: pCPU workers, registry on disk, the bundled guest),
// end to end through HTTP and the typed client: bad input is refused with its stable code and
// leaves the state dir untouched; two console viewers of a booting guest share its scrollback,
// input and output; the event stream follows the VM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openHost } from '../src/vmm/host.js';
import { startApi, tokenPath, type ApiListeners } from '../src/api/listen.js';
import { connect, type RemoteHostApi } from '../src/api/client.js';
import type { RvisorError } from '../src/errors.js';
import type { HostApi, HostEvent } from '../src/vmm/types.js';
import { rawRequest, snapshot, tempStateDir, until, within } from './api-helpers.js';

async function realHost(t: { after(fn: () => Promise<void>): void }, listen?: string) {
  const dir = tempStateDir();
  let host: HostApi | undefined;
  let api: ApiListeners | undefined;
  let client: RemoteHostApi | undefined;
  // Registered first, so it runs even when a later step fails.
  t.after(async () => {
    await client?.close();
    await api?.close();
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  host = await within(openHost({ stateDir: dir, pcpus: 2 }), 30_000, 'openHost');
  api = await within(startApi({ host, stateDir: dir, ...(listen ? { listen } : {}) }), 10_000, 'startApi');
  client = await connect(api.socketPath);
  return { dir, host, api, client };
}

test('real host: bad input gets 400/401/404/409 with a stable code and nothing changes on disk', { timeout: 120_000 }, async (t) => {
  const { dir, api, client } = await realHost(t, '127.0.0.1:0');
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, Buffer.alloc(1024 * 1024));
  await client.define({ name: 'web', memory: '64M', disks: [{ path: disk, readonly: true }] });
  await client.define({ name: 'held', memory: '64M' });
  await client.start('held', { paused: true });
  const before = snapshot(dir);

  const sock = api.socketPath;
  const post = (path: string, body: unknown) => rawRequest({ socketPath: sock, method: 'POST', path, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const expect = async (r: Promise<{ status: number; body: any }>, status: number, code: string, what: string) => {
    const res = await r;
    assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body?.error?.code, code, what);
    assert.equal(typeof res.body.error.message, 'string', what);
  };
  await expect(rawRequest({ socketPath: sock, path: '/vms/nope' }), 404, 'VM_NOT_FOUND', 'unknown VM');
  await expect(post('/vms/nope/start', {}), 404, 'VM_NOT_FOUND', 'start an unknown VM');
  await expect(rawRequest({ socketPath: sock, method: 'DELETE', path: '/vms/nope' }), 404, 'VM_NOT_FOUND', 'undefine an unknown VM');
  await expect(post('/vms', { name: 'web' }), 409, 'VM_EXISTS', 'duplicate');
  for (const bad of [{ name: 'Web' }, { name: 'we_b' }, { name: '-web' }, { name: 'a'.repeat(64) }, { name: '' }]) {
    await expect(post('/vms', bad), 400, 'BAD_DEFINITION', `name ${JSON.stringify(bad.name)}`);
  }
  for (const memory of ['8M', '1T', '4G', '100001K', 'lots', '']) {
    await expect(post('/vms', { name: 'x', memory }), 400, 'BAD_DEFINITION', `memory ${memory}`);
  }
  await expect(post('/vms', { name: 'x', vcpus: 9 }), 400, 'BAD_DEFINITION', 'vcpus 9');
  await expect(post('/vms', { name: 'x', vcpus: 1, cap: 200 }), 400, 'BAD_DEFINITION', 'cap over 100 x vcpus');
  await expect(post('/vms', { name: 'x', weight: 0 }), 400, 'BAD_DEFINITION', 'weight 0');
  await expect(post('/vms', { name: 'x', jit: 'yes' }), 400, 'BAD_DEFINITION', 'jit yes');
  await expect(post('/vms', { name: 'x', jitThreshold: 0 }), 400, 'BAD_DEFINITION', 'jitThreshold 0');
  await expect(post('/vms', '{"name": "x", "memory": '), 400, 'BAD_REQUEST', 'truncated JSON');
  await expect(post('/vms', 'not json'), 400, 'BAD_REQUEST', 'not JSON');
  await expect(post('/vms', { name: 'x', disks: [{ path: join(dir, 'no-such-disk.img') }] }), 400, 'BAD_DEFINITION', 'a disk that does not exist');
  await expect(post('/vms', { name: 'x', kernel: join(dir, 'no-such-kernel') }), 400, 'BAD_DEFINITION', 'a kernel that does not exist');
  await expect(post('/vms', { name: 'x', disks: [{ path: 'disk.img' }] }), 400, 'BAD_DEFINITION', 'a relative disk path');
  await expect(post('/vms/web/pause', {}), 409, 'VM_STATE', 'pause a shutoff VM');
  await expect(post('/vms/web/resume', {}), 409, 'VM_STATE', 'resume a shutoff VM');
  await expect(post('/vms/web/shutdown', {}), 409, 'VM_STATE', 'shut down a shutoff VM');
  await expect(post('/vms/held/start', {}), 409, 'VM_STATE', 'start a paused VM');
  await expect(post('/vms/held/pause', {}), 409, 'VM_STATE', 'pause a paused VM');
  await expect(rawRequest({ socketPath: sock, method: 'DELETE', path: '/vms/held' }), 409, 'VM_STATE', 'undefine a paused VM');
  await expect(rawRequest({ socketPath: sock, path: '/vms/web/console' }), 409, 'VM_STATE', 'console of a shutoff VM');
  await expect(rawRequest({ socketPath: sock, method: 'PUT', path: '/vms/web/schedinfo', body: '{"weight": 0}' }), 400, 'BAD_REQUEST', 'weight 0');
  const port = api.tcp!.port;
  const token = readFileSync(tokenPath(dir), 'utf8').trim();
  await expect(rawRequest({ port, method: 'POST', path: '/vms', body: '{"name": "x"}' }), 401, 'UNAUTHORIZED', 'TCP without a token');
  await expect(rawRequest({ port, method: 'DELETE', path: '/vms/web', headers: { authorization: 'Bearer wrong' } }), 401, 'UNAUTHORIZED', 'TCP with a wrong token');
  await expect(rawRequest({ port, method: 'POST', path: '/vms/held/destroy', headers: { authorization: `Bearer ${token}x` } }), 401, 'UNAUTHORIZED', 'TCP with a longer token');

  assert.deepEqual(snapshot(dir), before, 'the state dir is exactly as it was');
  assert.deepEqual((await client.list()).map((v) => `${v.name}:${v.state}`), ['held:paused', 'web:shutoff']);
  // With the token, TCP works.
  const ok = await rawRequest({ port, path: '/vms/held', headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.body.state, 'paused');
  await client.destroy('held');
});

test('real host: two console viewers of a booting guest share scrollback, input and output; events follow the VM', { timeout: 180_000 }, async (t) => {
  const { client } = await realHost(t);
  const events: HostEvent[] = [];
  client.on('event', (e) => events.push(e));
  await within(client.eventsOpen(), 10_000, 'event stream open');
  await client.define({ name: 'con', memory: '64M' });
  await client.start('con');

  const outA: Buffer[] = [];
  const a = await within(client.attachConsole('con', (b) => outA.push(Buffer.from(b))), 10_000, 'viewer A');
  const textA = () => Buffer.from(a.scrollback).toString('latin1') + Buffer.concat(outA).toString('latin1');
  await until(() => textA().includes('rvisor guest ready'), 120_000, 'the guest reaches its shell');

  const outB: Buffer[] = [];
  const b = await within(client.attachConsole('con', (x) => outB.push(Buffer.from(x))), 10_000, 'viewer B');
  const scrollB = Buffer.from(b.scrollback).toString('latin1');
  assert.match(scrollB, /Linux version/, 'B sees the boot log in the scrollback');
  assert.match(scrollB, /rvisor guest ready/);
  const textB = () => Buffer.concat(outB).toString('latin1');

  a.write(Buffer.from('echo two-$((20+2))\n'));
  await until(() => textA().includes('two-22') && textB().includes('two-22'), 60_000, 'both viewers see the answer to A');
  b.write(Buffer.from('echo from-$((1+1))-b\n'));
  await until(() => textA().includes('from-2-b') && textB().includes('from-2-b'), 60_000, 'both viewers see the answer to B');

  await client.destroy('con');
  const [ca, cb] = await within(Promise.all([a.closed, b.closed]), 10_000, 'both viewers closed when the VM stops');
  assert.equal(ca.code, 1000);
  assert.equal(cb.code, 1000);
  await until(() => events.some((e) => e.type === 'state' && e.state === 'shutoff'), 10_000, 'the shutoff event');
  const seen = events.filter((e) => e.name === 'con').map((e) => (e.type === 'state' ? `state:${e.state}` : e.type));
  assert.deepEqual(seen, ['defined', 'state:running', 'state:shutoff']);
  await assert.rejects(client.attachConsole('con', () => {}), (e: RvisorError) => e.code === 'VM_STATE');
});
