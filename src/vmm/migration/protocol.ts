// The live-migration stream between two hosts (docs/migration.md): one WebSocket from the source
// host to the destination's API (`GET /v1/migrations/incoming`, with the destination's bearer
// token), JSON text messages for control and binary messages for guest pages and disk chunks.
//
//   source                                   destination
//   begin {definition, memory, disks}  →
//                                       ←    ready | error {code, message}
//   PAGES / ZERO / DISK (binary)…      →     (written into the VM's fresh RAM and disk copies)
//   state {harts, board, ticks, wallNs}→
//                                       ←    built | error
//   commit                             →
//                                       ←    done {vm} | error
//   cancel {reason}                    →     (or the socket closes): the destination drops all
//
// Until `commit` arrives the destination holds nothing the user sees as running: a closed socket
// or `cancel` frees the VM's memory and undefines it (its folder goes, disk copies with it).
import type { HartState } from '../../cpu/hart.js';
import type { BoardState } from '../../machine/board.js';
import type { VmDefinition, VmInfo } from '../types.js';

export const MIGRATION_VERSION = 1;
const PAGE = 4096;

/** Binary message kinds (first byte). */
export const MSG_PAGES = 1; // u8 kind, 3 pad, u32 count, count × u32 page, count × 4096 bytes
export const MSG_ZERO = 2; // u8 kind, 3 pad, u32 count, count × u32 page (present but all zero)
export const MSG_DISK = 3; // u8 kind, 3 pad, u32 disk index, f64 offset, bytes

export type SourceMessage =
  | {
      t: 'begin'; version: number; rvisor: string; definition: VmDefinition; memBytes: number;
      /** Sizes of the disks whose content follows (--copy-storage), else null (shared paths). */
      copyDisks: number[] | null;
      paused: boolean;
    }
  | {
      t: 'state'; harts: { run: BoardState['harts'][number]['run']; state: HartState }[]; board: BoardState;
      /** mtime at the stop, and the source's time from the stop to this message (ms). */
      ticks: string; sinceStopMs: number;
    }
  | { t: 'commit' }
  | { t: 'cancel'; reason: string };

export type DestinationMessage =
  | { t: 'ready' }
  | { t: 'built' }
  | { t: 'done'; vm: VmInfo }
  | { t: 'error'; code: string; message: string };

export function encodePages(pages: number[], read: (page: number, dst: Uint8Array) => void): Uint8Array {
  const n = pages.length;
  const buf = new Uint8Array(8 + n * 4 + n * PAGE);
  const dv = new DataView(buf.buffer);
  buf[0] = MSG_PAGES;
  dv.setUint32(4, n, true);
  pages.forEach((p, i) => {
    dv.setUint32(8 + i * 4, p, true);
    read(p, buf.subarray(8 + n * 4 + i * PAGE, 8 + n * 4 + (i + 1) * PAGE));
  });
  return buf;
}

export function encodeZero(pages: number[]): Uint8Array {
  const buf = new Uint8Array(8 + pages.length * 4);
  const dv = new DataView(buf.buffer);
  buf[0] = MSG_ZERO;
  dv.setUint32(4, pages.length, true);
  pages.forEach((p, i) => dv.setUint32(8 + i * 4, p, true));
  return buf;
}

export function encodeDisk(disk: number, offset: number, data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(16 + data.length);
  const dv = new DataView(buf.buffer);
  buf[0] = MSG_DISK;
  dv.setUint32(4, disk, true);
  dv.setFloat64(8, offset, true);
  buf.set(data, 16);
  return buf;
}

/** A binary message, checked: every count and offset must fit the message and the VM. */
export type DataMessage =
  | { kind: 'pages'; pages: number[]; data: Uint8Array }
  | { kind: 'zero'; pages: number[] }
  | { kind: 'disk'; disk: number; offset: number; data: Uint8Array };

export function decodeData(buf: Uint8Array, maxPage: number): DataMessage {
  const bad = (m: string): never => { throw new Error(`malformed migration message: ${m}`); };
  if (buf.length < 8) bad('shorter than its header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const kind = buf[0];
  if (kind === MSG_DISK) {
    if (buf.length < 16) bad('disk chunk header');
    const offset = dv.getFloat64(8, true);
    if (!Number.isSafeInteger(offset) || offset < 0) bad('disk offset');
    return { kind: 'disk', disk: dv.getUint32(4, true), offset, data: buf.subarray(16) };
  }
  const n = dv.getUint32(4, true);
  const need = 8 + n * 4 + (kind === MSG_PAGES ? n * PAGE : 0);
  if ((kind !== MSG_PAGES && kind !== MSG_ZERO) || buf.length !== need) bad(`kind ${kind}, ${n} pages, ${buf.length} bytes`);
  const pages: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = dv.getUint32(8 + i * 4, true);
    if (p >= maxPage) bad(`page ${p} is beyond the VM's ${maxPage} pages`);
    pages.push(p);
  }
  return kind === MSG_PAGES ? { kind: 'pages', pages, data: buf.subarray(8 + n * 4) } : { kind: 'zero', pages };
}
