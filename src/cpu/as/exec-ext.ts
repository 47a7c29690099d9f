// Execution of the instructions kept out of the interpreter's hot loop: the A extension
// (chapter 8), F and D (chapters 11 and 12) and Zicsr (chapter 9). Returns 0 to continue,
// STOP_TRAP after recording a trap, or EXT_FLUSH_FETCH when the fetch fast path and the block
// being run must be re-validated (a TLB miss may have moved a page to a new frame or let the host
// write guest memory; an atomic may have written code).
import {
  HART_F, HART_FCSR, HART_INSTRET, HART_RESERVATION, STOP_TRAP, STOP_WFI, CAUSE_ILLEGAL_INSTRUCTION,
  CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE, HART_CSR_OLD, HART_PRIV, HART_MSTATUS, HART_PC,
  MSTATUS_TSR, MSTATUS_TW, MSTATUS_TVM, MSTATUS_FS_SHIFT, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CACHE_EPOCH,
} from '../layout';
import * as I from './generated/decode';
import { xlate, set_trap, code_hit, code_cache, ACCESS_READ, ACCESS_WRITE } from './mem';
import { XLATE_MMIO } from './mmu';
import { sext32 } from './alu';
import { csr_rw, CSR_ILLEGAL, CSR_OK, CSR_OK_FLUSH } from './csr';
import { do_mret, do_sret } from './priv';
import * as F from './fpu';

export const EXT_FLUSH_FETCH: i32 = 7;
/** Privilege-relevant state changed: re-derive translation contexts, check interrupts. */
export const EXT_CONTEXT: i32 = 8;
/** As EXT_CONTEXT, and the TLB must be flushed. */
export const EXT_FLUSH_TLB: i32 = 9;
/** As EXT_CONTEXT, and execution continues at the pc stored in HART_PC (mret, sret). */
export const EXT_JUMP: i32 = 10;

const FS_MASK: u64 = <u64>3 << MSTATUS_FS_SHIFT;

@inline function illegal(h: usize, w: u32): i32 {
  set_trap(h, CAUSE_ILLEGAL_INSTRUCTION, w);
  return STOP_TRAP;
}

/** Host address for an atomic access at va (aligned to `size`), or 0 after recording a trap:
 *  misaligned (section 8.4: address-misaligned, or access fault), unmapped, or a device. */
function amo_addr(h: usize, va: u64, size: u32, access: u32, dctx: u64): usize {
  if ((<u32>va & (size - 1)) != 0) {
    set_trap(h, access == ACCESS_READ ? CAUSE_MISALIGNED_LOAD : CAUSE_MISALIGNED_STORE, va);
    return 0;
  }
  const a = xlate(h, va, access, dctx);
  if (a == XLATE_MMIO) {
    set_trap(h, access == ACCESS_READ ? CAUSE_LOAD_ACCESS : CAUSE_STORE_ACCESS, va);
    return 0;
  }
  return a;
}

@inline function rx(h: usize, r: u32): u64 { return load<u64>(h + (<usize>r << 3)); }
@inline function wx(h: usize, r: u32, v: u64): void { store<u64>(h + (<usize>r << 3), v); }
@inline function rf(h: usize, r: u32): u64 { return load<u64>(h + HART_F + (<usize>r << 3)); }
@inline function wf(h: usize, r: u32, v: u64): void { store<u64>(h + HART_F + (<usize>r << 3), v); }
/** A single-precision operand: NaN-boxed values pass, anything else reads as the canonical NaN
 *  (spec section 12.2). */
@inline function rs(h: usize, r: u32): u32 {
  const v = rf(h, r);
  return (v >> 32) == 0xffffffff ? <u32>v : 0x7fc00000;
}
@inline function ws(h: usize, r: u32, v: u32): void { wf(h, r, 0xffffffff00000000 | <u64>v); }

/** Rounding mode of an FP instruction: the static field, or frm when it is 7 (dynamic). Returns 5+
 *  for reserved values, which make the instruction illegal (spec section 11.2). */
@inline function rounding(h: usize, w: u32): u32 {
  const rm = (w >> 12) & 7;
  return rm == 7 ? (load<u32>(h + HART_FCSR) >> 5) & 7 : rm;
}

export function exec_ext(h: usize, id: u32, ins: u32, w: u32, n: i32, pc: u64, dctx: u64): i32 {
  const rd = (ins >> 7) & 31, r1 = (ins >> 15) & 31, r2 = (ins >> 20) & 31;
  const fl = h + HART_FCSR;
  const cc = code_cache(h);
  const epoch = load<u32>(cc + CACHE_EPOCH);
  let flush = false;
  // F and D: illegal while mstatus.FS is Off; any executed FP instruction marks the state dirty
  // (privileged spec section 3.1.6.6). A process-VM hart runs with FS = Dirty.
  if (id >= I.ID_FLW && id <= I.ID_FCVT_D_S) {
    const mstatus = load<u64>(h + HART_MSTATUS);
    if ((mstatus & FS_MASK) == 0) return illegal(h, w);
    if ((mstatus & FS_MASK) != FS_MASK) store<u64>(h + HART_MSTATUS, mstatus | FS_MASK);
  }
  switch (id) {
      // ---- privileged instructions (privileged spec 3.3, 4.2.1) ----
      case I.ID_MRET:
        if (load<u64>(h + HART_PRIV) != 3) return illegal(h, w);
        store<u64>(h + HART_PC, do_mret(h));
        return EXT_JUMP;
      case I.ID_SRET: {
        const priv = load<u64>(h + HART_PRIV);
        if (priv == 0 || (priv == 1 && (load<u64>(h + HART_MSTATUS) & MSTATUS_TSR) != 0)) return illegal(h, w);
        store<u64>(h + HART_PC, do_sret(h));
        return EXT_JUMP;
      }
      case I.ID_WFI: {
        const priv = load<u64>(h + HART_PRIV);
        if (priv == 0 || (priv == 1 && (load<u64>(h + HART_MSTATUS) & MSTATUS_TW) != 0)) return illegal(h, w);
        return STOP_WFI;
      }
      case I.ID_SFENCE_VMA: {
        const priv = load<u64>(h + HART_PRIV);
        if (priv == 0 || (priv == 1 && (load<u64>(h + HART_MSTATUS) & MSTATUS_TVM) != 0)) return illegal(h, w);
        return EXT_FLUSH_TLB;
      }

      // ---- Zicsr (chapter 9) ----
      case I.ID_CSRRW: case I.ID_CSRRS: case I.ID_CSRRC: case I.ID_CSRRWI: case I.ID_CSRRSI: case I.ID_CSRRCI: {
        const f3 = (ins >> 12) & 7;
        const src: u64 = f3 >= 5 ? <u64>r1 : rx(h, r1);
        const write = (f3 & 3) == 1 || r1 != 0;
        const retired = load<u64>(h + HART_INSTRET) + <u64>n;
        const r = csr_rw(h, ins >> 20, f3 & 3, src, write, retired);
        if (r == CSR_ILLEGAL) return illegal(h, w);
        wx(h, rd, load<u64>(h + HART_CSR_OLD));
        if (r != CSR_OK) return r == CSR_OK_FLUSH ? EXT_FLUSH_TLB : EXT_CONTEXT;
        break;
      }

      // ---- A (chapter 8): one hart runs at a time, so each AMO is trivially atomic ----
      case I.ID_LR_W: case I.ID_LR_D: {
        const va = rx(h, r1);
        const size: u32 = id == I.ID_LR_W ? 4 : 8;
        const a = amo_addr(h, va, size, ACCESS_READ, dctx);
        if (a == 0) return STOP_TRAP;
        wx(h, rd, size == 4 ? <u64><i64>load<i32>(a) : load<u64>(a));
        store<u64>(h + HART_RESERVATION, va);
        break;
      }
      case I.ID_SC_W: case I.ID_SC_D: {
        const va = rx(h, r1);
        const size: u32 = id == I.ID_SC_W ? 4 : 8;
        const a = amo_addr(h, va, size, ACCESS_WRITE, dctx);
        if (a == 0) return STOP_TRAP;
        flush = code_hit(cc, a);
        if (load<u64>(h + HART_RESERVATION) == va) {
          if (size == 4) store<u32>(a, <u32>rx(h, r2)); else store<u64>(a, rx(h, r2));
          wx(h, rd, 0);
        } else {
          wx(h, rd, 1);
        }
        store<i64>(h + HART_RESERVATION, -1);
        break;
      }
      case I.ID_AMOSWAP_W: case I.ID_AMOADD_W: case I.ID_AMOXOR_W: case I.ID_AMOAND_W: case I.ID_AMOOR_W:
      case I.ID_AMOMIN_W: case I.ID_AMOMAX_W: case I.ID_AMOMINU_W: case I.ID_AMOMAXU_W: {
        const va = rx(h, r1);
        const a = amo_addr(h, va, 4, ACCESS_WRITE, dctx);
        if (a == 0) return STOP_TRAP;
        flush = code_hit(cc, a);
        const old = load<i32>(a), src = <i32>rx(h, r2);
        let v: i32;
        switch (id) {
          case I.ID_AMOSWAP_W: v = src; break;
          case I.ID_AMOADD_W: v = old + src; break;
          case I.ID_AMOXOR_W: v = old ^ src; break;
          case I.ID_AMOAND_W: v = old & src; break;
          case I.ID_AMOOR_W: v = old | src; break;
          case I.ID_AMOMIN_W: v = old < src ? old : src; break;
          case I.ID_AMOMAX_W: v = old > src ? old : src; break;
          case I.ID_AMOMINU_W: v = <u32>old < <u32>src ? old : src; break;
          default: v = <u32>old > <u32>src ? old : src; break;
        }
        store<i32>(a, v);
        wx(h, rd, <u64><i64>old);
        break;
      }
      case I.ID_AMOSWAP_D: case I.ID_AMOADD_D: case I.ID_AMOXOR_D: case I.ID_AMOAND_D: case I.ID_AMOOR_D:
      case I.ID_AMOMIN_D: case I.ID_AMOMAX_D: case I.ID_AMOMINU_D: case I.ID_AMOMAXU_D: {
        const va = rx(h, r1);
        const a = amo_addr(h, va, 8, ACCESS_WRITE, dctx);
        if (a == 0) return STOP_TRAP;
        flush = code_hit(cc, a);
        const old = load<u64>(a), src = rx(h, r2);
        let v: u64;
        switch (id) {
          case I.ID_AMOSWAP_D: v = src; break;
          case I.ID_AMOADD_D: v = old + src; break;
          case I.ID_AMOXOR_D: v = old ^ src; break;
          case I.ID_AMOAND_D: v = old & src; break;
          case I.ID_AMOOR_D: v = old | src; break;
          case I.ID_AMOMIN_D: v = <i64>old < <i64>src ? old : src; break;
          case I.ID_AMOMAX_D: v = <i64>old > <i64>src ? old : src; break;
          case I.ID_AMOMINU_D: v = old < src ? old : src; break;
          default: v = old > src ? old : src; break;
        }
        store<u64>(a, v);
        wx(h, rd, old);
        break;
      }

      // ---- F and D (chapters 11 and 12) ----
      case I.ID_FMADD_S: case I.ID_FMSUB_S: case I.ID_FNMSUB_S: case I.ID_FNMADD_S: {
        const rm = rounding(h, ins);
        if (rm > 4) { return illegal(h, w); }
        ws(h, rd, F.f32_madd(fl, rs(h, r1), rs(h, r2), rs(h, ins >> 27), rm, (ins >> 2) & 3));
        break;
      }
      case I.ID_FMADD_D: case I.ID_FMSUB_D: case I.ID_FNMSUB_D: case I.ID_FNMADD_D: {
        const rm = rounding(h, ins);
        if (rm > 4) { return illegal(h, w); }
        wf(h, rd, F.f64_madd(fl, rf(h, r1), rf(h, r2), rf(h, ins >> 27), rm, (ins >> 2) & 3));
        break;
      }
      case I.ID_FADD_S: case I.ID_FSUB_S: case I.ID_FMUL_S: case I.ID_FDIV_S: case I.ID_FSQRT_S:
      case I.ID_FCVT_W_S: case I.ID_FCVT_WU_S: case I.ID_FCVT_L_S: case I.ID_FCVT_LU_S:
      case I.ID_FCVT_S_W: case I.ID_FCVT_S_WU: case I.ID_FCVT_S_L: case I.ID_FCVT_S_LU: case I.ID_FCVT_S_D: {
        const rm = rounding(h, ins);
        if (rm > 4) { return illegal(h, w); }
        switch (id) {
          case I.ID_FADD_S: ws(h, rd, F.f32_add(fl, rs(h, r1), rs(h, r2), rm)); break;
          case I.ID_FSUB_S: ws(h, rd, F.f32_sub(fl, rs(h, r1), rs(h, r2), rm)); break;
          case I.ID_FMUL_S: ws(h, rd, F.f32_mul(fl, rs(h, r1), rs(h, r2), rm)); break;
          case I.ID_FDIV_S: ws(h, rd, F.f32_div(fl, rs(h, r1), rs(h, r2), rm)); break;
          case I.ID_FSQRT_S: ws(h, rd, F.f32_sqrt(fl, rs(h, r1), rm)); break;
          case I.ID_FCVT_W_S: wx(h, rd, F.f32_to_i32(fl, rs(h, r1), rm)); break;
          case I.ID_FCVT_WU_S: wx(h, rd, F.f32_to_u32(fl, rs(h, r1), rm)); break;
          case I.ID_FCVT_L_S: wx(h, rd, F.f32_to_i64(fl, rs(h, r1), rm)); break;
          case I.ID_FCVT_LU_S: wx(h, rd, F.f32_to_u64(fl, rs(h, r1), rm)); break;
          case I.ID_FCVT_S_W: ws(h, rd, F.i32_to_f32(fl, rx(h, r1), rm)); break;
          case I.ID_FCVT_S_WU: ws(h, rd, F.u32_to_f32(fl, rx(h, r1), rm)); break;
          case I.ID_FCVT_S_L: ws(h, rd, F.i64_to_f32(fl, rx(h, r1), rm)); break;
          case I.ID_FCVT_S_LU: ws(h, rd, F.u64_to_f32(fl, rx(h, r1), rm)); break;
          default: ws(h, rd, F.f64_to_f32(fl, rf(h, r1), rm)); break;
        }
        break;
      }
      case I.ID_FADD_D: case I.ID_FSUB_D: case I.ID_FMUL_D: case I.ID_FDIV_D: case I.ID_FSQRT_D:
      case I.ID_FCVT_W_D: case I.ID_FCVT_WU_D: case I.ID_FCVT_L_D: case I.ID_FCVT_LU_D:
      case I.ID_FCVT_D_W: case I.ID_FCVT_D_WU: case I.ID_FCVT_D_L: case I.ID_FCVT_D_LU: case I.ID_FCVT_D_S: {
        const rm = rounding(h, ins);
        if (rm > 4) { return illegal(h, w); }
        switch (id) {
          case I.ID_FADD_D: wf(h, rd, F.f64_add(fl, rf(h, r1), rf(h, r2), rm)); break;
          case I.ID_FSUB_D: wf(h, rd, F.f64_sub(fl, rf(h, r1), rf(h, r2), rm)); break;
          case I.ID_FMUL_D: wf(h, rd, F.f64_mul(fl, rf(h, r1), rf(h, r2), rm)); break;
          case I.ID_FDIV_D: wf(h, rd, F.f64_div(fl, rf(h, r1), rf(h, r2), rm)); break;
          case I.ID_FSQRT_D: wf(h, rd, F.f64_sqrt(fl, rf(h, r1), rm)); break;
          case I.ID_FCVT_W_D: wx(h, rd, F.f64_to_i32(fl, rf(h, r1), rm)); break;
          case I.ID_FCVT_WU_D: wx(h, rd, F.f64_to_u32(fl, rf(h, r1), rm)); break;
          case I.ID_FCVT_L_D: wx(h, rd, F.f64_to_i64(fl, rf(h, r1), rm)); break;
          case I.ID_FCVT_LU_D: wx(h, rd, F.f64_to_u64(fl, rf(h, r1), rm)); break;
          case I.ID_FCVT_D_W: wf(h, rd, F.i32_to_f64(fl, rx(h, r1), rm)); break;
          case I.ID_FCVT_D_WU: wf(h, rd, F.u32_to_f64(fl, rx(h, r1), rm)); break;
          case I.ID_FCVT_D_L: wf(h, rd, F.i64_to_f64(fl, rx(h, r1), rm)); break;
          case I.ID_FCVT_D_LU: wf(h, rd, F.u64_to_f64(fl, rx(h, r1), rm)); break;
          default: wf(h, rd, F.f32_to_f64(fl, rs(h, r1))); break;
        }
        break;
      }
      case I.ID_FSGNJ_S: ws(h, rd, (rs(h, r1) & 0x7fffffff) | (rs(h, r2) & 0x80000000)); break;
      case I.ID_FSGNJN_S: ws(h, rd, (rs(h, r1) & 0x7fffffff) | (~rs(h, r2) & 0x80000000)); break;
      case I.ID_FSGNJX_S: ws(h, rd, rs(h, r1) ^ (rs(h, r2) & 0x80000000)); break;
      case I.ID_FSGNJ_D: wf(h, rd, (rf(h, r1) & 0x7fffffffffffffff) | (rf(h, r2) & 0x8000000000000000)); break;
      case I.ID_FSGNJN_D: wf(h, rd, (rf(h, r1) & 0x7fffffffffffffff) | (~rf(h, r2) & 0x8000000000000000)); break;
      case I.ID_FSGNJX_D: wf(h, rd, rf(h, r1) ^ (rf(h, r2) & 0x8000000000000000)); break;
      case I.ID_FMIN_S: ws(h, rd, F.f32_min(fl, rs(h, r1), rs(h, r2))); break;
      case I.ID_FMAX_S: ws(h, rd, F.f32_max(fl, rs(h, r1), rs(h, r2))); break;
      case I.ID_FMIN_D: wf(h, rd, F.f64_min(fl, rf(h, r1), rf(h, r2))); break;
      case I.ID_FMAX_D: wf(h, rd, F.f64_max(fl, rf(h, r1), rf(h, r2))); break;
      case I.ID_FEQ_S: wx(h, rd, F.f32_eq(fl, rs(h, r1), rs(h, r2))); break;
      case I.ID_FLT_S: wx(h, rd, F.f32_lt(fl, rs(h, r1), rs(h, r2))); break;
      case I.ID_FLE_S: wx(h, rd, F.f32_le(fl, rs(h, r1), rs(h, r2))); break;
      case I.ID_FEQ_D: wx(h, rd, F.f64_eq(fl, rf(h, r1), rf(h, r2))); break;
      case I.ID_FLT_D: wx(h, rd, F.f64_lt(fl, rf(h, r1), rf(h, r2))); break;
      case I.ID_FLE_D: wx(h, rd, F.f64_le(fl, rf(h, r1), rf(h, r2))); break;
      case I.ID_FCLASS_S: wx(h, rd, F.f32_class(rs(h, r1))); break;
      case I.ID_FCLASS_D: wx(h, rd, F.f64_class(rf(h, r1))); break;
      case I.ID_FMV_X_W: wx(h, rd, sext32(<u32>rf(h, r1))); break;
      case I.ID_FMV_W_X: ws(h, rd, <u32>rx(h, r1)); break;
      case I.ID_FMV_X_D: wx(h, rd, rf(h, r1)); break;
      case I.ID_FMV_D_X: wf(h, rd, rx(h, r1)); break;

      default: // ID_ILLEGAL
        set_trap(h, CAUSE_ILLEGAL_INSTRUCTION, w);
        return STOP_TRAP;
  }
  return flush || load<u32>(cc + CACHE_EPOCH) != epoch ? EXT_FLUSH_FETCH : 0;
}
