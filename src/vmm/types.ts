// The host's programmatic API (the package's main export): what `rvisor serve`'s REST API, the
// CLI and tests call. Everything here is plain data that serializes to JSON as is.

/** States as libvirt names them (virDomainState). */
export type VmState = 'shutoff' | 'running' | 'paused' | 'crashed';

/** A VM definition as the user writes it (`rvisor vm define FILE`, POST /vms). Paths are host
 *  paths; `kernel`/`initrd` default to the bundled guest's images; `null` means none. */
export interface VmDefinition {
  /** `[a-z0-9][a-z0-9-]{0,62}` */
  name: string;
  /** 1..8 */
  vcpus: number;
  /** Guest RAM, e.g. "256M", "1G" (16M .. 3G, a multiple of 4K). */
  memory: string;
  kernel: string | null;
  initrd: string | null;
  append: string;
  /** M-mode firmware (e.g. OpenSBI fw_jump.bin); null: the VMM implements the SBI. */
  bios: string | null;
  /** format: the image format (absent: probed from the file when it is opened). */
  disks: { path: string; readonly: boolean; format?: 'raw' | 'qcow2' }[];
  /** CPU weight under contention, 1..65535 (default 256). */
  weight: number;
  /** Most CPU the VM may use, per cent of one pCPU; 0 = no cap. */
  cap: number;
  autostart: boolean;
  /** Deterministic mode (as `rvisor run --deterministic --seed`): guest time from retired
   *  instructions, entropy from the seed; absent: the normal, host-timed machine. */
  deterministic?: { seed: string };
  /** Host memory guaranteed to the VM (admission control refuses a start that cannot have it);
   *  default "0". */
  reservation: string;
  /** The most host memory the VM may hold, even when the host has room (past it the host
   *  balloons, then swaps); null: its memory size. */
  limit: string | null;
  /** Its claim on memory under contention (default 10 per MiB of memory, as ESX's "normal"). */
  shares: number;
  /** Page sharing merges identical pages within a VM, and between VMs of the same group only
   *  (sharing between VMs leaks through timing: off unless asked for). */
  sharingGroup?: string;
  /** A virtio-balloon device (default true). */
  balloon: boolean;
  /** The JIT (src/jit/): "on" compiles hot guest code to WebAssembly; absent: the host's
   *  environment ($RVISOR_JIT), else off. */
  jit?: 'on' | 'off';
  /** With the JIT on: instructions run on a page before it is compiled, 1..2147483647 (absent:
   *  $RVISOR_JIT_THRESHOLD, else 50000). */
  jitThreshold?: number;
}

/** What a caller may leave out of a definition (defaults filled by `normalizeDefinition`). */
export type VmDefinitionInput = Pick<VmDefinition, 'name'> & Partial<Omit<VmDefinition, 'name'>>;

/** HostApi.memtune: the memory controls of a VM (sizes as "128M"; limit null: none). */
export interface MemoryTuneInfo {
  reservation: string;
  limit: string | null;
  shares: number;
}

export interface VmInfo {
  name: string;
  /** While running or paused: the run's id (as libvirt's domain id: given at start, never reused
   *  by this host, stable until the VM stops); null otherwise. */
  id: number | null;
  state: VmState;
  /** Why it is in this state: booted, user, poweroff, reboot, daemon-restart, destroyed, shutdown,
   *  `error: …` (crashed) … */
  reason: string;
  /** ISO time of the last state change. */
  since: string;
  definition: VmDefinition;
}

export interface VcpuStats {
  id: number;
  /** Host CPU time this vCPU ran guest code, ns. */
  cpuTimeNs: number;
  instructions: number;
  /** Time runnable but not running (waiting for a pCPU), ns. */
  stealNs: number;
}

export interface VmStats {
  name: string;
  state: VmState;
  cpuTimeNs: number;
  instructions: number;
  stealNs: number;
  vcpus: VcpuStats[];
  memory: VmMemoryStats;
  /** The worker (pCPU) that ran it last, or null. */
  lastPcpu: number | null;
}

/** A VM's memory (issue #9): what the guest sees, what the host holds for it and why. */
export interface VmMemoryStats {
  /** The guest's memory size. */
  nominalBytes: number;
  /** Guest pages backed by a host frame (their own or shared). */
  presentBytes: number;
  /** Of those, pages whose frame another page also maps (page sharing, clones). */
  sharedBytes: number;
  /** Pages known to be zero and not backed (the scanner, free page reporting, deflate). */
  zeroBytes: number;
  /** Pages the guest's balloon driver holds. */
  balloonedBytes: number;
  /** Pages in the VM's swap file. */
  swappedBytes: number;
  swapIns: number;
  swapOuts: number;
  reservationBytes: number;
  /** null: no limit. */
  limitBytes: number | null;
  shares: number;
  /** What the memory manager entitles it to now (host pressure, shares, idle tax); null: no
   *  pressure, nothing is taken. */
  targetBytes: number | null;
  /** Fraction of its present pages used in the last aging period (the idle tax's estimate). */
  activeFraction: number | null;
  /** The virtio-balloon device as last seen; null: none, or not running. */
  balloon: { targetBytes: number; actualBytes: number; stats: Record<string, number> } | null;
}

export interface SchedInfo {
  weight: number;
  cap: number;
}

export interface HostStats {
  pcpus: number;
  vms: { total: number; running: number; paused: number; crashed: number; shutoff: number };
  /** Busy time of each pCPU worker since the host started, ns. */
  pcpuBusyNs: number[];
  arenas: { index: number; bytes: number; framesInUse: number; vms: number }[];
  rssBytes: number;
  memory: HostMemoryStats;
}

/** The host's memory for guests (issue #9). */
export interface HostMemoryStats {
  /** `rvisor serve --host-mem`: what the host gives to guests. */
  hostMemBytes: number;
  /** Reservations of the running and paused VMs (admission control keeps it ≤ hostMemBytes). */
  reservedBytes: number;
  /** Host frames in use in all arenas (guest pages, their P2M tables and vCPU state). */
  heldBytes: number;
  /** What the VMs' guest pages add up to, each counted once per VM (sharing makes it more than
   *  the frames behind them). */
  presentBytes: number;
  sharedBytes: number;
  zeroBytes: number;
  balloonedBytes: number;
  swappedBytes: number;
  /** The page-sharing scanner: frames it keeps as merge targets, and pages mapping them. */
  sharing: { stableFrames: number; stablePages: number; scannedPages: number; rateLimitPagesPerSec: number };
}

/** The event stream (GET /events, host.on('event')). */
/** HostApi.migrate options. */
export interface MigrateOptions {
  /** The destination host's API: http://HOST:PORT of its `rvisor serve --listen`. */
  to: string;
  /** The destination's bearer token (its <state dir>/token). */
  token?: string;
  /** Stop-and-copy once the rest would take at most this long (default 300 ms, as QEMU). */
  maxDowntimeMs?: number;
  /** Send the disks' content too (default: the destination reaches them at the same paths). */
  copyStorage?: boolean;
}

/** What HostApi.migrate did. */
export interface MigrationInfo {
  /** The VM at the source (shutoff, reason migrated). */
  vm: VmInfo;
  to: string;
  /** The VM at the destination, as it answered. */
  destination: VmInfo;
  totalMs: number;
  /** From the guest's stop at the source to the destination's confirmation that it runs. */
  downtimeMs: number;
  rounds: number;
  /** Present pages at the start, and pages sent in all rounds. */
  pagesTotal: number;
  pagesSent: number;
  bytesSent: number;
  /** The highest auto-converge throttle applied, per cent of the guest's CPU taken away. */
  throttlePct: number;
}

export type HostEvent =
  | { type: 'state'; name: string; state: VmState; reason: string; time: string }
  | {
      type: 'migration'; name: string; phase: 'setup' | 'precopy' | 'stop-copy' | 'done' | 'failed' | 'cancelled';
      round: number; pagesSent: number; pagesRemaining: number; bytesSent: number; rateMBps: number; expectedDowntimeMs: number;
      throttlePct: number; time: string; message?: string;
    }
  | { type: 'defined' | 'undefined'; name: string; time: string }
  | { type: 'schedinfo'; name: string; weight: number; cap: number; time: string };

/** One viewer of a VM's console. Output arrives through the listener given to attachConsole. */
export interface ConsoleAttachment {
  /** The last 64 KiB of console output before this viewer attached. */
  readonly scrollback: Uint8Array;
  /** Types bytes into the guest's console. */
  write(bytes: Uint8Array): void;
  detach(): void;
}

export interface StartOptions {
  paused?: boolean;
  /** Resume from the managed save (see HostApi.save) even if a disk or boot file changed since. */
  force?: boolean;
  /** Resuming from the managed save: load every page before the guest runs, instead of each on
   *  first touch (lazy restore). */
  prefault?: boolean;
}

export interface RestoreOptions {
  /** The VM to restore into (default: the name the snapshot was saved under). A VM of that name
   *  must be shutoff or crashed and of the snapshot's configuration; a new name is defined from
   *  the snapshot's configuration. */
  name?: string;
  /** Leave the vCPUs stopped (the guest runs nothing until resume; its clock keeps host time). */
  paused?: boolean;
  /** Restore even if a disk or boot file changed since the save. */
  force?: boolean;
  /** Load every page before the guest runs (default: lazy restore, each page loaded from the
   *  file on first touch). */
  prefault?: boolean;
}

export interface RevertOptions {
  /** Leave the reverted VM paused (default: running or paused as it was at the checkpoint). */
  paused?: boolean;
}

/** HostApi.clone options. */
export interface CloneOptions {
  /** The clone starts paused (the original keeps its state). */
  paused?: boolean;
}

/** What HostApi.clone did. */
export interface CloneInfo {
  vm: VmInfo;
  /** How long the original's vCPUs were stopped, ms. */
  pausedMs: number;
  /** The whole verb, ms. */
  durationMs: number;
  /** Guest pages the two VMs share (copy-on-write) when the clone starts. */
  pagesShared: number;
}

/** A named checkpoint of a VM (HostApi.snapshotCreate). */
export interface CheckpointInfo {
  name: string;
  /** The checkpoint the VM was last created from or reverted to when this one was taken. */
  parent: string | null;
  /** ISO time. */
  created: string;
  /** The VM's state when it was taken (shutoff: disks only). */
  state: 'running' | 'paused' | 'shutoff';
  /** The VM was last created from or reverted to this one (the next one's parent). */
  current: boolean;
}

/** What HostApi.save did. */
export interface SaveInfo {
  vm: VmInfo;
  /** The snapshot written (absolute path). */
  file: string;
  bytes: number;
  /** Guest pages backed by memory, and those stored (the rest were all zero). */
  pagesPresent: number;
  pagesStored: number;
  /** Time from the request to the file being on disk, ms. */
  durationMs: number;
}

export interface ShutdownOptions {
  /** How long to wait for the guest to power off before reporting a timeout (default 60000). */
  timeoutMs?: number;
}

/** The host (src/vmm/host.ts implements it). Verbs that do not fit the VM's state throw
 *  RvisorError('VM_STATE'); unknown names 'VM_NOT_FOUND'; bad definitions 'BAD_DEFINITION'
 *  (a missing kernel/initrd/disk file included); a second VM of the same name 'VM_EXISTS'. */
export interface HostApi {
  readonly stateDir: string;
  readonly pcpus: number;
  list(): VmInfo[];
  info(name: string): VmInfo;
  define(def: VmDefinitionInput): VmInfo;
  /** Only a VM that is shutoff or crashed. Removes its folder. */
  undefine(name: string): void;
  start(name: string, opts?: StartOptions): Promise<VmInfo>;
  pause(name: string): Promise<VmInfo>;
  resume(name: string): Promise<VmInfo>;
  /** Asks the guest to power off (power key); resolves once it is shutoff, or throws
   *  RvisorError('SHUTDOWN_TIMEOUT') after opts.timeoutMs with the VM still running. */
  shutdown(name: string, opts?: ShutdownOptions): Promise<VmInfo>;
  /** Hard stop (running, paused or crashed → shutoff). */
  destroy(name: string): Promise<VmInfo>;
  /** Graceful reboot is not asked of the guest: the machine is reset with the same definition. */
  reboot(name: string): Promise<VmInfo>;
  reset(name: string): Promise<VmInfo>;
  /** Saves a running or paused VM to `file` (a snapshot, docs/snapshot-format.md) and stops it
   *  (shutoff, reason saved). As libvirt's managed save, the VM's folder keeps the snapshot too
   *  and the next start resumes from it (then drops it). */
  save(name: string, file: string): Promise<SaveInfo>;
  /** Runs a VM from a snapshot file (see RestoreOptions). The file is checked first: a missing,
   *  foreign, newer, corrupt or mismatched file, or a changed disk, changes nothing. */
  restore(file: string, opts?: RestoreOptions): Promise<VmInfo>;
  /** Takes the checkpoint `snap` (RAM, devices and a copy of each read-write disk) of a running or
   *  paused VM, which pauses only while its state is copied; of a shut-off VM, its disks only.
   *  SNAPSHOT_EXISTS, BAD_REQUEST (name), VM_STATE (crashed, or shut off with a managed save). */
  snapshotCreate(name: string, snap: string): Promise<CheckpointInfo>;
  /** A live clone NEW of a running or paused VM: both run on, guest RAM shared copy-on-write,
   *  each read-write disk copied (reflinked where possible) into the clone's folder, a new VM
   *  generation ID. VM_EXISTS, VM_STATE, ENOMEM_HOST (no room in the original's arena). */
  clone(name: string, newName: string, opts?: CloneOptions): Promise<CloneInfo>;
  /** Live migration of a running or paused VM to another host (see MigrateOptions); it ends
   *  shutoff (reason migrated) here. A cancel, a dead link or a refusal before the switch leaves it
   *  running here and nothing at the destination: MIGRATION_CANCELLED, MIGRATION_FAILED,
   *  UNAUTHORIZED (the destination refused the token), VM_EXISTS (there). */
  migrate(name: string, opts: MigrateOptions): Promise<MigrationInfo>;
  /** Cancels the VM's migration in progress; false when there is none (or it has switched). */
  migrateCancel(name: string): boolean;
  /** The VM's checkpoints, oldest first. */
  snapshotList(name: string): CheckpointInfo[];
  /** Back to the checkpoint: RAM, devices and disks (the VM runs, or is paused as it was then, or
   *  as opts.paused says; a disks-only checkpoint leaves it shut off). SNAPSHOT_NOT_FOUND,
   *  SNAPSHOT_MISMATCH (the definition or a boot file changed since), DISK_IN_USE, DISK_CHANGED
   *  (a read-only disk changed): a refusal changes nothing. */
  snapshotRevert(name: string, snap: string, opts?: RevertOptions): Promise<VmInfo>;
  /** Removes the checkpoint; its children become its parent's. */
  snapshotDelete(name: string, snap: string): Promise<void>;
  setAutostart(name: string, on: boolean): VmInfo;
  schedinfo(name: string): SchedInfo;
  setSchedinfo(name: string, s: Partial<SchedInfo>): SchedInfo;
  /** The VM's memory controls; with fields, changes them (live if it runs: a larger reservation
   *  passes admission control first, INSUFFICIENT_MEMORY otherwise). */
  memtune(name: string, update?: Partial<MemoryTuneInfo>): MemoryTuneInfo;
  stats(name: string): VmStats;
  hostStats(): HostStats;
  /** A console viewer (several may attach at once). Throws VM_STATE unless running or paused. */
  attachConsole(name: string, onOutput: (bytes: Uint8Array) => void): ConsoleAttachment;
  on(event: 'event', listener: (e: HostEvent) => void): unknown;
  off(event: 'event', listener: (e: HostEvent) => void): unknown;
  /** Stops every VM (state shutoff, reason daemon-stop) and the workers. */
  close(): Promise<void>;
}

export interface HostOptions {
  /** Default: $XDG_DATA_HOME/rvisor, else ~/.local/share/rvisor. */
  stateDir?: string;
  /** Worker threads that run guest code (default: the host's cores). */
  pcpus?: number;
  /** Enables test-only hooks such as Host.injectFault (never in production). */
  testHooks?: boolean;
  /** The memory the host gives to guests, e.g. "8G" (default: 3/4 of the machine's). */
  hostMem?: string;
  /** Page-sharing scan rate, guest pages per second (default 25600; 0: off). */
  pageSharingRate?: number;
  /** Idle memory tax, per cent (default 75, as ESX). */
  idleTaxPct?: number;
}
