// The CSR file (Zicsr, unprivileged spec chapter 9; privileged spec 1.12 chapters 2-4; Sstc).
// csr_rw performs one CSR instruction's read and write with the privilege rules of section 2.1
// (bits 9:8 give the lowest privilege, bits 11:10 = 3 mark read-only) and reports whether it was
// legal and whether the hart's translation context or pending interrupts may have changed.
import {
  HART_FCSR, HART_TIME, HART_CSR_OLD, HART_PRIV, HART_MSTATUS, HART_MISA, HART_MEDELEG, HART_MIDELEG,
  HART_MIE, HART_MIP, HART_MTVEC, HART_MCOUNTEREN, HART_MENVCFG, HART_MSCRATCH, HART_MEPC, HART_MCAUSE,
  HART_MTVAL, HART_STVEC, HART_SCOUNTEREN, HART_SENVCFG, HART_SSCRATCH, HART_SEPC, HART_SCAUSE, HART_STVAL,
  HART_SATP, HART_STIMECMP, HART_MHARTID, HART_MCOUNTINHIBIT, HART_PMPCFG, HART_PMPADDR, HART_INSTRET,
  MSTATUS_FS_SHIFT, MSTATUS_TVM, HART_MINSTRET_OFF, HART_MCYCLE_OFF, HART_MINSTRET_FROZEN, HART_MCYCLE_FROZEN,
} from '../layout';
import { effective_mip, time_now } from './priv';

export const CSR_ILLEGAL: i32 = 0;
export const CSR_OK: i32 = 1;
/** Legal, and privilege-relevant state changed: re-derive TLB contexts and check interrupts. */
export const CSR_OK_CTX: i32 = 2;
/** Legal, and the address-translation scheme changed: flush the TLB too. */
export const CSR_OK_FLUSH: i32 = 3;

const FS_MASK: u64 = <u64>3 << MSTATUS_FS_SHIFT;
/** Writable mstatus bits: SIE MIE SPIE MPIE SPP MPP FS MPRV SUM MXR TVM TW TSR (section 3.1.6). */
const MSTATUS_WMASK: u64 = 0x7e79aa;
/** sstatus is a view of mstatus: SIE SPIE SPP FS SUM MXR (section 4.1.1). */
const SSTATUS_MASK: u64 = 0xc6122;
/** UXL = SXL = 2 (64-bit), read-only. */
const MSTATUS_XLEN: u64 = 0xa00000000;
const MIP_SW: u64 = 0x222; // SSIP STIP SEIP
const MIE_MASK: u64 = 0xaaa;
const MEDELEG_MASK: u64 = 0xb3ff;

@inline function fs_on(h: usize): bool {
  return (load<u64>(h + HART_MSTATUS) & FS_MASK) != 0;
}
@inline function mark_fs_dirty(h: usize): void {
  store<u64>(h + HART_MSTATUS, load<u64>(h + HART_MSTATUS) | FS_MASK);
}

/** Whether counter `bit` (0 cycle, 1 time, 2 instret, 3+ hpm) is readable at this privilege. */
function counter_ok(h: usize, priv: u32, bit: u32): bool {
  if (priv == 3) return true;
  if (((load<u32>(h + HART_MCOUNTEREN) >> bit) & 1) == 0) return false;
  return priv == 1 || ((load<u32>(h + HART_SCOUNTEREN) >> bit) & 1) != 0;
}

/** op: 1 write, 2 set, 3 clear (funct3 & 3); `write` false when rs1/zimm is x0/0 for set/clear.
 *  `retired` is the instret value as of this instruction. On success the old value is at
 *  h + HART_CSR_OLD. */
export function csr_rw(h: usize, csr: u32, op: u32, src: u64, write: bool, retired: u64): i32 {
  const priv = load<u32>(h + HART_PRIV);
  if (priv < ((csr >> 8) & 3)) return CSR_ILLEGAL;
  if (write && (csr >> 10) == 3) return CSR_ILLEGAL;
  let old: u64 = 0;
  switch (csr) {
    // ---- unprivileged: floating point (section 11.2) and counters (chapter 10) ----
    case 0x001: if (!fs_on(h)) return CSR_ILLEGAL; old = load<u32>(h + HART_FCSR) & 0x1f; break;
    case 0x002: if (!fs_on(h)) return CSR_ILLEGAL; old = (load<u32>(h + HART_FCSR) >> 5) & 7; break;
    case 0x003: if (!fs_on(h)) return CSR_ILLEGAL; old = load<u32>(h + HART_FCSR) & 0xff; break;
    case 0xc00: if (!counter_ok(h, priv, 0)) return CSR_ILLEGAL; old = counter(h, retired, 0); break;
    case 0xc02: if (!counter_ok(h, priv, 2)) return CSR_ILLEGAL; old = counter(h, retired, 2); break;
    case 0xc01: if (!counter_ok(h, priv, 1)) return CSR_ILLEGAL; old = time_now(h); break;
    // ---- supervisor (chapter 4) ----
    case 0x100: old = mstatus_read(h) & (SSTATUS_MASK | MSTATUS_XLEN & 0x300000000 | (<u64>1 << 63)); break;
    case 0x104: old = load<u64>(h + HART_MIE) & load<u64>(h + HART_MIDELEG); break;
    case 0x105: old = load<u64>(h + HART_STVEC); break;
    case 0x106: old = load<u64>(h + HART_SCOUNTEREN); break;
    case 0x10a: old = load<u64>(h + HART_SENVCFG); break;
    case 0x140: old = load<u64>(h + HART_SSCRATCH); break;
    case 0x141: old = load<u64>(h + HART_SEPC); break;
    case 0x142: old = load<u64>(h + HART_SCAUSE); break;
    case 0x143: old = load<u64>(h + HART_STVAL); break;
    case 0x144: old = effective_mip(h) & load<u64>(h + HART_MIDELEG); break;
    case 0x14d:
      if (priv == 1 && ((load<u64>(h + HART_MENVCFG) >> 63) == 0 || !counter_ok(h, priv, 1))) return CSR_ILLEGAL;
      old = load<u64>(h + HART_STIMECMP);
      break;
    case 0x180:
      if (priv == 1 && (load<u64>(h + HART_MSTATUS) & MSTATUS_TVM) != 0) return CSR_ILLEGAL;
      old = load<u64>(h + HART_SATP);
      break;
    // ---- machine (chapter 3) ----
    case 0x300: old = mstatus_read(h); break;
    case 0x301: old = load<u64>(h + HART_MISA); break;
    case 0x302: old = load<u64>(h + HART_MEDELEG); break;
    case 0x303: old = load<u64>(h + HART_MIDELEG); break;
    case 0x304: old = load<u64>(h + HART_MIE); break;
    case 0x305: old = load<u64>(h + HART_MTVEC); break;
    case 0x306: old = load<u64>(h + HART_MCOUNTEREN); break;
    case 0x30a: old = load<u64>(h + HART_MENVCFG); break;
    case 0x320: old = load<u64>(h + HART_MCOUNTINHIBIT); break;
    case 0x340: old = load<u64>(h + HART_MSCRATCH); break;
    case 0x341: old = load<u64>(h + HART_MEPC); break;
    case 0x342: old = load<u64>(h + HART_MCAUSE); break;
    case 0x343: old = load<u64>(h + HART_MTVAL); break;
    case 0x344: old = effective_mip(h); break;
    case 0xb00: old = counter(h, retired, 0); break;
    case 0xb02: old = counter(h, retired, 2); break;
    case 0xf11: case 0xf12: case 0xf13: case 0xf15: old = 0; break;
    case 0xf14: old = load<u64>(h + HART_MHARTID); break;
    default:
      if (csr >= 0x3a0 && csr <= 0x3af) { // pmpcfg: even numbers only on RV64 (section 3.7.1)
        if ((csr & 1) != 0) return CSR_ILLEGAL;
        old = load<u64>(h + HART_PMPCFG + ((<usize>csr - 0x3a0) << 3));
      } else if (csr >= 0x3b0 && csr <= 0x3ef) {
        old = load<u64>(h + HART_PMPADDR + ((<usize>csr - 0x3b0) << 3));
      } else if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) {
        old = 0; // hpm counters and events: hardwired to zero
      } else if (csr >= 0xc03 && csr <= 0xc1f) {
        if (!counter_ok(h, priv, csr & 31)) return CSR_ILLEGAL;
        old = 0;
      } else {
        return CSR_ILLEGAL;
      }
  }
  store<u64>(h + HART_CSR_OLD, old);
  if (!write) return CSR_OK;
  const v: u64 = op == 1 ? src : op == 2 ? old | src : old & ~src;
  switch (csr) {
    case 0x001: store<u32>(h + HART_FCSR, (load<u32>(h + HART_FCSR) & ~0x1f) | (<u32>v & 0x1f)); mark_fs_dirty(h); break;
    case 0x002: store<u32>(h + HART_FCSR, (load<u32>(h + HART_FCSR) & 0x1f) | ((<u32>v & 7) << 5)); mark_fs_dirty(h); break;
    case 0x003: store<u32>(h + HART_FCSR, <u32>v & 0xff); mark_fs_dirty(h); break;
    case 0x100: mstatus_write(h, (load<u64>(h + HART_MSTATUS) & ~SSTATUS_MASK) | (v & SSTATUS_MASK)); return CSR_OK_CTX;
    case 0x104: {
      const d = load<u64>(h + HART_MIDELEG);
      store<u64>(h + HART_MIE, (load<u64>(h + HART_MIE) & ~d) | (v & d & MIE_MASK));
      return CSR_OK_CTX;
    }
    case 0x105: store<u64>(h + HART_STVEC, tvec(v)); break;
    case 0x106: store<u64>(h + HART_SCOUNTEREN, v & 0xffffffff); break;
    case 0x10a: store<u64>(h + HART_SENVCFG, v & 1); break;
    case 0x140: store<u64>(h + HART_SSCRATCH, v); break;
    case 0x141: store<u64>(h + HART_SEPC, v & ~(<u64>1)); break;
    case 0x142: store<u64>(h + HART_SCAUSE, v); break;
    case 0x143: store<u64>(h + HART_STVAL, v); break;
    case 0x144: {
      const m: u64 = 2 & load<u64>(h + HART_MIDELEG); // only SSIP is writable through sip
      const sw = load<u64>(h + HART_MIP);
      store<u64>(h + HART_MIP, (sw & ~m) | (rmw(op, sw, src) & m));
      return CSR_OK_CTX;
    }
    case 0x14d: store<u64>(h + HART_STIMECMP, v); return CSR_OK_CTX;
    case 0x180: {
      const mode = v >> 60;
      if (mode != 0 && mode != 8) break; // unsupported MODE: the write has no effect (section 4.1.11)
      const next = (v & (<u64>0xf << 60)) | (v & (<u64>0x7f << 44)) | (v & 0xfffffffffff);
      const prev = load<u64>(h + HART_SATP);
      store<u64>(h + HART_SATP, next);
      return (prev >> 60) != mode ? CSR_OK_FLUSH : CSR_OK_CTX;
    }
    case 0x300: mstatus_write(h, v); return CSR_OK_CTX;
    case 0x301: break; // misa is read-only here
    case 0x302: store<u64>(h + HART_MEDELEG, v & MEDELEG_MASK); break;
    case 0x303: store<u64>(h + HART_MIDELEG, v & MIP_SW); return CSR_OK_CTX;
    case 0x304: store<u64>(h + HART_MIE, v & MIE_MASK); return CSR_OK_CTX;
    case 0x305: store<u64>(h + HART_MTVEC, tvec(v)); break;
    case 0x306: store<u64>(h + HART_MCOUNTEREN, v & 0xffffffff); break;
    case 0x30a: store<u64>(h + HART_MENVCFG, v & ((<u64>1 << 63) | 1)); return CSR_OK_CTX;
    case 0x320: {
      // Freeze or release mcycle (bit 0) and minstret (bit 2) at their current values.
      const prev = load<u64>(h + HART_MCOUNTINHIBIT);
      const next = v & 0xfffffffd;
      for (let bit: u32 = 0; bit <= 2; bit += 2) {
        const was = ((prev >> bit) & 1) != 0, now = ((next >> bit) & 1) != 0;
        if (was == now) continue;
        const value = counter(h, retired, bit);
        store<u64>(h + HART_MCOUNTINHIBIT, now ? prev | (<u64>1 << bit) : prev & ~(<u64>1 << bit));
        set_counter(h, retired, bit, value);
      }
      store<u64>(h + HART_MCOUNTINHIBIT, next);
      break;
    }
    case 0x340: store<u64>(h + HART_MSCRATCH, v); break;
    case 0x341: store<u64>(h + HART_MEPC, v & ~(<u64>1)); break;
    case 0x342: store<u64>(h + HART_MCAUSE, v); break;
    case 0x343: store<u64>(h + HART_MTVAL, v); break;
    case 0x344: {
      let m = MIP_SW;
      if ((load<u64>(h + HART_MENVCFG) >> 63) != 0) m &= ~(<u64>0x20); // Sstc owns STIP
      // The read-modify-write of csrrs/csrrc acts on the software-written bits only, never on
      // what the interrupt controllers drive (section 3.1.9: "the value used in the
      // read-modify-write is the software-writable SEIP bit"), or a device's SEIP would latch.
      const sw = load<u64>(h + HART_MIP);
      store<u64>(h + HART_MIP, (sw & ~m) | (rmw(op, sw, src) & m));
      return CSR_OK_CTX;
    }
    case 0xb00: set_counter(h, retired, 0, v); break;
    case 0xb02: set_counter(h, retired, 2, v); break;
    default:
      if (csr >= 0x3a0 && csr <= 0x3af) {
        // Locked entries ignore writes (section 3.7.1); the permission change reaches cached
        // translations through a TLB flush.
        const a = h + HART_PMPCFG + ((<usize>csr - 0x3a0) << 3);
        const cur = load<u64>(a);
        let next: u64 = 0;
        for (let i: u64 = 0; i < 8; i++) {
          const byte = (cur >> (i * 8)) & 0xff;
          let nb = (byte & 0x80) != 0 ? byte : (v >> (i * 8)) & 0x9f;
          if ((nb & 3) == 2) nb &= ~(<u64>3); // W without R is reserved: WARL to no access
          next |= nb << (i * 8);
        }
        store<u64>(a, next);
        return CSR_OK_FLUSH;
      }
      if (csr >= 0x3b0 && csr <= 0x3ef) {
        const i = <usize>csr - 0x3b0;
        if (pmp_locked(h, i)) break;
        store<u64>(h + HART_PMPADDR + (i << 3), v & 0x3fffffffffffff);
        return CSR_OK_FLUSH;
      }
      break; // hpm counters/events: writes ignored
  }
  return CSR_OK;
}

/** mcycle (bit 0) or minstret (bit 2): retired instructions plus an offset, or the held value while
 *  mcountinhibit stops it. (rvisor's cycle is its instruction count: one cycle per instruction.) */
function counter(h: usize, retired: u64, bit: u32): u64 {
  const inhibited = ((load<u64>(h + HART_MCOUNTINHIBIT) >> bit) & 1) != 0;
  if (bit == 0) return inhibited ? load<u64>(h + HART_MCYCLE_FROZEN) : retired + load<u64>(h + HART_MCYCLE_OFF);
  return inhibited ? load<u64>(h + HART_MINSTRET_FROZEN) : retired + load<u64>(h + HART_MINSTRET_OFF);
}

function set_counter(h: usize, retired: u64, bit: u32, v: u64): void {
  const inhibited = ((load<u64>(h + HART_MCOUNTINHIBIT) >> bit) & 1) != 0;
  if (bit == 0) {
    if (inhibited) store<u64>(h + HART_MCYCLE_FROZEN, v);
    else store<u64>(h + HART_MCYCLE_OFF, v - retired);
  } else {
    if (inhibited) store<u64>(h + HART_MINSTRET_FROZEN, v);
    else store<u64>(h + HART_MINSTRET_OFF, v - retired);
  }
}

/** pmpaddr i cannot be written when its entry is locked, or when entry i+1 is a locked TOR entry
 *  (section 3.7.1). */
function pmp_locked(h: usize, i: usize): bool {
  if ((pmp_cfg(h, i) & 0x80) != 0) return true;
  return i < 63 && (pmp_cfg(h, i + 1) & 0x80) != 0 && ((pmp_cfg(h, i + 1) >> 3) & 3) == 1;
}

/** The configuration byte of PMP entry i (pmpcfg0 holds entries 0-7, pmpcfg2 8-15, ...). */
export function pmp_cfg(h: usize, i: usize): u64 {
  return (load<u64>(h + HART_PMPCFG + ((i >> 3) << 4)) >> ((<u64>i & 7) * 8)) & 0xff;
}

@inline function rmw(op: u32, old: u64, src: u64): u64 {
  return op == 1 ? src : op == 2 ? old | src : old & ~src;
}

function tvec(v: u64): u64 {
  return (v & 3) >= 2 ? v & ~(<u64>3) : v; // modes 2 and 3 are reserved: keep direct
}

function mstatus_read(h: usize): u64 {
  const s = load<u64>(h + HART_MSTATUS);
  return s | MSTATUS_XLEN | ((s & FS_MASK) == FS_MASK ? <u64>1 << 63 : 0);
}

function mstatus_write(h: usize, v: u64): void {
  let next = v & MSTATUS_WMASK;
  if (((next >> 11) & 3) == 2) next &= ~(<u64>3 << 11); // MPP = 2 is reserved: WARL to U
  store<u64>(h + HART_MSTATUS, next);
}

export { mark_fs_dirty, fs_on };
