// Copying between host buffers and the scattered guest buffers of a descriptor chain. Drivers may
// split a request's parts across descriptors any way they like (§2.6.4 "message framing"), so
// devices address a chain's readable or writable bytes as one stream by offset.
import type { GuestMemory } from '../../device.js';
import type { Segment } from './virtqueue.js';

/** Copies dst.length bytes starting at `offset` of the segments' byte stream into dst. False if
 *  the stream is too short or guest memory refuses (nothing is guaranteed about dst then). */
export function readFromChain(mem: GuestMemory, segs: readonly Segment[], offset: number, dst: Uint8Array): boolean {
  return copyChain(segs, offset, dst, (addr, part) => mem.read(addr, part));
}

/** Copies src into the segments' byte stream starting at `offset`. False if the stream is too
 *  short or guest memory refuses (a prefix may have been written). */
export function writeToChain(mem: GuestMemory, segs: readonly Segment[], offset: number, src: Uint8Array): boolean {
  return copyChain(segs, offset, src, (addr, part) => mem.write(addr, part));
}

/** Walks the byte stream of `segs` from `offset`, handing each guest piece and the matching part of
 *  buf to `copy`; false if the stream is too short or a copy fails. */
function copyChain(segs: readonly Segment[], offset: number, buf: Uint8Array,
  copy: (addr: number, part: Uint8Array) => boolean): boolean {
  let want = buf.length;
  let pos = 0;
  let skip = offset;
  for (const s of segs) {
    if (want === 0) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, want);
    if (!copy(s.addr + skip, buf.subarray(pos, pos + n))) return false;
    pos += n;
    want -= n;
    skip = 0;
  }
  return want === 0;
}
