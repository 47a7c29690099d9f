#!/usr/bin/env node
// Compares a fresh run of the suites (result files in NEW_DIR, from SUITES_OUT=NEW_DIR) with the
// committed one (test/suites/): fails when QEMU's outcome of a test differs from the committed
// one (the recorded reference no longer holds), or when a test that passes under live QEMU does
// not pass under rvisor and is not in test/suites/known-gaps.json. rvisor's other changes (a
// known gap that now passes, ...) are listed. Suites in NEW_DIR only are compared; tests whose
// timing decides their outcome can flap: the list says which.
//
//   node scripts/suites/compare.mjs NEW_DIR
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readJson } from './lib.mjs';

const newDir = process.argv[2];
if (!newDir) { console.error('usage: compare.mjs NEW_DIR'); process.exit(2); }
const oldDir = join(ROOT, 'test', 'suites');
const known = readJson(join(oldDir, 'known-gaps.json'));
const rel = [];
if (existsSync(join(newDir, 'go'))) for (const f of readdirSync(join(newDir, 'go')).sort()) if (f.endsWith('.json')) rel.push(join('go', f));
if (existsSync(join(newDir, 'busybox.json'))) rel.push('busybox.json');
let bad = 0;
for (const f of rel) {
  const n = readJson(join(newDir, f));
  const o = existsSync(join(oldDir, f)) ? readJson(join(oldDir, f)) : { tests: {} };
  for (const [test, rec] of Object.entries(n.tests)) {
    const was = o.tests[test];
    if ((was?.qemu ?? 'absent') !== rec.qemu) {
      bad++;
      console.log(`QEMU changed   ${n.suite}: ${test}: ${was?.qemu ?? 'absent'} -> ${rec.qemu}`);
    }
    if (rec.qemu === 'pass' && rec.rvisor !== 'pass' && !known[n.suite]?.[test]) {
      bad++;
      console.log(`new gap        ${n.suite}: ${test}: rvisor ${rec.rvisor}`);
    } else if ((was?.rvisor ?? 'absent') !== rec.rvisor) {
      console.log(`rvisor changed ${n.suite}: ${test}: ${was?.rvisor ?? 'absent'} -> ${rec.rvisor}`);
    }
  }
}
console.log(`compare: ${rel.length} result file(s), ${bad} difference(s) that fail the check`);
process.exit(bad ? 1 : 0);
