// Named checkpoints (`rvisor vm snapshot create|list|revert|delete`, src/vmm/checkpoints.ts): the
// bundled guest checkpointed live, files written in its /tmp (initramfs) and on its disk (/mnt),
// reverted: both files are gone and the guest answers; parents, re-parenting on delete; every
// refusal leaves the state dir byte for byte as it was; a shut-off VM's disks-only checkpoint; the
// CLI verbs against `rvisor serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { IMAGES_DIR } from '../src/vmm/files.js';
import { ROOT } from './helpers.js';
import { snapshot, startServe, until, vmIn, within } from './api-helpers.js';
import { withHost, ConsoleReader, errorCode } from './host-helpers.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function makeDisk(dir: string, name = 'disk.ext4'): string {
  const p = join(dir, name);
  writeFileSync(p, gunzipSync(readFileSync(join(ROOT, 'images', 'disk.ext4.gz'))));
  return p;
}

const code = errorCode;

test('checkpoints on a host: live create, files in /tmp and on the disk, revert, parents, delete, refusals change nothing', { timeout: 300_000 }, async (t) => {
  const files = tempDir(t);
  const disk = makeDisk(files);
  const initrd = join(files, 'initramfs.cpio.gz');
  copyFileSync(join(IMAGES_DIR, 'initramfs.cpio.gz'), initrd);
  const stateDir = join(files, 'state');
  await withHost({ pcpus: 2, stateDir }, async (host) => {
    host.define({ name: 'ck', memory: '128M', initrd, disks: [{ path: disk, readonly: false }] });
    await host.start('ck');
    const c = new ConsoleReader(host, 'ck');
    await c.waitFor('rvisor guest ready', 120_000);
    await c.run('echo base-tmp > /tmp/base; echo base-disk > /mnt/base; sync');

    // Live: the VM keeps running and the guest answers right after.
    const base = await host.snapshotCreate('ck', 'base');
    assert.deepEqual({ ...base, created: '' }, { name: 'base', parent: null, created: '', state: 'running', current: true });
    assert.equal(host.info('ck').state, 'running');
    assert.equal(await c.run('echo alive-$((40+2))'), 'alive-42');

    await c.run('echo new-tmp > /tmp/new; echo new-disk > /mnt/new; sync');
    assert.equal((await host.snapshotCreate('ck', 'second')).parent, 'base');
    assert.deepEqual(host.snapshotList('ck').map((x) => [x.name, x.parent, x.current]), [['base', null, false], ['second', 'base', true]]);

    // Revert: RAM and disk back; the guest runs on and answers.
    const r = await host.snapshotRevert('ck', 'base');
    assert.equal(r.state, 'running');
    const after = await c.run('ls /tmp/new /mnt/new 2>&1; cat /tmp/base /mnt/base');
    assert.match(after, /\/tmp\/new: No such file/);
    assert.match(after, /\/mnt\/new: No such file/);
    assert.match(after, /base-tmp\nbase-disk/);
    // The disk itself holds no trace of the write either, after a fresh mount.
    const ls = await c.run('umount /mnt && mount /dev/vda /mnt && ls /mnt | cat');
    assert.match(ls, /\bbase\b/);
    assert.doesNotMatch(ls, /\bnew\b/);
    assert.deepEqual(host.snapshotList('ck').map((x) => [x.name, x.current]), [['base', true], ['second', false]]);

    // A checkpoint of a paused VM reverts to paused; --paused pauses a running one.
    await host.pause('ck');
    assert.equal((await host.snapshotCreate('ck', 'held')).state, 'paused');
    assert.equal(host.info('ck').state, 'paused');
    await host.resume('ck');
    assert.equal((await host.snapshotRevert('ck', 'held')).state, 'paused');
    assert.equal((await host.snapshotRevert('ck', 'second', { paused: true })).state, 'paused');
    await host.resume('ck');
    assert.match(await c.run('cat /tmp/new /mnt/new'), /new-tmp\nnew-disk/);

    // Refusals: nothing changes in the state dir (nor on the disk).
    const diskBytes = readFileSync(disk);
    const before = snapshot(stateDir);
    const refuse = async (p: () => Promise<unknown> | unknown, want: string) => {
      assert.equal(await code(async () => await p()), want);
      assert.deepEqual(snapshot(stateDir), before, `a refusal (${want}) changed the state dir`);
      assert.ok(readFileSync(disk).equals(diskBytes), `a refusal (${want}) changed the disk`);
    };
    await refuse(() => host.snapshotCreate('nope', 'x'), 'VM_NOT_FOUND');
    await refuse(() => host.snapshotList('nope'), 'VM_NOT_FOUND');
    await refuse(() => host.snapshotCreate('ck', 'base'), 'SNAPSHOT_EXISTS');
    for (const bad of ['Bad', '-x', '', '../ck', 'a'.repeat(64)]) {
      await refuse(() => host.snapshotCreate('ck', bad), 'BAD_REQUEST');
      await refuse(() => host.snapshotRevert('ck', bad), 'BAD_REQUEST');
      await refuse(() => host.snapshotDelete('ck', bad), 'BAD_REQUEST');
    }
    await refuse(() => host.snapshotRevert('ck', 'none'), 'SNAPSHOT_NOT_FOUND');
    await refuse(() => host.snapshotDelete('ck', 'none'), 'SNAPSHOT_NOT_FOUND');
    // A boot file changed since (the next reboot would boot another one).
    const initrdBytes = readFileSync(initrd);
    appendFileSync(initrd, Buffer.alloc(512));
    await refuse(() => host.snapshotRevert('ck', 'base'), 'SNAPSHOT_MISMATCH');
    writeFileSync(initrd, initrdBytes);
    assert.equal(host.info('ck').state, 'running');
    assert.equal(await c.run('echo still-$((1+1))'), 'still-2');
    // The disk attached to another running VM.
    await host.destroy('ck');
    host.define({ name: 'other', memory: '64M', disks: [{ path: disk, readonly: false }] });
    await host.start('other', { paused: true });
    const before2 = snapshot(stateDir);
    assert.equal(await code(host.snapshotRevert('ck', 'base')), 'DISK_IN_USE');
    assert.deepEqual(snapshot(stateDir), before2);
    assert.ok(readFileSync(disk).equals(diskBytes));
    await host.destroy('other');
    host.undefine('other');

    // A shut-off VM: disks only; a revert to it leaves the VM shut off with the disk as it was.
    const cold = await host.snapshotCreate('ck', 'cold');
    assert.deepEqual([cold.state, cold.parent], ['shutoff', 'second']);
    await host.start('ck');
    await c.waitFor('rvisor guest ready', 120_000);
    await c.run('echo later > /mnt/later; sync');
    assert.ok(!readFileSync(disk).equals(diskBytes));
    const back = await host.snapshotRevert('ck', 'cold');
    assert.equal(back.state, 'shutoff');
    assert.ok(readFileSync(disk).equals(diskBytes), 'the disk is as it was at the checkpoint');

    // Delete re-parents the children; deleting the current one makes its parent current.
    // Tree now: base ← second ← cold, base ← held.
    assert.deepEqual(host.snapshotList('ck').map((x) => [x.name, x.parent]), [['base', null], ['second', 'base'], ['held', 'base'], ['cold', 'second']]);
    await host.snapshotDelete('ck', 'base');
    assert.deepEqual(host.snapshotList('ck').map((x) => [x.name, x.parent]), [['second', null], ['held', null], ['cold', 'second']]);
    await host.snapshotDelete('ck', 'cold');
    assert.deepEqual(host.snapshotList('ck').map((x) => [x.name, x.parent, x.current]), [['second', null, true], ['held', null, false]]);
    assert.deepEqual(JSON.parse(readFileSync(join(stateDir, 'vms', 'ck', 'snapshots', 'held', 'checkpoint.json'), 'utf8')).parent, null);
  });

  // A configuration changed since (the definition edited while the host was down).
  const defFile = join(stateDir, 'vms', 'ck', 'definition.json');
  writeFileSync(defFile, JSON.stringify({ ...JSON.parse(readFileSync(defFile, 'utf8')), memory: '96M' }));
  await withHost({ pcpus: 1, stateDir }, async (host) => {
    const before = snapshot(stateDir);
    assert.equal(await code(host.snapshotRevert('ck', 'second')), 'SNAPSHOT_MISMATCH');
    assert.deepEqual(snapshot(stateDir), before);
    assert.equal(host.info('ck').state, 'shutoff');
  });
});

test('rvisor vm snapshot create / list / revert / delete against rvisor serve', { timeout: 240_000 }, async (t) => {
  const serve = await startServe(t);
  const { dir } = serve;
  const run = vmIn(dir);
  const vm = (args: string[], input = '') => run(args, { input });
  const console_ = (name: string, input: string) => vm(['console', name, '--linger', '1'], input).out;

  writeFileSync(join(dir, 'g.json'), JSON.stringify({ name: 'g', memory: '64M' }));
  assert.equal(vm(['define', join(dir, 'g.json')]).status, 0);
  assert.equal(vm(['start', 'g']).status, 0);
  await until(() => console_('g', '').includes('rvisor guest ready'), 90_000, 'the guest reaches its shell');

  let r = vm(['snapshot', 'create', 'g', 's1']);
  assert.deepEqual([r.status, r.out], [0, 'Snapshot s1 of VM g created (running)\n'], r.stderr);
  assert.match(vm(['info', 'g']).out, /State: +running/);
  assert.match(console_('g', 'echo mark-$((6*7)) > /tmp/mark; cat /tmp/mark\n'), /mark-42/);
  r = vm(['snapshot', 'create', 'g', 's2']);
  assert.deepEqual([r.status, r.out], [0, 'Snapshot s2 of VM g created (running, parent s1)\n'], r.stderr);
  r = vm(['snapshot', 'list', 'g']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /^ Name +Parent +State +Created\n-+\n s1 +- +running +\S+\n s2 \* +s1 +running +\S+\n$/);
  assert.deepEqual(JSON.parse(vm(['snapshot', 'list', 'g', '--json']).out).map((c: { name: string }) => c.name), ['s1', 's2']);

  r = vm(['snapshot', 'revert', 'g', 's1', '--paused']);
  assert.deepEqual([r.status, r.out], [0, 'VM g reverted to snapshot s1 (paused)\n'], r.stderr);
  assert.equal(vm(['resume', 'g']).status, 0);
  assert.match(console_('g', 'cat /tmp/mark; echo answered\n'), /No such file[\s\S]*answered/);

  // Errors: their exit statuses, and nothing changed.
  const before = snapshot(join(dir, 'vms'));
  assert.equal(vm(['snapshot', 'revert', 'g', 'nope']).status, 29);
  assert.equal(vm(['snapshot', 'delete', 'g', 'nope']).status, 29);
  assert.equal(vm(['snapshot', 'create', 'g', 's1']).status, 30);
  assert.equal(vm(['snapshot', 'create', 'g', 'Bad_Name']).status, 23);
  assert.equal(vm(['snapshot', 'list', 'nope']).status, 16);
  assert.equal(vm(['snapshot', 'create', 'nope', 'x']).status, 16);
  assert.equal(vm(['snapshot', 'create', 'g']).status, 2);
  assert.equal(vm(['snapshot', 'frob', 'g', 'x']).status, 2);
  assert.deepEqual(snapshot(join(dir, 'vms')), before);

  r = vm(['snapshot', 'delete', 'g', 's1']);
  assert.deepEqual([r.status, r.out], [0, 'Snapshot s1 of VM g deleted\n'], r.stderr);
  assert.match(vm(['snapshot', 'list', 'g']).out, /\n s2 +- +running/);
  assert.equal(vm(['destroy', 'g']).status, 0);
  process.kill(serve.pid, 'SIGTERM');
  assert.equal(await within(serve.exited, 20_000, 'serve stops on SIGTERM'), 0);
});
