// The recorded runs of test suites that others wrote (scripts/suites/: the Go standard library's
// tests, busybox's testsuite), each run under qemu-riscv64-static and under rvisor: the result
// files in test/suites/ must be well-formed, and every test that passes under QEMU must pass under
// rvisor except those listed, each with a reason, in test/suites/known-gaps.json. A listed test
// that no longer is a gap fails too, so that the list shrinks as rvisor catches up. Runs no
// emulator: re-run the suites with scripts/suites/go-std.mjs and scripts/suites/busybox.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

const DIR = join(ROOT, 'test', 'suites');
const OUTCOMES = new Set(['pass', 'fail', 'skip', 'untested', 'running', 'absent']);

interface Rec { qemu: string; rvisor: string; qemuDetail?: string; rvisorDetail?: string }
interface Result {
  suite: string; qemuVersion: string; rvisorCommit: string; runs: Record<string, unknown>;
  tests: Record<string, Rec>; go?: string; package?: string; busybox?: string;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function resultFiles(): string[] {
  const files: string[] = [];
  const go = join(DIR, 'go');
  if (existsSync(go)) for (const f of readdirSync(go).sort()) if (f.endsWith('.json')) files.push(join(go, f));
  if (existsSync(join(DIR, 'busybox.json'))) files.push(join(DIR, 'busybox.json'));
  return files;
}

const files = resultFiles();
const results = files.map((f) => readJson<Result>(f));
const known = readJson<Record<string, Record<string, string>>>(join(DIR, 'known-gaps.json'));

test('suites: result files are present and well-formed', () => {
  assert.ok(files.some((f) => f.endsWith('busybox.json')), 'test/suites/busybox.json is missing');
  assert.ok(files.some((f) => f.includes(`${join('suites', 'go')}`)), 'no test/suites/go/*.json');
  const suites = new Set<string>();
  results.forEach((r, i) => {
    const where = files[i];
    assert.equal(typeof r.suite, 'string', `${where}: suite`);
    assert.ok(!suites.has(r.suite), `${where}: suite ${r.suite} recorded twice`);
    suites.add(r.suite);
    assert.match(r.qemuVersion, /^qemu-riscv64 version /, `${where}: qemuVersion`);
    assert.match(r.rvisorCommit, /^[0-9a-f]{7,}(\+dirty)?$/, `${where}: rvisorCommit`);
    assert.equal(typeof r.runs, 'object', `${where}: runs`);
    if (r.suite.startsWith('go/')) {
      assert.equal(r.suite, `go/${r.package}`, `${where}: suite and package disagree`);
      assert.ok(where.endsWith(`${r.package!.replaceAll('/', '_')}.json`), `${where}: file name is not the package's`);
      assert.match(r.go ?? '', /^go version go1\.\d+/, `${where}: go version`);
    } else {
      assert.equal(r.suite, 'busybox', `${where}: unknown suite`);
    }
    const names = Object.keys(r.tests);
    assert.ok(names.length > 0, `${where}: no tests recorded`);
    for (const n of names) {
      const t = r.tests[n];
      assert.ok(OUTCOMES.has(t.qemu), `${where}: ${n}: qemu outcome ${t.qemu}`);
      assert.ok(OUTCOMES.has(t.rvisor), `${where}: ${n}: rvisor outcome ${t.rvisor}`);
      assert.ok(!(t.qemu === 'absent' && t.rvisor === 'absent'), `${where}: ${n}: absent from both runs`);
    }
  });
});

test('suites: every test that passes under QEMU passes under rvisor, or is a listed known gap', () => {
  const missing: string[] = [];
  for (const r of results) {
    for (const [n, t] of Object.entries(r.tests)) {
      if (t.qemu === 'pass' && t.rvisor !== 'pass' && !known[r.suite]?.[n]) missing.push(`${r.suite}: ${n} (rvisor: ${t.rvisor})`);
    }
  }
  assert.deepEqual(missing, [], `${missing.length} test(s) pass under QEMU but not under rvisor and are not in test/suites/known-gaps.json`);
});

test('suites: every known gap is still a gap (remove the ones that now pass) and has a reason', () => {
  const bySuite = new Map(results.map((r) => [r.suite, r]));
  const stale: string[] = [];
  for (const [suite, list] of Object.entries(known)) {
    const r = bySuite.get(suite);
    for (const [n, reason] of Object.entries(list)) {
      assert.ok(typeof reason === 'string' && reason.trim() !== '', `${suite}: ${n}: no reason`);
      const t = r?.tests[n];
      if (!t) stale.push(`${suite}: ${n} (not in the results)`);
      else if (!(t.qemu === 'pass' && t.rvisor !== 'pass')) stale.push(`${suite}: ${n} (qemu ${t.qemu}, rvisor ${t.rvisor})`);
    }
  }
  assert.deepEqual(stale, [], `${stale.length} entr(y/ies) of test/suites/known-gaps.json are no longer gaps`);
});
