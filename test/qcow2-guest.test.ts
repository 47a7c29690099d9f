// qcow2 disks under a running Linux guest: `rvisor run` on a copy-on-write overlay of the bundled
// ext4 disk (the base never changes, the overlay passes `rvisor img check`), and a hosted VM on an
// overlay: its base claimed read-only while it runs, a live clone with its own overlay that still
// reads the same base.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { GuestSession } from './guest-session.js';
import { readRepoFile, runRvisor, scratchDir } from './helpers.js';
import { withHost, ConsoleReader, errorCode } from './host-helpers.js';
import { checkQcow2 } from '../src/host/disk/qcow2-check.js';
import { diskFiles, openDisk } from '../src/host/disk/host-disk.js';
import { IMAGES_DIR } from '../src/vmm/files.js';

const READY = 'rvisor guest ready';

function overlayOfBundledDisk(dir: string): { base: string; overlay: string; baseBytes: Buffer } {
  const base = join(dir, 'base.ext4');
  const baseBytes = readRepoFile('images/disk.ext4.gz');
  writeFileSync(base, baseBytes);
  const overlay = join(dir, 'overlay.qcow2');
  const r = runRvisor(['img', 'create', '-b', 'base.ext4', '-F', 'raw', overlay]);
  assert.equal(r.status, 0, r.stderr);
  return { base, overlay, baseBytes };
}

test('rvisor run on a qcow2 overlay: the guest reads the base, its writes survive a reboot, the base never changes', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(scratchDir(), 'qcow2-run-'));
  const { base, overlay, baseBytes } = overlayOfBundledDisk(dir);
  const s = new GuestSession(['--disk', overlay]);
  try {
    await s.waitFor(READY);
    assert.match(await s.run('cat /mnt/hello.txt'), /hello from the disk/);
    await s.run('dd if=/dev/urandom of=/mnt/big bs=1k count=1500 2>/dev/null; echo on-the-overlay > /mnt/new.txt; sync');
    const sum = /\b([0-9a-f]{32})\b/.exec(await s.run('md5sum /mnt/big'))?.[1];
    assert.ok(sum);
    s.send('reboot -f');
    await s.waitFor('reboot: Restarting system');
    await s.waitFor(READY);
    // Read back from the device, not the page cache (a fresh boot).
    assert.match(await s.run('cat /mnt/new.txt'), /on-the-overlay/);
    assert.match(await s.run('md5sum /mnt/big'), new RegExp(`\\b${sum}\\b`));
    s.send('poweroff -f');
    assert.equal(await s.exited, 0);
  } finally {
    s.kill();
  }
  assert.ok(readFileSync(base).equals(baseBytes), 'the backing file is never written');
  const chk = checkQcow2(overlay);
  assert.deepEqual(chk.errors, []);
  assert.equal(chk.leaks, 0);
  assert.ok(chk.dataClusters >= 1500 / 64, `the guest's writes are in the overlay (${chk.dataClusters} clusters)`);
});

test('a hosted VM on a qcow2 overlay: its base is claimed read-only, a live clone gets its own overlay of the same base', { timeout: 300_000 }, async () => {
  await withHost({ pcpus: 2 }, async (host, dir) => {
    const { base, overlay, baseBytes } = overlayOfBundledDisk(dir);
    const initrd = join(dir, 'initramfs.cpio.gz');
    copyFileSync(join(IMAGES_DIR, 'initramfs.cpio.gz'), initrd);
    host.define({ name: 'ov', memory: '128M', initrd, disks: [{ path: overlay, readonly: false, format: 'qcow2' }] });
    // A definition naming a format the file is not is refused when defined.
    assert.equal(await errorCode(() => host.define({ name: 'wrong', memory: '64M', initrd, disks: [{ path: base, readonly: true, format: 'qcow2' }] })), 'BAD_DEFINITION');
    await host.start('ov');
    const o = new ConsoleReader(host, 'ov');
    await o.waitFor(READY, 120_000);
    await o.run('dmesg -n 1');
    assert.equal(await o.run('cat /mnt/hello.txt'), 'hello from the disk');
    await o.run('echo before > /mnt/f; sync');
    // The base is read through the running VM's overlay: another VM may not write it.
    host.define({ name: 'writer', memory: '64M', initrd, disks: [{ path: base, readonly: false }] });
    assert.equal(await errorCode(host.start('writer')), 'DISK_IN_USE');
    host.undefine('writer');

    const c = await host.clone('ov', 'ovc');
    const copy = c.vm.definition.disks[0]!;
    assert.notEqual(copy.path, overlay);
    assert.equal(copy.format, 'qcow2');
    const k = new ConsoleReader(host, 'ovc');
    assert.equal(await k.run('cat /mnt/f; cat /mnt/hello.txt'), 'before\nhello from the disk');
    await k.run('echo copy > /mnt/f; sync');
    await o.run('echo orig > /mnt/f; sync');
    assert.equal(await o.run('umount /mnt && mount /dev/vda /mnt && cat /mnt/f'), 'orig');
    assert.equal(await k.run('umount /mnt && mount /dev/vda /mnt && cat /mnt/f'), 'copy');
    await host.destroy('ovc');
    await host.destroy('ov');
    // The clone's overlay lives in its folder and names the same base by its absolute path.
    const d = openDisk(copy.path, { readOnly: true });
    assert.equal(diskFiles(d)[1]!.path, base);
    d.close();
    for (const f of [overlay, copy.path]) {
      const r = checkQcow2(f);
      assert.deepEqual(r.errors, [], f);
      assert.equal(r.leaks, 0, f);
    }
    assert.ok(readFileSync(base).equals(baseBytes), 'the base is never written');
    host.undefine('ovc');
    assert.ok(!existsSync(copy.path));
  });
});
