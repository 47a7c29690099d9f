// What JIT-generated regions (src/jit/translate.ts) import from the core instance: the out-of-line
// instructions and the ALU helpers wasm lacks. The regions run
// on the same memory, so these are the interpreter's own functions, unchanged.
import { mulh as mulh_, mulhu as mulhu_, mulhsu as mulhsu_, div as div_, divu as divu_, rem as rem_, remu as remu_,
  divw as divw_, divuw as divuw_, remw as remw_, remuw as remuw_ } from './alu';
export { exec_ext } from './exec-ext';
import { xlate_miss, code_cache } from './mem';
import * as F from './fpu';
import { XLATE_MMIO } from './mmu';
import { CACHE_EPOCH } from '../layout';

export function mulh(a: u64, b: u64): u64 { return mulh_(a, b); }
export function mulhu(a: u64, b: u64): u64 { return mulhu_(a, b); }
export function mulhsu(a: u64, b: u64): u64 { return mulhsu_(a, b); }
export function div(a: u64, b: u64): u64 { return div_(a, b); }
export function divu(a: u64, b: u64): u64 { return divu_(a, b); }
export function rem(a: u64, b: u64): u64 { return rem_(a, b); }
export function remu(a: u64, b: u64): u64 { return remu_(a, b); }
export function divw(a: u64, b: u64): u64 { return divw_(a, b); }
export function divuw(a: u64, b: u64): u64 { return divuw_(a, b); }
export function remw(a: u64, b: u64): u64 { return remw_(a, b); }
export function remuw(a: u64, b: u64): u64 { return remuw_(a, b); }

/** A region's TLB miss (a load or store of `size` bytes at va for `access`, ACCESS_READ or
 *  ACCESS_WRITE): translates va and fills the TLB as the interpreter's slow path would. Returns the
 *  host address if the access is plain memory within one page and nothing else changed (the code
 *  epoch), else 0: the region then leaves the instruction to the interpreter (a fault, a device, a
 *  page-crossing access, or a frame the host just wrote). */
export function tlb_fill(h: usize, va: u64, size: u32, access: u32, ctx: u64): usize {
  if ((<u32>va & 0xfff) + size > 4096) return 0;
  const ep = code_cache(h) + CACHE_EPOCH;
  const epoch = load<u32>(ep);
  const a = xlate_miss(h, va, access, ctx);
  if (a <= XLATE_MMIO || load<u32>(ep) != epoch) return 0;
  return a;
}

// Binary64 arithmetic, called by regions directly (the operands and rounding mode resolved
// there, the flags accrued through fl as exec_ext does).
export function f64_add(fl: usize, a: u64, b: u64, rm: u32): u64 { return F.f64_add(fl, a, b, rm); }
export function f64_sub(fl: usize, a: u64, b: u64, rm: u32): u64 { return F.f64_sub(fl, a, b, rm); }
export function f64_mul(fl: usize, a: u64, b: u64, rm: u32): u64 { return F.f64_mul(fl, a, b, rm); }
export function f64_div(fl: usize, a: u64, b: u64, rm: u32): u64 { return F.f64_div(fl, a, b, rm); }
export function f64_sqrt(fl: usize, a: u64, rm: u32): u64 { return F.f64_sqrt(fl, a, rm); }
export function f64_madd(fl: usize, a: u64, b: u64, c: u64, rm: u32, op: u32): u64 { return F.f64_madd(fl, a, b, c, rm, op); }
// Binary64 comparisons and conversions with the integer registers (the region moves the operand
// and result between its locals and the hart).
export function f64_eq(fl: usize, a: u64, b: u64): u64 { return F.f64_eq(fl, a, b); }
export function f64_lt(fl: usize, a: u64, b: u64): u64 { return F.f64_lt(fl, a, b); }
export function f64_le(fl: usize, a: u64, b: u64): u64 { return F.f64_le(fl, a, b); }
export function f64_to_i32(fl: usize, a: u64, rm: u32): u64 { return F.f64_to_i32(fl, a, rm); }
export function f64_to_u32(fl: usize, a: u64, rm: u32): u64 { return F.f64_to_u32(fl, a, rm); }
export function f64_to_i64(fl: usize, a: u64, rm: u32): u64 { return F.f64_to_i64(fl, a, rm); }
export function f64_to_u64(fl: usize, a: u64, rm: u32): u64 { return F.f64_to_u64(fl, a, rm); }
export function i32_to_f64(fl: usize, x: u64, rm: u32): u64 { return F.i32_to_f64(fl, x, rm); }
export function u32_to_f64(fl: usize, x: u64, rm: u32): u64 { return F.u32_to_f64(fl, x, rm); }
export function i64_to_f64(fl: usize, x: u64, rm: u32): u64 { return F.i64_to_f64(fl, x, rm); }
export function u64_to_f64(fl: usize, x: u64, rm: u32): u64 { return F.u64_to_f64(fl, x, rm); }
