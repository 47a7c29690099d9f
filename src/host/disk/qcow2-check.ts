// `rvisor img check`: recounts every reference a qcow2 image's metadata makes (header, L1 and L2
// tables, refcount table and blocks, data and compressed clusters) and compares the counts with
// the stored refcounts (QEMU's docs/interop/qcow2.txt, Host cluster management): a stored count
// above the references is a leak (space lost, harmless), one below is corruption (a cluster could
// be handed out twice), as `qemu-img check` reports them. Read-only: nothing is repaired.
import * as fs from 'node:fs';
import { RvisorError } from '../../errors.js';
import { getRefIn, stdOffset } from './qcow2.js';
import { preadFull, readHeader, type Qcow2Header } from './qcow2-format.js';

export interface Qcow2CheckResult {
  header: Qcow2Header;
  /** Problems that make the image unsafe to write (each names the cluster). */
  errors: string[];
  /** Clusters with a stored refcount above their references. */
  leaks: number;
  /** Data clusters allocated in this image (normal and compressed), of all the virtual ones. */
  dataClusters: number;
  compressedClusters: number;
  virtualClusters: number;
  fileSize: number;
}

export function checkQcow2(path: string): Qcow2CheckResult {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new RvisorError('ENOENT_FILE', `cannot open '${path}': ${(e as Error).message}`);
  }
  try {
    return check(fd, path);
  } finally {
    fs.closeSync(fd);
  }
}

function check(fd: number, path: string): Qcow2CheckResult {
  const fileSize = fs.fstatSync(fd).size;
  const h = readHeader(fd, path, fileSize);
  if (h.nbSnapshots > 0) throw new RvisorError('BAD_IMAGE', `qcow2 image '${path}' has internal snapshots, which rvisor img check does not count (use qemu-img check)`);
  if (h.autoclear & 1) throw new RvisorError('BAD_IMAGE', `qcow2 image '${path}' has persistent bitmaps, which rvisor img check does not count (use qemu-img check)`);
  const cs = 2 ** h.clusterBits, refBits = 2 ** h.refcountOrder, rpb = (cs * 8) / refBits;
  const fileClusters = Math.ceil(fileSize / cs);
  const errors: string[] = [];
  // References per host cluster; those past the end of the file are errors, kept apart.
  const refs = new Uint32Array(fileClusters);
  const ref = (offset: number, what: string): void => {
    if (offset % cs !== 0) {
      errors.push(`${what}: offset ${offset} is not cluster-aligned`);
      return;
    }
    const c = offset / cs;
    if (c >= fileClusters) errors.push(`${what}: cluster at ${offset} lies past the end of the file (${fileSize} bytes)`);
    else refs[c]!++;
  };
  const refRange = (offset: number, len: number, what: string): void => {
    for (let c = Math.floor(offset / cs); c <= Math.floor((offset + len - 1) / cs); c++) ref(c * cs, what);
  };
  ref(0, 'header');
  refRange(h.l1Offset, Math.max(h.l1Size * 8, 1), 'L1 table');
  refRange(h.refTableOffset, h.refTableClusters * cs, 'refcount table');

  const rt = new Uint8Array(h.refTableClusters * cs);
  preadFull(fd, rt, h.refTableOffset);
  const rtv = new DataView(rt.buffer);
  const blocks: number[] = [];
  for (let i = 0; i < rt.length / 8; i++) {
    const b = stdOffset(rtv.getUint32(i * 8) & 0x00ffffff, rtv.getUint32(i * 8 + 4));
    blocks.push(b);
    if (b !== 0) ref(b, `refcount block ${i}`);
  }

  let dataClusters = 0, compressedClusters = 0;
  const l1 = new Uint8Array(h.l1Size * 8);
  preadFull(fd, l1, h.l1Offset);
  const l1v = new DataView(l1.buffer);
  const x = BigInt(62 - (h.clusterBits - 8));
  const copiedCheck: { what: string; cluster: number; copied: boolean }[] = [];
  const l2 = new Uint8Array(cs);
  const l2v = new DataView(l2.buffer);
  for (let i = 0; i < h.l1Size; i++) {
    const hi = l1v.getUint32(i * 8), lo = l1v.getUint32(i * 8 + 4);
    const t = stdOffset(hi, lo);
    if (t === 0) continue;
    ref(t, `L2 table ${i}`);
    copiedCheck.push({ what: `L2 table ${i}`, cluster: t / cs, copied: (hi & 0x80000000) !== 0 });
    l2.fill(0);
    preadFull(fd, l2, t);
    for (let j = 0; j < cs / 8; j++) {
      const ehi = l2v.getUint32(j * 8), elo = l2v.getUint32(j * 8 + 4);
      if (ehi === 0 && elo === 0) continue;
      const vc = i * (cs / 8) + j;
      if (ehi & 0x40000000) {
        const d = (BigInt(ehi & 0x3fffffff) << 32n) | BigInt(elo >>> 0);
        const start = Number(d & ((1n << x) - 1n));
        const len = (Number(d >> x) + 1) * 512 - (start % 512);
        refRange(start, len, `compressed cluster ${vc}`);
        compressedClusters++;
        dataClusters++;
        continue;
      }
      const host = stdOffset(ehi, elo);
      if (host === 0) continue;
      ref(host, `cluster ${vc}`);
      if (!(elo & 1)) dataClusters++;
      copiedCheck.push({ what: `cluster ${vc}`, cluster: host / cs, copied: (ehi & 0x80000000) !== 0 });
    }
  }

  // Stored refcounts, cluster by cluster (a block past the end of the file stored nothing).
  const stored = (c: number, cache: Map<number, Uint8Array>): number => {
    const b = blocks[Math.floor(c / rpb)] ?? 0;
    if (b === 0 || b >= fileSize) return 0;
    let blk = cache.get(b);
    if (!blk) {
      blk = new Uint8Array(cs);
      preadFull(fd, blk, b);
      cache.set(b, blk);
    }
    return getRefIn(blk, c % rpb, refBits);
  };
  const cache = new Map<number, Uint8Array>();
  let leaks = 0;
  const last = Math.max(fileClusters, blocks.length * rpb);
  for (let c = 0; c < last; c++) {
    const want = c < fileClusters ? refs[c]! : 0;
    const have = c < blocks.length * rpb ? stored(c, cache) : 0;
    if (have > want) leaks++;
    else if (have < want) errors.push(`cluster ${c} (offset ${c * cs}): refcount ${have}, but ${want} reference(s)`);
    if (c >= fileClusters && blocks[Math.floor(c / rpb)] === 0) c = (Math.floor(c / rpb) + 1) * rpb - 1;
  }
  // The COPIED flag says exactly "refcount 1" (Cluster mapping, bit 63), both ways.
  for (const { what, cluster, copied } of copiedCheck) {
    const have = stored(cluster, cache);
    if ((have === 1) !== copied) errors.push(`${what}: ${copied ? 'marked' : 'not marked'} COPIED, but its refcount is ${have}`);
  }
  return { header: h, errors, leaks, dataClusters, compressedClusters, virtualClusters: Math.ceil(h.size / cs), fileSize };
}
