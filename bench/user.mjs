#!/usr/bin/env node
// User-mode benchmark: runs the guest/bench programs under rvisor (`rvisor exec --stats`) and under
// qemu-riscv64-static, checks that both print the same checksum, and prints a table of guest
// instruction counts (from rvisor's --stats), wall times and MIPS.
//
//   npm run bench                 default sizes (about 1-2 s each under QEMU)
//   npm run bench -- --quick      about a tenth of the work
//   options: --only NAME[,NAME…]  --no-qemu  --runs N (best of N wall times, default 1)
//            --json (also print the results as JSON)
//   environment: QEMU=/path/to/qemu-riscv64-static
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'rvisor.js');
const QEMU = process.env.QEMU || 'qemu-riscv64-static';

/** name, what it does, and the argument used by --quick (undefined: the program's default size). */
const PROGRAMS = [
  { name: 'intmix', quick: '12000000' },
  { name: 'sort', quick: '400000' },
  { name: 'fp', quick: '1' },
  { name: 'coremark-like', quick: '4000' },
];

function usage(msg) {
  if (msg) console.error(`bench: ${msg}`);
  console.error('usage: node bench/user.mjs [--quick] [--only NAME[,NAME...]] [--no-qemu] [--runs N] [--json]');
  process.exit(2);
}

const opts = { quick: false, only: undefined, qemu: true, runs: 1, json: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') opts.quick = true;
  else if (a === '--no-qemu') opts.qemu = false;
  else if (a === '--json') opts.json = true;
  else if (a === '--only') opts.only = (argv[++i] ?? usage('--only needs a value')).split(',');
  else if (a.startsWith('--only=')) opts.only = a.slice(7).split(',');
  else if (a === '--runs') opts.runs = Number(argv[++i]);
  else if (a.startsWith('--runs=')) opts.runs = Number(a.slice(7));
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
if (!Number.isInteger(opts.runs) || opts.runs < 1) usage('--runs needs a positive integer');
const programs = PROGRAMS.filter((p) => !opts.only || opts.only.includes(p.name));
if (programs.length === 0) usage(`no such program; have ${PROGRAMS.map((p) => p.name).join(', ')}`);

/** Runs a command, returning its status, output and wall time in seconds. */
function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { error: r.error, status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds };
}

/** Best (lowest wall time) of opts.runs runs; a failed run is returned at once. */
function best(cmd, args) {
  let b;
  for (let i = 0; i < opts.runs; i++) {
    const r = timed(cmd, args);
    if (r.error || r.status !== 0) return r;
    if (!b || r.seconds < b.seconds) b = r;
  }
  return b;
}

/** The guest instruction count from rvisor's --stats output on stderr. Accepts
 *  "rvisor: <N> instructions in <S> s (<M> MIPS)", "instructions: N", "instret = N" and
 *  digit separators (1,234 / 1_234 / 1 234). */
export function parseInstructions(stderr) {
  const num = String.raw`(\d[\d,_ ]*\d|\d)`;
  const patterns = [
    new RegExp(String.raw`${num}\s+(?:guest\s+)?instructions?\b`, 'i'),
    new RegExp(String.raw`instructions?(?:\s+retired)?\s*[:=]\s*${num}`, 'i'),
    new RegExp(String.raw`instret\s*[:=]\s*${num}`, 'i'),
  ];
  for (const line of stderr.split('\n')) {
    for (const re of patterns) {
      const m = re.exec(line);
      if (m) return Number(m[1].replace(/[,_ ]/g, ''));
    }
  }
  return undefined;
}

/** rvisor's own time/MIPS figures from the stats line, if present. */
function parseSelfReport(stderr) {
  const m = /instructions?\s+in\s+([\d.]+)\s*s\b(?:.*?([\d.]+)\s*MIPS)?/i.exec(stderr);
  return m ? { seconds: Number(m[1]), mips: m[2] !== undefined ? Number(m[2]) : undefined } : undefined;
}

function checksumLine(stdout) {
  return stdout.trim().split('\n').pop() ?? '';
}

const fmtInt = (n) => (n === undefined ? '?' : n.toLocaleString('en-US'));
const fmtSec = (s) => (s === undefined ? '-' : s.toFixed(2));
const fmtMips = (m) => (m === undefined || !Number.isFinite(m) ? '-' : m >= 100 ? m.toFixed(0) : m.toFixed(1));
const fmtRatio = (r) => (r === undefined || !Number.isFinite(r) ? '-' : `${r.toFixed(1)}x`);

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---- main --------------------------------------------------------------------------------------
let haveQemu = opts.qemu;
let qemuVersion = '';
if (haveQemu) {
  const v = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (v.error) {
    console.log(`bench: ${QEMU} not found; printing rvisor's numbers only (install qemu-user-static to compare)`);
    haveQemu = false;
  } else {
    qemuVersion = v.stdout.split('\n')[0];
  }
}

const work = mkdtempSync(join(tmpdir(), 'rvisor-bench-'));
const results = [];
let failed = false;
try {
  console.log(`rvisor user-mode benchmark (${opts.quick ? 'quick' : 'default'} sizes, best of ${opts.runs}; ` +
    `node ${process.version}${haveQemu ? `; ${qemuVersion}` : ''})`);
  for (const p of programs) {
    const exe = join(work, p.name);
    writeFileSync(exe, gunzipSync(readFileSync(join(ROOT, 'guest', 'bench', `${p.name}.gz`))));
    chmodSync(exe, 0o755);
    const args = opts.quick && p.quick ? [p.quick] : [];
    process.stdout.write(`  ${p.name} ${args.join(' ')}… `);

    const rv = best(process.execPath, [CLI, 'exec', '--stats', exe, ...args]);
    const res = { program: p.name, args, notes: [] };
    if (rv.error || rv.status !== 0) {
      res.notes.push(`rvisor failed (${rv.error ? rv.error.message : rv.signal ? `signal ${rv.signal}` : `status ${rv.status}`}): ` +
        rv.stderr.trim().split('\n').slice(-3).join(' | '));
    } else {
      res.rvisorSeconds = rv.seconds;
      res.instructions = parseInstructions(rv.stderr);
      res.self = parseSelfReport(rv.stderr);
      res.checksum = checksumLine(rv.stdout);
      if (res.instructions === undefined) res.notes.push('no instruction count in rvisor --stats output');
    }
    if (haveQemu) {
      const q = best(QEMU, [exe, ...args]);
      if (q.error || q.status !== 0) {
        res.notes.push(`qemu failed (status ${q.status}${q.signal ? `, signal ${q.signal}` : ''})`);
      } else {
        res.qemuSeconds = q.seconds;
        res.qemuChecksum = checksumLine(q.stdout);
        if (res.checksum !== undefined && res.checksum !== res.qemuChecksum) {
          res.notes.push(`CHECKSUM MISMATCH: rvisor "${res.checksum}" vs qemu "${res.qemuChecksum}"`);
        }
      }
    }
    if (res.notes.length) failed = true;
    results.push(res);
    console.log(res.notes.length ? res.notes.join('; ') : (res.checksum ?? res.qemuChecksum ?? ''));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const header = ['program', 'guest instructions', 'rvisor s', 'rvisor MIPS'];
if (haveQemu) header.push('QEMU s', 'QEMU MIPS', 'rvisor/QEMU');
const rows = results.map((r) => {
  const mips = (s) => (r.instructions !== undefined && s ? r.instructions / s / 1e6 : undefined);
  const row = [r.program, fmtInt(r.instructions), fmtSec(r.rvisorSeconds), fmtMips(mips(r.rvisorSeconds))];
  if (haveQemu) {
    const ratio = r.rvisorSeconds && r.qemuSeconds ? r.rvisorSeconds / r.qemuSeconds : undefined;
    row.push(fmtSec(r.qemuSeconds), fmtMips(mips(r.qemuSeconds)), fmtRatio(ratio));
  }
  return row;
});
console.log('');
console.log(table(header, rows));
console.log('\nWall times include starting node/QEMU. MIPS = rvisor\'s guest instruction count / wall time.');
const selfReports = results.filter((r) => r.self);
if (selfReports.length) {
  console.log('rvisor --stats (execution only): ' +
    selfReports.map((r) => `${r.program} ${fmtSec(r.self.seconds)} s${r.self.mips !== undefined ? ` ${fmtMips(r.self.mips)} MIPS` : ''}`).join(', '));
}
if (opts.json) console.log(JSON.stringify({ quick: opts.quick, qemu: qemuVersion || null, results }, null, 1));
process.exit(failed ? 1 : 0);
