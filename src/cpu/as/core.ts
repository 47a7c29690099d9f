// The RV64GC interpreter: fetch, decode (through a word-keyed decode cache in front of the
// decoder generated from src/isa/table.ts), execute. run() executes a bounded slice and returns
// why it stopped; every piece of state lives at the hart's address in the shared memory.
// Spec references: RISC-V unprivileged ISA 20191213 (chapters named at each group).
import {
  HART_PC, HART_F, HART_INSTRET, HART_DCACHE, DCACHE_ENTRY_SIZE, HART_PRIV, HART_FLAGS, HART_CAUSE,
  STOP_BUDGET, STOP_TRAP, STOP_WFI, CAUSE_BREAKPOINT, CAUSE_ECALL_U, CAUSE_ECALL_S, HF_SYSTEM, HF_HOST_SBI,
} from '../layout';
import * as I from './generated/decode';
import { decode, expand_c } from './generated/decode';
import { xlate, ld_fast, st_fast, ld_slow, st_slow, set_trap, ACCESS_EXEC } from './mem';
import { XLATE_MMIO } from './mmu';
import { pending_interrupt, take_trap, take_recorded_trap, wfi_wakes, fetch_ctx, data_ctx } from './priv';
import { mulh, mulhu, mulhsu, div, divu, rem, remu, sext32, divw, divuw, remw, remuw } from './alu';
import { csr_rw } from './csr';
import { exec_ext, EXT_FLUSH_FETCH, EXT_CONTEXT, EXT_JUMP, EXT_FLUSH_TLB } from './exec-ext';
import { flush_tlb } from './mem';

export { flush_tlb };

/** Internal stop code: the instruction completed, then interrupts must be re-checked. */
const EV_IRQ_CHECK: i32 = 16;

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

@inline function imm_i(w: u32): u64 { return <u64><i64>(<i32>w >> 20); }
@inline function imm_s(w: u32): u64 { return <u64><i64>(((<i32>w >> 25) << 5) | ((w >> 7) & 31)); }
@inline function imm_b(w: u32): u64 {
  return <u64><i64>(((<i32>w >> 31) << 12) | (((w >> 7) & 1) << 11) | (((w >> 25) & 0x3f) << 5) | (((w >> 8) & 0xf) << 1));
}
@inline function imm_j(w: u32): u64 {
  return <u64><i64>(((<i32>w >> 31) << 20) | (((w >> 12) & 0xff) << 12) | (((w >> 20) & 1) << 11) | (((w >> 21) & 0x3ff) << 1));
}

/** Runs at most `budget` instructions of hart h. Returns STOP_BUDGET; STOP_TRAP with the cause
 *  and tval recorded in the hart and pc left at the trapping instruction (every trap of a
 *  process-VM hart; only host-handled ones of a system-VM hart); or STOP_WFI with pc past the
 *  WFI. A system-VM hart takes its other traps and its interrupts itself. */
export function run(h: usize, budget: i32): i32 {
  let pc = load<u64>(h + HART_PC);
  let n: i32 = 0;
  let stop: i32 = STOP_BUDGET;
  let fvpn: u64 = <u64>-1; // guest page the fetch fast path is on
  let fadd: u64 = 0; // its host addend
  const system = (load<u32>(h + HART_FLAGS) & HF_SYSTEM) != 0;
  let fctx = fetch_ctx(h); // translation contexts (0 for a process-VM hart)
  let dctx = data_ctx(h);
  if (system) {
    const irq = pending_interrupt(h);
    if (irq >= 0) {
      pc = take_trap(h, <u64>irq, 0, pc, true);
      fctx = fetch_ctx(h);
      dctx = data_ctx(h);
    }
  }

  while (n < budget) {
    // ---- fetch (spec 1.5: 16-bit parcels; a 32-bit instruction may cross a page) ----
    let w: u32;
    if ((pc >> 12) == fvpn && (<u32>pc & 0xfff) <= 0xffc) {
      w = load<u32>(<usize>(pc + fadd));
    } else {
      const a = xlate(h, pc, ACCESS_EXEC, fctx);
      if (a <= XLATE_MMIO) {
        if (!system) { stop = STOP_TRAP; break; }
        pc = take_recorded_trap(h, pc); // counted as a step so a faulting handler cannot spin forever
        fctx = fetch_ctx(h); dctx = data_ctx(h); fvpn = <u64>-1; n++;
        continue;
      }
      fvpn = pc >> 12;
      fadd = <u64>a - pc;
      if ((<u32>pc & 0xfff) <= 0xffc) {
        w = load<u32>(a);
      } else {
        w = load<u16>(a);
        if ((w & 3) == 3) {
          const b = xlate(h, pc + 2, ACCESS_EXEC, fctx);
          if (b <= XLATE_MMIO) {
            fvpn = <u64>-1;
            if (!system) { stop = STOP_TRAP; break; }
            pc = take_recorded_trap(h, pc);
            fctx = fetch_ctx(h); dctx = data_ctx(h); n++;
            continue;
          }
          w |= <u32>load<u16>(b) << 16;
        }
      }
    }
    let ilen: u64 = 4;
    if ((w & 3) != 3) { w &= 0xffff; ilen = 2; }

    // ---- decode through the word-keyed cache ----
    const dc = h + HART_DCACHE + <usize>((w * 0x9e3779b1) >> 19) * DCACHE_ENTRY_SIZE;
    let ins: u32, id: u32;
    if (load<u32>(dc) == w) {
      ins = load<u32>(dc, 4);
      id = load<u32>(dc, 8);
    } else {
      if (ilen == 2) {
        ins = expand_c(w);
        id = ins == 0 ? I.ID_ILLEGAL : decode(ins);
      } else {
        ins = w;
        id = decode(w);
      }
      store<u32>(dc, w);
      store<u32>(dc, ins, 4);
      store<u32>(dc, id, 8);
    }

    const rd = (ins >> 7) & 31, r1 = (ins >> 15) & 31, r2 = (ins >> 20) & 31;
    let npc = pc + ilen;

    switch (id) {
      // ---- RV64I (chapters 2 and 5) ----
      case I.ID_LUI: wx(h, rd, <u64><i64><i32>(ins & 0xfffff000)); break;
      case I.ID_AUIPC: wx(h, rd, pc + <u64><i64><i32>(ins & 0xfffff000)); break;
      case I.ID_JAL: wx(h, rd, npc); npc = pc + imm_j(ins); break;
      case I.ID_JALR: { const t = (rx(h, r1) + imm_i(ins)) & ~(<u64>1); wx(h, rd, npc); npc = t; break; }
      case I.ID_BEQ: if (rx(h, r1) == rx(h, r2)) npc = pc + imm_b(ins); break;
      case I.ID_BNE: if (rx(h, r1) != rx(h, r2)) npc = pc + imm_b(ins); break;
      case I.ID_BLT: if (<i64>rx(h, r1) < <i64>rx(h, r2)) npc = pc + imm_b(ins); break;
      case I.ID_BGE: if (<i64>rx(h, r1) >= <i64>rx(h, r2)) npc = pc + imm_b(ins); break;
      case I.ID_BLTU: if (rx(h, r1) < rx(h, r2)) npc = pc + imm_b(ins); break;
      case I.ID_BGEU: if (rx(h, r1) >= rx(h, r2)) npc = pc + imm_b(ins); break;
      case I.ID_LB: case I.ID_LH: case I.ID_LW: case I.ID_LD: case I.ID_LBU: case I.ID_LHU: case I.ID_LWU:
      case I.ID_FLW: case I.ID_FLD: {
        const va = rx(h, r1) + imm_i(ins);
        const f3 = (ins >> 12) & 3;
        const size: u32 = 1 << f3;
        let a = ld_fast(h, va, size, dctx);
        if (a == 0) { a = ld_slow(h, va, size, dctx); if (a == 0) { stop = STOP_TRAP; break; } }
        switch (id) {
          case I.ID_LB: wx(h, rd, <u64><i64>load<i8>(a)); break;
          case I.ID_LH: wx(h, rd, <u64><i64>load<i16>(a)); break;
          case I.ID_LW: wx(h, rd, <u64><i64>load<i32>(a)); break;
          case I.ID_LD: wx(h, rd, load<u64>(a)); break;
          case I.ID_LBU: wx(h, rd, <u64>load<u8>(a)); break;
          case I.ID_LHU: wx(h, rd, <u64>load<u16>(a)); break;
          case I.ID_LWU: wx(h, rd, <u64>load<u32>(a)); break;
          case I.ID_FLW: ws(h, rd, load<u32>(a)); break;
          default: wf(h, rd, load<u64>(a)); break;
        }
        break;
      }
      case I.ID_SB: case I.ID_SH: case I.ID_SW: case I.ID_SD: case I.ID_FSW: case I.ID_FSD: {
        const va = rx(h, r1) + imm_s(ins);
        const size: u32 = 1 << ((ins >> 12) & 3);
        const v = id >= I.ID_FSW && id <= I.ID_FSD ? rf(h, r2) : rx(h, r2);
        const a = st_fast(h, va, size, dctx);
        if (a != 0) {
          if (size == 8) store<u64>(a, v);
          else if (size == 4) store<u32>(a, <u32>v);
          else if (size == 2) store<u16>(a, <u16>v);
          else store<u8>(a, <u8>v);
        } else {
          if (!st_slow(h, va, v, size, dctx)) { stop = STOP_TRAP; break; }
          fvpn = <u64>-1; // a write miss may have moved the page to a new frame (copy-on-write)
        }
        break;
      }
      case I.ID_ADDI: wx(h, rd, rx(h, r1) + imm_i(ins)); break;
      case I.ID_SLTI: wx(h, rd, <i64>rx(h, r1) < <i64>imm_i(ins) ? 1 : 0); break;
      case I.ID_SLTIU: wx(h, rd, rx(h, r1) < imm_i(ins) ? 1 : 0); break;
      case I.ID_XORI: wx(h, rd, rx(h, r1) ^ imm_i(ins)); break;
      case I.ID_ORI: wx(h, rd, rx(h, r1) | imm_i(ins)); break;
      case I.ID_ANDI: wx(h, rd, rx(h, r1) & imm_i(ins)); break;
      case I.ID_SLLI: wx(h, rd, rx(h, r1) << ((ins >> 20) & 63)); break;
      case I.ID_SRLI: wx(h, rd, rx(h, r1) >> ((ins >> 20) & 63)); break;
      case I.ID_SRAI: wx(h, rd, <u64>(<i64>rx(h, r1) >> ((ins >> 20) & 63))); break;
      case I.ID_ADDIW: wx(h, rd, sext32(<u32>(rx(h, r1) + imm_i(ins)))); break;
      case I.ID_SLLIW: wx(h, rd, sext32(<u32>rx(h, r1) << (r2))); break;
      case I.ID_SRLIW: wx(h, rd, sext32(<u32>rx(h, r1) >> (r2))); break;
      case I.ID_SRAIW: wx(h, rd, sext32(<u32>(<i32>rx(h, r1) >> (r2)))); break;
      case I.ID_ADD: wx(h, rd, rx(h, r1) + rx(h, r2)); break;
      case I.ID_SUB: wx(h, rd, rx(h, r1) - rx(h, r2)); break;
      case I.ID_SLL: wx(h, rd, rx(h, r1) << (rx(h, r2) & 63)); break;
      case I.ID_SLT: wx(h, rd, <i64>rx(h, r1) < <i64>rx(h, r2) ? 1 : 0); break;
      case I.ID_SLTU: wx(h, rd, rx(h, r1) < rx(h, r2) ? 1 : 0); break;
      case I.ID_XOR: wx(h, rd, rx(h, r1) ^ rx(h, r2)); break;
      case I.ID_SRL: wx(h, rd, rx(h, r1) >> (rx(h, r2) & 63)); break;
      case I.ID_SRA: wx(h, rd, <u64>(<i64>rx(h, r1) >> (rx(h, r2) & 63))); break;
      case I.ID_OR: wx(h, rd, rx(h, r1) | rx(h, r2)); break;
      case I.ID_AND: wx(h, rd, rx(h, r1) & rx(h, r2)); break;
      case I.ID_ADDW: wx(h, rd, sext32(<u32>(rx(h, r1) + rx(h, r2)))); break;
      case I.ID_SUBW: wx(h, rd, sext32(<u32>(rx(h, r1) - rx(h, r2)))); break;
      case I.ID_SLLW: wx(h, rd, sext32(<u32>rx(h, r1) << (<u32>rx(h, r2) & 31))); break;
      case I.ID_SRLW: wx(h, rd, sext32(<u32>rx(h, r1) >> (<u32>rx(h, r2) & 31))); break;
      case I.ID_SRAW: wx(h, rd, sext32(<u32>(<i32>rx(h, r1) >> (<u32>rx(h, r2) & 31)))); break;
      case I.ID_FENCE: case I.ID_FENCE_I: break; // one hart at a time; the decode cache is keyed by bits
      case I.ID_ECALL: set_trap(h, CAUSE_ECALL_U + load<u64>(h + HART_PRIV), 0); stop = STOP_TRAP; break;
      case I.ID_EBREAK: set_trap(h, CAUSE_BREAKPOINT, pc); stop = STOP_TRAP; break;

      // ---- M (chapter 7) ----
      case I.ID_MUL: wx(h, rd, rx(h, r1) * rx(h, r2)); break;
      case I.ID_MULH: wx(h, rd, mulh(rx(h, r1), rx(h, r2))); break;
      case I.ID_MULHSU: wx(h, rd, mulhsu(rx(h, r1), rx(h, r2))); break;
      case I.ID_MULHU: wx(h, rd, mulhu(rx(h, r1), rx(h, r2))); break;
      case I.ID_DIV: wx(h, rd, div(rx(h, r1), rx(h, r2))); break;
      case I.ID_DIVU: wx(h, rd, divu(rx(h, r1), rx(h, r2))); break;
      case I.ID_REM: wx(h, rd, rem(rx(h, r1), rx(h, r2))); break;
      case I.ID_REMU: wx(h, rd, remu(rx(h, r1), rx(h, r2))); break;
      case I.ID_MULW: wx(h, rd, sext32(<u32>rx(h, r1) * <u32>rx(h, r2))); break;
      case I.ID_DIVW: wx(h, rd, divw(rx(h, r1), rx(h, r2))); break;
      case I.ID_DIVUW: wx(h, rd, divuw(rx(h, r1), rx(h, r2))); break;
      case I.ID_REMW: wx(h, rd, remw(rx(h, r1), rx(h, r2))); break;
      case I.ID_REMUW: wx(h, rd, remuw(rx(h, r1), rx(h, r2))); break;

      default: { // A, F, D, Zicsr, privileged, illegal: kept out of line so the hot loop stays small
        const r = exec_ext(h, id, ins, w, n, pc, dctx);
        if (r == 0) break;
        if (r == EXT_FLUSH_FETCH) { fvpn = <u64>-1; break; }
        if (r >= EXT_CONTEXT) {
          if (r == EXT_JUMP) npc = load<u64>(h + HART_PC);
          if (r == EXT_FLUSH_TLB) flush_tlb(h);
          fctx = fetch_ctx(h);
          dctx = data_ctx(h);
          fvpn = <u64>-1;
          stop = EV_IRQ_CHECK;
          break;
        }
        stop = r; // STOP_TRAP or STOP_WFI
        break;
      }
    }
    if (stop != STOP_BUDGET) {
      // The unusual outcomes, all on this one branch: traps, WFI, interrupt checks.
      if (stop == STOP_TRAP) {
        if (!system || (load<u64>(h + HART_CAUSE) == CAUSE_ECALL_S && (load<u32>(h + HART_FLAGS) & HF_HOST_SBI) != 0)) break;
        npc = take_recorded_trap(h, pc); // the trapping instruction does not retire
        n--;
      } else if (stop == STOP_WFI) {
        if (!wfi_wakes(h)) { pc = npc; n++; break; }
      }
      // Interrupts may have become pending/enabled (or a trap changed privilege).
      const irq = pending_interrupt(h);
      if (irq >= 0) npc = take_trap(h, <u64>irq, 0, npc, true);
      fctx = fetch_ctx(h);
      dctx = data_ctx(h);
      fvpn = <u64>-1;
      stop = STOP_BUDGET;
    }
    store<u64>(h, 0); // x0 stays zero whatever was written to it
    pc = npc;
    n++;
  }
  store<u64>(h, 0);
  store<u64>(h + HART_PC, pc);
  store<u64>(h + HART_INSTRET, load<u64>(h + HART_INSTRET) + <u64>n);
  return stop;
}
