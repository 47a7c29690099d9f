#!/usr/bin/env node
// Runs Go standard-library test suites under qemu-riscv64-static and under rvisor in the same
// run and records the per-test outcomes of both.
//
//   node scripts/suites/go-std.mjs [--limit SECONDS] [--rvisor-limit SECONDS] [PKG...]
//
// For each package (default: every package of PACKAGES, in that order) it cross-builds the test
// binary with Debian's Go (CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 go test -c), runs it with
// `-test.v -test.short -test.timeout` first under QEMU, then under `node bin/rvisor.js exec` (this
// worktree's build), each in a fresh temporary working directory with the same environment and
// a wall-clock limit, parses the `=== RUN` / `--- PASS|FAIL|SKIP` lines, and writes
// test/suites/go/PKG.json (PKG with / as _). Then it rewrites docs/suites.md
// (scripts/suites/summary.mjs). Raw logs stay in the build directory ($SUITES_BUILD, default
// /tmp/rvisor-suites/go).
//
// Outcomes: pass, fail, skip; running = started (=== RUN) but no result line when the program
// ended (a hang stopped by -test.timeout or the wall-clock limit, or a crash); absent = never
// started in this run although the other emulator ran it.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUT, clip, emulatorArgv, jsonText, qemuVersion, runLimited, rvisorCommit } from './lib.mjs';
import { writeSummary } from './summary.mjs';

/** The packages issue #11 names, roughly smallest test run first. */
export const PACKAGES = [
  'sync', 'io/fs', 'path/filepath', 'os/user', 'os/signal', 'time', 'syscall', 'os/exec', 'os',
  'net', 'runtime',
];

const argv = process.argv.slice(2);
let limit = 600, rvisorLimit = 1800;
const pkgs = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--limit') limit = Number(argv[++i]);
  else if (argv[i] === '--rvisor-limit') rvisorLimit = Number(argv[++i]);
  else if (argv[i].startsWith('-')) { console.error(`go-std: unknown option ${argv[i]}`); process.exit(2); }
  else pkgs.push(argv[i]);
}
const BUILD = process.env.SUITES_BUILD ?? '/tmp/rvisor-suites/go';
mkdirSync(join(BUILD, 'bin'), { recursive: true });

const goVersion = spawnSync('go', ['version'], { encoding: 'utf8' }).stdout?.trim();
if (!goVersion) { console.error('go-std: no `go` (apt-get install golang-go)'); process.exit(1); }

/** Build tags per package: Debian's Go has no $GOROOT/lib/time/zoneinfo.zip, which the time
 *  tests load America/Los_Angeles from (they panic before the first test without it);
 *  timetzdata embeds the same database in the binary, as the panic message advises. */
const TAGS = { time: 'timetzdata' };
const GOROOT = spawnSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).stdout?.trim() ?? '';

/** Cross-builds PKG's test binary; returns its path. */
function build(pkg) {
  const out = join(BUILD, 'bin', pkg.replaceAll('/', '_') + '.test');
  const tags = TAGS[pkg] ? ['-tags', TAGS[pkg]] : [];
  const r = spawnSync('go', ['test', '-c', ...tags, '-o', out, pkg], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'riscv64', GOFLAGS: '-buildvcs=false',
      GOCACHE: join(BUILD, 'cache'),
    },
  });
  if (r.status !== 0) throw new Error(`go test -c ${pkg} failed`);
  return out;
}

/** Parses `go test -v` output: name -> {outcome, detail?}. Output between a test's RUN/CONT line
 *  and the next such line belongs to that test (Go streams t.Log output in -v mode). */
export function parseGoTest(text) {
  const tests = new Map();
  const logs = new Map();
  let current = null;
  for (const line of text.split('\n')) {
    let m = /(?:^|\s)=== (RUN|CONT|PAUSE|NAME)\s+(\S+)/.exec(line);
    if (m) {
      if (m[1] === 'RUN' && !tests.has(m[2])) tests.set(m[2], { outcome: 'running' });
      current = m[1] === 'PAUSE' ? null : m[2];
      continue;
    }
    m = /(?:^|\s)--- (PASS|FAIL|SKIP): (\S+) \(/.exec(line);
    if (m) {
      const t = tests.get(m[2]) ?? {};
      t.outcome = m[1].toLowerCase();
      tests.set(m[2], t);
      current = m[2];
      continue;
    }
    if (current !== null && line.trim() !== '') {
      const l = logs.get(current) ?? [];
      if (l.length < 6) l.push(clip(line.trim()));
      logs.set(current, l);
    }
  }
  for (const [name, t] of tests) if (logs.has(name)) t.detail = logs.get(name).join('\n');
  // A parent that failed because a subtest did says nothing itself: the first failed subtest's
  // output is its detail.
  for (const [name, t] of tests) {
    if (t.outcome !== 'fail' || t.detail) continue;
    for (const [sub, st] of tests) {
      if (sub.startsWith(`${name}/`) && st.outcome === 'fail' && st.detail) { t.detail = `${sub}: ${st.detail}`; break; }
    }
  }
  return tests;
}

/** The last non-empty lines of a log (how the program ended). */
function tail(text, n = 6) {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n).map((l) => clip(l)).join('\n');
}

/** One run of PKG's test binary under EMULATOR with at most limitSec of wall time; `only`
 *  (top-level test names) becomes -test.run. Tests still running at the end get the end of the
 *  output as their detail. */
async function runOne(pkg, bin, emulator, part, limitSec, only) {
  const work = mkdtempSync(join(tmpdir(), `suites-go-${emulator}-`));
  const home = join(work, 'home'), tmp = join(work, 'tmp'), cwd = join(work, 'src', pkg);
  for (const d of [home, tmp]) mkdirSync(d);
  // TMPDIR stands for /tmp: tests that drop root (syscall's TestDeathSignal runs a copy of the
  // test binary as nobody from a 0755 directory in it) need to reach it as Linux's /tmp allows.
  chmodSync(work, 0o755);
  chmodSync(tmp, 0o1777);
  // `go test` runs a test binary in its package's source directory (tests read testdata/ and
  // their own sources): a fresh copy of it, so that nothing writes into GOROOT.
  mkdirSync(join(cwd, '..'), { recursive: true });
  cpSync(join(GOROOT, 'src', pkg), cwd, { recursive: true });
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, TMPDIR: tmp, LANG: 'C', USER: process.env.USER ?? 'root' };
  // Go's own timeout (a panic that names nothing in Go 1.19, but leaves the running test without a
  // result line) comes a little before the wall-clock kill.
  const goTimeout = Math.max(10, Math.floor(limitSec - 20));
  const log = join(BUILD, `${pkg.replaceAll('/', '_')}.${emulator}${part > 1 ? `.${part}` : ''}.log`);
  const args = ['-test.v', '-test.short', `-test.timeout=${goTimeout}s`];
  if (only) args.push(`-test.run=^(${only.join('|')})$`);
  const r = await runLimited(emulatorArgv(emulator, bin, args), { cwd, env, outFile: log, limitSec });
  rmSync(work, { recursive: true, force: true });
  const text = readFileSync(log, 'utf8');
  console.log(`go-std: ${pkg} ${emulator}${part > 1 ? ` part ${part} (${only.length} tests)` : ''}: ${r.seconds}s status ${r.status} signal ${r.signal}${r.killed ? ' (killed at the limit)' : ''}; log ${log}`);
  const tests = parseGoTest(text);
  // A test left running gets how the program ended: its first panic / fatal error / rvisor error
  // line and the last lines.
  const ending = text.split('\n').find((l) => /^(panic: |fatal error: |rvisor: )/.test(l))?.slice(0, 240);
  const end = ending ? `${ending}\n...\n${tail(text, 2)}` : tail(text);
  for (const t of tests.values()) if (t.outcome === 'running' && !t.detail) t.detail = end;
  const started = [...text.matchAll(/(?:^|\s)=== (?:RUN|CONT)\s+(\S+)/g)];
  return {
    tests,
    lastStarted: started.length ? started[started.length - 1][1] : undefined,
    run: {
      seconds: r.seconds, status: r.status, signal: r.signal, killedAtLimit: r.killed, limitSeconds: limitSec,
      goTimeoutSeconds: goTimeout, ...(only ? { resumedTests: only.length } : {}), end: tail(text),
    },
  };
}

/** The QEMU run, then the rvisor run. When the rvisor run ends before reaching top-level tests
 *  that QEMU ran (the binary crashed, or a hang used up Go's timeout), it is resumed with
 *  -test.run naming those tests (and those left running, once more each), within the same total
 *  wall-clock limit, at most MAX_PARTS times: one crash does not hide the rest of the package.
 *  The runs record every part. */
const MAX_PARTS = 6;
async function runPackage(pkg, bin) {
  const q = await runOne(pkg, bin, 'qemu', 1, limit);
  const tests = new Map();
  const parts = [];
  const culprits = new Set(); // the test last started when a part ended abnormally: not retried
  let spent = 0;
  for (let part = 1; part <= MAX_PARTS; part++) {
    // Top-level tests without an outcome yet: never reached, or left running when the binary died
    // (also parallel tests paused behind the one that crashed it).
    const todo = [...q.tests.keys()].filter((n) => !n.includes('/') && !culprits.has(n) && (tests.get(n)?.outcome ?? 'running') === 'running');
    if (part > 1 && (todo.length === 0 || rvisorLimit - spent < 60)) break;
    const r = await runOne(pkg, bin, 'rvisor', part, rvisorLimit - spent, part > 1 ? todo : undefined);
    spent += r.run.seconds;
    parts.push(r.run);
    let progress = 0;
    for (const [n, t] of r.tests) {
      if ((tests.get(n)?.outcome ?? 'running') === 'running') { if (t.outcome !== 'running') progress++; tests.set(n, t); }
    }
    if (r.lastStarted) culprits.add(r.lastStarted.split('/')[0]);
    if (part > 1 && progress === 0) break;
    // A run that ended normally (PASS/FAIL as its last line) reached every test it was asked for.
    if (/^(PASS|FAIL)$/m.test(r.run.end.split('\n').pop() ?? '')) break;
  }
  const seconds = Math.round(parts.reduce((s, p) => s + p.seconds, 0) * 10) / 10;
  const rv = {
    tests,
    run: parts.length === 1 ? parts[0] : { seconds, killedAtLimit: parts.some((p) => p.killedAtLimit), limitSeconds: rvisorLimit, parts },
  };
  return { q, rv };
}

/** The committed result of one package from the two runs. */
function merge(pkg, q, rv) {
  const names = [...new Set([...q.tests.keys(), ...rv.tests.keys()])].sort();
  const tests = {};
  for (const n of names) {
    const a = q.tests.get(n), b = rv.tests.get(n);
    const rec = { qemu: a?.outcome ?? 'absent', rvisor: b?.outcome ?? 'absent' };
    // Output only where the two differ (why rvisor failed, or why QEMU did), to keep files small.
    if (rec.qemu !== rec.rvisor) {
      if (a?.detail) rec.qemuDetail = a.detail;
      if (b?.detail) rec.rvisorDetail = b.detail;
    }
    tests[n] = rec;
  }
  return {
    suite: `go/${pkg}`,
    package: pkg,
    go: goVersion,
    qemuVersion: qemuVersion(),
    rvisorCommit: rvisorCommit(),
    build: `CGO_ENABLED=0 GOOS=linux GOARCH=riscv64 go test -c${TAGS[pkg] ? ` -tags ${TAGS[pkg]}` : ''} ${pkg}`,
    command: `${pkg.replaceAll('/', '_')}.test -test.v -test.short -test.timeout=LIMIT-20s, in a copy of $GOROOT/src/${pkg}`,
    runs: { qemu: q.run, rvisor: rv.run },
    tests,
  };
}

const outDir = join(OUT, 'go');
mkdirSync(outDir, { recursive: true });
for (const pkg of pkgs.length ? pkgs : PACKAGES) {
  const t0 = Date.now();
  const bin = build(pkg);
  console.log(`go-std: built ${pkg} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const { q, rv } = await runPackage(pkg, bin);
  const res = merge(pkg, q, rv);
  writeFileSync(join(outDir, pkg.replaceAll('/', '_') + '.json'), jsonText(res));
  const count = (e, o) => Object.values(res.tests).filter((t) => t[e] === o).length;
  console.log(`go-std: ${pkg}: qemu ${count('qemu', 'pass')} pass ${count('qemu', 'fail')} fail; rvisor ${count('rvisor', 'pass')} pass ${count('rvisor', 'fail')} fail`);
}
writeSummary();
