// Lazy restore on the host (src/snapshot/lazy.ts): the snapshot's PAGE sections read by position
// from the descriptor the control plane (or `rvisor run`) opened, which every thread of the process
// shares, so a VM that moves between pCPU workers goes on loading its pages. One section cache per
// thread.
import { fstatSync, readSync } from 'node:fs';
import type { HostMemory } from '../memory/host-memory.js';
import { GuestRam, type GuestRamState, type PageSources } from '../machine/ram.js';
import { LazyPageSource, SectionCache } from '../snapshot/lazy.js';
import type { ByteSource } from '../snapshot/format.js';
import { nodeCodec } from './snapshot-file.js';

class FdSource implements ByteSource {
  constructor(private readonly fd: number) {}
  get size(): number {
    return fstatSync(this.fd).size;
  }
  read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n <= 0) throw new Error(`the file ends at ${offset + done}, ${length - done} bytes short`);
      done += n;
    }
    return buf;
  }
}

// Eight sections (up to 32 MiB inflated): a booted bundled guest touches pages in all four of its
// sections at once, and two made each miss inflate a section again (first slice 130 ms, not 15).
const cache = new SectionCache(8);

/** This thread's page sources for lazily restored machines (BoardConfig.pageSources). */
export const nodePageSources: PageSources = (lazy) => new LazyPageSource(lazy, new FdSource(lazy.fd), nodeCodec, Number.MAX_SAFE_INTEGER, cache);

/** Loads every page a lazily restored machine still has in its snapshot, and every page in the
 *  VM's swap file, into frames (before a save, checkpoint, clone or migration, which read frames;
 *  nothing may run the machine meanwhile). Returns the pages loaded. */
export function loadAllPages(host: HostMemory, ram: GuestRamState): number {
  const r = GuestRam.attach(host, ram, nodePageSources);
  return r.loadAll() + r.swapInAll();
}
