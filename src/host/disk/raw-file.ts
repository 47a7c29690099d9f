// Raw disk images on the host: the Node side of virtio-blk's BlockBackend. Opening never creates
// or changes anything: a missing file, a directory, a write-protected file asked for read-write,
// an empty file or one that is not whole 512-byte sectors, and the same file attached twice are
// clear RvisorErrors before the VM starts (design rule 5).
import { closeQuietly, syncImage } from './image-file.js';
import * as fs from 'node:fs';
import { RvisorError } from '../../errors.js';
import type { HostDisk } from './host-disk.js';
import { isQcow2Magic } from './qcow2-format.js';
import { DIRTY_CHUNK, WriteLog } from './write-log.js';

export { DIRTY_CHUNK };

const SECTOR = 512n;

export interface RawFileOptions {
  /** Open read-only (the guest sees a read-only disk). Default false. */
  readOnly?: boolean;
  /** The format was probed, not given: the guest may not write a header of another format into
   *  the first sector (it would be read as that format next time, with a backing file of its
   *  choosing: QEMU refuses the same write for a probed raw image). */
  probed?: boolean;
}

export interface SharedRawDisk {
  format?: 'raw';
  path: string;
  fd: number;
  readOnly: boolean;
  probed?: boolean;
  /** The write log shared by every thread writing the disk (see RawFileDisk.dirty). */
  dirty?: SharedArrayBuffer;
}

export class RawFileDisk implements HostDisk {
  readonly format = 'raw' as const;
  readonly backingDisk = null;
  readonly probed: boolean;
  readonly path: string;
  readonly readOnly: boolean;
  readonly size: number;
  /** The file's identity on the host (st_dev, st_ino): two paths are the same disk when equal. */
  readonly dev: bigint;
  readonly ino: bigint;
  /** Last I/O error seen (diagnostics): the guest only sees VIRTIO_BLK_S_IOERR. */
  lastError: Error | undefined;
  /** A writable disk's write log (see WriteLog). */
  readonly writeLog: WriteLog | undefined;
  private fd: number | undefined;

  private constructor(path: string, fd: number, st: fs.BigIntStats, readOnly: boolean, probed: boolean, dirty?: SharedArrayBuffer) {
    this.path = path;
    this.fd = fd;
    this.size = Number(st.size);
    this.dev = st.dev;
    this.ino = st.ino;
    this.readOnly = readOnly;
    this.probed = probed;
    if (!readOnly) this.writeLog = new WriteLog(this.size, dirty);
  }

  get dirty(): Int32Array | undefined {
    return this.writeLog?.bits;
  }

  /** What another thread of this process needs to use the same open file (fds are per process). */
  share(): SharedRawDisk {
    if (this.fd === undefined) throw new RvisorError('INTERNAL', `disk image '${this.path}' is closed`);
    return { format: 'raw', path: this.path, fd: this.fd, readOnly: this.readOnly, probed: this.probed, ...(this.writeLog ? { dirty: this.writeLog.buffer } : {}) };
  }

  /** The disk another thread opened (see share()); close() it only where it was opened. */
  static fromShared(s: SharedRawDisk): RawFileDisk {
    return new RawFileDisk(s.path, s.fd, fs.fstatSync(s.fd, { bigint: true }), s.readOnly, s.probed === true, s.dirty);
  }

  /** Takes the write log: calls fn(chunk) for each chunk written since the last call (clearing
   *  its bit first). */
  takeDirty(fn: (chunk: number) => void): void {
    this.writeLog?.take(fn);
  }

  private logWrite(offset: number, len: number): void {
    this.writeLog!.log(offset, len);
  }

  /** Opens an existing raw image. Throws RvisorError (nothing is created or modified). */
  static open(path: string, options: RawFileOptions = {}): RawFileDisk {
    const readOnly = options.readOnly === true;
    const { fd, st } = openImageFile(path, readOnly);
    try {
      return RawFileDisk.adopt(path, fd, st, readOnly, options.probed === true);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** A raw disk over an open file; refuses sizes virtio-blk cannot expose (throws, fd stays open). */
  static adopt(path: string, fd: number, st: fs.BigIntStats, readOnly: boolean, probed: boolean): RawFileDisk {
    // virtio-blk counts the disk in 512-byte sectors (virtio 1.2 §5.2.4, capacity): an empty file
    // would be a disk of no sectors, and a partial last sector could be neither read nor written.
    const bad = st.size === 0n ? 'is empty (0 bytes)'
      : st.size % SECTOR !== 0n ? `is ${st.size} bytes, not a whole number of 512-byte sectors` : undefined;
    if (bad !== undefined) throw new RvisorError('BAD_IMAGE', `disk image '${path}' ${bad}`);
    return new RawFileDisk(path, fd, st, readOnly, probed);
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
    if (this.probed && offset < 4 && buf.length > 0 && this.wouldLookLikeQcow2(offset, buf)) {
      this.lastError = new Error(`refused a guest write of a qcow2 header into sector 0 of '${this.path}', whose format was probed as raw (give format=raw to allow it)`);
      return false;
    }
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

  /** Whether the first 4 bytes would be the qcow2 magic after writing buf at offset (< 4). */
  private wouldLookLikeQcow2(offset: number, buf: Uint8Array): boolean {
    const head = new Uint8Array(4);
    try {
      fs.readSync(this.fd!, head, 0, 4, 0);
    } catch {
      return false;
    }
    head.set(buf.subarray(0, 4 - offset), offset);
    return isQcow2Magic(head);
  }

  flush(): boolean {
    const fd = this.fd;
    if (fd === undefined) return false;
    if (this.readOnly) return true;
    const err = syncImage(fd);
    if (err) this.lastError = err;
    return err === undefined;
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
    closeQuietly(fd);
  }
}

/** Opens an existing image file for a disk (any format) after the checks every disk gets: a
 *  regular file, and a write-protected one is never opened read-write. Creates nothing. */
export function openImageFile(path: string, readOnly: boolean): { fd: number; st: fs.BigIntStats } {
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
  try {
    return { fd, st: fs.fstatSync(fd, { bigint: true }) };
  } catch (e) {
    fs.closeSync(fd);
    throw openError(path, e, readOnly);
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
