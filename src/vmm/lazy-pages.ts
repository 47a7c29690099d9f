// Lazy restore on the host (src/snapshot/lazy.ts): the snapshot's PAGE sections read by position
// from the descriptor the control plane (or `rvisor run`) opened, which every thread of the process
// shares, so a VM that moves between pCPU workers goes on loading its pages. One section cache per
// thread.
import { fstatSync, readSync } from 'node:fs';
import type { HostMemory } from '../memory/host-memory.js';
import { GuestRam, ramCounters, type GuestRamState, type PageSources } from '../machine/ram.js';
import { RvisorError } from '../errors.js';

/** Frames in one arena at most (4 GiB). */
const ARENA_FRAMES = 1048576;
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
  // Refuse before loading anything when the swapped pages cannot fit in the arena (4 GiB of frames
  // at most): filling it would make the other VMs of the arena fail on their next new page.
  const swapped = ramCounters(host, ram).swapped;
  const room = ARENA_FRAMES - host.framesInUse - 16384;
  if (swapped > room) {
    throw new RvisorError('ENOMEM_HOST', `the VM has ${Math.ceil(swapped / 256)} MiB in its swap file and its arena has room for ${Math.max(0, Math.floor(room / 256))} MiB: lower other VMs' memory first`);
  }
  const r = GuestRam.attach(host, ram, nodePageSources);
  return r.loadAll() + r.swapInAll();
}
