// A small in-memory HostApi for the API layer's unit tests (never shipped): the libvirt states and
// verbs without machines. Guest output is produced on demand with `output()`; console input is
// recorded in `inputs` and echoed back as output, as a guest's tty would.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { RvisorError } from '../src/errors.js';
import type {
  CheckpointInfo, CloneInfo, MigrationInfo, ConsoleAttachment, HostApi, HostEvent, HostStats, RestoreOptions, SaveInfo, SchedInfo, ShutdownOptions, StartOptions, VmDefinition, MemoryTuneInfo,
  VmDefinitionInput, VmInfo, VmState, VmStats,
} from '../src/vmm/types.js';

interface FakeVm {
  def: VmDefinition;
  state: VmState;
  reason: string;
  since: string;
  viewers: Set<(b: Uint8Array) => void>;
  scrollback: Buffer;
}

export class FakeHost extends EventEmitter implements HostApi {
  readonly stateDir = '/nonexistent/fake-state';
  readonly pcpus = 2;
  readonly vms = new Map<string, FakeVm>();
  readonly inputs: { name: string; bytes: Buffer }[] = [];
  /** Makes list() answer with data that breaks the schema (tests the response check). */
  broken = false;

  private get(name: string): FakeVm {
    const vm = this.vms.get(name);
    if (!vm) throw new RvisorError('VM_NOT_FOUND', `no VM named ${JSON.stringify(name)}`);
    return vm;
  }

  private info_(vm: FakeVm): VmInfo {
    const active = vm.state === 'running' || vm.state === 'paused';
    return { name: vm.def.name, id: active ? [...this.vms.keys()].indexOf(vm.def.name) + 1 : null, state: vm.state, reason: vm.reason, since: vm.since, definition: structuredClone(vm.def) };
  }

  private set(vm: FakeVm, state: VmState, reason: string): VmInfo {
    vm.state = state;
    vm.reason = reason;
    vm.since = new Date().toISOString();
    this.emitEvent({ type: 'state', name: vm.def.name, state, reason, time: vm.since });
    return this.info_(vm);
  }

  private need(vm: FakeVm, verb: string, states: VmState[]): void {
    if (!states.includes(vm.state)) throw new RvisorError('VM_STATE', `cannot ${verb} VM ${vm.def.name}: it is ${vm.state}`);
  }

  private emitEvent(e: HostEvent): void {
    this.emit('event', e);
  }

  list(): VmInfo[] {
    if (this.broken) return [{ name: 'NOT A NAME' } as unknown as VmInfo];
    return [...this.vms.values()].map((v) => this.info_(v));
  }

  info(name: string): VmInfo { return this.info_(this.get(name)); }

  define(input: VmDefinitionInput): VmInfo {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.name)) throw new RvisorError('BAD_DEFINITION', 'bad name');
    if (this.vms.has(input.name)) throw new RvisorError('VM_EXISTS', `VM ${input.name} is already defined`);
    const def: VmDefinition = {
      name: input.name, vcpus: input.vcpus ?? 1, memory: input.memory ?? '256M', kernel: input.kernel ?? '/images/Image.gz',
      initrd: input.initrd ?? '/images/initramfs.cpio.gz', append: input.append ?? 'console=ttyS0', bios: input.bios ?? null,
      disks: input.disks ?? [], weight: input.weight ?? 256, cap: input.cap ?? 0, autostart: input.autostart ?? false,
      reservation: input.reservation ?? '0', limit: input.limit ?? null, shares: input.shares ?? 2560, balloon: input.balloon ?? true,
    };
    for (const d of def.disks) if (!existsSync(d.path)) throw new RvisorError('BAD_DEFINITION', `disk ${d.path} does not exist`);
    const vm: FakeVm = { def, state: 'shutoff', reason: 'defined', since: new Date().toISOString(), viewers: new Set(), scrollback: Buffer.alloc(0) };
    this.vms.set(def.name, vm);
    this.emitEvent({ type: 'defined', name: def.name, time: vm.since });
    return this.info_(vm);
  }

  undefine(name: string): void {
    const vm = this.get(name);
    this.need(vm, 'undefine', ['shutoff', 'crashed']);
    this.vms.delete(name);
    this.emitEvent({ type: 'undefined', name, time: new Date().toISOString() });
  }

  async start(name: string, opts: StartOptions = {}): Promise<VmInfo> {
    const vm = this.get(name);
    this.need(vm, 'start', ['shutoff', 'crashed']);
    return this.set(vm, opts.paused ? 'paused' : 'running', opts.paused ? 'start-paused' : 'booted');
  }
  async pause(name: string): Promise<VmInfo> { const vm = this.get(name); this.need(vm, 'pause', ['running']); return this.set(vm, 'paused', 'user'); }
  async resume(name: string): Promise<VmInfo> { const vm = this.get(name); this.need(vm, 'resume', ['paused']); return this.set(vm, 'running', 'unpaused'); }
  async shutdown(name: string, opts: ShutdownOptions = {}): Promise<VmInfo> {
    const vm = this.get(name);
    this.need(vm, 'shut down', ['running']);
    if (opts.timeoutMs === 0) throw new RvisorError('SHUTDOWN_TIMEOUT', `VM ${name} did not power off within 0 ms`);
    return this.set(vm, 'shutoff', 'shutdown');
  }
  async destroy(name: string): Promise<VmInfo> { const vm = this.get(name); this.need(vm, 'destroy', ['running', 'paused', 'crashed']); return this.set(vm, 'shutoff', 'destroyed'); }
  async reboot(name: string): Promise<VmInfo> { const vm = this.get(name); this.need(vm, 'reboot', ['running', 'paused']); return this.set(vm, vm.state, 'reboot'); }
  async reset(name: string): Promise<VmInfo> { const vm = this.get(name); this.need(vm, 'reset', ['running', 'paused']); return this.set(vm, vm.state, 'reset'); }
  /** Saves only record the request (no file is written). */
  readonly saves: { name: string; file: string }[] = [];
  async save(name: string, file: string): Promise<SaveInfo> {
    const vm = this.get(name);
    this.need(vm, 'save', ['running', 'paused']);
    this.saves.push({ name, file });
    return { vm: this.set(vm, 'shutoff', 'saved'), file, bytes: 4096, pagesPresent: 2, pagesStored: 1, durationMs: 1 };
  }
  // Checkpoints are not modelled here (test/checkpoint.test.ts runs the real host).
  async migrate(name: string): Promise<MigrationInfo> { this.get(name); throw new RvisorError('VM_STATE', 'no migrations in the fake host'); }
  migrateCancel(): boolean { return false; }
  async clone(name: string): Promise<CloneInfo> { this.get(name); throw new RvisorError('VM_STATE', 'no clones in the fake host'); }
  async snapshotCreate(name: string): Promise<CheckpointInfo> { this.get(name); throw new RvisorError('VM_STATE', 'no checkpoints in the fake host'); }
  snapshotList(name: string): CheckpointInfo[] { this.get(name); return []; }
  async snapshotRevert(name: string, snap: string): Promise<VmInfo> { this.get(name); throw new RvisorError('SNAPSHOT_NOT_FOUND', `no snapshot ${snap}`); }
  async snapshotDelete(name: string, snap: string): Promise<void> { this.get(name); throw new RvisorError('SNAPSHOT_NOT_FOUND', `no snapshot ${snap}`); }
  async restore(file: string, opts: RestoreOptions = {}): Promise<VmInfo> {
    if (!existsSync(file)) throw new RvisorError('ENOENT_FILE', `snapshot ${file}: no such file`);
    const name = opts.name ?? 'restored';
    if (!this.vms.has(name)) this.define({ name });
    const vm = this.get(name);
    this.need(vm, 'restore into', ['shutoff', 'crashed']);
    return this.set(vm, opts.paused ? 'paused' : 'running', opts.paused ? 'restored-paused' : 'restored');
  }

  setAutostart(name: string, on: boolean): VmInfo { const vm = this.get(name); vm.def.autostart = on; return this.info_(vm); }
  schedinfo(name: string): SchedInfo { const d = this.get(name).def; return { weight: d.weight, cap: d.cap }; }
  memtune(name: string, u: Partial<MemoryTuneInfo> = {}): MemoryTuneInfo {
    const d = this.get(name).def;
    Object.assign(d, u);
    return { reservation: d.reservation, limit: d.limit, shares: d.shares };
  }
  setSchedinfo(name: string, s: Partial<SchedInfo>): SchedInfo {
    const d = this.get(name).def;
    if (s.weight !== undefined) d.weight = s.weight;
    if (s.cap !== undefined) d.cap = s.cap;
    this.emitEvent({ type: 'schedinfo', name, weight: d.weight, cap: d.cap, time: new Date().toISOString() });
    return { weight: d.weight, cap: d.cap };
  }

  stats(name: string): VmStats {
    const vm = this.get(name);
    return {
      name, state: vm.state, cpuTimeNs: 1_500_000_000, instructions: 123456789, stealNs: 2_000_000,
      vcpus: [{ id: 0, cpuTimeNs: 1_500_000_000, instructions: 123456789, stealNs: 2_000_000 }],
      memory: {
        nominalBytes: 268435456, presentBytes: 10485760, sharedBytes: 4096, zeroBytes: 0, balloonedBytes: 0, swappedBytes: 0, swapIns: 0, swapOuts: 0,
        reservationBytes: 0, limitBytes: null, shares: 2560, targetBytes: null, activeFraction: null, balloon: null,
      }, lastPcpu: 1,
    };
  }

  hostStats(): HostStats {
    return {
      pcpus: 2, vms: { total: this.vms.size, running: 0, paused: 0, crashed: 0, shutoff: this.vms.size },
      pcpuBusyNs: [0, 0], arenas: [], rssBytes: process.memoryUsage.rss(),
      memory: {
        hostMemBytes: 1 << 30, reservedBytes: 0, heldBytes: 0, presentBytes: 0, sharedBytes: 0, zeroBytes: 0, balloonedBytes: 0, swappedBytes: 0,
        sharing: { stableFrames: 0, stablePages: 0, scannedPages: 0, rateLimitPagesPerSec: 0 },
      },
    };
  }

  attachConsole(name: string, onOutput: (bytes: Uint8Array) => void): ConsoleAttachment {
    const vm = this.get(name);
    this.need(vm, 'attach a console to', ['running', 'paused']);
    vm.viewers.add(onOutput);
    return {
      scrollback: Uint8Array.from(vm.scrollback),
      write: (bytes) => {
        this.inputs.push({ name, bytes: Buffer.from(bytes) });
        this.output(name, bytes);
      },
      detach: () => { vm.viewers.delete(onOutput); },
    };
  }

  /** Guest console output: kept in the 64 KiB scrollback and sent to every viewer. */
  output(name: string, bytes: Uint8Array | string): void {
    const vm = this.get(name);
    const b = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
    vm.scrollback = Buffer.concat([vm.scrollback, b]).subarray(-65536);
    for (const v of vm.viewers) v(b);
  }

  viewerCount(name: string): number { return this.get(name).viewers.size; }

  closed = false;
  async close(): Promise<void> { this.closed = true; }
}
