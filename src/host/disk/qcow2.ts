// qcow2 disk images (QEMU's docs/interop/qcow2.txt): a virtio-blk backend that maps guest offsets
// through the two-level cluster table (Cluster mapping), reads unallocated clusters from the
// backing file (or as zeros), decompresses compressed clusters (zlib/deflate), and on a write
// allocates clusters at the end of the file with their refcounts (Host cluster management).
//
// No metadata is cached: the L1 and L2 entries of a request and the refcounts of an allocation
// are read from the file each time (the host's page cache keeps them), so the instances of one
// image opened in several threads (serve's pCPU workers, the migration sender) share nothing but
// the file descriptor and can never act on a stale table. One thread writes at a time (a VM runs
// on one pCPU at a time); a reader in another thread may see an allocation half done and then
// reads the old data of that chunk, whose write log bit is set once the write completes.
//
// Ordering on allocation: the refcount, then the data cluster, then the L2 entry (then the L1
// entry for a new L2 table): a process killed between two steps leaks a cluster (what
// `qemu-img check -r leaks` repairs), it never corrupts the image. The dirty bit (lazy
// refcounts) is never set. Unsupported on open, with a clear error: encryption, external data
// files, extended L2 entries, zstd compression; images with internal snapshots, or marked dirty
// or corrupt, open read-only only.
import { closeQuietly, syncImage } from './image-file.js';
import * as fs from 'node:fs';
import { inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { RvisorError } from '../../errors.js';
import type { HostDisk, SharedDisk } from './host-disk.js';
import { WriteLog } from './write-log.js';
import {
  HDR_AUTOCLEAR, HDR_REFTABLE_OFFSET, INCOMPAT_CORRUPT, INCOMPAT_DIRTY, preadFull, putU64, pwriteFull, readHeader, u64,
  type Qcow2Header,
} from './qcow2-format.js';

export interface SharedQcow2Disk {
  format: 'qcow2';
  path: string;
  fd: number;
  readOnly: boolean;
  dirty?: SharedArrayBuffer;
  backing: SharedDisk | null;
}

/** What a cluster of the virtual disk is (Cluster mapping, Standard / Compressed Cluster Descriptor). */
const enum Kind { Unallocated, Zero, Normal, Compressed }

/** Standard descriptor host offset: bits 9-55 (bits 56-61 reserved, bit 62 compressed, 63 copied). */
export function stdOffset(hi: number, lo: number): number {
  return (hi & 0x00ffffff) * 0x100000000 + ((lo & 0xfffffe00) >>> 0);
}

export class Qcow2Disk implements HostDisk {
  readonly format = 'qcow2' as const;
  readonly path: string;
  readonly readOnly: boolean;
  readonly size: number;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly header: Qcow2Header;
  /** The image unallocated clusters are read from (opened read-only), or null. */
  readonly backingDisk: HostDisk | null;
  lastError: Error | undefined;
  readonly writeLog: WriteLog | undefined;
  private fd: number | undefined;
  private readonly cs: number;
  private readonly cb: number;
  private readonly l2Bits: number;
  /** Refcount entries per refcount block. */
  private readonly rpb: number;
  private readonly refBits: number;

  constructor(path: string, fd: number, header: Qcow2Header, st: fs.BigIntStats, readOnly: boolean, backing: HostDisk | null, dirty?: SharedArrayBuffer) {
    this.path = path;
    this.fd = fd;
    this.header = header;
    this.readOnly = readOnly;
    this.size = header.size;
    this.dev = st.dev;
    this.ino = st.ino;
    this.backingDisk = backing;
    this.cb = header.clusterBits;
    this.cs = 2 ** this.cb;
    this.l2Bits = this.cb - 3;
    this.refBits = 2 ** header.refcountOrder;
    this.rpb = (this.cs * 8) / this.refBits;
    if (!readOnly) this.writeLog = new WriteLog(this.size, dirty);
  }

  get dirty(): Int32Array | undefined {
    return this.writeLog?.bits;
  }

  /** Checks an opened qcow2 file can be used as asked; the backing chain is opened by the caller. */
  static checkUsable(path: string, h: Qcow2Header, readOnly: boolean): void {
    if (readOnly) return;
    const only = (why: string): never => {
      throw new RvisorError('DISK_READONLY', `qcow2 image '${path}' ${why}: it can be attached read-only only`);
    };
    if (h.nbSnapshots > 0) only(`has ${h.nbSnapshots} internal snapshot(s), which rvisor does not maintain`);
    if (h.incompatible & INCOMPAT_DIRTY) only('is marked dirty (lazy refcounts not flushed); repair it with `qemu-img check -r all` first, or');
    if (h.incompatible & INCOMPAT_CORRUPT) only('is marked corrupt; repair it with `qemu-img check -r all` first, or');
  }

  share(): SharedQcow2Disk {
    if (this.fd === undefined) throw new RvisorError('INTERNAL', `disk image '${this.path}' is closed`);
    return {
      format: 'qcow2', path: this.path, fd: this.fd, readOnly: this.readOnly, backing: this.backingDisk ? this.backingDisk.share() : null,
      ...(this.writeLog ? { dirty: this.writeLog.buffer } : {}),
    };
  }

  takeDirty(fn: (chunk: number) => void): void {
    this.writeLog?.take(fn);
  }

  /** Clears the autoclear feature bits a writer that does not know them must clear (Header,
   *  autoclear_features: e.g. persistent bitmaps, which rvisor's writes would make stale). */
  clearAutoclear(): void {
    if (this.readOnly || this.header.version < 3 || this.header.autoclear === 0) return;
    const z = new Uint8Array(8);
    pwriteFull(this.fd!, z, HDR_AUTOCLEAR);
    fs.fsyncSync(this.fd!);
    this.header.autoclear = 0;
  }

  // ---- reading ---------------------------------------------------------------------------------

  private l1Entry(i: number): { hi: number; lo: number } {
    const b = new Uint8Array(8);
    if (preadFull(this.fd!, b, this.header.l1Offset + i * 8) !== 8) return { hi: 0, lo: 0 };
    const dv = new DataView(b.buffer);
    return { hi: dv.getUint32(0), lo: dv.getUint32(4) };
  }

  /** The L2 table's offset for virtual cluster vc, or 0. */
  private l2TableOf(vc: number): number {
    const e = this.l1Entry(Math.floor(vc / 2 ** this.l2Bits));
    return stdOffset(e.hi, e.lo);
  }

  /** Reads `count` L2 entries starting at virtual cluster vc (all in one L2 table). */
  private l2Entries(table: number, vc: number, count: number): DataView {
    const b = new Uint8Array(count * 8);
    if (table !== 0) preadFull(this.fd!, b, table + (vc % 2 ** this.l2Bits) * 8);
    return new DataView(b.buffer);
  }

  private kindOf(hi: number, lo: number): Kind {
    if (hi & 0x40000000) return Kind.Compressed;
    if (lo & 1) return Kind.Zero;
    return stdOffset(hi, lo) === 0 ? Kind.Unallocated : Kind.Normal;
  }

  read(offset: number, buf: Uint8Array): boolean {
    if (this.fd === undefined || offset < 0 || offset + buf.length > this.size) return false;
    try {
      this.readRange(offset, buf);
      return true;
    } catch (e) {
      this.lastError = e as Error;
      return false;
    }
  }

  private readRange(offset: number, buf: Uint8Array): void {
    const cs = this.cs, perTable = 2 ** this.l2Bits;
    let done = 0;
    while (done < buf.length) {
      const vo = offset + done;
      const vc = Math.floor(vo / cs);
      // The clusters of this request inside one L2 table.
      const inTable = perTable - (vc % perTable);
      const lastVc = Math.floor((offset + buf.length - 1) / cs);
      const count = Math.min(inTable, lastVc - vc + 1);
      const table = this.l2TableOf(vc);
      const l2 = this.l2Entries(table, vc, count);
      let i = 0;
      while (i < count) {
        const hi = l2.getUint32(i * 8), lo = l2.getUint32(i * 8 + 4);
        const kind = this.kindOf(hi, lo);
        const start = offset + done;
        const inCl = start % cs;
        // Adjacent normal clusters contiguous in the file are read with one pread.
        let n = 1;
        if (kind === Kind.Normal) {
          const host = stdOffset(hi, lo);
          while (i + n < count) {
            const h2 = l2.getUint32((i + n) * 8), l2lo = l2.getUint32((i + n) * 8 + 4);
            if (this.kindOf(h2, l2lo) !== Kind.Normal || stdOffset(h2, l2lo) !== host + n * cs) break;
            n++;
          }
        }
        const len = Math.min(n * cs - inCl, buf.length - done);
        const part = buf.subarray(done, done + len);
        switch (kind) {
          case Kind.Normal: {
            const got = preadFull(this.fd!, part, stdOffset(hi, lo) + inCl);
            part.fill(0, got); // a cluster past the end of the file reads as zeros, as in QEMU
            break;
          }
          case Kind.Zero:
            part.fill(0);
            break;
          case Kind.Unallocated:
            this.readBacking(start, part);
            break;
          case Kind.Compressed:
            part.set(this.decompress(hi, lo, vc + i).subarray(inCl, inCl + len));
            break;
        }
        done += len;
        i += n;
      }
    }
  }

  /** Unallocated clusters: the backing file's bytes (zeros past its end), or zeros. */
  private readBacking(offset: number, part: Uint8Array): void {
    const b = this.backingDisk;
    const have = b ? Math.max(0, Math.min(part.length, b.size - offset)) : 0;
    if (have > 0 && !b!.read(offset, part.subarray(0, have))) {
      throw new Error(`cannot read backing file '${b!.path}' at ${offset}: ${b!.lastError?.message ?? 'I/O error'}`);
    }
    part.fill(0, have);
  }

  /** A compressed cluster's bytes (Compressed Clusters Descriptor: x = 62 - (cluster_bits - 8)
   *  bits of host offset, then the number of additional 512-byte sectors). */
  private decompress(hi: number, lo: number, vc: number): Uint8Array {
    const d = ((BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo >>> 0));
    const x = BigInt(62 - (this.cb - 8));
    const host = Number(d & ((1n << x) - 1n));
    const sectors = Number(d >> x);
    const len = (sectors + 1) * 512 - (host % 512);
    const raw = new Uint8Array(len);
    const got = preadFull(this.fd!, raw, host);
    let out: Buffer;
    try {
      out = inflateRawSync(raw.subarray(0, got), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: this.cs });
    } catch (e) {
      throw new Error(`compressed cluster ${vc} at ${host} cannot be decompressed: ${(e as Error).message}`);
    }
    if (out.length < this.cs) throw new Error(`compressed cluster ${vc} at ${host} decompresses to ${out.length} bytes, not ${this.cs}`);
    return out;
  }

  // ---- writing ---------------------------------------------------------------------------------

  write(offset: number, buf: Uint8Array): boolean {
    if (this.fd === undefined || this.readOnly || offset < 0 || offset + buf.length > this.size) return false;
    try {
      const cs = this.cs;
      let done = 0;
      while (done < buf.length) {
        const vo = offset + done;
        const vc = Math.floor(vo / cs);
        const inCl = vo % cs;
        const len = Math.min(cs - inCl, buf.length - done);
        this.writeCluster(vc, inCl, buf.subarray(done, done + len));
        done += len;
      }
      return true;
    } catch (e) {
      this.lastError = e as Error;
      return false;
    } finally {
      if (buf.length) this.writeLog!.log(offset, buf.length);
    }
  }

  private writeCluster(vc: number, inCl: number, data: Uint8Array): void {
    const fd = this.fd!, cs = this.cs;
    const l1i = Math.floor(vc / 2 ** this.l2Bits);
    let table = this.l2Table(l1i);
    const l2 = this.l2Entries(table, vc, 1);
    const hi = l2.getUint32(0), lo = l2.getUint32(4);
    const kind = this.kindOf(hi, lo);
    const host = kind === Kind.Compressed ? 0 : stdOffset(hi, lo);
    const copied = (hi & 0x80000000) !== 0 || (host !== 0 && this.refcount(host / cs) === 1);
    if (kind === Kind.Normal && copied) {
      pwriteFull(fd, data, host + inCl);
      if (!(hi & 0x80000000)) this.setL2(table, vc, host);
      return;
    }
    // Copy-on-write into a cluster of its own: the old content (backing, compressed, zeros or a
    // shared cluster) fills what this write does not cover.
    const full = new Uint8Array(cs);
    if (data.length < cs && kind !== Kind.Zero) this.readRange(vc * cs, full);
    full.set(data, inCl);
    // A preallocated zero cluster of refcount 1 is reused in place.
    const reuse = kind === Kind.Zero && host !== 0 && copied;
    const target = reuse ? host : this.allocate(1);
    pwriteFull(fd, full, target);
    if (table === 0) table = this.newL2Table(l1i);
    this.setL2(table, vc, target);
    if (!reuse) this.release(kind, hi, lo, host);
  }

  /** virtio-blk WRITE_ZEROES: whole clusters become zero clusters (version 3: the L2 entry's
   *  bit 0, Standard Cluster Descriptor) instead of clusters of written zeros; an allocated cluster
   *  of refcount 1 stays allocated as a preallocated zero cluster (a later write reuses it in
   *  place); partial clusters, and every cluster of a version 2 image, are written. */
  writeZeroes(offset: number, len: number): boolean {
    if (this.fd === undefined || this.readOnly || offset < 0 || offset + len > this.size) return false;
    const cs = this.cs;
    try {
      let done = 0;
      while (done < len) {
        const vo = offset + done;
        const vc = Math.floor(vo / cs);
        const inCl = vo % cs;
        const n = Math.min(cs - inCl, len - done);
        if (n < cs || this.header.version < 3) this.writeCluster(vc, inCl, new Uint8Array(n));
        else this.zeroCluster(vc);
        done += n;
      }
      return true;
    } catch (e) {
      this.lastError = e as Error;
      return false;
    } finally {
      if (len) this.writeLog!.log(offset, len);
    }
  }

  private zeroCluster(vc: number): void {
    const l1i = Math.floor(vc / 2 ** this.l2Bits);
    let table = this.l2Table(l1i);
    const l2 = this.l2Entries(table, vc, 1);
    const hi = l2.getUint32(0), lo = l2.getUint32(4);
    const kind = this.kindOf(hi, lo);
    if (kind === Kind.Unallocated && !this.backingDisk) return; // reads as zeros already
    if (kind === Kind.Zero) return;
    const host = kind === Kind.Compressed ? 0 : stdOffset(hi, lo);
    const keep = kind === Kind.Normal && ((hi & 0x80000000) !== 0 || this.refcount(host / this.cs) === 1);
    if (table === 0) table = this.newL2Table(l1i);
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    if (keep) {
      putU64(dv, 0, host);
      dv.setUint32(0, dv.getUint32(0) | 0x80000000);
    }
    dv.setUint32(4, dv.getUint32(4) | 1);
    pwriteFull(this.fd!, b, table + (vc % 2 ** this.l2Bits) * 8);
    if (!keep) this.release(kind, hi, lo, host);
  }

  /** The L2 table of L1 index l1i (0: none yet). A table shared with an internal snapshot is
   *  never written (images with snapshots open read-only). */
  private l2Table(l1i: number): number {
    const e = this.l1Entry(l1i);
    const t = stdOffset(e.hi, e.lo);
    if (t !== 0 && !(e.hi & 0x80000000)) {
      if (this.refcount(t / this.cs) !== 1) throw new Error(`L2 table at ${t} is shared (refcount above 1): the image has snapshot data rvisor does not write`);
      this.setL1(l1i, t); // refcount 1: the entry gets the COPIED flag it should have had
    }
    return t;
  }

  private newL2Table(l1i: number): number {
    const t = this.allocate(1);
    pwriteFull(this.fd!, new Uint8Array(this.cs), t);
    this.setL1(l1i, t);
    return t;
  }

  private setL1(l1i: number, t: number): void {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    putU64(dv, 0, t);
    dv.setUint32(0, dv.getUint32(0) | 0x80000000);
    pwriteFull(this.fd!, b, this.header.l1Offset + l1i * 8);
  }

  private setL2(table: number, vc: number, host: number): void {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    putU64(dv, 0, host);
    dv.setUint32(0, dv.getUint32(0) | 0x80000000); // COPIED: refcount is exactly 1
    pwriteFull(this.fd!, b, table + (vc % 2 ** this.l2Bits) * 8);
  }

  /** Drops the reference the old L2 entry held (a cluster replaced by copy-on-write). */
  private release(kind: Kind, hi: number, lo: number, host: number): void {
    if (kind === Kind.Normal || (kind === Kind.Zero && host !== 0)) {
      this.decref(host / this.cs);
    } else if (kind === Kind.Compressed) {
      // Compressed data is counted once per host cluster it touches (Host cluster management).
      const d = ((BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo >>> 0));
      const x = BigInt(62 - (this.cb - 8));
      const start = Number(d & ((1n << x) - 1n));
      const end = start + (Number(d >> x) + 1) * 512 - (start % 512) - 1;
      for (let c = Math.floor(start / this.cs); c <= Math.floor(end / this.cs); c++) this.decref(c);
    }
  }

  // ---- refcounts and allocation (Host cluster management) ---------------------------------------

  private refTable(): { offset: number; entries: number } {
    const b = new Uint8Array(12);
    preadFull(this.fd!, b, HDR_REFTABLE_OFFSET);
    const dv = new DataView(b.buffer);
    return { offset: u64(dv, 0), entries: (dv.getUint32(8) * this.cs) / 8 };
  }

  /** The refcount block covering cluster c (0: none). */
  private refBlock(c: number, rt = this.refTable()): number {
    const ri = Math.floor(c / this.rpb);
    if (ri >= rt.entries) return 0;
    const b = new Uint8Array(8);
    preadFull(this.fd!, b, rt.offset + ri * 8);
    const dv = new DataView(b.buffer);
    return stdOffset(dv.getUint32(0) & 0x00ffffff, dv.getUint32(4));
  }

  refcount(c: number): number {
    const blk = this.refBlock(c);
    if (blk === 0) return 0;
    return getRef(this.fd!, blk, c % this.rpb, this.refBits);
  }

  private setRefcount(c: number, v: number): void {
    const blk = this.refBlock(c);
    if (blk === 0) throw new Error(`cluster ${c} has no refcount block`);
    if (v >= 2 ** this.refBits) throw new Error(`refcount of cluster ${c} would overflow ${this.refBits} bits`);
    setRef(this.fd!, blk, c % this.rpb, this.refBits, v);
  }

  private decref(c: number): void {
    const r = this.refcount(c);
    if (r === 0) throw new Error(`cluster ${c} is referenced but has refcount 0 (the image is corrupt)`);
    this.setRefcount(c, r - 1);
  }

  private fileEnd(): number {
    const size = fs.fstatSync(this.fd!).size;
    return Math.ceil(size / this.cs) * this.cs;
  }

  /** Allocates n contiguous clusters at the end of the file with refcount 1, adding refcount
   *  blocks (and growing the refcount table) first where the new clusters have none. The file is
   *  extended to cover them before this returns, so the next allocation comes after them. */
  allocate(n: number): number {
    const cs = this.cs;
    for (let guard = 0; ; guard++) {
      if (guard > 64) throw new Error('cluster allocation does not converge');
      const start = this.fileEnd();
      const rt = this.refTable();
      let missing = -1;
      for (let c = start / cs; c < start / cs + n; c++) {
        if (this.refBlock(c, rt) === 0) {
          missing = c;
          break;
        }
      }
      if (missing < 0) {
        fs.ftruncateSync(this.fd!, start + n * cs);
        for (let c = start / cs; c < start / cs + n; c++) this.setRefcount(c, 1);
        return start;
      }
      this.addRefBlock(Math.floor(missing / this.rpb), rt);
    }
  }

  /** Places a new refcount block for range ri at the end of the file. */
  private addRefBlock(ri: number, rt: { offset: number; entries: number }): void {
    if (ri >= rt.entries) {
      this.growRefTable(ri + 1, rt);
      return;
    }
    const cs = this.cs;
    const at = this.fileEnd();
    const ac = at / cs;
    const blk = new Uint8Array(cs);
    const self = Math.floor(ac / this.rpb) === ri;
    if (self) setRefIn(blk, ac % this.rpb, this.refBits, 1);
    pwriteFull(this.fd!, blk, at);
    // Not self-covered: the block's own cluster lies in a range that already has a block (it is
    // the first cluster past the end, and the first one without a block is past it).
    if (!self) this.setRefcount(ac, 1);
    const b = new Uint8Array(8);
    putU64(new DataView(b.buffer), 0, at);
    pwriteFull(this.fd!, b, rt.offset + ri * 8);
  }

  /** Moves the refcount table to the end of the file with room for `need` entries, together with
   *  the refcount blocks its own clusters need; then frees the old table. */
  private growRefTable(need: number, rt: { offset: number; entries: number }): void {
    const cs = this.cs, fd = this.fd!;
    const at = this.fileEnd();
    const ac = at / cs;
    const perCl = cs / 8;
    let entries = Math.max(need, rt.entries * 2);
    let tableCl = 0, blocks: number[] = [];
    for (let guard = 0; ; guard++) {
      if (guard > 64) throw new Error('refcount table growth does not converge');
      tableCl = Math.ceil(entries / perCl);
      const total = tableCl + blocks.length;
      const want: number[] = [];
      for (let c = ac; c < ac + total; c++) {
        const ri = Math.floor(c / this.rpb);
        if ((ri >= rt.entries || this.refBlock(c, rt) === 0) && !want.includes(ri)) want.push(ri);
      }
      const maxRi = Math.max(need - 1, ...want);
      if (want.length === blocks.length && maxRi < entries) {
        blocks = want;
        break;
      }
      blocks = want;
      entries = Math.max(entries, maxRi + 1);
    }
    const total = tableCl + blocks.length;
    // New blocks sit right after the new table and count every new cluster in their range.
    const table = new Uint8Array(tableCl * cs);
    const old = new Uint8Array(rt.entries * 8);
    preadFull(fd, old, rt.offset);
    table.set(old);
    const tdv = new DataView(table.buffer);
    blocks.forEach((ri, k) => {
      const blk = new Uint8Array(cs);
      for (let c = ac; c < ac + total; c++) if (Math.floor(c / this.rpb) === ri) setRefIn(blk, c % this.rpb, this.refBits, 1);
      pwriteFull(fd, blk, at + (tableCl + k) * cs);
      putU64(tdv, ri * 8, at + (tableCl + k) * cs);
    });
    pwriteFull(fd, table, at);
    // New clusters in ranges that already had a block are counted there.
    for (let c = ac; c < ac + total; c++) {
      if (!blocks.includes(Math.floor(c / this.rpb))) this.setRefcount(c, 1);
    }
    fs.fsyncSync(fd);
    const h = new Uint8Array(12);
    const hv = new DataView(h.buffer);
    putU64(hv, 0, at);
    hv.setUint32(8, tableCl);
    pwriteFull(fd, h, HDR_REFTABLE_OFFSET);
    fs.fsyncSync(fd);
    this.header.refTableOffset = at;
    this.header.refTableClusters = tableCl;
    for (let c = rt.offset / cs; c < rt.offset / cs + (rt.entries * 8) / cs; c++) this.decref(c);
  }

  flush(): boolean {
    if (this.fd === undefined) return false;
    if (this.readOnly) return true;
    const err = syncImage(this.fd);
    if (err) this.lastError = err;
    return err === undefined;
  }

  /** Advisory (virtio 1.2 §5.2.6.2): clusters stay allocated; the guest must not rely on the
   *  discarded contents either way. */
  discard(_offset: number, _len: number): boolean {
    return this.fd !== undefined && !this.readOnly;
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeQuietly(fd);
    this.backingDisk?.close();
  }
}

/** Refcount entry i of the block at `blk` (width `bits`, big-endian, Host cluster management). */
function getRef(fd: number, blk: number, i: number, bits: number): number {
  if (bits >= 8) {
    const n = bits / 8;
    const b = new Uint8Array(n);
    preadFull(fd, b, blk + i * n);
    let v = 0;
    for (const x of b) v = v * 256 + x;
    return v;
  }
  const b = new Uint8Array(1);
  preadFull(fd, b, blk + Math.floor((i * bits) / 8));
  return (b[0]! >> ((i * bits) % 8)) & ((1 << bits) - 1);
}

function setRef(fd: number, blk: number, i: number, bits: number, v: number): void {
  if (bits >= 8) {
    const n = bits / 8;
    const b = new Uint8Array(n);
    setRefIn(b, 0, bits, v);
    pwriteFull(fd, b, blk + i * n);
    return;
  }
  const at = blk + Math.floor((i * bits) / 8);
  const b = new Uint8Array(1);
  preadFull(fd, b, at);
  const sh = (i * bits) % 8, mask = ((1 << bits) - 1) << sh;
  b[0] = (b[0]! & ~mask) | ((v << sh) & mask);
  pwriteFull(fd, b, at);
}

/** Sets entry i of an in-memory refcount block. Sub-byte refcounts fill each byte from its
 *  least significant bit (as QEMU reads them). */
export function setRefIn(blk: Uint8Array, i: number, bits: number, v: number): void {
  if (bits >= 8) {
    const n = bits / 8;
    let x = v;
    for (let k = n - 1; k >= 0; k--) {
      blk[i * n + k] = x % 256;
      x = Math.floor(x / 256);
    }
    return;
  }
  const at = Math.floor((i * bits) / 8), sh = (i * bits) % 8, mask = ((1 << bits) - 1) << sh;
  blk[at] = (blk[at]! & ~mask) | ((v << sh) & mask);
}

export function getRefIn(blk: Uint8Array, i: number, bits: number): number {
  if (bits >= 8) {
    const n = bits / 8;
    let v = 0;
    for (let k = 0; k < n; k++) v = v * 256 + blk[i * n + k]!;
    return v;
  }
  return (blk[Math.floor((i * bits) / 8)]! >> ((i * bits) % 8)) & ((1 << bits) - 1);
}
