// One virtual RISC-V board laid out like QEMU's `virt` machine: harts, RAM, CLINT, PLIC, UART,
// RTC, syscon power control, virtio-mmio slots, a VM generation ID (rvisor's addition), the device tree, the boot loader and (without
// firmware) the SBI. step() runs the harts for a bounded stretch of host time and reports what
// the host should do next; it never blocks and never reads a host clock or file itself (the host
// side, src/vmm/, supplies time, console bytes and disks), so it can run in a browser later.
import { HostMemory } from '../memory/host-memory.js';
import { Core, type SystemHooks } from '../cpu/core.js';
import { jitConfig, type JitConfig } from '../jit/config.js';
import type { Hart } from '../cpu/hart.js';
import {
  HART_FLAGS, HART_PRIV, HART_MEDELEG, HART_MIDELEG, HART_MCOUNTEREN, HART_MENVCFG, HART_MHARTID, HART_MSTATUS,
  HART_P2M, HART_RAM_BASE, HART_RAM_SIZE, HART_MIP_HOST, HART_MIE, HART_MIP, HART_STIMECMP, HART_TIME,
  HF_SYSTEM, HF_HOST_SBI, STOP_TRAP, STOP_WFI, CAUSE_ECALL_S, IRQ_MEI, IRQ_SEI, IRQ_MTI, IRQ_MSI, IRQ_STI,
} from '../cpu/layout.js';
import { GuestRam, type GuestRamState, type PageSources } from './ram.js';
import { Bus } from './bus.js';
import { VirtualClock, type ClockState } from './clock.js';
import { Deterministic, DET_QUANTUM, type DeterministicConfig, type DeterministicState } from './deterministic.js';
import { Sbi, HSM_STARTED, HSM_STOPPED, type SbiBoard } from './sbi.js';
import { parseKernelImage, place, FDT_MAX } from './boot-image.js';
import { buildVirtFdt, type DeviceNode } from './fdt.js';
import * as MAP from './memory-map.js';
import { Uart16550, uartFdtNode } from '../devices/uart/uart.js';
import { Plic, plicFdtNode } from '../devices/plic/plic.js';
import { Clint, clintFdtNode } from '../devices/clint/clint.js';
import { GoldfishRtc, goldfishRtcFdtNode } from '../devices/rtc/rtc.js';
import { SifiveTest, sysconFdtNode } from '../devices/syscon/syscon.js';
import { VmGenId, randomVmGenId, vmgenidFdtNode } from '../devices/vmgenid/vmgenid.js';
import { VirtioMmioTransport, EmptyVirtioMmioSlot, type VirtioMmioState } from '../devices/virtio/transport/mmio.js';
import { fdtNode as virtioFdtNode } from '../devices/virtio/transport/fdt.js';
import { VirtioBlk } from '../devices/virtio/blk/blk.js';
import type { BlockBackend } from '../devices/virtio/blk/backend.js';
import { VirtioRng, type EntropySource } from '../devices/virtio/rng/rng.js';
import { powerButton, KEY_POWER, type VirtioInput } from '../devices/virtio/input/input.js';
import { VirtioBalloon, isBalloonState } from '../devices/virtio/balloon/balloon.js';
import { RvisorError } from '../errors.js';

export interface DiskConfig {
  backend: BlockBackend;
  readOnly?: boolean;
  serial?: string;
}

export interface BoardConfig {
  harts: number;
  memBytes: number;
  /** The kernel Image; may be absent only when firmware is given (a bare-metal program). */
  kernel: Uint8Array | undefined;
  kernelName: string;
  initrd?: Uint8Array;
  append: string;
  /** M-mode firmware loaded at the start of RAM (e.g. OpenSBI fw_jump/fw_dynamic); without it
   *  the VMM implements the SBI and enters the kernel in S-mode. */
  firmware?: Uint8Array;
  disks: DiskConfig[];
  entropy: EntropySource;
  /** Receives console output bytes. */
  consoleOut(bytes: Uint8Array): void;
  /** Host time in milliseconds (monotonic) and the wall clock the guest's RTC shows. */
  hostNowMs(): number;
  wallNs(): bigint;
  /** Instructions per hart slice (default 20000). */
  sliceInsns?: number;
  /** Longest idle period step() reports when no timer is armed, ms (default 100). A host that
   *  wakes the board on every input may raise it, so idle guests cost nothing. */
  maxIdleMs?: number;
  /** Opens the snapshot a lazily restored machine loads its pages from (GuestRamState.lazy). */
  pageSources?: PageSources;
  /** Deterministic mode (src/machine/deterministic.ts): time from retired instructions, entropy
   *  from this seed; hostNowMs, wallNs and entropy then reach nothing the guest sees. */
  deterministic?: DeterministicConfig;
  /** The virtio-balloon device (src/devices/virtio/balloon/): present unless false; stats are
   *  asked for every statsIntervalMs of board time (default 2000, 0: only the driver's first). */
  balloon?: { statsIntervalMs?: number } | false;
  jit?: JitConfig; // how the JIT runs this board's harts (default: the core's, src/jit/config.ts)
}

export type StepResult =
  | { kind: 'running' }
  | { kind: 'idle'; ms: number }
  | { kind: 'poweroff'; code: number }
  | { kind: 'reboot' };
type HartRun = 'running' | 'wfi' | 'stopped';

/** Everything of a running board that is not in shared memory (design rule 1: plain data). With
 *  the hart regions and the guest RAM it names (which stay where they are in the shared memory),
 *  it is the whole machine: a board rebuilt from it on another thread (the pCPU workers of
 *  `rvisor serve`) carries on where this one stopped. */
export interface BoardState {
  version: 1;
  harts: { base: number; run: HartRun }[];
  ram: GuestRamState;
  clock: ClockState;
  devices: {
    uart: unknown; plic: unknown; clint: unknown; rtc: unknown; syscon: unknown;
    /** The VM generation ID (VmGenIdState). Absent in states saved before the device existed:
     *  such a board gets a fresh random ID (its guest, booted without the device in its tree,
     *  does not look at it). */
    vmgenid?: unknown;
    virtio: { transport: VirtioMmioState; device: unknown }[];
  };
  sbi: unknown;
  input: number[];
  ending: StepResult | null;
  instructions: string;
  /** Deterministic mode's state (seed, PRNG, skipped time, hart turn); a board restored from a
   *  state that has it runs in deterministic mode. */
  deterministic?: DeterministicState;
}

export interface BoardOptions {
  /** The core instance to run on (one per thread and shared memory); default: a new one, which
   *  the board frees in destroy(). */
  core?: Core;
  /** Rebuild a running machine from its saved state instead of booting: nothing is loaded. */
  restore?: BoardState;
  /** With `restore`: give the restored machine a new VM generation ID at once (newGeneration()),
   *  e.g. when the state is a clone's or is resumed a second time. */
  newGeneration?: boolean;
}

interface StatefulDevice {
  save(): unknown;
  restore(s: unknown): void;
}

const ISA = 'rv64imafdc_zicsr_zifencei_sstc';
const M64 = (1n << 64n) - 1n;

export class VirtBoard implements SbiBoard {
  readonly host: HostMemory;
  readonly core: Core;
  readonly ram: GuestRam;
  readonly bus = new Bus();
  readonly clock: VirtualClock;
  readonly harts: Hart[] = [];
  readonly uart: Uart16550;
  readonly plic: Plic;
  readonly clint: Clint;
  readonly rtc: GoldfishRtc;
  /** The VM generation ID device (src/devices/vmgenid/); change it with newGeneration(). */
  readonly vmgenid: VmGenId;
  readonly sbi: Sbi | undefined;
  private readonly state: HartRun[] = [];
  private readonly input: number[] = [];
  private readonly det: Deterministic | undefined;
  private outBuf: number[] = [];
  private ending: StepResult | undefined;
  private readonly slice: number;
  private readonly ownsCore: boolean;
  private readonly hooks: SystemHooks;
  private readonly virtio: VirtioMmioTransport[] = [];
  private readonly syscon: SifiveTest;
  private readonly powerKey: VirtioInput;
  /** The memory balloon (absent when the configuration says balloon: false). */
  readonly balloon: VirtioBalloon | undefined;
  /** Instructions retired by all harts (for --stats). */
  instructions = 0n;
  /** Per hart: instructions retired and host time spent running it (ms), for accounting. */
  readonly hartInsns: bigint[] = [];
  readonly hartMs: number[] = [];

  constructor(private readonly cfg: BoardConfig, host = new HostMemory(), opts: BoardOptions = {}) {
    if (!Number.isInteger(cfg.harts) || cfg.harts < 1 || cfg.harts > 8) {
      throw new RvisorError('USAGE', `--cpus must be 1..8, not ${cfg.harts}`);
    }
    const saved = opts.restore;
    // Deterministic mode (the saved machine's, else the configuration's): the guest's time and
    // entropy come from the machine itself, never from the host.
    if (saved && cfg.deterministic && !saved.deterministic) throw new RvisorError('SNAPSHOT_MISMATCH', 'the saved machine did not run in deterministic mode');
    const seed = saved ? saved.deterministic?.seed : cfg.deterministic?.seed;
    this.det = seed !== undefined ? new Deterministic(seed, MAP.TIMEBASE_HZ, () => this.instructions) : undefined;
    if (this.det) cfg = this.cfg = { ...cfg, entropy: this.det.entropy.fill, wallNs: this.det.wallNs };
    // Images are checked before anything is allocated, so a refused machine leaves nothing behind.
    let layout: { kernel: ReturnType<typeof parseKernelImage>; p: ReturnType<typeof place> } | undefined;
    if (!saved) {
      if (!cfg.kernel && !cfg.firmware) throw new RvisorError('USAGE', 'nothing to boot: give a kernel, or firmware with --bios');
      const kernel = cfg.kernel ? parseKernelImage(cfg.kernel, cfg.kernelName) : { bytes: new Uint8Array(0), textOffset: 0x200000, imageSize: 0 };
      layout = { kernel, p: place(cfg.memBytes, kernel, cfg.initrd?.length, cfg.firmware?.length ?? 0) };
    }
    this.host = host;
    this.slice = cfg.sliceInsns ?? 20000;
    this.ownsCore = !opts.core;
    this.core = opts.core ?? new Core(host, jitConfig());
    this.clock = this.det?.clock ?? new VirtualClock(MAP.TIMEBASE_HZ, cfg.hostNowMs);
    this.ram = saved ? GuestRam.attach(host, saved.ram, cfg.pageSources) : new GuestRam(host, MAP.RAM_BASE, cfg.memBytes);
    if (saved && (saved.ram.size !== cfg.memBytes || saved.harts.length !== cfg.harts)) {
      throw new RvisorError('SNAPSHOT_MISMATCH', `saved board has ${saved.harts.length} harts and ${saved.ram.size} bytes of RAM, the configuration ${cfg.harts} and ${cfg.memBytes}`);
    }
    this.hooks = {
      ramMiss: (_h, pa, write) => this.ram.ramMiss(pa, write),
      mmioPresent: (_h, pa) => this.bus.claims(pa),
      // The time CSR is a read-only shadow of the memory-mapped mtime (privileged spec 3.1.11), so a
      // guest write to the CLINT's mtime moves it too.
      timeNow: () => this.clint.mtime(),
      mmioRead: (_h, pa, size) => this.bus.read(pa, size),
      mmioWrite: (_h, pa, value, size) => this.bus.write(pa, value, size),
    };
    this.core.setSystemHooks(this.hooks);
    // A page that moved (copy-on-write) must not be reached through any hart's old translation.
    this.ram.onMoved = (frame) => {
      for (const hart of this.harts) this.core.dropFrame(hart, frame);
    };
    this.ram.onFlush = () => {
      for (const hart of this.harts) this.core.flushTlb(hart);
    };

    // ---- devices ----
    const n = cfg.harts;
    this.plic = new Plic({
      contexts: 2 * n,
      onContextChange: (ctx, pending) => this.setHostIrq(ctx >> 1, ctx & 1 ? IRQ_SEI : IRQ_MEI, pending),
    });
    this.clint = new Clint({
      harts: n,
      now: () => this.clock.ticks(),
      onSoftware: (h, level) => this.setHostIrq(h, IRQ_MSI, level),
      // A new mtimecmp takes effect at once (the firmware's timer handler clears MTIP this way).
      onTimerChange: (h) => this.setHostIrq(h, IRQ_MTI, this.clint.timerPending(h, this.clock.ticks())),
    });
    this.uart = new Uart16550({
      onOutput: (b) => this.outBuf.push(b),
      irq: this.plic.irqLine(MAP.UART0_IRQ),
      onRxSpace: () => this.feedUart(),
    });
    this.rtc = new GoldfishRtc({ wallNs: cfg.wallNs, irq: this.plic.irqLine(MAP.RTC_IRQ) });
    // The first boot's ID comes from the entropy source; a restore sets the saved one.
    this.vmgenid = new VmGenId({ irq: this.plic.irqLine(MAP.VMGENID_IRQ), guid: saved ? new Uint8Array(16) : randomVmGenId(cfg.entropy) });
    const syscon = this.syscon = new SifiveTest({
      onPowerOff: () => this.end({ kind: 'poweroff', code: 0 }),
      onReboot: () => this.end({ kind: 'reboot' }),
      onFail: (code) => this.end({ kind: 'poweroff', code: code || 1 }),
    });
    this.bus.map(MAP.SYSCON_BASE, MAP.SYSCON_SIZE, syscon);
    this.bus.map(MAP.RTC_BASE, MAP.RTC_SIZE, this.rtc);
    this.bus.map(MAP.VMGENID_BASE, MAP.VMGENID_SIZE, this.vmgenid);
    this.bus.map(MAP.CLINT_BASE, MAP.CLINT_SIZE, this.clint);
    this.bus.map(MAP.PLIC_BASE, MAP.PLIC_SIZE, this.plic);
    this.bus.map(MAP.UART0_BASE, MAP.UART0_SIZE, this.uart);
    const nodes: DeviceNode[] = [
      sysconFdtNode({ base: MAP.SYSCON_BASE, size: MAP.SYSCON_SIZE }),
      goldfishRtcFdtNode({ base: MAP.RTC_BASE, size: MAP.RTC_SIZE, irq: MAP.RTC_IRQ }),
      vmgenidFdtNode({ base: MAP.VMGENID_BASE, size: MAP.VMGENID_SIZE, irq: MAP.VMGENID_IRQ }),
      uartFdtNode({ base: MAP.UART0_BASE, size: MAP.UART0_SIZE, irq: MAP.UART0_IRQ, clockHz: MAP.UART0_CLOCK_HZ }),
      plicFdtNode({ base: MAP.PLIC_BASE, size: MAP.PLIC_SIZE, numSources: MAP.PLIC_NUM_SOURCES }),
      clintFdtNode({ base: MAP.CLINT_BASE, size: MAP.CLINT_SIZE }),
    ];
    // virtio slots: disks, the entropy device, the power button (virtio-input), the balloon (with
    // the most disks, in the extra slot: memory-map.ts); the rest stay empty (DeviceID 0).
    this.powerKey = powerButton();
    const balloonCfg = cfg.balloon === false ? undefined : cfg.balloon ?? {};
    this.balloon = balloonCfg && new VirtioBalloon({
      memory: this.ram,
      nowMs: () => Number(this.clock.ticks()) / (MAP.TIMEBASE_HZ / 1000),
      statsIntervalMs: balloonCfg.statsIntervalMs,
    });
    const virtio = [
      ...cfg.disks.map((d) => new VirtioBlk(d.backend, { readOnly: d.readOnly, serial: d.serial })),
      new VirtioRng(cfg.entropy),
      this.powerKey,
      ...(this.balloon ? [this.balloon] : []),
    ];
    const disksMax = MAP.VIRTIO_COUNT - 2;
    if (cfg.disks.length > disksMax) throw new RvisorError('USAGE', `at most ${disksMax} disks`);
    const slots = Math.max(MAP.VIRTIO_COUNT, virtio.length);
    if (slots > MAP.VIRTIO_MAX_COUNT) throw new RvisorError('INTERNAL', `${virtio.length} virtio devices do not fit`);
    for (let slot = 0; slot < slots; slot++) {
      const base = MAP.virtioBase(slot), irq = MAP.virtioIrq(slot);
      const dev = virtio[slot];
      const transport = dev && new VirtioMmioTransport(dev, { mem: this.ram, irq: this.plic.irqLine(irq) });
      if (transport) this.virtio.push(transport);
      this.bus.map(base, MAP.VIRTIO_SIZE, transport ?? new EmptyVirtioMmioSlot());
      nodes.push({ fdtNode: (w, ctx) => virtioFdtNode(w, { plicPhandle: ctx.irqParent }, { base, irq }) });
    }

    this.sbi = cfg.firmware ? undefined : new Sbi(this);
    for (let h = 0; h < n; h++) { this.hartInsns.push(0n); this.hartMs.push(0); }
    if (saved) {
      this.restoreState(saved);
      for (const hart of cfg.jit ? this.harts : []) this.core.setJitThreshold(hart, cfg.jit!.threshold);
      if (opts.newGeneration) this.newGeneration();
      return;
    }

    // ---- images ----
    const { kernel, p } = layout!;
    const base = MAP.RAM_BASE;
    if (cfg.firmware) this.ram.write(base + p.firmware, cfg.firmware);
    if (cfg.kernel) this.ram.write(base + p.kernel, kernel.bytes);
    if (cfg.initrd && p.initrd) this.ram.write(base + p.initrd.start, cfg.initrd);
    const fdt = buildVirtFdt({
      harts: n, isa: 'rv64imafdc', isaString: ISA, mmuType: 'riscv,sv39',
      ramBase: BigInt(base), ramSize: BigInt(cfg.memBytes), bootargs: cfg.append,
      initrd: p.initrd && { start: BigInt(base + p.initrd.start), end: BigInt(base + p.initrd.end) },
      timebaseFrequency: MAP.TIMEBASE_HZ, devices: nodes,
    });
    if (fdt.length > FDT_MAX) throw new RvisorError('INTERNAL', `device tree too large (${fdt.length} bytes)`);
    this.ram.write(base + p.fdt, fdt);
    const kernelEntry = BigInt(base + p.kernel), fdtAddr = BigInt(base + p.fdt);
    if (cfg.firmware) {
      // struct fw_dynamic_info (OpenSBI docs/firmware/fw_dynamic.md): magic, version, next_addr,
      // next_mode (1 = S), options, boot_hart
      const info = new DataView(new ArrayBuffer(48));
      [0x4942534fn, 2n, kernelEntry, 1n, 0n, 0n].forEach((v, i) => info.setBigUint64(i * 8, v, true));
      this.ram.write(base + p.dynamicInfo, new Uint8Array(info.buffer));
    }

    // ---- harts ----
    for (let h = 0; h < n; h++) {
      const hart = this.core.newHart();
      this.harts.push(hart);
      hart.setField(HART_P2M, BigInt(this.ram.p2m));
      hart.setField(HART_RAM_BASE, BigInt(base));
      hart.setField(HART_RAM_SIZE, BigInt(cfg.memBytes));
      hart.setField(HART_MHARTID, BigInt(h));
      hart.setField(HART_MSTATUS, 0n); // FS off until the guest turns it on
      hart.setField(HART_MCOUNTEREN, 0n);
      hart.setField(HART_STIMECMP, M64);
      hart.setX(10, BigInt(h));
      hart.setX(11, fdtAddr);
      if (cfg.jit) this.core.setJitThreshold(hart, cfg.jit.threshold);
      if (cfg.firmware) {
        // Full virtualization: every hart enters the firmware in M-mode (a0 hartid, a1 FDT, a2 info).
        hart.setField(HART_FLAGS, BigInt(HF_SYSTEM));
        hart.setField(HART_PRIV, 3n);
        hart.setX(12, BigInt(base + p.dynamicInfo));
        hart.pc = BigInt(base + p.firmware);
        this.state.push('running');
      } else {
        // The VMM is the firmware: S-mode, traps delegated as OpenSBI would, Sstc timer, and an
        // S-mode ecall is a hypercall to the host.
        hart.setField(HART_FLAGS, BigInt(HF_SYSTEM | HF_HOST_SBI));
        hart.setField(HART_PRIV, 1n);
        hart.setField(HART_MEDELEG, 0xb1ffn);
        hart.setField(HART_MIDELEG, 0x222n);
        hart.setField(HART_MCOUNTEREN, 7n);
        hart.setField(HART_MENVCFG, 1n << 63n);
        hart.pc = kernelEntry;
        this.state.push(h === 0 ? 'running' : 'stopped');
      }
    }
  }

  /** The board's state (see BoardState); the board stays usable. */
  save(): BoardState {
    const dev = (d: unknown) => (d as StatefulDevice).save();
    return {
      version: 1,
      harts: this.harts.map((h, i) => ({ base: h.base, run: this.state[i]! })),
      ram: this.ram.save(),
      clock: this.clock.save(),
      devices: {
        uart: dev(this.uart), plic: dev(this.plic), clint: dev(this.clint), rtc: dev(this.rtc), syscon: dev(this.syscon),
        vmgenid: this.vmgenid.save(),
        virtio: this.virtio.map((t) => ({ transport: t.save(), device: (t.device as unknown as Partial<StatefulDevice>).save?.() ?? null })),
      },
      sbi: (this.sbi as unknown as Partial<StatefulDevice> | undefined)?.save?.() ?? null,
      input: [...this.input],
      ending: this.ending ?? null,
      instructions: this.instructions.toString(),
      ...(this.det ? { deterministic: this.det.save() } : {}),
    };
  }

  private restoreState(s: BoardState): void {
    if (s.version !== 1) throw new RvisorError('SNAPSHOT_MISMATCH', `board state version ${s.version} is not 1`);
    // A state saved before the balloon existed has one virtio entry fewer: that balloon starts fresh.
    const lastIsBalloon = this.balloon !== undefined && this.virtio[this.virtio.length - 1]?.device === this.balloon;
    const balloonMissing = lastIsBalloon && s.devices.virtio.length === this.virtio.length - 1
      && !isBalloonState(s.devices.virtio[s.devices.virtio.length - 1]?.device);
    if (s.devices.virtio.length !== this.virtio.length && !balloonMissing) {
      throw new RvisorError('SNAPSHOT_MISMATCH', `saved board has ${s.devices.virtio.length} virtio devices, the configuration ${this.virtio.length}`);
    }
    for (const { base, run } of s.harts) {
      this.harts.push(this.core.adoptHart(base));
      this.state.push(run);
    }
    const dev = (d: unknown, st: unknown) => (d as StatefulDevice).restore(st);
    dev(this.uart, s.devices.uart);
    dev(this.plic, s.devices.plic);
    dev(this.clint, s.devices.clint);
    dev(this.rtc, s.devices.rtc);
    dev(this.syscon, s.devices.syscon);
    // A state saved before the device existed: a fresh ID (that guest's tree has no such device).
    if (s.devices.vmgenid !== undefined) dev(this.vmgenid, s.devices.vmgenid);
    else this.vmgenid.restore({ guid: Array.from(randomVmGenId(this.cfg.entropy)) });
    s.devices.virtio.forEach((v, i) => {
      const t = this.virtio[i]!;
      const d = t.device as unknown as Partial<StatefulDevice>;
      if (v.device !== null) d.restore?.(v.device);
      t.restore(v.transport);
    });
    if (s.sbi !== null) (this.sbi as unknown as Partial<StatefulDevice> | undefined)?.restore?.(s.sbi);
    this.clock.restore(s.clock);
    this.input.push(...s.input);
    this.ending = s.ending ?? undefined;
    this.instructions = BigInt(s.instructions);
    if (this.det) this.det.restore(s.deterministic!, this.harts.length);
  }

  // ---- SbiBoard ----
  hsmState(h: number): number {
    return this.state[h] === 'stopped' ? HSM_STOPPED : HSM_STARTED;
  }
  startHart(h: number, addr: bigint, opaque: bigint): void {
    const hart = this.harts[h]!;
    hart.setField(HART_PRIV, 1n);
    hart.setField(HART_MSTATUS, 0n);
    hart.setX(10, BigInt(h));
    hart.setX(11, opaque);
    hart.pc = addr;
    this.core.flushTlb(hart);
    this.state[h] = 'running';
  }
  stopHart(h: number): void {
    this.state[h] = 'stopped';
  }
  suspendHart(h: number): void {
    this.state[h] = 'wfi';
  }
  consoleWrite(bytes: Uint8Array): void {
    for (const b of bytes) this.outBuf.push(b);
  }
  consoleRead(): number {
    return this.input.length ? this.input.shift()! : -1;
  }
  readPhys(pa: number, dst: Uint8Array): boolean {
    return this.ram.read(pa, dst);
  }
  writePhys(pa: number, src: Uint8Array): boolean {
    return this.ram.write(pa, src);
  }
  flushTlb(h: number): void {
    this.core.flushTlb(this.harts[h]!);
  }
  reset(kind: 'shutdown' | 'reboot', reason: number): void {
    this.end(kind === 'shutdown' ? { kind: 'poweroff', code: reason === 0 ? 0 : 1 } : { kind: 'reboot' });
  }

  // ---- host side ----
  /** Queues console input (bytes typed or piped by the user). */
  pushInput(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.input.push(bytes[i]!);
    this.feedUart();
  }

  /** Presses and releases the power key (virtio-input: KEY_POWER down, SYN, up, SYN); the guest's
   *  input daemon acts on it (busybox acpid powers the bundled guest off). False when no driver
   *  in the guest listens to the device yet: the press is lost, as at a machine whose OS is not
   *  up. The host should step() the board soon after (it may be idle). */
  pressPowerKey(): boolean {
    return this.powerKey.pressKey(KEY_POWER);
  }

  /** Gives the machine a new VM generation ID, random from the board's entropy source, and
   *  interrupts the guest once so that its vmgenid driver reads it (Linux ≥ 6.10 then reseeds its
   *  RNG: "random: crng reseeded due to virtual machine fork"). Call it on a clone or on a
   *  restore of a state that may be resumed more than once, before the guest runs again; the ID
   *  is part of save(), so a plain restore keeps it. Returns the new ID (16 bytes). The host
   *  should step() the board soon after (it may be idle). */
  newGeneration(): Uint8Array {
    this.vmgenid.regenerate(randomVmGenId(this.cfg.entropy));
    return this.vmgenid.guid;
  }

  /** Sets the balloon's target (num_pages, clamped to the RAM's pages; the driver is interrupted
   *  when it changed). False without a balloon. The host should step() the board soon after. */
  setBalloonTarget(pages: number): boolean {
    if (!this.balloon) return false;
    this.balloon.setTarget(pages);
    return true;
  }

  /** Tells the guest that hart `hart` was runnable but not running for `ns` nanoseconds (steal
   *  time, SBI STA). False when the guest registered no steal-time memory for that hart, or when
   *  firmware (which then owns the SBI) runs the board. */
  addSteal(hart: number, ns: bigint): boolean {
    if (this.det) return false; // host scheduling time must not reach a deterministic guest
    return this.sbi?.addSteal(hart, ns) ?? false;
  }

  /** Moves queued console input into the UART while the guest reads it (`uart.receiving`: a driver
   *  enabled IER.ERBFI, or a reader polls LSR), as far as its FIFO has room; called on input, when
   *  the UART asks (the guest drained the FIFO or started polling), and after every round. Until
   *  then input waits here, so input typed ahead of Linux's driver survives its FIFO reset. */
  private feedUart(): void {
    if (!this.input.length || !this.uart.receiving) return;
    const n = Math.min(this.uart.rxSpace, this.input.length);
    if (n > 0) this.uart.pushInput(this.input.splice(0, n));
  }

  private end(r: StepResult): void {
    this.ending ??= r;
  }

  private setHostIrq(h: number, irq: number, level: boolean): void {
    const hart = this.harts[h];
    if (!hart) return;
    const bit = 1n << BigInt(irq);
    const v = hart.field(HART_MIP_HOST);
    hart.setField(HART_MIP_HOST, level ? v | bit : v & ~bit);
  }

  /** Interrupts pending and enabled in mie (what wakes a WFI). */
  private wakes(h: number, mtime: bigint): boolean {
    const hart = this.harts[h]!;
    let mip = hart.field(HART_MIP) | hart.field(HART_MIP_HOST);
    if (hart.field(HART_MENVCFG) >> 63n && mtime >= hart.field(HART_STIMECMP)) mip |= 1n << BigInt(IRQ_STI);
    return (mip & hart.field(HART_MIE)) !== 0n;
  }

  /** Runs the harts round-robin for about `budgetMs` of host time. */
  step(budgetMs: number, opts: { stopAt?: bigint } = {}): StepResult {
    if (this.det) return this.stepDeterministic(budgetMs, opts.stopAt);
    this.core.setSystemHooks(this.hooks); // the core may be shared with other boards of this thread
    this.clock.resume();
    const start = this.cfg.hostNowMs();
    let result: StepResult = { kind: 'running' };
    do {
      const now = this.clock.ticks(), mtime = this.clint.mtime(now);
      let ran = false;
      for (let h = 0; h < this.harts.length && !this.ending; h++) {
        const st = this.state[h]!;
        if (st === 'stopped') continue;
        const hart = this.harts[h]!;
        hart.setField(HART_TIME, mtime);
        this.setHostIrq(h, IRQ_MTI, this.clint.timerPending(h, now));
        if (st === 'wfi') {
          if (!this.wakes(h, mtime)) continue;
          this.state[h] = 'running';
        }
        ran = true;
        if (this.harts.length > 1) hart.clearReservation();
        const before = hart.instret, t0 = this.cfg.hostNowMs();
        const stop = this.core.run(hart, this.slice);
        this.ram.settle(); // over its memory limit: swap out (between instructions only)
        const retired = hart.instret - before;
        this.instructions += retired;
        this.hartInsns[h]! += retired;
        this.hartMs[h]! += this.cfg.hostNowMs() - t0;
        if (stop === STOP_TRAP) {
          if (hart.cause === CAUSE_ECALL_S && this.sbi) this.sbi.handle(h);
          else throw new RvisorError('INTERNAL', `hart ${h} stopped with unexpected trap cause ${hart.cause} at pc 0x${hart.pc.toString(16)}`);
        } else if (stop === STOP_WFI) {
          this.state[h] = 'wfi';
        }
      }
      this.rtc.poll();
      this.balloon?.poll();
      this.feedUart();
      this.flushOutput();
      if (this.ending) {
        result = this.ending;
        break;
      }
      if (!ran) {
        result = { kind: 'idle', ms: this.idleMs() };
        break;
      }
    } while (this.cfg.hostNowMs() - start < budgetMs);
    return result;
  }

  /** step() in deterministic mode (deterministic.ts): the harts take turns in quanta that end at
   *  every multiple of DET_QUANTUM instructions (board total); a run also ends at the hart's next
   *  timer deadline, so the interrupt is taken then; when every hart waits, the clock jumps to the
   *  next deadline and step() returns 'idle' with the time skipped (the host may sleep that long,
   *  as QEMU's icount sleep=on: the guest cannot tell). Host time decides only where step()
   *  returns, always between two runs, where every run of the machine passes; with `stopAt` it
   *  returns at the first such point at or after that instruction count (exactly there when it is
   *  a multiple of DET_QUANTUM). */
  private stepDeterministic(budgetMs: number, stopAt: bigint | undefined): StepResult {
    this.core.setSystemHooks(this.hooks);
    const det = this.det!, clock = det.clock, n = this.harts.length, q = BigInt(DET_QUANTUM);
    const start = this.cfg.hostNowMs();
    for (;;) {
      if (this.ending) return this.ending;
      if (stopAt !== undefined && this.instructions >= stopAt) return { kind: 'running' };
      const now = clock.ticks(), mtime = this.clint.mtime(now);
      this.rtc.poll();
      this.balloon?.poll();
      this.feedUart();
      let pick = -1;
      for (let i = 0; i < n; i++) {
        const h = (det.cursor + i) % n, st = this.state[h]!;
        if (st === 'stopped') continue;
        this.harts[h]!.setField(HART_TIME, mtime);
        this.setHostIrq(h, IRQ_MTI, this.clint.timerPending(h, now));
        if (pick < 0 && (st === 'running' || this.wakes(h, mtime))) pick = h;
      }
      if (pick < 0) {
        let next: bigint | undefined;
        for (let h = 0; h < n; h++) next = this.deadlineAfter(h, now, next);
        const alarm = this.rtc.nextAlarm();
        const at = alarm === undefined ? undefined : det.ticksAtWall(alarm);
        if (at !== undefined && at > now && (next === undefined || at < next)) next = at;
        const due = this.balloonDue(now);
        if (due !== undefined && (next === undefined || due < next)) next = due;
        if (next === undefined) return { kind: 'idle', ms: this.cfg.maxIdleMs ?? 100 };
        clock.warp += next - now;
        return { kind: 'idle', ms: Number(next - now) * 1000 / clock.hz };
      }
      const hart = this.harts[pick]!;
      this.state[pick] = 'running';
      det.cursor = pick;
      let budget = q - this.instructions % q;
      const due = this.deadlineAfter(pick, now, undefined);
      if (due !== undefined) {
        const d = clock.instructionsUntil(due);
        if (d > 0n && d < budget) budget = d;
      }
      if (n > 1) hart.clearReservation();
      const before = hart.instret, t0 = this.cfg.hostNowMs();
      const stop = this.core.run(hart, Number(budget));
      this.ram.settle();
      const retired = hart.instret - before;
      this.instructions += retired;
      this.hartInsns[pick]! += retired;
      this.hartMs[pick]! += this.cfg.hostNowMs() - t0;
      if (stop === STOP_TRAP) {
        if (hart.cause === CAUSE_ECALL_S && this.sbi) this.sbi.handle(pick);
        else throw new RvisorError('INTERNAL', `hart ${pick} stopped with unexpected trap cause ${hart.cause} at pc 0x${hart.pc.toString(16)}`);
      } else if (stop === STOP_WFI) {
        this.state[pick] = 'wfi';
      }
      // The hart's turn ends at a multiple of the quantum, or when it waits or stops.
      if (this.instructions % q === 0n || this.state[pick] !== 'running') det.cursor = (pick + 1) % n;
      this.flushOutput();
      if (this.cfg.hostNowMs() - start >= budgetMs) return this.ending ?? { kind: 'running' };
    }
  }

  /** The earliest of hart h's enabled timer deadlines (CLINT mtimecmp, Sstc stimecmp) after `now`,
   *  in clock ticks, or `best` when that is earlier or there is none. */
  private deadlineAfter(h: number, now: bigint, best: bigint | undefined): bigint | undefined {
    if (this.state[h] === 'stopped') return best;
    const hart = this.harts[h]!, mie = hart.field(HART_MIE);
    const consider = (t: bigint | undefined) => {
      if (t !== undefined && t > now && (best === undefined || t < best)) best = t;
    };
    if (mie & (1n << BigInt(IRQ_MTI))) consider(this.clint.nextDeadline(h));
    const cmp = hart.field(HART_STIMECMP);
    if (mie & (1n << BigInt(IRQ_STI)) && hart.field(HART_MENVCFG) >> 63n && cmp !== M64) consider(this.clint.clockAt(cmp));
    return best;
  }

  /** Clock ticks of the balloon's next stats request, when it is still ahead of `now`. */
  private balloonDue(now: bigint): bigint | undefined {
    const ms = this.balloon?.nextPollMs();
    if (ms === undefined || !Number.isFinite(ms)) return undefined;
    const t = BigInt(Math.ceil(ms * (MAP.TIMEBASE_HZ / 1000))) + 1n;
    return t > now ? t : undefined;
  }

  /** How long the host may sleep when every hart waits: until the nearest timer deadline. */
  private idleMs(): number {
    let deadline: bigint | undefined;
    const consider = (t: bigint | undefined) => {
      if (t !== undefined && (deadline === undefined || t < deadline)) deadline = t;
    };
    for (let h = 0; h < this.harts.length; h++) {
      if (this.state[h] === 'stopped') continue;
      const hart = this.harts[h]!;
      const mie = hart.field(HART_MIE);
      if (mie & (1n << BigInt(IRQ_MTI))) consider(this.clint.nextDeadline(h));
      if (mie & (1n << BigInt(IRQ_STI)) && hart.field(HART_MENVCFG) >> 63n) consider(this.clint.clockAt(hart.field(HART_STIMECMP)));
    }
    consider(this.balloonDue(this.clock.ticks()));
    const alarm = this.rtc.nextAlarm();
    const cap = this.cfg.maxIdleMs ?? 100;
    let ms = deadline === undefined ? cap : this.clock.msUntil(deadline);
    if (alarm !== undefined) ms = Math.min(ms, Math.max(0, Number(alarm - this.rtc.guestNs()) / 1e6));
    return Math.min(ms, cap);
  }

  private flushOutput(): void {
    if (!this.outBuf.length) return;
    this.cfg.consoleOut(Uint8Array.from(this.outBuf));
    this.outBuf = [];
  }

  /** Stops the clock (the VM is paused between steps by the host). */
  pause(): void {
    this.clock.pause();
  }

  /** Frees the guest's frames and harts (the board is not usable afterwards). */
  destroy(): void {
    this.ram.free();
    for (const h of this.harts) this.host.freeHart(h.base);
    if (this.ownsCore) this.core.destroy();
  }
}

/** Frees what a saved board holds in shared memory (its RAM, P2M and harts) when no board object
 *  is left to do it (the VM ended on a thread that kept only its state). */
export function freeBoardMemory(host: HostMemory, s: BoardState): void {
  GuestRam.attach(host, s.ram).free();
  for (const h of s.harts) host.freeHart(h.base);
}
