// A shared WebAssembly.Memory ("arena") and its frame pool: holds the wasm core's static data, the
// hart regions and a pool of 4 KiB frames that back guest pages (design rule 2: guest RAM is
// frames reached through a map). One HostMemory may serve several VMs or processes; each reaches
// only the frames its own page map names.
//
// The allocator's state lives in the memory itself (a header in the static area, guarded by a
// spin lock taken with Atomics), so every thread that holds the Memory (the control plane and the
// pCPU workers of `rvisor serve`) can allocate and free frames and hart regions: HostMemory.attach
// wraps a Memory received from another thread.
import { HART_SIZE, MEM_HARTS_BASE, MEM_RESERVED, PAGE_SIZE } from '../cpu/layout.js';
import { RvisorError } from '../errors.js';

const WASM_PAGE = 65536;
const MAX_WASM_PAGES = 65536; // 4 GiB

/** The allocator header: the last 4 KiB of the 64 KiB static area, which the core never uses (it
 *  has no globals and no data segments). Int32 slots: */
const HEADER = 0xf000;
const H_LOCK = 0; // 0 free, else the holder's tag (HostMemory's `holder`: a thread's id + 1)
const H_MAGIC = 1;
const H_NEXT = 2; // next never-used frame (frame number = byte offset / 4096)
const H_FREE = 3; // head of the free-frame list (0 = empty); a free frame's first u32 links the next
const H_IN_USE = 4; // frames handed out
const H_SHARES = 5; // offset of the share-count table (0 until a frame is first shared)
const H_HART_MAP = 8; // bitmap of the fixed hart slots between MEM_HARTS_BASE and MEM_RESERVED
const HART_SLOTS = Math.floor((MEM_RESERVED - MEM_HARTS_BASE) / HART_SIZE);
const MAGIC = 0x52564d41; // "RVMA"

export class HostMemory {
  readonly memory: WebAssembly.Memory;
  private u8: Uint8Array;
  private dv: DataView;
  private i32: Int32Array;

  /** What this thread writes into the lock while it holds it (nonzero; the main thread's 1): a
   *  thread that is terminated while holding it (a pCPU worker cut off by the watchdog or at the
   *  host's close) leaves its tag there, and releaseHeldBy frees the lock for the others. */
  private readonly holder: number;

  constructor(initialBytes = MEM_RESERVED + 16 * 1048576, memory?: WebAssembly.Memory, holder = 1) {
    this.holder = holder;
    this.memory = memory ?? new WebAssembly.Memory({ initial: Math.ceil(initialBytes / WASM_PAGE), maximum: MAX_WASM_PAGES, shared: true });
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer, HEADER, 64);
    if (memory) {
      if (Atomics.load(this.i32, H_MAGIC) !== MAGIC) throw new RvisorError('INTERNAL', 'shared memory has no frame-pool header');
    } else {
      Atomics.store(this.i32, H_NEXT, MEM_RESERVED / PAGE_SIZE);
      Atomics.store(this.i32, H_MAGIC, MAGIC);
    }
  }

  /** Wraps a Memory made by another thread's HostMemory (same pool, same frames); holder: this
   *  thread's lock tag (its thread id + 1; 1 is the main thread's). */
  static attach(memory: WebAssembly.Memory, holder = 1): HostMemory {
    return new HostMemory(0, memory, holder);
  }

  /** Frees the lock of memory's frame pool if the thread tagged `holder` holds it: that thread
   *  is gone (terminated inside an allocation), and every other thread would otherwise spin on
   *  the lock for ever. (What it was doing is lost: at worst a frame leaks.) Returns whether it
   *  held the lock. */
  static releaseHeldBy(memory: WebAssembly.Memory, holder: number): boolean {
    return Atomics.compareExchange(new Int32Array(memory.buffer, HEADER, 64), H_LOCK, holder, 0) === holder;
  }

  /** A byte view of the whole memory (re-made after growth; do not keep it across allocations). */
  get bytes(): Uint8Array {
    if (this.u8.byteLength !== this.memory.buffer.byteLength) this.refresh();
    return this.u8;
  }

  get view(): DataView {
    if (this.dv.byteLength !== this.memory.buffer.byteLength) this.refresh();
    return this.dv;
  }

  /** Frames currently handed out (for accounting and leak tests). */
  get framesInUse(): number {
    return Atomics.load(this.i32, H_IN_USE);
  }

  /** Bytes the memory spans now (it grows on demand, never shrinks). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  private refresh(): void {
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
  }

  private lock(): void {
    for (let spins = 1; Atomics.compareExchange(this.i32, H_LOCK, 0, this.holder) !== 0; spins++) {
      // held by another thread for a few instructions: spin; held for seconds, its holder is
      // gone without releasing it (releaseHeldBy missed it): an error rather than a hang
      if ((spins & 0xfffff) === 0 && spins > 0x10000000) {
        throw new RvisorError('INTERNAL', `the frame pool's lock has been held by thread tag ${Atomics.load(this.i32, H_LOCK)} for seconds`);
      }
    }
  }

  private unlock(): void {
    Atomics.store(this.i32, H_LOCK, 0);
  }

  /** Takes `count` never-used contiguous frames from the end of the pool (lock held). */
  private bump(count: number): number {
    const first = Atomics.load(this.i32, H_NEXT);
    const end = (first + count) * PAGE_SIZE;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      if (end > MAX_WASM_PAGES * WASM_PAGE) {
        throw new RvisorError('ENOMEM_HOST', 'host memory exhausted: the 4 GiB shared memory is full');
      }
      const want = Math.min(MAX_WASM_PAGES, Math.ceil(Math.max(end, have * 1.25) / WASM_PAGE));
      this.memory.grow(want - have / WASM_PAGE);
    }
    Atomics.store(this.i32, H_NEXT, first + count);
    return first * PAGE_SIZE;
  }

  /** Returns the byte offset of a zero-filled 4 KiB frame. */
  allocFrame(): number {
    this.lock();
    let off: number;
    let reused = false;
    try {
      const head = Atomics.load(this.i32, H_FREE);
      if (head !== 0) {
        off = head * PAGE_SIZE;
        Atomics.store(this.i32, H_FREE, this.view.getUint32(off, true));
        reused = true;
      } else {
        off = this.bump(1); // fresh memory is zero
      }
      Atomics.add(this.i32, H_IN_USE, 1);
    } finally {
      this.unlock();
    }
    if (reused) this.bytes.fill(0, off, off + PAGE_SIZE);
    return off;
  }

  /** Returns the byte offset of `bytes` (rounded up to whole frames) of zeroed, contiguous memory
   *  from the frame area (for tables such as a VM's P2M). Free it frame by frame (freeFrame). */
  allocContiguous(bytes: number): number {
    const frames = Math.max(1, Math.ceil(bytes / PAGE_SIZE));
    this.lock();
    try {
      const first = this.bump(frames);
      Atomics.add(this.i32, H_IN_USE, frames);
      return first;
    } finally {
      this.unlock();
    }
  }

  freeFrame(off: number): void {
    this.lock();
    try {
      this.view.setUint32(off, Atomics.load(this.i32, H_FREE), true);
      Atomics.store(this.i32, H_FREE, off / PAGE_SIZE);
      Atomics.sub(this.i32, H_IN_USE, 1);
    } finally {
      this.unlock();
    }
  }

  /** The share-count table: one Int32 per frame of the largest arena (4 MiB of address space,
   *  made on first use; its pages cost host memory only where frames are shared). Slot f holds
   *  how many page-map entries beyond the first name frame f. */
  private shares(create: boolean): Int32Array | undefined {
    if (this.shareView) return this.shareView;
    let at = Atomics.load(this.i32, H_SHARES);
    if (at === 0) {
      if (!create) return undefined;
      this.lock();
      try {
        at = Atomics.load(this.i32, H_SHARES);
        if (at === 0) {
          at = this.bump((MAX_WASM_PAGES * WASM_PAGE) / PAGE_SIZE * 4 / PAGE_SIZE);
          Atomics.store(this.i32, H_SHARES, at);
        }
      } finally {
        this.unlock();
      }
    }
    this.shareView = new Int32Array(this.memory.buffer, at, (MAX_WASM_PAGES * WASM_PAGE) / PAGE_SIZE);
    return this.shareView;
  }
  private shareView: Int32Array | undefined;

  /** One more page-map entry names the frame at `off` (copy-on-write sharing: its content must not
   *  change while it is shared). */
  shareFrame(off: number): void {
    Atomics.add(this.shares(true)!, off / PAGE_SIZE, 1);
  }

  /** How many page-map entries beyond one name the frame at `off` (0: exclusively held). */
  sharers(off: number): number {
    const t = this.shares(false);
    return t ? Atomics.load(t, off / PAGE_SIZE) : 0;
  }

  /** A page-map entry stops naming the frame at `off`: the last one frees it. */
  releaseFrame(off: number): void {
    const t = this.shares(false);
    if (t) {
      const i = off / PAGE_SIZE;
      for (;;) {
        const c = Atomics.load(t, i);
        if (c === 0) break; // the last holder
        if (Atomics.compareExchange(t, i, c, c - 1) === c) return;
      }
    }
    this.freeFrame(off);
  }

  /** Reserves a zeroed region for one hart's state (HART_SIZE bytes). */
  allocHart(): number {
    let base = -1;
    this.lock();
    try {
      for (let slot = 0; slot < HART_SLOTS && base < 0; slot++) {
        const word = H_HART_MAP + (slot >> 5), bit = 1 << (slot & 31);
        if ((Atomics.load(this.i32, word) & bit) === 0) {
          Atomics.or(this.i32, word, bit);
          base = MEM_HARTS_BASE + slot * HART_SIZE;
        }
      }
    } finally {
      this.unlock();
    }
    if (base < 0) base = this.allocContiguous(HART_SIZE); // beyond the fixed area: from the frame pool
    this.bytes.fill(0, base, base + HART_SIZE);
    return base;
  }

  freeHart(base: number): void {
    if (base < MEM_RESERVED) {
      const slot = (base - MEM_HARTS_BASE) / HART_SIZE;
      Atomics.and(this.i32, H_HART_MAP + (slot >> 5), ~(1 << (slot & 31)));
      return;
    }
    for (let off = 0; off < HART_SIZE; off += PAGE_SIZE) this.freeFrame(base + off);
  }
}
