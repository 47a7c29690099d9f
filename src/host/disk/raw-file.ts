// Raw disk images on the host: the Node side of virtio-blk's BlockBackend. Opening never creates
// or changes anything: a missing file, a directory, a write-protected file asked for read-write,
// an empty file or one that is not whole 512-byte sectors, and the same file attached twice are
// clear RvisorErrors before the VM starts (design rule 5).
import * as fs from 'node:fs';
import { RvisorError } from '../../errors.js';
import type { BlockBackend } from '../../devices/virtio/blk/backend.js';

const SECTOR = 512n;

export interface RawFileOptions {
  /** Open read-only (the guest sees a read-only disk). Default false. */
  readOnly?: boolean;
}

export interface SharedRawDisk {
  path: string;
  fd: number;
  readOnly: boolean;
  /** The write log shared by every thread writing the disk (see RawFileDisk.dirty). */
  dirty?: SharedArrayBuffer;
}

/** Granularity of the write log: one bit per 64 KiB of the disk. */
export const DIRTY_CHUNK = 65536;

export class RawFileDisk implements BlockBackend {
  readonly path: string;
  readonly readOnly: boolean;
  readonly size: number;
  /** The file's identity on the host (st_dev, st_ino): two paths are the same disk when equal. */
  readonly dev: bigint;
  readonly ino: bigint;
  /** Last I/O error seen (diagnostics): the guest only sees VIRTIO_BLK_S_IOERR. */
  lastError: Error | undefined;
  /** A writable disk's write log: bit i is set after a write to chunk i (DIRTY_CHUNK bytes) has
   *  completed, by whichever thread wrote it; a live migration with --copy-storage clears a bit
   *  before it reads the chunk, so a write it may have missed is always logged again. */
  readonly dirty: Int32Array | undefined;
  private fd: number | undefined;

  private constructor(path: string, fd: number, st: fs.BigIntStats, readOnly: boolean, dirty?: SharedArrayBuffer) {
    this.path = path;
    this.fd = fd;
    this.size = Number(st.size);
    this.dev = st.dev;
    this.ino = st.ino;
    this.readOnly = readOnly;
    if (!readOnly) this.dirty = new Int32Array(dirty ?? new SharedArrayBuffer(Math.ceil(this.size / DIRTY_CHUNK / 32) * 4 + 4));
  }

  /** What another thread of this process needs to use the same open file (fds are per process). */
  share(): SharedRawDisk {
    if (this.fd === undefined) throw new RvisorError('INTERNAL', `disk image '${this.path}' is closed`);
    return { path: this.path, fd: this.fd, readOnly: this.readOnly, ...(this.dirty ? { dirty: this.dirty.buffer as SharedArrayBuffer } : {}) };
  }

  /** The disk another thread opened (see share()); close() it only where it was opened. */
  static fromShared(s: SharedRawDisk): RawFileDisk {
    return new RawFileDisk(s.path, s.fd, fs.fstatSync(s.fd, { bigint: true }), s.readOnly, s.dirty);
  }

  /** Takes the write log: calls fn(chunk) for each chunk written since the last call (clearing
   *  its bit first). */
  takeDirty(fn: (chunk: number) => void): void {
    const d = this.dirty;
    if (!d) return;
    for (let w = 0; w < d.length; w++) {
      if (Atomics.load(d, w) === 0) continue;
      const bits = Atomics.exchange(d, w, 0);
      for (let b = 0; b < 32; b++) if (bits & (1 << b)) fn(w * 32 + b);
    }
  }

  private logWrite(offset: number, len: number): void {
    const d = this.dirty!;
    for (let c = Math.floor(offset / DIRTY_CHUNK); c <= Math.floor((offset + len - 1) / DIRTY_CHUNK); c++) Atomics.or(d, c >> 5, 1 << (c & 31));
  }

  /** Opens an existing raw image. Throws RvisorError (nothing is created or modified). */
  static open(path: string, options: RawFileOptions = {}): RawFileDisk {
    const readOnly = options.readOnly === true;
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (e) {
      throw openError(path, e, readOnly);
    }
    if (!st.isFile()) {
      throw new RvisorError('DISK_OPEN', `disk image '${path}' is not a regular file`);
    }
    // A file without any write permission bit is refused read-write even where the open would
    // succeed (root): the user marked it read-only, and writing it would be a surprise.
    if (!readOnly && (st.mode & 0o222) === 0) {
      throw new RvisorError('DISK_READONLY', `disk image '${path}' is read-only (no write permission); attach it read-only or make it writable`);
    }
    let fd: number;
    try {
      // 'r+' opens for reading and writing and fails if the file does not exist: never creates.
      fd = fs.openSync(path, readOnly ? 'r' : 'r+');
    } catch (e) {
      throw openError(path, e, readOnly);
    }
    let opened: fs.BigIntStats;
    try {
      opened = fs.fstatSync(fd, { bigint: true });
    } catch (e) {
      fs.closeSync(fd);
      throw openError(path, e, readOnly);
    }
    // virtio-blk counts the disk in 512-byte sectors (virtio 1.2 §5.2.4, capacity): an empty file
    // would be a disk of no sectors, and a partial last sector could be neither read nor written.
    const bad = opened.size === 0n ? 'is empty (0 bytes)'
      : opened.size % SECTOR !== 0n ? `is ${opened.size} bytes, not a whole number of 512-byte sectors` : undefined;
    if (bad !== undefined) {
      fs.closeSync(fd);
      throw new RvisorError('BAD_IMAGE', `disk image '${path}' ${bad}`);
    }
    return new RawFileDisk(path, fd, opened, readOnly);
  }

  read(offset: number, buf: Uint8Array): boolean {
    const fd = this.fd;
    if (fd === undefined) return false;
    try {
      let done = 0;
      while (done < buf.length) {
        const n = fs.readSync(fd, buf, done, buf.length - done, offset + done);
        if (n <= 0) {
          // The file shrank under us: an I/O error, not silently invented zeros.
          this.lastError = new Error(`short read at ${offset + done} in '${this.path}'`);
          return false;
        }
        done += n;
      }
      return true;
    } catch (e) {
      this.lastError = e as Error;
      return false;
    }
  }

  write(offset: number, buf: Uint8Array): boolean {
    const fd = this.fd;
    if (fd === undefined || this.readOnly) return false;
    try {
      let done = 0;
      while (done < buf.length) {
        const n = fs.writeSync(fd, buf, done, buf.length - done, offset + done);
        if (n <= 0) {
          if (done) this.logWrite(offset, done);
          return false;
        }
        done += n;
      }
      if (buf.length) this.logWrite(offset, buf.length);
      return true;
    } catch (e) {
      this.lastError = e as Error;
      if (buf.length) this.logWrite(offset, buf.length); // part of it may have been written
      return false;
    }
  }

  flush(): boolean {
    const fd = this.fd;
    if (fd === undefined) return false;
    if (this.readOnly) return true;
    try {
      fs.fsyncSync(fd);
      return true;
    } catch (e) {
      this.lastError = e as Error;
      return false;
    }
  }

  /** Discard is advisory (virtio 1.2 §5.2.6.2: the device MAY deallocate). node:fs cannot punch
   *  holes, so the data simply stays; the guest must not rely on its contents either way. */
  discard(_offset: number, _len: number): boolean {
    return this.fd !== undefined && !this.readOnly;
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** Opens every disk of a VM, in order, refusing one file attached twice (by st_dev and st_ino, so
 *  symbolic and hard links to the same file count as the same disk): the guest would see two
 *  disks sharing blocks behind each other's caches. On any error the ones opened are closed. */
export function openRawDisks(specs: readonly { path: string; readOnly?: boolean }[]): RawFileDisk[] {
  const disks: RawFileDisk[] = [];
  try {
    for (const spec of specs) {
      const d = RawFileDisk.open(spec.path, { readOnly: spec.readOnly === true });
      disks.push(d);
      const first = disks.find((o) => o !== d && o.dev === d.dev && o.ino === d.ino);
      if (first) {
        const same = first.path === d.path ? '' : ` (the same file as '${first.path}')`;
        throw new RvisorError('DISK_OPEN', `disk image '${d.path}'${same} is attached twice`);
      }
    }
    return disks;
  } catch (e) {
    for (const d of disks) d.close();
    throw e;
  }
}

function openError(path: string, e: unknown, readOnly: boolean): RvisorError {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new RvisorError('ENOENT_FILE', `disk image '${path}' does not exist`, { cause: e });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return readOnly
        ? new RvisorError('ENOENT_FILE', `disk image '${path}' cannot be read: permission denied`, { cause: e })
        : new RvisorError('DISK_READONLY', `disk image '${path}' cannot be opened for writing (${code}); attach it read-only or make it writable`, { cause: e });
    case 'EISDIR':
      return new RvisorError('DISK_OPEN', `disk image '${path}' is a directory, not a file`, { cause: e });
    default:
      return new RvisorError('DISK_OPEN', `disk image '${path}' cannot be opened: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}
