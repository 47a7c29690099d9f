// Lazy restore (docs/snapshot-format.md, issue #8): a restored VM starts with none of its stored
// pages copied and loads each from the snapshot file on first touch. Against `rvisor serve` with
// two pCPUs and busy VMs (so the restored VM moves between workers): the restore returns before
// the pages are loaded, the guest answers with its /tmp intact, a lazily restored VM saved again
// restores correctly, --prefault loads every page first, a managed save deleted by start stays
// readable, and a snapshot truncated under a lazily restored VM crashes that VM (naming the file),
// not the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, until, vmIn, within } from './api-helpers.js';

test('lazy restore against rvisor serve (2 pCPUs, busy neighbours): fast, intact, re-savable, prefault, truncated file', { timeout: 400_000 }, async (t) => {
  const serve = await startServe(t, ['--pcpus', '2']);
  const { dir } = serve;
  const run = vmIn(dir);
  const vm = (args: string[], input = '') => run(args, { input });
  const console_ = (name: string, input: string) => vm(['console', name, '--linger', '1'], input).out;
  const ok = (args: string[]) => {
    const r = vm(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.out;
  };
  /** Types cmd on name's console and waits until its scrollback matches want. */
  const ask = async (name: string, cmd: string, want: RegExp) => {
    console_(name, cmd + '\n');
    await until(() => want.test(console_(name, '')), 60_000, `${name} answers ${cmd}`);
  };
  const present = (name: string) => JSON.parse(ok(['stats', name, '--json'])).memory.presentBytes / 4096;
  const stored = (saveOut: string) => Number(/(\d+) of \d+ present pages stored/.exec(saveOut)![1]);

  for (const n of ['g', 'b1', 'b2']) {
    writeFileSync(join(dir, `${n}.json`), JSON.stringify({ name: n, memory: '128M' }));
    ok(['define', join(dir, `${n}.json`)]);
    ok(['start', n]);
  }
  for (const n of ['g', 'b1', 'b2']) await until(() => console_(n, '').includes('rvisor guest ready'), 150_000, `${n} reaches its shell`);
  // The neighbours keep both pCPUs busy from now on.
  for (const n of ['b1', 'b2']) console_(n, 'while true; do :; done &\n');
  assert.match(console_('g', 'echo lazy-$((6*7)) > /tmp/mark; cat /tmp/mark\n'), /lazy-42/);
  const file = join(dir, 'g.rvs');
  const saved = ok(['save', 'g', file]);
  const pages = stored(saved);
  assert.ok(pages > 500, saved);

  // Restored paused: nothing is loaded yet. Restored running: the call returns long before the
  // guest has touched its pages.
  ok(['restore', file, '--name', 'p', '--paused']);
  assert.equal(present('p'), 0);
  ok(['destroy', 'p']);
  ok(['restore', file, '--name', 'h']);
  const early = present('h');
  assert.ok(early < pages / 2, `${early} of ${pages} pages present right after a lazy restore`);
  t.diagnostic(`lazy restore: ${early} of ${pages} stored pages present right after the restore call`);
  await ask('h', 'cat /tmp/mark; ls -R / > /dev/null; echo done-$((2*21))', /lazy-42[\s\S]*done-42/);
  assert.match(ok(['info', 'h']), /State: +running/);

  // Saved again while (some of) its pages are still in the first file: the new file holds them.
  const file2 = join(dir, 'h.rvs');
  const saved2 = ok(['save', 'h', file2]);
  assert.ok(stored(saved2) >= pages * 0.9, `${saved2} (first save: ${pages} pages)`);
  ok(['restore', file2, '--name', 'k']);
  await ask('k', 'cat /tmp/mark; echo again-$((40+2))', /lazy-42[\s\S]*again-42/);
  ok(['destroy', 'k']);

  // The managed save that start deletes stays readable (the host holds it open).
  ok(['start', 'h']);
  await ask('h', 'cat /tmp/mark; echo managed-$((40+2))', /lazy-42[\s\S]*managed-42/);
  ok(['destroy', 'h']);

  // --prefault: every stored page is loaded before the call returns.
  ok(['restore', file, '--name', 'f', '--paused', '--prefault']);
  assert.ok(present('f') >= pages, `${present('f')} of ${pages} pages present after --prefault`);
  ok(['resume', 'f']);
  await ask('f', 'cat /tmp/mark', /lazy-42/);
  ok(['destroy', 'f']);

  // A snapshot truncated under a lazily restored VM: that VM crashes, naming the file; the
  // host and the other VMs go on.
  const cut = join(dir, 'cut.rvs');
  copyFileSync(file, cut);
  ok(['restore', cut, '--name', 'c', '--paused']);
  truncateSync(cut, 4096);
  ok(['resume', 'c']);
  await until(() => /State: +crashed/.test(vm(['info', 'c']).out), 60_000, 'c crashes');
  assert.match(ok(['info', 'c']), /cut\.rvs/);
  await ask('b1', 'echo alive-$((40+2))', /alive-42/);
  rmSync(cut);
  for (const n of ['b1', 'b2']) ok(['destroy', n]);
  process.kill(serve.pid, 'SIGTERM');
  await within(serve.exited, 20_000, 'serve stops on SIGTERM');
});
