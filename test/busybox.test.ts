// The busybox suite (guest/busybox/cases.mjs) under rvisor: every case must give the exit status
// and stdout recorded under qemu-riscv64-static in test/golden/busybox/cases.json (re-checked
// against live QEMU by guest/busybox/regen.sh). The runner is guest/busybox/golden.mjs, the one
// QEMU runs under too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goldenSuiteTests, loadSuite, runner, type Suite } from './golden-suite.js';

const { suite, golden } = await loadSuite('guest/busybox/cases.mjs');
goldenSuiteTests(suite, golden, 300_000);

test('busybox: a case edited, added or dropped in cases.mjs, or a regenerated input, makes the golden file stale', () => {
  const edit = (f: (s: Suite) => void): string[] => {
    const copy = structuredClone({ ...suite, makeInputs: undefined }) as Suite;
    copy.makeInputs = suite.makeInputs;
    f(copy);
    return runner.staleness(copy, golden);
  };
  assert.deepEqual(edit(() => {}), []);
  assert.match(edit((s) => { s.cases[0]!.steps[0]!.args.push('--extra'); }).join('\n'), new RegExp(`case ${suite.cases[0]!.name} was recorded with another definition`));
  assert.match(edit((s) => { s.cases.push({ name: 'new-case', steps: [{ args: ['true'] }] }); }).join('\n'), /case new-case has no recorded result/);
  assert.match(edit((s) => { s.cases.pop(); }).join('\n'), /is not in the cases module/);
  assert.match(edit((s) => { s.env = { ...s.env, TZ: 'CET' }; }).join('\n'), /env differs/);
  assert.match(edit((s) => {
    const inputs = s.makeInputs!.bind(s);
    s.makeInputs = () => ({ ...inputs(), 'words.txt': new TextEncoder().encode('changed\n') });
  }).join('\n'), /input .*words\.txt differs from what makeInputs\(\) generates/);
});
