// The qcow2 image format's on-disk structures (QEMU's docs/interop/qcow2.txt, "QCOW2 Image Format";
// section names below are that file's). All fields are big-endian. Shared by the image backend
// (qcow2.ts), `rvisor img create` (qcow2-create.ts) and the consistency check (qcow2-check.ts).
import * as fs from 'node:fs';
import { RvisorError } from '../../errors.js';

/** "QFI\xfb" (Header, magic). */
export const QCOW2_MAGIC = 0x514649fb;
/** Header extension types (Header extensions). */
export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_NAMES = 0x6803f857;
export const EXT_CRYPTO = 0x0537be77;
export const EXT_DATA_FILE = 0x44415441;
/** incompatible_features bits (Header, version 3). */
export const INCOMPAT_DIRTY = 1;
export const INCOMPAT_CORRUPT = 2;
export const INCOMPAT_DATA_FILE = 4;
export const INCOMPAT_COMPRESSION = 8;
export const INCOMPAT_EXTENDED_L2 = 16;
const INCOMPAT_NAMES = ['dirty', 'corrupt', 'external data file', 'compression type', 'extended L2 entries'];
/** The longest backing file name QEMU writes or reads (Header, backing_file_size). */
export const MAX_BACKING_NAME = 1023;
/** Offsets of header fields this code rewrites in place. */
export const HDR_L1_SIZE = 36;
export const HDR_L1_OFFSET = 40;
export const HDR_REFTABLE_OFFSET = 48;
export const HDR_AUTOCLEAR = 88;
export const V2_HEADER_LENGTH = 72;
export const V3_HEADER_LENGTH = 104;

export interface Qcow2Header {
  version: 2 | 3;
  backingOffset: number;
  backingSize: number;
  clusterBits: number;
  /** Virtual disk size in bytes. */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1Offset: number;
  refTableOffset: number;
  refTableClusters: number;
  nbSnapshots: number;
  incompatible: number;
  compatible: number;
  autoclear: number;
  /** Refcount width is 1 << refcountOrder bits (version 2: always 4, 16 bits). */
  refcountOrder: number;
  headerLength: number;
  /** 0 zlib (deflate), 1 zstd (Header, compression_type; needs INCOMPAT_COMPRESSION). */
  compressionType: number;
  /** The backing file's name as stored (relative to the image's directory unless absolute). */
  backingName: string | null;
  /** The backing format header extension ("raw", "qcow2"), if present. */
  backingFormat: string | null;
  /** Header extensions seen, by type (for `img info`). */
  extensions: number[];
}

/** Big-endian u64 as a number; values at or above 2^53 (never valid offsets or sizes) are refused. */
export function u64(dv: DataView, at: number): number {
  const hi = dv.getUint32(at);
  if (hi >= 0x200000) return Number.NaN;
  return hi * 0x100000000 + dv.getUint32(at + 4);
}

export function putU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, Math.floor(v / 0x100000000));
  dv.setUint32(at + 4, v >>> 0);
}

export function preadFull(fd: number, buf: Uint8Array, pos: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, pos + done);
    if (n <= 0) break;
    done += n;
  }
  return done;
}

export function pwriteFull(fd: number, buf: Uint8Array, pos: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, pos + done);
}

/** True when the first bytes of a file are the qcow2 magic. */
export function isQcow2Magic(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x51 && head[1] === 0x46 && head[2] === 0x49 && head[3] === 0xfb;
}

/** Reads and validates the header and its extensions. Throws BAD_IMAGE naming the problem. */
export function readHeader(fd: number, path: string, fileSize: number): Qcow2Header {
  const bad = (why: string): never => {
    throw new RvisorError('BAD_IMAGE', `qcow2 image '${path}': ${why}`);
  };
  const first = new Uint8Array(V3_HEADER_LENGTH + 8);
  const got = preadFull(fd, first, 0);
  if (got < V2_HEADER_LENGTH || !isQcow2Magic(first)) bad('not a qcow2 image (no QFI\\xfb magic or shorter than its header)');
  const dv = new DataView(first.buffer);
  const version = dv.getUint32(4);
  if (version !== 2 && version !== 3) bad(`version ${version} is not supported (only 2 and 3)`);
  const clusterBits = dv.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) bad(`cluster_bits ${clusterBits} is outside 9..21`);
  const cs = 2 ** clusterBits;
  const h: Qcow2Header = {
    version: version as 2 | 3,
    backingOffset: u64(dv, 8),
    backingSize: dv.getUint32(16),
    clusterBits,
    size: u64(dv, 24),
    cryptMethod: dv.getUint32(32),
    l1Size: dv.getUint32(36),
    l1Offset: u64(dv, 40),
    refTableOffset: u64(dv, 48),
    refTableClusters: dv.getUint32(56),
    nbSnapshots: dv.getUint32(60),
    incompatible: 0,
    compatible: 0,
    autoclear: 0,
    refcountOrder: 4,
    headerLength: V2_HEADER_LENGTH,
    compressionType: 0,
    backingName: null,
    backingFormat: null,
    extensions: [],
  };
  if (version === 3) {
    if (got < V3_HEADER_LENGTH) bad('shorter than a version 3 header');
    const hiI = dv.getUint32(72), hiC = dv.getUint32(80), hiA = dv.getUint32(88);
    if (hiI !== 0) bad(`unknown incompatible feature bits 0x${hiI.toString(16)}00000000`);
    h.incompatible = dv.getUint32(76);
    h.compatible = hiC * 0x100000000 + dv.getUint32(84);
    h.autoclear = hiA * 0x100000000 + dv.getUint32(92);
    h.refcountOrder = dv.getUint32(96);
    h.headerLength = dv.getUint32(100);
    if (h.headerLength < V3_HEADER_LENGTH || h.headerLength % 8 !== 0 || h.headerLength > cs) bad(`header_length ${h.headerLength} is invalid`);
    if (h.headerLength > V3_HEADER_LENGTH && got > V3_HEADER_LENGTH) h.compressionType = first[104]!;
  }
  if (!Number.isSafeInteger(h.size) || h.size <= 0) bad(`virtual size ${h.size} is invalid`);
  if (h.refcountOrder > 6) bad(`refcount_order ${h.refcountOrder} is above 6`);
  if (h.cryptMethod !== 0) bad(`it is encrypted (crypt_method ${h.cryptMethod}); encrypted images are not supported`);
  const unknown = h.incompatible & ~0x1f;
  if (unknown) bad(`unknown incompatible feature bits 0x${unknown.toString(16)}`);
  for (const bit of [INCOMPAT_DATA_FILE, INCOMPAT_EXTENDED_L2]) {
    if (h.incompatible & bit) bad(`it uses the ${INCOMPAT_NAMES[Math.log2(bit)]} feature, which rvisor does not support`);
  }
  if (h.incompatible & INCOMPAT_COMPRESSION && h.compressionType !== 0) bad(`compression type ${h.compressionType} (zstd) is not supported, only zlib`);
  const aligned = (v: number) => Number.isSafeInteger(v) && v % cs === 0 && v > 0;
  if (!aligned(h.l1Offset) && h.l1Size > 0) bad(`l1_table_offset ${h.l1Offset} is not a cluster-aligned offset`);
  if (!aligned(h.refTableOffset)) bad(`refcount_table_offset ${h.refTableOffset} is not a cluster-aligned offset`);
  if (h.refTableClusters === 0 || h.refTableOffset + h.refTableClusters * cs > Math.ceil(fileSize / cs) * cs) bad(`refcount table of ${h.refTableClusters} clusters does not fit the file`);
  // Each L1 entry maps one L2 table of cs/8 clusters.
  const needL1 = Math.ceil(h.size / (cs * (cs / 8)));
  if (h.l1Size < needL1) bad(`its L1 table (${h.l1Size} entries) does not cover the virtual size (${needL1} needed)`);
  if (h.l1Size > 0x2000000) bad(`its L1 table of ${h.l1Size} entries is larger than any image QEMU writes`);
  if (h.l1Size > 0 && h.l1Offset + h.l1Size * 8 > Math.ceil(fileSize / cs) * cs) bad('its L1 table lies beyond the end of the file');

  // Header extensions: after the header, up to the end of the first cluster (Header extensions).
  const cluster0 = new Uint8Array(Math.min(cs, Math.max(fileSize, V2_HEADER_LENGTH)));
  preadFull(fd, cluster0, 0);
  const cv = new DataView(cluster0.buffer);
  let at = h.headerLength;
  for (;;) {
    if (at + 8 > cluster0.length) bad('header extensions run past the first cluster');
    const type = cv.getUint32(at), len = cv.getUint32(at + 4);
    if (type === EXT_END) break;
    if (at + 8 + len > cluster0.length) bad(`header extension 0x${type.toString(16)} runs past the first cluster`);
    const data = cluster0.subarray(at + 8, at + 8 + len);
    h.extensions.push(type);
    if (type === EXT_BACKING_FORMAT) h.backingFormat = new TextDecoder().decode(data);
    if (type === EXT_CRYPTO) bad('it has a full disk encryption header; encrypted images are not supported');
    if (type === EXT_DATA_FILE) bad('it names an external data file, which rvisor does not support');
    at += 8 + Math.ceil(len / 8) * 8;
  }
  if (h.backingOffset !== 0) {
    if (h.backingSize === 0 || h.backingSize > MAX_BACKING_NAME) bad(`backing file name length ${h.backingSize} is invalid`);
    if (!Number.isSafeInteger(h.backingOffset) || h.backingOffset + h.backingSize > cs) bad('its backing file name lies outside the first cluster');
    h.backingName = new TextDecoder('utf-8', { fatal: false }).decode(cluster0.subarray(h.backingOffset, h.backingOffset + h.backingSize));
    if (h.backingName.includes('\0')) bad('its backing file name contains a NUL byte');
  }
  return h;
}

/** Names of the set incompatible feature bits (for messages and `img info`). */
export function incompatibleNames(bits: number): string[] {
  return INCOMPAT_NAMES.filter((_, i) => bits & (1 << i));
}

/** Replaces the backing file name stored in an image's header cluster (where the old one was). */
export function writeBackingName(fd: number, path: string, h: Qcow2Header, name: string): void {
  const bytes = new TextEncoder().encode(name);
  const cs = 2 ** h.clusterBits;
  if (bytes.length === 0 || bytes.length > MAX_BACKING_NAME || h.backingOffset + bytes.length > cs) {
    throw new RvisorError('BAD_IMAGE', `qcow2 image '${path}': the backing file name '${name}' does not fit its header cluster`);
  }
  pwriteFull(fd, bytes, h.backingOffset);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, bytes.length);
  pwriteFull(fd, len, 16);
  fs.fsyncSync(fd);
}
