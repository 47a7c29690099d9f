// Shared helpers for tests that run guest programs through the rvisor CLI.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests compile to dist/test/, so two levels up from here). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'rvisor.js');

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** exec and run get the JIT settings of the test run's environment (RVISOR_JIT,
 *  RVISOR_JIT_THRESHOLD: CI runs the oracle suites with the JIT forced on) as flags, whatever
 *  environment the test gives the guest. */
export function withJitFlags(args: string[]): string[] {
  const mode = process.env.RVISOR_JIT, th = process.env.RVISOR_JIT_THRESHOLD;
  if ((args[0] !== 'exec' && args[0] !== 'run') || args.some((a) => a.startsWith('--jit')) || mode === undefined) return args;
  return [args[0], '--jit', mode, ...(th !== undefined ? ['--jit-threshold', th] : []), ...args.slice(1)];
}

/** Runs `node bin/rvisor.js ARGS…` and returns its exit status and output. */
export function runRvisor(
  args: string[],
  opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): RunResult {
  // A test that names RVISOR_JIT in the environment it gives is testing that variable: the run's
  // JIT settings are not added as flags over it (the environment reaches rvisor as given).
  const jitArgs = opts.env && 'RVISOR_JIT' in opts.env ? args : withJitFlags(args);
  const r: SpawnSyncReturns<Buffer> = spawnSync(process.execPath, [CLI, ...jitArgs], {
    input: opts.input ?? '',
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString() };
}

let scratch: string | undefined;
/** A per-process temporary directory for unpacked guest programs. */
export function scratchDir(): string {
  if (scratch === undefined) {
    scratch = mkdtempSync(join(tmpdir(), 'rvisor-test-'));
    // Tests run guests that drop root (chpst -u nobody) on the programs unpacked here: as on
    // Linux, they need search permission on the directory.
    chmodSync(scratch, 0o755);
  }
  return scratch;
}

/** Unpacks a gzip-compressed file from the repository (path relative to ROOT) into the scratch
 *  directory, makes it executable and returns its path. */
export function unpackGz(relPath: string): string {
  const out = join(scratchDir(), basename(relPath).replace(/\.gz$/, ''));
  writeFileSync(out, gunzipSync(readFileSync(join(ROOT, relPath))));
  chmodSync(out, 0o755);
  return out;
}

/** Reads a repository file (path relative to ROOT), gunzipping it when it ends in .gz. */
export function readRepoFile(relPath: string): Buffer {
  const data = readFileSync(join(ROOT, relPath));
  return relPath.endsWith('.gz') ? gunzipSync(data) : data;
}
