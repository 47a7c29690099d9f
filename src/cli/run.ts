// `rvisor run`: boots a Linux guest on the virtual board with the console on this terminal.
// With no arguments it boots the bundled kernel and initramfs (images/). Options follow QEMU's.
import { join } from 'node:path';
import { HostConsole } from '../vmm/console.js';
import { IMAGES_DIR } from '../vmm/files.js';
import { LocalVm } from '../vmm/local-vm.js';
import { RvisorError } from '../errors.js';
import { parseSize } from '../vmm/size.js';

export const RUN_USAGE = `usage: rvisor run [options]
  --mem SIZE          guest RAM, e.g. 256M or 1G (default 256M)
  --cpus N            number of harts, 1..8 (default 1)
  --kernel FILE|none  Linux kernel Image (default: the bundled images/Image.gz); none with --bios
                      runs a bare-metal program given as the firmware
  --initrd FILE       initramfs (default: the bundled images/initramfs.cpio.gz; "none" for none)
  --append "ARGS"     kernel command line (default "console=ttyS0")
  --bios FILE|none    M-mode firmware such as OpenSBI's fw_jump.bin (default none: rvisor is the SBI)
  --disk FILE[,ro][,serial=ID]
                      a raw disk image as a virtio-blk device (repeatable)
  --stats             print instructions, seconds and MIPS at exit
console keys: Ctrl-A X quit, Ctrl-A H help`;

export interface RunOptions {
  memBytes: number;
  cpus: number;
  kernel: string | undefined;
  initrd: string | undefined;
  append: string;
  bios: string | undefined;
  disks: { path: string; readOnly: boolean; serial?: string }[];
  stats: boolean;
  /** --help: print RUN_USAGE and exit 0. */
  help: boolean;
}

export function parseRunArgs(args: string[]): RunOptions {
  const o: RunOptions = {
    memBytes: 256 * 1048576, cpus: 1, kernel: join(IMAGES_DIR, 'Image.gz'),
    initrd: join(IMAGES_DIR, 'initramfs.cpio.gz'), append: 'console=ttyS0', bios: undefined, disks: [], stats: false, help: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new RvisorError('USAGE', `${a} needs a value\n${RUN_USAGE}`);
      return v;
    };
    switch (a) {
      case '--mem': case '-m': o.memBytes = parseSize(value(), a); break;
      case '--cpus': case '-smp': {
        const v = value();
        o.cpus = Number(v);
        if (!/^\d+$/.test(v) || o.cpus < 1 || o.cpus > 8) throw new RvisorError('USAGE', `--cpus ${v}: expected 1..8`);
        break;
      }
      case '--kernel': { const v = value(); o.kernel = v === 'none' ? undefined : v; break; }
      case '--initrd': { const v = value(); o.initrd = v === 'none' ? undefined : v; break; }
      case '--append': o.append = value(); break;
      case '--bios': { const v = value(); o.bios = v === 'none' ? undefined : v; break; }
      case '--disk': {
        const [path, ...flags] = value().split(',');
        const bad = flags.find((f) => f !== 'ro' && !f.startsWith('serial='));
        if (!path || bad !== undefined) throw new RvisorError('USAGE', `--disk expects FILE[,ro][,serial=ID]${bad ? `, not "${bad}"` : ''}`);
        const serial = flags.find((f) => f.startsWith('serial='))?.slice(7);
        o.disks.push({ path, readOnly: flags.includes('ro'), ...(serial !== undefined ? { serial } : {}) });
        break;
      }
      case '--stats': o.stats = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new RvisorError('USAGE', `unknown option ${a}\n${RUN_USAGE}`);
    }
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
  let console_: HostConsole | undefined;
  const vm = new LocalVm(
    { vcpus: o.cpus, memBytes: o.memBytes, kernel: o.kernel ?? null, initrd: o.initrd ?? null, append: o.append, bios: o.bios ?? null },
    o.disks, (bytes) => console_?.write(bytes));
  const started = performance.now();
  const stats = () => {
    const secs = (performance.now() - started) / 1000;
    const insns = vm.instructions;
    return `${insns} instructions in ${secs.toFixed(2)} s (${(Number(insns) / secs / 1e6).toFixed(1)} MIPS)`;
  };
  console_ = new HostConsole({
    input: (bytes) => vm.pushInput(bytes),
    quit: () => vm.quit(),
    stats: () => process.stderr.write(`\r\nrvisor: ${stats()}\r\n`),
  });
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
    console_.close();
    vm.close();
  }
  if (o.stats) process.stderr.write(`rvisor: ${stats()}\n`);
  return status;
}
