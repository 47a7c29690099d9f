// The one place where a machine is assembled from what a user asked for: boot files read (and
// decompressed), disks attached, the board's configuration filled. `rvisor run` and the pCPU
// workers of `rvisor serve` both build their boards here, so the CLI holds no machine assembly.
import { statSync } from 'node:fs';
import type { PageSources } from '../machine/ram.js';
import type { BoardConfig, DiskConfig } from '../machine/board.js';
import type { EntropySource } from '../devices/virtio/rng/rng.js';
import type { JitConfig } from '../jit/jit.js';
import { readImage } from './files.js';

/** A machine as a user describes it (a VM definition or `rvisor run`'s options), sizes parsed. */
export interface MachineSpec {
  vcpus: number;
  memBytes: number;
  kernel: string | null;
  initrd: string | null;
  append: string;
  bios: string | null;
  /** Deterministic mode with this seed (src/machine/deterministic.ts): guest time from retired
   *  instructions, entropy from the seed. */
  deterministic?: { seed: string };
  /** false: no virtio-balloon device; else its statistics interval (default: one, asking every 2 s). */
  balloon?: false | { statsIntervalMs: number };
  /** How the JIT runs the harts (src/jit/config.ts; absent: the core's, i.e. the environment's). */
  jit?: JitConfig;
}

/** What the host around the board provides. */
export interface MachineIo {
  consoleOut(bytes: Uint8Array): void;
  hostNowMs(): number;
  wallNs(): bigint;
  entropy: EntropySource;
  maxIdleMs?: number;
  /** Reads a lazily restored machine's pages from its snapshot (src/vmm/lazy-pages.ts). */
  pageSources?: PageSources;
}

export interface BootImages {
  kernel: Uint8Array | undefined;
  initrd: Uint8Array | undefined;
  firmware: Uint8Array | undefined;
}

/** Reads the boot files once per (path, stamp): a host starting many VMs from the same images
 *  decompresses them once per thread. The stamp is the file's identity (size, mtime, inode); one
 *  copy per path is kept, replaced when the file changed. */
export class BootImageCache {
  private readonly cache = new Map<string, { stamp: string; bytes: Uint8Array }>();

  read(path: string | null, what: string, stamp = ''): Uint8Array | undefined {
    if (path === null) return undefined;
    const hit = this.cache.get(path);
    if (hit && hit.stamp === stamp) return hit.bytes;
    const bytes = readImage(path, what);
    this.cache.set(path, { stamp, bytes });
    return bytes;
  }

  /** `stamps`: each boot file's identity by path (a file whose stamp changed is read again). */
  images(spec: MachineSpec, stamps: Record<string, string> = {}): BootImages {
    const read = (path: string | null, what: string) => this.read(path, what, path === null ? '' : stamps[path] ?? '');
    return { kernel: read(spec.kernel, 'kernel'), initrd: read(spec.initrd, 'initrd'), firmware: read(spec.bios, 'firmware') };
  }
}

export function readBootImages(spec: MachineSpec): BootImages {
  return new BootImageCache().images(spec);
}

export function boardConfig(spec: MachineSpec, images: BootImages, disks: DiskConfig[], io: MachineIo): BoardConfig {
  return {
    harts: spec.vcpus, memBytes: spec.memBytes, kernel: images.kernel, kernelName: spec.kernel ?? '',
    initrd: images.initrd, append: spec.append, firmware: images.firmware, disks,
    entropy: io.entropy, consoleOut: io.consoleOut, hostNowMs: io.hostNowMs, wallNs: io.wallNs,
    ...(io.maxIdleMs !== undefined ? { maxIdleMs: io.maxIdleMs } : {}),
    ...(io.pageSources ? { pageSources: io.pageSources } : {}),
    ...(spec.deterministic ? { deterministic: { seed: spec.deterministic.seed } } : {}),
    ...(spec.balloon !== undefined ? { balloon: spec.balloon } : {}),
    ...(spec.jit ? { jit: spec.jit } : {}),
  };
}

/** The boot files' identity (size, mtime, inode) by path: the workers' image caches keep one
 *  decompressed copy per file and read it again only when the file changed. */
export function bootStamps(def: { kernel: string | null; initrd: string | null; bios: string | null }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [def.kernel, def.initrd, def.bios]) {
    if (p === null) continue;
    try {
      const st = statSync(p);
      out[p] = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      out[p] = '?';
    }
  }
  return out;
}
