// What JIT-generated regions (src/jit/translate.ts) import from the core instance: the out-of-line
// instructions and the ALU helpers wasm lacks. The regions run
// on the same memory, so these are the interpreter's own functions, unchanged.
import { mulh as mulh_, mulhu as mulhu_, mulhsu as mulhsu_, div as div_, divu as divu_, rem as rem_, remu as remu_,
  divw as divw_, divuw as divuw_, remw as remw_, remuw as remuw_ } from './alu';
export { exec_ext } from './exec-ext';

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
