#!/usr/bin/env node
// Golden-file recorder/checker for guest program suites (busybox, go).
//
//   node guest/busybox/golden.mjs SUITE.mjs            re-run every recorded case under QEMU and
//                                                      fail on any difference from the golden JSON
//   node guest/busybox/golden.mjs SUITE.mjs --write    (re)generate the inputs and the golden JSON
//
// A suite module exports: name, binary (repo-relative .gz), golden (repo-relative JSON path),
// inputsDir (repo-relative, may be undefined), env (the guest environment), mtime (seconds, given
// to every file the case creates), makeInputs() -> {name: Buffer}, and cases: an array of
//   { name, files?: [{path, text? | input? | dir?: true, mode?}], steps: [{args, stdin? | stdinInput?,
//     normalize?: 'ls-l', saveStdout?: path}] }
// The golden JSON holds the same cases with an `expect` ({status, stdout | stdoutBase64 |
// stdoutSha256+stdoutBytes}) added to every step; test/busybox.test.ts and test/go.test.ts read it
// and run the same steps under rvisor.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const QEMU = process.env.QEMU ?? 'qemu-riscv64-static';
/** Outputs up to this size that are valid UTF-8 are stored verbatim, larger ones as a hash. */
const INLINE_LIMIT = 4096;

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

/** Returns a list of differences between an expectation and an observed result. */
export function compare(expect, status, stdout) {
  const diffs = [];
  if (expect.status !== status) diffs.push(`status ${status}, expected ${expect.status}`);
  const got = describe(status, stdout);
  for (const k of ['stdout', 'stdoutBase64', 'stdoutBytes', 'stdoutSha256']) {
    if (expect[k] !== got[k]) {
      const show = (v) => (v === undefined ? '(none)' : JSON.stringify(v).slice(0, 400));
      diffs.push(`${k}: got ${show(got[k])}, expected ${show(expect[k])}`);
    }
  }
  return diffs;
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

function runQemu(binary, step, cwd, env, inputsDir) {
  const stdin = step.stdinInput !== undefined ? readFileSync(join(inputsDir, step.stdinInput)) : (step.stdin ?? '');
  const r = spawnSync(QEMU, [binary, ...step.args], {
    cwd, env, input: stdin, maxBuffer: 256 * 1024 * 1024, timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? 128 + (constants.signals[r.signal] ?? 0), stdout: r.stdout, stderr: r.stderr.toString() };
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
    console.error(`${QEMU} not found: cannot record or check golden output`);
    process.exit(2);
  }
  const qemuVersion = check.stdout.toString().split('\n')[0];

  const goldenPath = join(ROOT, suite.golden);
  const inputsDir = suite.inputsDir ? join(ROOT, suite.inputsDir) : ROOT;
  if (write && suite.makeInputs) {
    mkdirSync(inputsDir, { recursive: true });
    for (const [name, data] of Object.entries(suite.makeInputs())) writeFileSync(join(inputsDir, name), data);
  }
  const golden = write ? undefined : JSON.parse(readFileSync(goldenPath, 'utf8'));
  const cases = write ? suite.cases : golden.cases;
  const env = write ? suite.env : golden.env;
  const mtime = write ? suite.mtime : golden.mtime;

  // Files the guest creates get mode 0666/0777 & ~umask: record and test with the usual 022.
  process.umask(0o022);
  const work = mkdtempSync(join(tmpdir(), `rvisor-golden-${suite.name}-`));
  const binDir = join(work, 'bin');
  mkdirSync(binDir);
  const binary = join(binDir, suite.binary.split('/').pop().replace(/\.gz$/, ''));
  writeFileSync(binary, gunzipSync(readFileSync(join(ROOT, suite.binary))));
  chmodSync(binary, 0o755);

  let failures = 0;
  const recorded = [];
  for (const c of cases) {
    const cwd = join(work, 'case-' + c.name);
    mkdirSync(cwd);
    setupFiles(cwd, c.files, inputsDir, mtime);
    const steps = [];
    for (const [i, step] of c.steps.entries()) {
      const r = runQemu(binary, step, cwd, env, inputsDir);
      const stdout = normalize(step.normalize, r.stdout);
      if (step.saveStdout) writeFileSync(join(cwd, step.saveStdout), r.stdout);
      if (write) {
        const { expect: _old, ...def } = step;
        steps.push({ ...def, expect: describe(r.status, stdout) });
        if (r.stderr && process.env.VERBOSE) console.error(`  ${c.name}[${i}] stderr: ${r.stderr.trim()}`);
      } else {
        const diffs = compare(step.expect, r.status, stdout);
        if (diffs.length) {
          failures++;
          console.error(`FAIL ${c.name} step ${i} (${step.args.join(' ')}):\n  ${diffs.join('\n  ')}`);
          if (r.stderr) console.error(`  stderr: ${r.stderr.trim().slice(0, 500)}`);
        }
      }
    }
    recorded.push({ ...c, steps });
  }
  rmSync(work, { recursive: true, force: true });

  if (write) {
    const out = {
      suite: suite.name,
      binary: suite.binary,
      binarySha256: createHash('sha256').update(gunzipSync(readFileSync(join(ROOT, suite.binary)))).digest('hex'),
      recordedWith: qemuVersion,
      inputsDir: suite.inputsDir,
      env,
      mtime,
      cases: recorded,
    };
    writeFileSync(goldenPath, JSON.stringify(out, null, 1) + '\n');
    const nSteps = recorded.reduce((n, c) => n + c.steps.length, 0);
    console.log(`wrote ${suite.golden}: ${recorded.length} cases, ${nSteps} steps (${qemuVersion})`);
  } else {
    const sha = createHash('sha256').update(gunzipSync(readFileSync(join(ROOT, suite.binary)))).digest('hex');
    if (golden.binarySha256 !== sha) {
      failures++;
      console.error(`FAIL ${suite.binary} has sha256 ${sha}, the golden file was recorded with ${golden.binarySha256}`);
    }
    const nSteps = cases.reduce((n, c) => n + c.steps.length, 0);
    if (failures) {
      console.error(`${failures} difference(s) between ${suite.golden} and live QEMU`);
      process.exit(1);
    }
    console.log(`ok: ${cases.length} cases, ${nSteps} steps match ${suite.golden} under ${qemuVersion}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
