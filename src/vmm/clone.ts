// Live clones of a host's VM (`rvisor vm clone NAME NEW`): the clone starts where the original is,
// and both keep running side by side. The original pauses only while its P2M is copied (a pass
// over one u32 per page) and its read-write disks are copied (reflinked where the file system can).
// Guest RAM is shared copy-on-write in the original's arena (machine/p2m.ts shareRam: every frame
// gets a share count, every page is write-protected in both P2Ms, and the first write in either VM
// copies the frame), so a write in one is never visible in the other. The clone gets a new name,
// its own disk files in its folder and a new VM generation ID (the guest reseeds its RNG).
import { copyDiskFile } from '../host/disk/host-disk.js';
import { mkdirSync, rmSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { RvisorError } from '../errors.js';
import { HART_P2M, HART_TLB } from '../cpu/layout.js';
import { Hart } from '../cpu/hart.js';
import { GuestRam } from '../machine/ram.js';
import type { BoardState } from '../machine/board.js';
import { dropTlbWrites, presentPages, shareRam } from '../machine/p2m.js';
import { checkName } from './definition.js';
import { now, type Dispatcher, type VmRun } from './dispatcher.js';
import { loadAllPages } from './lazy-pages.js';
import type { Arena } from './arenas.js';
import type { CloneInfo, CloneOptions, VmDefinition, VmInfo, VmState } from './types.js';

/** What a clone needs of a host's VM (Host's own Vm record fits). */
export interface CloneVm {
  def: VmDefinition;
  state: VmState;
  run: VmRun | undefined;
}

/** A machine made by the control plane, for host.ts launch: its state, in `arena`. */
export interface PreparedMachine {
  board: BoardState;
  arena: Arena;
  reason: string;
}

/** What clones need of the host (host.ts hands these in). */
export interface CloneHost<V extends CloneVm> {
  vmsDir: string;
  cpu: Dispatcher;
  get(name: string): V;
  exists(name: string): boolean;
  serial<T>(vm: V, fn: () => Promise<T>): Promise<T>;
  /** Defines the VM (host.ts define). */
  define(def: VmDefinition): V;
  undefine(name: string): void;
  /** Commits room for the VM in the arena (throws when it cannot fit there). */
  commit(arena: Arena, memBytes: number, vcpus: number): void;
  uncommit(arena: Arena, memBytes: number, vcpus: number): void;
  /** Starts the VM from a prepared machine (host.ts launch). */
  launch(vm: V, paused: boolean, machine: PreparedMachine): Promise<VmInfo>;
}

/** Timings of the last clone (for the benchmark and the API's answer). */
export interface CloneResult {
  vm: VmInfo;
  /** How long the original was held (its vCPUs stopped), ms. */
  pausedMs: number;
  /** Whole verb, ms. */
  durationMs: number;
  /** Guest pages shared between the two. */
  pagesShared: number;
}

export async function cloneVm<V extends CloneVm>(h: CloneHost<V>, name: string, newName: string, opts: CloneOptions = {}): Promise<CloneInfo> {
  const t0 = now();
  const src = h.get(name);
  checkName(newName);
  if (h.exists(newName)) throw new RvisorError('VM_EXISTS', `a VM named ${newName} is already defined`);
  return h.serial(src, async () => {
    if (src.state !== 'running' && src.state !== 'paused') {
      throw new RvisorError('VM_STATE', `cannot clone VM ${name}: it is ${src.state} (clone needs running or paused)`);
    }
    if (h.exists(newName)) throw new RvisorError('VM_EXISTS', `a VM named ${newName} is already defined`);
    const run = src.run!;
    const letRun = await h.cpu.stopBetweenSlices(run);
    const tHeld = now();
    let heldUntil = 0;
    const resume = () => {
      heldUntil = now();
      letRun();
    };
    let dir: string | undefined;
    let defined = false;
    let committed = false;
    let handed = false;
    let machine: PreparedMachine | undefined;
    try {
      if (src.run !== run) throw new RvisorError('VM_STATE', `VM ${name} stopped before it could be cloned (${src.state})`);
      // Again after the wait: another verb may have taken the name meanwhile. From here to the
      // definition nothing awaits, so the name stays free.
      if (h.exists(newName)) throw new RvisorError('VM_EXISTS', `a VM named ${newName} is already defined`);
      if (!run.board) throw new RvisorError('VM_STATE', `VM ${name} has not run yet (started paused): there is no machine to clone`);
      const host = run.arena.host;
      const board = run.board;
      h.commit(run.arena, run.memBytes, src.def.vcpus);
      committed = true;
      // Pages of a lazily restored original still in its snapshot are loaded now: the two share them.
      loadAllPages(host, board.ram);
      // Disks: a copy of each read-write disk in the clone's folder; read-only ones are shared.
      const folder = join(h.vmsDir, newName);
      try {
        mkdirSync(folder, { mode: 0o700 }); // a folder left by anyone else is not ours to fill or remove
      } catch (e) {
        throw new RvisorError('VM_EXISTS', `cannot make the clone's folder ${folder}: ${(e as Error).message}`);
      }
      dir = folder;
      const disks = src.def.disks.map((d, i) => {
        if (d.readonly) return { ...d };
        const copy = join(folder, `disk-${i}.img`);
        copyDiskFile(d.path, copy, fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL);
        return { ...d, path: copy };
      });
      const def: VmDefinition = { ...structuredClone(src.def), name: newName, disks, autostart: false };
      // RAM shared copy-on-write; harts copied (their TLBs emptied); the original's harts lose
      // their write permissions so their next write to each page goes through its P2M.
      const ram = shareRam(host, board.ram);
      const pagesShared = presentPages(host, ram);
      const harts = board.harts.map((s) => {
        dropTlbWrites(host, s.base);
        const base = host.allocHart();
        host.bytes.copyWithin(base, s.base, s.base + HART_TLB);
        const hart = new Hart(host, base);
        hart.setField(HART_P2M, BigInt(ram.p2m));
        hart.clearReservation();
        hart.invalidateCaches();
        return { base, run: s.run };
      });
      const state: BoardState = { ...structuredClone({ ...board, harts: [], ram: { p2m: 0, base: 0, size: 0 } }), harts, ram };
      // Its new identity (a new VM generation ID) is given on its first slice: host.ts launch marks
      // every machine started from saved state (VmRun.newGeneration).
      machine = { board: state, arena: run.arena, reason: 'cloned' };
      resume();
      const vm = h.define(def);
      defined = true;
      handed = true; // launch owns the machine and the arena room from here, also when it fails
      const info = await h.launch(vm, opts.paused === true, machine);
      return { vm: info, pausedMs: heldUntil - tHeld, durationMs: now() - t0, pagesShared };
    } catch (e) {
      if (heldUntil === 0) resume();
      if (machine && !handed) freeMachine(machine);
      if (committed && !handed) h.uncommit(run.arena, run.memBytes, src.def.vcpus);
      if (defined && h.exists(newName)) {
        try { h.undefine(newName); } catch { /* it runs after all */ }
      } else if (dir) {
        rmSync(dir, { recursive: true, force: true });
      }
      throw e;
    }
  });
}

function freeMachine(m: PreparedMachine): void {
  GuestRam.attach(m.arena.host, m.board.ram).free();
  for (const s of m.board.harts) m.arena.host.freeHart(s.base);
}
