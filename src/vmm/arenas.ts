// Guest RAM beyond one WebAssembly.Memory: wasm32 limits a Memory to 4 GiB and Node 20 has neither
// memory64 nor multi-memory by default, so the host keeps several shared memories ("arenas").
// A VM's RAM, P2M and harts live in one arena; a VM is placed in the first arena where its whole
// RAM would fit if the guest touched all of it, else a new arena is made (and handed to every
// worker). Frames freed by one VM are reused by the next VM of the same arena.
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
}

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

  /** Picks (or makes) the arena for a VM and commits its bytes there. */
  place(memBytes: number, vcpus: number): Arena {
    const need = Arenas.need(memBytes, vcpus);
    let a = this.list.find((x) => x.committed + need <= this.capacity);
    if (!a) {
      a = { index: this.list.length, host: new HostMemory(), committed: 0, vms: 0 };
      this.list.push(a);
      this.onNew(a);
    }
    a.committed += need;
    a.vms++;
    return a;
  }

  /** Commits a VM's bytes in a given arena (a clone lives in its original's): HOST_FULL when
   *  they do not fit there. */
  commit(a: Arena, memBytes: number, vcpus: number): void {
    const need = Arenas.need(memBytes, vcpus);
    if (a.committed + need > this.capacity) {
      throw new RvisorError('ENOMEM_HOST', `arena ${a.index} has ${Math.floor((this.capacity - a.committed) / 1048576)} MiB uncommitted and the VM needs ${Math.ceil(need / 1048576)} MiB`);
    }
    a.committed += need;
    a.vms++;
  }

  release(a: Arena, memBytes: number, vcpus: number): void {
    a.committed -= Arenas.need(memBytes, vcpus);
    a.vms--;
  }
}
