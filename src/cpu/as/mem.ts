// Guest memory access for the interpreter: a direct-mapped software TLB (guest page → host
// address addend, one tag per access kind) in front of the host's TLB-miss handler. A fault is a
// value (host address 0 and the trap recorded in the hart), never an exception.
import {
  HART_TLB, TLB_ENTRIES, TLB_TAG_W, TLB_TAG_X, TLB_ADDEND, HART_CAUSE, HART_TVAL,
  ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
  CAUSE_FETCH_PAGE_FAULT, HART_SCRATCH,
} from '../layout';

@external("env", "tlb_miss")
declare function tlb_miss(hart: usize, va: u64, access: u32): i64;


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

/** Slow path of a translation: asks the host, fills the TLB, returns the host address or 0. */
export function xlate_miss(h: usize, va: u64, access: u32): usize {
  const frame = tlb_miss(h, va, access);
  if (frame < 0) {
    set_trap(h, fault_cause(access), va);
    return 0;
  }
  const vpn = va >> 12;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e) != vpn && load<u64>(e, TLB_TAG_W) != vpn && load<u64>(e, TLB_TAG_X) != vpn) {
    store<i64>(e, -1);
    store<i64>(e, -1, TLB_TAG_W);
    store<i64>(e, -1, TLB_TAG_X);
  }
  store<u64>(e + (<usize>access << 3), vpn);
  store<u64>(e, <u64>frame - (vpn << 12), TLB_ADDEND);
  return <usize>(<u64>frame + (va & 0xfff));
}

/** Host address of guest address va for an access of kind `access`, or 0 after recording a fault. */
@inline export function xlate(h: usize, va: u64, access: u32): usize {
  const vpn = va >> 12;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e + (<usize>access << 3)) == vpn) return <usize>(va + load<u64>(e, TLB_ADDEND));
  return xlate_miss(h, va, access);
}

/** Fast path of a load of `size` bytes: the host address, or 0 if the slow path is needed. */
@inline export function ld_fast(h: usize, va: u64, size: u32): usize {
  const vpn = va >> 12;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e) == vpn && (<u32>va & 0xfff) <= 4096 - size) return <usize>(va + load<u64>(e, TLB_ADDEND));
  return 0;
}

@inline export function st_fast(h: usize, va: u64, size: u32): usize {
  const vpn = va >> 12;
  const e = tlb_entry(h, vpn);
  if (load<u64>(e, TLB_TAG_W) == vpn && (<u32>va & 0xfff) <= 4096 - size) return <usize>(va + load<u64>(e, TLB_ADDEND));
  return 0;
}

/** Slow load: returns a host address holding the `size` bytes at va (the scratch area when the
 *  access crosses a page), or 0 after recording a fault. Misaligned accesses are supported. */
export function ld_slow(h: usize, va: u64, size: u32): usize {
  if ((<u32>va & 0xfff) + size <= 4096) return xlate(h, va, ACCESS_READ);
  const a = xlate(h, va, ACCESS_READ);
  if (a == 0) return 0;
  const second = (va | 0xfff) + 1;
  const b = xlate(h, second, ACCESS_READ);
  if (b == 0) return 0;
  const first = <u32>(second - va);
  const s = h + HART_SCRATCH;
  memory.copy(s, a, first);
  memory.copy(s + first, b, size - first);
  return s;
}

/** Slow store of the low `size` bytes of v: checks both pages before writing anything, so a
 *  faulting store has no effect. Returns false after recording a fault. */
export function st_slow(h: usize, va: u64, v: u64, size: u32): bool {
  const a = xlate(h, va, ACCESS_WRITE);
  if (a == 0) return false;
  if ((<u32>va & 0xfff) + size <= 4096) {
    store_n(a, v, size);
    return true;
  }
  const second = (va | 0xfff) + 1;
  const b = xlate(h, second, ACCESS_WRITE);
  if (b == 0) return false;
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

export { ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC };
