// `rvisor serve` and `rvisor vm` as a user runs them: the daemon in a child process on a temporary
// state dir (loopback TCP only), the CLI's table and --json output, a piped console session with
// the bundled guest, errors with their exit statuses, TCP with the token, a second daemon refused,
// and a clean stop on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRvisor } from './helpers.js';
import { startServe, until, vmIn, within } from './api-helpers.js';


test('rvisor serve + rvisor vm: define, list table and --json, start, piped console, stats, schedinfo, autostart, pause, errors, undefine; SIGTERM stops', { timeout: 240_000 }, async (t) => {
  const s = await startServe(t, ['--listen', '127.0.0.1:0']);
  const vm = vmIn(s.dir);
  assert.match(s.out(), new RegExp(`API on unix:${s.dir}/rvisor\\.sock`));
  const url = /API on (http:\/\/127\.0\.0\.1:\d+)/.exec(s.out())![1]!;

  // A definition whose disk path is relative to the definition file's folder.
  mkdirSync(join(s.dir, 'defs'));
  writeFileSync(join(s.dir, 'defs', 'disk.img'), Buffer.alloc(1024 * 1024));
  writeFileSync(join(s.dir, 'defs', 'web.json'), JSON.stringify({ name: 'web', memory: '64M', disks: [{ path: 'disk.img', readonly: true }] }));
  let r = vm(['define', join(s.dir, 'defs', 'web.json')], { cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.out, `VM web defined from ${join(s.dir, 'defs', 'web.json')}\n`);
  assert.deepEqual(JSON.parse(vm(['info', 'web', '--json']).out).definition.disks, [{ path: join(s.dir, 'defs', 'disk.img'), readonly: true }]);

  assert.equal(vm(['list']).out, ' Id   Name   State\n------------------------\n');
  assert.equal(vm(['list', '--all']).out, ' Id   Name   State\n------------------------\n -    web    shutoff\n');
  const listed = JSON.parse(vm(['list', '--all', '--json']).out);
  assert.equal(listed.length, 1);
  assert.deepEqual([listed[0].name, listed[0].state, listed[0].definition.memory], ['web', 'shutoff', '64M']);
  assert.match(vm(['info', 'web']).out, /^Name: +web\nState: +shutoff \(defined\)\n/);

  r = vm(['start', 'web']);
  assert.deepEqual([r.status, r.out], [0, 'VM web started\n'], r.stderr);
  assert.equal(vm(['list']).out, ' Id   Name   State\n------------------------\n 1    web    running\n');

  // Console from a pipe: wait for the shell (empty stdin, short linger), then drive it.
  await until(() => vm(['console', 'web', '--linger', '0.2']).out.includes('rvisor guest ready'), 90_000, 'the guest reaches its shell');
  r = vm(['console', 'web', '--linger', '1'], { input: 'echo cli-$((40+2))\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /cli-42/);

  const stats = JSON.parse(vm(['stats', 'web', '--json']).out);
  assert.equal(stats.name, 'web');
  assert.ok(stats.instructions > 0 && stats.cpuTimeNs > 0, JSON.stringify(stats));
  assert.match(vm(['stats', 'web']).out, /^Name: +web\nState: +running\nCPU time: +\d+\.\d{3} s\nInstructions: +\d+\n/);

  assert.equal(vm(['schedinfo', 'web', '--weight', '512', '--cap', '50']).out, 'weight : 512\ncap    : 50\n');
  assert.equal(vm(['schedinfo', 'web']).out, 'weight : 512\ncap    : 50\n');
  // Memory controls, live, and the host's memory.
  assert.equal(vm(['memtune', 'web', '--limit', '48M', '--shares', '100']).out, 'reservation : 0\nlimit       : 48M\nshares      : 100\n');
  assert.equal(vm(['memtune', 'web', '--limit', 'none']).out, 'reservation : 0\nlimit       : none\nshares      : 100\n');
  r = vm(['memtune', 'web', '--reservation', '100G']);
  assert.equal(r.status, 18, 'BAD_DEFINITION: more than its memory');
  assert.match(vm(['stats', 'web']).out, /\nMemory controls: +reservation 0\.0 MiB, limit none, shares 100/);
  assert.match(vm(['nodeinfo']).out, /^pCPUs: +\d+\nVMs: +1 defined, 1 running/);
  assert.ok(JSON.parse(vm(['nodeinfo', '--json']).out).memory.hostMemBytes > 0);
  assert.equal(vm(['autostart', 'web']).out, 'VM web marked as autostarted\n');
  assert.equal(JSON.parse(vm(['info', 'web', '--json']).out).definition.autostart, true);
  assert.equal(vm(['autostart', 'web', '--disable']).out, 'VM web unmarked as autostarted\n');

  assert.equal(vm(['pause', 'web']).out, 'VM web paused\n');
  assert.equal(vm(['list']).out, ' Id   Name   State\n------------------------\n 1    web    paused\n');
  r = vm(['start', 'web']);
  assert.equal(r.status, 19, 'VM_STATE');
  assert.match(r.stderr, /^rvisor: cannot start VM web: it is paused/);
  assert.equal(vm(['resume', 'web']).out, 'VM web resumed\n');

  // Over TCP: the token from the state dir, from --token, or from $RVISOR_TOKEN.
  assert.match(vm(['--connect', url, 'list']).out, / 1 +web +running/);
  r = vm(['--connect', url, '--token', 'wrong', 'list']);
  assert.deepEqual([r.status, r.stderr], [21, 'rvisor: the bearer token is wrong\n']);
  r = vmIn('/nonexistent')(['--connect', url, 'list'], { env: { ...process.env, RVISOR_TOKEN: 'wrong' } });
  assert.equal(r.status, 21);

  assert.equal(vm(['destroy', 'web']).out, 'VM web destroyed\n');
  r = vm(['shutdown', 'web']);
  assert.equal(r.status, 19);

  // Errors: one line, the code's exit status.
  r = vm(['info', 'nope']);
  assert.deepEqual([r.status, r.stderr], [16, 'rvisor: no VM named "nope"\n']);
  r = vm(['define', join(s.dir, 'missing.json')]);
  assert.equal(r.status, 3);
  writeFileSync(join(s.dir, 'bad.json'), '{"name": "bad", ');
  assert.equal(vm(['define', join(s.dir, 'bad.json')]).status, 18);
  writeFileSync(join(s.dir, 'nodisk.json'), JSON.stringify({ name: 'nodisk', disks: [{ path: '/nonexistent/disk.img' }] }));
  r = vm(['define', join(s.dir, 'nodisk.json')]);
  assert.equal(r.status, 18, r.stderr);
  assert.match(r.stderr, /does not exist/);
  assert.equal(vm(['frobnicate', 'web']).status, 2);
  assert.equal(vm(['list', '--bogus']).status, 2);
  assert.equal(vm(['start']).status, 2);
  assert.equal(vm(['stats', 'web', '--paused']).status, 2);
  r = vmIn(join(s.dir, 'elsewhere'))(['list']);
  assert.equal(r.status, 22);
  assert.match(r.stderr, /^rvisor: cannot reach the rvisor host at .*: no such socket/);

  // A second daemon on the same state dir is refused and leaves the first one alone.
  const second = runRvisor(['serve', '--state-dir', s.dir, '--pcpus', '1'], { timeoutMs: 30_000 });
  assert.equal(second.status, 2);
  assert.match(second.stderr, /already listening/);
  assert.equal(vm(['undefine', 'web']).out, 'VM web undefined\n');
  assert.equal(vm(['list', '--all', '--json']).out, '[]\n');

  process.kill(s.pid, 'SIGTERM');
  assert.equal(await within(s.exited, 30_000, 'serve stops on SIGTERM'), 0);
  assert.match(s.out(), /SIGTERM: stopping\nrvisor: stopped\n$/);
  assert.ok(!existsSync(join(s.dir, 'rvisor.sock')), 'the socket is removed');
  assert.equal(s.err(), '');
});

test('rvisor serve stops on SIGINT with a running VM; rvisor vm --help and serve --help exit 0', { timeout: 120_000 }, async (t) => {
  const s = await startServe(t);
  const vm = vmIn(s.dir);
  const d = vm(['define', '-'], { input: '{"name": "run", "memory": "64M"}' });
  assert.deepEqual([d.status, d.out], [0, 'VM run defined from standard input\n'], d.stderr);
  assert.equal(vm(['start', 'run']).status, 0);
  process.kill(s.pid, 'SIGINT');
  // What serve printed is in the message if it does not stop in time.
  assert.equal(await within(s.exited, 30_000, 'serve stops on SIGINT').catch((e: Error) => {
    throw new Error(`${e.message}\nserve stdout: ${s.out()}\nserve stderr: ${s.err()}`);
  }), 0);
  assert.ok(!existsSync(join(s.dir, 'rvisor.sock')));
  const help = runRvisor(['vm', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout.toString(), /^usage: rvisor vm/);
  const shelp = runRvisor(['serve', '--help']);
  assert.equal(shelp.status, 0);
  assert.match(shelp.stdout.toString(), /^usage: rvisor serve/);
  assert.equal(runRvisor(['help', 'vm']).status, 0);
  assert.equal(runRvisor(['serve', '--pcpus', 'x']).status, 2);
  assert.equal(runRvisor(['serve', '--listen', 'nowhere']).status, 2);
});
