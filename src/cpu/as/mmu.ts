// Address translation for a system-VM hart (privileged spec 1.12, section 4.3 "Sv32" and 4.4
// "Sv39"): the page-table walk with hardware A/D update, permission checks with SUM and MXR, and
// the guest-physical → host step through the VM's P2M. Physical addresses outside RAM are MMIO.
import {
  HART_SATP, HART_P2M, HART_RAM_BASE, HART_RAM_SIZE, HART_MMIO_PA, ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC,
  CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_PAGE_FAULT,
  CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT, HART_CAUSE, HART_TVAL, HART_PMPCFG, HART_PMPADDR,
  P2M_FRAME_MASK, P2M_WP, P2M_ACCESSED,
} from '../layout';
import { bump_epoch, code_hit, code_cache } from './epoch';

/** The host backs the page of pa: allocates it on first touch, or for a write to a page marked
 *  P2M_WP breaks copy-on-write sharing / logs the write. Returns the frame's host offset or -1. */
@external("env", "ram_miss")
declare function ram_miss(hart: usize, pa: u64, write: i32): i64;
/** Whether some device claims physical address pa (an unclaimed address is an access fault,
 *  privileged spec section 3.6: "vacant" regions allow no accesses). */
@external("env", "mmio_present")
declare function mmio_present(hart: usize, pa: u64): i32;

/** translate() result meaning "MMIO at HART_MMIO_PA" (never a valid host address). */
export const XLATE_MMIO: usize = 1;

// PTE bits (section 4.3.1, figure 4.18)
const PTE_V: u64 = 1, PTE_R: u64 = 2, PTE_W: u64 = 4, PTE_X: u64 = 8, PTE_U: u64 = 16, PTE_A: u64 = 64, PTE_D: u64 = 128;

/** Context bits of a TLB key (bits 52..63, above any 52-bit page number): translation context =
 *  1 | effective privilege << 1 | SUM << 3 | MXR << 4 | ASID[6:0] << 5. 0 is the process VM's. */
export const CTX_SHIFT: u64 = 52;

@inline export function ctx_priv(ctx: u64): u32 { return <u32>(ctx >> (CTX_SHIFT + 1)) & 3; }
@inline function ctx_sum(ctx: u64): bool { return ((ctx >> (CTX_SHIFT + 3)) & 1) != 0; }
@inline function ctx_mxr(ctx: u64): bool { return ((ctx >> (CTX_SHIFT + 4)) & 1) != 0; }

function fault(h: usize, access: u32, va: u64, page: bool): usize {
  let cause: u64;
  if (access == ACCESS_EXEC) cause = page ? CAUSE_FETCH_PAGE_FAULT : CAUSE_FETCH_ACCESS;
  else if (access == ACCESS_WRITE) cause = page ? CAUSE_STORE_PAGE_FAULT : CAUSE_STORE_ACCESS;
  else cause = page ? CAUSE_LOAD_PAGE_FAULT : CAUSE_LOAD_ACCESS;
  store<u64>(h + HART_CAUSE, cause);
  store<u64>(h + HART_TVAL, va);
  return 0;
}

/** Host address of guest-physical address pa if it is RAM (backing the page on first touch, and
 *  asking the host before the first write to a write-protected page), else 0. */
export function phys_ram(h: usize, pa: u64, access: u32): usize {
  const off = pa - load<u64>(h + HART_RAM_BASE);
  if (off >= load<u64>(h + HART_RAM_SIZE)) return 0;
  const slot = <usize>load<u64>(h + HART_P2M) + (<usize>(off >> 12) << 2);
  const e = load<u32>(slot);
  let frame = <u64>(e & P2M_FRAME_MASK) << 12;
  if (frame == 0 || (access == ACCESS_WRITE && (e & P2M_WP) != 0)) {
    bump_epoch(h); // the host may write guest memory (swap-in, a lazy page) or move this page
    const f = ram_miss(h, pa, access == ACCESS_WRITE ? 1 : 0);
    if (f <= 0) return 0;
    frame = <u64>f;
  } else if ((e & P2M_ACCESSED) == 0) {
    store<u32>(slot, e | P2M_ACCESSED); // recency for the host's reclaim (the host sets it on a miss)
  }
  return <usize>(frame + (pa & 0xfff));
}

/** Translates va for `access` in translation context ctx. Returns the host address, XLATE_MMIO
 *  (with the physical address in HART_MMIO_PA), or 0 after recording a page or access fault. */
export function translate(h: usize, va: u64, access: u32, ctx: u64): usize {
  const priv = ctx_priv(ctx);
  const satp = load<u64>(h + HART_SATP);
  let pa: u64;
  if (priv == 3 || (satp >> 60) != 8) {
    pa = va; // bare: physical addresses are 56 bits (section 4.1.11)
    if ((pa >> 56) != 0) return fault(h, access, va, false);
  } else {
    // Sv39: bits 63..39 must all equal bit 38 (section 4.4.1)
    if ((<i64>(va << 25) >> 25) != <i64>va) return fault(h, access, va, true);
    let table = (satp & 0xfffffffffff) << 12;
    let level: i32 = 2;
    let pte: u64 = 0;
    let pte_host: usize = 0;
    let pte_pa_last: u64 = 0;
    while (true) {
      const pte_pa = table + (((va >> (12 + 9 * <u64>level)) & 0x1ff) << 3);
      pte_pa_last = pte_pa;
      pte_host = phys_ram(h, pte_pa, ACCESS_READ);
      if (pte_host == 0) return fault(h, access, va, false);
      pte = load<u64>(pte_host);
      if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte >> 54) != 0) {
        return fault(h, access, va, true);
      }
      if ((pte & (PTE_R | PTE_X)) != 0) break; // a leaf
      level--;
      if (level < 0) return fault(h, access, va, true);
      table = ((pte >> 10) & 0xfffffffffff) << 12;
    }
    // permission checks (section 4.3.2 step 5)
    if (priv == 0) {
      if ((pte & PTE_U) == 0) return fault(h, access, va, true);
    } else if ((pte & PTE_U) != 0) {
      if (access == ACCESS_EXEC || !ctx_sum(ctx)) return fault(h, access, va, true);
    }
    if (access == ACCESS_EXEC) {
      if ((pte & PTE_X) == 0) return fault(h, access, va, true);
    } else if (access == ACCESS_WRITE) {
      if ((pte & PTE_W) == 0) return fault(h, access, va, true);
    } else if ((pte & PTE_R) == 0 && !(ctx_mxr(ctx) && (pte & PTE_X) != 0)) {
      return fault(h, access, va, true);
    }
    const ppn = (pte >> 10) & 0xfffffffffff;
    const low_mask: u64 = (<u64>1 << (9 * <u64>level)) - 1;
    if ((ppn & low_mask) != 0) return fault(h, access, va, true); // misaligned superpage
    // hardware A/D update (section 4.3.2 step 7)
    const need = PTE_A | (access == ACCESS_WRITE ? PTE_D : 0);
    if ((pte & need) != need) {
      // the PTE's page may be write-protected (shared copy-on-write, or its writes logged)
      const w = phys_ram(h, pte_pa_last, ACCESS_WRITE);
      if (w == 0) return fault(h, access, va, false);
      store<u64>(w, pte | need);
      code_hit(code_cache(h), w); // a page table on a page of checked code: check the code again
    }
    pa = ((ppn | ((va >> 12) & low_mask)) << 12) | (va & 0xfff);
  }
  if (!pmp_allows(h, pa, access, priv)) return fault(h, access, va, false);
  const host = phys_ram(h, pa, access);
  if (host != 0) return host;
  if (access == ACCESS_EXEC || mmio_present(h, pa) == 0) return fault(h, access, va, false);
  store<u64>(h + HART_MMIO_PA, pa);
  return XLATE_MMIO;
}

/** Physical memory protection (section 3.7): the lowest-numbered matching entry decides; M-mode is
 *  bound only by locked entries; S and U fail when no entry matches and some entry is active.
 *  Checked when a page enters the TLB, at the accessed address: regions are enforced with 4 KiB
 *  granularity (what firmware such as OpenSBI configures); a region boundary inside a page
 *  applies the rule of the first address accessed to the whole page. */
function pmp_allows(h: usize, pa: u64, access: u32, priv: u32): bool {
  let active = false;
  let prev: u64 = 0;
  for (let i: usize = 0; i < 64; i++) {
    const cfg = (load<u64>(h + HART_PMPCFG + ((i >> 3) << 4)) >> ((<u64>i & 7) * 8)) & 0xff;
    const addr = load<u64>(h + HART_PMPADDR + (i << 3));
    const mode = (cfg >> 3) & 3;
    let lo: u64 = 0, hi: u64 = 0;
    if (mode == 1) { // TOR
      lo = prev << 2;
      hi = addr << 2;
    } else if (mode == 2) { // NA4
      lo = addr << 2;
      hi = lo + 4;
    } else if (mode == 3) { // NAPOT: the number of trailing ones gives the size
      const ones = ctz(~addr);
      lo = (addr & ~((<u64>1 << ones) - 1)) << 2;
      hi = ones >= 54 ? <u64>-1 : lo + (<u64>1 << (ones + 3));
    }
    prev = addr;
    if (mode == 0) continue;
    active = true;
    if (pa >= lo && pa < hi) {
      if (priv == 3 && (cfg & 0x80) == 0) return true;
      const need: u64 = access == ACCESS_EXEC ? 4 : access == ACCESS_WRITE ? 2 : 1;
      return (cfg & need) != 0;
    }
  }
  return priv == 3 || !active;
}
