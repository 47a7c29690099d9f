// What the bundled Linux guest sees of the host: a graceful shutdown through the power key, and
// steal time (SBI STA) in /proc/stat when it competes for a pCPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { HostConsole } from '../src/vmm/console.js';
import { LocalVm } from '../src/vmm/local-vm.js';
import { ROOT } from './helpers.js';
import { withHost, ConsoleReader, spinProgram } from './host-helpers.js';

test('shutdown: the power key makes the bundled guest power off cleanly (state shutoff, reason shutdown)', async () => {
  await withHost({ pcpus: 2 }, async (host) => {
    host.define({ name: 'sd', memory: '64M' });
    await host.start('sd');
    const c = new ConsoleReader(host, 'sd');
    await c.waitFor('rvisor guest ready', 120000);
    await c.run('echo up');
    const info = await host.shutdown('sd', { timeoutMs: 60000 });
    assert.equal(info.state, 'shutoff');
    assert.equal(info.reason, 'shutdown');
    assert.match(c.text, /reboot: Power down/);
  });
});

/** /proc/stat's aggregate cpu line: [user, nice, system, idle, iowait, irq, softirq, steal]. */
async function cpuLine(c: ConsoleReader): Promise<number[]> {
  const line = await c.run('head -1 /proc/stat');
  const m = /^cpu\s+(.*)$/m.exec(line);
  assert.ok(m, `no cpu line in ${JSON.stringify(line)}`);
  return m[1]!.trim().split(/\s+/).map(Number);
}

test('steal time: a guest sharing its pCPU with a busy VM sees steal grow in /proc/stat (SBI STA)', async () => {
  await withHost({ pcpus: 1 }, async (host, dir) => {
    host.define({ name: 'linux', memory: '64M' });
    await host.start('linux');
    const c = new ConsoleReader(host, 'linux');
    await c.waitFor('rvisor guest ready', 120000);
    const alone = await cpuLine(c);
    const spin = join(dir, 'spin.bin');
    writeFileSync(spin, spinProgram());
    host.define({ name: 'hog', memory: '32M', kernel: null, initrd: null, bios: spin });
    await host.start('hog');
    // The guest is busy too (a shell loop for about 3 s of its time), so it waits for the pCPU.
    await c.run('end=$(( $(cut -d. -f1 /proc/uptime) + 3 )); while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do :; done', 120000);
    const shared = await cpuLine(c);
    const steal = shared[7]! - alone[7]!;
    assert.ok(steal >= 50, `steal grew by ${steal} ticks (USER_HZ) while sharing the pCPU; before ${alone}, after ${shared}`);
    const stats = host.stats('linux');
    assert.ok(stats.stealNs > 0.5e9, `host-side steal ${stats.stealNs} ns`);
  });
});

test('rvisor run: Ctrl-A P presses the power key and the guest shuts down (status 0)', async () => {
  // The console maps the key...
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin }) as unknown as NodeJS.ReadStream;
  const help: string[] = [];
  const stdout = { write: (b: string | Uint8Array) => { help.push(String(b)); return true; } } as unknown as NodeJS.WriteStream;
  const keys: string[] = [];
  const con = new HostConsole({ input: (b) => keys.push(Buffer.from(b).toString()), quit: () => keys.push('QUIT'), powerKey: () => keys.push('POWER') }, stdin, stdout);
  stdin.emit('data', Buffer.from('x\x01py\x01h'));
  con.close();
  assert.deepEqual(keys, ['POWER', 'xy']); // the key acts at once; typed bytes go at the chunk's end
  assert.match(help.join(''), /C-a p +press the power key/);
  // ...and the machine of `rvisor run` acts on it.
  let out = '';
  const vm = new LocalVm({ vcpus: 1, memBytes: 64 << 20, kernel: join(ROOT, 'images', 'Image.gz'), initrd: join(ROOT, 'images', 'initramfs.cpio.gz'), append: 'console=ttyS0', bios: null },
    [], (b) => { out += Buffer.from(b).toString('latin1'); });
  const ran = vm.run();
  const deadline = Date.now() + 120000;
  while (!out.includes('rvisor guest ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500)); // acpid is started by init after the ready line
  assert.ok(vm.pressPowerKey(), 'the guest driver listens to the power key');
  const timer = setTimeout(() => vm.quit(), 60000);
  const status = await ran;
  clearTimeout(timer);
  vm.close();
  assert.equal(status, 0, `guest output tail: ${out.slice(-400)}`);
  assert.match(out, /reboot: Power down/);
});
