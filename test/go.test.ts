// Runs the statically linked Go program guest/go/gotest.gz under rvisor and compares its output
// with test/golden/go/cases.json (recorded under qemu-riscv64-static by guest/go/regen.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { readRepoFile, runRvisor, unpackGz } from './helpers.js';

interface FileSpec {
  path: string;
  text?: string;
  dir?: boolean;
  mode?: number;
}
interface Step {
  args: string[];
  stdin?: string;
  expect: { status: number; stdout?: string };
}
interface Case {
  name: string;
  files?: FileSpec[];
  steps: Step[];
}
interface Golden {
  binary: string;
  env: Record<string, string>;
  mtime: number;
  cases: Case[];
}

const golden = JSON.parse(readRepoFile('test/golden/go/cases.json').toString('utf8')) as Golden;
const STEP_TIMEOUT_MS = 600_000;

function setupFiles(dir: string, files: FileSpec[] | undefined, mtime: number): void {
  for (const f of files ?? []) {
    const p = join(dir, f.path);
    if (f.dir) {
      mkdirSync(p, { recursive: true });
      chmodSync(p, f.mode ?? 0o755);
    } else {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.text ?? '');
      chmodSync(p, f.mode ?? 0o644);
    }
    utimesSync(p, mtime, mtime);
  }
}

function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...golden.env };
  for (const [k, v] of Object.entries(process.env)) if (/^(RVISOR|NODE)_/.test(k)) env[k] = v;
  return env;
}

// Files the guest creates get mode 0666/0777 & ~umask: the golden files were recorded with 022.
process.umask(0o022);
const binary = unpackGz(golden.binary);
const casesRoot = mkdtempSync(join(tmpdir(), 'rvisor-go-cases-'));

for (const c of golden.cases) {
  test(`go ${c.name}`, { timeout: STEP_TIMEOUT_MS * c.steps.length + 10_000 }, () => {
    const cwd = join(casesRoot, c.name);
    mkdirSync(cwd);
    setupFiles(cwd, c.files, golden.mtime);
    for (const [i, step] of c.steps.entries()) {
      const r = runRvisor(['exec', binary, ...step.args], {
        input: step.stdin ?? '', cwd, env: environment(), timeoutMs: STEP_TIMEOUT_MS,
      });
      const what = `step ${i}: gotest ${step.args.join(' ')}`;
      assert.equal(r.signal, null, `${what}: rvisor killed by ${r.signal}\nstderr: ${r.stderr.slice(0, 2000)}`);
      // Line by line first, so that a failure shows the first differing line.
      const got = r.stdout.toString('utf8');
      const want = step.expect.stdout ?? '';
      const gl = got.split('\n');
      const wl = want.split('\n');
      for (let k = 0; k < Math.max(gl.length, wl.length); k++) {
        assert.equal(gl[k], wl[k], `${what}: stdout line ${k + 1} differs\nstderr: ${r.stderr.slice(0, 2000)}`);
      }
      assert.equal(r.status, step.expect.status, `${what}: exit status\nstderr: ${r.stderr.slice(0, 2000)}`);
    }
  });
}
