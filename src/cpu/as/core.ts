// The RV64GC interpreter: run() executes a bounded slice and returns why it stopped; every piece
// of state lives at the hart's address in the shared memory.
//
// Execution goes by blocks: a straight run of instructions on one page, ending at a control
// transfer, a system instruction, the page's last halfword or BLOCK_MAX entries, is decoded once
// (through the word-keyed decode cache in front of the decoder generated from src/isa/table.ts)
// into compact entries in the block cache (layout.ts: one per Core instance, shared by its
// harts): id, register byte offsets, the immediate (branch and jump targets already made relative
// to the block's start), length, offset.
// Each entry also keeps the bits it was decoded from, compared with memory just before the entry
// executes, so a block is never wrong however memory changed since it was built (self-modifying
// code, even within the block, pages remapped, host writes): a mismatch drops the block and it is
// rebuilt from memory. Writes to x0 go to a sink slot, so x0 is never written.
// Spec references: RISC-V unprivileged ISA 20191213 (chapters named at each group).
import {
  HART_PC, HART_F, HART_INSTRET, CACHE_DCACHE, HART_PRIV, HART_FLAGS, HART_CAUSE,
  STOP_BUDGET, STOP_TRAP, STOP_WFI, CAUSE_BREAKPOINT, CAUSE_ECALL_U, CAUSE_ECALL_S, HF_SYSTEM, HF_HOST_SBI,
  HART_XSINK, CACHE_BNEXT, HART_BEDGE, HART_XBUF, CACHE_BHEAD, CACHE_BARENA, BLOCK_SLOTS, BLOCK_ARENA,
  BLOCK_MAX, HART_MSTATUS, MSTATUS_FS_SHIFT, CAUSE_ILLEGAL_INSTRUCTION, CACHE_EPOCH, BLOCK_HEAD_SIZE,
  HART_JIT_THRESHOLD, CACHE_JITMAP, JIT_OK, JIT_TRAP, JIT_MISS, JIT_REFETCH, JIT_STALE, JIT_SLOW,
  JIT_HOLD, HART_JIT_HP, HART_JIT_NEXT, JIT_CHAIN, CACHE_JIT_CHAINS,
  CACHE_JIT_ENTERS, CACHE_JIT_INSNS, CACHE_JIT_CHECKS, CACHE_JIT_RUN, CACHE_JIT_MARK, CACHE_JIT_BUDGET, CACHE_JITENTRY,
} from '../layout';
import * as I from './generated/decode';
import { decode, expand_c } from './generated/decode';
import { xlate, ld_fast, st_fast, ld_slow, st_slow, set_trap, bump_epoch_c, mark_code, code_hit, code_cache, ACCESS_EXEC } from './mem';
import { XLATE_MMIO } from './mmu';
import { pending_interrupt, take_trap, take_recorded_trap, wfi_wakes, fetch_ctx, data_ctx } from './priv';
import { mulh, mulhu, mulhsu, div, divu, rem, remu, sext32, divw, divuw, remw, remuw } from './alu';
import { exec_ext, EXT_FLUSH_FETCH, EXT_CONTEXT, EXT_JUMP, EXT_FLUSH_TLB } from './exec-ext';
import { flush_tlb, tlb_drop_frame, tlb_drop_writes } from './mem';
import { jit_slot, jit_count, jit_sample, sample_every, block_cut, jit_cut, jit_missed, jit_drop, jit_tracks, BLOCK_JIT } from './jit-track';

export { flush_tlb, tlb_drop_frame, tlb_drop_writes };
export * from './jit-exports';

/** Internal stop codes. The instruction completed, then interrupts must be re-checked: */
const EV_IRQ_CHECK: i32 = 16;
/** The instruction completed; the fetch page must be translated again (a store took the slow
 *  path, which may have moved a page to a new frame). */
const EV_REFETCH: i32 = 17;
/** exec_ext returned something other than 0 (kept in a local). */
const EV_EXT: i32 = 19;

const FS_MASK: u64 = <u64>3 << MSTATUS_FS_SHIFT;

// ---- block entries (16 bytes) ----
// +0 u32 the 4 bytes at the instruction's address when decoded (for a 16-bit instruction, the
//    next halfword too); +4 u8 id; +5 u8 rs1 * 8; +6 u8 rs2 * 8; +7 u8 length; +8 i32 immediate;
// +12 u16 byte offset of rd in the hart (HART_XSINK for x0, in the f registers for FLW/FLD);
// +14 u16 offset of the instruction from the block's first one.
@inline function R1(h: usize, e: usize): u64 { return load<u64>(h + <usize>load<u8>(e, 5)); }
@inline function R2(h: usize, e: usize): u64 { return load<u64>(h + <usize>load<u8>(e, 6)); }
@inline function IMM(e: usize): u64 { return <u64><i64>load<i32>(e, 8); }
@inline function W(h: usize, e: usize, v: u64): void { store<u64>(h + <usize>load<u16>(e, 12), v); }
@inline function OFF(e: usize): u64 { return <u64>load<u16>(e, 14); }
@inline function F2(h: usize, e: usize): u64 { return load<u64>(h + HART_F + <usize>load<u8>(e, 6)); }

@inline function imm_i(w: u32): i32 { return <i32>w >> 20; }
@inline function imm_s(w: u32): i32 { return ((<i32>w >> 25) << 5) | ((w >> 7) & 31); }
@inline function imm_b(w: u32): i32 {
  return ((<i32>w >> 31) << 12) | (((w >> 7) & 1) << 11) | (((w >> 25) & 0x3f) << 5) | (((w >> 8) & 0xf) << 1);
}
@inline function imm_j(w: u32): i32 {
  return ((<i32>w >> 31) << 20) | (((w >> 12) & 0xff) << 12) | (((w >> 20) & 1) << 11) | (((w >> 21) & 0x3ff) << 1);
}

/** True for the instructions that end a block: jumps, and everything that may change privilege,
 *  translation or the pc in ways a block cannot follow. A conditional branch does not: a block
 *  goes on along its not-taken path and is left early when the branch is taken. */
@inline function ends_block(id: u32): bool {
  return id == I.ID_JAL || id == I.ID_JALR || (id >= I.ID_ECALL && id <= I.ID_CSRRCI) || id == I.ID_ILLEGAL;
}

/** The decode-cache entry (layout.ts) for raw instruction bits w (16-bit instructions
 *  zero-extended): bytes 4..15 of a block entry for it, with pc-relative immediates relative to the
 *  instruction itself. */
function template(c: usize, w: u32): usize {
  const dc = c + CACHE_DCACHE + (<usize>((w * 0x9e3779b1) >> 19) << 4);
  if (load<u32>(dc) == w && w != 0) return dc; // zeroed memory is an empty entry
  let ins: u32, id: u32, len: u32 = 4;
  if ((w & 3) != 3) {
    ins = expand_c(w);
    id = ins == 0 ? I.ID_ILLEGAL : decode(ins);
    len = 2;
  } else {
    ins = w;
    id = decode(w);
  }
  const rd = (ins >> 7) & 31, r1 = (ins >> 15) & 31, r2 = (ins >> 20) & 31;
  let imm: i32 = 0;
  let rdo: u32 = rd == 0 ? HART_XSINK : rd << 3;
  if (id <= I.ID_AUIPC) imm = <i32>(ins & 0xfffff000);
  else if (id == I.ID_JAL) imm = imm_j(ins);
  else if (id == I.ID_JALR) imm = imm_i(ins);
  else if (id <= I.ID_BGEU) imm = imm_b(ins);
  else if (id <= I.ID_LWU) imm = imm_i(ins);
  else if (id <= I.ID_SD) imm = imm_s(ins);
  else if (id <= I.ID_ANDI || id == I.ID_ADDIW) imm = imm_i(ins);
  else if (id <= I.ID_SRAI) imm = <i32>((ins >> 20) & 63);
  else if (id <= I.ID_SRAIW) imm = <i32>r2;
  else if (id == I.ID_FLW || id == I.ID_FLD) { imm = imm_i(ins); rdo = HART_F + (rd << 3); }
  else if (id == I.ID_FSW || id == I.ID_FSD) imm = imm_s(ins);
  store<u32>(dc, w);
  store<u8>(dc, <u8>id, 4);
  store<u8>(dc, <u8>(r1 << 3), 5);
  store<u8>(dc, <u8>(r2 << 3), 6);
  store<u8>(dc, <u8>len, 7);
  store<i32>(dc, imm, 8);
  store<u16>(dc, <u16>rdo, 12);
  return dc;
}

/** Fills the block entry at e for the instruction whose 4 bytes (the low 2 for a 16-bit one) are
 *  v, `off` bytes into its block. Returns the id. */
@inline function fill_entry(c: usize, e: usize, v: u32, off: u32): u32 {
  const dc = template(c, (v & 3) == 3 ? v : v & 0xffff);
  const id = <u32>load<u8>(dc, 4);
  store<u32>(e, v);
  store<u32>(e, load<u32>(dc, 4), 4);
  // jumps and branches: the target relative to the block's start
  store<i32>(e, id >= I.ID_JAL && id <= I.ID_BGEU && id != I.ID_JALR ? load<i32>(dc, 8) + <i32>off : load<i32>(dc, 8), 8);
  store<u16>(e, load<u16>(dc, 12), 12);
  store<u16>(e, <u16>off, 14);
  return id;
}

/** Decodes the block starting at pc (host address hp, page offset below 0xffe) into the header
 *  at slot and fresh arena units. */
function build_block(c: usize, slot: usize, pc: u64, hp: usize): void {
  let next = load<u32>(c + CACHE_BNEXT);
  if (next + <u32>(BLOCK_MAX + BLOCK_MAX / 4) > <u32>BLOCK_ARENA) {
    memory.fill(c + CACHE_BHEAD, 0, BLOCK_SLOTS * BLOCK_HEAD_SIZE);
    next = 0;
  }
  let e = c + CACHE_BARENA + (<usize>next << 4);
  const p = <u32>pc & 0xfff;
  let off: u32 = 0;
  let count: u32 = 0;
  do {
    // p + off <= 0xffc here, so the 4-byte read stays on the page
    const id = fill_entry(c, e, load<u32>(hp + off), off);
    off += load<u8>(e, 7);
    e += 16;
    count++;
    if (ends_block(id)) break;
  } while (count < <u32>BLOCK_MAX && p + off < 0xffe);
  // then a copy of the block's bytes, which it is checked against when entered in a new epoch
  let i: usize = 0;
  const n8 = <usize>(off & ~7);
  for (; i < n8; i += 8) store<u64>(e + i, load<u64>(hp + i));
  if ((off & 4) != 0) { store<u32>(e + i, load<u32>(hp + i)); i += 4; }
  if ((off & 2) != 0) store<u16>(e + i, load<u16>(hp + i));
  store<u32>(slot, next << 4, 8);
  store<u16>(slot, <u16>count, 12);
  store<u16>(slot, <u16>off, 14);
  store<u32>(c + CACHE_BNEXT, next + count + ((off + 15) >> 4));
}

/** True when the len bytes at hp still equal the copy at c. */
@inline function same_bytes(hp: usize, c: usize, len: u32): bool {
  let i: usize = 0;
  const n8 = <usize>(len & ~7);
  while (i < n8) {
    if (load<u64>(hp + i) != load<u64>(c + i)) return false;
    i += 8;
  }
  if ((len & 4) != 0) {
    if (load<u32>(hp + i) != load<u32>(c + i)) return false;
    i += 4;
  }
  return (len & 2) == 0 || load<u16>(hp + i) == load<u16>(c + i);
}

/** The block for pc (host address hp, page offset below 0xffe) was not checked in this epoch at
 *  this host address: checks the block in its slot against memory (a block depends only on its
 *  bytes and its offset in the page), rebuilding it if it differs, and records the check. */
function check_block(c: usize, slot: usize, pc: u64, hp: usize, epoch: u32, jth: i32): void {
  const old = load<u32>(slot);
  if (old == 0 || (old & 0xfff) != (<u32>hp & 0xfff)
    || !same_bytes(hp, c + CACHE_BARENA + <usize>(load<u32>(slot, 8) & ~BLOCK_JIT) + (<usize>load<u16>(slot, 12) << 4), load<u16>(slot, 14))) {
    build_block(c, slot, pc, hp);
  }
  store<u32>(slot, <u32>hp);
  store<u32>(slot, epoch, 4);
  store<u32>(slot, (load<u32>(slot, 8) & ~BLOCK_JIT) | (jit_tracks(c, hp, jth) ? BLOCK_JIT : 0), 8);
  mark_code(c, hp);
}

/** The instruction at a page's last halfword (hp): copies it (with the first halfword of the next
 *  page for a 32-bit one) to HART_XBUF and decodes it into the one-entry block at HART_BEDGE.
 *  Returns false after recording a fetch fault on the next page. */
function build_edge(h: usize, c: usize, pc: u64, hp: usize, fctx: u64): bool {
  let v = <u32>load<u16>(hp);
  if ((v & 3) == 3) {
    const b = xlate(h, pc + 2, ACCESS_EXEC, fctx);
    if (b <= XLATE_MMIO) return false;
    v |= <u32>load<u16>(b) << 16;
  }
  store<u32>(h + HART_XBUF, v);
  fill_entry(c, h + HART_BEDGE, v, 0);
  return true;
}

/** FLW/FLD/FSW/FSD with mstatus.FS not Dirty: illegal while FS is Off, else FS becomes Dirty
 *  (privileged spec section 3.1.6.6). Returns false after recording the trap. */
function fp_enable(h: usize, e: usize): bool {
  const mstatus = load<u64>(h + HART_MSTATUS);
  if ((mstatus & FS_MASK) == 0) {
    const v = load<u32>(e);
    set_trap(h, CAUSE_ILLEGAL_INSTRUCTION, (v & 3) == 3 ? v : v & 0xffff);
    return false;
  }
  store<u64>(h + HART_MSTATUS, mstatus | FS_MASK);
  return true;
}

/** Host address for a load of `size` bytes at va, or 0 after recording a fault. */


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
  const c = code_cache(h); // shared with the other harts of this instance (layout.ts)
  bump_epoch_c(c); // the host may have written guest memory since the last slice
  let fctx = fetch_ctx(h); // translation contexts (0 for a process-VM hart)
  let dctx = data_ctx(h);
  const jth = <i32>load<u32>(h + HART_JIT_THRESHOLD); // 0: the JIT is off for this hart
  let nojit = false; // run the next block in the interpreter (its region made no progress)
  let jcut: usize = 0; // and end it where that region has an entry (jit_cut): its entry bitmap
  // the JIT samples which page the hart is on every sample_every(jth) instructions (jit-track.ts):
  // the loop's budget is the next sample point, the slice's own waits in the code cache
  store<i32>(c + CACHE_JIT_BUDGET, budget);
  if (jth > 1) {
    store<i64>(c + CACHE_JIT_MARK, -<i64>load<u64>(c + CACHE_JIT_INSNS));
    if (budget > sample_every(jth)) budget = sample_every(jth);
  }
  if (system) {
    const irq = pending_interrupt(h);
    if (irq >= 0) {
      pc = take_trap(h, <u64>irq, 0, pc, true);
      fctx = fetch_ctx(h);
      dctx = data_ctx(h);
    }
  }

  while (true) { // the slice, in stretches between hotness samples (jit_sample)
    while (n < budget) {
      // ---- the block at pc (spec 1.5: 16-bit parcels; a 32-bit instruction may cross a page) ----
      if ((pc >> 12) != fvpn) {
        const a = xlate(h, pc, ACCESS_EXEC, fctx);
        if (a <= XLATE_MMIO) {
          if (!system) { stop = STOP_TRAP; break; }
          pc = take_recorded_trap(h, pc); // counted as a step so a faulting handler cannot spin forever
          fctx = fetch_ctx(h); dctx = data_ctx(h); fvpn = <u64>-1; n++;
          continue;
        }
        fvpn = pc >> 12;
        fadd = <u64>a - pc;
      }
      let bhp = <usize>(pc + fadd);
      let e: usize;
      let cnt: u32;
      let blen: u32;
      if ((<u32>pc & 0xfff) < 0xffe) {
        const slot = c + CACHE_BHEAD + ((<usize>(pc >> 1) & (BLOCK_SLOTS - 1)) << 4);
        const epoch = load<u32>(c + CACHE_EPOCH);
        if (load<u32>(slot) != <u32>bhp || load<u32>(slot, 4) != epoch) check_block(c, slot, pc, bhp, epoch, jth);
        const boff = load<u32>(slot, 8);
        cnt = load<u16>(slot, 12);
        if ((boff & BLOCK_JIT) != 0 && jth != 0 && !nojit) {
          let js = jit_slot(c, bhp);
          let page = <u32>bhp & ~0xfff;
          let fn = load<i32>(js, 4);
          if (load<u32>(js) == page && fn > 0) {
            jcut = 0;
            let ebase = c + CACHE_JITENTRY + ((js - (c + CACHE_JITMAP)) << 4);
            const eb = ebase + <usize>((<u32>pc & 0xfff) >> 4);
            if ((load<u8>(eb) & (1 << ((<u32>pc >> 1) & 7))) == 0) { // no code there: a miss, without entering it
              nojit = jit_missed(h, c, js, pc, page, fn, false);
              if (nojit) jcut = ebase;
              continue;
            }
            let check = load<u32>(js, 8) != epoch;
            if (check) {
              mark_code(c, <usize>page); // before it runs: its stores to its own page are seen
              store<u64>(c + CACHE_JIT_CHECKS, load<u64>(c + CACHE_JIT_CHECKS) + 1);
            }
            let st: i32 = 0;
            let k: i32 = 0;
            while (true) { // the region, then those it chains to (JIT_CHAIN)
              const left = load<i32>(c + CACHE_JIT_BUDGET) - n; // at most 2^26: the region's count fits its result
              const r = call_indirect<i32>(<u32>fn, h, pc, pc & ~(<u64>0xfff), <usize>page, left < 0x4000000 ? left : 0x4000000, check ? 1 : 0, dctx, fctx);
              st = r & 15;
              k = r >>> 4;
              store<u64>(c + CACHE_JIT_ENTERS, load<u64>(c + CACHE_JIT_ENTERS) + 1);
              if (st == JIT_STALE) break; // (only a checked one: the first)
              if (check && load<u32>(c + CACHE_EPOCH) == epoch) store<u32>(js, epoch, 8); // (not across a wrap)
              store<i32>(js, JIT_HOLD, 12);
              n += k;
              store<u64>(c + CACHE_JIT_INSNS, load<u64>(c + CACHE_JIT_INSNS) + <u64>k);
              pc = load<u64>(h + HART_PC);
              if (st != JIT_CHAIN) break;
              // it found the next page's region with an entry at pc, checked in this epoch
              page = load<u32>(h + HART_JIT_HP);
              js = jit_slot(c, <usize>page);
              fn = load<i32>(h + HART_JIT_NEXT);
              check = false;
              fvpn = <u64>-1;
              store<u64>(c + CACHE_JIT_CHAINS, load<u64>(c + CACHE_JIT_CHAINS) + 1);
            }
            if (st == JIT_STALE) { // the page's bytes changed since it was compiled
              jit_drop(fn, true);
              store<i32>(js, 0, 4);
              store<i32>(js, 0, 12);
              nojit = true;
              continue;
            }
            ebase = c + CACHE_JITENTRY + ((js - (c + CACHE_JITMAP)) << 4);
            if (st == JIT_OK) { nojit = k == 0; continue; }
            if (st == JIT_SLOW) { nojit = true; jcut = ebase; continue; }
            if (st == JIT_REFETCH) { fvpn = <u64>-1; continue; }
            if (st == JIT_MISS) { nojit = jit_missed(h, c, js, pc, page, fn, true); if (nojit) jcut = ebase; continue; }
            // JIT_TRAP: as the interpreter's trap below, at the faulting instruction
            fvpn = <u64>-1;
            if (!system || (load<u64>(h + HART_CAUSE) == CAUSE_ECALL_S && (load<u32>(h + HART_FLAGS) & HF_HOST_SBI) != 0)) {
              stop = STOP_TRAP;
              break;
            }
            pc = take_recorded_trap(h, pc);
            const irq = pending_interrupt(h);
            if (irq >= 0) pc = take_trap(h, <u64>irq, 0, pc, true);
            fctx = fetch_ctx(h);
            dctx = data_ctx(h);
            continue;
          }
          // block by block while the page is profiled, or for every page (threshold 1), or when
          // the slot is another page's now; a page left to the interpreter (the compile was
          // refused or failed: fn 0) is counted by the samples alone, as before it got hot (its
          // blocks keep the flag until their next check; 12 fresh boots each, JIT/interpreter
          // 1.130/1.073 s with this call, 1.204/1.232 s without)
          if (fn != 0 || jth <= 1 || load<u32>(js) != page) jit_count(h, c, pc, bhp, <i32>cnt, jth, <u32>load<u64>(c + CACHE_JIT_RUN) + <u32>n, false);
        }
        e = c + CACHE_BARENA + <usize>(boff & ~BLOCK_JIT);
        blen = load<u16>(slot, 14);
      } else {
        if (!build_edge(h, c, pc, bhp, fctx)) {
          fvpn = <u64>-1;
          if (!system) { stop = STOP_TRAP; break; }
          pc = take_recorded_trap(h, pc);
          fctx = fetch_ctx(h); dctx = data_ctx(h); n++;
          continue;
        }
        bhp = h + HART_XBUF;
        e = h + HART_BEDGE;
        cnt = 1;
        blen = load<u8>(e, 7);
      }
      nojit = false;
      const e0 = e;
      const left = <u32>(budget - n);
      let eend = e + (<usize>(left < cnt ? block_cut(c, n, cnt) : cnt) << 4);
      if (jcut != 0) { eend = jit_cut(jcut, pc, e, eend); jcut = 0; }
      let npc = pc + <u64>blen; // where the block falls through; taken branches and jumps change it
      let xr: i32 = 0;

      // ---- execute its entries ----
      while (e < eend) {
        switch (<u32>load<u8>(e, 4)) {
          // ---- RV64I (chapters 2 and 5) ----
          case I.ID_LUI: W(h, e, IMM(e)); break;
          case I.ID_AUIPC: W(h, e, pc + OFF(e) + IMM(e)); break;
          case I.ID_JAL: W(h, e, npc); npc = pc + IMM(e); break;
          case I.ID_JALR: { const t = (R1(h, e) + IMM(e)) & ~(<u64>1); W(h, e, npc); npc = t; break; }
          case I.ID_BEQ: if (R1(h, e) == R2(h, e)) { npc = pc + IMM(e); eend = 0; } break;
          case I.ID_BNE: if (R1(h, e) != R2(h, e)) { npc = pc + IMM(e); eend = 0; } break;
          case I.ID_BLT: if (<i64>R1(h, e) < <i64>R2(h, e)) { npc = pc + IMM(e); eend = 0; } break;
          case I.ID_BGE: if (<i64>R1(h, e) >= <i64>R2(h, e)) { npc = pc + IMM(e); eend = 0; } break;
          case I.ID_BLTU: if (R1(h, e) < R2(h, e)) { npc = pc + IMM(e); eend = 0; } break;
          case I.ID_BGEU: if (R1(h, e) >= R2(h, e)) { npc = pc + IMM(e); eend = 0; } break;
          // Loads: the TLB fast path; else the slow path (a TLB miss, a page-crossing or device
          // access, through which the host may have written memory: the block is re-validated).
          case I.ID_LB: {
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, 1, dctx);
            if (a == 0) { a = ld_slow(h, va, 1, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, <u64><i64>load<i8>(a)); break;
          }
          case I.ID_LH: {
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, 2, dctx);
            if (a == 0) { a = ld_slow(h, va, 2, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, <u64><i64>load<i16>(a)); break;
          }
          case I.ID_LW: {
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, 4, dctx);
            if (a == 0) { a = ld_slow(h, va, 4, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, <u64><i64>load<i32>(a)); break;
          }
          case I.ID_LD: {
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, 8, dctx);
            if (a == 0) { a = ld_slow(h, va, 8, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, load<u64>(a)); break;
          }
          case I.ID_LBU: {
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, 1, dctx);
            if (a == 0) { a = ld_slow(h, va, 1, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, <u64>load<u8>(a)); break;
          }
          case I.ID_LHU: {
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, 2, dctx);
            if (a == 0) { a = ld_slow(h, va, 2, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, <u64>load<u16>(a)); break;
          }
          case I.ID_LWU: {
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, 4, dctx);
            if (a == 0) { a = ld_slow(h, va, 4, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, <u64>load<u32>(a)); break;
          }
          case I.ID_FLW: case I.ID_FLD: {
            if ((load<u64>(h + HART_MSTATUS) & FS_MASK) != FS_MASK && !fp_enable(h, e)) { stop = STOP_TRAP; eend = 0; break; }
            const size: u32 = <u32>load<u8>(e, 4) == I.ID_FLW ? 4 : 8;
            const va = R1(h, e) + IMM(e);
            let a = ld_fast(h, va, size, dctx);
            if (a == 0) { a = ld_slow(h, va, size, dctx); eend = 0; stop = a == 0 ? STOP_TRAP : EV_REFETCH; if (a == 0) break; }
            W(h, e, size == 4 ? 0xffffffff00000000 | <u64>load<u32>(a) : load<u64>(a)); break;
          }
          case I.ID_SB: {
            const va = R1(h, e) + IMM(e), v = R2(h, e);
            const a = st_fast(h, va, 1, dctx);
            if (a != 0) { store<u8>(a, <u8>v); if (code_hit(c, a)) { stop = EV_REFETCH; eend = 0; } break; }
            stop = st_slow(h, va, v, 1, dctx) ? EV_REFETCH : STOP_TRAP; eend = 0; break;
          }
          case I.ID_SH: {
            const va = R1(h, e) + IMM(e), v = R2(h, e);
            const a = st_fast(h, va, 2, dctx);
            if (a != 0) { store<u16>(a, <u16>v); if (code_hit(c, a)) { stop = EV_REFETCH; eend = 0; } break; }
            stop = st_slow(h, va, v, 2, dctx) ? EV_REFETCH : STOP_TRAP; eend = 0; break;
          }
          case I.ID_SW: {
            const va = R1(h, e) + IMM(e), v = R2(h, e);
            const a = st_fast(h, va, 4, dctx);
            if (a != 0) { store<u32>(a, <u32>v); if (code_hit(c, a)) { stop = EV_REFETCH; eend = 0; } break; }
            stop = st_slow(h, va, v, 4, dctx) ? EV_REFETCH : STOP_TRAP; eend = 0; break;
          }
          case I.ID_SD: {
            const va = R1(h, e) + IMM(e), v = R2(h, e);
            const a = st_fast(h, va, 8, dctx);
            if (a != 0) { store<u64>(a, v); if (code_hit(c, a)) { stop = EV_REFETCH; eend = 0; } break; }
            stop = st_slow(h, va, v, 8, dctx) ? EV_REFETCH : STOP_TRAP; eend = 0; break;
          }
          case I.ID_FSW: case I.ID_FSD: {
            if ((load<u64>(h + HART_MSTATUS) & FS_MASK) != FS_MASK && !fp_enable(h, e)) { stop = STOP_TRAP; eend = 0; break; }
            const size: u32 = <u32>load<u8>(e, 4) == I.ID_FSW ? 4 : 8;
            const va = R1(h, e) + IMM(e), v = F2(h, e);
            const a = st_fast(h, va, size, dctx);
            if (a != 0) {
              if (size == 8) store<u64>(a, v); else store<u32>(a, <u32>v);
              if (code_hit(c, a)) { stop = EV_REFETCH; eend = 0; }
              break;
            }
            stop = st_slow(h, va, v, size, dctx) ? EV_REFETCH : STOP_TRAP; eend = 0; break;
          }
          case I.ID_ADDI: W(h, e, R1(h, e) + IMM(e)); break;
          case I.ID_SLTI: W(h, e, <i64>R1(h, e) < <i64>IMM(e) ? 1 : 0); break;
          case I.ID_SLTIU: W(h, e, R1(h, e) < IMM(e) ? 1 : 0); break;
          case I.ID_XORI: W(h, e, R1(h, e) ^ IMM(e)); break;
          case I.ID_ORI: W(h, e, R1(h, e) | IMM(e)); break;
          case I.ID_ANDI: W(h, e, R1(h, e) & IMM(e)); break;
          case I.ID_SLLI: W(h, e, R1(h, e) << IMM(e)); break;
          case I.ID_SRLI: W(h, e, R1(h, e) >> IMM(e)); break;
          case I.ID_SRAI: W(h, e, <u64>(<i64>R1(h, e) >> IMM(e))); break;
          case I.ID_ADDIW: W(h, e, sext32(<u32>(R1(h, e) + IMM(e)))); break;
          case I.ID_SLLIW: W(h, e, sext32(<u32>R1(h, e) << <u32>IMM(e))); break;
          case I.ID_SRLIW: W(h, e, sext32(<u32>R1(h, e) >> <u32>IMM(e))); break;
          case I.ID_SRAIW: W(h, e, sext32(<u32>(<i32>R1(h, e) >> <u32>IMM(e)))); break;
          case I.ID_ADD: W(h, e, R1(h, e) + R2(h, e)); break;
          case I.ID_SUB: W(h, e, R1(h, e) - R2(h, e)); break;
          case I.ID_SLL: W(h, e, R1(h, e) << (R2(h, e) & 63)); break;
          case I.ID_SLT: W(h, e, <i64>R1(h, e) < <i64>R2(h, e) ? 1 : 0); break;
          case I.ID_SLTU: W(h, e, R1(h, e) < R2(h, e) ? 1 : 0); break;
          case I.ID_XOR: W(h, e, R1(h, e) ^ R2(h, e)); break;
          case I.ID_SRL: W(h, e, R1(h, e) >> (R2(h, e) & 63)); break;
          case I.ID_SRA: W(h, e, <u64>(<i64>R1(h, e) >> (R2(h, e) & 63))); break;
          case I.ID_OR: W(h, e, R1(h, e) | R2(h, e)); break;
          case I.ID_AND: W(h, e, R1(h, e) & R2(h, e)); break;
          case I.ID_ADDW: W(h, e, sext32(<u32>(R1(h, e) + R2(h, e)))); break;
          case I.ID_SUBW: W(h, e, sext32(<u32>(R1(h, e) - R2(h, e)))); break;
          case I.ID_SLLW: W(h, e, sext32(<u32>R1(h, e) << (<u32>R2(h, e) & 31))); break;
          case I.ID_SRLW: W(h, e, sext32(<u32>R1(h, e) >> (<u32>R2(h, e) & 31))); break;
          case I.ID_SRAW: W(h, e, sext32(<u32>(<i32>R1(h, e) >> (<u32>R2(h, e) & 31)))); break;
          case I.ID_FENCE: break; // one hart at a time
          case I.ID_FENCE_I: bump_epoch_c(c); stop = EV_REFETCH; eend = 0; break; // check every block again
          case I.ID_ECALL: set_trap(h, CAUSE_ECALL_U + load<u64>(h + HART_PRIV), 0); stop = STOP_TRAP; eend = 0; break;
          case I.ID_EBREAK: set_trap(h, CAUSE_BREAKPOINT, pc + OFF(e)); stop = STOP_TRAP; eend = 0; break;

          // ---- M (chapter 7) ----
          case I.ID_MUL: W(h, e, R1(h, e) * R2(h, e)); break;
          case I.ID_MULH: W(h, e, mulh(R1(h, e), R2(h, e))); break;
          case I.ID_MULHSU: W(h, e, mulhsu(R1(h, e), R2(h, e))); break;
          case I.ID_MULHU: W(h, e, mulhu(R1(h, e), R2(h, e))); break;
          case I.ID_DIV: W(h, e, div(R1(h, e), R2(h, e))); break;
          case I.ID_DIVU: W(h, e, divu(R1(h, e), R2(h, e))); break;
          case I.ID_REM: W(h, e, rem(R1(h, e), R2(h, e))); break;
          case I.ID_REMU: W(h, e, remu(R1(h, e), R2(h, e))); break;
          case I.ID_MULW: W(h, e, sext32(<u32>R1(h, e) * <u32>R2(h, e))); break;
          case I.ID_DIVW: W(h, e, divw(R1(h, e), R2(h, e))); break;
          case I.ID_DIVUW: W(h, e, divuw(R1(h, e), R2(h, e))); break;
          case I.ID_REMW: W(h, e, remw(R1(h, e), R2(h, e))); break;
          case I.ID_REMUW: W(h, e, remuw(R1(h, e), R2(h, e))); break;

          default: { // A, F, D, Zicsr, privileged, illegal: kept out of line so the hot loop stays small
            const v = load<u32>(e);
            const w = (v & 3) == 3 ? v : v & 0xffff;
            const ins = w == v ? v : expand_c(w);
            const r = exec_ext(h, <u32>load<u8>(e, 4), ins, w, n + <i32>((e - e0) >> 4), pc + OFF(e), dctx);
            store<u64>(h, 0); // x0 stays zero whatever was written to it
            if (r != 0) { xr = r; stop = EV_EXT; eend = 0; }
            break;
          }
        }
        e += 16;
      }
      n += <i32>((e - e0) >> 4);
      if (stop == STOP_BUDGET) {
        // a branch was taken or the block ran to its end (npc), or the budget ran out before the
        // entry at e
        pc = eend == 0 || e == e0 + (<usize>cnt << 4) ? npc : pc + OFF(e);
        continue;
      }
      // The unusual outcomes of the entry before e: traps, WFI, context changes, interrupt checks.
      e -= 16;
      n--;
      pc += OFF(e);
      npc = pc + <u64>load<u8>(e, 7);
      if (stop == EV_REFETCH) {
        fvpn = <u64>-1;
        stop = STOP_BUDGET;
        pc = npc;
        n++;
        continue;
      }
      if (stop == EV_EXT) {
        if (xr == EXT_FLUSH_FETCH) {
          fvpn = <u64>-1;
          stop = STOP_BUDGET;
          pc = npc;
          n++;
          continue;
        }
        if (xr >= EXT_CONTEXT) {
          if (xr == EXT_JUMP) npc = load<u64>(h + HART_PC);
          if (xr == EXT_FLUSH_TLB) flush_tlb(h);
          stop = EV_IRQ_CHECK;
        } else {
          stop = xr; // STOP_TRAP or STOP_WFI
        }
      }
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
      pc = npc;
      n++;
    }
    // a sample point (or the slice's end)
    if (stop != STOP_BUDGET) break;
    const full = load<i32>(c + CACHE_JIT_BUDGET);
    if (n >= full) break;
    if ((pc >> 12) != fvpn) { budget = n + 1; continue; } // after the next block's fetch, on its page
    jit_sample(h, c, pc, fvpn, fadd, n, jth);
    budget = full - n > sample_every(jth) ? n + sample_every(jth) : full;
  }
  store<u64>(h, 0);
  store<u64>(h + HART_PC, pc);
  store<u64>(h + HART_INSTRET, load<u64>(h + HART_INSTRET) + <u64>n);
  if (jth > 1) jit_sample(h, c, pc, fvpn, fadd, n, jth);
  if (jth != 0) store<u64>(c + CACHE_JIT_RUN, load<u64>(c + CACHE_JIT_RUN) + <u64>n);
  return stop;
}
