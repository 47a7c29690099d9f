// A whole machine into a snapshot and back (docs/snapshot-format.md): the harts (Hart.save), the
// board's plain-data state (VirtBoard.save) and the guest RAM, of which only pages that are present
// and not all zero are stored. Restoring allocates fresh RAM, P2M and hart regions in the target
// HostMemory and returns a BoardState that `new VirtBoard(cfg, host, { restore })` runs; anything
// allocated is freed again when the file turns out corrupt halfway. Platform-neutral.
import type { HostMemory } from '../memory/host-memory.js';
import { Hart, type HartState } from '../cpu/hart.js';
import { HART_P2M, HART_RAM_BASE, HART_RAM_SIZE, P2M_FRAME_MASK } from '../cpu/layout.js';
import { GuestRam } from '../machine/ram.js';
import type { BoardState } from '../machine/board.js';
import { ticksAt } from '../machine/clock.js';
import { TIMEBASE_HZ, RAM_BASE } from '../machine/memory-map.js';
import { RvisorError } from '../errors.js';
import { lazyPages } from './lazy.js';
import { decodePages, encodePages, PAGES_PER_SECTION, type SnapshotReader, type SnapshotWriter } from './format.js';

const PAGE = 4096;

/** META: what wrote the file and when. */
export interface SnapshotMeta {
  format: 1;
  /** rvisor version that wrote it. */
  rvisor: string;
  /** ISO time of the save. */
  created: string;
  /** Host wall clock at the save, ns since the epoch (decimal string): the clock catch-up's origin. */
  wallNs: string;
  /** `rvisor run` or a host (`rvisor serve`). */
  origin: 'run' | 'serve';
  /** The VM's name on the host that saved it (null from `rvisor run`). */
  name: string | null;
  /** The VM was paused when saved (a host restores it paused again unless told otherwise). */
  paused: boolean;
}

/** A boot file as the machine was configured with it. */
export interface FileIdentity {
  path: string;
  size: number;
  sha256: string;
}

/** A disk attached to the machine, and what it was at the save. */
export interface DiskIdentity {
  path: string;
  readOnly: boolean;
  serial?: string;
  /** The image format given for the disk (absent: probed when opened). */
  format?: 'raw' | 'qcow2';
  size: number;
  /** stat times in ns (decimal strings): any write moves ctime, and users cannot set it back. */
  mtimeNs: string;
  ctimeNs: string;
  dev: string;
  ino: string;
  /** Content hash for disks up to 64 MiB (null above): a disk copied or touched without a
   *  change of content is still accepted. */
  sha256: string | null;
  /** A qcow2 disk's backing files, nearest first, as they were at the save (stat identity):
   *  the guest's view of its disk includes them. */
  backing?: { path: string; size: number; mtimeNs: string; ctimeNs: string; dev: string; ino: string }[];
}

/** CONF: the machine configuration the state belongs to. */
export interface SnapshotConfig {
  vcpus: number;
  memBytes: number;
  append: string;
  kernel: FileIdentity | null;
  initrd: FileIdentity | null;
  bios: FileIdentity | null;
  disks: DiskIdentity[];
  /** Scheduler settings of a host's VM (weight, cap), for a restore that defines the VM anew. */
  sched?: { weight: number; cap: number };
  /** Deterministic mode (src/machine/deterministic.ts): the machine's seed. Such a machine's
   *  clock is restored as saved (no catch-up with the host's wall clock). */
  deterministic?: { seed: string };
}

interface SavedHart {
  run: BoardState['harts'][number]['run'];
  state: HartState;
}

export interface CaptureStats {
  pagesPresent: number;
  pagesStored: number;
}

/** Whether the 4 KiB page at byte offset `at` of `b` is all zero. */
export function isZeroPage(b: Uint8Array, at: number): boolean {
  const w = new BigUint64Array(b.buffer, b.byteOffset + at, PAGE / 8);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0n) return false;
  return true;
}

/** Writes HART, BORD and the PAGE sections of the machine whose state is `state` (its harts and
 *  RAM in `host`; nothing may run it meanwhile). `nowMs` is the current time in the timebase of
 *  the state's clock: the stored clock is stopped at that instant. */
export function captureMachine(w: SnapshotWriter, host: HostMemory, state: BoardState, nowMs: number): CaptureStats {
  const harts: SavedHart[] = state.harts.map((h) => ({ run: h.run, state: new Hart(host, h.base).save() }));
  w.json('HART', harts);
  const board: BoardState = {
    ...state,
    // Where harts and RAM were in this host's memory means nothing to the one that restores.
    harts: state.harts.map((h) => ({ base: 0, run: h.run })),
    ram: { p2m: 0, base: state.ram.base, size: state.ram.size },
    clock: { ticks: ticksAt(state.clock, nowMs, TIMEBASE_HZ).toString(), running: false },
  };
  w.json('BORD', board);
  const pages = state.ram.size / PAGE;
  let present = 0, stored = 0;
  let idx: number[] = [], data: Uint8Array[] = [];
  const flush = () => {
    if (!idx.length) return;
    w.section('PAGE', encodePages(idx, data), { compress: true, pages: { first: idx[0]!, last: idx[idx.length - 1]!, count: idx.length } });
    idx = [];
    data = [];
  };
  const view = host.view, bytes = host.bytes;
  for (let p = 0; p < pages; p++) {
    const f = view.getUint32(state.ram.p2m + p * 4, true) & P2M_FRAME_MASK;
    if (f === 0) continue;
    present++;
    const at = f * PAGE;
    if (isZeroPage(bytes, at)) continue;
    stored++;
    idx.push(p);
    data.push(bytes.subarray(at, at + PAGE));
    if (idx.length === PAGES_PER_SECTION) flush();
  }
  flush();
  return { pagesPresent: present, pagesStored: stored };
}

export interface MaterializeOptions {
  config: SnapshotConfig;
  meta: SnapshotMeta;
  /** Current time in the timebase the board's clock will run on (hostNowMs of its BoardConfig). */
  nowMs: number;
  /** Host wall clock now, ns since the epoch. */
  wallNowNs: bigint;
  /** Whether the clock runs from now on (false: the VM is restored paused). */
  running: boolean;
  /** Lazy restore: copy no page now; the RAM loads each stored page from this file (open as
   *  `fd` in this process, kept open while the machine may need it) on first touch. */
  lazy?: { path: string; fd: number };
}

/** Rebuilds the machine in `host`: fresh RAM (pages copied in, or loaded on first touch with
 *  `lazy`), P2M and harts. Checks every
 *  section it reads; on any failure frees what it allocated and throws. The clock catches up with
 *  the host's wall clock (mtime advances by the wall time since the save; never backwards),
 *  except a deterministic machine's, which continues exactly where it was saved. */
export function materializeMachine(r: SnapshotReader, host: HostMemory, o: MaterializeOptions): BoardState {
  const what = r.what;
  const bad = (m: string) => new RvisorError('SNAPSHOT_CORRUPT', `${what}: ${m}`);
  const harts = r.json<SavedHart[]>(r.find('HART'));
  const board = r.json<BoardState>(r.find('BORD'));
  if (!Array.isArray(harts) || harts.length !== o.config.vcpus) throw bad(`the HART section holds ${Array.isArray(harts) ? harts.length : 'no'} harts, the configuration ${o.config.vcpus}`);
  if (board?.version !== 1 || !Array.isArray(board.harts) || board.harts.length !== harts.length || board.ram?.size !== o.config.memBytes ||
      board.ram.base !== RAM_BASE || typeof board.clock?.ticks !== 'string' || !/^\d+$/.test(board.clock.ticks)) {
    throw bad('the BORD section does not fit the configuration');
  }
  const lazy = o.lazy ? lazyPages(r, o.lazy.path, o.lazy.fd, o.config.memBytes / PAGE) : undefined;
  const ram = new GuestRam(host, RAM_BASE, o.config.memBytes, undefined, lazy);
  const bases: number[] = [];
  try {
    const pages = ram.pages;
    for (const s of lazy ? [] : r.sections) {
      if (s.tag !== 'PAGE') continue;
      decodePages(r.payload(s), pages, what, (p, bytes) => {
        const f = ram.frame(p, true);
        host.bytes.set(bytes, f);
      });
    }
    for (const h of harts) {
      const base = host.allocHart();
      bases.push(base);
      const hart = new Hart(host, base);
      try {
        hart.restore(h.state);
      } catch (e) {
        throw bad(`a hart's state is malformed (${(e as Error).message})`);
      }
      // Where its RAM is comes from this host, never from the file.
      hart.setField(HART_P2M, BigInt(ram.p2m));
      hart.setField(HART_RAM_BASE, BigInt(RAM_BASE));
      hart.setField(HART_RAM_SIZE, BigInt(o.config.memBytes));
    }
  } catch (e) {
    ram.free();
    for (const b of bases) host.freeHart(b);
    throw e;
  }
  const gapNs = o.wallNowNs - BigInt(o.meta.wallNs);
  // A deterministic machine's clock is a function of its instructions: nothing of the host's
  // time since the save may reach it.
  const catchUp = gapNs > 0n && !board.deterministic ? (gapNs * BigInt(TIMEBASE_HZ)) / 1000000000n : 0n;
  return {
    ...board,
    harts: board.harts.map((h, i) => ({ base: bases[i]!, run: h.run })),
    ram: ram.save(),
    clock: { ticks: (BigInt(board.clock.ticks) + catchUp).toString(), running: o.running, atMs: o.nowMs },
  };
}
