// Reading the files a VM boots from: a missing or unreadable file is a clear RvisorError naming it;
// gzip-compressed files (the bundled images) are decompressed in memory.
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { RvisorError } from '../errors.js';

/** Directory of the bundled guest images (images/ at the package root). */
export const IMAGES_DIR = fileURLToPath(new URL('../../../images/', import.meta.url));

export function readImage(path: string, what: string): Uint8Array {
  let data: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new RvisorError('ENOENT_FILE', `${what} ${path}: is a directory`);
    data = readFileSync(path);
  } catch (e) {
    if (e instanceof RvisorError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new RvisorError('ENOENT_FILE', `${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try {
      data = gunzipSync(data);
    } catch (e) {
      throw new RvisorError('BAD_IMAGE', `${what} ${path}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
