// Runs the busybox golden cases (test/golden/busybox/cases.json, recorded under qemu-riscv64-static
// by guest/busybox/regen.sh) under rvisor: one test per case, comparing exit status and stdout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { ROOT, readRepoFile, runRvisor, unpackGz } from './helpers.js';

interface FileSpec {
  path: string;
  text?: string;
  input?: string;
  dir?: boolean;
  mode?: number;
}
interface Expect {
  status: number;
  stdout?: string;
  stdoutBase64?: string;
  stdoutBytes?: number;
  stdoutSha256?: string;
}
interface Step {
  args: string[];
  stdin?: string;
  stdinInput?: string;
  normalize?: string;
  saveStdout?: string;
  expect: Expect;
}
interface Case {
  name: string;
  files?: FileSpec[];
  steps: Step[];
}
interface Golden {
  suite: string;
  binary: string;
  inputsDir?: string;
  env: Record<string, string>;
  mtime: number;
  cases: Case[];
}

const golden = JSON.parse(readRepoFile('test/golden/busybox/cases.json').toString('utf8')) as Golden;
const inputsDir = join(ROOT, golden.inputsDir ?? '.');
const STEP_TIMEOUT_MS = 300_000;

/** Same normalization as guest/busybox/golden.mjs: `ls -l` without links/owner/group/dir sizes. */
function normalizeLsL(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || /^total \d+$/.test(line)) continue;
    const f = line.split(/\s+/);
    if (f.length < 9 || !/^[-dlcbps][-rwxsStT]{9}/.test(f[0] ?? '')) {
      out.push(line);
      continue;
    }
    const size = (f[0] ?? '').startsWith('d') ? '-' : f[4];
    out.push([f[0], size, f[5], f[6], f[7], f.slice(8).join(' ')].join(' '));
  }
  return out.join('\n') + '\n';
}

function normalize(kind: string | undefined, buf: Buffer): Buffer {
  if (kind === undefined) return buf;
  if (kind === 'ls-l') return Buffer.from(normalizeLsL(buf.toString('utf8')));
  throw new Error(`unknown normalization ${kind}`);
}

/** Mirrors golden.mjs's describe(): how an observed stdout would have been recorded. */
function describeOutput(status: number | null, stdout: Buffer): Expect {
  const st = status ?? -1;
  if (stdout.length <= 4096 && Buffer.from(stdout.toString('utf8'), 'utf8').equals(stdout)) {
    return { status: st, stdout: stdout.toString('utf8') };
  }
  if (stdout.length <= 256) return { status: st, stdoutBase64: stdout.toString('base64') };
  return { status: st, stdoutBytes: stdout.length, stdoutSha256: createHash('sha256').update(stdout).digest('hex') };
}

function setupFiles(dir: string, files: FileSpec[] | undefined, mtime: number): void {
  const made: string[] = [];
  for (const f of files ?? []) {
    const p = join(dir, f.path);
    if (f.dir) {
      mkdirSync(p, { recursive: true });
      chmodSync(p, f.mode ?? 0o755);
    } else {
      mkdirSync(dirname(p), { recursive: true });
      if (f.input !== undefined) copyFileSync(join(inputsDir, f.input), p);
      else writeFileSync(p, f.text ?? '');
      chmodSync(p, f.mode ?? 0o644);
    }
    made.push(p);
  }
  made.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const p of made) utimesSync(p, mtime, mtime);
  utimesSync(dir, mtime, mtime);
}

/** The guest environment: the recorded one, plus RVISOR_* / NODE_* settings for the emulator. */
function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...golden.env };
  for (const [k, v] of Object.entries(process.env)) if (/^(RVISOR|NODE)_/.test(k)) env[k] = v;
  return env;
}

// Files the guest creates get mode 0666/0777 & ~umask: the golden files were recorded with 022.
process.umask(0o022);
const binary = unpackGz(golden.binary);
const casesRoot = mkdtempSync(join(tmpdir(), 'rvisor-busybox-cases-'));

for (const c of golden.cases) {
  test(`busybox ${c.name}`, { timeout: STEP_TIMEOUT_MS * c.steps.length + 10_000 }, () => {
    const cwd = join(casesRoot, c.name);
    mkdirSync(cwd);
    setupFiles(cwd, c.files, golden.mtime);
    for (const [i, step] of c.steps.entries()) {
      const input = step.stdinInput !== undefined ? readFileSync(join(inputsDir, step.stdinInput)) : (step.stdin ?? '');
      const r = runRvisor(['exec', binary, ...step.args], { input, cwd, env: environment(), timeoutMs: STEP_TIMEOUT_MS });
      const what = `step ${i}: busybox ${step.args.join(' ')}`;
      assert.equal(r.signal, null, `${what}: rvisor killed by ${r.signal}\nstderr: ${r.stderr.slice(0, 2000)}`);
      if (step.saveStdout !== undefined) writeFileSync(join(cwd, step.saveStdout), r.stdout);
      const got = describeOutput(r.status, normalize(step.normalize, r.stdout));
      if (got.stdout === undefined && r.stdout.length > 0) writeFileSync(join(cwd, `.actual-stdout-${i}`), r.stdout);
      assert.deepEqual(got, step.expect, `${what}\nstderr: ${r.stderr.slice(0, 2000)}`);
    }
  });
}
