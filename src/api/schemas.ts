// The REST API's schemas (TypeBox, i.e. JSON Schema): the same objects validate every request,
// check every response and generate the OpenAPI document (docs/openapi.json). Compile-time checks
// at the end keep them equal to the host's contract in src/vmm/types.ts.
import { Type, type Static, type TOptional, type TSchema } from '@sinclair/typebox';
import type {
  CheckpointInfo, CloneInfo, CloneOptions, MigrateOptions, MigrationInfo, RevertOptions, HostEvent, HostStats, RestoreOptions, SaveInfo, SchedInfo, VmDefinition, VmDefinitionInput, VmInfo, VmState, VmStats, MemoryTuneInfo,
} from '../vmm/types.js';
import { ERROR_CODES } from '../errors.js';

/** VM names, as everywhere in rvisor. */
export const VM_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
/** Guest RAM sizes as `rvisor run --mem` takes them (the host checks the range). */
export const MEMORY_PATTERN = '^[0-9]{1,12}([KMGkmg]([iI]?[bB])?|[bB])?$';
const SIZE_PATTERN = MEMORY_PATTERN;
/** Files are named by absolute host paths over the API: the daemon's working directory means
 *  nothing to a client (the CLI makes relative paths absolute before sending). */
export const ABS_PATH_PATTERN = '^/';
const FilePath = (description: string) => Type.String({ pattern: ABS_PATH_PATTERN, description });

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const VmName = Type.String({ pattern: VM_NAME_PATTERN, description: 'VM name: [a-z0-9][a-z0-9-]{0,62}' });
export const VmStateSchema = Type.Union(
  [Type.Literal('shutoff'), Type.Literal('running'), Type.Literal('paused'), Type.Literal('crashed')],
  { $id: 'VmState', description: 'States as libvirt names them' },
);

const DiskFormat = Type.Union([Type.Literal('raw'), Type.Literal('qcow2')], { description: 'Image format (absent: probed from the file)' });

export const Disk = Type.Object({
  path: FilePath('Absolute host path of a disk image (raw or qcow2)'),
  readonly: Type.Boolean(),
  format: Type.Optional(DiskFormat),
}, { additionalProperties: false });

const definitionFields = {
  vcpus: Type.Integer({ minimum: 1, maximum: 8 }),
  memory: Type.String({ pattern: MEMORY_PATTERN, description: 'Guest RAM, e.g. "256M" or "1G" (16M .. 3G, a multiple of 4K)' }),
  kernel: nullable(FilePath('Linux kernel Image (absolute path; default: the bundled guest\'s)')),
  initrd: nullable(FilePath('initramfs (absolute path; default: the bundled guest\'s)')),
  append: Type.String(),
  bios: nullable(FilePath('M-mode firmware (absolute path); null: the VMM implements the SBI')),
  weight: Type.Integer({ minimum: 1, maximum: 65535 }),
  cap: Type.Integer({ minimum: 0, maximum: 800, description: 'Most CPU the VM may use, per cent of one pCPU (at most 100 × vcpus); 0 = no cap' }),
  autostart: Type.Boolean(),
  reservation: Type.String({ pattern: SIZE_PATTERN, description: 'Host memory guaranteed to the VM, e.g. "64M" (admission control); default "0"' }),
  limit: nullable(Type.String({ pattern: SIZE_PATTERN, description: 'Most host memory the VM may hold (past it: balloon, then swap); null: none' })),
  shares: Type.Integer({ minimum: 1, maximum: 10000000, description: 'Claim on memory under contention (default 10 per MiB)' }),
  balloon: Type.Boolean({ description: 'A virtio-balloon device (default true)' }),
};

const Jit = Type.Union([Type.Literal('on'), Type.Literal('off')], { description: 'The JIT: "on" compiles hot guest code to WebAssembly (default: the host\'s $RVISOR_JIT, else on)' });
const JitThreshold = Type.Integer({ minimum: 1, maximum: 0x7fffffff, description: 'With the JIT on: instructions run on a page before it is compiled (default: the host\'s $RVISOR_JIT_THRESHOLD, else 50000)' });

const SharingGroup = Type.String({ pattern: VM_NAME_PATTERN, description: 'Page sharing between VMs of the same group only (default: within the VM)' });

const Deterministic = Type.Object({
  seed: Type.String({ pattern: '^(0[xX][0-9a-fA-F]+|[0-9]+)$', description: 'Entropy seed, 0..2^64-1 (decimal or 0x hex)' }),
}, { additionalProperties: false, description: 'Deterministic mode, as QEMU\'s -icount: guest time from retired instructions, entropy from the seed' });

export const VmDefinitionSchema = Type.Object({
  name: VmName,
  ...definitionFields,
  disks: Type.Array(Disk, { maxItems: 6 }),
  deterministic: Type.Optional(Deterministic),
  sharingGroup: Type.Optional(SharingGroup),
  jit: Type.Optional(Jit),
  jitThreshold: Type.Optional(JitThreshold),
}, { $id: 'VmDefinition', additionalProperties: false });

/** What POST /vms takes: a name and any of the other fields (the host fills defaults); a disk's
 *  `readonly` defaults to false. Unknown keys are refused, so a typo is an error, not a default. */
export const VmDefinitionInputSchema = Type.Object({
  name: VmName,
  ...Object.fromEntries(Object.entries(definitionFields).map(([k, v]) => [k, Type.Optional(v)])) as {
    [K in keyof typeof definitionFields]: TOptional<(typeof definitionFields)[K]>
  },
  disks: Type.Optional(Type.Array(Type.Object({
    path: FilePath('Absolute host path of a disk image (raw or qcow2)'),
    readonly: Type.Optional(Type.Boolean({ description: 'default false' })),
    format: Type.Optional(DiskFormat),
  }, { additionalProperties: false }), { maxItems: 6 })),
  deterministic: Type.Optional(Deterministic),
  jit: Type.Optional(Jit),
  jitThreshold: Type.Optional(JitThreshold),
}, { $id: 'VmDefinitionInput', additionalProperties: false });

export const VmInfoSchema = Type.Object({
  name: VmName,
  id: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'While running or paused: the run\'s id (as libvirt\'s domain id, stable until the VM stops); else null' }),
  state: VmStateSchema,
  reason: Type.String({ description: 'Why it is in this state: booted, user, poweroff, daemon-restart, "error: …" …' }),
  since: Type.String({ description: 'ISO time of the last state change' }),
  definition: VmDefinitionSchema,
}, { $id: 'VmInfo' });

export const VcpuStatsSchema = Type.Object({
  id: Type.Integer(),
  cpuTimeNs: Type.Number(),
  instructions: Type.Number(),
  stealNs: Type.Number(),
});

export const VmStatsSchema = Type.Object({
  name: VmName,
  state: VmStateSchema,
  cpuTimeNs: Type.Number({ description: 'Host CPU time spent running guest code, ns' }),
  instructions: Type.Number(),
  stealNs: Type.Number({ description: 'Time runnable but waiting for a pCPU, ns' }),
  vcpus: Type.Array(VcpuStatsSchema),
  memory: Type.Object({
    nominalBytes: Type.Number(), presentBytes: Type.Number(), sharedBytes: Type.Number(), zeroBytes: Type.Number(),
    balloonedBytes: Type.Number(), swappedBytes: Type.Number(), swapIns: Type.Number(), swapOuts: Type.Number(),
    reservationBytes: Type.Number(), limitBytes: nullable(Type.Number()), shares: Type.Integer(),
    targetBytes: nullable(Type.Number()), activeFraction: nullable(Type.Number()),
    balloon: nullable(Type.Object({ targetBytes: Type.Number(), actualBytes: Type.Number(), stats: Type.Record(Type.String(), Type.Number()) })),
  }),
  lastPcpu: nullable(Type.Integer()),
}, { $id: 'VmStats' });

export const SchedInfoSchema = Type.Object({
  weight: Type.Integer({ minimum: 1, maximum: 65535 }),
  cap: Type.Integer({ minimum: 0, maximum: 800 }),
}, { $id: 'SchedInfo', additionalProperties: false });

export const SchedInfoUpdateSchema = Type.Object({
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  cap: Type.Optional(Type.Integer({ minimum: 0, maximum: 800 })),
}, { additionalProperties: false, minProperties: 1 });

export const HostStatsSchema = Type.Object({
  pcpus: Type.Integer(),
  vms: Type.Object({
    total: Type.Integer(), running: Type.Integer(), paused: Type.Integer(), crashed: Type.Integer(), shutoff: Type.Integer(),
  }),
  pcpuBusyNs: Type.Array(Type.Number()),
  arenas: Type.Array(Type.Object({
    index: Type.Integer(), bytes: Type.Number(), framesInUse: Type.Number(), vms: Type.Integer(),
  })),
  rssBytes: Type.Number(),
  memory: Type.Object({
    hostMemBytes: Type.Number(), reservedBytes: Type.Number(), heldBytes: Type.Number(), presentBytes: Type.Number(),
    sharedBytes: Type.Number(), zeroBytes: Type.Number(), balloonedBytes: Type.Number(), swappedBytes: Type.Number(),
    sharing: Type.Object({ stableFrames: Type.Number(), stablePages: Type.Number(), scannedPages: Type.Number(), rateLimitPagesPerSec: Type.Number() }),
  }),
}, { $id: 'HostStats' });

export const MemoryTuneSchema = Type.Object({
  reservation: Type.String({ pattern: SIZE_PATTERN }),
  limit: nullable(Type.String({ pattern: SIZE_PATTERN })),
  shares: Type.Integer({ minimum: 1, maximum: 10000000 }),
}, { $id: 'MemoryTune', additionalProperties: false });

export const MemoryTuneUpdateSchema = Type.Object({
  reservation: Type.Optional(Type.String({ pattern: SIZE_PATTERN })),
  limit: Type.Optional(nullable(Type.String({ pattern: SIZE_PATTERN }))),
  shares: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000000 })),
}, { additionalProperties: false, minProperties: 1 });

/** GET /host: what a client needs to know about the host it talks to. */
export const HostInfoSchema = Type.Object({
  version: Type.String({ description: 'rvisor version of the host' }),
  stateDir: Type.String(),
  pcpus: Type.Integer(),
  stats: HostStatsSchema,
}, { $id: 'HostInfo' });

export const HostEventSchema = Type.Union([
  Type.Object({ type: Type.Literal('state'), name: VmName, state: VmStateSchema, reason: Type.String(), time: Type.String() }),
  Type.Object({ type: Type.Union([Type.Literal('defined'), Type.Literal('undefined')]), name: VmName, time: Type.String() }),
  Type.Object({ type: Type.Literal('schedinfo'), name: VmName, weight: Type.Integer(), cap: Type.Integer(), time: Type.String() }),
  Type.Object({
    type: Type.Literal('migration'), name: VmName,
    phase: Type.Union([Type.Literal('setup'), Type.Literal('precopy'), Type.Literal('stop-copy'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled')]),
    round: Type.Integer(), pagesSent: Type.Integer(), pagesRemaining: Type.Integer(), bytesSent: Type.Number(),
    rateMBps: Type.Number({ description: 'measured link rate, MB/s' }), expectedDowntimeMs: Type.Number(), throttlePct: Type.Integer(),
    time: Type.String(), message: Type.Optional(Type.String()),
  }),
], { $id: 'HostEvent' });

export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.String({ description: `A stable code: ${Object.keys(ERROR_CODES).join(', ')}` }),
    message: Type.String(),
  }),
}, { $id: 'Error', description: 'An error: a stable code (see src/errors.ts) and a message for people' });

export const NameParams = Type.Object({ name: VmName });
export const StartBody = Type.Object({
  paused: Type.Optional(Type.Boolean()),
  force: Type.Optional(Type.Boolean({ description: 'resume the managed save even if a disk or boot file changed since' })),
  prefault: Type.Optional(Type.Boolean({ description: 'resuming the managed save: load every page first (default: lazily, each on first touch)' })),
}, { additionalProperties: false });
export const SaveBody = Type.Object({
  file: FilePath('Absolute path of the snapshot file to write (replaced atomically)'),
}, { additionalProperties: false });
export const SaveInfoSchema = Type.Object({
  vm: VmInfoSchema,
  file: Type.String(),
  bytes: Type.Number({ description: 'Size of the snapshot file' }),
  pagesPresent: Type.Number({ description: 'Guest pages backed by memory' }),
  pagesStored: Type.Number({ description: 'Pages stored (present and not all zero)' }),
  durationMs: Type.Number(),
}, { $id: 'SaveInfo' });
export const RestoreBody = Type.Object({
  file: FilePath('Absolute path of the snapshot file'),
  name: Type.Optional(VmName),
  paused: Type.Optional(Type.Boolean()),
  force: Type.Optional(Type.Boolean({ description: 'restore even if a disk or boot file changed since the save' })),
  prefault: Type.Optional(Type.Boolean({ description: 'load every page before the guest runs (default: lazy restore, each page loaded from the file on first touch)' })),
}, { additionalProperties: false });
export const SnapName = Type.String({ pattern: VM_NAME_PATTERN, description: 'Snapshot (checkpoint) name: [a-z0-9][a-z0-9-]{0,62}' });
export const SnapParams = Type.Object({ name: VmName, snap: SnapName });
export const CheckpointBody = Type.Object({ name: SnapName }, { additionalProperties: false });
export const RevertBody = Type.Object({
  paused: Type.Optional(Type.Boolean({ description: 'leave the VM paused (default: as it was when the checkpoint was taken)' })),
}, { additionalProperties: false });
export const CheckpointInfoSchema = Type.Object({
  name: SnapName,
  parent: nullable(SnapName),
  created: Type.String({ description: 'ISO time' }),
  state: Type.Union([Type.Literal('running'), Type.Literal('paused'), Type.Literal('shutoff')], { description: 'The VM\'s state when it was taken (shutoff: disks only)' }),
  current: Type.Boolean({ description: 'the VM was last created from or reverted to it (the parent of the next one)' }),
}, { $id: 'CheckpointInfo' });
export const CloneBody = Type.Object({
  name: VmName,
  paused: Type.Optional(Type.Boolean({ description: 'start the clone paused (the original keeps its state)' })),
}, { additionalProperties: false });
export const CloneInfoSchema = Type.Object({
  vm: VmInfoSchema,
  pausedMs: Type.Number({ description: 'How long the original\'s vCPUs were stopped, ms' }),
  durationMs: Type.Number({ description: 'The whole verb, ms' }),
  pagesShared: Type.Number({ description: 'Guest pages the two share copy-on-write when the clone starts' }),
}, { $id: 'CloneInfo' });
export const MigrateBody = Type.Object({
  to: Type.String({ description: 'The destination host\'s API: http://HOST:PORT of its `rvisor serve --listen`' }),
  token: Type.Optional(Type.String({ description: 'The destination\'s bearer token' })),
  maxDowntimeMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'default 300' })),
  copyStorage: Type.Optional(Type.Boolean({ description: 'send the disks\' content too (default: the destination uses the same paths)' })),
}, { additionalProperties: false });
export const MigrationInfoSchema = Type.Object({
  vm: VmInfoSchema, to: Type.String(), destination: VmInfoSchema,
  totalMs: Type.Number(), downtimeMs: Type.Number({ description: 'guest stopped at the source → running at the destination' }),
  rounds: Type.Integer(), pagesTotal: Type.Integer(), pagesSent: Type.Integer(), bytesSent: Type.Number(), throttlePct: Type.Integer(),
}, { $id: 'MigrationInfo' });
export const ShutdownBody = Type.Object({
  timeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'default 60000' })),
}, { additionalProperties: false });
export const AutostartBody = Type.Object({ autostart: Type.Boolean() }, { additionalProperties: false });

// Compile-time checks: the schemas describe exactly the host's types (both directions where the
// server hands host values out, schema → type where it hands request bodies in).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const check = <T extends true>(): T => true as T;
check<Same<Static<typeof VmStateSchema>, VmState>>();
check<Same<Static<typeof VmDefinitionSchema>, VmDefinition>>();
check<Same<Static<typeof VmInfoSchema>, VmInfo>>();
check<Same<Static<typeof VmStatsSchema>, VmStats>>();
check<Same<Static<typeof SchedInfoSchema>, SchedInfo>>();
check<Same<Static<typeof MemoryTuneSchema>, MemoryTuneInfo>>();
check<Static<typeof MemoryTuneUpdateSchema> extends Partial<MemoryTuneInfo> ? true : false>();
check<Same<Static<typeof HostStatsSchema>, HostStats>>();
check<Same<Static<typeof HostEventSchema>, HostEvent>>();
check<Same<Static<typeof SaveInfoSchema>, SaveInfo>>();
check<Same<Static<typeof CheckpointInfoSchema>, CheckpointInfo>>();
check<Same<Static<typeof CloneInfoSchema>, CloneInfo>>();
check<Same<Static<typeof MigrationInfoSchema>, MigrationInfo>>();
check<Same<Static<typeof MigrateBody>, MigrateOptions>>();
check<Omit<Static<typeof CloneBody>, 'name'> extends CloneOptions ? true : false>();
check<Static<typeof RevertBody> extends RevertOptions ? true : false>();
check<Omit<Static<typeof RestoreBody>, 'file'> extends RestoreOptions ? true : false>();
check<Static<typeof SchedInfoUpdateSchema> extends Partial<SchedInfo> ? true : false>();
check<Omit<Static<typeof VmDefinitionInputSchema>, 'disks'> extends Omit<VmDefinitionInput, 'disks'> ? true : false>();

export type HostInfo = Static<typeof HostInfoSchema>;
export type ApiError = Static<typeof ErrorSchema>;
