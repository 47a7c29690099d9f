// virtio-console with a single port (virtio 1.2 §5.3), no VIRTIO_CONSOLE_F_MULTIPORT: queue 0
// (receiveq) carries host → guest bytes in device-writable buffers, queue 1 (transmitq) carries
// guest → host bytes in device-readable buffers. Linux shows it as /dev/hvc0 (console=hvc0).
// Input that arrives while the guest has no receive buffer posted waits in the device's state.
import type { Stateful } from '../../device.js';
import { readFromChain, writeToChain } from '../queue/chain.js';
import { VIRTIO_ID_CONSOLE, type VirtioDevice, type VirtioHost } from '../transport/virtio-device.js';

export const CONSOLE_RECEIVEQ = 0;
export const CONSOLE_TRANSMITQ = 1;

export interface VirtioConsoleOptions {
  /** Receives what the guest writes (called synchronously while the queue is processed). */
  output: (bytes: Uint8Array) => void;
  queueSize?: number;
  /** Most input bytes kept while the guest posts no receive buffer (default 65536; older bytes
   *  beyond are dropped, as a terminal line would overrun). */
  maxPendingInput?: number;
}

export interface VirtioConsoleState {
  /** Input not yet delivered to the guest. */
  pendingInput: number[];
}

export class VirtioConsole implements VirtioDevice, Stateful<VirtioConsoleState> {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly numQueues = 2;
  readonly features = 0n;
  private host: VirtioHost | undefined;
  private readonly queueSize: number;
  private readonly maxPending: number;
  private readonly output: (bytes: Uint8Array) => void;
  private pending: number[] = [];

  constructor(options: VirtioConsoleOptions) {
    this.output = options.output;
    this.queueSize = options.queueSize ?? 64;
    this.maxPending = options.maxPendingInput ?? 65536;
  }

  queueMaxSize(): number {
    return this.queueSize;
  }
  attach(host: VirtioHost): void {
    this.host = host;
  }
  readConfig(): number {
    return 0; // cols/rows/max_nr_ports/emerg_wr are only meaningful with features we do not offer
  }
  writeConfig(): void {}
  reset(): void {
    // Input typed before the driver comes back is kept: it was meant for the guest.
  }

  /** Host → guest bytes (keyboard input). Delivered now if receive buffers are posted. */
  input(bytes: Uint8Array): void {
    for (const b of bytes) this.pending.push(b);
    if (this.pending.length > this.maxPending) this.pending.splice(0, this.pending.length - this.maxPending);
    this.deliver();
  }

  notify(index: number): void {
    if (index === CONSOLE_RECEIVEQ) this.deliver();
    else if (index === CONSOLE_TRANSMITQ) this.transmit();
  }

  save(): VirtioConsoleState {
    return { pendingInput: [...this.pending] };
  }
  restore(s: VirtioConsoleState): void {
    this.pending = s.pendingInput.map((b) => b & 0xff);
  }

  private transmit(): void {
    const host = this.host;
    const vq = host?.queue(CONSOLE_TRANSMITQ);
    if (!host || !vq) return;
    for (let chain = vq.pop(); chain; chain = vq.pop()) {
      const n = Math.min(chain.readableBytes, 1 << 20);
      const data = new Uint8Array(n);
      if (readFromChain(host.mem, chain.readable, 0, data) && n > 0) {
        try {
          this.output(data);
        } catch {
          // The host's sink failing must not fail the guest.
        }
      }
      if (!vq.push(chain.head, 0)) break;
    }
    host.queueUsed(CONSOLE_TRANSMITQ);
  }

  private deliver(): void {
    const host = this.host;
    const vq = host?.queue(CONSOLE_RECEIVEQ);
    if (!host || !vq || this.pending.length === 0) return;
    while (this.pending.length > 0) {
      const chain = vq.pop();
      if (!chain) break;
      const n = Math.min(chain.writableBytes, this.pending.length);
      const data = Uint8Array.from(this.pending.slice(0, n));
      const ok = writeToChain(host.mem, chain.writable, 0, data);
      if (ok) this.pending.splice(0, n);
      if (!vq.push(chain.head, ok ? n : 0)) break;
    }
    host.queueUsed(CONSOLE_RECEIVEQ);
  }
}
