// Shared pieces of the suite runners (scripts/suites/go-std.mjs, scripts/suites/busybox.mjs): run
// one command under a wall-clock limit in its own process group, the versions of the two
// emulators, the rvisor commit, and the grouping of failures by the cause visible in the output.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createWriteStream, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const QEMU = process.env.QEMU ?? 'qemu-riscv64-static';
export const RVISOR = join(ROOT, 'bin', 'rvisor.js');
/** Where result files go: test/suites/ (committed), or $SUITES_OUT for a re-check
 *  (scripts/oracle/suites-check.sh), which then also gets its own suites.md. */
export const OUT = process.env.SUITES_OUT ?? join(ROOT, 'test', 'suites');

/** The command line that runs a riscv64 program PROG under EMULATOR ('qemu' or 'rvisor'). */
/** The CPUs QEMU shows a guest here (the host's, at most rvisor's limit of 64). */
export const SHOWN_CPUS = Math.min(64, availableParallelism());

export function emulatorArgv(emulator, prog, args) {
  if (emulator === 'qemu') return [QEMU, prog, ...args];
  // QEMU shows the guest the host's CPUs; rvisor is told to show as many (`--cpus`), so tests
  // that need several CPUs (Go's runtime parallelism tests) run in both.
  if (emulator === 'rvisor') return [process.execPath, RVISOR, 'exec', '--cpus', String(SHOWN_CPUS), prog, ...args];
  throw new Error(`unknown emulator ${emulator}`);
}

/** Runs argv in cwd with env, stdout and stderr both into outFile, stdin from /dev/null. After
 *  limitSec seconds of wall time the whole process group gets SIGKILL. Resolves to
 *  {status, signal, seconds, killed}. */
export function runLimited(argv, { cwd, env, outFile, limitSec }) {
  return new Promise((resolveRun) => {
    const out = createWriteStream(outFile);
    out.on('open', () => {
      const t0 = process.hrtime.bigint();
      const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', out, out], detached: true });
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      }, limitSec * 1000);
      child.on('exit', (status, signal) => {
        clearTimeout(timer);
        // Children the program left behind (its own process group) do not outlive the run.
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none left */ }
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        out.end(() => resolveRun({ status, signal, seconds: Math.round(seconds * 10) / 10, killed }));
      });
    });
  });
}

export function qemuVersion() {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0].trim();
}

/** The rvisor build the results belong to: the commit, "+dirty" when the worktree has changes. */
export function rvisorCommit() {
  const r = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty=+dirty', '--abbrev=12'], { encoding: 'utf8' });
  return (r.stdout ?? '').trim() || 'unknown';
}

/** Causes of failure recognised in a test's output, first match wins: [label, regexp]. The
 *  label names what the output shows; "other" keeps the rest together. */
export const CAUSES = [
  ['rvisor: internal error (the host-side emulator threw; the whole guest ends)', /rvisor: internal error/],
  ['socket: address family not supported', /address family not supported|EAFNOSUPPORT/i],
  ['sockets: Go\'s net tests find no usable socket ("tcp is not supported", "not testable", "both IPv4 and IPv6 are required")',
    /\b(tcp|udp|unix|unixgram|unixpacket|ip\S*) is not supported|not testable|both IPv4 and IPv6 are required/],
  ['rvisor shows the guest one CPU (Go: GOMAXPROCS=1, "skipping on uniprocessor"); QEMU passes the host\'s CPUs through',
    /uniprocessor|GOMAXPROCS\s*(<=\s*1|=\s*1)/],
  ['function not implemented (ENOSYS)', /function not implemented|ENOSYS/i],
  ['execve of a host program (e.g. x86-64 /usr/bin/cat, the host\'s go tool, a #! script): exec format error (ENOEXEC)', /exec format error|ENOEXEC/i],
  ['operation not supported', /operation not supported|not supported on transport/i],
  ['operation not permitted (EPERM)', /operation not permitted|EPERM\b/i],
  ['permission denied (EACCES)', /permission denied|EACCES/i],
  ['invalid argument (EINVAL)', /invalid argument|EINVAL/i],
  ['no such file or directory (ENOENT)', /no such file or directory|ENOENT/i],
  ['bad file descriptor (EBADF)', /bad file descriptor|EBADF/i],
  ['inappropriate ioctl / no tty', /inappropriate ioctl|ENOTTY|\/dev\/tty|\bpty\b/i],
  ['signal not delivered or wrong', /signal|SIG[A-Z]+/],
  ['timed out inside the test', /timed out|timeout|deadline exceeded/i],
  ['guest crash (panic, fault or illegal instruction)', /^panic:|SIGSEGV|illegal instruction|fatal error:/m],
  ['different output', /got|want|expected|mismatch|differ/i],
];

/** The cause label of a failure from its output excerpt (or 'never finished' for a test that was
 *  running when the process ended). */
export function classify(outcome, detail) {
  if (outcome === 'running') return 'never finished (still running when the test binary was stopped or died)';
  if (outcome === 'absent') return 'not run (the test binary died or was stopped before reaching it)';
  for (const [label, re] of CAUSES) if (re.test(detail ?? '')) return label;
  return 'other (see the detail in the result file)';
}

/** A long output line shortened in the middle, so that its end (often the errno) stays. */
export function clip(line, max = 240) {
  return line.length <= max ? line : `${line.slice(0, max - 90)} … ${line.slice(-80)}`;
}

/** Reads a JSON file. */
export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Stable JSON: two-space indentation, trailing newline. */
export function jsonText(v) {
  return JSON.stringify(v, null, 2) + '\n';
}
