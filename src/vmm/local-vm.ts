// One VM run on the calling thread, with no host daemon: what `rvisor run` uses. It assembles the
// machine through machine.ts (as the pCPU workers of `rvisor serve` do), runs the board in slices,
// sleeps while the guest is idle and wakes on console input, and rebuilds the machine (same disks)
// when the guest reboots. It can save the whole machine to a snapshot file at a slice boundary
// and be built from one (src/snapshot/, docs/snapshot-format.md).
import { webcrypto } from 'node:crypto';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { VirtBoard, type DiskConfig } from '../machine/board.js';
import { HostMemory } from '../memory/host-memory.js';
import type { JitStats } from '../jit/jit.js';
import { openDisks, type DiskFormat, type HostDisk } from '../host/disk/host-disk.js';
import { boardConfig, readBootImages, type MachineSpec } from './machine.js';
import { materializeMachine } from '../snapshot/machine.js';
import { nodePageSources } from './lazy-pages.js';
import { diskIdentity, fileIdentity, writeSnapshotFile, type OpenSnapshot, type SaveResult } from './snapshot-file.js';

export interface LocalDiskSpec {
  path: string;
  readOnly: boolean;
  serial?: string;
  format?: DiskFormat;
}

export class LocalVm {
  private board: VirtBoard | undefined;
  private readonly disks: HostDisk[];
  private readonly create: () => VirtBoard;
  private quitting = false;
  private wake: (() => void) | undefined;
  private finished = 0n;
  private readonly host: HostMemory;
  private restored: ReturnType<typeof materializeMachine> | undefined;
  /** The snapshot a lazy restore still reads pages from. */
  private snapshot: OpenSnapshot | undefined;
  private saveReq: { path: string; done: (r: SaveResult | Error) => void } | undefined;
  /** The snapshot run() saved before it returned (undefined: it ended otherwise). */
  saved: { path: string; result: SaveResult } | undefined;

  /** Reads the boot files and opens the disks: everything that can fail does so here, before
   *  the caller changes the terminal or anything is written. */
  constructor(private readonly spec: MachineSpec, private readonly diskSpecs: LocalDiskSpec[], consoleOut: (bytes: Uint8Array) => void,
    opts: { restore?: OpenSnapshot; prefault?: boolean } = {}) {
    let images, disks_;
    try {
      images = readBootImages(spec);
      disks_ = openDisks(diskSpecs);
    } catch (e) {
      opts.restore?.close();
      throw e;
    }
    this.disks = disks_;
    const disks: DiskConfig[] = diskSpecs.map((d, i) => ({ backend: this.disks[i]!, readOnly: d.readOnly, serial: d.serial }));
    const host = this.host = new HostMemory();
    const cfg = boardConfig(spec, images, disks, {
      consoleOut,
      entropy: (buf) => webcrypto.getRandomValues(buf),
      hostNowMs: () => performance.now(),
      wallNs: () => BigInt(Date.now()) * 1000000n,
      pageSources: nodePageSources,
    });
    this.create = () => {
      const restore = this.restored;
      this.restored = undefined;
      const board = new VirtBoard(cfg, host, restore ? { restore } : {});
      // The board's own core: its default threshold (what jitStats reports) is this machine's too.
      if (spec.jit) board.core.configureJit(spec.jit);
      return board;
    };
    if (opts.restore) {
      const snap = opts.restore;
      const lazy = opts.prefault !== true;
      // Lazy restore: each page is read from the file on first touch, so it stays open until close().
      if (lazy) this.snapshot = snap;
      try {
        this.restored = materializeMachine(snap.reader, host, {
          config: snap.config, meta: snap.meta, nowMs: performance.now(), wallNowNs: BigInt(Date.now()) * 1000000n, running: true,
          ...(lazy ? { lazy: { path: snap.path, fd: snap.fd } } : {}),
        });
      } catch (e) {
        this.close();
        if (!lazy) snap.close();
        throw e;
      }
      if (!lazy) snap.close();
    }
  }

  /** Saves the machine to `path` at the next slice boundary; run() then returns (undefined). The
   *  promise rejects (and the VM runs on) when the file cannot be written. */
  save(path: string): Promise<SaveResult> {
    return new Promise((resolve, reject) => {
      if (this.saveReq) { reject(new Error('a save is already in progress')); return; }
      this.saveReq = { path, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) };
      this.wake?.();
    });
  }

  private doSave(board: VirtBoard): boolean {
    const req = this.saveReq!;
    this.saveReq = undefined;
    try {
      const s = this.spec;
      const result = writeSnapshotFile(req.path, {
        meta: { origin: 'run', name: null, paused: false },
        config: {
          vcpus: s.vcpus, memBytes: s.memBytes, append: s.append,
          kernel: fileIdentity(s.kernel), initrd: fileIdentity(s.initrd), bios: fileIdentity(s.bios),
          disks: this.diskSpecs.map((d) => diskIdentity(d)),
          ...(s.deterministic ? { deterministic: { seed: s.deterministic.seed } } : {}),
        },
        host: this.host, state: board.save(), nowMs: performance.now(),
      });
      this.saved = { path: req.path, result };
      req.done(result);
      return true;
    } catch (e) {
      req.done(e as Error);
      return false;
    }
  }

  /** Instructions retired since the first boot (all reboots included). */
  get instructions(): bigint {
    return this.finished + (this.board?.instructions ?? 0n);
  }

  /** The JIT's counters on the current (or last) board, with its instructions; undefined before
   *  run(). */
  get jitStats(): { stats: JitStats; instructions: bigint } | undefined {
    return this.board && { stats: this.board.core.jitStats(), instructions: this.board.instructions };
  }

  pushInput(bytes: Uint8Array): void {
    this.board?.pushInput(bytes);
    this.wake?.();
  }

  /** Presses the machine's power key (a guest that listens shuts down). False when no guest
   *  driver listens to it. */
  pressPowerKey(): boolean {
    const pressed = this.board?.pressPowerKey() ?? false;
    this.wake?.();
    return pressed;
  }

  /** Ends run() at the next slice boundary. */
  quit(): void {
    this.quitting = true;
    this.wake?.();
  }

  /** Boots and runs until the guest powers off (its status) or quit() (undefined). */
  async run(): Promise<number | undefined> {
    this.board = this.create();
    for (;;) {
      if (this.quitting) return undefined;
      if (this.saveReq && this.doSave(this.board)) return undefined;
      const r = this.board.step(25);
      if (r.kind === 'poweroff') return r.code;
      if (r.kind === 'reboot') {
        this.finished += this.board.instructions;
        this.board.destroy();
        this.board = this.create();
        continue;
      }
      if (r.kind === 'idle' && r.ms > 0) {
        // The guest waits for an interrupt: sleep until its next timer or console input (the
        // virtual clock keeps running, as wall time does for a real machine; in deterministic mode
        // it has already jumped over the idle time, and sleeping keeps it near wall time).
        await Promise.race([sleep(r.ms), new Promise<void>((res) => { this.wake = res; })]);
        this.wake = undefined;
      } else {
        await tick();
      }
    }
  }

  close(): void {
    for (const d of this.disks) d.close();
    this.snapshot?.close();
    this.snapshot = undefined;
  }
}
