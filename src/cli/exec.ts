// `rvisor exec [--sysroot DIR] [--strace] [--trace] [--stats] [--no-host-exec] [--cpus N]
// [--jit on|off] [--jit-threshold N] [--] PROG [ARGS...]`: runs one
// riscv64 Linux program on this host (the process VM). stdin, stdout, stderr, the environment,
// the working directory and the exit status pass through. A program killed by a signal makes
// rvisor exit with 128 + the signal number (what a shell reports for a killed child).
import { formatJitStats } from '../jit/format.js';
import { jitConfigOf, jitOption, jitThresholdOption } from './jit-options.js';
import { accessSync, constants, statSync, writeSync } from 'node:fs';
import { RvisorError } from '../errors.js';
import { ACCESS_EXEC } from '../user/address-space.js';
import { cpuConfig, cpusOption } from '../user/cpus.js';
import { hostExecConfig } from '../user/host-exec.js';
import { launch } from '../user/launch.js';
import type { Process } from '../user/process.js';
import { runProcess } from '../user/scheduler.js';
import { restoreTerminal } from '../user/syscalls/io.js';
import type { Thread } from '../user/thread.js';

export const EXEC_USAGE = `usage: rvisor exec [options] [--] PROG [ARGS...]
  --sysroot DIR   where PT_INTERP and shared libraries are looked up (a riscv64 root)
  --strace        print every system call on stderr
  --trace         print every instruction on stderr
  --stats         print instructions, seconds and MIPS at exit (and the JIT's counters)
  --no-host-exec  an execve of a host-native program (e.g. an x86-64 /bin/sh) fails with
                  ENOEXEC instead of running it natively (also: RVISOR_HOST_EXEC=0)
  --cpus N        show the guest N CPUs (1..64; default: $RVISOR_CPUS, else 1); every guest
                  thread still runs on one host thread, time-sliced
  --jit on|off    compile hot guest code to WebAssembly (default: $RVISOR_JIT, else on)
  --jit-threshold N
                  with the JIT on: instructions run on a page before it is compiled,
                  1..2147483647 (default: $RVISOR_JIT_THRESHOLD, else 50000; 1: at once)
PROG is a riscv64 Linux ELF executable (with execute permission, as Linux requires).`;

export interface ExecOptions {
  sysroot?: string;
  strace: boolean;
  trace: boolean;
  stats: boolean;
  /** --jit: true on, false off; undefined: $RVISOR_JIT, else the default. */
  jit?: boolean;
  /** --jit-threshold; undefined: $RVISOR_JIT_THRESHOLD, else the default. */
  jitThreshold?: number;
  /** --no-host-exec (or RVISOR_HOST_EXEC=0|off|no): host-native programs are not run. */
  noHostExec: boolean;
  /** --cpus (or RVISOR_CPUS): the CPUs the guest is shown; undefined: 1. */
  cpus?: number;
  /** --help: print EXEC_USAGE and exit 0 (nothing is run). */
  help: boolean;
  prog: string;
  args: string[];
}

/** Parses the arguments after `exec`. Options end at the first non-option (PROG) or `--`. */
export function parseExecArgs(args: string[]): ExecOptions {
  const o: ExecOptions = { strace: false, trace: false, stats: false, noHostExec: /^(0|off|no|false)$/i.test(process.env.RVISOR_HOST_EXEC ?? ''), help: false, prog: '', args: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--strace') o.strace = true;
    else if (a === '--trace') o.trace = true;
    else if (a === '--stats') o.stats = true;
    else if (a === '--no-host-exec') o.noHostExec = true;
    else if (a === '--cpus' || a.startsWith('--cpus=')) o.cpus = cpusOption(a === '--cpus' ? args[++i] : a.slice('--cpus='.length), 'exec: ');
    else if (a === '--help' || a === '-h') {
      o.help = true;
      return o;
    }
    else if (a === '--jit' || a.startsWith('--jit=')) o.jit = jitOption(a === '--jit' ? args[++i] : a.slice('--jit='.length), 'exec: ');
    else if (a === '--jit-threshold' || a.startsWith('--jit-threshold=')) {
      o.jitThreshold = jitThresholdOption(a === '--jit-threshold' ? args[++i] : a.slice('--jit-threshold='.length), 'exec: ');
    } else if (a === '--sysroot' || a.startsWith('--sysroot=')) {
      const v = a === '--sysroot' ? args[++i] : a.slice('--sysroot='.length);
      if (v === undefined || v === '') throw new RvisorError('USAGE', 'exec: --sysroot needs a directory');
      o.sysroot = v;
    } else throw new RvisorError('USAGE', `exec: unknown option "${a}" (usage: rvisor exec [--sysroot DIR] [--strace] [--trace] [--stats] [--cpus N] [--jit on|off] [--jit-threshold N] PROG [ARGS...])`);
  }
  if (o.cpus === undefined && process.env.RVISOR_CPUS) o.cpus = cpusOption(process.env.RVISOR_CPUS, 'exec: RVISOR_CPUS: ');
  const prog = args[i];
  if (prog === undefined) throw new RvisorError('USAGE', 'exec: no program given (usage: rvisor exec [--sysroot DIR] [--strace] [--trace] [--stats] [--cpus N] [--jit on|off] [--jit-threshold N] PROG [ARGS...])');
  o.prog = prog;
  o.args = args.slice(i + 1);
  return o;
}

type Disassembler = (word: number, pc: bigint) => string;

async function loadDisassembler(): Promise<Disassembler> {
  try {
    const spec = '../isa/disasm.js';
    const m = (await import(spec)) as { disassemble?: Disassembler };
    if (typeof m.disassemble === 'function') return m.disassemble;
  } catch {
    // no disassembler built: print raw words
  }
  return (word) => `.word 0x${word.toString(16).padStart(8, '0')}`;
}

/** The instruction word at `pc` (16 or 32 bits), or null if it cannot be fetched. */
function fetchWord(p: Process, pc: bigint): number | null {
  const read16 = (va: bigint): number | null => {
    const frame = p.as.translate(Number(va), ACCESS_EXEC);
    if (frame < 0) return null;
    return p.mem.view.getUint16(frame + Number(va % 4096n), true);
  };
  const lo = read16(pc);
  if (lo === null) return null;
  if ((lo & 3) !== 3) return lo;
  const hi = read16(pc + 2n);
  return hi === null ? null : ((hi << 16) | lo) >>> 0;
}

function err(line: string): void {
  try {
    writeSync(2, line + '\n');
  } catch {
    // stderr closed
  }
}

/** Linux's execve(2) refuses a file without execute permission (EACCES, "Permission denied"),
 *  even for root when no execute bit is set; so does `rvisor exec`. Missing files and directories
 *  are left to the loader, which names them. */
export function checkExecutable(path: string): void {
  let regular = false;
  try {
    regular = statSync(path).isFile();
  } catch {
    return;
  }
  if (!regular) return;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new RvisorError('EXEC_DENIED', `${path}: permission denied (EACCES: the file is not executable; chmod +x it)`);
  }
}

export async function execCommand(args: string[]): Promise<number> {
  const o = parseExecArgs(args);
  if (o.help) {
    process.stdout.write(EXEC_USAGE + '\n');
    return 0;
  }
  const jit = jitConfigOf(o);
  checkExecutable(o.prog);
  if (o.sysroot !== undefined) {
    let ok = false;
    try {
      ok = statSync(o.sysroot).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new RvisorError('ENOENT_FILE', `${o.sysroot}: --sysroot is not a directory`);
  }
  hostExecConfig.enabled = !o.noHostExec;
  cpuConfig.count = o.cpus ?? 1;
  const disasm = o.trace ? await loadDisassembler() : undefined;
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  const start = process.hrtime.bigint();
  const { process: p } = launch({ path: o.prog, argv: [o.prog, ...o.args], env, sysroot: o.sysroot, strace: o.strace, jit });
  const trace = disasm
    ? (proc: Process, t: Thread): void => {
        const pc = t.hart.pc;
        const w = fetchWord(proc, pc);
        const text = w === null ? '<fetch fault>' : disasm(w, pc);
        const hex = w === null ? '' : (w & 3) === 3 ? w.toString(16).padStart(8, '0') : w.toString(16).padStart(4, '0').padEnd(8, ' ');
        err(`${t.tid} 0x${pc.toString(16).padStart(16, '0')}: ${hex}  ${text}`);
      }
    : undefined;
  const status = runProcess(p, { trace, report: (msg) => err(`rvisor: ${o.prog}: ${msg}`) });
  if (o.stats) {
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const n = p.instructions();
    err(`rvisor: ${n} instructions in ${secs.toFixed(3)} s (${(Number(n) / secs / 1e6).toFixed(1)} MIPS)`);
    err(`rvisor: ${formatJitStats(p.core.jitStats(), n)}`);
  }
  restoreTerminal();
  return status;
}
