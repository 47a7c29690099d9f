#!/usr/bin/env node
// Runs every case of cases.json with a runner command and writes one result file per case.
// Used by regen.sh with qemu-riscv64-static as the runner (the reference):
//   node record.mjs OUTDIR CTEST_BINARY RUNNER...
// Result: {name, args, status (exit code, or 128 + signal number), stdout, stderr?}: QEMU's own
// output, never edited (a check QEMU gets wrong belongs elsewhere, like guest/sigmask).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { constants } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const manifest = JSON.parse(readFileSync(join(HERE, 'cases.json'), 'utf8'));
const [out, bin, ...runner] = process.argv.slice(2);
if (!out || !bin || !runner.length) { console.error('usage: record.mjs OUTDIR CTEST_BINARY RUNNER...'); process.exit(2); }
mkdirSync(out, { recursive: true });

export function stdinOf(c) { return (c.stdin ?? '').repeat(c.stdinRepeat ?? 1) + (c.stdinTail ?? ''); }

for (const c of manifest.cases) {
  const tmp = mkdtempSync(join(tmpdir(), `ctest-${c.name}-`));
  const args = c.args.map((a) => a.replaceAll('$TMP', tmp));
  const r = spawnSync(runner[0], [...runner.slice(1), bin, ...args], {
    cwd: tmp, env: manifest.env, input: stdinOf(c), maxBuffer: 1 << 28, timeout: c.timeoutMs ?? 120000,
  });
  rmSync(tmp, { recursive: true, force: true });
  if (r.error) { console.error(`record.mjs: ${c.name}: ${r.error.message}`); process.exit(1); }
  const status = r.status ?? 128 + constants.signals[r.signal];
  const stdout = r.stdout.toString('utf8');
  if (!Buffer.from(stdout, 'utf8').equals(r.stdout)) { console.error(`record.mjs: ${c.name}: stdout is not UTF-8`); process.exit(1); }
  const res = { name: c.name, args: c.args, status, stdout };
  if (c.checkStderr) res.stderr = r.stderr.toString('utf8');
  writeFileSync(join(out, `${c.name}.json`), JSON.stringify(res, null, 1) + '\n');
  console.log(`${c.name}: status ${status}, ${r.stdout.length} bytes of stdout`);
}
