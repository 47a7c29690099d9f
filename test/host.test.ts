// The host (`rvisor serve`'s engine, src/vmm/host.ts): many VMs on pCPU workers, the lifecycle state
// machine, pause, crash isolation, the registry across restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RvisorError } from '../src/errors.js';
import { openHost, type Host } from '../src/vmm/host.js';
import type { VmState } from '../src/vmm/types.js';
import { withHost, ConsoleReader, idleProgram, bareMetalVm, waitForState } from './host-helpers.js';

const code = async (p: Promise<unknown> | (() => unknown)): Promise<string | undefined> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof RvisorError, `expected an RvisorError, got ${e}`);
    return e.code;
  }
  return undefined;
};

test('eight VMs of the bundled guest on two pCPUs reach their shell and answer; one that throws ends crashed, the others go on', async () => {
  await withHost({ pcpus: 2 }, async (host) => {
    const names = Array.from({ length: 8 }, (_, i) => `guest-${i}`);
    for (const name of names) host.define({ name, memory: '64M' });
    await Promise.all(names.map((n) => host.start(n)));
    const consoles = names.map((n) => new ConsoleReader(host, n));
    await Promise.all(consoles.map((c) => c.waitFor('rvisor guest ready', 240000)));
    for (const c of consoles) assert.equal(await c.run(`echo answer-from-${c.name}-$((6*7))`), `answer-from-${c.name}-42`);

    const states: string[] = [];
    host.on('event', (e) => { if (e.type === 'state') states.push(`${e.name}:${e.state}`); });
    host.injectFault('guest-3');
    await waitForState(host, 'guest-3', 'crashed');
    const crashed = host.info('guest-3');
    assert.equal(crashed.state, 'crashed');
    assert.match(crashed.reason, /^error: fault injected/);
    assert.deepEqual(states, ['guest-3:crashed']);
    for (const c of consoles) {
      if (c.name === 'guest-3') continue;
      assert.equal(await c.run('echo still-$((1+1))'), 'still-2', `${c.name} answers after guest-3 crashed`);
    }
    const st = host.stats('guest-0');
    assert.ok(st.instructions > 10_000_000 && st.cpuTimeNs > 0, JSON.stringify(st));
    assert.equal(host.hostStats().vms.running, 7);
  });
});

test('lifecycle: every verb in every state is allowed (to its new state) or refused with VM_STATE (nothing changes)', async () => {
  await withHost({ pcpus: 1 }, async (host, dir) => {
    const def = bareMetalVm(dir, 'lc', idleProgram('idle guest up\n'));
    host.define(def);
    const reach = async (s: VmState): Promise<void> => {
      const cur = host.info('lc').state;
      if (cur === 'running' || cur === 'paused') await host.destroy('lc');
      if (host.info('lc').state === 'crashed') await host.destroy('lc');
      if (s === 'shutoff') return;
      await host.start('lc', { paused: s === 'paused' });
      if (s === 'crashed') {
        host.injectFault('lc');
        await waitForState(host, 'lc', 'crashed');
      }
      assert.equal(host.info('lc').state, s);
    };
    type Verb = [string, () => Promise<unknown>];
    const verbs: Verb[] = [
      ['start', () => host.start('lc')],
      ['pause', () => host.pause('lc')],
      ['resume', () => host.resume('lc')],
      ['shutdown', () => host.shutdown('lc', { timeoutMs: 300 })],
      ['destroy', () => host.destroy('lc')],
      ['reboot', () => host.reboot('lc')],
      ['reset', () => host.reset('lc')],
    ];
    // state -> verb -> resulting state, or an error code
    const expect: Record<VmState, Record<string, string>> = {
      shutoff: { start: 'running', pause: 'VM_STATE', resume: 'VM_STATE', shutdown: 'VM_STATE', destroy: 'VM_STATE', reboot: 'VM_STATE', reset: 'VM_STATE' },
      running: { start: 'VM_STATE', pause: 'paused', resume: 'VM_STATE', shutdown: 'SHUTDOWN_TIMEOUT', destroy: 'shutoff', reboot: 'running', reset: 'running' },
      paused: { start: 'VM_STATE', pause: 'VM_STATE', resume: 'running', shutdown: 'VM_STATE', destroy: 'shutoff', reboot: 'paused', reset: 'paused' },
      crashed: { start: 'running', pause: 'VM_STATE', resume: 'VM_STATE', shutdown: 'VM_STATE', destroy: 'shutoff', reboot: 'VM_STATE', reset: 'VM_STATE' },
    };
    for (const from of ['shutoff', 'running', 'paused', 'crashed'] as VmState[]) {
      for (const [verb, call] of verbs) {
        await reach(from);
        const before = host.info('lc');
        const err = await code(call());
        const want = expect[from][verb]!;
        if (/^[A-Z_]+$/.test(want)) {
          assert.equal(err, want, `${verb} in ${from}`);
          assert.equal(host.info('lc').state, before.state, `${verb} in ${from} changed nothing`);
          assert.deepEqual(host.info('lc').definition, before.definition);
        } else {
          assert.equal(err, undefined, `${verb} in ${from}`);
          assert.equal(host.info('lc').state, want, `${verb} in ${from}`);
        }
      }
    }
    // undefine: only shutoff or crashed
    await reach('running');
    assert.equal(await code(() => host.undefine('lc')), 'VM_STATE');
    await reach('crashed');
    host.undefine('lc');
    assert.equal(await code(() => host.info('lc')), 'VM_NOT_FOUND');
    assert.equal(host.hostStats().arenas[0]!.framesInUse > 0, true);
  });
});

test('a destroyed or crashed VM gives back every frame it used', async () => {
  await withHost({ pcpus: 2 }, async (host, dir) => {
    host.define(bareMetalVm(dir, 'warm', idleProgram('x\n')));
    await host.start('warm');
    await new ConsoleReader(host, 'warm').waitFor('x');
    await host.destroy('warm');
    const base = host.hostStats().arenas[0]!.framesInUse; // the workers' code caches stay
    host.define({ name: 'linux', memory: '64M' });
    await host.start('linux');
    await new ConsoleReader(host, 'linux').waitFor('rvisor guest ready', 120000);
    assert.ok(host.hostStats().arenas[0]!.framesInUse > base + 1000);
    await host.reset('linux');
    await new ConsoleReader(host, 'linux').waitFor('Linux version', 60000);
    host.injectFault('linux');
    await waitForState(host, 'linux', 'crashed');
    assert.equal(host.info('linux').state, 'crashed');
    assert.equal(host.hostStats().arenas[0]!.framesInUse, base);
  });
});

async function uptime(c: ConsoleReader): Promise<number> {
  return Number((await c.run('cut -d" " -f1 /proc/uptime')).trim());
}

test('pause: nothing runs while paused; after resume the guest carries on and its clock has kept host time (wall clock right)', async () => {
  await withHost({ pcpus: 2 }, async (host) => {
    host.define({ name: 'p', memory: '64M' });
    await host.start('p');
    const c = new ConsoleReader(host, 'p');
    await c.waitFor('rvisor guest ready', 120000);
    const before = await uptime(c);
    await host.pause('p');
    assert.equal(host.info('p').state, 'paused');
    c.send('echo typed-while-paused\n');
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(!c.text.includes('typed-while-paused\r\n'), 'a paused guest runs nothing');
    await host.resume('p');
    await c.waitFor('typed-while-paused\r\n', 30000);
    const after = await uptime(c);
    assert.ok(after - before >= 2, `uptime advanced ${(after - before).toFixed(2)} s across a 2 s pause`);
    const wall = Number(await c.run('date +%s'));
    assert.ok(Math.abs(wall - Date.now() / 1000) < 1.5, `guest wall clock ${wall}, host ${(Date.now() / 1000).toFixed(1)}`);
  });
});

test('the registry: definitions written atomically survive a host restart; running VMs come back shutoff (daemon-restart); autostart VMs start', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'rvisor-reg-'));
  const dir = stateDir; // the bare-metal programs live beside the registry
  try {
    await withHost({ stateDir }, async (host: Host) => {
      host.define(bareMetalVm(dir, 'keep', idleProgram('k\n')));
      host.define({ ...bareMetalVm(dir, 'auto', idleProgram('a\n')), weight: 512 });
      host.define(bareMetalVm(dir, 'off', idleProgram('o\n')));
      host.setAutostart('auto', true);
      host.setSchedinfo('keep', { weight: 100, cap: 50 });
      await host.start('keep');
      // A second host on the same state dir is refused while this one runs.
      assert.equal(await code(() => openHost({ stateDir, pcpus: 1 })), 'USAGE');
    });
    const file = join(stateDir, 'vms', 'keep', 'definition.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).cap, 50);
    assert.deepEqual(readdirSync(join(stateDir, 'vms', 'keep')).filter((f) => f.endsWith('.tmp')), []);
    await withHost({ stateDir }, async (host: Host) => {
      const byName = Object.fromEntries(host.list().map((v) => [v.name, v]));
      assert.deepEqual(Object.keys(byName), ['auto', 'keep', 'off']);
      assert.equal(byName['keep']!.state, 'shutoff');
      assert.equal(byName['keep']!.reason, 'daemon-restart');
      assert.deepEqual(host.schedinfo('keep'), { weight: 100, cap: 50 });
      assert.equal(byName['auto']!.state, 'running');
      assert.equal(byName['off']!.state, 'shutoff');
      assert.equal(byName['off']!.reason, 'defined');
      assert.ok(!existsSync(join(stateDir, 'vms', 'keep', 'running')));
    });
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('bad definitions are refused with a clear code and nothing is written', async () => {
  await withHost({ pcpus: 1 }, async (host, stateDir) => {
    const cases: [unknown, string][] = [
      [{ name: 'Bad_Name' }, 'BAD_DEFINITION'],
      [{ name: '-x' }, 'BAD_DEFINITION'],
      [{ name: 'a'.repeat(64) }, 'BAD_DEFINITION'],
      [{ name: 'm', memory: '512B' }, 'BAD_DEFINITION'],
      [{ name: 'm', memory: '8G' }, 'BAD_DEFINITION'],
      [{ name: 'c', vcpus: 0 }, 'BAD_DEFINITION'],
      [{ name: 'w', weight: 0 }, 'BAD_DEFINITION'],
      [{ name: 'w', cap: -1 }, 'BAD_DEFINITION'],
      [{ name: 'd', disks: [{ path: '/nonexistent/disk.img' }] }, 'BAD_DEFINITION'],
      [{ name: 'k', kernel: '/nonexistent/Image' }, 'BAD_DEFINITION'],
      [{ name: 'u', colour: 'blue' }, 'BAD_DEFINITION'],
      [{ name: 'det', deterministic: { seed: 'x' } }, 'BAD_DEFINITION'],
      [{ name: 'det', deterministic: { seed: 7 } }, 'BAD_DEFINITION'],
      [{ name: 'det', deterministic: { seed: '18446744073709551616' } }, 'BAD_DEFINITION'],
      [{ name: 'det', deterministic: { seed: '1', extra: 1 } }, 'BAD_DEFINITION'],
    ];
    for (const [def, want] of cases) {
      assert.equal(await code(() => host.define(def as never)), want, JSON.stringify(def));
    }
    assert.deepEqual(readdirSync(join(stateDir, 'vms')), []);
    host.define({ name: 'one', memory: '64M' });
    assert.equal(await code(() => host.define({ name: 'one' })), 'VM_EXISTS');
    assert.deepEqual(host.define({ name: 'det', memory: '64M', deterministic: { seed: '0x10' } }).definition.deterministic, { seed: '16' });
    host.undefine('det');
    assert.equal(await code(() => host.start('two')), 'VM_NOT_FOUND');
    assert.equal(await code(() => host.setSchedinfo('one', { weight: 70000 })), 'BAD_DEFINITION');
    assert.deepEqual(readdirSync(join(stateDir, 'vms')), ['one']);
  });
});

test('consoles: several viewers see the same output; a late viewer gets the scrollback', async () => {
  await withHost({ pcpus: 1 }, async (host, dir) => {
    host.define({ name: 'con', memory: '64M' });
    await host.start('con');
    const a = new ConsoleReader(host, 'con');
    const b = new ConsoleReader(host, 'con');
    await a.waitFor('rvisor guest ready', 120000);
    await b.waitFor('rvisor guest ready', 10000);
    const late = new ConsoleReader(host, 'con');
    assert.ok(late.text.includes('Linux version'), 'scrollback holds the boot log');
    assert.ok(late.text.length <= 65536);
    a.send('echo from-a\n');
    await b.waitFor('from-a\r\n', 10000);
    await late.waitFor('from-a\r\n', 10000);
    b.detach();
    assert.equal(await code(() => host.attachConsole('nope', () => {})), 'VM_NOT_FOUND');
  });
});

test('verbs on one VM run one at a time: a reboot racing a destroy leaks nothing, a reboot racing a pause leaves it paused and still', async () => {
  await withHost({ pcpus: 2 }, async (host, dir) => {
    host.define(bareMetalVm(dir, 'warm', idleProgram('w\n')));
    await host.start('warm');
    await host.destroy('warm');
    const base = host.hostStats().arenas[0]!.framesInUse;
    host.define({ name: 'r', memory: '64M' });
    for (let i = 0; i < 4; i++) {
      await host.start('r');
      await new Promise((res) => setTimeout(res, 100 + 50 * i));
      const results = await Promise.allSettled([host.reboot('r'), host.destroy('r')]);
      assert.ok(results.every((x) => x.status === 'fulfilled'), JSON.stringify(results));
      assert.equal(host.info('r').state, 'shutoff');
      assert.equal(host.hostStats().arenas[0]!.framesInUse, base, `round ${i}: frames leaked`);
    }
    await host.start('r');
    await new Promise((res) => setTimeout(res, 300));
    await Promise.all([host.reboot('r'), host.pause('r')]);
    assert.equal(host.info('r').state, 'paused');
    const a = host.stats('r').instructions;
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(host.stats('r').instructions, a, 'a paused VM runs nothing');
    const twice = await Promise.allSettled([host.resume('r'), host.resume('r')]);
    assert.deepEqual(twice.map((x) => x.status), ['fulfilled', 'rejected'], 'the second resume finds it running');
  });
});

test('a machine that cannot be built fails start with its error and stays shutoff', async () => {
  await withHost({ pcpus: 1 }, async (host) => {
    host.define({ name: 'tiny', memory: '16M' });
    assert.equal(await code(host.start('tiny')), 'MEM_TOO_SMALL');
    const info = host.info('tiny');
    assert.equal(info.state, 'shutoff');
    assert.match(info.reason, /^failed: memory too small/);
  });
});

test('a disk attached read-write to a running VM cannot be attached to another; read-only sharing is allowed', async () => {
  await withHost({ pcpus: 1 }, async (host, dir) => {
    const disk = join(dir, 'shared.img');
    writeFileSync(disk, new Uint8Array(1024 * 1024));
    host.define({ ...bareMetalVm(dir, 'rw', idleProgram('a\n')), disks: [{ path: disk, readonly: false }] });
    host.define({ ...bareMetalVm(dir, 'ro1', idleProgram('b\n')), disks: [{ path: disk, readonly: true }] });
    host.define({ ...bareMetalVm(dir, 'ro2', idleProgram('c\n')), disks: [{ path: disk, readonly: true }] });
    await host.start('rw');
    assert.equal(await code(host.start('ro1')), 'DISK_IN_USE');
    assert.equal(host.info('ro1').state, 'shutoff');
    await host.destroy('rw');
    await host.start('ro1');
    await host.start('ro2');
    assert.equal(await code(host.start('rw')), 'DISK_IN_USE');
    await host.destroy('ro1');
    await host.destroy('ro2');
    await host.start('rw');
    assert.equal(host.info('rw').state, 'running');
  });
});

test('a running VM has a domain id, stable while it runs and never reused; none when stopped', async () => {
  await withHost({ pcpus: 1 }, async (host, dir) => {
    host.define(bareMetalVm(dir, 'a', idleProgram('a\n')));
    host.define(bareMetalVm(dir, 'b', idleProgram('b\n')));
    assert.equal(host.info('a').id, null);
    const a1 = (await host.start('a')).id!;
    const b1 = (await host.start('b')).id!;
    assert.ok(a1 >= 1 && b1 > a1);
    await host.pause('a');
    assert.equal(host.info('a').id, a1, 'pause keeps the id');
    await host.destroy('a');
    assert.equal(host.info('a').id, null);
    assert.equal(host.info('b').id, b1, 'another VM stopping does not renumber');
    const a2 = (await host.start('a')).id!;
    assert.ok(a2 > b1, 'ids are not reused');
  });
});

test('closing the host ends a shutdown that is still waiting for its guest (no verb is left hanging)', async () => {
  await withHost({ pcpus: 1 }, async (host, dir) => {
    host.define(bareMetalVm(dir, 'deaf', idleProgram('ignores the power key\n')));
    await host.start('deaf');
    const pending = host.shutdown('deaf', { timeoutMs: 120000 });
    await new Promise((r) => setTimeout(r, 200));
    await host.close();
    const info = await pending;
    assert.equal(info.state, 'shutoff');
    assert.equal(info.reason, 'daemon-stop');
  });
});
