// struct stat, struct statx and struct statfs as a riscv64 guest expects them (asm-generic
// layouts, checked against the cross toolchain's headers: stat 128 bytes, statx 256, statfs 120).
import type { BigIntStats, StatsFs } from 'node:fs';

export const S_IFMT = 0o170000;
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** The fields both layouts are built from (host stat or a synthesized one for pipes). */
export interface StatFields {
  dev: bigint;
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: bigint;
  size: bigint;
  blksize: number;
  blocks: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
}

export function fromHost(s: BigIntStats): StatFields {
  return {
    dev: s.dev, ino: s.ino, mode: Number(s.mode), nlink: Number(s.nlink), uid: Number(s.uid), gid: Number(s.gid),
    rdev: s.rdev, size: s.size, blksize: Number(s.blksize), blocks: s.blocks,
    atimeNs: s.atimeNs, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs, birthtimeNs: s.birthtimeNs,
  };
}

const NS = 1_000_000_000n;
const sec = (ns: bigint): bigint => (ns >= 0n ? ns / NS : -((-ns + NS - 1n) / NS));
const nsec = (ns: bigint): bigint => ns - sec(ns) * NS;

/** struct stat (asm-generic/stat.h). */
export function encodeStat(s: StatFields): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt.asUintN(64, s.dev), true);
  v.setBigUint64(8, BigInt.asUintN(64, s.ino), true);
  v.setUint32(16, s.mode >>> 0, true);
  v.setUint32(20, s.nlink >>> 0, true);
  v.setUint32(24, s.uid >>> 0, true);
  v.setUint32(28, s.gid >>> 0, true);
  v.setBigUint64(32, BigInt.asUintN(64, s.rdev), true);
  v.setBigInt64(48, s.size, true);
  v.setInt32(56, s.blksize, true);
  v.setBigInt64(64, s.blocks, true);
  v.setBigInt64(72, sec(s.atimeNs), true);
  v.setBigUint64(80, nsec(s.atimeNs), true);
  v.setBigInt64(88, sec(s.mtimeNs), true);
  v.setBigUint64(96, nsec(s.mtimeNs), true);
  v.setBigInt64(104, sec(s.ctimeNs), true);
  v.setBigUint64(112, nsec(s.ctimeNs), true);
  return b;
}

/** glibc's dev_t encoding → (major, minor). */
export function devMajor(d: bigint): number {
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn & 0xffffffffn));
}
export function devMinor(d: bigint): number {
  return Number((d & 0xffn) | ((d >> 12n) & ~0xffn & 0xffffffffn));
}

export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;

/** struct statx (linux/stat.h). */
export function encodeStatx(s: StatFields): Uint8Array {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  const hasBirth = s.birthtimeNs > 0n;
  v.setUint32(0, STATX_BASIC_STATS | (hasBirth ? STATX_BTIME : 0), true);
  v.setUint32(4, s.blksize >>> 0, true);
  v.setBigUint64(8, 0n, true); // stx_attributes
  v.setUint32(16, s.nlink >>> 0, true);
  v.setUint32(20, s.uid >>> 0, true);
  v.setUint32(24, s.gid >>> 0, true);
  v.setUint16(28, s.mode & 0xffff, true);
  v.setBigUint64(32, BigInt.asUintN(64, s.ino), true);
  v.setBigUint64(40, BigInt.asUintN(64, s.size), true);
  v.setBigUint64(48, BigInt.asUintN(64, s.blocks), true);
  v.setBigUint64(56, 0n, true); // stx_attributes_mask
  const ts = (off: number, ns: bigint): void => {
    v.setBigInt64(off, sec(ns), true);
    v.setUint32(off + 8, Number(nsec(ns)), true);
  };
  ts(64, s.atimeNs);
  if (hasBirth) ts(80, s.birthtimeNs);
  ts(96, s.ctimeNs);
  ts(112, s.mtimeNs);
  v.setUint32(128, devMajor(s.rdev), true);
  v.setUint32(132, devMinor(s.rdev), true);
  v.setUint32(136, devMajor(s.dev), true);
  v.setUint32(140, devMinor(s.dev), true);
  return b;
}

/** struct statfs (asm-generic/statfs.h, 64-bit). */
export function encodeStatfs(s: StatsFs): Uint8Array {
  const b = new Uint8Array(120);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(s.type), true);
  v.setBigInt64(8, BigInt(s.bsize), true);
  v.setBigUint64(16, BigInt(s.blocks), true);
  v.setBigUint64(24, BigInt(s.bfree), true);
  v.setBigUint64(32, BigInt(s.bavail), true);
  v.setBigUint64(40, BigInt(s.files), true);
  v.setBigUint64(48, BigInt(s.ffree), true);
  v.setBigInt64(64, 255n, true); // f_namelen
  v.setBigInt64(72, BigInt(s.bsize), true); // f_frsize
  return b;
}
