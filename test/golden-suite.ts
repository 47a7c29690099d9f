// Runs a guest program suite (guest/busybox/cases.mjs, guest/go/cases.mjs) under rvisor with the
// same runner that records and re-checks it under QEMU (guest/busybox/golden.mjs): one case list
// (the suite module's), one way to create files, feed stdin and normalize output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runRvisor } from './helpers.js';

export interface Expect {
  status: number;
  stdout?: string;
  stdoutBase64?: string;
  stdoutBytes?: number;
  stdoutSha256?: string;
}
export interface Step {
  args: string[];
  stdin?: string;
  stdinInput?: string;
  normalize?: string;
  saveStdout?: string;
  expect?: Expect;
}
export interface Case {
  name: string;
  files?: { path: string; text?: string; input?: string; dir?: boolean; mode?: number }[];
  steps: Step[];
}
export interface Suite {
  name: string;
  binary: string;
  golden: string;
  inputsDir?: string;
  env: Record<string, string>;
  mtime: number;
  cases: Case[];
  makeInputs?(): Record<string, Uint8Array>;
}
export interface Golden {
  suite: string;
  binary: string;
  binarySha256: string;
  inputsDir?: string;
  env: Record<string, string>;
  mtime: number;
  cases: Case[];
}
interface RunResult { status: number; stdout: Buffer; stderr: string }
type Runner = (binary: string, args: string[], opts: { cwd: string; env: Record<string, string>; input: string | Buffer }) => RunResult;
/** What guest/busybox/golden.mjs exports. */
export interface GoldenRunner {
  loadSuite(path: string): Promise<Suite>;
  staleness(suite: Suite, golden: Golden): string[];
  compare(expect: Expect, status: number, stdout: Buffer): string[];
  runCase(suite: Suite, c: Case, opts: { binary: string; cwd: string; run: Runner }): { status: number; stdout: Buffer; stderr: string }[];
  unpackBinary(suite: Suite, dir: string): string;
  shellStatus(r: { status: number | null; signal: NodeJS.Signals | null }): number;
}

export const runner = (await import(pathToFileURL(join(ROOT, 'guest', 'busybox', 'golden.mjs')).href)) as GoldenRunner;

/** Loads a suite (path relative to the repository) and its golden file. */
export async function loadSuite(path: string): Promise<{ suite: Suite; golden: Golden }> {
  const suite = await runner.loadSuite(path);
  const golden = JSON.parse(readFileSync(join(ROOT, suite.golden), 'utf8')) as Golden;
  return { suite, golden };
}

/** Declares the tests of a suite: its golden file is current, and every case of the suite
 *  module behaves under rvisor as it did under QEMU. */
export function goldenSuiteTests(suite: Suite, golden: Golden, stepTimeoutMs: number): void {
  test(`${suite.name}: ${suite.golden} holds exactly the cases, inputs and binary of the suite module`, () => {
    assert.deepEqual(runner.staleness(suite, golden), []);
  });

  // The guest environment is the suite's; RVISOR_* / NODE_* settings reach the emulator.
  const hostSettings: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (/^(RVISOR|NODE)_/.test(k) && v !== undefined) hostSettings[k] = v;
  const rvisor: Runner = (binary, args, { cwd, env, input }) => {
    const r = runRvisor(['exec', binary, ...args], { input, cwd, env: { ...env, ...hostSettings }, timeoutMs: stepTimeoutMs });
    assert.equal(r.signal === 'SIGTERM' && r.status === null, false, `rvisor ${args.join(' ')}: timed out after ${stepTimeoutMs} ms`);
    return { status: runner.shellStatus(r), stdout: r.stdout, stderr: r.stderr };
  };

  // Files the guest creates get mode 0666/0777 & ~umask: the golden files were recorded with 022.
  process.umask(0o022);
  const work = mkdtempSync(join(tmpdir(), `rvisor-${suite.name}-cases-`));
  const binary = runner.unpackBinary(suite, work);
  const recorded = new Map(golden.cases.map((c) => [c.name, c]));
  for (const c of suite.cases) {
    test(`${suite.name} ${c.name}`, { timeout: stepTimeoutMs * c.steps.length + 10_000 }, () => {
      const g = recorded.get(c.name);
      assert.ok(g, `case ${c.name} has no recorded result in ${suite.golden}`);
      const cwd = join(work, `case-${c.name}`);
      mkdirSync(cwd);
      const results = runner.runCase(suite, c, { binary, cwd, run: rvisor });
      results.forEach((r, i) => {
        const expect = g.steps[i]?.expect;
        assert.ok(expect, `step ${i} has no recorded result`);
        const diffs = runner.compare(expect, r.status, r.stdout);
        assert.deepEqual(diffs, [], `step ${i}: ${suite.name} ${c.steps[i]!.args.join(' ')}\nstderr: ${r.stderr.slice(0, 2000)}`);
      });
    });
  }
}
