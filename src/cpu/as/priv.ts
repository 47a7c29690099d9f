// Privileged control flow of a system-VM hart (privileged spec 1.12): taking traps with
// medeleg/mideleg delegation (section 3.1.8), mret/sret (3.3.2), pending-interrupt selection and
// priority (3.1.9), and the translation contexts the TLB keys carry (mmu.ts).
import {
  HART_PRIV, HART_MSTATUS, HART_MEDELEG, HART_MIDELEG, HART_MIE, HART_MIP, HART_MIP_HOST, HART_MTVEC,
  HART_MEPC, HART_MCAUSE, HART_MTVAL, HART_STVEC, HART_SEPC, HART_SCAUSE, HART_STVAL, HART_SATP,
  HART_MENVCFG, HART_STIMECMP, HART_TIME, HART_CAUSE, HART_TVAL, HART_FLAGS, HF_SYSTEM,
  MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE, MSTATUS_SPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV,
  MSTATUS_SUM, MSTATUS_MXR, IRQ_SSI, IRQ_MSI, IRQ_STI, IRQ_MTI, IRQ_SEI, IRQ_MEI,
} from '../layout';
import { CTX_SHIFT } from './mmu';

/** The hart's current time (mtime), from the host: the time CSR and Sstc read it live, so it
 *  never lags the CLINT's mtime (privileged spec section 3.2.1). */
@external("env", "time_now")
export declare function time_now(hart: usize): u64;

/** The effective mip: software-written bits, host-driven bits, and Sstc's STIP when enabled. */
export function effective_mip(h: usize): u64 {
  let mip = load<u64>(h + HART_MIP) | load<u64>(h + HART_MIP_HOST);
  if ((load<u64>(h + HART_MENVCFG) >> 63) != 0) {
    // Sstc: STIP reflects time >= stimecmp and is not writable (Sstc section 2.1)
    mip &= ~(<u64>1 << IRQ_STI);
    if (time_now(h) >= load<u64>(h + HART_STIMECMP)) mip |= <u64>1 << IRQ_STI;
  }
  return mip;
}

/** The interrupt to take now (its number), or -1 (section 3.1.9: priority MEI, MSI, MTI, SEI,
 *  SSI, STI; M-level interrupts are enabled below M or with MIE; S-level below S or with SIE). */
export function pending_interrupt(h: usize): i32 {
  if ((load<u32>(h + HART_FLAGS) & HF_SYSTEM) == 0) return -1;
  const pending = effective_mip(h) & load<u64>(h + HART_MIE);
  if (pending == 0) return -1;
  const priv = load<u32>(h + HART_PRIV);
  const mstatus = load<u64>(h + HART_MSTATUS);
  const mideleg = load<u64>(h + HART_MIDELEG);
  let enabled: u64 = 0;
  if (priv < 3 || (mstatus & MSTATUS_MIE) != 0) enabled |= pending & ~mideleg;
  if (priv < 1 || (priv == 1 && (mstatus & MSTATUS_SIE) != 0)) enabled |= pending & mideleg;
  if (enabled == 0) return -1;
  if (enabled & (1 << IRQ_MEI)) return IRQ_MEI;
  if (enabled & (1 << IRQ_MSI)) return IRQ_MSI;
  if (enabled & (1 << IRQ_MTI)) return IRQ_MTI;
  if (enabled & (1 << IRQ_SEI)) return IRQ_SEI;
  if (enabled & (1 << IRQ_SSI)) return IRQ_SSI;
  if (enabled & (1 << IRQ_STI)) return IRQ_STI;
  return -1;
}

/** True when WFI may complete: some interrupt is pending and enabled in mie, whatever the global
 *  enables (section 3.3.3). */
export function wfi_wakes(h: usize): bool {
  return (effective_mip(h) & load<u64>(h + HART_MIE)) != 0;
}

/** Enters the trap handler for an exception (cause, tval) or an interrupt (interrupt = true) that
 *  happened at pc. Returns the handler's pc. */
export function take_trap(h: usize, cause: u64, tval: u64, pc: u64, interrupt: bool): u64 {
  const priv = load<u32>(h + HART_PRIV);
  const deleg = load<u64>(h + (interrupt ? HART_MIDELEG : HART_MEDELEG));
  let mstatus = load<u64>(h + HART_MSTATUS);
  const code = interrupt ? cause | (<u64>1 << 63) : cause;
  if (priv <= 1 && ((deleg >> cause) & 1) != 0) {
    store<u64>(h + HART_SEPC, pc);
    store<u64>(h + HART_SCAUSE, code);
    store<u64>(h + HART_STVAL, tval);
    mstatus = (mstatus & ~(MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SIE))
      | ((mstatus & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0) | (priv == 1 ? MSTATUS_SPP : 0);
    store<u64>(h + HART_MSTATUS, mstatus);
    store<u64>(h + HART_PRIV, 1);
    const tvec = load<u64>(h + HART_STVEC);
    return (tvec & ~(<u64>3)) + (interrupt && (tvec & 3) == 1 ? cause << 2 : 0);
  }
  store<u64>(h + HART_MEPC, pc);
  store<u64>(h + HART_MCAUSE, code);
  store<u64>(h + HART_MTVAL, tval);
  mstatus = (mstatus & ~(MSTATUS_MPIE | (<u64>3 << MSTATUS_MPP_SHIFT) | MSTATUS_MIE))
    | ((mstatus & MSTATUS_MIE) != 0 ? MSTATUS_MPIE : 0) | (<u64>priv << MSTATUS_MPP_SHIFT);
  store<u64>(h + HART_MSTATUS, mstatus);
  store<u64>(h + HART_PRIV, 3);
  const tvec = load<u64>(h + HART_MTVEC);
  return (tvec & ~(<u64>3)) + (interrupt && (tvec & 3) == 1 ? cause << 2 : 0);
}

/** Takes the exception recorded in HART_CAUSE/HART_TVAL at pc. */
export function take_recorded_trap(h: usize, pc: u64): u64 {
  return take_trap(h, load<u64>(h + HART_CAUSE), load<u64>(h + HART_TVAL), pc, false);
}

/** mret: returns the new pc (section 3.3.2). */
export function do_mret(h: usize): u64 {
  let mstatus = load<u64>(h + HART_MSTATUS);
  const mpp = <u32>(mstatus >> MSTATUS_MPP_SHIFT) & 3;
  mstatus = (mstatus & ~(MSTATUS_MIE | (<u64>3 << MSTATUS_MPP_SHIFT))) | MSTATUS_MPIE
    | ((mstatus & MSTATUS_MPIE) != 0 ? MSTATUS_MIE : 0);
  if (mpp != 3) mstatus &= ~MSTATUS_MPRV;
  store<u64>(h + HART_MSTATUS, mstatus);
  store<u64>(h + HART_PRIV, mpp);
  return load<u64>(h + HART_MEPC);
}

/** sret: returns the new pc. */
export function do_sret(h: usize): u64 {
  let mstatus = load<u64>(h + HART_MSTATUS);
  const spp: u32 = (mstatus & MSTATUS_SPP) != 0 ? 1 : 0;
  mstatus = (mstatus & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | MSTATUS_SPIE
    | ((mstatus & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0);
  store<u64>(h + HART_MSTATUS, mstatus);
  store<u64>(h + HART_PRIV, spp);
  return load<u64>(h + HART_SEPC);
}

/** Translation context of instruction fetches (0 for a process-VM hart). */
export function fetch_ctx(h: usize): u64 {
  if ((load<u32>(h + HART_FLAGS) & HF_SYSTEM) == 0) return 0;
  const priv = load<u64>(h + HART_PRIV);
  const asid = (load<u64>(h + HART_SATP) >> 44) & 0x7f;
  return (1 | (priv << 1) | (asid << 5)) << CTX_SHIFT;
}

/** Translation context of loads and stores: MPRV in M-mode uses MPP's privilege (section 3.1.6.3). */
export function data_ctx(h: usize): u64 {
  if ((load<u32>(h + HART_FLAGS) & HF_SYSTEM) == 0) return 0;
  const mstatus = load<u64>(h + HART_MSTATUS);
  let priv = load<u64>(h + HART_PRIV);
  if (priv == 3 && (mstatus & MSTATUS_MPRV) != 0) priv = (mstatus >> MSTATUS_MPP_SHIFT) & 3;
  const asid = (load<u64>(h + HART_SATP) >> 44) & 0x7f;
  const sum: u64 = (mstatus & MSTATUS_SUM) != 0 ? 1 : 0;
  const mxr: u64 = (mstatus & MSTATUS_MXR) != 0 ? 1 : 0;
  return (1 | (priv << 1) | (sum << 3) | (mxr << 4) | (asid << 5)) << CTX_SHIFT;
}

export { HART_CAUSE, HART_TVAL };
