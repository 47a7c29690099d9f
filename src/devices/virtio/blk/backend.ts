// What a virtio-blk device stores its sectors in. Platform-neutral: raw files on Node live in
// src/host/disk/raw-file.ts; MemoryBlockBackend below serves tests and the browser.
//
// Contract: offsets and lengths are in bytes; the device only calls with ranges inside
// [0, size). Methods return false on an I/O error (the guest sees VIRTIO_BLK_S_IOERR); they
// should not throw, and the device treats a throw as an I/O error too.

export interface BlockBackend {
  /** Size in bytes (the device exposes floor(size / 512) sectors). */
  readonly size: number;
  /** True when writes must be refused (the device then offers VIRTIO_BLK_F_RO). */
  readonly readOnly: boolean;
  /** Fills buf from bytes [offset, offset + buf.length). */
  read(offset: number, buf: Uint8Array): boolean;
  /** Stores buf at [offset, offset + buf.length). */
  write(offset: number, buf: Uint8Array): boolean;
  /** Makes completed writes durable (fsync). */
  flush(): boolean;
  /** The guest no longer needs [offset, offset + len) (contents afterwards unspecified). */
  discard(offset: number, len: number): boolean;
  /** Optional fast path for [offset, offset + len) := 0; the device falls back to write(). */
  writeZeroes?(offset: number, len: number): boolean;
}

/** A disk held in memory (tests, browser, scratch disks). */
export class MemoryBlockBackend implements BlockBackend {
  readonly bytes: Uint8Array;
  readonly readOnly: boolean;
  flushes = 0;

  constructor(sizeOrBytes: number | Uint8Array, readOnly = false) {
    this.bytes = typeof sizeOrBytes === 'number' ? new Uint8Array(sizeOrBytes) : sizeOrBytes;
    this.readOnly = readOnly;
  }
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, buf: Uint8Array): boolean {
    if (offset < 0 || offset + buf.length > this.bytes.length) return false;
    buf.set(this.bytes.subarray(offset, offset + buf.length));
    return true;
  }
  write(offset: number, buf: Uint8Array): boolean {
    if (this.readOnly || offset < 0 || offset + buf.length > this.bytes.length) return false;
    this.bytes.set(buf, offset);
    return true;
  }
  flush(): boolean {
    this.flushes++;
    return true;
  }
  discard(offset: number, len: number): boolean {
    return this.writeZeroes(offset, len);
  }
  writeZeroes(offset: number, len: number): boolean {
    if (this.readOnly || offset < 0 || offset + len > this.bytes.length) return false;
    this.bytes.fill(0, offset, offset + len);
    return true;
  }
}
