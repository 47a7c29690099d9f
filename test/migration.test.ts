// Live migration between two hosts (src/vmm/migration/): the bundled guest printing a counter
// moves from one host to another over TCP loopback (the destination's API with its token): no
// console line lost or repeated, uptime goes on, the wall clock is right; with --copy-storage its
// disk arrives with writes made during the migration; a wrong token, a name taken at the
// destination, a cancel and a dead link leave the VM running at the source and nothing at the
// destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startApi, type ApiListeners } from '../src/api/listen.js';
import { IMAGES_DIR } from '../src/vmm/files.js';
import { ERROR_CODES } from '../src/errors.js';
import type { Host } from '../src/vmm/host.js';
import type { HostEvent } from '../src/vmm/types.js';
import { ROOT } from './helpers.js';
import { withHost, ConsoleReader, errorCode, bareMetalVm, dirtierProgram, idleProgram } from './host-helpers.js';
import { startServe, until, vmIn, within } from './api-helpers.js';
import { WebSocket } from 'ws';

const code = errorCode;

async function twoHosts(fn: (src: Host, dst: Host, api: ApiListeners, token: string, srcDir: string, dstDir: string) => Promise<ApiListeners | void>): Promise<void> {
  await withHost({ pcpus: 1 }, (src, srcDir) => withHost({ pcpus: 1 }, async (dst, dstDir) => {
    let api = await startApi({ host: dst, stateDir: dstDir, listen: '127.0.0.1:0' });
    try {
      api = (await fn(src, dst, api, readFileSync(api.tokenPath, 'utf8').trim(), srcDir, dstDir)) ?? api;
    } finally {
      await api.close();
    }
  }));
}

/** Defines and boots the bundled guest with a fresh copy of the bundled disk on `host`; returns its
 *  console once the shell answers (kernel messages off the console). */
async function bootGuest(host: Host, dir: string, name: string): Promise<{ c: ConsoleReader; initrd: string }> {
  const disk = join(dir, 'disk.ext4');
  writeFileSync(disk, gunzipSync(readFileSync(join(ROOT, 'images', 'disk.ext4.gz'))));
  const initrd = join(dir, 'initramfs.cpio.gz');
  copyFileSync(join(IMAGES_DIR, 'initramfs.cpio.gz'), initrd);
  host.define({ name, memory: '128M', initrd, disks: [{ path: disk, readonly: false }] });
  await host.start(name);
  const c = new ConsoleReader(host, name);
  await c.waitFor('rvisor guest ready', 120_000);
  await c.run('dmesg -n 1');
  return { c, initrd };
}

test('live migration of the bundled guest: console stream unbroken, uptime and clock go on, same generation ID; refusals and a cancel leave it running at the source', { timeout: 400_000 }, async () => {
  await twoHosts(async (src, dst, api, token, srcDir, dstDir) => {
    const { c: o, initrd } = await bootGuest(src, srcDir, 'mig');
    const up0 = Number((await o.run('cut -d" " -f1 /proc/uptime')).trim());
    o.send('(i=0; while true; do echo tick-$i; i=$((i+1)); usleep 20000; done) & echo $! > /tmp/pid\n');
    await o.waitFor('tick-20', 60_000);

    // Refusals first: the VM runs on here, the destination keeps nothing.
    assert.equal(await code(src.migrate('mig', { to: api.tcp!.url, token: 'wrong' })), 'UNAUTHORIZED');
    dst.define({ name: 'mig', memory: '64M', initrd });
    assert.equal(await code(src.migrate('mig', { to: api.tcp!.url, token })), 'VM_EXISTS');
    dst.undefine('mig');
    assert.equal(await code(src.migrate('mig', { to: 'http://127.0.0.1:1', token })), 'MIGRATION_FAILED');
    assert.equal(await code(src.migrate('mig', { to: 'not a url', token })), 'BAD_REQUEST');
    // Cancel once pre-copy has begun: a guest rewriting 16 MiB in a loop and a 1 ms downtime limit keep it going.
    await o.run('(while true; do dd if=/dev/urandom of=/tmp/churn bs=65536 count=256 2>/dev/null; done) & echo $! > /tmp/churn.pid');
    const events: HostEvent[] = [];
    const onEvent = (e: HostEvent) => { events.push(e); if (e.type === 'migration' && e.phase === 'precopy' && e.round === 1) src.migrateCancel('mig'); };
    src.on('event', onEvent);
    const cancelled = await code(src.migrate('mig', { to: api.tcp!.url, token, maxDowntimeMs: 1 }));
    assert.equal(cancelled, 'MIGRATION_CANCELLED');
    src.off('event', onEvent);
    assert.ok(events.some((e) => e.type === 'migration' && e.phase === 'cancelled'));
    assert.equal(src.info('mig').state, 'running');
    assert.deepEqual(dst.list(), []);
    assert.deepEqual(readdirSync(join(dstDir, 'vms')), []);
    await o.run('kill $(cat /tmp/churn.pid)');
    assert.match(await o.run('echo still-$((6*7))'), /still-42/);

    // The real one, with the counter running.
    await o.run('echo from-the-source > /mnt/f; sync');
    const r = await src.migrate('mig', { to: api.tcp!.url, token });
    assert.equal(r.vm.state, 'shutoff');
    assert.equal(r.vm.reason, 'migrated');
    assert.equal(r.destination.state, 'running');
    assert.ok(r.rounds >= 1 && r.pagesSent >= r.pagesTotal && r.downtimeMs > 0, JSON.stringify(r));
    assert.equal(dst.info('mig').reason, 'migrated');
    const d = new ConsoleReader(dst, 'mig');
    await d.waitFor('tick-', 30_000);
    await d.run('kill $(cat /tmp/pid)');
    const up1 = Number((await d.run('cut -d" " -f1 /proc/uptime')).trim());
    assert.ok(up1 > up0, `uptime went on: ${up0} → ${up1}`);
    const wall = Number(await d.run('date +%s'));
    assert.ok(Math.abs(wall - Date.now() / 1000) < 1.5, `guest wall clock ${wall} vs host ${Date.now() / 1000}`);
    assert.equal(await d.run('cat /mnt/f'), 'from-the-source');
    assert.equal(await d.run('dmesg | grep -c "virtual machine fork"'), '0', 'a migrated VM is the same VM: no new generation ID');
    // Every tick once, in order: what the source printed, then what the destination printed.
    const ticks = (o.text + d.text).match(/tick-\d+/g)!.map((t) => Number(t.slice(5)));
    const last = ticks[ticks.length - 1]!;
    assert.deepEqual(ticks, Array.from({ length: last + 1 }, (_, i) => i), 'no console line lost or repeated');
    // The source reached tick-20 before the move and the destination printed at least one more
    // (how many depends on the machine's speed, so no count is asked for).
    assert.ok(/tick-\d+/.test(d.text) && last > 20, `the destination goes on counting (last ${last})`);
    await dst.destroy('mig');

    // The migration stream is refused without the token over TCP, and the source host has a
    // shutoff VM left, as libvirt leaves a persistent domain.
    assert.equal(src.info('mig').state, 'shutoff');
  });
});

test('live migration with --copy-storage: a dead link leaves the VM at the source; then the disk arrives with writes made during the migration', { timeout: 300_000 }, async () => {
  await twoHosts(async (src, dst, first, token, srcDir, dstDir) => {
    let api = first;
    const { c: o } = await bootGuest(src, srcDir, 'mc');
    o.send('(i=0; while true; do echo w-$i >> /mnt/log; sync; i=$((i+1)); usleep 20000; done) & echo $! > /tmp/pid\n');
    await o.run('sleep 1');
    // A dead link: the destination's API goes away during pre-copy (a 1 ms limit keeps it copying).
    const cut = (e: HostEvent) => { if (e.type === 'migration' && e.phase === 'precopy' && e.round === 1) void api.close(); };
    src.on('event', cut);
    assert.equal(await code(src.migrate('mc', { to: api.tcp!.url, token, copyStorage: true, maxDowntimeMs: 1 })), 'MIGRATION_FAILED');
    src.off('event', cut);
    assert.equal(src.info('mc').state, 'running');
    await until(() => dst.list().length === 0 && readdirSync(join(dstDir, 'vms')).length === 0, 10_000, 'the destination dropped the half-made VM');
    assert.match(await o.run('echo alive'), /alive/);
    // Again, with the destination listening anew.
    api = await startApi({ host: dst, stateDir: dstDir, listen: '127.0.0.1:0' });
    const r = await src.migrate('mc', { to: api.tcp!.url, token, copyStorage: true });
    assert.equal(r.destination.definition.disks[0]!.path, join(dstDir, 'vms', 'mc', 'disk-0.img'));
    const d = new ConsoleReader(dst, 'mc');
    await d.run('kill $(cat /tmp/pid); sync');
    // Read back from the device (not the page cache): the log is whole and in order.
    const log = await d.run('umount /mnt && mount /dev/vda /mnt && cat /mnt/log');
    const n = log.split('\n').map((l) => Number(l.slice(2)));
    assert.ok(n.length > 10);
    assert.deepEqual(n, Array.from({ length: n.length }, (_, i) => i));
    assert.ok(existsSync(join(dstDir, 'vms', 'mc', 'disk-0.img')));
    await dst.destroy('mc');
    return api;
  });
});

test('rvisor vm clone and rvisor vm migrate --to URL --token-file F between two rvisor serve processes', { timeout: 120_000 }, async (t) => {
  const a = await startServe(t);
  const b = await startServe(t, ['--listen', '127.0.0.1:0']);
  const url = /API on (http:\/\/\S+)/.exec(b.out())![1]!;
  const va = vmIn(a.dir), vb = vmIn(b.dir);
  const defFile = join(a.dir, 'bm.json');
  writeFileSync(defFile, JSON.stringify(bareMetalVm(a.dir, 'bm', idleProgram('hello\n'))));
  assert.equal(va(['define', defFile]).status, 0);
  assert.equal(va(['start', 'bm']).status, 0);
  let r = va(['clone', 'bm', 'bm2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /VM bm2 cloned from bm \(running; \d+ pages shared/);
  // Without a terminal the progress is one line per step on stderr.
  r = va(['migrate', 'bm', '--to', url, '--token-file', join(b.dir, 'token'), '--max-downtime', '100']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /VM bm migrated to http:\/\/127\.0\.0\.1:\d+ in [\d.]+ s: \d+ rounds?, \d+ pages sent .*downtime [\d.]+ ms/);
  assert.match(r.stderr, /migration of bm: precopy round 0/);
  assert.match(vb(['list']).out, /bm\s+running/);
  assert.match(va(['info', 'bm']).out, /shutoff/);
  // The wrong token: refused, bm2 runs on here, nothing there.
  r = va(['migrate', 'bm2', '--to', url, '--token-file', join(a.dir, 'token')]);
  assert.equal(r.status, ERROR_CODES.UNAUTHORIZED.exit, r.stderr);
  assert.match(r.stderr, /rvisor: .*bearer token is wrong/);
  assert.match(va(['info', 'bm2']).out, /running/);
  assert.doesNotMatch(vb(['list', '--all']).out, /bm2/);
  r = va(['migrate', 'bm2']);
  assert.equal(r.status, ERROR_CODES.USAGE.exit);
  assert.match(r.stderr, /migrate needs --to URL/);
  r = va(['migrate', 'bm2', '--to', url, '--token-file', join(a.dir, 'no-such-token')]);
  assert.equal(r.status, ERROR_CODES.ENOENT_FILE.exit);
  assert.equal(va(['migrate', 'bm2', '--cancel']).status, ERROR_CODES.VM_STATE.exit, 'nothing to cancel');
});

test('live migration of a guest dirtying 16 MiB faster than the link: auto-converge throttles it while it is copied, every page arrives', { timeout: 180_000 }, async () => {
  await twoHosts(async (src, dst, api, token, srcDir) => {
    src.define(bareMetalVm(srcDir, 'dirt', dirtierProgram(16 * 1048576), '32M'));
    await src.start('dirt');
    const o = new ConsoleReader(src, 'dirt');
    await o.waitFor('VVV', 30_000);
    const events: HostEvent[] = [];
    src.on('event', (e) => events.push(e));
    const r = await src.migrate('dirt', { to: api.tcp!.url, token, maxDowntimeMs: 1 });
    assert.ok(r.throttlePct > 0, `throttled: ${JSON.stringify(r)}`);
    assert.ok(r.rounds > 2);
    assert.ok(events.some((e) => e.type === 'migration' && e.phase === 'precopy' && e.throttlePct > 0));
    assert.equal(src.schedinfo('dirt').cap, 0, 'the cap is the definition\'s again');
    // At the destination it runs at full speed, and every page still holds its sweep's value.
    const d = new ConsoleReader(dst, 'dirt');
    await d.waitFor('VVV', 30_000);
    assert.ok(!o.text.includes('X') && !d.text.includes('X'), 'no page lost or stale');
    assert.equal(dst.schedinfo('dirt').cap, 0);
    await dst.destroy('dirt');
  });
});

test('a hostile or broken migration peer: commit first, malformed state, oversized PMP arrays, early close — the destination refuses, keeps nothing and keeps running', { timeout: 60_000 }, async () => {
  await twoHosts(async (_src, dst, api, token, _srcDir, dstDir) => {
    const url = `ws://127.0.0.1:${api.tcp!.port}/migrations/incoming`;
    const session = async (msgs: unknown[], until = 'error'): Promise<{ replies: { t: string; code?: string }[] }> => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      const replies: { t: string; code?: string }[] = [];
      await within(new Promise<void>((resolve, reject) => {
        ws.on('open', () => { for (const m of msgs) ws.send(JSON.stringify(m)); if (until === 'none') ws.close(); });
        ws.on('message', (d: Buffer) => { const r = JSON.parse(d.toString()); replies.push(r); if (r.t === until) ws.close(); });
        ws.on('close', () => resolve());
        ws.on('error', reject);
      }), 20_000, 'peer session');
      return { replies };
    };
    const def = { ...bareMetalVm(dstDir, 'evil', idleProgram('x')), vcpus: 1, append: '', disks: [], weight: 256, cap: 0, autostart: true };
    const begin = { t: 'begin', version: 1, rvisor: 'x', definition: def, memBytes: 32 * 1048576, copyDisks: null, paused: false };
    // commit before anything: an error reply, and the host lives on.
    assert.deepEqual((await session([{ t: 'commit' }])).replies.map((r) => r.code), ['BAD_REQUEST']);
    // A state whose hart has more PMP entries than a hart: refused before anything is written past it.
    const hart = { x: [], f: [], pc: '0x0', fcsr: 0, instret: '0x0', priv: {}, pmpcfg: [], pmpaddr: new Array(9000).fill('0x4141414141414141') };
    const board = { version: 1, harts: [{ base: 0, run: 'started' }], devices: { virtio: [] }, ram: { p2m: 0, base: 0, size: 0 } };
    let r = await session([begin, { t: 'state', harts: [{ run: 'started', state: hart }], board, ticks: '0', sinceStopMs: 0 }]);
    assert.deepEqual(r.replies.map((x) => x.t), ['ready', 'error']);
    // A state that does not fit; and pages beyond the VM.
    r = await session([begin, { t: 'state', harts: [], board, ticks: 'x', sinceStopMs: 0 }]);
    assert.deepEqual(r.replies.map((x) => x.code ?? x.t), ['ready', 'BAD_REQUEST']);
    // While the stream is open the incoming VM refuses every verb; a close drops it.
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    await within(new Promise<void>((resolve) => { ws.on('open', () => ws.send(JSON.stringify(begin))); ws.on('message', () => resolve()); }), 20_000, 'ready');
    assert.equal(dst.list()[0]?.reason, 'incoming-migration');
    assert.equal(await code(dst.start('evil')), 'VM_STATE');
    assert.equal(await code((async () => dst.undefine('evil'))()), 'VM_STATE');
    assert.equal(await code((async () => dst.define({ name: 'evil' }))()), 'VM_EXISTS');
    ws.close();
    await until(() => dst.list().length === 0, 10_000, 'the incoming VM dropped');
    assert.deepEqual(readdirSync(join(dstDir, 'vms')), []);
    assert.equal(dst.hostStats().vms.running, 0);
  });
});

test('two clones racing for one name: one wins, the other changes nothing of the winner', { timeout: 60_000 }, async () => {
  await withHost({ pcpus: 2 }, async (host, dir) => {
    host.define(bareMetalVm(dir, 'va', idleProgram('a')));
    host.define(bareMetalVm(dir, 'vb', idleProgram('b')));
    await host.start('va');
    await host.start('vb');
    const results = await Promise.all([code(host.clone('va', 'vx')), code(host.clone('vb', 'vx'))]);
    assert.deepEqual(results.sort(), [undefined, 'VM_EXISTS'].sort());
    assert.equal(host.info('vx').state, 'running');
    assert.ok(existsSync(join(dir, 'vms', 'vx', 'definition.json')), 'the winner\'s folder is intact');
  });
});
