// The write log of a writable disk, shared by every thread that writes it: one bit per
// DIRTY_CHUNK bytes of the guest-visible disk, set after a write to that chunk has completed. A
// live migration with --copy-storage clears a bit before it reads the chunk, so a write it may
// have missed is always logged again. Offsets are the guest's, whatever the image format.

/** Granularity of the write log: one bit per 64 KiB of the disk. */
export const DIRTY_CHUNK = 65536;

export class WriteLog {
  readonly bits: Int32Array;

  constructor(size: number, shared?: SharedArrayBuffer) {
    this.bits = new Int32Array(shared ?? new SharedArrayBuffer(Math.ceil(size / DIRTY_CHUNK / 32) * 4 + 4));
  }

  get buffer(): SharedArrayBuffer {
    return this.bits.buffer as SharedArrayBuffer;
  }

  /** Marks [offset, offset + len) written (len > 0). */
  log(offset: number, len: number): void {
    const d = this.bits;
    for (let c = Math.floor(offset / DIRTY_CHUNK); c <= Math.floor((offset + len - 1) / DIRTY_CHUNK); c++) Atomics.or(d, c >> 5, 1 << (c & 31));
  }

  /** Calls fn(chunk) for each chunk written since the last call, clearing its bit first. */
  take(fn: (chunk: number) => void): void {
    const d = this.bits;
    for (let w = 0; w < d.length; w++) {
      if (Atomics.load(d, w) === 0) continue;
      const bits = Atomics.exchange(d, w, 0);
      for (let b = 0; b < 32; b++) if (bits & (1 << b)) fn(w * 32 + b);
    }
  }
}
