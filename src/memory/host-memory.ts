// The host's shared WebAssembly.Memory: holds the wasm core's static data, the hart regions and a
// pool of 4 KiB frames that back guest pages (design rule 2: guest RAM is frames reached through
// a map). One HostMemory may serve several VMs or processes; each reaches only the frames its
// own page map names.
import { HART_SIZE, MEM_HARTS_BASE, MEM_RESERVED, PAGE_SIZE } from '../cpu/layout.js';
import { RvisorError } from '../errors.js';

const WASM_PAGE = 65536;
const MAX_WASM_PAGES = 65536; // 4 GiB

export class HostMemory {
  readonly memory: WebAssembly.Memory;
  private u8: Uint8Array;
  private dv: DataView;
  private nextFrame: number = MEM_RESERVED;
  private readonly freeFrames: number[] = [];
  private nextHart: number = MEM_HARTS_BASE;
  private readonly freeHarts: number[] = [];
  /** Frames currently handed out (for accounting and leak tests). */
  framesInUse = 0;

  constructor(initialBytes = MEM_RESERVED + 16 * 1048576) {
    const initial = Math.ceil(initialBytes / WASM_PAGE);
    this.memory = new WebAssembly.Memory({ initial, maximum: MAX_WASM_PAGES, shared: true });
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
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

  private refresh(): void {
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
  }

  /** Returns the byte offset of a zero-filled 4 KiB frame. */
  allocFrame(): number {
    const reused = this.freeFrames.pop();
    if (reused !== undefined) {
      this.bytes.fill(0, reused, reused + PAGE_SIZE);
      this.framesInUse++;
      return reused;
    }
    const off = this.nextFrame;
    const end = off + PAGE_SIZE;
    if (end > this.memory.buffer.byteLength) {
      const want = Math.ceil(Math.max(end, this.memory.buffer.byteLength * 1.25) / WASM_PAGE);
      const have = this.memory.buffer.byteLength / WASM_PAGE;
      const grow = Math.min(want, MAX_WASM_PAGES) - have;
      if (grow <= 0 || end > MAX_WASM_PAGES * WASM_PAGE) {
        throw new RvisorError('ENOMEM_HOST', 'host memory exhausted: the 4 GiB shared memory is full');
      }
      this.memory.grow(grow);
      this.refresh();
    }
    this.nextFrame = end;
    this.framesInUse++;
    return off;
  }

  /** Returns the byte offset of `bytes` (rounded up to whole frames) of zeroed, contiguous memory
   *  from the frame area (for tables such as a VM's P2M). */
  allocContiguous(bytes: number): number {
    const frames = Math.max(1, Math.ceil(bytes / PAGE_SIZE));
    const first = this.allocFreshFrame();
    for (let i = 1; i < frames; i++) this.allocFreshFrame();
    this.bytes.fill(0, first, first + frames * PAGE_SIZE);
    return first;
  }

  /** A frame from the end of the pool (never a recycled one), so consecutive calls are contiguous. */
  private allocFreshFrame(): number {
    const saved = this.freeFrames.splice(0);
    try {
      return this.allocFrame();
    } finally {
      this.freeFrames.push(...saved);
    }
  }

  freeFrame(off: number): void {
    this.freeFrames.push(off);
    this.framesInUse--;
  }

  /** Reserves a zeroed region for one hart's state (HART_SIZE bytes). */
  allocHart(): number {
    let base = this.freeHarts.pop();
    if (base === undefined) {
      if (this.nextHart + HART_SIZE <= MEM_RESERVED) {
        base = this.nextHart;
        this.nextHart += HART_SIZE;
      } else {
        base = this.allocContiguous(HART_SIZE); // beyond the fixed area: from the frame pool
      }
    }
    this.bytes.fill(0, base, base + HART_SIZE);
    return base;
  }

  freeHart(base: number): void {
    this.freeHarts.push(base);
  }
}
