// The host's memory manager (issue #9): what each VM is entitled to, and the mechanisms that take
// memory back — as ESX does it: reservations guaranteed by admission control, limits, shares with
// an idle memory tax under contention, the balloon first, hypervisor swap when the balloon cannot
// (or cannot fast enough), and transparent page sharing running beside them.
//
// Every VM's RAM is a P2M in shared memory (src/machine/ram.ts). Frames may be taken from a page
// only while no hart runs it: from the worker between two runs of a hart (GuestRam.settle: swap
// down to the control block's limit), or here while the VM is held between slices (page sharing,
// aging, swap of a VM that does not run). A tick (every TICK_MS) reads the counters, computes the
// targets, sets balloon targets and limits, and does a bounded amount of held work.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RvisorError } from '../errors.js';
import { CTL_LIMIT, CTL_SWAP_FD, GuestRam, ramCounters, ramCtl, type RamCounters } from '../machine/ram.js';
import { dropTlbAll } from '../machine/p2m.js';
import { balloonStatus } from '../machine/balloon-status.js';
import { PageSharing, sharedPages } from '../memory/page-sharing.js';
import { checkMemoryTune } from './definition.js';
import { entitlements, type Claim } from './entitlement.js';
import { parseSize } from './size.js';
import { closeSwapFile, openSwapFile, useNodeSwap } from './swap-file.js';
import type { Arenas } from './arenas.js';
import type { Dispatcher, VmRun } from './dispatcher.js';
import type { HostMemoryStats, VmDefinition, VmMemoryStats } from './types.js';

const PAGE = 4096;
const TICK_MS = 200;
/** An aging pass per VM this often (recency for swap, the active fraction for the idle tax). */
const AGE_MS = 4000;
/** How long the balloon has to bring a VM down to its target before the host swaps. */
const BALLOON_GRACE_MS = 3000;
/** Reclaim starts when the guests' frames pass this fraction of --host-mem, down to LOW. */
const HIGH = 0.95, LOW = 0.9;
/** Once squeezed, targets hold (no deflate) until the frames in use fall below this fraction. */
const RELEASE = 0.8;
/** No VM is squeezed below 1 MiB. */
const MIN_PAGES = 256;

export interface MemoryOptions {
  /** What the host gives to guests (`rvisor serve --host-mem`). */
  hostMemBytes: number;
  /** Page-sharing scan rate, pages per second (0: off). */
  sharingRate: number;
  /** The idle memory tax, per cent (ESX's default 75). */
  idleTaxPct: number;
}

interface Hooks {
  cpu: Dispatcher;
  arenas: Arenas;
  vmsDir: string;
  /** Runs fn while nothing runs the VM (in its verb queue, so never inside a verb such as a save
   *  that reads its frames across awaits); skipped if that run ended. */
  withHeld(name: string, run: VmRun, fn: (run: VmRun) => void): Promise<void>;
  /** The VM's swap file failed: that run stops (crashed) alone. */
  failed(name: string, run: VmRun, err: RvisorError): void;
}

interface MemVm {
  name: string;
  run: VmRun;
  reservation: number; // pages
  limit: number; // pages (nominal when none)
  hasLimit: boolean;
  shares: number;
  group: string;
  nominal: number; // pages
  swapFd: number;
  swapPath: string;
  target: number | null; // pages, under pressure
  /** The target comes from an arena near its 4 GiB (it cannot grow): swap at once, no grace. */
  hard: boolean;
  active: number | null;
  agedAt: number;
  overSince: number | null;
  busy: boolean;
}

export class MemoryManager {
  private readonly vms = new Map<string, MemVm>();
  private readonly sharing = new Map<number, PageSharing>();
  private timer: NodeJS.Timeout | undefined;
  private scanCursor = 0;
  private scanned = 0;
  private ticking = false;

  constructor(readonly opts: MemoryOptions, private readonly hooks: Hooks) {
    useNodeSwap();
    if (opts.sharingRate < 0 || !Number.isFinite(opts.sharingRate)) throw new RvisorError('USAGE', `--page-sharing-rate ${opts.sharingRate}: expected pages per second ≥ 0`);
    if (!(opts.idleTaxPct >= 0 && opts.idleTaxPct <= 99)) throw new RvisorError('USAGE', `--idle-tax ${opts.idleTaxPct}: expected 0..99 (per cent)`);
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    // Swap files left by a host that was killed hold guest memory nobody can use: remove them
    // (no VM runs while a host starts).
    let folders: string[] = [];
    try {
      folders = readdirSync(hooks.vmsDir);
    } catch {
      // no VM folder yet
    }
    for (const d of folders) rmSync(join(hooks.vmsDir, d, 'swap'), { force: true });
  }

  // ---- admission and registration ----------------------------------------------------------

  /** Reservations the running VMs hold, bytes. */
  reservedBytes(except?: string): number {
    let n = 0;
    for (const v of this.vms.values()) if (v.name !== except) n += v.reservation * PAGE;
    return n;
  }

  /** Admission control: the VM's reservation must fit beside the others' in --host-mem. */
  admit(def: VmDefinition): void {
    const { reservationBytes } = checkMemoryTune(parseSize(def.memory, 'memory'), def);
    const others = this.reservedBytes(def.name);
    if (others + reservationBytes > this.opts.hostMemBytes) {
      const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
      throw new RvisorError('INSUFFICIENT_MEMORY',
        `VM ${def.name} reserves ${mib(reservationBytes)} but the host has ${mib(this.opts.hostMemBytes - others)} unreserved ` +
        `(--host-mem ${mib(this.opts.hostMemBytes)}, ${mib(others)} reserved by running VMs)`);
    }
  }

  /** A run of the VM starts: its swap file is made in its folder. */
  attach(def: VmDefinition, run: VmRun): void {
    this.detach(def.name);
    const swapPath = join(this.hooks.vmsDir, def.name, 'swap');
    let swapFd = -1;
    try {
      swapFd = openSwapFile(swapPath);
    } catch {
      // The VM's folder cannot hold a swap file: it runs without hypervisor swap (balloon only).
    }
    const v: MemVm = {
      name: def.name, run, reservation: 0, limit: 0, hasLimit: false, shares: 0, group: '', nominal: run.memBytes / PAGE,
      swapFd, swapPath, target: null, hard: false, active: null, agedAt: performance.now(), overSince: null, busy: false,
    };
    this.tune(v, def);
    this.vms.set(def.name, v);
    this.rateShift = 0; // new pages to look at
    this.setCtl(v);
  }

  /** The run ended (its memory is freed by its owner): the swap file goes. */
  detach(name: string): void {
    const v = this.vms.get(name);
    if (!v) return;
    this.vms.delete(name);
    if (v.swapFd >= 0) closeSwapFile(v.swapFd, v.swapPath);
    this.sharing.get(v.run.arena.index)?.forget(name);
  }

  /** The definition's memory controls changed (memtune): admission is checked by the caller. */
  retune(def: VmDefinition): void {
    const v = this.vms.get(def.name);
    if (!v) return;
    this.tune(v, def);
    this.setCtl(v);
    void this.tick();
  }

  private tune(v: MemVm, def: VmDefinition): void {
    const t = checkMemoryTune(v.nominal * PAGE, def);
    v.reservation = t.reservationBytes / PAGE;
    v.hasLimit = t.limitBytes !== null;
    v.limit = t.limitBytes === null ? v.nominal : t.limitBytes / PAGE;
    v.shares = t.shares;
    v.group = def.sharingGroup ? `group:${def.sharingGroup}` : `vm:${def.name}`;
  }

  /** Writes the swap file and the page limit into the VM's control block (once its machine
   *  exists: the worker builds it in the first slice). */
  private setCtl(v: MemVm): void {
    const board = v.run.board;
    if (!board) return;
    const ctl = ramCtl(v.run.arena.host, board.ram.p2m, board.ram.size / PAGE);
    Atomics.store(ctl, CTL_SWAP_FD, v.swapFd + 1);
    Atomics.store(ctl, CTL_LIMIT, v.run.pinned ? 0 : this.swapLimit(v));
  }

  /** The limit the worker swaps down to: the user's limit, or a lower target the balloon did not
   *  reach within the grace period. 0: none. */
  private swapLimit(v: MemVm): number {
    let l = v.hasLimit ? v.limit : 0;
    if (v.target !== null && v.overSince !== null && (v.hard || performance.now() - v.overSince >= BALLOON_GRACE_MS)) {
      const t = Math.max(v.target, MIN_PAGES); // 0 in the control block means "no limit"
      l = l ? Math.min(l, t) : t;
    }
    return l;
  }

  // ---- the tick ----------------------------------------------------------------------------

  private counters(v: MemVm): RamCounters | undefined {
    const b = v.run.board;
    return b ? ramCounters(v.run.arena.host, b.ram) : undefined;
  }

  /** Frames the guests' arenas hold now. */
  private heldPages(): number {
    return this.hooks.arenas.list.reduce((n, a) => n + a.host.framesInUse, 0);
  }

  /** Entitlements under contention (entitlement.ts): while the frames in use pass HIGH × a
   *  budget, pages are taken from the VMs (lowest shares per taxed page first, never below a
   *  reservation) down to LOW × the budget. Two budgets: --host-mem for all arenas, and each
   *  arena's own capacity for the VMs in it (an arena cannot grow past 4 GiB). */
  private computeTargets(list: { v: MemVm; present: number }[]): void {
    const claim = (x: { v: MemVm; present: number }): Claim => ({
      pages: Math.min(x.present, x.v.limit), reservation: x.v.reservation, shares: x.v.shares, active: x.v.active,
    });
    const targets = new Map<MemVm, number>();
    const hard = new Set<MemVm>();
    const pool = (members: { v: MemVm; present: number }[], held: number, budget: number, isHard: boolean) => {
      // Hysteresis: squeezing starts past HIGH and goes down to LOW; the targets then hold (at what
      // the VMs have) until the frames in use fall below RELEASE, so balloons do not swing.
      const squeezed = members.some((x) => x.v.target !== null);
      if (!(held > budget * HIGH || (squeezed && held > budget * RELEASE))) return;
      const kept = entitlements(members.map(claim), Math.max(0, held - Math.floor(budget * LOW)), this.opts.idleTaxPct);
      members.forEach((x, i) => {
        targets.set(x.v, Math.min(targets.get(x.v) ?? Infinity, kept[i]!));
        if (isHard) hard.add(x.v);
      });
    };
    pool(list, this.heldPages(), Math.floor(this.opts.hostMemBytes / PAGE), false);
    for (const a of this.hooks.arenas.list) {
      pool(list.filter((x) => x.v.run.arena === a), a.host.framesInUse, Math.floor(this.hooks.arenas.capacity / PAGE), true);
    }
    for (const { v } of list) {
      v.target = targets.get(v) ?? null;
      v.hard = hard.has(v);
    }
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = performance.now();
      const list: { v: MemVm; present: number }[] = [];
      for (const v of this.vms.values()) {
        const c = this.counters(v);
        if (!c) continue;
        list.push({ v, present: c.present });
      }
      this.computeTargets(list);
      const held: Promise<void>[] = [];
      for (const { v, present } of list) {
        this.steer(v, present, now);
        this.setCtl(v);
        const limit = this.swapLimit(v);
        const mustSwap = limit > 0 && present > limit && !v.run.inFlight && !v.run.pinned;
        const mustAge = now - v.agedAt >= AGE_MS;
        if ((mustSwap || mustAge) && !v.busy) held.push(this.held(v, (ram) => {
          if (mustAge) this.age(v, ram);
          if (mustSwap) ram.reclaim(limit);
        }));
      }
      held.push(...this.scanSome(list.map((x) => x.v), list.reduce((n, x) => n + x.present, 0)));
      // Not awaited: a VM whose verb queue is busy (a migration, a long save) must not stop the
      // tick for the others; `busy` keeps one held job per VM.
      void Promise.all(held);
    } finally {
      this.ticking = false;
    }
  }

  /** Sets the balloon target: the guest gives back what it holds beyond its target (or its
   *  limit), and gets it back once there is room again. */
  private steer(v: MemVm, present: number, now: number): void {
    const b = v.run.board ? balloonStatus(v.run.board) : undefined;
    const want = Math.min(v.limit, v.target ?? v.limit);
    if (present > want) v.overSince ??= now;
    else v.overSince = null;
    if (!b) return;
    // The balloon holds the pages the guest must do without: beyond `want`, from what it has
    // touched (the rest of its memory costs the host nothing yet).
    let balloon = b.actualPages + (present - want);
    if (!v.hasLimit && v.target === null) balloon = 0;
    else if (v.hasLimit && v.target === null) balloon = Math.max(balloon, v.nominal - v.limit);
    balloon = Math.max(0, Math.min(v.nominal - Math.max(v.reservation, 1024), Math.round(balloon)));
    // Small moves are noise: steer in steps of at least 1 MiB (256 pages).
    if (Math.abs(balloon - (v.run.balloonTarget ?? 0)) >= 256 || (balloon === 0 && (v.run.balloonTarget ?? 0) !== 0)) {
      v.run.balloonTarget = balloon;
      this.hooks.cpu.wake(v.run);
    }
  }

  /** Runs fn on the VM's RAM while it is held (nothing runs it), then drops its harts' TLBs. */
  private held(v: MemVm, fn: (ram: GuestRam) => void): Promise<void> {
    v.busy = true;
    return this.hooks.withHeld(v.name, v.run, (run) => {
      const board = run.board;
      if (!board) return;
      const host = run.arena.host;
      const ram = GuestRam.attach(host, board.ram);
      ram.onMoved = undefined;
      ram.onFlush = undefined;
      try {
        fn(ram);
      } catch (e) {
        // The VM stops alone (after this hold ends); its pages not yet written stay in memory.
        if (e instanceof RvisorError && e.code === 'SWAP_FAILED') this.hooks.failed(v.name, run, e);
        else throw e;
      } finally {
        for (const h of board.harts) dropTlbAll(host, h.base);
      }
    }).catch(() => undefined).finally(() => {
      v.busy = false;
    });
  }

  private age(v: MemVm, ram: GuestRam): void {
    const [used, backed] = ram.age();
    v.active = backed ? used / backed : 0;
    v.agedAt = performance.now();
  }

  /** Page sharing: this tick's share of the scan rate, spread over the VMs round-robin. */
  /** After a whole pass over the guests' pages found nothing to merge or drop, the scanner halves
   *  its rate (down to 1/32 of --page-sharing-rate): idle guests that do not change cost little.
   *  Anything merged, or a new VM, restores the full rate. */
  private scanSome(list: MemVm[], presentSum: number): Promise<void>[] {
    if (!this.opts.sharingRate || !list.length) return [];
    let budget = Math.max(256, Math.ceil((this.opts.sharingRate * TICK_MS) / 1000 / 2 ** this.rateShift));
    const out: Promise<void>[] = [];
    const per = Math.max(256, Math.ceil(budget / list.length));
    let visited = 0;
    for (; visited < list.length && budget > 0; visited++) {
      const v = list[(this.scanCursor + visited) % list.length]!;
      if (v.busy) continue;
      const n = Math.min(per, budget);
      budget -= n;
      out.push(this.held(v, (ram) => {
        const s = this.scanner(v.run.arena.index, v.run.arena.host).scan({ key: v.name, group: v.group, ram: ram.save() }, n);
        this.scanned += s.scanned;
        if (s.merged + s.promoted + s.zeroDropped > 0) {
          this.quietPages = 0;
          this.rateShift = 0;
        } else if ((this.quietPages += s.scanned) >= presentSum) {
          this.quietPages = 0;
          this.rateShift = Math.min(this.rateShift + 1, 5);
        }
      }));
    }
    this.scanCursor = (this.scanCursor + visited) % list.length;
    return out;
  }
  private quietPages = 0;
  private rateShift = 0;

  private scanner(index: number, host: GuestRamHost): PageSharing {
    let s = this.sharing.get(index);
    if (!s) {
      s = new PageSharing(host);
      this.sharing.set(index, s);
    }
    return s;
  }

  // ---- statistics --------------------------------------------------------------------------

  vmMemory(def: VmDefinition, run: VmRun | undefined): VmMemoryStats {
    const nominal = parseSize(def.memory, 'memory');
    const t = checkMemoryTune(nominal, def);
    const v = this.vms.get(def.name);
    const c = v ? this.counters(v) : undefined;
    const b = run?.board ? balloonStatus(run.board) : undefined;
    if (run && b) {
      run.balloonStats = true; // the guest's figures as of now arrive with its next slice
      this.hooks.cpu.wake(run);
    }
    const shared = run?.board ? sharedPages(run.arena.host, run.board.ram, this.sharing.get(run.arena.index)) : 0;
    return {
      nominalBytes: nominal, presentBytes: (c?.present ?? 0) * PAGE, sharedBytes: shared * PAGE, zeroBytes: (c?.zero ?? 0) * PAGE,
      balloonedBytes: (c?.ballooned ?? 0) * PAGE, swappedBytes: (c?.swapped ?? 0) * PAGE, swapIns: c?.swapIns ?? 0, swapOuts: c?.swapOuts ?? 0,
      reservationBytes: t.reservationBytes, limitBytes: t.limitBytes, shares: t.shares,
      targetBytes: v?.target == null ? null : v.target * PAGE, activeFraction: v?.active ?? null,
      balloon: b ? { targetBytes: b.targetPages * PAGE, actualBytes: b.actualPages * PAGE, stats: b.stats } : null,
    };
  }

  hostMemory(): HostMemoryStats {
    let present = 0, shared = 0, zero = 0, ballooned = 0, swapped = 0;
    for (const v of this.vms.values()) {
      const m = this.vmMemoryOf(v);
      present += m.present;
      shared += m.shared;
      zero += m.zero;
      ballooned += m.ballooned;
      swapped += m.swapped;
    }
    let stableFrames = 0, stablePages = 0;
    for (const s of this.sharing.values()) {
      const st = s.stats();
      stableFrames += st.stableFrames;
      stablePages += st.stablePages;
    }
    return {
      hostMemBytes: this.opts.hostMemBytes, reservedBytes: this.reservedBytes(), heldBytes: this.heldPages() * PAGE,
      presentBytes: present * PAGE, sharedBytes: shared * PAGE, zeroBytes: zero * PAGE, balloonedBytes: ballooned * PAGE, swappedBytes: swapped * PAGE,
      sharing: { stableFrames, stablePages, scannedPages: this.scanned, rateLimitPagesPerSec: Math.round(this.opts.sharingRate / 2 ** this.rateShift) },
    };
  }

  private vmMemoryOf(v: MemVm): { present: number; shared: number; zero: number; ballooned: number; swapped: number } {
    const c = this.counters(v);
    const board = v.run.board;
    return {
      present: c?.present ?? 0, zero: c?.zero ?? 0, ballooned: c?.ballooned ?? 0, swapped: c?.swapped ?? 0,
      shared: board ? sharedPages(v.run.arena.host, board.ram, this.sharing.get(v.run.arena.index)) : 0,
    };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const name of [...this.vms.keys()]) this.detach(name);
    for (const s of this.sharing.values()) s.dispose();
    this.sharing.clear();
  }
}

type GuestRamHost = ConstructorParameters<typeof PageSharing>[0];
