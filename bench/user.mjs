#!/usr/bin/env node
// User-mode benchmark: runs the guest/bench programs three ways in the same run, rvisor's
// interpreter (`rvisor exec --stats` with RVISOR_JIT=off), rvisor with the JIT (RVISOR_JIT=on, the
// default threshold unless --jit-threshold) and qemu-riscv64-static; checks that all three print
// the same checksum, and prints a table of guest instruction counts (from rvisor's --stats), wall
// times, MIPS, the ratios interpreter/QEMU and JIT/QEMU (time; lower is better) and their
// geometric means over the programs.
//
//   npm run bench                 default sizes (about 1-2 s each under QEMU)
//   npm run bench -- --quick      about a tenth of the work
//   options: --only NAME[,NAME…]  --no-qemu  --runs N (best of N wall times, default 1)
//            --jit-threshold N (RVISOR_JIT_THRESHOLD for the JIT runs; default: the environment's,
//            else rvisor's default)  --json (also print the results as JSON)
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
  { name: 'vm', quick: '60' },
];

/** The two ways rvisor runs each program: the environment given to `rvisor exec`. The guest
 *  inherits it, and its start-up code's instruction count depends on its size, so both runs get
 *  environments of the same length (RVISOR_BENCH_PAD makes up for "off" being longer than "on"),
 *  and the interpreter's and the JIT's instruction counts can be compared exactly. */
const MODES = [
  { key: 'interp', label: 'interp', env: { RVISOR_JIT: 'off', RVISOR_BENCH_PAD: '' } },
  { key: 'jit', label: 'JIT', env: { RVISOR_JIT: 'on', RVISOR_BENCH_PAD: 'x' } },
];

function usage(msg) {
  if (msg) console.error(`bench: ${msg}`);
  console.error('usage: node bench/user.mjs [--quick] [--only NAME[,NAME...]] [--no-qemu] [--runs N] [--jit-threshold N] [--json]');
  process.exit(2);
}

const opts = { quick: false, only: undefined, qemu: true, runs: 1, json: false, jitThreshold: undefined };
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
  else if (a === '--jit-threshold') opts.jitThreshold = argv[++i] ?? usage('--jit-threshold needs a value');
  else if (a.startsWith('--jit-threshold=')) opts.jitThreshold = a.slice(16);
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
if (!Number.isInteger(opts.runs) || opts.runs < 1) usage('--runs needs a positive integer');
if (opts.jitThreshold !== undefined) {
  if (!/^\d+$/.test(opts.jitThreshold) || Number(opts.jitThreshold) < 1) usage('--jit-threshold needs a positive integer');
} else {
  // the environment's, else rvisor's default (named explicitly so that both runs see the same)
  opts.jitThreshold = process.env.RVISOR_JIT_THRESHOLD ??
    String((await import(join(ROOT, 'dist', 'src', 'jit', 'jit.js'))).DEFAULT_JIT_THRESHOLD);
}
for (const m of MODES) m.env.RVISOR_JIT_THRESHOLD = opts.jitThreshold;
const programs = PROGRAMS.filter((p) => !opts.only || opts.only.includes(p.name));
if (programs.length === 0) usage(`no such program; have ${PROGRAMS.map((p) => p.name).join(', ')}`);

/** Runs a command, returning its status, output and wall time in seconds. */
function timed(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, ...env } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { error: r.error, status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds };
}

/** Best (lowest wall time) of opts.runs runs; a failed run is returned at once. */
function best(cmd, args, env) {
  let b;
  for (let i = 0; i < opts.runs; i++) {
    const r = timed(cmd, args, env);
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

/** The JIT's counters from the "rvisor: jit: ..." line: threshold, translations, compile ms and
 *  the share of instructions run in regions; undefined when absent, { off: true } for "jit: off". */
export function parseJitLine(stderr) {
  const line = stderr.split('\n').find((l) => /^rvisor: jit:/.test(l));
  if (!line) return undefined;
  if (/jit:\s*off/.test(line)) return { off: true, line };
  const num = (re) => { const m = re.exec(line); return m ? Number(m[1]) : undefined; };
  return {
    off: false, line,
    threshold: num(/threshold (\d+)/),
    translations: num(/(\d+) translations/),
    compileMs: num(/([\d.]+) ms\)/),
    enters: num(/(\d+) region entries/),
    regionInstructions: num(/(\d+) instructions in regions/),
    share: num(/\(([\d.]+)% of all\)/),
  };
}

function checksumLine(stdout) {
  return stdout.trim().split('\n').pop() ?? '';
}

const fmtInt = (n) => (n === undefined ? '?' : n.toLocaleString('en-US'));
const fmtSec = (s) => (s === undefined ? '-' : s.toFixed(2));
const fmtMips = (m) => (m === undefined || !Number.isFinite(m) ? '-' : m >= 100 ? m.toFixed(0) : m.toFixed(1));
const fmtRatio = (r) => (r === undefined || !Number.isFinite(r) ? '-' : `${r.toFixed(r < 10 ? 2 : 1)}x`);
const geomean = (xs) => (xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : undefined);
const failure = (r) => (r.error ? r.error.message : r.signal ? `signal ${r.signal}` : `status ${r.status}`);

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

    const res = { program: p.name, args, notes: [] };
    for (const m of MODES) {
      const rv = best(process.execPath, [CLI, 'exec', '--stats', exe, ...args], m.env);
      if (rv.error || rv.status !== 0) {
        res.notes.push(`rvisor ${m.label} failed (${failure(rv)}): ` + rv.stderr.trim().split('\n').slice(-3).join(' | '));
        continue;
      }
      const r = { seconds: rv.seconds, instructions: parseInstructions(rv.stderr), self: parseSelfReport(rv.stderr),
        jit: parseJitLine(rv.stderr), checksum: checksumLine(rv.stdout) };
      res[m.key] = r;
      if (r.instructions === undefined) res.notes.push(`no instruction count in rvisor ${m.label} --stats output`);
      if (m.key === 'jit' && r.jit?.off) res.notes.push('RVISOR_JIT=on but rvisor reports "jit: off"');
    }
    // The interpreter's count is the reference; the JIT's should be the same (exact instret).
    res.instructions = res.interp?.instructions ?? res.jit?.instructions;
    if (res.interp && res.jit && res.interp.instructions !== res.jit.instructions) {
      res.instructionsDiffer = true;
    }
    if (haveQemu) {
      const q = best(QEMU, [exe, ...args]);
      if (q.error || q.status !== 0) {
        res.notes.push(`qemu failed (${failure(q)})`);
      } else {
        res.qemu = { seconds: q.seconds, checksum: checksumLine(q.stdout) };
      }
    }
    const sums = [['interp', res.interp], ['JIT', res.jit], ['qemu', res.qemu]].filter(([, r]) => r);
    if (new Set(sums.map(([, r]) => r.checksum)).size > 1) {
      res.notes.push(`CHECKSUM MISMATCH: ${sums.map(([k, r]) => `${k} "${r.checksum}"`).join(' vs ')}`);
    }
    res.checksum = sums[0]?.[1].checksum;
    if (res.notes.length) failed = true;
    results.push(res);
    console.log(res.notes.length ? res.notes.join('; ') : (res.checksum ?? ''));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const header = ['program', 'guest instructions', 'interp s', 'interp MIPS', 'JIT s', 'JIT MIPS'];
if (haveQemu) header.push('QEMU s', 'QEMU MIPS', 'interp/QEMU', 'JIT/QEMU');
header.push('interp/JIT');
const ratio = (a, b) => (a && b ? a / b : undefined);
for (const r of results) {
  r.interpOverQemu = ratio(r.interp?.seconds, r.qemu?.seconds);
  r.jitOverQemu = ratio(r.jit?.seconds, r.qemu?.seconds);
  r.interpOverJit = ratio(r.interp?.seconds, r.jit?.seconds);
}
const rows = results.map((r) => {
  const mips = (x) => (x?.instructions !== undefined && x.seconds ? x.instructions / x.seconds / 1e6 : undefined);
  const row = [r.program + (r.instructionsDiffer ? '*' : ''), fmtInt(r.instructions),
    fmtSec(r.interp?.seconds), fmtMips(mips(r.interp)), fmtSec(r.jit?.seconds), fmtMips(mips(r.jit))];
  if (haveQemu) {
    row.push(fmtSec(r.qemu?.seconds), fmtMips(mips(r.qemu && { instructions: r.instructions, seconds: r.qemu.seconds })),
      fmtRatio(r.interpOverQemu), fmtRatio(r.jitOverQemu));
  }
  row.push(fmtRatio(r.interpOverJit));
  return row;
});
const gm = (k) => geomean(results.map((r) => r[k]).filter((x) => x !== undefined && Number.isFinite(x)));
const summary = { interpOverQemu: gm('interpOverQemu'), jitOverQemu: gm('jitOverQemu'), interpOverJit: gm('interpOverJit') };
const gmRow = ['geometric mean', '', '', '', '', ''];
if (haveQemu) gmRow.push('', '', fmtRatio(summary.interpOverQemu), fmtRatio(summary.jitOverQemu));
gmRow.push(fmtRatio(summary.interpOverJit));
rows.push(gmRow);
const jitTh = results.map((r) => r.jit?.jit?.threshold).find((x) => x !== undefined);
console.log('');
console.log(table(header, rows));
console.log('\nWall times include starting node/QEMU. MIPS = each rvisor run\'s guest instruction count (QEMU: the interpreter\'s) / wall time;' +
  '\nratios are of wall times (lower is better; interp/JIT > 1: the JIT is faster). ' +
  `interp: RVISOR_JIT=off; JIT: RVISOR_JIT=on, threshold ${jitTh ?? opts.jitThreshold ?? '?'}.`);
const differ = results.filter((r) => r.instructionsDiffer);
if (differ.length) {
  console.log('* instruction counts differ between the interpreter and the JIT: ' +
    differ.map((r) => `${r.program} ${fmtInt(r.interp.instructions)} vs ${fmtInt(r.jit.instructions)}`).join(', '));
}
for (const m of MODES) {
  const self = results.filter((r) => r[m.key]?.self);
  if (self.length) {
    console.log(`rvisor ${m.label} --stats (execution only): ` +
      self.map((r) => `${r.program} ${fmtSec(r[m.key].self.seconds)} s${r[m.key].self.mips !== undefined ? ` ${fmtMips(r[m.key].self.mips)} MIPS` : ''}`).join(', '));
  }
}
const jits = results.filter((r) => r.jit?.jit && !r.jit.jit.off);
if (jits.length) {
  console.log('JIT: ' + jits.map((r) => `${r.program} ${r.jit.jit.translations} translations ${r.jit.jit.compileMs?.toFixed(0)} ms, ` +
    `${r.jit.jit.share ?? '?'}% in regions`).join('; '));
}
if (opts.json) {
  console.log(JSON.stringify({ quick: opts.quick, qemu: qemuVersion || null, jitThreshold: jitTh ?? null, summary, results }, null, 1));
}
process.exit(failed ? 1 : 0);
