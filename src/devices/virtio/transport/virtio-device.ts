// The contract between a virtio transport (virtio-mmio here; PCI could follow) and a virtio
// device type (blk, rng, console, ...). The transport never names a device type, and a device
// never sees registers: it sees its queues, its negotiated features and two callbacks.
import type { GuestMemory } from '../../device.js';
import type { Virtqueue } from '../queue/virtqueue.js';

/** §2.1: device status bits. */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** §6: reserved (transport / ring) feature bits, as bigints. */
export const VIRTIO_RING_F_INDIRECT_DESC = 1n << 28n;
export const VIRTIO_RING_F_EVENT_IDX = 1n << 29n;
export const VIRTIO_F_VERSION_1 = 1n << 32n;
/** Features every device behind our transports offers: the queue implementation supports them. */
export const TRANSPORT_FEATURES = VIRTIO_F_VERSION_1 | VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX;

/** §5: device type ids. */
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;
export const VIRTIO_ID_INPUT = 18;

/** What a transport offers the device it carries. */
export interface VirtioHost {
  /** Guest RAM (DMA). */
  readonly mem: GuestMemory;
  /** Queue `index` when it may be processed (driver set DRIVER_OK, queue ready, not broken);
   *  otherwise undefined. */
  queue(index: number): Virtqueue | undefined;
  /** The features the driver accepted (valid once FEATURES_OK is set; 0n before). */
  readonly driverFeatures: bigint;
  /** Call after pushing used buffers to queue `index` (possibly later, for asynchronous
   *  completions): the transport interrupts the driver if the queue's suppression rules allow. */
  queueUsed(index: number): void;
  /** Call when the device's configuration space changed (bumps ConfigGeneration, interrupts). */
  configChanged(): void;
}

/** A virtio device type, carried by a transport. */
export interface VirtioDevice {
  /** §5 device id (2 = block, 4 = entropy, ...). */
  readonly deviceId: number;
  /** Device-specific feature bits offered. The transport adds TRANSPORT_FEATURES itself. */
  readonly features: bigint;
  /** Number of virtqueues. */
  readonly numQueues: number;
  /** Largest size of queue `index` (a power of 2). */
  queueMaxSize(index: number): number;
  /** Called once by the transport's constructor. */
  attach(host: VirtioHost): void;
  /** Reads `size` (1, 2 or 4) bytes of device configuration at `offset`, little-endian; 0 outside. */
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, value: number, size: number): void;
  /** The driver notified queue `index` (or DRIVER_OK was just set): process what is available. */
  notify(index: number): void;
  /** The driver reset the device (§2.4): forget everything negotiated or pending. */
  reset(): void;
  /** Optional extra check of the driver's feature choice at FEATURES_OK (§3.1.1 step 5). */
  acceptFeatures?(features: bigint): boolean;
}

/** Little-endian read of `size` bytes at `offset` of a config byte array (0 outside it). */
export function readConfigBytes(bytes: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) {
    const o = offset + i;
    v = v * 256 + (o >= 0 && o < bytes.length ? bytes[o]! : 0);
  }
  return v >>> 0;
}
