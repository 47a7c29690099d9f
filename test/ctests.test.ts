// C conformance programs (guest/ctests): each case of guest/ctests/cases.json runs under rvisor and
// must produce the stdout (and stderr where the case says so) and exit status recorded under
// qemu-riscv64-static (test/golden/ctests/NAME.json). A program killed by a signal counts as
// status 128 + signal number, as a shell reports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRepoFile, runRvisor, unpackGz } from './helpers.js';

interface Case {
  name: string; args: string[]; stdin?: string; stdinRepeat?: number; stdinTail?: string;
  checkStderr?: boolean; timeoutMs?: number;
  /** Recorded as root (raw sockets): under another user rvisor and Linux answer differently. */
  needsRoot?: boolean;
}
interface Cases { binary: string; env: Record<string, string>; cases: Case[] }
interface Golden { name: string; args: string[]; status: number; stdout: string; stderr?: string }

const manifest = JSON.parse(readRepoFile('guest/ctests/cases.json').toString('utf8')) as Cases;
let binary: string | undefined;

/** A readable account of where two texts first differ. */
function textDiff(what: string, expected: string, actual: string): string {
  const e = expected.split('\n'), a = actual.split('\n');
  let i = 0;
  while (i < e.length && i < a.length && e[i] === a[i]) i++;
  const lines = [`${what} differs from QEMU first at line ${i + 1} (expected ${e.length} lines, got ${a.length}):`];
  for (let k = Math.max(0, i - 3); k < i; k++) lines.push(`    ${e[k]}`);
  for (let k = i; k < Math.min(e.length, i + 4); k++) lines.push(`  - ${e[k]}`);
  for (let k = i; k < Math.min(a.length, i + 4); k++) lines.push(`  + ${a[k]}`);
  let more = 0;
  for (let k = i; k < Math.max(e.length, a.length); k++) if (e[k] !== a[k]) more++;
  lines.push(`  (${more} differing lines in all)`);
  return lines.join('\n');
}

const root = process.getuid?.() === 0;

for (const c of manifest.cases) {
  test(`ctests ${c.name}`, { skip: c.needsRoot && !root ? 'recorded as root; run the tests as root' : false }, () => {
    const golden = JSON.parse(readRepoFile(`test/golden/ctests/${c.name}.json`).toString('utf8')) as Golden;
    assert.deepEqual(golden.args, c.args, 'golden recorded with other arguments: run guest/ctests/regen.sh');
    binary ??= unpackGz(manifest.binary);
    const tmp = mkdtempSync(join(tmpdir(), `ctest-${c.name}-`));
    try {
      const args = c.args.map((a) => a.replaceAll('$TMP', tmp));
      const input = (c.stdin ?? '').repeat(c.stdinRepeat ?? 1) + (c.stdinTail ?? '');
      const r = runRvisor(['exec', binary, ...args], { input, cwd: tmp, env: manifest.env, timeoutMs: c.timeoutMs ?? 120_000 });
      const status = r.status ?? (r.signal ? 128 + constants.signals[r.signal] : -1);
      const stdout = r.stdout.toString('utf8');
      const problems: string[] = [];
      if (status !== golden.status) {
        problems.push(`exit status ${status}${r.signal ? ` (killed by ${r.signal})` : ''}, expected ${golden.status}`);
      }
      if (stdout !== golden.stdout) problems.push(textDiff('stdout', golden.stdout, stdout));
      if (c.checkStderr && r.stderr !== golden.stderr) problems.push(textDiff('stderr', golden.stderr ?? '', r.stderr));
      if (problems.length) {
        if (!c.checkStderr && r.stderr) problems.push(`stderr (last 1500 chars): ${r.stderr.slice(-1500)}`);
        assert.fail(`ctest ${c.args.join(' ')}:\n${problems.join('\n')}`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
