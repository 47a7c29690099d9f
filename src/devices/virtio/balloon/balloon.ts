// virtio-balloon, the traditional memory balloon (virtio 1.2 §5.5), device id 5, as Linux's stock
// driver (drivers/virtio/virtio_balloon.c) drives it. The host sets a target (num_pages, 4 KiB
// pages the guest should give back) and interrupts; the driver allocates pages and sends their
// PFNs on the inflate queue (the host releases their frames), or sends PFNs back on the deflate
// queue when the target falls, and writes how many it holds to `actual`.
//
// Features offered: STATS_VQ (the driver keeps one buffer of memory statistics on the stats queue;
// the device "uses" it whenever it wants fresh values, every statsIntervalMs of board time, and the
// driver refills and re-adds it), DEFLATE_ON_OOM (the driver deflates under memory pressure; the
// device has nothing to do for it) and REPORTING (free page reporting: the driver hands over
// ranges of free memory, whose frames the host releases; they read as zero afterwards). Not
// MUST_TELL_HOST, FREE_PAGE_HINT or PAGE_POISON.
//
// Queues exist in the order Linux's virtio-mmio find_vqs numbers them, absent ones taking no index:
// 0 inflateq, 1 deflateq, then statsq when STATS_VQ was negotiated, then reporting_vq when
// REPORTING was (so 2 and 3 with Linux, which accepts both).
//
// Everything the guest gives is checked: PFNs outside RAM are counted and ignored, a trailing
// partial PFN or stats entry is ignored, the work one buffer can cause is bounded, and so is the
// work of one call: buffers past BALLOON_WORK_PER_CALL page operations wait for the board's next
// poll() (a legitimate driver, which posts one buffer at a time and waits, never gets there).
import type { Stateful } from '../../device.js';
import { readFromChain } from '../queue/chain.js';
import type { DescriptorChain, Segment } from '../queue/virtqueue.js';
import type { VirtioDevice, VirtioHost } from '../transport/virtio-device.js';
import { BALLOON_STAT_SIZE, BALLOON_STATS_MAX_ENTRIES, parseStats } from './stats.js';

export const VIRTIO_ID_BALLOON = 5;
/** §5.5.3 feature bits. */
export const VIRTIO_BALLOON_F_MUST_TELL_HOST = 1n << 0n;
export const VIRTIO_BALLOON_F_STATS_VQ = 1n << 1n;
export const VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 1n << 2n;
export const VIRTIO_BALLOON_F_REPORTING = 1n << 5n;
/** §5.5.4 configuration layout: le32 num_pages (device), le32 actual (driver). */
export const BALLOON_CFG_NUM_PAGES = 0;
export const BALLOON_CFG_ACTUAL = 4;
export const BALLOON_CFG_SIZE = 8;
/** Balloon pages are always 4 KiB (VIRTIO_BALLOON_PFN_SHIFT). */
export const BALLOON_PFN_SHIFT = 12;
const PAGE = 1 << BALLOON_PFN_SHIFT;
/** Most PFNs taken from one inflate/deflate buffer (Linux sends at most 256): the rest is ignored. */
export const BALLOON_MAX_PFNS_PER_BUFFER = 65536;
/** Most pages released from one free page report (Linux reports at most 32 ranges of up to 4 MiB). */
export const BALLOON_MAX_REPORT_PAGES = 65536;
/** Page operations one call (a notify, or a poll) does before it leaves the rest of the available
 *  buffers for the next poll, so that a flood of buffers cannot hold the host thread for long. */
export const BALLOON_WORK_PER_CALL = 1 << 18;

/** The guest RAM the balloon gives back and takes again, by page index from `base`
 *  (GuestRam in the board). */
export interface BalloonMemory {
  readonly base: number;
  readonly pages: number;
  /** Releases the page's frame: ballooned (the guest gave it up) or demand-zero (reported free). */
  discard(index: number, ballooned: boolean): void;
  /** The guest takes a ballooned page back. */
  undiscard(index: number): void;
  /** After a batch of discards, before the guest runs again: drop the translations that reach the
   *  frames they freed. */
  flushDiscards(): void;
}

export type BalloonQueue = 'inflate' | 'deflate' | 'stats' | 'reporting';

export interface VirtioBalloonOptions {
  memory: BalloonMemory;
  /** Board time, ms (the stats request interval is counted in it). */
  nowMs(): number;
  /** Ask for fresh statistics this often (ms of board time); 0: never after the first. Default 2000. */
  statsIntervalMs?: number;
  queueSize?: number;
  /** Page operations per call before the rest waits for the next poll (BALLOON_WORK_PER_CALL). */
  workPerCall?: number;
}

export interface BalloonCounters {
  /** Pages inflated (released as ballooned), deflated (taken back), reported free (released). */
  inflated: number;
  deflated: number;
  reported: number;
  /** PFNs outside guest RAM and buffers cut short (too long, partial entries). */
  badPfns: number;
  badBuffers: number;
}

export interface VirtioBalloonState extends BalloonCounters {
  /** Names the device in a board's list of virtio states (src/machine/balloon-status.ts). */
  kind: 'virtio-balloon';
  /** num_pages: the host's target, in 4 KiB pages. */
  target: number;
  /** actual, as the driver last wrote it. */
  actual: number;
  /** The last statistics by name (see stats.ts), and the board time they arrived. */
  stats: Record<string, number>;
  statsAtMs?: number;
  /** Head index of the stats buffer the device holds (to use when it wants fresh values). */
  statsHead?: number;
  /** Board time of the next stats request. */
  nextStatsMs?: number;
}

/** True for a saved balloon state (what a board's virtio entry holds for this device). */
export function isBalloonState(s: unknown): s is VirtioBalloonState {
  return typeof s === 'object' && s !== null && (s as { kind?: unknown }).kind === 'virtio-balloon';
}

export class VirtioBalloon implements VirtioDevice, Stateful<VirtioBalloonState> {
  readonly deviceId = VIRTIO_ID_BALLOON;
  readonly numQueues = 4;
  readonly features = VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_DEFLATE_ON_OOM | VIRTIO_BALLOON_F_REPORTING;
  readonly statsIntervalMs: number;
  private host: VirtioHost | undefined;
  private readonly mem: BalloonMemory;
  private readonly nowMs: () => number;
  private readonly queueSize: number;
  private readonly workPerCall: number;
  private s: VirtioBalloonState = fresh();
  private readonly chunk = new Uint8Array(4096);

  constructor(options: VirtioBalloonOptions) {
    this.mem = options.memory;
    this.nowMs = options.nowMs;
    const iv = options.statsIntervalMs ?? 2000;
    this.statsIntervalMs = Number.isFinite(iv) && iv > 0 ? iv : 0;
    this.queueSize = options.queueSize ?? 128;
    this.workPerCall = options.workPerCall ?? BALLOON_WORK_PER_CALL;
  }

  get target(): number {
    return this.s.target;
  }
  get actual(): number {
    return this.s.actual;
  }
  get counters(): BalloonCounters {
    const { inflated, deflated, reported, badPfns, badBuffers } = this.s;
    return { inflated, deflated, reported, badPfns, badBuffers };
  }
  get stats(): Readonly<Record<string, number>> {
    return this.s.stats;
  }
  get statsAtMs(): number | undefined {
    return this.s.statsAtMs;
  }

  /** Sets num_pages (clamped to 0..RAM pages) and interrupts the driver when it changed. */
  setTarget(pages: number): void {
    const t = Math.max(0, Math.min(Math.floor(Number.isFinite(pages) ? pages : 0), this.mem.pages));
    if (t === this.s.target) return;
    this.s.target = t;
    this.host?.configChanged();
  }

  /** Board time (ms) of the next stats request, when one will be made (a buffer is held and the
   *  interval is not 0): a board whose harts all wait wakes for it. */
  nextPollMs(): number | undefined {
    return this.s.statsHead !== undefined ? this.s.nextStatsMs : undefined;
  }

  /** The board calls this as time passes: goes on with inflate, deflate and report buffers left
   *  waiting by a call that did its share of work, and uses the held stats buffer when a request
   *  is due. */
  poll(): void {
    for (const role of ['inflate', 'deflate', 'reporting'] as const) {
      const i = this.queueIndex(role);
      if (i !== undefined && (this.host?.queue(i)?.pending() ?? 0) > 0) this.notify(i);
    }
    const s = this.s;
    if (s.statsHead === undefined || s.nextStatsMs === undefined) return;
    if (this.nowMs() < s.nextStatsMs) return;
    const index = this.queueIndex('stats');
    const vq = index === undefined ? undefined : this.host?.queue(index);
    if (!vq || index === undefined) return;
    const head = s.statsHead;
    s.statsHead = undefined;
    s.nextStatsMs = undefined;
    vq.push(head, 0);
    this.host!.queueUsed(index);
  }

  /** Asks the guest for fresh statistics at the next poll (a host that polls only when someone
   *  looks: an idle guest is not woken every interval). No-op until the driver gave a buffer. */
  requestStats(): void {
    if (this.s.statsHead !== undefined) this.s.nextStatsMs = this.nowMs();
  }

  // ---- VirtioDevice ----------------------------------------------------------------------------

  queueMaxSize(): number {
    return this.queueSize;
  }
  attach(host: VirtioHost): void {
    this.host = host;
  }

  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.configByte(offset + i);
    return v >>> 0;
  }

  /** Only `actual` is the driver's to write (any width, little-endian); num_pages is read-only. */
  writeConfig(offset: number, value: number, size: number): void {
    let actual = this.s.actual;
    for (let i = 0; i < size; i++) {
      const o = offset + i - BALLOON_CFG_ACTUAL;
      if (o < 0 || o > 3) continue;
      const byte = Math.floor(value / 2 ** (8 * i)) & 0xff;
      actual = (actual & ~(0xff << (8 * o))) | (byte << (8 * o));
    }
    this.s.actual = actual >>> 0;
  }

  /** The driver reset the device: the held stats buffer is gone; target, counters and the last
   *  statistics stay (the host's view), `actual` is 0 until the driver writes it again. */
  reset(): void {
    this.s.statsHead = undefined;
    this.s.nextStatsMs = undefined;
    this.s.actual = 0;
  }

  notify(index: number): void {
    const host = this.host;
    const vq = host?.queue(index);
    const role = this.queueRole(index);
    if (!host || !vq || !role) return;
    let work = 0;
    for (let chain = vq.pop(); chain; chain = vq.pop()) {
      if (role === 'stats') {
        this.takeStats(chain);
        continue; // held, used later by poll()
      }
      work += role === 'reporting' ? this.report(chain) : this.pfns(chain, role === 'inflate');
      if (!vq.push(chain.head, 0)) break;
      if (work >= this.workPerCall) break; // the rest at the next poll()
    }
    this.mem.flushDiscards();
    host.queueUsed(index);
  }

  // ---- Stateful --------------------------------------------------------------------------------

  save(): VirtioBalloonState {
    return { ...this.s, stats: { ...this.s.stats } };
  }
  restore(st: VirtioBalloonState): void {
    const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? Math.floor(x) : 0);
    const opt = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
    const stats: Record<string, number> = {};
    for (const [k, v] of Object.entries(st.stats ?? {})) if (typeof v === 'number') stats[k] = v;
    const head = opt(st.statsHead);
    this.s = {
      kind: 'virtio-balloon',
      target: Math.min(n(st.target), this.mem.pages), actual: n(st.actual) >>> 0,
      inflated: n(st.inflated), deflated: n(st.deflated), reported: n(st.reported),
      badPfns: n(st.badPfns), badBuffers: n(st.badBuffers),
      stats, statsAtMs: opt(st.statsAtMs),
      statsHead: head !== undefined && head >= 0 && head < 0x10000 ? Math.floor(head) : undefined,
      nextStatsMs: opt(st.nextStatsMs),
    };
  }

  // ---------------------------------------------------------------------------------------------

  private configByte(o: number): number {
    if (o < 0 || o >= BALLOON_CFG_SIZE) return 0;
    const word = o < BALLOON_CFG_ACTUAL ? this.s.target : this.s.actual;
    return (word >>> (8 * (o & 3))) & 0xff;
  }

  /** The roles of the queues the driver set up, in index order (see the header). */
  private roles(): BalloonQueue[] {
    const f = this.host?.driverFeatures ?? 0n;
    const r: BalloonQueue[] = ['inflate', 'deflate'];
    if (f & VIRTIO_BALLOON_F_STATS_VQ) r.push('stats');
    if (f & VIRTIO_BALLOON_F_REPORTING) r.push('reporting');
    return r;
  }
  queueRole(index: number): BalloonQueue | undefined {
    return this.roles()[index];
  }
  queueIndex(role: BalloonQueue): number | undefined {
    const i = this.roles().indexOf(role);
    return i < 0 ? undefined : i;
  }

  /** An inflate or deflate buffer: le32 PFNs in the device-readable bytes. Returns the PFNs read. */
  private pfns(chain: DescriptorChain, inflate: boolean): number {
    const s = this.s;
    let bytes = chain.readableBytes;
    if (bytes % 4 !== 0) s.badBuffers++;
    bytes -= bytes % 4;
    if (bytes > 4 * BALLOON_MAX_PFNS_PER_BUFFER) {
      s.badBuffers++;
      bytes = 4 * BALLOON_MAX_PFNS_PER_BUFFER;
    }
    const basePfn = this.mem.base / PAGE;
    for (let off = 0; off < bytes; off += this.chunk.length) {
      const part = this.chunk.subarray(0, Math.min(this.chunk.length, bytes - off));
      if (!readFromChain(this.host!.mem, chain.readable, off, part)) {
        s.badBuffers++;
        return off / 4;
      }
      const v = new DataView(part.buffer, part.byteOffset, part.byteLength);
      for (let i = 0; i < part.length; i += 4) {
        const index = v.getUint32(i, true) - basePfn;
        if (index < 0 || index >= this.mem.pages) {
          s.badPfns++;
        } else if (inflate) {
          this.mem.discard(index, true);
          s.inflated++;
        } else {
          this.mem.undiscard(index);
          s.deflated++;
        }
      }
    }
    return bytes / 4;
  }

  /** A free page report: every whole 4 KiB page inside RAM of each range is released (at most
   *  BALLOON_MAX_REPORT_PAGES per buffer). Linux posts the ranges device-writable; either kind
   *  counts. Returns the pages released. */
  private report(chain: DescriptorChain): number {
    let budget = BALLOON_MAX_REPORT_PAGES;
    const ranges: Segment[] = [...chain.readable, ...chain.writable];
    const first = this.mem.base / PAGE;
    for (const r of ranges) {
      const lo = Math.max(Math.ceil(r.addr / PAGE) - first, 0);
      const hi = Math.min(Math.floor((r.addr + r.len) / PAGE) - first, this.mem.pages);
      for (let p = lo; p < hi; p++) {
        if (budget-- <= 0) {
          this.s.badBuffers++;
          return BALLOON_MAX_REPORT_PAGES;
        }
        this.mem.discard(p, false);
        this.s.reported++;
      }
    }
    return BALLOON_MAX_REPORT_PAGES - budget;
  }

  /** A stats buffer: parse what the driver filled in, hold the buffer until the next request. */
  private takeStats(chain: DescriptorChain): void {
    const s = this.s;
    const vq = this.host!.queue(this.queueIndex('stats')!)!;
    // A second buffer while one is held (a confused driver): give the older one back.
    if (s.statsHead !== undefined) vq.push(s.statsHead, 0);
    const len = Math.min(chain.readableBytes, BALLOON_STATS_MAX_ENTRIES * BALLOON_STAT_SIZE);
    const bytes = new Uint8Array(len - (len % BALLOON_STAT_SIZE));
    if (bytes.length > 0 && readFromChain(this.host!.mem, chain.readable, 0, bytes)) {
      s.stats = parseStats(bytes); // each buffer is the guest's whole set
      s.statsAtMs = this.nowMs();
    }
    s.statsHead = chain.head;
    s.nextStatsMs = this.statsIntervalMs > 0 ? this.nowMs() + this.statsIntervalMs : undefined;
  }
}

function fresh(): VirtioBalloonState {
  return { kind: 'virtio-balloon', target: 0, actual: 0, inflated: 0, deflated: 0, reported: 0, badPfns: 0, badBuffers: 0, stats: {} };
}
