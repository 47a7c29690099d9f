// Creating qcow2 images (`rvisor img create`): a version 3 header (QEMU's docs/interop/qcow2.txt,
// Header), the backing file's name and format (the backing format header extension, so the
// backing file is never probed), a refcount table, its refcount blocks and an empty L1 table that
// covers the virtual size. Every cluster the layout uses has refcount 1; no data is allocated.
import * as fs from 'node:fs';
import { RvisorError } from '../../errors.js';
import { setRefIn } from './qcow2.js';
import { createImageFile } from './image-file.js';
import { EXT_BACKING_FORMAT, MAX_BACKING_NAME, putU64, pwriteFull, QCOW2_MAGIC, V3_HEADER_LENGTH } from './qcow2-format.js';

export interface Qcow2CreateOptions {
  /** Virtual size in bytes (a whole number of 512-byte sectors). */
  size: number;
  /** 9..21; default 16 (64 KiB clusters, QEMU's default). */
  clusterBits?: number;
  /** The backing file's name as it is to be stored (relative names are relative to the new
   *  image's directory) and its format. */
  backing?: { name: string; format: 'raw' | 'qcow2' };
}

/** Writes a new qcow2 image at `path`, which must not exist (nothing is overwritten). */
export function createQcow2(path: string, o: Qcow2CreateOptions): void {
  const cb = o.clusterBits ?? 16;
  if (!Number.isInteger(cb) || cb < 9 || cb > 21) throw new RvisorError('USAGE', `cluster size 2^${cb} is outside 512 bytes..2 MiB`);
  if (!Number.isSafeInteger(o.size) || o.size <= 0 || o.size % 512 !== 0) {
    throw new RvisorError('USAGE', `image size ${o.size} is not a positive whole number of 512-byte sectors`);
  }
  if (o.size > 2 ** 50) throw new RvisorError('USAGE', `image size ${o.size} is above 1 PiB`);
  const cs = 2 ** cb;
  const refBits = 16;
  const rpb = (cs * 8) / refBits;
  const l1Size = Math.ceil(o.size / (cs * (cs / 8)));
  const l1Cl = Math.max(1, Math.ceil((l1Size * 8) / cs));
  // Layout: header, refcount table, refcount blocks, L1 table; sizes until they agree.
  let tableCl = 1, blocks = 1;
  for (;;) {
    const total = 1 + tableCl + blocks + l1Cl;
    const b = Math.ceil(total / rpb), t = Math.max(1, Math.ceil((b * 8) / cs));
    if (b === blocks && t === tableCl) break;
    blocks = b;
    tableCl = t;
  }
  const total = 1 + tableCl + blocks + l1Cl;
  const image = new Uint8Array(total * cs);
  const dv = new DataView(image.buffer);
  // Header (version 3, 104 bytes), then its extensions, then the backing file name.
  dv.setUint32(0, QCOW2_MAGIC);
  dv.setUint32(4, 3);
  dv.setUint32(20, cb);
  putU64(dv, 24, o.size);
  dv.setUint32(36, l1Size);
  putU64(dv, 40, (1 + tableCl + blocks) * cs);
  putU64(dv, 48, cs);
  dv.setUint32(56, tableCl);
  dv.setUint32(96, 4); // refcount_order: 16-bit refcounts
  dv.setUint32(100, V3_HEADER_LENGTH);
  let at = V3_HEADER_LENGTH;
  if (o.backing) {
    const name = new TextEncoder().encode(o.backing.name);
    const fmt = new TextEncoder().encode(o.backing.format);
    if (name.length === 0 || name.length > MAX_BACKING_NAME || o.backing.name.includes('\0')) {
      throw new RvisorError('USAGE', `backing file name '${o.backing.name}' must be 1..${MAX_BACKING_NAME} bytes`);
    }
    dv.setUint32(at, EXT_BACKING_FORMAT);
    dv.setUint32(at + 4, fmt.length);
    image.set(fmt, at + 8);
    at += 8 + Math.ceil(fmt.length / 8) * 8;
    at += 8; // end of extensions (type 0, length 0)
    if (at + name.length > cs) throw new RvisorError('USAGE', `backing file name '${o.backing.name}' does not fit the ${cs}-byte header cluster`);
    putU64(dv, 8, at);
    dv.setUint32(16, name.length);
    image.set(name, at);
  }
  // Refcount table entries and blocks: every cluster of the layout is used once.
  for (let b = 0; b < blocks; b++) putU64(dv, cs + b * 8, (1 + tableCl + b) * cs);
  for (let c = 0; c < total; c++) {
    const blk = image.subarray((1 + tableCl + Math.floor(c / rpb)) * cs);
    setRefIn(blk, c % rpb, refBits, 1);
  }
  const fd = createImageFile(path);
  try {
    pwriteFull(fd, image, 0);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    throw new RvisorError('DISK_OPEN', `cannot write '${path}': ${(e as Error).message}`);
  }
  fs.closeSync(fd);
}
