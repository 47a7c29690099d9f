// A VM's disk on the host, whatever its image format: raw files (raw-file.ts) and qcow2 images
// with backing chains (qcow2.ts). openDisk picks the format (given, or probed from the file's
// first bytes), opens the backing chain read-only, and refuses what cannot be used with a clear
// RvisorError before the VM starts; nothing is created or modified by opening.
import * as fs from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { RvisorError } from '../../errors.js';
import type { BlockBackend } from '../../devices/virtio/blk/backend.js';
import { openImageFile, RawFileDisk, type SharedRawDisk } from './raw-file.js';
import { Qcow2Disk, type SharedQcow2Disk } from './qcow2.js';
import { isQcow2Magic, readHeader, writeBackingName } from './qcow2-format.js';
import type { WriteLog } from './write-log.js';

export type DiskFormat = 'raw' | 'qcow2';
export const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'qcow2'];

/** The longest backing chain followed (QEMU has no fixed limit; a loop is refused separately). */
export const MAX_CHAIN = 16;

export interface HostDisk extends BlockBackend {
  readonly format: DiskFormat;
  readonly path: string;
  /** The file's identity on the host (st_dev, st_ino): two paths are the same file when equal. */
  readonly dev: bigint;
  readonly ino: bigint;
  /** The image this one reads unallocated clusters from (opened read-only), or null. */
  readonly backingDisk: HostDisk | null;
  /** A writable disk's write log, by guest offset. */
  readonly writeLog: WriteLog | undefined;
  readonly dirty: Int32Array | undefined;
  /** Last I/O error seen (diagnostics): the guest only sees VIRTIO_BLK_S_IOERR. */
  lastError: Error | undefined;
  /** What another thread of this process needs to use the same open files. */
  share(): SharedDisk;
  takeDirty(fn: (chunk: number) => void): void;
  /** Closes the file and its backing chain (only where they were opened, not in another thread). */
  close(): void;
}

export type SharedDisk = SharedRawDisk | SharedQcow2Disk;

export interface DiskOptions {
  readOnly?: boolean;
  /** The image format; probed from the file when not given. */
  format?: DiskFormat;
}

/** Every file a disk reads: itself, then its backing chain. */
export function diskFiles(d: HostDisk): HostDisk[] {
  const out: HostDisk[] = [];
  for (let x: HostDisk | null = d; x; x = x.backingDisk) out.push(x);
  return out;
}

/** Opens an existing disk image. Throws RvisorError; nothing is created or modified. */
export function openDisk(path: string, options: DiskOptions = {}): HostDisk {
  return openChain(path, options.readOnly === true, options.format, []);
}

function openChain(path: string, readOnly: boolean, format: DiskFormat | undefined, seen: { dev: bigint; ino: bigint; path: string }[]): HostDisk {
  if (format !== undefined && !DISK_FORMATS.includes(format)) {
    throw new RvisorError('BAD_IMAGE', `disk image '${path}': unknown format "${String(format)}" (raw or qcow2)`);
  }
  const { fd, st } = openImageFile(path, readOnly);
  let backing: HostDisk | null = null;
  try {
    const loop = seen.find((s) => s.dev === st.dev && s.ino === st.ino);
    if (loop) throw new RvisorError('BAD_IMAGE', `disk image '${seen[0]!.path}': its backing chain comes back to '${loop.path}' (a loop)`);
    if (seen.length > MAX_CHAIN) throw new RvisorError('BAD_IMAGE', `disk image '${seen[0]!.path}': its backing chain is longer than ${MAX_CHAIN} images`);
    const head = new Uint8Array(4);
    fs.readSync(fd, head, 0, 4, 0);
    const looksQcow2 = isQcow2Magic(head);
    const fmt = format ?? (looksQcow2 ? 'qcow2' : 'raw');
    if (fmt === 'raw') return RawFileDisk.adopt(path, fd, st, readOnly, format === undefined);
    const h = readHeader(fd, path, Number(st.size));
    Qcow2Disk.checkUsable(path, h, readOnly);
    if (h.backingName !== null) {
      const bpath = isAbsolute(h.backingName) ? h.backingName : resolve(dirname(path), h.backingName);
      const bfmt = h.backingFormat ?? undefined;
      if (bfmt !== undefined && !DISK_FORMATS.includes(bfmt as DiskFormat)) {
        throw new RvisorError('BAD_IMAGE', `qcow2 image '${path}': its backing file '${h.backingName}' has format "${bfmt}", which rvisor does not read`);
      }
      try {
        // A backing file without a recorded format is probed, as QEMU does for images made
        // without -F (`rvisor img create` always records it); a backing file is only ever read.
        backing = openChain(bpath, true, bfmt as DiskFormat | undefined, [...seen, { dev: st.dev, ino: st.ino, path }]);
      } catch (e) {
        if (e instanceof RvisorError && e.code === 'ENOENT_FILE' && !fs.existsSync(bpath)) {
          throw new RvisorError('ENOENT_FILE', `qcow2 image '${path}': its backing file '${bpath}' does not exist`, { cause: e });
        }
        throw e;
      }
    }
    const disk = new Qcow2Disk(path, fd, h, st, readOnly, backing);
    disk.clearAutoclear();
    return disk;
  } catch (e) {
    backing?.close();
    fs.closeSync(fd);
    throw e;
  }
}

/** The disk another thread opened (see HostDisk.share); never close() it. */
export function diskFromShared(s: SharedDisk): HostDisk {
  if (s.format === 'qcow2') {
    const st = fs.fstatSync(s.fd, { bigint: true });
    const h = readHeader(s.fd, s.path, Number(st.size));
    return new Qcow2Disk(s.path, s.fd, h, st, s.readOnly, s.backing ? diskFromShared(s.backing) : null, s.dirty);
  }
  return RawFileDisk.fromShared(s);
}

/** Opens every disk of a VM, in order, refusing one file attached twice (by st_dev and st_ino, so
 *  symbolic and hard links count as the same disk) and a disk that is in another's backing chain
 *  when either is writable: the guest would see disks sharing blocks behind each other's caches.
 *  On any error the ones opened are closed. */
export function openDisks(specs: readonly { path: string; readOnly?: boolean; format?: DiskFormat }[]): HostDisk[] {
  const disks: HostDisk[] = [];
  try {
    for (const spec of specs) {
      const d = openDisk(spec.path, { readOnly: spec.readOnly === true, ...(spec.format ? { format: spec.format } : {}) });
      disks.push(d);
      const first = disks.find((o) => o !== d && o.dev === d.dev && o.ino === d.ino);
      if (first) {
        const same = first.path === d.path ? '' : ` (the same file as '${first.path}')`;
        throw new RvisorError('DISK_OPEN', `disk image '${d.path}'${same} is attached twice`);
      }
      for (const o of disks) {
        if (o === d) continue;
        for (const [a, b] of [[o, d], [d, o]] as const) {
          const under = diskFiles(a).slice(1).find((f) => f.dev === b.dev && f.ino === b.ino);
          if (under && (!a.readOnly || !b.readOnly)) {
            throw new RvisorError('DISK_OPEN', `disk image '${b.path}' is the backing file of the attached disk '${a.path}': it may be attached beside it only when both are read-only`);
          }
        }
      }
    }
    return disks;
  } catch (e) {
    for (const d of disks) d.close();
    throw e;
  }
}

/** Copies a disk image file to `dst` (reflinked where the file system can, as copyFileSync with
 *  `flags`); a qcow2 copy whose backing file name is relative gets the absolute name of the same
 *  backing file, so the copy reads the original's backing file wherever it is placed. */
export function copyDiskFile(src: string, dst: string, flags: number): void {
  fs.copyFileSync(src, dst, flags);
  const fd = fs.openSync(dst, 'r+');
  try {
    const head = new Uint8Array(4);
    fs.readSync(fd, head, 0, 4, 0);
    if (!isQcow2Magic(head)) return;
    const h = readHeader(fd, dst, fs.fstatSync(fd).size);
    if (h.backingName === null || isAbsolute(h.backingName)) return;
    writeBackingName(fd, dst, h, resolve(dirname(src), h.backingName));
  } finally {
    fs.closeSync(fd);
  }
}
