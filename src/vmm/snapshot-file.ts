// Snapshot files on the host (docs/snapshot-format.md): the Node side of src/snapshot/ — SHA-256
// and deflate from node:crypto and node:zlib, files read by position (a snapshot is never loaded
// whole), written to a temporary file that is fsynced and renamed into place (a reader sees the old
// file or the new one, never half of one), and the identity of boot files and disks.
import { diskFiles, openDisk } from '../host/disk/host-disk.js';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync, fsyncSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { RvisorError } from '../errors.js';
import { fsyncDir } from './atomic-file.js';
import type { HostMemory } from '../memory/host-memory.js';
import type { BoardState } from '../machine/board.js';
import { SnapshotReader, SnapshotWriter, type ByteSource, type SnapshotCodec } from '../snapshot/format.js';
import { captureMachine, type CaptureStats, type DiskIdentity, type FileIdentity, type SnapshotConfig, type SnapshotMeta } from '../snapshot/machine.js';

import { loadAllPages } from './lazy-pages.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Disks up to this size get a content hash in the snapshot. */
const HASH_DISKS_UP_TO = 64 * 1048576;

export const nodeCodec: SnapshotCodec = {
  sha256(parts) {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
  // Level 1: guest memory compresses about as well at level 1 as at 6, several times faster.
  deflate: (raw) => new Uint8Array(deflateRawSync(raw, { level: 1 })),
  inflate: (stored, rawLength) => new Uint8Array(inflateRawSync(stored, { maxOutputLength: Math.max(1, rawLength) })),
};

class FileSource implements ByteSource {
  readonly size: number;
  constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }
  read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n <= 0) throw new RvisorError('SNAPSHOT_CORRUPT', `short read at ${offset + done}`);
      done += n;
    }
    return buf;
  }
}

/** Content hashes of files by identity (device, inode, size, mtime, ctime in ns): a file is hashed
 *  again only when one of them changed — any write moves ctime, which users cannot set back — so a
 *  restore does not re-read the kernel and initrd it checked a moment ago. */
const hashCache = new Map<string, string>(); // boot files only: disks are hashed every time

function sha256File(path: string, cached = false): string {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const known = cached ? hashCache.get(key) : undefined;
    if (known !== undefined) return known;
    const h = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    const hex = h.digest('hex');
    if (hashCache.size > 256) hashCache.clear();
    hashCache.set(key, hex);
    return hex;
  } finally {
    closeSync(fd);
  }
}

export function fileIdentity(path: string | null): FileIdentity | null {
  if (path === null) return null;
  try {
    return { path, size: statSync(path).size, sha256: sha256File(path, true) };
  } catch (e) {
    throw new RvisorError('ENOENT_FILE', `${path}: ${(e as Error).message}`);
  }
}

export function diskIdentity(d: { path: string; readOnly: boolean; serial?: string; format?: 'raw' | 'qcow2' }): DiskIdentity {
  const st = statSync(d.path, { bigint: true });
  return {
    path: d.path, readOnly: d.readOnly, ...(d.serial !== undefined ? { serial: d.serial } : {}), ...(d.format !== undefined ? { format: d.format } : {}),
    size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), dev: st.dev.toString(), ino: st.ino.toString(),
    sha256: st.size <= BigInt(HASH_DISKS_UP_TO) ? sha256File(d.path) : null,
    ...backingIdentity(d),
  };
}

/** The stat identity of a qcow2 disk's backing chain (none for a raw disk). */
function backingIdentity(d: { path: string; format?: 'raw' | 'qcow2' }): Pick<DiskIdentity, 'backing'> {
  const disk = openDisk(d.path, { readOnly: true, ...(d.format ? { format: d.format } : {}) });
  try {
    const chain = diskFiles(disk).slice(1).map((f) => {
      const st = statSync(f.path, { bigint: true });
      return { path: f.path, size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), dev: st.dev.toString(), ino: st.ino.toString() };
    });
    return chain.length ? { backing: chain } : {};
  } finally {
    disk.close();
  }
}

/** Refuses (DISK_CHANGED) a disk that is not what the snapshot recorded, unless `force`; a
 *  missing disk is refused even then. Same file untouched (size, mtime, ctime, inode) passes;
 *  otherwise equal size and content hash pass (a copy); anything else changed. */
export function checkDisks(config: SnapshotConfig, what: string, force: boolean): void {
  for (const d of config.disks) {
    let st;
    try {
      st = statSync(d.path, { bigint: true });
    } catch {
      throw new RvisorError('ENOENT_FILE', `${what}: disk ${d.path} recorded in the snapshot does not exist`);
    }
    if (force) continue;
    if (st.size.toString() !== String(d.size)) {
      throw new RvisorError('DISK_CHANGED', `${what}: disk ${d.path} is ${st.size} bytes, ${d.size} when the snapshot was taken (force the restore to accept it)`);
    }
    const same = st.mtimeNs.toString() === d.mtimeNs && st.ctimeNs.toString() === d.ctimeNs && st.ino.toString() === d.ino && st.dev.toString() === d.dev;
    for (const b of d.backing ?? []) {
      let bs;
      try {
        bs = statSync(b.path, { bigint: true });
      } catch {
        throw new RvisorError('DISK_CHANGED', `${what}: disk ${d.path}'s backing file ${b.path} is gone (force the restore to accept it)`);
      }
      if (bs.size.toString() !== String(b.size) || bs.mtimeNs.toString() !== b.mtimeNs || bs.ino.toString() !== b.ino || bs.dev.toString() !== b.dev) {
        throw new RvisorError('DISK_CHANGED', `${what}: disk ${d.path}'s backing file ${b.path} changed since the snapshot was taken; the guest's cached view of it would be stale (force the restore to accept it)`);
      }
    }
    if (same) continue;
    if (d.sha256 !== null && sha256File(d.path) === d.sha256) continue;
    throw new RvisorError('DISK_CHANGED', `${what}: disk ${d.path} changed since the snapshot was taken ` +
      `(${d.sha256 !== null ? 'its content differs' : 'it was modified (mtime/ctime/inode)'}); the guest's cached view of it would be stale (force the restore to accept it)`);
  }
}

export interface SaveRequest {
  meta: Omit<SnapshotMeta, 'format' | 'rvisor' | 'created' | 'wallNs'>;
  config: SnapshotConfig;
  host: HostMemory;
  state: BoardState;
  /** Now in the timebase of state.clock. */
  nowMs: number;
}

export interface SaveResult extends CaptureStats {
  bytes: number;
}

/** Writes the snapshot to `path` atomically (temporary file in the same folder, fsync, rename). */
export function writeSnapshotFile(path: string, req: SaveRequest): SaveResult {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (e) {
    throw new RvisorError('ENOENT_FILE', `cannot write the snapshot ${path}: ${(e as Error).message}`);
  }
  try {
    const w = new SnapshotWriter({ write: (b) => { let done = 0; while (done < b.length) done += writeSync(fd, b, done, b.length - done); } }, nodeCodec);
    const now = Date.now();
    const meta: SnapshotMeta = { format: 1, rvisor: VERSION, created: new Date(now).toISOString(), wallNs: (BigInt(now) * 1000000n).toString(), ...req.meta };
    w.json('META', meta);
    w.json('CONF', req.config);
    // A lazily restored machine's pages still in its snapshot belong in this one too.
    loadAllPages(req.host, req.state.ram);
    const stats = captureMachine(w, req.host, req.state, req.nowMs);
    const bytes = w.finish();
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    fsyncDir(dir);
    return { ...stats, bytes };
  } catch (e) {
    try { closeSync(fd); } catch { /* closed */ }
    try { unlinkSync(tmp); } catch { /* gone */ }
    if (e instanceof RvisorError) throw e;
    throw new RvisorError('ENOENT_FILE', `cannot write the snapshot ${path}: ${(e as Error).message}`);
  }
}

export interface OpenSnapshot {
  reader: SnapshotReader;
  meta: SnapshotMeta;
  config: SnapshotConfig;
  /** The open file (a lazy restore keeps it open: close() only when the machine is done with it). */
  fd: number;
  path: string;
  close(): void;
}

/** Opens a snapshot and checks its structure, META and CONF (page contents are checked as they
 *  are restored). Missing file: ENOENT_FILE; not a snapshot: SNAPSHOT_FOREIGN; newer format:
 *  SNAPSHOT_VERSION; anything damaged: SNAPSHOT_CORRUPT. */
export function openSnapshotFile(path: string): OpenSnapshot {
  let fd: number;
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RvisorError('ENOENT_FILE', `snapshot ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  try {
    const reader = new SnapshotReader(new FileSource(fd), nodeCodec, `snapshot ${path}`);
    const meta = reader.json<SnapshotMeta>(reader.find('META'));
    const config = reader.json<SnapshotConfig>(reader.find('CONF'));
    const bad = (m: string) => new RvisorError('SNAPSHOT_CORRUPT', `snapshot ${path}: ${m}`);
    if (meta?.format !== 1 || typeof meta.wallNs !== 'string' || !/^\d+$/.test(meta.wallNs) || typeof meta.rvisor !== 'string') throw bad('the META section is malformed');
    const ok = config && Number.isInteger(config.vcpus) && config.vcpus >= 1 && config.vcpus <= 8 &&
      Number.isInteger(config.memBytes) && config.memBytes > 0 && config.memBytes % 4096 === 0 && typeof config.append === 'string' &&
      Array.isArray(config.disks) && config.disks.every((d) => typeof d?.path === 'string' && typeof d.readOnly === 'boolean');
    if (!ok) throw bad('the CONF section is malformed');
    return { reader, meta, config, fd, path, close: () => closeSync(fd) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** What a restore is asked to run on: the snapshot's configuration must be this machine. */
export interface MachineWant {
  vcpus: number;
  memBytes: number;
  disks: { path: string; readOnly: boolean }[];
}

/** SNAPSHOT_MISMATCH naming the first difference between the snapshot's machine and `want`. */
export function checkMachine(config: SnapshotConfig, want: MachineWant, what: string): void {
  const diff: string[] = [];
  if (config.vcpus !== want.vcpus) diff.push(`${config.vcpus} vCPUs, not ${want.vcpus}`);
  if (config.memBytes !== want.memBytes) diff.push(`${config.memBytes / 1048576} MiB of RAM, not ${want.memBytes / 1048576} MiB`);
  const a = config.disks.map((d) => `${d.path}${d.readOnly ? ',ro' : ''}`).join(' ');
  const b = want.disks.map((d) => `${d.path}${d.readOnly ? ',ro' : ''}`).join(' ');
  if (a !== b) diff.push(`disks [${a}], not [${b}]`);
  if (diff.length) throw new RvisorError('SNAPSHOT_MISMATCH', `${what} is of another machine: it has ${diff.join('; ')}`);
}

/** Boot files that changed since the save: the running guest does not care (its kernel is in
 *  RAM), but its next reboot would boot the new files. Refused unless `force`. */
export function checkBootFiles(config: SnapshotConfig, what: string, force: boolean): void {
  for (const [k, f] of [['kernel', config.kernel], ['initrd', config.initrd], ['bios', config.bios]] as const) {
    if (!f) continue;
    let now: FileIdentity | null;
    try {
      now = fileIdentity(f.path);
    } catch {
      throw new RvisorError('ENOENT_FILE', `${what}: the ${k} ${f.path} it was booted from does not exist (a reboot needs it)`);
    }
    if (!force && now!.sha256 !== f.sha256) {
      throw new RvisorError('SNAPSHOT_MISMATCH', `${what}: the ${k} ${f.path} changed since the save (a reboot would boot another one; force the restore to accept it)`);
    }
  }
}
