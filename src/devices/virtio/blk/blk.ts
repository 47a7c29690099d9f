// virtio-blk (virtio 1.2 §5.2): one request queue, requests of a 16-byte header (type, ioprio,
// sector), data, and a final status byte the device writes last (§5.2.6). Sectors are always 512
// bytes in the protocol, whatever blk_size says. Every sector range is checked against the
// capacity; a failing backend is VIRTIO_BLK_S_IOERR, never a host exception.
import type { Stateful } from '../../device.js';
import { RvisorError } from '../../../errors.js';
import type { DescriptorChain } from '../queue/virtqueue.js';
import { readFromChain, writeToChain } from '../queue/chain.js';
import { VIRTIO_ID_BLOCK, readConfigBytes, type VirtioDevice, type VirtioHost } from '../transport/virtio-device.js';
import type { BlockBackend } from './backend.js';

/** §5.2.3 feature bits. */
export const VIRTIO_BLK_F_SIZE_MAX = 1n << 1n;
export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
export const VIRTIO_BLK_F_GEOMETRY = 1n << 4n;
export const VIRTIO_BLK_F_RO = 1n << 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;
export const VIRTIO_BLK_F_TOPOLOGY = 1n << 10n;
export const VIRTIO_BLK_F_MQ = 1n << 12n;
export const VIRTIO_BLK_F_DISCARD = 1n << 13n;
export const VIRTIO_BLK_F_WRITE_ZEROES = 1n << 14n;

/** §5.2.6 request types. */
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
/** §5.2.6 status values. */
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
/** Flag of a discard / write-zeroes segment. */
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

export const SECTOR_SIZE = 512;
export const VIRTIO_BLK_ID_BYTES = 20;
const HEADER_BYTES = 16;
const DWZ_SEGMENT_BYTES = 16;
/** Host-side transfer unit: large requests are copied in pieces of this size. */
const CHUNK = 1 << 20;

/** §5.2.4 configuration layout (byte offsets). */
export const BLK_CFG_CAPACITY = 0;
export const BLK_CFG_SIZE_MAX = 8;
export const BLK_CFG_SEG_MAX = 12;
export const BLK_CFG_BLK_SIZE = 20;
export const BLK_CFG_NUM_QUEUES = 34;
export const BLK_CFG_MAX_DISCARD_SECTORS = 36;
export const BLK_CFG_MAX_DISCARD_SEG = 40;
export const BLK_CFG_DISCARD_SECTOR_ALIGNMENT = 44;
export const BLK_CFG_MAX_WRITE_ZEROES_SECTORS = 48;
export const BLK_CFG_MAX_WRITE_ZEROES_SEG = 52;
export const BLK_CFG_WRITE_ZEROES_MAY_UNMAP = 56;
const BLK_CFG_BYTES = 60;

export interface VirtioBlkOptions {
  /** Refuse writes even if the backend could take them (offers VIRTIO_BLK_F_RO). A read-only
   *  backend always makes the device read-only. */
  readOnly?: boolean;
  /** Serial returned by VIRTIO_BLK_T_GET_ID (ASCII, at most 20 bytes; default ""). */
  serial?: string;
  /** Request queue size (power of 2, default 256). */
  queueSize?: number;
  /** Offer DISCARD and WRITE_ZEROES (default true; never on a read-only device). */
  discard?: boolean;
  /** Logical block size advertised with VIRTIO_BLK_F_BLK_SIZE (default 512). */
  blockSize?: number;
  /** Largest discard segment, in sectors (default 0x3fffff). */
  maxDiscardSectors?: number;
  /** Largest write-zeroes segment, in sectors (default 32768 = 16 MiB: done synchronously). */
  maxWriteZeroesSectors?: number;
  /** Most segments in one discard / write-zeroes request (default 32). */
  maxDiscardSegments?: number;
}

/** The device's own state. Everything dynamic lives in the queue (transport state); this records
 *  what the device was, so restoring onto a different disk is refused. */
export interface VirtioBlkState {
  capacity: number;
  readOnly: boolean;
  serial: string;
}

export class VirtioBlk implements VirtioDevice, Stateful<VirtioBlkState> {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly numQueues = 1;
  readonly features: bigint;
  readonly readOnly: boolean;
  /** Capacity in 512-byte sectors. */
  readonly capacity: number;
  readonly serial: string;
  /** Counters (diagnostics, not state). */
  readonly stats = { requests: 0, ioErrors: 0, unsupported: 0 };

  private host: VirtioHost | undefined;
  private readonly queueSize: number;
  private readonly config = new Uint8Array(BLK_CFG_BYTES);
  private readonly capacityBig: bigint;
  private readonly discard: boolean;
  private readonly maxDiscardSectors: number;
  private readonly maxWriteZeroesSectors: number;
  private readonly maxDiscardSegments: number;
  private readonly idBytes = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  private zeroChunk: Uint8Array | undefined;

  constructor(readonly backend: BlockBackend, options: VirtioBlkOptions = {}) {
    this.readOnly = backend.readOnly || options.readOnly === true;
    this.queueSize = options.queueSize ?? 256;
    this.capacity = Math.floor(backend.size / SECTOR_SIZE);
    this.capacityBig = BigInt(this.capacity);
    this.serial = options.serial ?? '';
    if (this.serial.length > VIRTIO_BLK_ID_BYTES || !/^[\x20-\x7e]*$/.test(this.serial)) {
      throw new RvisorError('USAGE', `disk serial "${this.serial}" must be at most ${VIRTIO_BLK_ID_BYTES} printable ASCII characters`);
    }
    for (let i = 0; i < this.serial.length; i++) this.idBytes[i] = this.serial.charCodeAt(i);
    const blockSize = options.blockSize ?? SECTOR_SIZE;
    if (blockSize < SECTOR_SIZE || blockSize > 65536 || (blockSize & (blockSize - 1)) !== 0) {
      throw new RvisorError('USAGE', `disk block size ${blockSize} must be a power of 2 between 512 and 65536`);
    }
    this.discard = !this.readOnly && options.discard !== false;
    this.maxDiscardSectors = options.maxDiscardSectors ?? 0x3fffff;
    this.maxWriteZeroesSectors = options.maxWriteZeroesSectors ?? 32768;
    this.maxDiscardSegments = options.maxDiscardSegments ?? 32;

    let f = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH;
    if (this.readOnly) f |= VIRTIO_BLK_F_RO;
    if (this.discard) f |= VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES;
    this.features = f;

    const c = new DataView(this.config.buffer);
    c.setBigUint64(BLK_CFG_CAPACITY, this.capacityBig, true);
    // Leave room for the header and status descriptors when indirect descriptors are not used.
    c.setUint32(BLK_CFG_SEG_MAX, Math.max(1, this.queueSize - 2), true);
    c.setUint32(BLK_CFG_BLK_SIZE, blockSize, true);
    c.setUint16(BLK_CFG_NUM_QUEUES, 1, true);
    if (this.discard) {
      c.setUint32(BLK_CFG_MAX_DISCARD_SECTORS, this.maxDiscardSectors, true);
      c.setUint32(BLK_CFG_MAX_DISCARD_SEG, this.maxDiscardSegments, true);
      c.setUint32(BLK_CFG_DISCARD_SECTOR_ALIGNMENT, blockSize / SECTOR_SIZE, true);
      c.setUint32(BLK_CFG_MAX_WRITE_ZEROES_SECTORS, this.maxWriteZeroesSectors, true);
      c.setUint32(BLK_CFG_MAX_WRITE_ZEROES_SEG, this.maxDiscardSegments, true);
      c.setUint8(BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 0);
    }
  }

  queueMaxSize(): number {
    return this.queueSize;
  }

  attach(host: VirtioHost): void {
    this.host = host;
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(): void {
    // Every field is read-only (VIRTIO_BLK_F_CONFIG_WCE is not offered).
  }

  reset(): void {}

  notify(index: number): void {
    const host = this.host;
    const vq = host?.queue(index);
    if (!host || !vq) return;
    for (let chain = vq.pop(); chain; chain = vq.pop()) {
      const len = this.process(chain);
      if (!vq.push(chain.head, len)) break;
    }
    host.queueUsed(index);
  }

  save(): VirtioBlkState {
    return { capacity: this.capacity, readOnly: this.readOnly, serial: this.serial };
  }

  restore(s: VirtioBlkState): void {
    if (s.capacity !== this.capacity || s.readOnly !== this.readOnly) {
      throw new RvisorError('SNAPSHOT_MISMATCH', `virtio-blk state is for a ${s.readOnly ? 'read-only' : 'writable'} disk of ${s.capacity} sectors, ` +
        `but the attached disk is ${this.readOnly ? 'read-only' : 'writable'} with ${this.capacity} sectors`);
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** Executes one request; returns the used length (bytes written into the guest's buffers). */
  private process(chain: DescriptorChain): number {
    const mem = this.host!.mem;
    this.stats.requests++;
    if (chain.writableBytes < 1) {
      // Nowhere to put a status byte: the request can only be returned untouched.
      this.stats.ioErrors++;
      return 0;
    }
    const dataIn = chain.writableBytes - 1; // writable bytes before the status byte
    let status: number;
    let written = 0;
    const hdr = new Uint8Array(HEADER_BYTES);
    if (chain.readableBytes < HEADER_BYTES || !readFromChain(mem, chain.readable, 0, hdr)) {
      status = VIRTIO_BLK_S_IOERR;
    } else {
      const h = new DataView(hdr.buffer);
      const type = h.getUint32(0, true);
      const sector = h.getBigUint64(8, true);
      const dataOut = chain.readableBytes - HEADER_BYTES;
      switch (type) {
        case VIRTIO_BLK_T_IN: {
          const r = this.doRead(chain, sector, dataIn);
          status = r.status;
          written = r.written;
          break;
        }
        case VIRTIO_BLK_T_OUT:
          status = this.readOnly ? VIRTIO_BLK_S_IOERR : this.doWrite(chain, sector, dataOut); // §5.2.6.2
          break;
        case VIRTIO_BLK_T_FLUSH:
          status = this.guard(() => this.backend.flush()) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
          break;
        case VIRTIO_BLK_T_GET_ID: {
          const n = Math.min(VIRTIO_BLK_ID_BYTES, dataIn);
          status = writeToChain(mem, chain.writable, 0, this.idBytes.subarray(0, n)) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
          if (status === VIRTIO_BLK_S_OK) written = n;
          break;
        }
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES:
          if (!this.discard) status = this.readOnly ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP;
          else status = this.doDiscardOrZero(chain, type === VIRTIO_BLK_T_DISCARD, dataOut);
          break;
        default:
          status = VIRTIO_BLK_S_UNSUPP;
      }
    }
    if (status === VIRTIO_BLK_S_IOERR) this.stats.ioErrors++;
    else if (status === VIRTIO_BLK_S_UNSUPP) this.stats.unsupported++;
    // The status byte goes last, into the last writable byte (§5.2.6).
    if (!writeToChain(mem, chain.writable, dataIn, Uint8Array.of(status))) return written;
    return written + 1;
  }

  /** Runs a backend call; a throw counts as an I/O error. */
  private guard(op: () => boolean): boolean {
    try {
      return op() === true;
    } catch {
      return false;
    }
  }

  /** [sector, sector + bytes/512) inside the disk, bytes a whole number of sectors. */
  private rangeOk(sector: bigint, bytes: number): boolean {
    if (bytes % SECTOR_SIZE !== 0) return false;
    const n = BigInt(bytes / SECTOR_SIZE);
    return sector <= this.capacityBig && n <= this.capacityBig - sector;
  }

  private doRead(chain: DescriptorChain, sector: bigint, len: number): { status: number; written: number } {
    if (!this.rangeOk(sector, len)) return { status: VIRTIO_BLK_S_IOERR, written: 0 };
    const mem = this.host!.mem;
    const base = Number(sector) * SECTOR_SIZE;
    const buf = new Uint8Array(Math.min(CHUNK, len));
    for (let pos = 0; pos < len; pos += CHUNK) {
      const piece = buf.subarray(0, Math.min(CHUNK, len - pos));
      if (!this.guard(() => this.backend.read(base + pos, piece))) return { status: VIRTIO_BLK_S_IOERR, written: pos };
      if (!writeToChain(mem, chain.writable, pos, piece)) return { status: VIRTIO_BLK_S_IOERR, written: pos };
    }
    return { status: VIRTIO_BLK_S_OK, written: len };
  }

  private doWrite(chain: DescriptorChain, sector: bigint, len: number): number {
    if (!this.rangeOk(sector, len)) return VIRTIO_BLK_S_IOERR;
    const mem = this.host!.mem;
    const base = Number(sector) * SECTOR_SIZE;
    const buf = new Uint8Array(Math.min(CHUNK, len));
    for (let pos = 0; pos < len; pos += CHUNK) {
      const piece = buf.subarray(0, Math.min(CHUNK, len - pos));
      if (!readFromChain(mem, chain.readable, HEADER_BYTES + pos, piece)) return VIRTIO_BLK_S_IOERR;
      if (!this.guard(() => this.backend.write(base + pos, piece))) return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
  }

  /** DISCARD / WRITE_ZEROES (§5.2.6): a list of {sector u64, num_sectors u32, flags u32}. All
   *  segments are checked before any is executed. */
  private doDiscardOrZero(chain: DescriptorChain, isDiscard: boolean, len: number): number {
    if (len === 0 || len % DWZ_SEGMENT_BYTES !== 0) return VIRTIO_BLK_S_IOERR;
    const n = len / DWZ_SEGMENT_BYTES;
    if (n > this.maxDiscardSegments) return VIRTIO_BLK_S_UNSUPP;
    const raw = new Uint8Array(len);
    if (!readFromChain(this.host!.mem, chain.readable, HEADER_BYTES, raw)) return VIRTIO_BLK_S_IOERR;
    const v = new DataView(raw.buffer);
    const max = isDiscard ? this.maxDiscardSectors : this.maxWriteZeroesSectors;
    const segs: { offset: number; bytes: number }[] = [];
    for (let i = 0; i < n; i++) {
      const sector = v.getBigUint64(16 * i, true);
      const count = v.getUint32(16 * i + 8, true);
      const flags = v.getUint32(16 * i + 12, true);
      // §5.2.6.2: unknown flags → UNSUPP; for discard the unmap flag too.
      const allowed = isDiscard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
      if (flags & ~allowed) return VIRTIO_BLK_S_UNSUPP;
      if (count > max) return VIRTIO_BLK_S_IOERR;
      if (!this.rangeOk(sector, count * SECTOR_SIZE)) return VIRTIO_BLK_S_IOERR;
      segs.push({ offset: Number(sector) * SECTOR_SIZE, bytes: count * SECTOR_SIZE });
    }
    for (const s of segs) {
      if (s.bytes === 0) continue;
      const ok = isDiscard ? this.guard(() => this.backend.discard(s.offset, s.bytes)) : this.zero(s.offset, s.bytes);
      if (!ok) return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
  }

  private zero(offset: number, bytes: number): boolean {
    const b = this.backend;
    if (b.writeZeroes) return this.guard(() => b.writeZeroes!(offset, bytes));
    this.zeroChunk ??= new Uint8Array(CHUNK);
    for (let pos = 0; pos < bytes; pos += CHUNK) {
      const piece = this.zeroChunk.subarray(0, Math.min(CHUNK, bytes - pos));
      if (!this.guard(() => b.write(offset + pos, piece))) return false;
    }
    return true;
  }
}
