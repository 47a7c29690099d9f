// Native fast paths of the FPU (see the comment below); fpu.ts decides when they apply.
import { NX, UF, OF, RNE, RTZ, RDN, RUP, RMM, raise } from './fpu-soft';

// ---------------------------------------------------------------------------
// Fast paths.
//
// WebAssembly float arithmetic is IEEE round-to-nearest-even with gradual underflow, so for
// rm = RNE it yields the right result bits; what it cannot give is the flags.  Each fast path
// below proves the flags from cheap exact side computations (an error-free transformation
// or an integer product of the significands), and only in operand/result ranges where UF and
// OF are impossible and the result is not a NaN.  Anything else takes the software path.
//
// Binary32 operations are evaluated in binary64: +, -, *, / and sqrt rounded first to 53 then
// to 24 bits give the correctly rounded result (53 >= 2*24 + 2), and products of two binary32
// values are exact in binary64.

export const EXP64: u64 = 0x7FF0000000000000;
export const FRAC64: u64 = 0x000FFFFFFFFFFFFF;
export const HID64: u64 = 0x0010000000000000;
export const MINNORM32: f64 = 1.1754943508222875e-38; // 2^-126

// Exponent field of a binary32 result is in [lo, 0xFE].
// @ts-ignore: decorator
@inline export function exp32In(r: u32, lo: u32): bool {
  return ((r >> 23) & 0xFF) - lo < 0xFF - lo;
}

// Each helper returns the result bits, or 0 to ask for the software path (a zero result is
// then simply recomputed there).

// x + y in binary64, RNE.  A sum in the subnormal range is exact, so UF cannot occur.
// @ts-ignore: decorator
@inline export function add64Fast(fl: usize, x: f64, y: f64): u64 {
  const s = x + y;
  const sb = reinterpret<u64>(s);
  if ((sb & EXP64) == EXP64) return 0;
  const bv = s - x;
  const err = (x - (s - bv)) + (y - bv);
  if (err != 0) {
    if (err - err != 0) return 0; // an intermediate overflowed: let the slow path decide
    raise(fl, NX);
  }
  return sb;
}

// a * b in binary64, RNE, for normal operands and a result with exponent field >= 2.
// @ts-ignore: decorator
@inline export function mul64Fast(fl: usize, a: u64, b: u64): u64 {
  const ea = <i32>(a >> 52) & 0x7FF, eb = <i32>(b >> 52) & 0x7FF;
  const pb = reinterpret<u64>(reinterpret<f64>(a) * reinterpret<f64>(b));
  const pe = <i32>(pb >> 52) & 0x7FF;
  if (<u32>(ea - 1) >= 0x7FE || <u32>(eb - 1) >= 0x7FE || <u32>(pe - 2) >= 0x7FD) return 0;
  // The product of the significands P = ma*mb rounds to mp * 2^t; it is exact iff equal.
  // |P - mp*2^t| <= 2^53, so comparing the low 64 bits decides.
  const t = <u64>(pe - ea - eb + 1075);
  if (((a & FRAC64) | HID64) * ((b & FRAC64) | HID64) != ((pb & FRAC64) | HID64) << t) raise(fl, NX);
  return pb;
}

// a / b in binary64, RNE, for normal operands and a result with exponent field >= 2.
// @ts-ignore: decorator
@inline export function div64Fast(fl: usize, a: u64, b: u64): u64 {
  const ea = <i32>(a >> 52) & 0x7FF, eb = <i32>(b >> 52) & 0x7FF;
  const qb = reinterpret<u64>(reinterpret<f64>(a) / reinterpret<f64>(b));
  const qe = <i32>(qb >> 52) & 0x7FF;
  if (<u32>(ea - 1) >= 0x7FE || <u32>(eb - 1) >= 0x7FE || <u32>(qe - 2) >= 0x7FD) return 0;
  // Exact iff mq*mb == ma*2^k, which forces k in {52, 53}; |mq*mb - ma*2^k| < 2^52.
  const k = ea - qe - eb + 1075;
  if (<u32>(k - 52) > 1 ||
      ((a & FRAC64) | HID64) << <u64>k != ((qb & FRAC64) | HID64) * ((b & FRAC64) | HID64)) raise(fl, NX);
  return qb;
}

// Fused x*y + z in binary64, RNE (Boldo & Melquiond's emulation with rounding to odd): the
// product is split exactly into uh + ul (ul from the integer product of the significands),
// (th, tl) = 2Sum(z, uh), v = RO(tl + ul), result = RN(th + v).  Only for normal x, y with a
// product in [2^-918, 2^960) and a result exponent field in [112, 0x7FD].
// @ts-ignore: decorator
@inline export function fma64Fast(fl: usize, a: u64, b: u64, c: u64): u64 {
  const ea = <i32>(a >> 52) & 0x7FF, eb = <i32>(b >> 52) & 0x7FF;
  const es = ea + eb;
  if (<u32>(ea - 1) >= 0x7FE || <u32>(eb - 1) >= 0x7FE || <u32>(es - 1128) >= 1878) return 0;
  const z = reinterpret<f64>(c);
  const uh = reinterpret<f64>(a) * reinterpret<f64>(b);
  const ub = reinterpret<u64>(uh);
  const t = <u64>(<i32>(ub >> 52 & 0x7FF) - es + 1075);
  const err = <i64>(((a & FRAC64) | HID64) * ((b & FRAC64) | HID64) - (((ub & FRAC64) | HID64) << t));
  // an exact product (as in most products of short significands): the fused result is the sum
  if (err == 0) return add64Fast(fl, z, uh);
  let ul = <f64>err * reinterpret<f64>(<u64>(es - 1127) << 52); // err * 2^(es-2150), exact
  if (uh < 0) ul = -ul;
  // (th, tl) = 2Sum(z, uh)
  const th = z + uh;
  const b1 = th - z;
  const tl = (z - (th - b1)) + (uh - b1);
  // v = RO(tl + ul)
  const s = tl + ul;
  const b2 = s - tl;
  const e2 = (tl - (s - b2)) + (ul - b2);
  let v = s;
  if (e2 != 0) {
    const sb = reinterpret<u64>(s);
    if ((sb & 1) == 0) v = reinterpret<f64>((e2 > 0) == (s > 0) ? sb + 1 : sb - 1);
  }
  const r = th + v;
  const rb = reinterpret<u64>(r);
  if (<u32>(<i32>(rb >> 52 & 0x7FF) - 112) >= 0x7FE - 112) return 0;
  const b3 = r - th;
  const e3 = (th - (r - b3)) + (v - b3);
  if (e2 != 0 || e3 != 0) {
    if (e2 - e2 != 0 || e3 - e3 != 0) return 0;
    raise(fl, NX);
  }
  return rb;
}

// Float -> integer: x rounded to an integral value for RNE/RTZ/RDN/RUP, NaN for RMM.  The
// callers take the software path unless the result is within the integer type's range
// (NaN never is), so NaN inputs, overflow and RMM all end up there.
// @ts-ignore: decorator
@inline export function roundInt(x: f64, rm: u32): f64 {
  if (rm == RTZ) return trunc<f64>(x);
  if (rm == RNE) return nearest<f64>(x);
  if (rm == RDN) return floor<f64>(x);
  if (rm == RUP) return ceil<f64>(x);
  return NaN;
}
