// File operations shared by the disk image formats: creating a new image file (never over an
// existing one), fsync with the error kept, and a close that tolerates a closed descriptor.
import * as fs from 'node:fs';
import { RvisorError } from '../../errors.js';

/** Creates `path` for a new image; an existing file is refused (USAGE), never overwritten. */
export function createImageFile(path: string): number {
  try {
    return fs.openSync(path, 'wx', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new RvisorError('USAGE', `'${path}' already exists (rvisor img never overwrites an image)`);
    throw new RvisorError('DISK_OPEN', `cannot create '${path}': ${(e as Error).message}`);
  }
}

/** fsync; the error, if any, is returned (a disk reports it to the guest as an I/O error). */
export function syncImage(fd: number): Error | undefined {
  try {
    fs.fsyncSync(fd);
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

export function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
