// `rvisor run`: boots a Linux guest on the virtual board with the console on this terminal.
// With no arguments it boots the bundled kernel and initramfs (images/). Options follow QEMU's.
import { join } from 'node:path';
import { HostConsole } from '../vmm/console.js';
import { IMAGES_DIR } from '../vmm/files.js';
import { LocalVm } from '../vmm/local-vm.js';
import type { MachineSpec } from '../vmm/machine.js';
import { RvisorError } from '../errors.js';
import type { DiskFormat } from '../host/disk/host-disk.js';
import { parseSize } from '../vmm/size.js';
import { parseSeed } from '../machine/deterministic.js';
import { formatJitStats } from '../jit/format.js';
import { jitConfigOf, jitOption, jitThresholdOption } from './jit-options.js';
import { checkBootFiles, checkDisks, checkMachine, openSnapshotFile, type OpenSnapshot } from '../vmm/snapshot-file.js';

export const DEFAULT_SAVE_FILE = 'rvisor-snapshot.rvs';

export const RUN_USAGE = `usage: rvisor run [options]
  --mem SIZE          guest RAM, e.g. 256M or 1G (default 256M)
  --cpus N            number of harts, 1..8 (default 1)
  --kernel FILE|none  Linux kernel Image (default: the bundled images/Image.gz); none with --bios
                      runs a bare-metal program given as the firmware
  --initrd FILE       initramfs (default: the bundled images/initramfs.cpio.gz; "none" for none)
  --append "ARGS"     kernel command line (default "console=ttyS0")
  --bios FILE|none    M-mode firmware such as OpenSBI's fw_jump.bin (default none: rvisor is the SBI)
  --disk FILE[,ro][,serial=ID][,format=raw|qcow2]
                      a disk image as a virtio-blk device (repeatable); the format is
                      probed when not given (a probed raw disk's guest may not write a
                      qcow2 header into its first sector)
  --stats             print instructions, seconds and MIPS at exit (and the JIT's counters)
  --jit on|off        compile hot guest code to WebAssembly (default: $RVISOR_JIT, else on)
  --jit-threshold N   with the JIT on: instructions run on a page before it is compiled,
                      1..2147483647 (default: $RVISOR_JIT_THRESHOLD, else 50000; 1: at once)
  --deterministic     deterministic mode, as QEMU's -icount: guest time advances with retired
                      instructions (10 ns each), idle time is skipped, the RTC starts at
                      2025-01-01T00:00:00Z, entropy comes from --seed; the same seed and the same
                      input give the same run, byte for byte (keys typed at a terminal reach the
                      guest at moments that differ from run to run)
  --seed N            the entropy seed of --deterministic (default 0; 0..2^64-1, decimal or 0x hex)
  --save-file FILE    where Ctrl-A W (or SIGUSR1) saves the machine before exiting
                      (default ./rvisor-snapshot.rvs)
  --restore FILE      resume a machine saved so (its configuration comes from the file; options
                      given must match it)
  --force             restore even though a disk or boot file changed since the save
  --prefault          restore with every page loaded first (default: each page is read from
                      the file when the guest first touches it)
console keys: Ctrl-A X quit, Ctrl-A P power key (guest shuts down), Ctrl-A W save the machine and quit,
Ctrl-A H help`;

export interface RunOptions {
  memBytes: number;
  cpus: number;
  kernel: string | undefined;
  initrd: string | undefined;
  append: string;
  bios: string | undefined;
  disks: { path: string; readOnly: boolean; serial?: string; format?: DiskFormat }[];
  stats: boolean;
  /** --help: print RUN_USAGE and exit 0. */
  help: boolean;
  saveFile: string;
  restore: string | undefined;
  force: boolean;
  prefault: boolean;
  /** --jit: true on, false off; undefined: $RVISOR_JIT, else the default. */
  jit?: boolean;
  /** --jit-threshold; undefined: $RVISOR_JIT_THRESHOLD, else the default. */
  jitThreshold?: number;
  /** --deterministic: the seed (decimal string); undefined: the normal mode. */
  deterministic: string | undefined;
  /** The machine options given on the command line (a restore checks them against the file). */
  given: Set<'mem' | 'cpus' | 'disk' | 'kernel' | 'initrd' | 'append' | 'bios' | 'deterministic'>;
}

export function parseRunArgs(args: string[]): RunOptions {
  const o: RunOptions = {
    memBytes: 256 * 1048576, cpus: 1, kernel: join(IMAGES_DIR, 'Image.gz'),
    initrd: join(IMAGES_DIR, 'initramfs.cpio.gz'), append: 'console=ttyS0', bios: undefined, disks: [], stats: false, help: false,
    saveFile: DEFAULT_SAVE_FILE, restore: undefined, force: false, prefault: false, deterministic: undefined, given: new Set(),
  };
  let seed: string | undefined;
  for (let i = 0; i < args.length; i++) {
    let a = args[i]!;
    // --jit=on and --jit-threshold=N as well as the two-word forms
    const eq = /^(--jit|--jit-threshold)=(.*)$/s.exec(a);
    if (eq) {
      a = eq[1]!;
      args = [...args.slice(0, i), a, eq[2]!, ...args.slice(i + 1)];
    }
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new RvisorError('USAGE', `${a} needs a value\n${RUN_USAGE}`);
      return v;
    };
    switch (a) {
      case '--mem': case '-m': o.memBytes = parseSize(value(), a); o.given.add('mem'); break;
      case '--cpus': case '-smp': {
        const v = value();
        o.cpus = Number(v);
        if (!/^\d+$/.test(v) || o.cpus < 1 || o.cpus > 8) throw new RvisorError('USAGE', `--cpus ${v}: expected 1..8`);
        o.given.add('cpus');
        break;
      }
      case '--kernel': { const v = value(); o.kernel = v === 'none' ? undefined : v; o.given.add('kernel'); break; }
      case '--initrd': { const v = value(); o.initrd = v === 'none' ? undefined : v; o.given.add('initrd'); break; }
      case '--append': o.append = value(); o.given.add('append'); break;
      case '--bios': { const v = value(); o.bios = v === 'none' ? undefined : v; o.given.add('bios'); break; }
      case '--disk': {
        const [path, ...flags] = value().split(',');
        const bad = flags.find((f) => f !== 'ro' && !f.startsWith('serial=') && f !== 'format=raw' && f !== 'format=qcow2');
        if (!path || bad !== undefined) throw new RvisorError('USAGE', `--disk expects FILE[,ro][,serial=ID][,format=raw|qcow2]${bad ? `, not "${bad}"` : ''}`);
        const serial = flags.find((f) => f.startsWith('serial='))?.slice(7);
        const format = flags.find((f) => f.startsWith('format='))?.slice(7) as DiskFormat | undefined;
        o.disks.push({ path, readOnly: flags.includes('ro'), ...(serial !== undefined ? { serial } : {}), ...(format !== undefined ? { format } : {}) });
        o.given.add('disk');
        break;
      }
      case '--stats': o.stats = true; break;
      case '--jit': o.jit = jitOption(args[++i]); break;
      case '--jit-threshold': o.jitThreshold = jitThresholdOption(args[++i]); break;
      case '--save-file': o.saveFile = value(); break;
      case '--restore': o.restore = value(); break;
      case '--force': o.force = true; break;
      case '--prefault': o.prefault = true; break;
      case '--deterministic': o.deterministic ??= '0'; o.given.add('deterministic'); break;
      case '--seed': seed = parseSeed(value()); break;
      case '--help': case '-h': o.help = true; break;
      default: throw new RvisorError('USAGE', `unknown option ${a}\n${RUN_USAGE}`);
    }
  }
  if (seed !== undefined) {
    if (o.deterministic === undefined) throw new RvisorError('USAGE', '--seed needs --deterministic');
    o.deterministic = seed;
  }
  return o;
}

export async function runCommand(args: string[]): Promise<number> {
  const o = parseRunArgs(args);
  if (o.help) {
    process.stdout.write(RUN_USAGE + '\n');
    return 0;
  }
  // Everything that can fail (boot files, disks) is checked before the terminal changes mode or
  // anything is opened for writing.
  if (o.kernel === undefined && o.bios === undefined) throw new RvisorError('USAGE', '--kernel none needs --bios FILE (a bare-metal program)');
  const jit = jitConfigOf(o);
  let console_: HostConsole | undefined;
  let spec: MachineSpec = {
    vcpus: o.cpus, memBytes: o.memBytes, kernel: o.kernel ?? null, initrd: o.initrd ?? null, append: o.append, bios: o.bios ?? null,
    ...(o.deterministic !== undefined ? { deterministic: { seed: o.deterministic } } : {}), jit,
  };
  let disks = o.disks;
  let snap: OpenSnapshot | undefined;
  let vm: LocalVm;
  try {
    if (o.restore !== undefined) {
      // The machine is the snapshot's; options given must describe that machine.
      snap = openSnapshotFile(o.restore);
      const c = snap.config;
      const what = `snapshot ${o.restore}`;
      checkMachine(c, {
        vcpus: o.given.has('cpus') ? o.cpus : c.vcpus, memBytes: o.given.has('mem') ? o.memBytes : c.memBytes,
        disks: o.given.has('disk') ? o.disks : c.disks,
      }, what);
      const other = (['kernel', 'initrd', 'bios', 'append'] as const).filter((k) => o.given.has(k));
      if (other.length) throw new RvisorError('SNAPSHOT_MISMATCH', `--${other[0]} cannot change a restored machine (the ${what} holds its own)`);
      // Deterministic or not, and the seed, are the machine's.
      if (o.given.has('deterministic') && c.deterministic?.seed !== o.deterministic) {
        throw new RvisorError('SNAPSHOT_MISMATCH', c.deterministic ? `${what} is of a machine run with --deterministic --seed ${c.deterministic.seed}, not ${o.deterministic}` : `${what} is of a machine run without --deterministic`);
      }
      checkBootFiles(c, what, o.force);
      checkDisks(c, what, o.force);
      spec = {
        vcpus: c.vcpus, memBytes: c.memBytes, kernel: c.kernel?.path ?? null, initrd: c.initrd?.path ?? null, append: c.append, bios: c.bios?.path ?? null,
        ...(c.deterministic ? { deterministic: { seed: c.deterministic.seed } } : {}), jit, // the JIT is not the machine's: a restore takes this run's
      };
      disks = c.disks.map((d) => ({ path: d.path, readOnly: d.readOnly, ...(d.serial !== undefined ? { serial: d.serial } : {}), ...(d.format !== undefined ? { format: d.format } : {}) }));
    }
    const restore = snap;
    snap = undefined; // the LocalVm owns it now (a lazy restore reads pages from it until close())
    vm = new LocalVm(spec, disks, (bytes) => console_?.write(bytes), restore ? { restore, prefault: o.prefault } : {});
  } catch (e) {
    snap?.close();
    throw e;
  }
  const started = performance.now();
  const stats = () => {
    const secs = (performance.now() - started) / 1000;
    const insns = vm.instructions;
    return `${insns} instructions in ${secs.toFixed(2)} s (${(Number(insns) / secs / 1e6).toFixed(1)} MIPS)`;
  };
  const saveFile = o.saveFile;
  const save = () => {
    vm.save(saveFile).catch((e: Error) => process.stderr.write(`\r\nrvisor: the machine was not saved: ${e.message}\r\n`));
  };
  console_ = new HostConsole({
    input: (bytes) => vm.pushInput(bytes),
    quit: () => vm.quit(),
    stats: () => process.stderr.write(`\r\nrvisor: ${stats()}\r\n`),
    save,
    powerKey: () => {
      if (!vm.pressPowerKey()) process.stderr.write('\r\nrvisor: the guest has no driver for the power key (virtio-input)\r\n');
    },
  });
  // SIGUSR1 saves as Ctrl-A W does (for scripts, whose stdin is not a terminal).
  process.on('SIGUSR1', save);
  let status = 0;
  // A signal ends the VM like Ctrl-A X, but through the normal exit path, so the terminal leaves
  // raw mode and disks are closed.
  const onSignal = (sig: NodeJS.Signals) => { status = 128 + (sig === 'SIGTERM' ? 15 : sig === 'SIGHUP' ? 1 : 2); vm.quit(); };
  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(sig, onSignal);
  try {
    const code = await vm.run();
    if (code !== undefined) status = code;
  } finally {
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.off(sig, onSignal);
    process.off('SIGUSR1', save);
    console_.close();
    vm.close();
  }
  if (vm.saved) {
    const r = vm.saved.result;
    process.stderr.write(`${console_.raw ? '\r\n' : ''}rvisor: machine saved to ${vm.saved.path} (${(r.bytes / 1048576).toFixed(1)} MiB, ${r.pagesStored} of ${r.pagesPresent} present pages stored); ` +
      `"rvisor run --restore ${vm.saved.path}" resumes it\n`);
  }
  if (o.stats) process.stderr.write(`rvisor: ${stats()}\n${vm.jitStats ? `rvisor: ${formatJitStats(vm.jitStats.stats, vm.jitStats.instructions)}\n` : ''}`);
  return status;
}
