// virtio over MMIO, version 2 ("modern") register layout (virtio 1.2 §4.2.2), generic over the
// device it carries. Registers are 32-bit wide (§4.2.2.2: the driver MUST use 32-bit accesses
// outside the configuration space); other widths outside the config space read 0 and are ignored.
import type { GuestMemory, IrqLine, MmioDevice, Stateful } from '../../device.js';
import { Virtqueue, type VirtqueueState } from '../queue/virtqueue.js';
import {
  STATUS_DEVICE_NEEDS_RESET, STATUS_DRIVER_OK, STATUS_FEATURES_OK, TRANSPORT_FEATURES,
  VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC,
  type VirtioDevice, type VirtioHost,
} from './virtio-device.js';

/** §4.2.2 register offsets. */
export const MMIO_MAGIC_VALUE = 0x000;
export const MMIO_VERSION = 0x004;
export const MMIO_DEVICE_ID = 0x008;
export const MMIO_VENDOR_ID = 0x00c;
export const MMIO_DEVICE_FEATURES = 0x010;
export const MMIO_DEVICE_FEATURES_SEL = 0x014;
export const MMIO_DRIVER_FEATURES = 0x020;
export const MMIO_DRIVER_FEATURES_SEL = 0x024;
export const MMIO_QUEUE_SEL = 0x030;
export const MMIO_QUEUE_NUM_MAX = 0x034;
export const MMIO_QUEUE_NUM = 0x038;
export const MMIO_QUEUE_READY = 0x044;
export const MMIO_QUEUE_NOTIFY = 0x050;
export const MMIO_INTERRUPT_STATUS = 0x060;
export const MMIO_INTERRUPT_ACK = 0x064;
export const MMIO_STATUS = 0x070;
export const MMIO_QUEUE_DESC_LOW = 0x080;
export const MMIO_QUEUE_DESC_HIGH = 0x084;
export const MMIO_QUEUE_DRIVER_LOW = 0x090;
export const MMIO_QUEUE_DRIVER_HIGH = 0x094;
export const MMIO_QUEUE_DEVICE_LOW = 0x0a0;
export const MMIO_QUEUE_DEVICE_HIGH = 0x0a4;
export const MMIO_SHM_SEL = 0x0ac;
export const MMIO_SHM_LEN_LOW = 0x0b0;
export const MMIO_SHM_LEN_HIGH = 0x0b4;
export const MMIO_SHM_BASE_LOW = 0x0b8;
export const MMIO_SHM_BASE_HIGH = 0x0bc;
export const MMIO_QUEUE_RESET = 0x0c0;
export const MMIO_CONFIG_GENERATION = 0x0fc;
export const MMIO_CONFIG = 0x100;

export const VIRTIO_MMIO_MAGIC = 0x74726976; // "virt"
export const VIRTIO_MMIO_VERSION = 2;
/** Vendor id reported: "QEMU", so guest tools that special-case it behave as under QEMU. */
export const VIRTIO_MMIO_VENDOR_QEMU = 0x554d4551;

/** InterruptStatus bits (§4.2.2). */
export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

const TWO32 = 4294967296;
const lo32 = (a: number) => a % TWO32 >>> 0;
const hi32 = (a: number) => Math.floor(a / TWO32) >>> 0;
const withLo = (a: number, v: number) => hi32(a) * TWO32 + (v >>> 0);
const withHi = (a: number, v: number) => (v >>> 0) * TWO32 + lo32(a);

/** Plain-data state of the transport and its queues (the device saves its own state). */
export interface VirtioMmioState {
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  /** Driver features, 32-bit words (low word first). */
  driverFeatures: number[];
  queueSel: number;
  interruptStatus: number;
  configGeneration: number;
  queues: VirtqueueState[];
}

export interface VirtioMmioOptions {
  mem: GuestMemory;
  irq: IrqLine;
  vendorId?: number;
}

export class VirtioMmioTransport implements MmioDevice, VirtioHost, Stateful<VirtioMmioState> {
  readonly mem: GuestMemory;
  readonly device: VirtioDevice;
  private readonly irq: IrqLine;
  private readonly vendorId: number;
  private readonly queues: Virtqueue[];
  private readonly offered: bigint;

  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatureWords = [0, 0];
  private queueSel = 0;
  private interruptStatus = 0;
  private configGeneration = 0;
  /** Why the device last asked for a reset (diagnostics, not state). */
  lastError = '';

  constructor(device: VirtioDevice, options: VirtioMmioOptions) {
    this.device = device;
    this.mem = options.mem;
    this.irq = options.irq;
    this.vendorId = options.vendorId ?? VIRTIO_MMIO_VENDOR_QEMU;
    this.offered = device.features | TRANSPORT_FEATURES;
    this.queues = [];
    for (let i = 0; i < device.numQueues; i++) {
      const q = new Virtqueue(this.mem, device.queueMaxSize(i));
      q.onBroken = (why) => this.needsReset(`queue ${i}: ${why}`);
      this.queues.push(q);
    }
    device.attach(this);
  }

  // ---- VirtioHost ------------------------------------------------------------------------------

  get driverFeatures(): bigint {
    if (!(this.status & STATUS_FEATURES_OK)) return 0n;
    return (BigInt(this.driverFeatureWords[1]!) << 32n) | BigInt(this.driverFeatureWords[0]!);
  }

  queue(index: number): Virtqueue | undefined {
    if (!this.driverOk()) return undefined;
    const q = this.queues[index];
    return q && q.live ? q : undefined;
  }

  queueUsed(index: number): void {
    const q = this.queues[index];
    if (q && q.shouldNotify()) this.raise(INT_USED_BUFFER);
  }

  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & STATUS_DRIVER_OK) this.raise(INT_CONFIG_CHANGE);
  }

  // ---- MmioDevice ------------------------------------------------------------------------------

  read(offset: number, size: number): number {
    if (offset >= MMIO_CONFIG) return this.device.readConfig(offset - MMIO_CONFIG, size) >>> 0;
    if (size !== 4) return 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
      case MMIO_VERSION: return VIRTIO_MMIO_VERSION;
      case MMIO_DEVICE_ID: return this.device.deviceId;
      case MMIO_VENDOR_ID: return this.vendorId;
      case MMIO_DEVICE_FEATURES:
        if (this.deviceFeaturesSel > 1) return 0;
        return Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffffffffn);
      case MMIO_QUEUE_NUM_MAX: return q ? q.maxSize : 0;
      case MMIO_QUEUE_NUM: return q ? q.size : 0;
      case MMIO_QUEUE_READY: return q && q.ready ? 1 : 0;
      case MMIO_INTERRUPT_STATUS: return this.interruptStatus;
      case MMIO_STATUS: return this.status;
      case MMIO_QUEUE_DESC_LOW: return q ? lo32(q.descAddr) : 0;
      case MMIO_QUEUE_DESC_HIGH: return q ? hi32(q.descAddr) : 0;
      case MMIO_QUEUE_DRIVER_LOW: return q ? lo32(q.availAddr) : 0;
      case MMIO_QUEUE_DRIVER_HIGH: return q ? hi32(q.availAddr) : 0;
      case MMIO_QUEUE_DEVICE_LOW: return q ? lo32(q.usedAddr) : 0;
      case MMIO_QUEUE_DEVICE_HIGH: return q ? hi32(q.usedAddr) : 0;
      // No shared memory regions: a length (and base) of all ones means "absent" (§4.2.2).
      case MMIO_SHM_LEN_LOW: case MMIO_SHM_LEN_HIGH: case MMIO_SHM_BASE_LOW: case MMIO_SHM_BASE_HIGH:
        return 0xffffffff;
      case MMIO_CONFIG_GENERATION: return this.configGeneration;
      default: return 0;
    }
  }

  write(offset: number, value: number, size: number): void {
    if (offset >= MMIO_CONFIG) {
      this.device.writeConfig(offset - MMIO_CONFIG, value >>> 0, size);
      return;
    }
    if (size !== 4) return;
    value >>>= 0;
    const q = this.queues[this.queueSel];
    // Queue layout registers are ignored while the queue is live (§4.2.2.2: the driver MUST NOT
    // change them then); a hostile driver cannot move a ring under the device's feet.
    const qw = q && !q.ready ? q : undefined;
    switch (offset) {
      case MMIO_DEVICE_FEATURES_SEL: this.deviceFeaturesSel = value; break;
      case MMIO_DRIVER_FEATURES:
        // Fixed once FEATURES_OK is accepted (§3.1.1).
        if (!(this.status & STATUS_FEATURES_OK) && this.driverFeaturesSel <= 1) this.driverFeatureWords[this.driverFeaturesSel] = value;
        break;
      case MMIO_DRIVER_FEATURES_SEL: this.driverFeaturesSel = value; break;
      case MMIO_QUEUE_SEL: this.queueSel = value; break;
      case MMIO_QUEUE_NUM: if (qw) qw.size = value; break;
      case MMIO_QUEUE_READY: this.writeQueueReady(value); break;
      case MMIO_QUEUE_NOTIFY: this.notify(value & 0xffff); break;
      case MMIO_INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        this.updateIrq();
        break;
      case MMIO_STATUS: this.writeStatus(value & 0xff); break;
      case MMIO_QUEUE_DESC_LOW: if (qw) qw.descAddr = withLo(qw.descAddr, value); break;
      case MMIO_QUEUE_DESC_HIGH: if (qw) qw.descAddr = withHi(qw.descAddr, value); break;
      case MMIO_QUEUE_DRIVER_LOW: if (qw) qw.availAddr = withLo(qw.availAddr, value); break;
      case MMIO_QUEUE_DRIVER_HIGH: if (qw) qw.availAddr = withHi(qw.availAddr, value); break;
      case MMIO_QUEUE_DEVICE_LOW: if (qw) qw.usedAddr = withLo(qw.usedAddr, value); break;
      case MMIO_QUEUE_DEVICE_HIGH: if (qw) qw.usedAddr = withHi(qw.usedAddr, value); break;
      default: break; // read-only, unimplemented (SHMSel, QueueReset: VIRTIO_F_RING_RESET not offered)
    }
  }

  // ---- Stateful --------------------------------------------------------------------------------

  save(): VirtioMmioState {
    return {
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: [...this.driverFeatureWords],
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      configGeneration: this.configGeneration,
      queues: this.queues.map((q) => q.save()),
    };
  }

  restore(s: VirtioMmioState): void {
    if (s.queues.length !== this.queues.length) {
      throw new RangeError(`virtio-mmio state has ${s.queues.length} queues, device has ${this.queues.length}`);
    }
    this.status = s.status & 0xff;
    this.deviceFeaturesSel = s.deviceFeaturesSel >>> 0;
    this.driverFeaturesSel = s.driverFeaturesSel >>> 0;
    this.driverFeatureWords = [s.driverFeatures[0]! >>> 0, s.driverFeatures[1]! >>> 0];
    this.queueSel = s.queueSel >>> 0;
    this.interruptStatus = s.interruptStatus & 3;
    this.configGeneration = s.configGeneration >>> 0;
    s.queues.forEach((qs, i) => this.queues[i]!.restore(qs));
    this.updateIrq();
  }

  // ---------------------------------------------------------------------------------------------

  private driverOk(): boolean {
    const need = STATUS_DRIVER_OK | STATUS_FEATURES_OK;
    return (this.status & need) === need && !(this.status & STATUS_DEVICE_NEEDS_RESET);
  }

  private raise(bits: number): void {
    this.interruptStatus |= bits;
    this.updateIrq();
  }

  private updateIrq(): void {
    this.irq.set(this.interruptStatus !== 0);
  }

  /** The device cannot go on without a reset (§2.1.2): DEVICE_NEEDS_RESET + config interrupt. */
  private needsReset(why: string): void {
    this.lastError = why;
    if (this.status & STATUS_DEVICE_NEEDS_RESET) return;
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if (this.status & STATUS_DRIVER_OK) this.raise(INT_CONFIG_CHANGE);
  }

  private reset(): void {
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = 0;
    this.driverFeatureWords = [0, 0];
    this.queueSel = 0;
    this.interruptStatus = 0;
    // ConfigGeneration keeps counting: a driver compares values, never expects 0.
    for (const q of this.queues) q.reset();
    this.device.reset();
    this.updateIrq();
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.status;
    // Bits only accumulate until reset; DEVICE_NEEDS_RESET is the device's to set.
    let next = old | (value & ~(STATUS_DEVICE_NEEDS_RESET | STATUS_FEATURES_OK));
    if (old & STATUS_FEATURES_OK) next |= STATUS_FEATURES_OK;
    else if (value & STATUS_FEATURES_OK && this.featuresAcceptable()) next |= STATUS_FEATURES_OK;
    this.status = next;
    if (!(old & STATUS_DRIVER_OK) && this.driverOk()) {
      // Buffers made available before DRIVER_OK (§3.1.1 allows it) are processed now.
      for (let i = 0; i < this.queues.length; i++) if (this.queues[i]!.live) this.notify(i);
    }
  }

  /** §3.1.1 step 5 / §6.1: the driver accepted only offered features, and VERSION_1 (mandatory
   *  for a version 2 transport, Linux checks it too). */
  private featuresAcceptable(): boolean {
    const f = (BigInt(this.driverFeatureWords[1]!) << 32n) | BigInt(this.driverFeatureWords[0]!);
    if ((f & ~this.offered) !== 0n) return false;
    if ((f & VIRTIO_F_VERSION_1) === 0n) return false;
    return this.device.acceptFeatures ? this.device.acceptFeatures(f) : true;
  }

  private writeQueueReady(value: number): void {
    const q = this.queues[this.queueSel];
    if (!q) return;
    if ((value & 1) === 0) {
      q.ready = false;
      return;
    }
    if (q.ready) return;
    const f = this.driverFeatures;
    const why = q.enable((f & VIRTIO_RING_F_EVENT_IDX) !== 0n, (f & VIRTIO_RING_F_INDIRECT_DESC) !== 0n);
    if (why !== null) this.needsReset(`queue ${this.queueSel}: ${why}`);
  }

  private notify(index: number): void {
    if (!this.driverOk()) return;
    const q = this.queues[index];
    if (!q || !q.live) return;
    try {
      this.device.notify(index);
    } catch (e) {
      // A device bug must not take the host down: fail this device, keep the machine running.
      this.needsReset(`device threw while processing queue ${index}: ${(e as Error)?.message ?? String(e)}`);
    }
    this.queueUsed(index);
  }
}

/** An empty virtio-mmio slot (§4.2.3.1.1: DeviceID 0 means "no device"; Linux skips it). */
export class EmptyVirtioMmioSlot implements MmioDevice {
  constructor(private readonly vendorId = VIRTIO_MMIO_VENDOR_QEMU) {}
  read(offset: number, size: number): number {
    if (size !== 4) return 0;
    switch (offset) {
      case MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
      case MMIO_VERSION: return VIRTIO_MMIO_VERSION;
      case MMIO_VENDOR_ID: return this.vendorId;
      default: return 0;
    }
  }
  write(_offset: number, _value: number, _size: number): void {}
}
