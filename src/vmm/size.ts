// Guest RAM sizes written on a command line or in a VM definition, in QEMU's spirit: a whole number
// with an optional unit. K, M and G are binary (KiB, MiB, GiB; the "KB"/"KiB" spellings are
// accepted too); "B" means bytes; a bare number means MiB, as QEMU's -m reads it. Anything else is
// an error naming the option, never a guess: "512B" is 512 bytes (too small), not 512 MiB.
import { RvisorError } from '../errors.js';

const UNIT: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Smallest and largest guest RAM the board supports. */
export const MEM_MIN = 16 * 1024 ** 2;
export const MEM_MAX = 3 * 1024 ** 3;

/** The bytes `text` names, without range checks (e.g. "256M", "1GiB", "4096B", "512" = 512 MiB). */
export function sizeBytes(text: string, what: string): number {
  const m = /^(\d+)(?:([KMG])(?:i?B)?|(B))?$/i.exec(text.trim());
  if (!m) throw new RvisorError('USAGE', `${what} ${text}: expected a size such as 256M or 1G (units B, K, M, G; no unit = M)`);
  const unit = m[3] !== undefined ? 'B' : (m[2] ?? 'M').toUpperCase();
  const bytes = Number(m[1]) * UNIT[unit]!;
  if (!Number.isSafeInteger(bytes)) throw new RvisorError('USAGE', `${what} ${text}: at most 3G is supported`);
  return bytes;
}

/** A guest RAM size in bytes: 16M..3G in whole 4 KiB pages. `what` names the option or field
 *  (e.g. "--mem") in the error: USAGE, or MEM_TOO_SMALL below 16M. */
export function parseSize(text: string, what: string): number {
  const bytes = sizeBytes(text, what);
  if (bytes < MEM_MIN) throw new RvisorError('MEM_TOO_SMALL', `${what} ${text}: memory too small (${bytes} bytes): at least 16M is needed`);
  if (bytes > MEM_MAX) throw new RvisorError('USAGE', `${what} ${text}: at most 3G is supported`);
  if (bytes % 4096) throw new RvisorError('USAGE', `${what} ${text}: must be a multiple of 4K`);
  return bytes;
}
