#!/usr/bin/env node
// The runner behind scripts/suites/busybox.sh (which fetches and configures the source tree).
//
//   node scripts/suites/busybox.mjs --src BUSYBOX_SOURCE_TREE [--limit S] [--rvisor-limit S] [APPLET...]
//
// busybox's testsuite expects a build directory: $bindir/busybox, $bindir/.config and
// $bindir/testsuite/. Here $bindir/busybox is a small host script that runs the bundled riscv64
// busybox (guest/busybox/busybox.gz) under the emulator: `busybox ARGS` runs `EMU busybox ARGS`,
// and an applet link (runtest links every applet to $bindir/busybox) runs `EMU busybox APPLET
// ARGS`. The test scripts themselves are run by the host's /bin/sh, as upstream runs them; every
// applet they start runs under the emulator. A program that busybox itself execs by PATH lookup
// (ash running `cat`, xargs, find -exec) finds those links, i.e. a host shell script: the emulator
// must run host programs for it.
//
// For every applet that has tests (a testsuite/APPLET/ directory or testsuite/APPLET.tests), first
// under QEMU, then under rvisor, `sh runtest -v APPLET` runs in a fresh copy of the build
// directory with a wall-clock limit; its PASS/FAIL/SKIPPED/UNTESTED lines give the outcome of
// each test, recorded as APPLET/NAME in test/suites/busybox.json.
import { spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync,
  rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { OUT, QEMU, ROOT, RVISOR, clip, jsonText, qemuVersion, runLimited, rvisorCommit } from './lib.mjs';
import { writeSummary } from './summary.mjs';

const argv = process.argv.slice(2);
// The hash tests start the emulator ~2000 times (QEMU: 60-90 s); each rvisor start is a Node
// process, so md5sum/sha512sum take 650-900 s under rvisor on a loaded machine: 2400 s per applet.
let src = '', limit = 300, rvisorLimit = 2400;
const only = [], merges = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--src') src = argv[++i];
  else if (argv[i] === '--limit') limit = Number(argv[++i]);
  else if (argv[i] === '--rvisor-limit') rvisorLimit = Number(argv[++i]);
  else if (argv[i] === '--merge') merges.push(argv[++i]);
  else if (argv[i].startsWith('-')) { console.error(`busybox: unknown option ${argv[i]}`); process.exit(2); }
  else only.push(argv[i]);
}
if (!src || !existsSync(join(src, 'testsuite', 'runtest')) || !existsSync(join(src, '.config'))) {
  console.error('busybox: --src must be a configured busybox source tree (run scripts/suites/busybox.sh)');
  process.exit(2);
}
const BUILD = join(process.env.SUITES_BUILD ?? '/tmp/rvisor-suites', 'busybox');
mkdirSync(BUILD, { recursive: true });
const BB = join(BUILD, 'busybox.riscv64');
writeFileSync(BB, gunzipSync(readFileSync(join(ROOT, 'guest', 'busybox', 'busybox.gz'))));
chmodSync(BB, 0o755);

/** Applets whose tests take minutes under QEMU already (arbitrary-precision bc/dc programs, hash
 *  tests over many lengths): run last, so that a run stopped early has the rest. */
const SLOW = ['bc', 'dc', 'md5sum', 'sha1sum', 'sha256sum', 'sha3sum', 'sha512sum'];

/** Applets with tests, alphabetical, the SLOW ones last. */
function appletsWithTests() {
  const ts = join(src, 'testsuite');
  const names = new Set();
  for (const e of readdirSync(ts)) {
    if (e.endsWith('.tests')) names.add(e.slice(0, -'.tests'.length));
    else if (statSync(join(ts, e)).isDirectory() && !e.startsWith('.')) names.add(e);
  }
  const all = [...names].sort();
  return [...all.filter((a) => !SLOW.includes(a)), ...SLOW.filter((a) => names.has(a))];
}

/** The host script that stands for $bindir/busybox under EMULATOR. */
function wrapper(emulator) {
  const emu = emulator === 'qemu' ? `'${QEMU}'` : `'${process.execPath}' '${RVISOR}' exec`;
  return `#!/bin/sh
# busybox's testsuite runs $bindir/busybox and links named after applets to it: run the riscv64
# busybox under ${emulator} (an applet link passes its name as busybox's first argument).
n=\${0##*/}
if [ "$n" = busybox ]; then exec ${emu} '${BB}' "$@"; fi
exec ${emu} '${BB}' "$n" "$@"
`;
}

/** Parses runtest output: [name, outcome, detail][] in order. The lines after a FAIL (runtest
 *  -v prints the test's diff or output there) up to the next result line are its detail. */
export function parseRuntest(text) {
  const out = [];
  let last = null;
  for (const line of text.split('\n')) {
    const m = /^(PASS|FAIL|SKIPPED|UNTESTED): (.*)$/.exec(line);
    if (m) {
      const outcome = { PASS: 'pass', FAIL: 'fail', SKIPPED: 'skip', UNTESTED: 'untested' }[m[1]];
      last = [m[2].trim(), outcome, []];
      out.push(last);
    } else if (last && last[1] === 'fail' && line.trim() !== '' && last[2].length < 6) {
      last[2].push(clip(line));
    }
  }
  return out.map(([n, o, d]) => [n, o, d.join('\n')]);
}

async function runApplet(applet, emulator) {
  const work = mkdtempSync(join(tmpdir(), `suites-bb-${emulator}-`));
  const home = join(work, 'home'), tmp = join(work, 'tmp');
  mkdirSync(home); mkdirSync(tmp);
  cpSync(join(src, 'testsuite'), join(work, 'testsuite'), { recursive: true });
  mkdirSync(join(work, 'scripts'));
  copyFileSync(join(src, 'scripts', 'echo.c'), join(work, 'scripts', 'echo.c'));
  copyFileSync(join(src, '.config'), join(work, '.config'));
  writeFileSync(join(work, 'busybox'), wrapper(emulator), { mode: 0o755 });
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, TMPDIR: tmp, LANG: 'C', USER: process.env.USER ?? 'root' };
  const log = join(BUILD, `${applet}.${emulator}.log`);
  const lim = emulator === 'qemu' ? limit : rvisorLimit;
  const r = await runLimited(['sh', 'runtest', '-v', applet], { cwd: join(work, 'testsuite'), env, outFile: log, limitSec: lim });
  rmSync(work, { recursive: true, force: true });
  const results = parseRuntest(readFileSync(log, 'utf8'));
  console.log(`busybox: ${applet} ${emulator}: ${r.seconds}s, ${results.length} results${r.killed ? ' (killed at the limit)' : ''}`);
  return { results, run: { seconds: r.seconds, status: r.status, killedAtLimit: r.killed, limitSeconds: lim } };
}

/** name -> outcome/detail, numbering a name that repeats within one applet (#2, #3...). */
function keyed(applet, results) {
  const m = new Map();
  for (const [name, outcome, detail] of results) {
    let key = `${applet}/${name}`;
    for (let i = 2; m.has(key); i++) key = `${applet}/${name} #${i}`;
    m.set(key, { outcome, detail });
  }
  return m;
}

mkdirSync(OUT, { recursive: true });
const outFile = join(OUT, 'busybox.json');
const prev = existsSync(outFile) && (only.length || merges.length || process.env.SUITES_RESUME) ? JSON.parse(readFileSync(outFile, 'utf8')) : null;
const tests = prev?.tests ?? {};
const runs = prev?.runs ?? {};
const debVersion = spawnSync('dpkg-parsechangelog', ['-l', join(src, 'debian', 'changelog'), '-SVersion'], { encoding: 'utf8' }).stdout?.trim();
// --merge FILE: add the applets of another run's busybox.json (e.g. a second half run in parallel
// with SUITES_OUT), without running anything.
for (const f of merges) {
  const m = JSON.parse(readFileSync(f, 'utf8'));
  for (const applet of Object.keys(m.runs)) {
    for (const k of Object.keys(tests)) if (k.startsWith(`${applet}/`)) delete tests[k];
    for (const [k, v] of Object.entries(m.tests)) if (k.startsWith(`${applet}/`)) tests[k] = v;
    runs[applet] = m.runs[applet];
  }
}
if (merges.length) save();
for (const applet of merges.length ? [] : only.length ? only : appletsWithTests()) {
  const q = await runApplet(applet, 'qemu');
  const rv = await runApplet(applet, 'rvisor');
  const a = keyed(applet, q.results), b = keyed(applet, rv.results);
  for (const k of Object.keys(tests)) if (k.startsWith(`${applet}/`)) delete tests[k];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k), y = b.get(k);
    const rec = { qemu: x?.outcome ?? 'absent', rvisor: y?.outcome ?? 'absent' };
    if (rec.qemu !== rec.rvisor) {
      if (x?.detail) rec.qemuDetail = x.detail;
      if (y?.detail) rec.rvisorDetail = y.detail;
    }
    tests[k] = rec;
  }
  runs[applet] = { qemu: q.run, rvisor: rv.run };
  save(); // after every applet, so that a run stopped part way keeps what it measured
}
writeSummary();

function save() {
const sorted = Object.fromEntries(Object.keys(tests).sort().map((k) => [k, tests[k]]));
writeFileSync(outFile, jsonText({
  suite: 'busybox',
  busybox: `busybox ${debVersion} (Debian source package; testsuite/ of the same tree; guest/busybox/busybox.gz)`,
  qemuVersion: qemuVersion(),
  rvisorCommit: rvisorCommit(),
  command: 'sh runtest -v APPLET, per applet, in a fresh copy of the build directory',
  limitSeconds: { qemu: limit, rvisor: rvisorLimit },
  appletsWithTests: appletsWithTests(),
  runs: Object.fromEntries(Object.keys(runs).sort().map((k) => [k, runs[k]])),
  tests: sorted,
}));
}
