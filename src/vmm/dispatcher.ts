// The host's engine room: the pCPU workers, the credit scheduler and the runs they share. It
// hands free pCPUs the VM the scheduler picks, one slice at a time, keeps every run's latest board
// state as it comes back, accounts CPU, instructions and steal, and tells the run's owner (the
// host's lifecycle, host.ts) what the guest did: output, power off, reboot, crash.
import { RvisorError, type ErrorCode } from '../errors.js';
import { coreModule } from '../cpu/core.js';
import { freeBoardMemory, type BoardState } from '../machine/board.js';
import type { HostDisk } from '../host/disk/host-disk.js';
import type { Arena, Arenas } from './arenas.js';
import { CreditScheduler, type SchedEntity } from './scheduler.js';
import { Pcpu } from './pcpu.js';
import type { FromWorker, VmLaunch } from './protocol.js';

/** What a run tells its owner. */
export interface RunEvents {
  output(bytes: Uint8Array): void;
  /** The guest powered off (its status), the VM crashed (the reason), or its machine could not be
   *  built (the error: the start fails). The owner ends the run. */
  poweroff(code: number): void;
  crashed(reason: string): void;
  buildFailed(err: RvisorError): void;
  /** The guest rebooted: its machine was reset (fresh memory, same disks). */
  rebooted(): void;
}

/** The running machine of a VM (exists while it is running or paused). */
export interface VmRun {
  id: number;
  arena: Arena;
  memBytes: number;
  disks: HostDisk[];
  launch: VmLaunch;
  events: RunEvents;
  /** The board's latest state; undefined until the first slice built the machine. */
  board: BoardState | undefined;
  /** The pCPU where the board object is live and equal to `board` (-1: none). */
  liveOn: number;
  /** A slice of it is running on a pCPU now. */
  inFlight: boolean;
  sched: SchedEntity;
  input: number[];
  powerKey: boolean;
  fault: boolean;
  /** The memory manager's balloon target, pages (sent with every slice; the worker applies a
   *  change). */
  balloonTarget?: number;
  /** Someone looked at the guest's memory statistics: ask its balloon driver for fresh ones. */
  balloonStats?: boolean;
  /** A live migration reads its frames: the memory manager swaps nothing out meanwhile. */
  pinned?: boolean;
  paused: boolean;
  shutdownRequested: boolean;
  /** The next machine built from `board` gets a new VM generation ID (see protocol.ts). */
  newGeneration: boolean;
  /** Called when the slice in flight ends. */
  sliceWaiters: (() => void)[];
  /** Called when the run ends (shutoff or crashed). */
  endWaiters: (() => void)[];
  /** Called after the slice that built the machine, with the build error if it failed. */
  bootWaiters: ((err: RvisorError | undefined) => void)[];
  lastPcpu: number | null;
  hartInsns: number[];
  hartMs: number[];
  hartSteal: number[];
}

export type NewRun = Pick<VmRun, 'id' | 'arena' | 'memBytes' | 'disks' | 'launch' | 'events' | 'board' | 'paused' | 'newGeneration'> & { vcpus: number; weight: number; cap: number };

export const now = (): number => performance.timeOrigin + performance.now();

export class Dispatcher {
  readonly sched: CreditScheduler;
  readonly cpus: Pcpu[] = [];
  private readonly runs = new Map<number, VmRun>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(pcpus: number, arenas: Arenas, watchdogMs = 30000) {
    this.sched = new CreditScheduler({ pcpus });
    const module = coreModule();
    const memories = () => arenas.list.map((a) => a.host.memory);
    for (let i = 0; i < pcpus; i++) {
      this.cpus.push(new Pcpu(i, module, memories, {
        reply: (p, m) => this.onReply(p, m),
        lost: (p, vm, reason) => this.onLost(p, vm, reason),
      }, watchdogMs));
    }
  }

  /** A new arena: every worker instantiates the core for it. */
  addArena(a: Arena): void {
    for (const p of this.cpus) p.send({ t: 'arena', index: a.index, memory: a.host.memory });
  }

  add(n: NewRun): VmRun {
    const { vcpus, weight, cap, ...given } = n;
    const run: VmRun = {
      ...given, liveOn: -1, inFlight: false, sched: this.sched.add(n.id, weight, cap),
      input: [], powerKey: false, fault: false, shutdownRequested: false,
      sliceWaiters: [], endWaiters: [], bootWaiters: [], lastPcpu: null,
      hartInsns: new Array(vcpus).fill(0), hartMs: new Array(vcpus).fill(0), hartSteal: new Array(vcpus).fill(0),
    };
    this.runs.set(run.id, run);
    return run;
  }

  /** The run is over (its owner frees its memory): off the queues, its live board dropped. */
  remove(run: VmRun): void {
    this.runs.delete(run.id);
    this.sched.remove(run.sched);
    this.dropLive(run);
  }

  /** Runnable from now on (unless paused). */
  wake(run: VmRun): void {
    if (run.paused) return;
    this.sched.wake(run.sched, now());
    this.dispatch();
  }

  /** Off the run queue (it may finish the slice in flight: see sliceEnd). */
  hold(run: VmRun): void {
    this.sched.block(run.sched);
  }

  /** Stops the VM between slices: off the run queue, marked paused (console input and timers do
   *  not wake it), and its slice in flight ended. Resolves with a function that lets it run again
   *  as it was before (paused or not), unless the run ended meanwhile. */
  async stopBetweenSlices(run: VmRun): Promise<() => void> {
    const wasPaused = run.paused;
    run.paused = true;
    this.hold(run);
    await this.sliceEnd(run);
    let done = false;
    return () => {
      if (done || this.runs.get(run.id) !== run) return;
      done = true;
      run.paused = wasPaused;
      if (!wasPaused) this.wake(run);
    };
  }

  /** Resolves when the VM's slice in flight (if any) has ended. */
  sliceEnd(run: VmRun): Promise<void> {
    if (!run.inFlight) return Promise.resolve();
    return new Promise((res) => run.sliceWaiters.push(res));
  }

  /** Dispatches a run whose machine is not built yet and waits for its first slice: a machine that
   *  cannot be built (boot files unusable, memory too small for the kernel) fails with the error. */
  async booted(run: VmRun): Promise<void> {
    if (run.board !== undefined) return this.dispatch();
    const err = await new Promise<RvisorError | undefined>((res) => {
      run.bootWaiters.push(res);
      this.dispatch();
    });
    if (err) throw err;
  }

  /** The control plane changes the board state itself: the live copy on a worker is stale. */
  editBoard(run: VmRun, edit: (s: BoardState) => BoardState): void {
    if (run.board) run.board = edit(run.board);
    this.dropLive(run);
  }

  dropLive(run: VmRun): void {
    if (run.liveOn >= 0) this.cpus[run.liveOn]!.send({ t: 'drop', vm: run.id });
    run.liveOn = -1;
  }

  /** Throws the machine away (its memory back to the arena): the next slice boots a fresh one. */
  freshBoard(run: VmRun): void {
    this.dropLive(run);
    if (run.board) freeBoardMemory(run.arena.host, run.board);
    run.board = undefined;
    run.input.length = 0;
  }

  /** Gives every free pCPU the runnable VM the scheduler picks, then arms the timer for the next
   *  wake-up or accounting boundary. */
  dispatch(): void {
    if (this.closed) return;
    const t = now();
    this.sched.wakeDue(t);
    for (const p of this.cpus) {
      if (p.busy) continue;
      const pick = this.sched.pick(p.index, t);
      if (!pick) break;
      this.sendSlice(p, this.runs.get(pick.e.id)!, pick.sliceMs);
    }
    let next = this.sched.wakeDue(t);
    if (this.sched.anyThrottled()) next = Math.min(next, this.sched.account(t));
    this.arm(next);
  }

  private arm(at: number): void {
    if (at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.dispatch();
    }, Math.max(0, at - now()));
  }

  private sendSlice(p: Pcpu, run: VmRun, sliceMs: number): void {
    const from = run.board === undefined ? 'boot' : run.liveOn === p.index ? 'live' : run.board;
    if (from !== 'live') this.dropLive(run);
    const stealNs = run.sched.stealUnreported * 1e6;
    run.sched.stealUnreported = 0;
    const newGeneration = run.newGeneration && from !== 'live' && from !== 'boot';
    if (newGeneration) run.newGeneration = false;
    p.send({
      t: 'run', vm: run.id, launch: run.launch, from, sliceMs, newGeneration, input: run.input.splice(0),
      powerKey: run.powerKey, stealNs, fault: run.fault,
      ...(run.balloonTarget !== undefined ? { balloonTarget: run.balloonTarget } : {}),
      ...(run.balloonStats ? { balloonStats: true } : {}),
    });
    run.balloonStats = false;
    run.powerKey = false;
    run.fault = false;
    run.inFlight = true;
    run.lastPcpu = p.index;
  }

  private onReply(p: Pcpu, m: FromWorker): void {
    const run = this.runs.get(m.vm);
    if (!run) {
      this.dispatch();
      return;
    }
    const t = now();
    run.inFlight = false;
    if (m.output) run.events.output(m.output);
    this.sched.charge(run.sched, m.ranMs, t);
    if (m.t === 'crashed') {
      run.liveOn = -1;
      if (m.buildError) run.events.buildFailed(new RvisorError(m.buildError as ErrorCode, m.reason));
      else run.events.crashed(m.reason);
      this.dispatch();
      return;
    }
    for (const f of run.bootWaiters.splice(0)) f(undefined);
    run.board = m.state;
    run.liveOn = p.index;
    const harts = m.hartInsns.length;
    for (let h = 0; h < harts; h++) {
      run.hartInsns[h]! += m.hartInsns[h]!;
      run.hartMs[h]! += m.hartMs[h]!;
      if (harts > 1 && m.hartInsns[h]! > 0) run.hartSteal[h]! += Math.max(0, m.ranMs - m.hartMs[h]!);
    }
    const r = m.result;
    if (r.kind === 'poweroff') {
      run.events.poweroff(r.code);
    } else if (r.kind === 'reboot') {
      this.freshBoard(run); // the guest asked for a reboot: a fresh machine, as `rvisor run` does
      run.events.rebooted();
    } else if (r.kind === 'idle' && !run.paused && !run.input.length && !run.powerKey && !run.fault) {
      this.sched.block(run.sched, t + r.ms);
    }
    for (const f of run.sliceWaiters.splice(0)) f();
    this.dispatch();
  }

  private onLost(p: Pcpu, vmId: number | undefined, reason: string): void {
    for (const run of this.runs.values()) if (run.liveOn === p.index) run.liveOn = -1;
    const run = vmId === undefined ? undefined : this.runs.get(vmId);
    if (run) {
      run.inFlight = false;
      this.sched.charge(run.sched, 0, now());
      run.events.crashed(reason);
    }
    this.dispatch();
  }

  busyNs(): number[] {
    return this.cpus.map((p) => Math.round(p.busyMs * 1e6));
  }

  /** Stops the workers (no slice is in flight afterwards). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.cpus.map((p) => p.close()));
  }
}
