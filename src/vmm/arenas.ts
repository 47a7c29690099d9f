// Guest RAM beyond one WebAssembly.Memory: wasm32 limits a Memory to 4 GiB and Node 20 has neither
// memory64 nor multi-memory by default, so the host keeps several shared memories ("arenas").
// A VM's RAM, P2M and harts live in one arena; frames freed by one VM are reused by the next VM of
// the same arena, and page sharing merges pages only within an arena.
//
// Memory is overcommitted (issue #9): an arena takes VMs whose memory sizes add up to OVERCOMMIT
// times its capacity; the memory manager keeps the frames they really hold below the capacity
// (swap at once: an arena cannot grow), as it keeps all arenas below --host-mem (balloon first).
// VMs of one sharing group go to the same arena (so they can share); others where they fit whole,
// then to new arenas while --host-mem has room for them, and only then share an arena.
import { HostMemory } from '../memory/host-memory.js';
import { CACHE_SIZE, HART_SIZE, MEM_RESERVED } from '../cpu/layout.js';
import { RvisorError } from '../errors.js';

const ARENA_BYTES = 4 * 1024 ** 3;

export interface Arena {
  index: number;
  host: HostMemory;
  /** Bytes promised to the VMs placed here (RAM, P2M, harts). */
  committed: number;
  vms: number;
  /** VMs per sharing group placed here. */
  groups: Map<string, number>;
}

/** Memory sizes an arena takes, as a multiple of its capacity. */
export const OVERCOMMIT = 16;

export class Arenas {
  readonly list: Arena[] = [];
  /** Room for guest memory in one arena: 4 GiB less the reserved area, one code cache per pCPU
   *  and some slack for growth rounding. */
  readonly capacity: number;

  constructor(pcpus: number, private readonly onNew: (a: Arena) => void) {
    this.capacity = ARENA_BYTES - MEM_RESERVED - pcpus * CACHE_SIZE - 64 * 1048576;
  }

  static need(memBytes: number, vcpus: number): number {
    return memBytes + memBytes / 1024 + vcpus * HART_SIZE;
  }

  /** Picks (or makes) the arena for a VM and commits its bytes there: its sharing group's arena
   *  while it takes more; else one where the VM fits whole (no overcommit needed); else a new
   *  arena while all of them together stay within `hostMem`; else the one with the fewest frames
   *  in use that takes more. */
  place(memBytes: number, vcpus: number, group?: string, hostMem = Infinity): Arena {
    const need = Arenas.need(memBytes, vcpus);
    const room = (x: Arena) => x.committed + need <= this.capacity * OVERCOMMIT;
    let a = group === undefined ? undefined : this.list.find((x) => (x.groups.get(group) ?? 0) > 0 && room(x));
    a ??= this.list.find((x) => x.committed + need <= this.capacity);
    if (!a && (this.list.length + 1) * this.capacity > hostMem) a = this.list.filter(room).sort((x, y) => x.host.framesInUse - y.host.framesInUse)[0];
    if (!a) {
      a = { index: this.list.length, host: new HostMemory(), committed: 0, vms: 0, groups: new Map() };
      this.list.push(a);
      this.onNew(a);
    }
    a.committed += need;
    a.vms++;
    if (group !== undefined) a.groups.set(group, (a.groups.get(group) ?? 0) + 1);
    return a;
  }

  /** Commits a VM's bytes in a given arena (a clone lives in its original's): HOST_FULL when
   *  they do not fit there. */
  commit(a: Arena, memBytes: number, vcpus: number, group?: string): void {
    const need = Arenas.need(memBytes, vcpus);
    if (a.committed + need > this.capacity * OVERCOMMIT) {
      throw new RvisorError('ENOMEM_HOST', `arena ${a.index} has ${Math.floor((this.capacity * OVERCOMMIT - a.committed) / 1048576)} MiB uncommitted and the VM needs ${Math.ceil(need / 1048576)} MiB`);
    }
    a.committed += need;
    a.vms++;
    if (group !== undefined) a.groups.set(group, (a.groups.get(group) ?? 0) + 1);
  }

  release(a: Arena, memBytes: number, vcpus: number, group?: string): void {
    a.committed -= Arenas.need(memBytes, vcpus);
    a.vms--;
    if (group !== undefined) {
      const n = (a.groups.get(group) ?? 0) - 1;
      if (n > 0) a.groups.set(group, n);
      else a.groups.delete(group);
    }
  }
}
