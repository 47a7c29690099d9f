#!/usr/bin/env node
// The one runner of the guest program suites (busybox, go): the recorder/checker below runs their
// cases under QEMU, and test/golden-suite.ts runs the very same cases with the very same code
// under rvisor.
//
//   node guest/busybox/golden.mjs SUITE.mjs            re-run every case of SUITE.mjs under live
//                                                      QEMU and fail on any difference from the
//                                                      golden JSON, or on a golden JSON that is
//                                                      stale (cases, inputs, binary or environment
//                                                      differ from SUITE.mjs)
//   node guest/busybox/golden.mjs SUITE.mjs --write    (re)generate the inputs and the golden JSON
//
// One case list: the cases are SUITE.mjs's, always. The golden JSON repeats each case's definition
// next to its results only so that a reader sees them together; staleness() refuses a golden file
// whose definitions are not exactly SUITE.mjs's.
//
// A suite module exports: name, binary (repo-relative .gz), golden (repo-relative JSON path),
// inputsDir (repo-relative, may be undefined), env (the guest environment), mtime (seconds, given
// to every file the case creates), makeInputs() -> {name: Buffer} (optional), and cases: an array of
//   { name, files?: [{path, text? | input? | dir?: true, mode?}], steps: [{args, stdin? | stdinInput?,
//     normalize?: 'ls-l', saveStdout?: path}] }
// The golden JSON holds the same cases with an `expect` ({status, stdout | stdoutBase64 |
// stdoutSha256+stdoutBytes}) added to every step.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const QEMU = process.env.QEMU ?? 'qemu-riscv64-static';
/** Outputs up to this size that are valid UTF-8 are stored verbatim, larger ones as a hash. */
const INLINE_LIMIT = 4096;

/** Loads a suite module (SUITE.mjs, a path relative to the repository or absolute). */
export async function loadSuite(suitePath) {
  return import(pathToFileURL(resolve(ROOT, suitePath)).href);
}

/** Normalizes `ls -l` output so that it does not depend on the file system or the user:
 *  drops the "total" line, link counts, owner and group, and the size of directories. */
export function normalizeLsL(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || /^total \d+$/.test(line)) continue;
    const f = line.split(/\s+/);
    if (f.length < 9 || !/^[-dlcbps][-rwxsStT]{9}/.test(f[0])) { out.push(line); continue; }
    const size = f[0].startsWith('d') ? '-' : f[4];
    out.push([f[0], size, f[5], f[6], f[7], f.slice(8).join(' ')].join(' '));
  }
  return out.join('\n') + '\n';
}

export function normalize(kind, buf) {
  if (!kind) return buf;
  if (kind === 'ls-l') return Buffer.from(normalizeLsL(buf.toString('utf8')));
  throw new Error(`unknown normalization ${kind}`);
}

function isUtf8(buf) {
  return Buffer.from(buf.toString('utf8'), 'utf8').equals(buf);
}

/** The `expect` record for an observed result. */
export function describe(status, stdout) {
  if (stdout.length <= INLINE_LIMIT && isUtf8(stdout)) return { status, stdout: stdout.toString('utf8') };
  if (stdout.length <= 256) return { status, stdoutBase64: stdout.toString('base64') };
  return {
    status,
    stdoutBytes: stdout.length,
    stdoutSha256: createHash('sha256').update(stdout).digest('hex'),
  };
}

/** Where two texts first differ, for a failure message. */
function firstDifference(expected, actual) {
  const e = expected.split('\n'), a = actual.split('\n');
  let i = 0;
  while (i < e.length && i < a.length && e[i] === a[i]) i++;
  return `first difference at line ${i + 1}: expected ${JSON.stringify(e[i] ?? '(end)')}, got ${JSON.stringify(a[i] ?? '(end)')}`;
}

/** Returns a list of differences between an expectation and an observed result. */
export function compare(expect, status, stdout) {
  const diffs = [];
  if (expect.status !== status) diffs.push(`status ${status}, expected ${expect.status}`);
  const got = describe(status, stdout);
  for (const k of ['stdout', 'stdoutBase64', 'stdoutBytes', 'stdoutSha256']) {
    if (expect[k] !== got[k]) {
      const show = (v) => (v === undefined ? '(none)' : JSON.stringify(v).slice(0, 400));
      diffs.push(`${k}: got ${show(got[k])}, expected ${show(expect[k])}` +
        (k === 'stdout' && typeof expect[k] === 'string' && typeof got[k] === 'string' ? `; ${firstDifference(expect[k], got[k])}` : ''));
    }
  }
  return diffs;
}

/** A case without the recorded results: what SUITE.mjs defines. */
export function definition(c) {
  return { ...c, steps: c.steps.map(({ expect: _e, ...step }) => step) };
}

/** Why a golden JSON does not belong to the suite as it is now (empty when it does): the case
 *  list, each case's definition, the environment, mtime, inputs directory, the binary and the
 *  generated input files must all be what the suite defines. */
export function staleness(suite, golden) {
  const problems = [];
  const same = (a, b) => isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? null)), JSON.parse(JSON.stringify(b ?? null)));
  if (!same(golden.env, suite.env)) problems.push(`env differs from ${suite.name}'s cases module`);
  if (golden.mtime !== suite.mtime) problems.push(`mtime ${golden.mtime} differs from the cases module's ${suite.mtime}`);
  if (golden.binary !== suite.binary) problems.push(`binary ${golden.binary} differs from the cases module's ${suite.binary}`);
  if ((golden.inputsDir ?? null) !== (suite.inputsDir ?? null)) problems.push('inputsDir differs from the cases module');
  const sha = createHash('sha256').update(gunzipSync(readFileSync(join(ROOT, suite.binary)))).digest('hex');
  if (golden.binarySha256 !== sha) problems.push(`${suite.binary} has sha256 ${sha}, the golden file was recorded with ${golden.binarySha256}`);
  const recorded = new Map(golden.cases.map((c) => [c.name, c]));
  const defined = new Set(suite.cases.map((c) => c.name));
  if (defined.size !== suite.cases.length) problems.push('the cases module names a case twice');
  for (const c of suite.cases) {
    const g = recorded.get(c.name);
    if (!g) problems.push(`case ${c.name} has no recorded result`);
    else if (!same(definition(g), c)) problems.push(`case ${c.name} was recorded with another definition`);
  }
  for (const name of recorded.keys()) if (!defined.has(name)) problems.push(`recorded case ${name} is not in the cases module`);
  if (!same(golden.cases.map((c) => c.name), suite.cases.map((c) => c.name)) && problems.length === 0) {
    problems.push('the recorded cases are in another order');
  }
  if (suite.makeInputs) {
    for (const [name, data] of Object.entries(suite.makeInputs())) {
      const p = join(ROOT, suite.inputsDir, name);
      if (!existsSync(p) || !readFileSync(p).equals(Buffer.from(data))) problems.push(`input ${suite.inputsDir}/${name} differs from what makeInputs() generates`);
    }
  }
  return problems.map((p) => `${suite.golden}: ${p} (regenerate with guest/${suite.name}/regen.sh --write)`);
}

/** Creates the case's files in DIR (modes explicit, mtimes fixed). */
export function setupFiles(dir, files, inputsDir, mtime) {
  const made = [];
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
  // Files first, then directories from the deepest up, then the case directory itself.
  const byDepth = made.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const p of byDepth) utimesSync(p, mtime, mtime);
  utimesSync(dir, mtime, mtime);
}

/** Unpacks the suite's binary into DIR and returns its path. */
export function unpackBinary(suite, dir) {
  const binary = join(dir, suite.binary.split('/').pop().replace(/\.gz$/, ''));
  writeFileSync(binary, gunzipSync(readFileSync(join(ROOT, suite.binary))));
  chmodSync(binary, 0o755);
  return binary;
}

/** Runs one case in the fresh directory CWD: creates its files, then each step with
 *  `run(binary, args, {cwd, env, input})` -> {status, stdout: Buffer, stderr: string}, where a
 *  program killed by a signal has status 128 + the signal number. Returns per step the status,
 *  the normalized stdout and stderr. */
export function runCase(suite, c, { binary, cwd, run }) {
  const inputsDir = suite.inputsDir ? join(ROOT, suite.inputsDir) : ROOT;
  setupFiles(cwd, c.files, inputsDir, suite.mtime);
  const results = [];
  for (const step of c.steps) {
    const input = step.stdinInput !== undefined ? readFileSync(join(inputsDir, step.stdinInput)) : (step.stdin ?? '');
    const r = run(binary, step.args, { cwd, env: { ...suite.env }, input });
    if (step.saveStdout) writeFileSync(join(cwd, step.saveStdout), r.stdout);
    results.push({ status: r.status, stdout: normalize(step.normalize, r.stdout), stderr: r.stderr });
  }
  return results;
}

/** The status a shell reports: the exit code, or 128 + the number of the signal that killed it. */
export function shellStatus(r) {
  return r.status ?? 128 + (constants.signals[r.signal] ?? 0);
}

function runQemu(binary, args, { cwd, env, input }) {
  const r = spawnSync(QEMU, [binary, ...args], { cwd, env, input, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: shellStatus(r), stdout: r.stdout, stderr: r.stderr.toString() };
}

async function main() {
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const suitePath = args.find((a) => !a.startsWith('--'));
  if (!suitePath) {
    console.error('usage: golden.mjs SUITE.mjs [--write]');
    process.exit(2);
  }
  const suite = await import(pathToFileURL(resolve(suitePath)).href);
  const check = spawnSync(QEMU, ['--version']);
  if (check.error) {
    console.error(`${QEMU} not found: cannot record or check golden output (apt-get install qemu-user-static)`);
    process.exit(2);
  }
  const qemuVersion = check.stdout.toString().split('\n')[0];

  const goldenPath = join(ROOT, suite.golden);
  if (write && suite.makeInputs) {
    const inputsDir = join(ROOT, suite.inputsDir);
    mkdirSync(inputsDir, { recursive: true });
    for (const [name, data] of Object.entries(suite.makeInputs())) writeFileSync(join(inputsDir, name), data);
  }
  const golden = write ? undefined : JSON.parse(readFileSync(goldenPath, 'utf8'));
  let failures = 0;
  if (golden) {
    for (const p of staleness(suite, golden)) {
      failures++;
      console.error(`STALE ${p}`);
    }
  }
  const expected = new Map((golden?.cases ?? []).map((c) => [c.name, c]));

  // Files the guest creates get mode 0666/0777 & ~umask: record and test with the usual 022.
  process.umask(0o022);
  const work = mkdtempSync(join(tmpdir(), `rvisor-golden-${suite.name}-`));
  const binDir = join(work, 'bin');
  mkdirSync(binDir);
  const binary = unpackBinary(suite, binDir);

  const recorded = [];
  for (const c of suite.cases) {
    const cwd = join(work, 'case-' + c.name);
    mkdirSync(cwd);
    const results = runCase(suite, c, { binary, cwd, run: runQemu });
    if (write) {
      recorded.push({ ...c, steps: c.steps.map((step, i) => ({ ...step, expect: describe(results[i].status, results[i].stdout) })) });
      continue;
    }
    const g = expected.get(c.name);
    if (!g) continue; // reported as stale
    results.forEach((r, i) => {
      const step = g.steps[i];
      const diffs = step ? compare(step.expect, r.status, r.stdout) : ['no recorded step'];
      if (diffs.length) {
        failures++;
        console.error(`FAIL ${c.name} step ${i} (${c.steps[i].args.join(' ')}):\n  ${diffs.join('\n  ')}`);
        if (r.stderr) console.error(`  stderr: ${r.stderr.trim().slice(0, 500)}`);
      }
    });
  }
  rmSync(work, { recursive: true, force: true });

  const nSteps = suite.cases.reduce((n, c) => n + c.steps.length, 0);
  if (write) {
    const out = {
      suite: suite.name,
      binary: suite.binary,
      binarySha256: createHash('sha256').update(gunzipSync(readFileSync(join(ROOT, suite.binary)))).digest('hex'),
      recordedWith: qemuVersion,
      inputsDir: suite.inputsDir,
      env: suite.env,
      mtime: suite.mtime,
      cases: recorded,
    };
    writeFileSync(goldenPath, JSON.stringify(out, null, 1) + '\n');
    console.log(`wrote ${suite.golden}: ${recorded.length} cases, ${nSteps} steps (${qemuVersion})`);
    return;
  }
  if (failures) {
    console.error(`${failures} difference(s) between ${suite.golden}, ${suitePath} and live QEMU`);
    process.exit(1);
  }
  console.log(`ok: ${suite.cases.length} cases, ${nSteps} steps of ${suitePath} match ${suite.golden} under ${qemuVersion}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
