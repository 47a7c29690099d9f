// The source side of a live migration (protocol.ts, docs/migration.md), as Xen and QEMU do it:
// pre-copy rounds while the guest runs — round 0 sends every present page, each later round the
// pages written since the previous one (the dirty log on the P2M write path: machine/p2m.ts) and,
// with --copy-storage, the disk chunks written since (HostDisk.takeDirty) — until what is left
// would take no longer than the downtime limit at the measured rate; then the guest stops, the
// rest and the machine state go, the destination builds the VM, and on `commit` runs it. A guest
// that dirties memory faster than the link carries it is throttled (auto-converge: its scheduler
// cap is lowered step by step). A cancel, a dead link or a refusal before `commit` leaves the VM
// running at the source, as it was.
import { WebSocket } from 'ws';
import { ERROR_CODES, RvisorError, type ErrorCode } from '../../errors.js';
import { Hart } from '../../cpu/hart.js';
import { ticksAt } from '../../machine/clock.js';
import { TIMEBASE_HZ } from '../../machine/memory-map.js';
import { CTL_LIMIT, ramCtl } from '../../machine/ram.js';
import type { BoardState } from '../../machine/board.js';
import { collectDirty, dropTlbWrites, frameOf, protectAll } from '../../machine/p2m.js';
import { isZeroPage } from '../../snapshot/machine.js';
import { DIRTY_CHUNK } from '../../host/disk/write-log.js';
import type { HostDisk } from '../../host/disk/host-disk.js';
import { now, type Dispatcher, type VmRun } from '../dispatcher.js';
import { loadAllPages } from '../lazy-pages.js';
import type { HostEvent, MigrateOptions, MigrationInfo, VmDefinition, VmInfo, VmState } from '../types.js';
import { encodeDisk, encodePages, encodeZero, MIGRATION_VERSION, type DestinationMessage, type SourceMessage } from './protocol.js';

const PAGE = 4096;
const BATCH = 128; // pages per message (512 KiB: the API takes WebSocket messages up to 1 MiB)
const MAX_ROUNDS = 30;
const REPLY_MS = 30000;
export const DEFAULT_MAX_DOWNTIME_MS = 300;
/** Errors the destination reported itself (an `error` message), as opposed to a lost link. */
const remoteErrors = new WeakSet<Error>();

export interface MigrateVm {
  def: VmDefinition;
  state: VmState;
  run: VmRun | undefined;
}

/** What the sender needs of the host (host.ts hands these in). */
export interface SendHost<V extends MigrateVm> {
  cpu: Dispatcher;
  rvisorVersion: string;
  info(vm: V): VmInfo;
  emit(e: HostEvent): void;
  /** The VM now runs at the destination: its run here ends (shutoff, reason migrated). */
  migrated(vm: V): void;
  /** The outcome is unknown (the link died after commit): the VM stays paused here. */
  leavePaused(vm: V, reason: string): void;
}

/** The destination's WebSocket URL for a --to of http://HOST:PORT (or HOST:PORT). */
export function migrationUrl(to: string): string {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(to) ? to : `http://${to}`);
  } catch {
    throw new RvisorError('BAD_REQUEST', `--to ${JSON.stringify(to)} is not a URL such as http://127.0.0.1:8000`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'tcp:') throw new RvisorError('BAD_REQUEST', `--to ${to}: only http:// (the destination's rvisor serve --listen) is supported`);
  if (!u.port) throw new RvisorError('BAD_REQUEST', `--to ${to} names no port`);
  return `ws://${u.hostname}:${u.port}/migrations/incoming`;
}

/** One migration in flight (Host keeps it so that `cancel` can reach it). */
export class Migration<V extends MigrateVm> {
  private ws: WebSocket | undefined;
  private cancelled = false;
  private committed = false;
  private replies: DestinationMessage[] = [];
  private waiter: ((m: DestinationMessage | Error) => void) | undefined;
  private closedWith: Error | undefined;
  private bytesSent = 0;
  private pagesSent = 0;

  constructor(private readonly h: SendHost<V>, private readonly vm: V, private readonly opts: MigrateOptions) {}

  /** Stops the migration unless it has committed (the VM runs on at the source). */
  cancel(): boolean {
    if (this.committed) return false;
    this.cancelled = true;
    this.fail(new RvisorError('MIGRATION_CANCELLED', `the migration of VM ${this.vm.def.name} was cancelled`));
    return true;
  }

  private fail(e: Error): void {
    this.closedWith ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(e);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      if (this.cancelled) this.ws.send(JSON.stringify({ t: 'cancel', reason: e.message } satisfies SourceMessage));
      this.ws.close(1000, 'migration aborted');
    }
  }

  /** Resolves when the link has closed (at most ms later). */
  private closed(ms: number): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { ws.terminate(); resolve(); }, ms);
      ws.once('close', () => { clearTimeout(timer); resolve(); });
    });
  }

  private connect(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {};
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 10000 });
      this.ws = ws;
      ws.on('unexpected-response', (req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let msg = `HTTP ${res.statusCode}`;
          let code: ErrorCode = 'MIGRATION_FAILED';
          try {
            const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string; message?: string } };
            if (b.error?.message) msg = b.error.message;
            if (b.error?.code === 'UNAUTHORIZED') code = 'UNAUTHORIZED';
          } catch { /* not JSON */ }
          reject(new RvisorError(code, `the destination ${this.opts.to} refused the migration: ${msg}`));
          req.destroy(); // the response's keep-alive connection too (terminate() no longer reaches it)
          ws.terminate();
        });
      });
      ws.on('open', () => resolve());
      ws.on('error', (e) => {
        const err = new RvisorError('MIGRATION_FAILED', `the link to ${this.opts.to} failed: ${e.message}`);
        reject(err);
        this.fail(err);
      });
      ws.on('close', () => this.fail(new RvisorError('MIGRATION_FAILED', `the destination ${this.opts.to} closed the link`)));
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        let m: DestinationMessage;
        try { m = JSON.parse(data.toString('utf8')) as DestinationMessage; } catch { return; }
        const w = this.waiter;
        this.waiter = undefined;
        if (w) w(m);
        else this.replies.push(m);
      });
    });
  }

  private reply(expect: DestinationMessage['t']): Promise<DestinationMessage> {
    const next = this.replies.shift();
    const check = (m: DestinationMessage): DestinationMessage => {
      if (m.t === 'error') {
        const e = new RvisorError(m.code in ERROR_CODES ? m.code as ErrorCode : 'MIGRATION_FAILED', `the destination refused the migration: ${m.message}`);
        remoteErrors.add(e);
        throw e;
      }
      if (m.t !== expect) throw new RvisorError('MIGRATION_FAILED', `the destination answered ${m.t}, expected ${expect}`);
      return m;
    };
    if (next) return Promise.resolve(check(next));
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new RvisorError('MIGRATION_FAILED', `the destination did not answer (${expect}) within ${REPLY_MS / 1000} s`)), REPLY_MS);
      this.waiter = (m) => {
        clearTimeout(timer);
        if (m instanceof Error) reject(m);
        else {
          try { resolve(check(m)); } catch (e) { reject(e); }
        }
      };
    });
  }

  private send(data: string | Uint8Array): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const ws = this.ws!;
    this.bytesSent += typeof data === 'string' ? data.length : data.byteLength;
    return new Promise((resolve, reject) => ws.send(data, (err) => (err ? reject(this.closedWith ?? new RvisorError('MIGRATION_FAILED', err.message)) : resolve())));
  }

  /** The P2M the dirty log was started on: a guest reboot gives the VM fresh RAM (and frees this
   *  one), which the log knows nothing of. */
  private p2m = -1;

  private check(run: VmRun): void {
    if (this.closedWith) throw this.closedWith;
    if (this.vm.run !== run) throw new RvisorError('VM_STATE', `VM ${this.vm.def.name} stopped during its migration (${this.vm.state})`);
    if (this.p2m >= 0 && run.board?.ram.p2m !== this.p2m) {
      throw new RvisorError('MIGRATION_FAILED', `VM ${this.vm.def.name} rebooted during its migration (its memory was replaced): migrate it again`);
    }
  }

  /** Sends pages (reading each frame as it is now: a page written meanwhile is in the next round). */
  private async sendPages(run: VmRun, pages: number[]): Promise<void> {
    const host = run.arena.host;
    for (let i = 0; i < pages.length; i += BATCH) {
      this.check(run);
      const ram = run.board!.ram; // checked: the RAM the log runs on
      const batch = pages.slice(i, i + BATCH);
      const zero: number[] = [], full: number[] = [];
      for (const p of batch) {
        const f = frameOf(host, ram, p);
        (f === 0 || isZeroPage(host.bytes, f) ? zero : full).push(p);
      }
      if (full.length) {
        await this.send(encodePages(full, (p, dst) => {
          const f = frameOf(host, ram, p);
          if (f) dst.set(host.bytes.subarray(f, f + PAGE));
        }));
      }
      if (zero.length) await this.send(encodeZero(zero));
      this.pagesSent += batch.length;
    }
  }

  /** Sends disk chunks; `skipZero` (round 0: the destination's copy starts as zeros, a sparse
   *  file) leaves out chunks that are all zero, e.g. a qcow2 disk's unallocated space. */
  private async sendDiskChunks(run: VmRun, chunks: { disk: number; chunk: number }[], skipZero = false): Promise<void> {
    for (const { disk, chunk } of chunks) {
      this.check(run);
      const d = run.disks[disk]!;
      const off = chunk * DIRTY_CHUNK;
      const len = Math.min(DIRTY_CHUNK, d.size - off);
      if (len <= 0) continue;
      const buf = new Uint8Array(len);
      readAll(d, buf, off);
      if (skipZero && new Uint32Array(buf.buffer, 0, len >>> 2).every((w) => w === 0)) continue;
      await this.send(encodeDisk(disk, off, buf));
    }
  }

  /** Runs the migration (the caller serializes it with the VM's other verbs). */
  async run(): Promise<MigrationInfo> {
    const t0 = now();
    const vm = this.vm;
    const name = vm.def.name;
    if (vm.state !== 'running' && vm.state !== 'paused') throw new RvisorError('VM_STATE', `cannot migrate VM ${name}: it is ${vm.state} (migrate needs running or paused)`);
    const run = vm.run!;
    if (!run.board) throw new RvisorError('VM_STATE', `VM ${name} has not run yet (started paused): there is no machine to migrate`);
    const maxDowntime = this.opts.maxDowntimeMs ?? DEFAULT_MAX_DOWNTIME_MS;
    const copyStorage = this.opts.copyStorage === true;
    const url = migrationUrl(this.opts.to);
    const wasPaused = run.paused;
    const origCap = run.sched.cap;
    let release: (() => void) | undefined; // set while the guest is held
    const hold = async () => {
      release = await this.h.cpu.stopBetweenSlices(run);
      this.check(run);
    };
    const letRun = () => {
      release?.();
      release = undefined;
    };
    const progress = (phase: Extract<HostEvent, { type: 'migration' }>['phase'], round: number, remaining: number, rate: number, throttle: number, message?: string) => {
      this.h.emit({
        type: 'migration', name, phase, round, pagesSent: this.pagesSent, pagesRemaining: remaining, bytesSent: this.bytesSent,
        rateMBps: Math.round(rate / 1048.576) / 1000, expectedDowntimeMs: rate > 0 ? Math.round((remaining * PAGE) / rate * 1000) : 0,
        throttlePct: throttle, time: new Date().toISOString(), ...(message ? { message } : {}),
      });
    };
    let downtimeStart = 0;
    let rounds = 0;
    let throttle = 0;
    try {
      progress('setup', 0, 0, 0, 0);
      await this.connect(url);
      const disks = run.disks;
      await this.send(JSON.stringify({
        t: 'begin', version: MIGRATION_VERSION, rvisor: this.h.rvisorVersion, definition: vm.def, memBytes: run.memBytes,
        copyDisks: copyStorage ? disks.map((d) => d.size) : null, paused: wasPaused,
      } satisfies SourceMessage));
      await this.reply('ready');

      // Round 0: every present page (and every disk chunk) while the guest runs.
      await hold();
      const ram = run.board!.ram;
      this.p2m = ram.p2m;
      // Every page stays in a frame until the migration ends (the pages sent are read from frames):
      // no swap meanwhile (memory-manager.ts reads run.pinned).
      run.pinned = true;
      Atomics.store(ramCtl(run.arena.host, ram.p2m, ram.size / 4096), CTL_LIMIT, 0);
      loadAllPages(run.arena.host, ram);
      let pending: number[] = [];
      protectAll(run.arena.host, ram, (p) => pending.push(p));
      for (const s of run.board!.harts) dropTlbWrites(run.arena.host, s.base);
      let diskPending: { disk: number; chunk: number }[] = [];
      if (copyStorage) {
        disks.forEach((d, i) => {
          d.takeDirty(() => {});
          for (let c = 0; c * DIRTY_CHUNK < d.size; c++) diskPending.push({ disk: i, chunk: c });
        });
      }
      const total = pending.length;
      letRun();
      let rate = 0;
      for (;;) {
        progress('precopy', rounds, pending.length + diskPending.length * (DIRTY_CHUNK / PAGE), rate, throttle);
        const ts = now(), b0 = this.bytesSent;
        await this.sendPages(run, pending);
        await this.sendDiskChunks(run, diskPending, rounds === 0);
        const ms = Math.max(1, now() - ts);
        const sent = this.bytesSent - b0;
        if (sent > 1048576 || rate === 0) rate = (sent / ms) * 1000; // bytes per second, measured
        rounds++;
        await hold();
        pending = [];
        collectDirty(run.arena.host, run.board!.ram, (p) => pending.push(p));
        for (const s of run.board!.harts) dropTlbWrites(run.arena.host, s.base);
        diskPending = [];
        if (copyStorage) disks.forEach((d, i) => d.takeDirty((c) => diskPending.push({ disk: i, chunk: c })));
        const left = pending.length * PAGE + diskPending.length * DIRTY_CHUNK;
        const expectMs = rate > 0 ? (left / rate) * 1000 : Infinity;
        if (expectMs <= maxDowntime || rounds >= MAX_ROUNDS || wasPaused) break; // stop and copy, still held
        // Auto-converge: the guest dirtied more than half of what the round carried: slow it.
        if (left > sent / 2 && rounds >= 2) {
          throttle = Math.min(99, throttle === 0 ? 20 : throttle + 10);
          const cap = Math.max(1, Math.round((100 - throttle) * vm.def.vcpus));
          run.sched.cap = origCap > 0 ? Math.min(origCap, cap) : cap;
        }
        letRun();
      }
      // Stop and copy: the guest is held from here until the destination runs it.
      downtimeStart = now();
      progress('stop-copy', rounds, pending.length, rate, throttle);
      await this.sendPages(run, pending);
      await this.sendDiskChunks(run, diskPending);
      const board = run.board!;
      const host = run.arena.host;
      const state: SourceMessage = {
        t: 'state',
        harts: board.harts.map((s) => ({ run: s.run, state: new Hart(host, s.base).save() })),
        board: { ...board, harts: board.harts.map((s) => ({ base: 0, run: s.run })), ram: { p2m: 0, base: board.ram.base, size: board.ram.size } } as BoardState,
        ticks: ticksAt(board.clock, downtimeStart, TIMEBASE_HZ).toString(),
        sinceStopMs: now() - downtimeStart,
      };
      await this.send(JSON.stringify(state));
      await this.reply('built');
      this.check(run);
      this.committed = true;
      await this.send(JSON.stringify({ t: 'commit' } satisfies SourceMessage));
      let done: DestinationMessage;
      try {
        done = await this.reply('done');
      } catch (e) {
        if (remoteErrors.has(e as Error)) {
          // The destination said it could not run the VM (and dropped it): it runs on here.
          this.committed = false;
          throw e;
        }
        // The destination may or may not run the VM now: never run it twice.
        this.h.leavePaused(vm, 'migration-unknown');
        throw new RvisorError('MIGRATION_FAILED', `the destination did not confirm that VM ${name} runs there (${(e as Error).message}); it stays paused here: check the destination, then resume or destroy it here`);
      }
      const downtimeMs = now() - downtimeStart;
      run.sched.cap = origCap;
      this.h.migrated(vm);
      const info: MigrationInfo = {
        vm: this.h.info(vm), to: this.opts.to, destination: (done as Extract<DestinationMessage, { t: 'done' }>).vm,
        totalMs: now() - t0, downtimeMs, rounds, pagesTotal: total, pagesSent: this.pagesSent, bytesSent: this.bytesSent, throttlePct: throttle,
      };
      progress('done', rounds, 0, rate, throttle);
      return info;
    } catch (e) {
      if (!this.committed) {
        run.sched.cap = origCap;
        letRun();
        const err = this.cancelled ? (this.closedWith as Error) : e;
        this.fail(err as Error);
        await this.closed(5000); // the destination has dropped what it built once it closes
        progress(this.cancelled ? 'cancelled' : 'failed', rounds, 0, 0, throttle, (err as Error).message);
        if (err instanceof RvisorError && err.code !== 'VM_STATE' && err.code !== 'MIGRATION_CANCELLED' && err.code !== 'UNAUTHORIZED' && err.code !== 'MIGRATION_FAILED') {
          throw new RvisorError(err.code, `${err.message} (VM ${name} runs on here)`);
        }
        throw err;
      }
      throw e;
    } finally {
      this.ws?.terminate();
      run.pinned = false;
    }
  }
}


function readAll(d: HostDisk, buf: Uint8Array, off: number): void {
  if (!d.read(off, buf)) throw new RvisorError('MIGRATION_FAILED', `cannot read disk ${d.path} at ${off}: ${d.lastError?.message ?? 'short read'}`);
}
