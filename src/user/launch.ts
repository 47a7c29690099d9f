// Starting a program in a new process VM: a fresh host memory and core, the program (and its
// interpreter) loaded, the initial stack built, the main thread pointed at the entry point.
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { Core } from '../cpu/core.js';
import type { JitConfig } from '../jit/jit.js';
import { HostMemory } from '../memory/host-memory.js';
import { loadProgram, type LoadedProgram } from './loader.js';
import { Process } from './process.js';
import {
  AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_FLAGS, AT_GID, AT_HWCAP, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM,
  AT_SECURE, AT_UID, HWCAP_RV64IMAFDC, buildStack, cstr, type BuiltStack,
} from './stack.js';
import { Strace } from './strace.js';
import { imageLayout } from './procfs-files.js';

export interface LaunchOptions {
  /** Host path of the program, as given on the command line. */
  path: string;
  /** argv (argv[0] as given). */
  argv: string[];
  /** The environment, "NAME=value" strings. */
  env: string[];
  sysroot?: string;
  strace?: boolean;
  /** How the JIT runs the program (default: the environment's, src/jit/config.ts). */
  jit?: JitConfig;
}

export interface Launched {
  process: Process;
  loaded: LoadedProgram;
  stack: BuiltStack;
}

/** The auxiliary vector Linux gives a new program (in Linux's order; AT_RANDOM and AT_EXECFN
 *  are added by buildStack). */
export function auxvFor(p: Process, loaded: LoadedProgram): Array<[number, bigint]> {
  const { exe, interp } = loaded;
  return [
    [AT_HWCAP, BigInt(HWCAP_RV64IMAFDC)],
    [AT_PAGESZ, 4096n],
    [AT_CLKTCK, 100n],
    [AT_PHDR, BigInt(exe.phdr)],
    [AT_PHENT, BigInt(exe.phent)],
    [AT_PHNUM, BigInt(exe.phnum)],
    [AT_BASE, BigInt(interp ? interp.bias : 0)],
    [AT_FLAGS, 0n],
    [AT_ENTRY, BigInt(exe.entry)],
    [AT_UID, BigInt(p.uid)],
    [AT_EUID, BigInt(p.uid)],
    [AT_GID, BigInt(p.gid)],
    [AT_EGID, BigInt(p.gid)],
    [AT_SECURE, 0n],
  ];
}

export function launch(opts: LaunchOptions): Launched {
  const mem = new HostMemory();
  const core = opts.jit ? new Core(mem, opts.jit) : new Core(mem);
  let exePath = opts.path;
  try {
    exePath = realpathSync(opts.path);
  } catch {
    // loadProgram reports the missing file
  }
  const p = new Process(core, mem, { exePath, sysroot: opts.sysroot });
  const loaded = loadProgram(p.as, opts.path, opts.sysroot);
  if (opts.strace) p.config.strace = new Strace(p.as);
  const t = p.newThread();
  const stack = buildStack(p.as, {
    argv: opts.argv.map(cstr),
    envp: opts.env.map(cstr),
    execfn: cstr(opts.path),
    auxv: auxvFor(p, loaded),
    random: new Uint8Array(randomBytes(16)),
  });
  p.config.image = imageLayout(stack, opts.path);
  t.hart.pc = BigInt(loaded.startPc);
  t.hart.setX(2, BigInt(stack.sp));
  return { process: p, loaded, stack };
}
