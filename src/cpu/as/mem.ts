// Guest memory access for the interpreter: a direct-mapped software TLB in front of address
// translation. A TLB key is the guest page number OR'd with the translation context (mmu.ts), so
// entries of different privilege levels, SUM/MXR settings and ASIDs never alias. A fault is a
// value (host address 0 and the trap recorded in the hart), never an exception.
import {
  HART_TLB, TLB_ENTRIES, TLB_TAG_W, TLB_TAG_X, TLB_ADDEND, HART_CAUSE, HART_TVAL, HART_FLAGS, HF_SYSTEM,
  ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
  CAUSE_FETCH_PAGE_FAULT, HART_SCRATCH, HART_MMIO_PA, HART_BCACHE, CACHE_EPOCH, CACHE_BHEAD, BLOCK_SLOTS, BLOCK_HEAD_SIZE,
  CACHE_CODEMAP, CODEMAP_BITS,
} from '../layout';
import { translate, XLATE_MMIO } from './mmu';
import { code_cache, bump_epoch_c, bump_epoch, mark_code, code_hit } from './epoch';
export { code_cache, bump_epoch_c, bump_epoch, mark_code, code_hit };

/** Process VM: the host answers misses from its page map (frame offset, plus 1 if it wrote guest
 *  memory to provide it; or -1 to fault). */
@external("env", "tlb_miss")
declare function tlb_miss(hart: usize, va: u64, access: u32): i64;
/** System VM: device registers, reached at HART_MMIO_PA. */
@external("env", "mmio_read")
declare function mmio_read(hart: usize, pa: u64, size: u32): u64;
@external("env", "mmio_write")
declare function mmio_write(hart: usize, pa: u64, value: u64, size: u32): void;

@inline export function tlb_entry(h: usize, vpn: u64): usize {
  return h + HART_TLB + ((<usize>vpn & (TLB_ENTRIES - 1)) << 5);
}

/** Records a synchronous exception in the hart. */
export function set_trap(h: usize, cause: u64, tval: u64): void {
  store<u64>(h + HART_CAUSE, cause);
  store<u64>(h + HART_TVAL, tval);
}

function fault_cause(access: u32): u64 {
  return access == ACCESS_EXEC ? CAUSE_FETCH_PAGE_FAULT : access == ACCESS_WRITE ? CAUSE_STORE_PAGE_FAULT : CAUSE_LOAD_PAGE_FAULT;
}

/** Slow path of a translation: translates, fills the TLB, returns the host address, XLATE_MMIO, or 0. */
export function xlate_miss(h: usize, va: u64, access: u32, ctx: u64): usize {
  let host: usize;
  if ((load<u32>(h + HART_FLAGS) & HF_SYSTEM) != 0) {
    // a system VM's walk reaches the host only to back a page (phys_ram starts a new epoch then)
    host = translate(h, va, access, ctx);
    if (host <= XLATE_MMIO) return host;
  } else {
    const frame = tlb_miss(h, va, access);
    if (frame < 0) {
      set_trap(h, fault_cause(access), va);
      return 0;
    }
    // the host's miss handler wrote guest memory (a new, reused or copied frame): code caches
    // check their code again
    if ((frame & 1) != 0) bump_epoch(h);
    host = <usize>(frame & ~1) + <usize>(va & 0xfff);
  }
  const vpn = va >> 12;
  const key = vpn | ctx;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e) != key && load<u64>(e, TLB_TAG_W) != key && load<u64>(e, TLB_TAG_X) != key) {
    store<i64>(e, -1);
    store<i64>(e, -1, TLB_TAG_W);
    store<i64>(e, -1, TLB_TAG_X);
  }
  store<u64>(e + (<usize>access << 3), key);
  store<u64>(e, <u64>host - va, TLB_ADDEND);
  return host;
}

/** Host address of va for `access`, XLATE_MMIO, or 0 after recording a fault. */
@inline export function xlate(h: usize, va: u64, access: u32, ctx: u64): usize {
  const vpn = va >> 12;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e + (<usize>access << 3)) == (vpn | ctx)) return <usize>(va + load<u64>(e, TLB_ADDEND));
  return xlate_miss(h, va, access, ctx);
}

/** Fast path of a load of `size` bytes: the host address, or 0 if the slow path is needed. */
@inline export function ld_fast(h: usize, va: u64, size: u32, ctx: u64): usize {
  const vpn = va >> 12;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e) == (vpn | ctx) && (<u32>va & 0xfff) <= 4096 - size) return <usize>(va + load<u64>(e, TLB_ADDEND));
  return 0;
}

@inline export function st_fast(h: usize, va: u64, size: u32, ctx: u64): usize {
  const vpn = va >> 12;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e, TLB_TAG_W) == (vpn | ctx) && (<u32>va & 0xfff) <= 4096 - size) return <usize>(va + load<u64>(e, TLB_ADDEND));
  return 0;
}

/** Slow load: returns a host address holding the `size` bytes at va (the scratch area when the
 *  access crosses a page or reads a device), or 0 after recording a fault. */
export function ld_slow(h: usize, va: u64, size: u32, ctx: u64): usize {
  const s = h + HART_SCRATCH;
  const a = xlate(h, va, ACCESS_READ, ctx);
  if (a == XLATE_MMIO) {
    store<u64>(s, mmio_read(h, load<u64>(h + HART_MMIO_PA), size));
    bump_epoch(h); // a device may have written guest memory
    return s;
  }
  if (a == 0 || (<u32>va & 0xfff) + size <= 4096) return a;
  const second = (va | 0xfff) + 1;
  const b = xlate(h, second, ACCESS_READ, ctx);
  if (b <= XLATE_MMIO) {
    if (b == XLATE_MMIO) set_trap(h, CAUSE_LOAD_PAGE_FAULT - 8, second); // load access fault
    return 0;
  }
  const first = <u32>(second - va);
  memory.copy(s, a, first);
  memory.copy(s + first, b, size - first);
  return s;
}

/** Slow store of the low `size` bytes of v: checks both pages before writing anything, so a
 *  faulting store has no effect. Returns false after recording a fault. */
export function st_slow(h: usize, va: u64, v: u64, size: u32, ctx: u64): bool {
  bump_epoch(h); // the store may hit code (or a device may write guest memory)
  const a = xlate(h, va, ACCESS_WRITE, ctx);
  if (a == 0) return false;
  if (a == XLATE_MMIO) {
    mmio_write(h, load<u64>(h + HART_MMIO_PA), v, size);
    return true;
  }
  if ((<u32>va & 0xfff) + size <= 4096) {
    store_n(a, v, size);
    return true;
  }
  const second = (va | 0xfff) + 1;
  const b = xlate(h, second, ACCESS_WRITE, ctx);
  if (b <= XLATE_MMIO) {
    if (b == XLATE_MMIO) set_trap(h, CAUSE_STORE_PAGE_FAULT - 8, second); // store access fault
    return false;
  }
  const first = <u32>(second - va);
  const s = h + HART_SCRATCH;
  store<u64>(s, v);
  memory.copy(a, s, first);
  memory.copy(b, s + first, size - first);
  return true;
}

@inline function store_n(a: usize, v: u64, size: u32): void {
  if (size == 8) store<u64>(a, v);
  else if (size == 4) store<u32>(a, <u32>v);
  else if (size == 2) store<u16>(a, <u16>v);
  else store<u8>(a, <u8>v);
}

/** Writes -1 into every TLB tag of hart h. */
export function flush_tlb(h: usize): void {
  for (let i: usize = 0; i < <usize>TLB_ENTRIES; i++) {
    const e = h + HART_TLB + (i << 5);
    store<i64>(e, -1);
    store<i64>(e, -1, TLB_TAG_W);
    store<i64>(e, -1, TLB_TAG_X);
  }
}

/** Drops every TLB entry of hart h that reaches the 4 KiB frame at host offset `frame` (after the
 *  host moved the guest page it backed, e.g. copy-on-write). */
export function tlb_drop_frame(h: usize, frame: usize): void {
  for (let i: usize = 0; i < <usize>TLB_ENTRIES; i++) {
    const e = h + HART_TLB + (i << 5);
    const add = load<u64>(e, TLB_ADDEND);
    for (let t: usize = 0; t < 24; t += 8) {
      const key = load<u64>(e + t);
      if (key == <u64>-1) continue;
      const vpn = key & ((<u64>1 << 52) - 1);
      if (((<usize>((vpn << 12) + add)) & ~<usize>0xfff) == frame) {
        store<i64>(e, -1);
        store<i64>(e, -1, TLB_TAG_W);
        store<i64>(e, -1, TLB_TAG_X);
        break;
      }
    }
  }
}

/** Drops every write permission in hart h's TLB (the host write-protected pages in the P2M). */
export function tlb_drop_writes(h: usize): void {
  for (let i: usize = 0; i < <usize>TLB_ENTRIES; i++) store<i64>(h + HART_TLB + (i << 5), -1, TLB_TAG_W);
}

export { ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC };
