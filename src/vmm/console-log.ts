// A VM's console on the host side: the last 64 KiB of output (scrollback for viewers that attach
// later) and the viewers attached now. Output is fanned out to every viewer; what viewers type is
// queued for the guest by the host.

export const SCROLLBACK_BYTES = 64 * 1024;

export class ConsoleLog {
  private readonly ring = new Uint8Array(SCROLLBACK_BYTES);
  private end = 0; // total bytes ever written
  private readonly viewers = new Set<(bytes: Uint8Array) => void>();

  append(bytes: Uint8Array): void {
    const n = bytes.length;
    const keep = n > SCROLLBACK_BYTES ? bytes.subarray(n - SCROLLBACK_BYTES) : bytes;
    let at = (this.end + n - keep.length) % SCROLLBACK_BYTES;
    const first = Math.min(keep.length, SCROLLBACK_BYTES - at);
    this.ring.set(keep.subarray(0, first), at);
    this.ring.set(keep.subarray(first), 0);
    at = 0;
    this.end += n;
    for (const v of this.viewers) {
      try {
        v(bytes);
      } catch {
        // a viewer's failure is its own
      }
    }
  }

  /** Forgets the scrollback (a new run of the VM starts); viewers stay attached. */
  clear(): void {
    this.end = 0;
  }

  /** The last (up to) 64 KiB, oldest first. */
  scrollback(): Uint8Array {
    const len = Math.min(this.end, SCROLLBACK_BYTES);
    const start = (this.end - len) % SCROLLBACK_BYTES;
    const out = new Uint8Array(len);
    const first = Math.min(len, SCROLLBACK_BYTES - start);
    out.set(this.ring.subarray(start, start + first), 0);
    out.set(this.ring.subarray(0, len - first), first);
    return out;
  }

  attach(viewer: (bytes: Uint8Array) => void): () => void {
    this.viewers.add(viewer);
    return () => this.viewers.delete(viewer);
  }

  get viewerCount(): number {
    return this.viewers.size;
  }
}
