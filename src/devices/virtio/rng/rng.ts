// virtio-rng, the entropy device (virtio 1.2 §5.4): one request queue of device-writable buffers
// the device fills with random bytes. No configuration space, no device features. The entropy
// source is given by the host (on Node and in browsers: crypto.getRandomValues), so this file
// stays platform-neutral.
import type { Stateful } from '../../device.js';
import { writeToChain } from '../queue/chain.js';
import { VIRTIO_ID_RNG, type VirtioDevice, type VirtioHost } from '../transport/virtio-device.js';

/** Fills buf with random bytes. Called with at most 65536 bytes at a time (the Web Crypto limit). */
export type EntropySource = (buf: Uint8Array) => void;

export interface VirtioRngOptions {
  queueSize?: number;
  /** Most bytes supplied per request (default 65536); a driver accepts short fills (§5.4.6). */
  maxBytesPerRequest?: number;
}

/** The device keeps no state of its own (its queue is in the transport's state). */
export interface VirtioRngState {
  bytesServed: number;
}

const ENTROPY_CHUNK = 65536;

export class VirtioRng implements VirtioDevice, Stateful<VirtioRngState> {
  readonly deviceId = VIRTIO_ID_RNG;
  readonly numQueues = 1;
  readonly features = 0n;
  bytesServed = 0;
  private host: VirtioHost | undefined;
  private readonly queueSize: number;
  private readonly maxBytes: number;
  private readonly buf: Uint8Array;

  constructor(private readonly entropy: EntropySource, options: VirtioRngOptions = {}) {
    this.queueSize = options.queueSize ?? 64;
    this.maxBytes = options.maxBytesPerRequest ?? 65536;
    this.buf = new Uint8Array(Math.min(ENTROPY_CHUNK, this.maxBytes));
  }

  queueMaxSize(): number {
    return this.queueSize;
  }
  attach(host: VirtioHost): void {
    this.host = host;
  }
  readConfig(): number {
    return 0;
  }
  writeConfig(): void {}
  reset(): void {}

  notify(index: number): void {
    const host = this.host;
    const vq = host?.queue(index);
    if (!host || !vq) return;
    for (let chain = vq.pop(); chain; chain = vq.pop()) {
      // Device-readable buffers are not expected (§5.4.6.1) and are ignored.
      const want = Math.min(chain.writableBytes, this.maxBytes);
      let done = 0;
      while (done < want) {
        const piece = this.buf.subarray(0, Math.min(this.buf.length, want - done));
        try {
          this.entropy(piece);
        } catch {
          break; // no entropy available: return what we have
        }
        if (!writeToChain(host.mem, chain.writable, done, piece)) break;
        done += piece.length;
      }
      this.bytesServed += done;
      if (!vq.push(chain.head, done)) break;
    }
    host.queueUsed(index);
  }

  save(): VirtioRngState {
    return { bytesServed: this.bytesServed };
  }
  restore(s: VirtioRngState): void {
    this.bytesServed = s.bytesServed;
  }
}
