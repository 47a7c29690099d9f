// The hypervisor host (`rvisor serve`, and the package's programmatic API): the VM registry, the
// lifecycle state machine, consoles and statistics. The main thread is the control plane only:
// guest code runs on the pCPU workers, which the dispatcher (dispatcher.ts: workers, credit
// scheduler, slices) shares between the VMs; every slice comes back with the VM's board state, so
// a VM can continue on any worker and a worker's failure loses only the VM it was running.
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { existsSync, linkSync, copyFileSync, mkdirSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { RvisorError } from '../errors.js';
import { freeBoardMemory, type BoardState } from '../machine/board.js';
import { openDisks, type HostDisk } from '../host/disk/host-disk.js';
import { parseSize } from './size.js';
import { checkDefinitionFiles, definitionJit, normalizeDefinition } from './definition.js';
import { Registry } from './registry.js';
import { defaultStateDir, lockStateDir } from './state-dir.js';
import { ConsoleLog } from './console-log.js';
import { Arenas } from './arenas.js';
import { Dispatcher, now, type RunEvents, type VmRun } from './dispatcher.js';
import { materializeMachine } from '../snapshot/machine.js';
import { Checkpoints } from './checkpoints.js';
import { bootStamps } from './machine.js';
import { DiskClaims } from './disk-claims.js';
import { hostStats, vmStats } from './stats.js';
import { MemoryManager } from './memory-manager.js';
import { memoryOptions, memtune, schedtune } from './memtune.js';
import { cloneVm, type PreparedMachine } from './clone.js';
import { INCOMING, MigrationDesk } from './migration/desk.js';
import type { WebSocket } from 'ws';
import {
  checkBootFiles, checkDisks, checkMachine, diskIdentity, fileIdentity, openSnapshotFile, writeSnapshotFile, VERSION, type OpenSnapshot,
} from './snapshot-file.js';
import type {
  CheckpointInfo, CloneInfo, CloneOptions, MigrateOptions, MigrationInfo, RevertOptions, ConsoleAttachment, HostApi, HostEvent, HostOptions, HostStats, RestoreOptions, SaveInfo, SchedInfo, ShutdownOptions, StartOptions,
  VmDefinition, VmDefinitionInput, VmInfo, VmState, VmStats, MemoryTuneInfo,
} from './types.js';

/** The managed save in a VM's folder (HostApi.save): the next start resumes from it. */
const MANAGED_SAVE = 'managed-save.rvs';

interface Vm {
  def: VmDefinition;
  /** Verbs on one VM run one after the other (the tail of the queue). */
  queue: Promise<unknown>;
  state: VmState;
  reason: string;
  since: string;
  run: VmRun | undefined;
  console: ConsoleLog;
  lastPcpu: number | null;
}

export class Host extends EventEmitter implements HostApi {
  /** Snapshot files that lazily restored runs still load pages from (closed when the run ends). */
  private readonly lazyFiles = new Map<VmRun, () => void>();
  private readonly desk: MigrationDesk<Vm>;
  readonly stateDir: string;
  readonly pcpus: number;
  private readonly registry: Registry;
  private readonly vms = new Map<string, Vm>();
  private readonly arenas: Arenas;
  private readonly cpu: Dispatcher;
  private readonly checkpoints: Checkpoints<Vm>;
  private readonly memory: MemoryManager;
  private readonly testHooks: boolean;
  /** Disk files attached to running or paused VMs, and whether read-write. */
  private readonly disks = new DiskClaims();
  private nextId = 1;
  private closed = false;
  private readonly unlock: () => void;
  readonly warnings: string[] = [];

  constructor(o: HostOptions = {}) {
    super();
    this.stateDir = o.stateDir ?? defaultStateDir();
    const pcpus = o.pcpus ?? availableParallelism();
    if (!Number.isInteger(pcpus) || pcpus < 1 || pcpus > 256) throw new RvisorError('USAGE', `--pcpus ${pcpus}: expected 1..256`);
    this.pcpus = pcpus;
    this.testHooks = o.testHooks === true;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    this.unlock = lockStateDir(this.stateDir);
    this.registry = new Registry(this.stateDir);
    this.arenas = new Arenas(pcpus, (a) => this.cpu.addArena(a));
    this.cpu = new Dispatcher(pcpus, this.arenas);
    this.memory = new MemoryManager(memoryOptions(o), {
      cpu: this.cpu, arenas: this.arenas, vmsDir: this.registry.vmsDir,
      withHeld: (n, run, fn) => this.whileStill(n, run, async (vm) => {
        // No slice in flight: none can start while this synchronous call runs (the dispatcher is on
        // this thread), so an idle VM is not woken; else it is stopped between slices.
        if (!run.inFlight) return fn(run);
        const resume = await this.cpu.stopBetweenSlices(run);
        try { if (vm.run === run) fn(run); } finally { resume(); }
      }),
      failed: (n, run, e) => void this.whileStill(n, run, async (vm) => {
        await this.cpu.stopBetweenSlices(run);
        if (vm.run === run) this.finish(vm, 'crashed', `error: ${e.message}`);
      }),
    });
    this.checkpoints = new Checkpoints<Vm>({
      vmsDir: this.registry.vmsDir, cpu: this.cpu, get: (n) => this.get(n), serial: (vm, fn) => this.serial(vm, fn), info: (vm) => this.info_(vm),
      stop: (vm) => this.finish(vm, 'shutoff', 'reverted'), launch: (vm, o, f) => this.launch(vm, o, f), diskUsers: (k) => this.disks.of(k),
    });
    this.desk = new MigrationDesk<Vm>({
      cpu: this.cpu, rvisorVersion: VERSION, info: (v) => this.info_(v), emit: (e) => this.emitEvent(e),
      migrated: (v) => this.finish(v, 'shutoff', 'migrated'),
      leavePaused: (v, reason) => { if (v.run) { v.run.paused = true; this.cpu.hold(v.run); this.setState(v, 'paused', reason); } },
      vmsDir: this.registry.vmsDir, exists: (n) => this.vms.has(n), serial: (vm, fn) => this.serial(vm, fn),
      defineVm: (def) => { this.memory.admit(normalizeDefinition(def)); this.define(def); const vm = this.vms.get(def.name)!; vm.reason = 'incoming-migration'; return vm; },
      undefineVm: (n) => this.undefine(n), setAutostart: (n, on) => this.setAutostart(n, on),
      place: (m, v) => this.arenas.place(m, v, undefined, this.memory.opts.hostMemBytes), release: (a, m, v) => this.arenas.release(a, m, v),
      launch: (vm, paused, machine) => this.serial(vm, () => this.launch(vm, paused ? { paused: true } : {}, machine)),
    });
    for (const { def, wasRunning } of this.registry.load((w) => this.warnings.push(w))) {
      if (existsSync(join(this.registry.vmsDir, def.name, INCOMING))) {
        // A live migration into this host that never switched: the VM runs at its source.
        this.registry.remove(def.name);
        this.warnings.push(`removed VM ${def.name}: its incoming live migration did not complete`);
        continue;
      }
      this.addVm(def, 'shutoff', wasRunning ? 'daemon-restart' : 'defined');
      if (wasRunning) this.registry.setRunning(def.name, false);
    }
  }

  /** Starts the VMs marked autostart (after the constructor, so callers can listen first). */
  async autostart(): Promise<void> {
    for (const vm of this.vms.values()) {
      if (!vm.def.autostart || vm.state !== 'shutoff') continue;
      try {
        await this.start(vm.def.name);
      } catch (e) {
        this.warnings.push(`autostart of ${vm.def.name} failed: ${(e as Error).message}`);
      }
    }
  }

  // ---- registry ----------------------------------------------------------------------------

  private addVm(def: VmDefinition, state: VmState, reason: string): Vm {
    const vm: Vm = { def, queue: Promise.resolve(), state, reason, since: new Date().toISOString(), run: undefined, console: new ConsoleLog(), lastPcpu: null };
    this.vms.set(def.name, vm);
    return vm;
  }

  private get(name: string): Vm {
    const vm = typeof name === 'string' ? this.vms.get(name) : undefined;
    if (!vm) throw new RvisorError('VM_NOT_FOUND', `no VM named ${JSON.stringify(name)}`);
    if (this.desk.isIncoming(name)) throw new RvisorError('VM_STATE', `VM ${name} is arriving by live migration: it can be used once it has switched`);
    return vm;
  }

  private info_(vm: Vm): VmInfo {
    return { name: vm.def.name, id: vm.run?.id ?? null, state: vm.state, reason: vm.reason, since: vm.since, definition: structuredClone(vm.def) };
  }

  private emitEvent(e: HostEvent): void {
    this.emit('event', e);
  }

  private setState(vm: Vm, state: VmState, reason: string): void {
    vm.state = state;
    vm.reason = reason;
    vm.since = new Date().toISOString();
    this.emitEvent({ type: 'state', name: vm.def.name, state, reason, time: vm.since });
  }

  /** Runs a verb after the VM's earlier verbs have finished, so that two verbs never interleave
   *  around a slice in flight (a reboot and a destroy at once, a pause during a reset). */
  private serial<T>(vm: Vm, fn: () => Promise<T>): Promise<T> {
    const p = vm.queue.then(fn, fn);
    vm.queue = p.catch(() => undefined);
    return p;
  }

  /** fn in the VM's verb queue, if that run is still the VM's when its turn comes. */
  private whileStill(name: string, run: VmRun, fn: (vm: Vm) => Promise<void> | void): Promise<void> {
    const vm = this.vms.get(name);
    return vm ? this.serial(vm, async () => { if (vm.run === run) await fn(vm); }) : Promise.resolve();
  }

  private refuse(vm: Vm, verb: string, allowed: VmState[]): void {
    if (!allowed.includes(vm.state)) {
      throw new RvisorError('VM_STATE', `cannot ${verb} VM ${vm.def.name}: it is ${vm.state} (${verb} needs ${allowed.join(' or ')})`);
    }
  }

  list(): VmInfo[] {
    return [...this.vms.values()].sort((a, b) => a.def.name.localeCompare(b.def.name)).map((vm) => this.info_(vm));
  }

  info(name: string): VmInfo {
    return this.info_(this.get(name));
  }

  define(input: VmDefinitionInput): VmInfo {
    const def = normalizeDefinition(input);
    if (this.vms.has(def.name)) throw new RvisorError('VM_EXISTS', `a VM named ${def.name} is already defined`);
    checkDefinitionFiles(def);
    this.registry.save(def);
    const vm = this.addVm(def, 'shutoff', 'defined');
    this.emitEvent({ type: 'defined', name: def.name, time: vm.since });
    return this.info_(vm);
  }

  undefine(name: string): void {
    const vm = this.get(name);
    this.refuse(vm, 'undefine', ['shutoff', 'crashed']);
    this.registry.remove(name);
    this.vms.delete(name);
    this.emitEvent({ type: 'undefined', name, time: new Date().toISOString() });
  }

  setAutostart(name: string, on: boolean): VmInfo {
    const vm = this.get(name);
    if (typeof on !== 'boolean') throw new RvisorError('BAD_DEFINITION', 'autostart must be true or false');
    vm.def = { ...vm.def, autostart: on };
    this.registry.save(vm.def);
    return this.info_(vm);
  }

  schedinfo(name: string): SchedInfo {
    const vm = this.get(name);
    return { weight: vm.def.weight, cap: vm.def.cap };
  }

  setSchedinfo(name: string, s: Partial<SchedInfo>): SchedInfo {
    return schedtune(this.get(name), s, this.cpu, (def) => this.registry.save(def), (e) => this.emitEvent(e));
  }

  memtune(name: string, update: Partial<MemoryTuneInfo> = {}): MemoryTuneInfo {
    const vm = this.get(name);
    return memtune(vm, update, this.memory, (def) => this.registry.save(def));
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(name: string, opts: StartOptions = {}): Promise<VmInfo> {
    const vm = this.get(name);
    return this.serial(vm, () => this.start_(vm, opts));
  }

  private async start_(vm: Vm, opts: StartOptions): Promise<VmInfo> {
    const name = vm.def.name;
    this.refuse(vm, 'start', ['shutoff', 'crashed']);
    // A managed save (see save()) is resumed, then dropped, as libvirt does.
    const managed = this.managedSavePath(name);
    if (!existsSync(managed)) return this.launch(vm, opts);
    const info = await this.launch(vm, opts, managed);
    try { unlinkSync(managed); } catch { /* already gone */ }
    return info;
  }

  private managedSavePath(name: string): string {
    return join(this.registry.vmsDir, name, MANAGED_SAVE);
  }

  /** Starts the VM: booted fresh, from the snapshot file `snapshot` (checked against the
   *  definition, its disks and boot files first: a refusal changes nothing), or from a machine the
   *  control plane made (a clone: launch owns it and its arena room, also when it fails). */
  private async launch(vm: Vm, opts: StartOptions, snapshot?: string | PreparedMachine): Promise<VmInfo> {
    if (typeof snapshot === 'object') return this.launchPrepared(vm, opts, snapshot);
    const name = vm.def.name;
    const def = vm.def;
    checkDefinitionFiles(def);
    this.memory.admit(def);
    const memBytes = parseSize(def.memory, 'memory');
    let snap: OpenSnapshot | undefined;
    if (snapshot !== undefined) {
      snap = openSnapshotFile(snapshot);
      try {
        const what = `snapshot ${snapshot}`;
        checkMachine(snap.config, { vcpus: def.vcpus, memBytes, disks: def.disks.map((d) => ({ path: d.path, readOnly: d.readonly })) }, what);
        checkBootFiles(snap.config, what, opts.force === true);
        checkDisks(snap.config, what, opts.force === true);
      } catch (e) {
        snap.close();
        throw e;
      }
    }
    let disks: HostDisk[];
    try {
      disks = openDisks(def.disks.map((d) => ({ path: d.path, readOnly: d.readonly, ...(d.format ? { format: d.format } : {}) })));
    } catch (e) {
      snap?.close();
      throw new RvisorError('BAD_DEFINITION', (e as Error).message, { cause: e });
    }
    try {
      this.disks.claim(name, disks);
    } catch (e) {
      snap?.close();
      for (const d of disks) d.close();
      throw e;
    }
    return this.launchPrepared(vm, opts, undefined, snap, disks);
  }

  private async launchPrepared(vm: Vm, opts: StartOptions, prepared?: PreparedMachine, snap?: OpenSnapshot, opened?: HostDisk[]): Promise<VmInfo> {
    const name = vm.def.name;
    const def = vm.def;
    const memBytes = parseSize(def.memory, 'memory');
    let disks: HostDisk[];
    if (opened) {
      disks = opened;
    } else {
      try {
        checkDefinitionFiles(def);
        if (prepared) this.memory.admit(def);
        disks = openDisks(def.disks.map((d) => ({ path: d.path, readOnly: d.readonly, ...(d.format ? { format: d.format } : {}) })));
        try {
          this.disks.claim(name, disks);
        } catch (e) {
          for (const d of disks) d.close();
          throw e;
        }
      } catch (e) {
        if (prepared) {
          freeBoardMemory(prepared.arena.host, prepared.board);
          this.arenas.release(prepared.arena, memBytes, def.vcpus);
        }
        throw e instanceof RvisorError ? e : new RvisorError('BAD_DEFINITION', (e as Error).message, { cause: e });
      }
    }
    const arena = prepared?.arena ?? this.arenas.place(memBytes, def.vcpus, def.sharingGroup, this.memory.opts.hostMemBytes);
    let restored: BoardState | undefined = prepared?.board;
    // Lazy restore (the default): no page is copied now; the workers load each from the file on
    // first touch, through this descriptor, kept open until the run ends (a managed save or a
    // checkpoint deleted meanwhile stays readable).
    const lazy = snap !== undefined && opts.prefault !== true;
    if (snap) {
      try {
        restored = materializeMachine(snap.reader, arena.host, {
          // Running even when restored paused: the clock keeps host time while no vCPU runs.
          config: snap.config, meta: snap.meta, nowMs: now(), wallNowNs: BigInt(Date.now()) * 1000000n, running: true,
          ...(lazy ? { lazy: { path: snap.path, fd: snap.fd } } : {}),
        });
      } catch (e) {
        snap.close();
        this.arenas.release(arena, memBytes, def.vcpus, prepared ? undefined : def.sharingGroup);
        this.disks.release(name, disks);
        for (const d of disks) d.close();
        throw e;
      }
      if (!lazy) snap.close();
    }
    const id = this.nextId++;
    const run = this.cpu.add({
      id, arena, memBytes, disks, vcpus: def.vcpus, weight: def.weight, cap: def.cap,
      launch: {
        spec: {
          vcpus: def.vcpus, memBytes, kernel: def.kernel, initrd: def.initrd, append: def.append, bios: def.bios,
          ...(def.deterministic ? { deterministic: def.deterministic } : {}), ...definitionJit(def), balloon: def.balloon && { statsIntervalMs: 0 }, // statistics when asked (stats), not every 2 s: idle guests sleep
        },
        disks: disks.map((d) => d.share()), arena: arena.index, stamps: bootStamps(def),
      },
      events: this.runEvents(vm), board: restored, paused: opts.paused === true,
      // A clone, or a machine resumed from a snapshot (which may be resumed again), is a copy: the
      // guest learns it through a new VM generation ID. A migrated VM is the same VM.
      newGeneration: restored !== undefined && prepared?.reason !== 'migrated',
    });
    vm.run = run;
    this.memory.attach(def, run);
    if (lazy) this.lazyFiles.set(run, snap!.close);
    vm.console.clear(); // scrollback is of this run only
    this.registry.setRunning(name, true);
    if (run.paused) {
      this.cpu.hold(run);
      this.setState(vm, 'paused', prepared ? `${prepared.reason}-paused` : restored ? 'restored-paused' : 'start-paused');
    } else {
      this.setState(vm, 'running', prepared?.reason ?? (restored ? 'restored' : 'booted'));
      this.cpu.sched.wake(run.sched, now());
      await this.cpu.booted(run);
    }
    return this.info_(vm);
  }

  /** What the dispatcher reports of a run, and what the lifecycle makes of it. */
  private runEvents(vm: Vm): RunEvents {
    return {
      output: (bytes) => vm.console.append(bytes),
      poweroff: (code) => this.finish(vm, 'shutoff', vm.run?.shutdownRequested ? 'shutdown' : code === 0 ? 'poweroff' : `poweroff (status ${code})`),
      crashed: (reason) => this.finish(vm, 'crashed', `error: ${reason}`),
      buildFailed: (err) => {
        const run = vm.run;
        const waiters = run ? run.bootWaiters.splice(0) : []; // finish() would release them as a success
        this.finish(vm, 'shutoff', `failed: ${err.message}`);
        const e = new RvisorError(err.code, `VM ${vm.def.name} cannot start: ${err.message}`);
        for (const f of waiters) f(e);
      },
      rebooted: () => this.setState(vm, vm.state, 'reboot'),
    };
  }

  async pause(name: string): Promise<VmInfo> {
    const vm = this.get(name);
    return this.serial(vm, () => this.pause_(vm));
  }

  private async pause_(vm: Vm): Promise<VmInfo> {
    this.refuse(vm, 'pause', ['running']);
    const run = vm.run!;
    await this.cpu.stopBetweenSlices(run); // stays stopped: the pause is the point
    if (vm.run !== run || vm.state !== 'running') return this.info_(vm); // it ended meanwhile
    // The guest's clock keeps host time while no vCPU runs (as Xen's system time does), so after a
    // pause of any length its wall clock is right; no guest timer fires meanwhile, since nothing runs.
    this.setState(vm, 'paused', 'user');
    return this.info_(vm);
  }

  async resume(name: string): Promise<VmInfo> {
    const vm = this.get(name);
    return this.serial(vm, () => this.resume_(vm));
  }

  private async resume_(vm: Vm): Promise<VmInfo> {
    this.refuse(vm, 'resume', ['paused']);
    const run = vm.run!;
    run.paused = false;
    this.cpu.sched.wake(run.sched, now());
    this.setState(vm, 'running', 'unpaused');
    await this.cpu.booted(run);
    return this.info_(vm);
  }

  async shutdown(name: string, opts: ShutdownOptions = {}): Promise<VmInfo> {
    const vm = this.get(name);
    const timeoutMs = opts.timeoutMs ?? 60000;
    // Only pressing the key is a verb in the queue: waiting for the guest does not hold up a
    // destroy meant to cut the wait short.
    const run = await this.serial(vm, async () => {
      this.refuse(vm, 'shut down', ['running']);
      const r = vm.run!;
      r.shutdownRequested = true;
      r.powerKey = true;
      this.cpu.wake(r);
      return r;
    });
    let timer: NodeJS.Timeout | undefined;
    const ended = await new Promise<boolean>((res) => {
      run.endWaiters.push(() => res(true));
      timer = setTimeout(() => res(false), timeoutMs);
    });
    clearTimeout(timer);
    if (!ended) {
      run.shutdownRequested = false; // a later poweroff of the guest's own is not this shutdown
      throw new RvisorError('SHUTDOWN_TIMEOUT', `VM ${name} did not power off within ${timeoutMs / 1000} s of the power key (it is still ${vm.state}; destroy stops it hard)`);
    }
    return this.info_(vm);
  }

  async destroy(name: string): Promise<VmInfo> {
    const vm = this.get(name);
    return this.serial(vm, () => this.destroy_(vm));
  }

  private async destroy_(vm: Vm): Promise<VmInfo> {
    this.refuse(vm, 'destroy', ['running', 'paused', 'crashed']);
    if (vm.state === 'crashed') {
      this.setState(vm, 'shutoff', 'destroyed');
      return this.info_(vm);
    }
    const run = vm.run!;
    await this.cpu.stopBetweenSlices(run);
    if (vm.run === run) this.finish(vm, 'shutoff', 'destroyed');
    return this.info_(vm);
  }

  /** Resets the machine: fresh memory, the same definition and disks (reboot and reset are the
   *  same hard reset here: the guest is not asked). */
  private async resetMachine(name: string, verb: string, reason: string): Promise<VmInfo> {
    const vm = this.get(name);
    return this.serial(vm, () => this.resetMachine_(vm, verb, reason));
  }

  private async resetMachine_(vm: Vm, verb: string, reason: string): Promise<VmInfo> {
    this.refuse(vm, verb, ['running', 'paused']);
    const run = vm.run!;
    const resume = await this.cpu.stopBetweenSlices(run);
    if (vm.run !== run) return this.info_(vm);
    this.cpu.freshBoard(run);
    this.setState(vm, vm.state, reason);
    resume();
    return this.info_(vm);
  }

  reboot(name: string): Promise<VmInfo> {
    return this.resetMachine(name, 'reboot', 'reboot');
  }

  reset(name: string): Promise<VmInfo> {
    return this.resetMachine(name, 'reset', 'reset');
  }

  async save(name: string, file: string): Promise<SaveInfo> {
    const vm = this.get(name);
    return this.serial(vm, () => this.save_(vm, file));
  }

  private async save_(vm: Vm, file: string): Promise<SaveInfo> {
    const t0 = now();
    const name = vm.def.name;
    this.refuse(vm, 'save', ['running', 'paused']);
    if (typeof file !== 'string' || file === '') throw new RvisorError('BAD_REQUEST', 'save needs a file path');
    const path = isAbsolute(file) ? file : resolve(file);
    const run = vm.run!;
    const wasPaused = run.paused;
    const resume = await this.cpu.stopBetweenSlices(run);
    if (vm.run !== run) throw new RvisorError('VM_STATE', `VM ${name} stopped before it could be saved (${vm.state}, ${vm.reason})`);
    if (!run.board) {
      resume();
      throw new RvisorError('VM_STATE', `VM ${name} has not run yet (started paused): there is no machine state to save`);
    }
    const def = vm.def;
    let result;
    try {
      result = writeSnapshotFile(path, {
        meta: { origin: 'serve', name, paused: wasPaused },
        config: {
          vcpus: def.vcpus, memBytes: run.memBytes, append: def.append,
          kernel: fileIdentity(def.kernel), initrd: fileIdentity(def.initrd), bios: fileIdentity(def.bios),
          disks: def.disks.map((d) => diskIdentity({ path: d.path, readOnly: d.readonly, ...(d.format ? { format: d.format } : {}) })),
          sched: { weight: def.weight, cap: def.cap },
          ...(def.deterministic ? { deterministic: def.deterministic } : {}), ...(def.balloon ? {} : { balloon: false }),
        },
        host: run.arena.host, state: run.board, nowMs: now(),
      });
      // The managed save: a hard link to the file (a copy, reflinked where the file system can,
      // when the file is on another file system).
      const managed = this.managedSavePath(name);
      try { unlinkSync(managed); } catch { /* none yet */ }
      if (managed !== path) {
        try {
          linkSync(path, managed);
        } catch {
          copyFileSync(path, managed, fsConstants.COPYFILE_FICLONE);
        }
      }
    } catch (e) {
      resume();
      throw e;
    }
    this.finish(vm, 'shutoff', 'saved');
    return { vm: this.info_(vm), file: path, bytes: result.bytes, pagesPresent: result.pagesPresent, pagesStored: result.pagesStored, durationMs: now() - t0 };
  }

  async restore(file: string, opts: RestoreOptions = {}): Promise<VmInfo> {
    if (typeof file !== 'string' || file === '') throw new RvisorError('BAD_REQUEST', 'restore needs a snapshot file path');
    const path = isAbsolute(file) ? file : resolve(file);
    const what = `snapshot ${path}`;
    // Read and check the file before anything is defined or changed.
    const snap = openSnapshotFile(path);
    let name: string, config;
    try {
      config = snap.config;
      const n = opts.name ?? snap.meta.name;
      if (n === null || n === undefined) throw new RvisorError('BAD_REQUEST', `${what} was saved by rvisor run and names no VM: give a name`);
      name = n;
      checkBootFiles(config, what, opts.force === true);
      checkDisks(config, what, opts.force === true);
    } finally {
      snap.close();
    }
    const existing = this.vms.get(name);
    if (existing) return this.launchChecked(existing, opts, path);
    const mib = config.memBytes % 1048576 === 0 ? `${config.memBytes / 1048576}M` : `${config.memBytes / 1024}K`;
    this.define({
      name, vcpus: config.vcpus, memory: mib, kernel: config.kernel?.path ?? null, initrd: config.initrd?.path ?? null,
      bios: config.bios?.path ?? null, append: config.append, disks: config.disks.map((d) => ({ path: d.path, readonly: d.readOnly })),
      ...(config.sched ? { weight: config.sched.weight, cap: config.sched.cap } : {}),
      ...(config.deterministic ? { deterministic: config.deterministic } : {}),
    });
    try {
      return await this.launchChecked(this.get(name), opts, path);
    } catch (e) {
      // Nothing is left behind by a refused restore: the VM it defined goes again.
      if (this.vms.get(name)?.state === 'shutoff') this.undefine(name);
      throw e;
    }
  }

  private launchChecked(vm: Vm, opts: RestoreOptions, path: string): Promise<VmInfo> {
    return this.serial(vm, () => this.launchChecked_(vm, opts, path));
  }

  private async launchChecked_(vm: Vm, opts: RestoreOptions, path: string): Promise<VmInfo> {
    this.refuse(vm, 'restore into', ['shutoff', 'crashed']);
    const info = await this.launch(vm, { ...(opts.paused ? { paused: true } : {}), ...(opts.force ? { force: true } : {}), ...(opts.prefault ? { prefault: true } : {}) }, path);
    // An older managed save would make the next start go back in time: it goes.
    const managed = this.managedSavePath(vm.def.name);
    if (managed !== path) try { unlinkSync(managed); } catch { /* none */ }
    return info;
  }

  // Named checkpoints (checkpoints.ts).
  snapshotCreate(name: string, snap: string): Promise<CheckpointInfo> { return this.checkpoints.create(name, snap); }
  snapshotList(name: string): CheckpointInfo[] { return this.checkpoints.list(name); }
  snapshotRevert(name: string, snap: string, opts: RevertOptions = {}): Promise<VmInfo> { return this.checkpoints.revert(name, snap, opts); }
  snapshotDelete(name: string, snap: string): Promise<void> { return this.checkpoints.delete(name, snap); }

  // Live migration (migration/): sending, cancelling, and the destination side (a WebSocket from the source host).
  migrate(name: string, opts: MigrateOptions): Promise<MigrationInfo> { return this.desk.migrate(this.get(name), opts); }
  migrateCancel(name: string): boolean { return this.desk.cancel(this.get(name)); }
  acceptMigration(ws: WebSocket): void { this.desk.accept(ws); }

  /** A live clone (clone.ts): original and clone run side by side, RAM shared copy-on-write. */
  clone(name: string, newName: string, opts: CloneOptions = {}): Promise<CloneInfo> {
    return cloneVm<Vm>({
      vmsDir: this.registry.vmsDir, cpu: this.cpu, get: (n) => this.get(n), exists: (n) => this.vms.has(n), serial: (vm, fn) => this.serial(vm, fn),
      define: (def) => (this.define(def), this.get(def.name)), undefine: (n) => this.undefine(n),
      commit: (a, m, v) => this.arenas.commit(a, m, v, this.get(name).def.sharingGroup), uncommit: (a, m, v) => this.arenas.release(a, m, v, this.get(name).def.sharingGroup),
      launch: (vm, paused, machine) => this.serial(vm, () => this.launch(vm, paused ? { paused: true } : {}, machine)),
    }, name, newName, opts);
  }

  /** The run ends: its memory goes back to the arena, its disks are closed. */
  private finish(vm: Vm, state: 'shutoff' | 'crashed', reason: string, boardFreed = false): void {
    const run = vm.run;
    if (!run) return;
    vm.run = undefined;
    vm.lastPcpu = run.lastPcpu;
    this.cpu.remove(run);
    this.memory.detach(vm.def.name);
    if (run.board && !boardFreed) freeBoardMemory(run.arena.host, run.board);
    this.lazyFiles.get(run)?.();
    this.lazyFiles.delete(run);
    this.arenas.release(run.arena, run.memBytes, vm.def.vcpus, vm.def.sharingGroup);
    this.disks.release(vm.def.name, run.disks);
    for (const d of run.disks) d.close();
    this.registry.setRunning(vm.def.name, false);
    this.setState(vm, state, reason);
    for (const f of run.sliceWaiters.splice(0)) f();
    for (const f of run.endWaiters.splice(0)) f();
    for (const f of run.bootWaiters.splice(0)) f(undefined);
  }

  // ---- consoles, statistics ------------------------------------------------------------------

  attachConsole(name: string, onOutput: (bytes: Uint8Array) => void): ConsoleAttachment {
    const vm = this.get(name);
    this.refuse(vm, 'attach a console to', ['running', 'paused']);
    const scrollback = vm.console.scrollback();
    const detach = vm.console.attach(onOutput);
    return {
      scrollback,
      write: (bytes: Uint8Array) => {
        const run = vm.run;
        if (!run) return;
        for (const b of bytes) run.input.push(b);
        this.cpu.wake(run);
      },
      detach,
    };
  }

  stats(name: string): VmStats {
    return vmStats(this.get(name), this.memory);
  }

  hostStats(): HostStats {
    return hostStats(this.pcpus, [...this.vms.values()], this.cpu, this.arenas, this.memory);
  }

  /** Test hook (HostOptions.testHooks): the VM's next slice throws inside its pCPU worker, as a
   *  bug in the emulator would. */
  injectFault(name: string): void {
    if (!this.testHooks) throw new RvisorError('USAGE', 'test hooks are off on this host');
    const vm = this.get(name);
    this.refuse(vm, 'inject a fault into', ['running']);
    vm.run!.fault = true;
    this.cpu.wake(vm.run!);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cpu.close();
    this.memory.close();
    for (const vm of this.vms.values()) {
      const run = vm.run;
      if (!run) continue;
      // The workers are gone, so no slice is in flight. The running marker stays: the next host
      // reports the VM shutoff with reason daemon-restart.
      vm.run = undefined;
      if (run.board) freeBoardMemory(run.arena.host, run.board);
      this.disks.release(vm.def.name, run.disks);
      for (const d of run.disks) d.close();
      this.setState(vm, 'shutoff', 'daemon-stop');
      for (const f of [...run.sliceWaiters.splice(0), ...run.endWaiters.splice(0)]) f();
      for (const f of run.bootWaiters.splice(0)) f(undefined);
    }
    this.unlock();
  }
}

/** Opens a host: loads the registry from the state dir, starts the pCPU workers and the VMs
 *  marked autostart. */
export async function openHost(opts: HostOptions = {}): Promise<Host> {
  const host = new Host(opts);
  await host.autostart();
  return host;
}
