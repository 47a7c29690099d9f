// The CSRs user mode can reach (unprivileged spec chapter 9 Zicsr; fcsr section 11.2; counters
// chapter 10 "Zicntr"). csr_rw performs one CSR instruction's read and write and reports whether
// it is legal; an illegal access becomes an illegal-instruction trap in the interpreter.
import { HART_FCSR, HART_TIME, HART_CSR_OLD } from '../layout';

export const CSR_FFLAGS: u32 = 0x001;
export const CSR_FRM: u32 = 0x002;
export const CSR_FCSR: u32 = 0x003;
export const CSR_CYCLE: u32 = 0xc00;
export const CSR_TIME: u32 = 0xc01;
export const CSR_INSTRET: u32 = 0xc02;


/** op: 1 write, 2 set, 3 clear (funct3 & 3); `write` false when rs1/zimm is x0/0 for set/clear
 *  (no write side effects). `retired` is the instret value as of this instruction. Returns false
 *  if the access is illegal; else the old value is at h + HART_CSR_OLD. */
export function csr_rw(h: usize, csr: u32, op: u32, src: u64, write: bool, retired: u64): bool {
  let old: u64;
  const fcsr = load<u32>(h + HART_FCSR);
  switch (csr) {
    case CSR_FFLAGS: old = fcsr & 0x1f; break;
    case CSR_FRM: old = (fcsr >> 5) & 7; break;
    case CSR_FCSR: old = fcsr & 0xff; break;
    case CSR_CYCLE:
    case CSR_INSTRET: old = retired; break;
    case CSR_TIME: old = load<u64>(h + HART_TIME); break;
    default: return false;
  }
  store<u64>(h + HART_CSR_OLD, old);
  if (!write) return true;
  let v: u64 = op == 1 ? src : op == 2 ? old | src : old & ~src;
  switch (csr) {
    case CSR_FFLAGS: store<u32>(h + HART_FCSR, (fcsr & ~0x1f) | (<u32>v & 0x1f)); break;
    case CSR_FRM: store<u32>(h + HART_FCSR, (fcsr & 0x1f) | ((<u32>v & 7) << 5)); break;
    case CSR_FCSR: store<u32>(h + HART_FCSR, <u32>v & 0xff); break;
    default: return false; // counters are read-only in user mode
  }
  return true;
}
