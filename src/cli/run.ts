// `rvisor run`: boots a Linux guest on the virtual board with the console on this terminal.
// With no arguments it boots the bundled kernel and initramfs (images/). Options follow QEMU's.
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { VirtBoard, type BoardConfig, type DiskConfig } from '../machine/board.js';
import { RawFileDisk, openRawDisks } from '../host/disk/raw-file.js';
import { HostConsole } from '../vmm/console.js';
import { readImage, IMAGES_DIR } from '../vmm/files.js';
import { RvisorError } from '../errors.js';
import { HostMemory } from '../memory/host-memory.js';
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
  // Everything that can fail is checked before the terminal changes mode or anything is opened
  // for writing.
  if (o.kernel === undefined && o.bios === undefined) throw new RvisorError('USAGE', '--kernel none needs --bios FILE (a bare-metal program)');
  const kernel = o.kernel === undefined ? undefined : readImage(o.kernel, 'kernel');
  const initrd = o.initrd === undefined ? undefined : readImage(o.initrd, 'initrd');
  const firmware = o.bios === undefined ? undefined : readImage(o.bios, 'firmware');
  const opened = openRawDisks(o.disks);
  const disks: DiskConfig[] = o.disks.map((d, i) => ({ backend: opened[i]!, readOnly: d.readOnly, serial: d.serial }));
  const host = new HostMemory();
  const started = performance.now();
  let totalInsns = 0n;
  let quit = false;
  let wake: (() => void) | undefined;
  let board: VirtBoard | undefined;
  const console_ = new HostConsole({
    input: (bytes) => { board?.pushInput(bytes); wake?.(); },
    quit: () => { quit = true; wake?.(); },
    stats: () => process.stderr.write(`\r\nrvisor: ${stats()}\r\n`),
  });
  const cfg: BoardConfig = {
    harts: o.cpus, memBytes: o.memBytes, kernel, kernelName: o.kernel ?? '', initrd, append: o.append, firmware, disks,
    entropy: (buf) => webcrypto.getRandomValues(buf),
    consoleOut: (bytes) => console_.write(bytes),
    hostNowMs: () => performance.now(),
    wallNs: () => BigInt(Date.now()) * 1000000n,
  };
  const stats = () => {
    const secs = (performance.now() - started) / 1000;
    const insns = totalInsns + (board?.instructions ?? 0n);
    return `${insns} instructions in ${secs.toFixed(2)} s (${(Number(insns) / secs / 1e6).toFixed(1)} MIPS)`;
  };
  let status = 0;
  // A signal ends the VM like Ctrl-A X, but through the normal exit path, so the terminal leaves
  // raw mode and disks are closed.
  const onSignal = (sig: NodeJS.Signals) => { status = 128 + (sig === 'SIGTERM' ? 15 : sig === 'SIGHUP' ? 1 : 2); quit = true; wake?.(); };
  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(sig, onSignal);
  try {
    board = new VirtBoard(cfg, host);
    for (;;) {
      if (quit) break;
      const r = board.step(25);
      if (r.kind === 'poweroff') { status = r.code; break; }
      if (r.kind === 'reboot') {
        totalInsns += board.instructions;
        board.destroy();
        board = new VirtBoard(cfg, host);
        continue;
      }
      if (r.kind === 'idle' && r.ms > 0) {
        // The guest waits for an interrupt: sleep the host until its next timer or console input
        // (the virtual clock keeps running, as wall time does for a real machine).
        await Promise.race([sleep(r.ms), new Promise<void>((res) => { wake = res; })]);
        wake = undefined;
      } else {
        await tick();
      }
    }
  } finally {
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.off(sig, onSignal);
    console_.close();
    for (const d of disks) (d.backend as RawFileDisk).close?.();
  }
  if (o.stats) process.stderr.write(`rvisor: ${stats()}\n`);
  return status;
}
