// kill -9 of the host while a guest writes its disk: the definitions stay readable, the VM comes
// back shutoff (daemon-restart), and the disk image is usable: the guest mounts it again (ext4
// replays its journal) and e2fsck finds it clean after the guest unmounts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { ROOT } from './helpers.js';
import { withHost, ConsoleReader } from './host-helpers.js';

const E2FSCK = ['/usr/sbin/e2fsck', '/sbin/e2fsck'].find((p) => spawnSync(p, ['-V']).status === 0);

test('kill -9 of the host while a guest writes its disk leaves definitions and the disk usable', async () => {
  assert.ok(E2FSCK, 'e2fsck (e2fsprogs) is needed to check the disk (scripts/oracle/install-tools.sh installs it)');
  const stateDir = mkdtempSync(join(tmpdir(), 'rvisor-kill-'));
  const disk = join(stateDir, 'disk.ext4');
  writeFileSync(disk, gunzipSync(readFileSync(join(ROOT, 'images', 'disk.ext4.gz'))));
  const hostUrl = pathToFileURL(join(ROOT, 'dist', 'src', 'vmm', 'host.js')).href;
  // The host in a child process: boots the guest, starts a writer loop on /mnt, says "writing".
  const script = `
    const { openHost } = await import(${JSON.stringify(hostUrl)});
    const host = await openHost({ stateDir: ${JSON.stringify(stateDir)}, pcpus: 1 });
    host.define({ name: 'writer', memory: '64M', disks: [{ path: ${JSON.stringify(disk)}, readonly: false }] });
    await host.start('writer');
    let text = '', typed = false;
    const att = host.attachConsole('writer', (b) => {
      text += Buffer.from(b).toString('latin1');
      if (!typed && text.includes('rvisor guest ready')) {
        typed = true;
        att.write(Buffer.from('i=0; while :; do dd if=/dev/urandom of=/mnt/f$((i%8)) bs=4k count=32 2>/dev/null; sync; i=$((i+1)); [ $i = 3 ] && echo WRI""TING; done\\n'));
      }
      if (text.includes('WRITING')) process.stdout.write('writing\\n');
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`the guest did not start writing; stderr: ${err}`)), 180000);
      child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('writing')) { clearTimeout(timer); res(); } });
      child.on('exit', (code) => { clearTimeout(timer); rej(new Error(`host exited (${code}): ${err}`)); });
    });
    await new Promise((r) => setTimeout(r, 1500)); // mid-write
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.on('exit', r));
  }

  try {
    await withHost({ stateDir, pcpus: 1 }, async (host) => {
      const info = host.info('writer');
      assert.equal(info.state, 'shutoff');
      assert.equal(info.reason, 'daemon-restart');
      assert.equal(info.definition.disks[0]!.path, disk);
      await host.start('writer');
      const c = new ConsoleReader(host, 'writer');
      await c.waitFor('rvisor: /dev/vda mounted on /mnt', 120000);
      await c.waitFor('rvisor guest ready', 60000);
      assert.match(await c.run('ls /mnt | grep -c "^f"'), /^[1-8]$/);
      assert.match(await c.run('umount /mnt && echo unmounted'), /^unmounted$/m);
      await host.destroy('writer');
    });
    const fsck = spawnSync(E2FSCK, ['-f', '-n', disk], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `e2fsck: ${fsck.stdout}${fsck.stderr}`);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
