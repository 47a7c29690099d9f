// Raw disk images on the host: the Node side of virtio-blk's BlockBackend. Opening never creates
// or changes anything: a missing file, a directory, or a write-protected file asked for
// read-write is a clear RvisorError before the VM starts (design rule 5).
import * as fs from 'node:fs';
import { RvisorError } from '../../errors.js';
import type { BlockBackend } from '../../devices/virtio/blk/backend.js';

export interface RawFileOptions {
  /** Open read-only (the guest sees a read-only disk). Default false. */
  readOnly?: boolean;
}

export class RawFileDisk implements BlockBackend {
  readonly path: string;
  readonly readOnly: boolean;
  readonly size: number;
  /** Last I/O error seen (diagnostics): the guest only sees VIRTIO_BLK_S_IOERR. */
  lastError: Error | undefined;
  private fd: number | undefined;

  private constructor(path: string, fd: number, size: number, readOnly: boolean) {
    this.path = path;
    this.fd = fd;
    this.size = size;
    this.readOnly = readOnly;
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
    try {
      const size = fs.fstatSync(fd).size;
      return new RawFileDisk(path, fd, size, readOnly);
    } catch (e) {
      fs.closeSync(fd);
      throw openError(path, e, readOnly);
    }
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
        if (n <= 0) return false;
        done += n;
      }
      return true;
    } catch (e) {
      this.lastError = e as Error;
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
