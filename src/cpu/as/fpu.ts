// RISC-V "F" and "D" floating-point unit (IEEE-754 binary32 / binary64).
//
// Values are raw bit patterns (u32 for single, u64 for double).  `fl` is the
// address of the u32 fflags word; raised flags are ORed into it.  `rm` is a
// resolved rounding mode 0..4 (RNE, RTZ, RDN, RUP, RMM).
//
// Semantics follow the RISC-V unprivileged spec (and QEMU): every NaN result is
// the canonical NaN, tininess is detected after rounding, no flush-to-zero,
// float->int conversions saturate, fmin/fmax are IEEE 754-2019 minimumNumber /
// maximumNumber.
//
// The module is stateless: no mutable globals, no allocation.
//
// Internal representation of a finite nonzero value used by the software path:
//   value = (-1)^sign * sig * 2^(e - BIAS - 62)
// with `sig` normalised so that bit 62 is its leading one ("e" is then the
// biased exponent the result would have, possibly <= 0 for tiny values) and
// any bits lost on the way ORed ("jammed") into bit 0.  The same layout serves
// both formats; single precision simply has more guard bits (39 instead of 10).


import {
  NX, UF, NV, RNE, TOP, raise, CNAN, MAG, INF, isNaNx, normSig, normExp, roundPack, nan2, addGen, mulGen, divGen, sqrtGen, fmaGen, minmaxGen, eqGen, classGen, toIntGen, fromIntGen,
} from './fpu-soft';
import { FRAC64, HID64, MINNORM32, exp32In, add64Fast, mul64Fast, div64Fast, fma64Fast, roundInt } from './fpu-fast';

// ---------------------------------------------------------------------------
// Exported binary32 operations.

export function f32_add(fl: usize, a: u32, b: u32, rm: u32): u32 {
  if (rm == RNE) {
    const x = <f64>reinterpret<f32>(a), y = <f64>reinterpret<f32>(b);
    const s = x + y; // may be inexact when the exponents are far apart
    const r = <f32>s;
    const rb = reinterpret<u32>(r);
    if ((rb & 0x7F800000) != 0x7F800000) {
      // A sum that lands in the subnormal range is exact, so UF never applies here.
      const bv = s - x;
      if ((x - (s - bv)) + (y - bv) != 0 || <f64>r != s) raise(fl, NX);
      return rb;
    }
  }
  return <u32>addGen<u32>(fl, a, b, rm);
}
export function f32_sub(fl: usize, a: u32, b: u32, rm: u32): u32 {
  return f32_add(fl, a, b ^ 0x80000000, rm);
}
export function f32_mul(fl: usize, a: u32, b: u32, rm: u32): u32 {
  if (rm == RNE) {
    const p = <f64>reinterpret<f32>(a) * <f64>reinterpret<f32>(b); // exact
    const r = <f32>p;
    const rb = reinterpret<u32>(r);
    if (exp32In(rb, 1) && Math.abs(p) >= MINNORM32) {
      if (<f64>r != p) raise(fl, NX);
      return rb;
    }
  }
  return <u32>mulGen<u32>(fl, a, b, rm);
}
export function f32_div(fl: usize, a: u32, b: u32, rm: u32): u32 {
  if (rm == RNE) {
    const x = <f64>reinterpret<f32>(a), y = <f64>reinterpret<f32>(b);
    const r = <f32>(x / y);
    const rb = reinterpret<u32>(r);
    if (exp32In(rb, 2)) {
      if (<f64>r * y != x) raise(fl, NX); // the product is exact
      return rb;
    }
  }
  return <u32>divGen<u32>(fl, a, b, rm);
}
export function f32_sqrt(fl: usize, a: u32, rm: u32): u32 {
  if (rm == RNE && a - 1 < 0x7F7FFFFF) { // positive, finite, nonzero
    const x = <f64>reinterpret<f32>(a);
    const r = <f32>Math.sqrt(x);
    if (<f64>r * <f64>r != x) raise(fl, NX); // the square is exact
    return reinterpret<u32>(r);
  }
  return <u32>sqrtGen<u32>(fl, a, rm);
}
export function f32_madd(fl: usize, a: u32, b: u32, c: u32, rm: u32, op: u32): u32 {
  if (rm == RNE) {
    let p = <f64>reinterpret<f32>(a) * <f64>reinterpret<f32>(b); // exact
    let z = <f64>reinterpret<f32>(c);
    if (op & 2) p = -p;
    if (op & 1) z = -z;
    const s = p + z;
    const r = <f32>s;
    const rb = reinterpret<u32>(r);
    if (exp32In(rb, 2)) {
      const bv = s - p;
      const err = (p - (s - bv)) + (z - bv);
      if (err == 0) {
        if (<f64>r != s) raise(fl, NX);
        return rb;
      }
      // s is the binary64 rounding of the exact sum: rounding it again to binary32 is right
      // unless s sits exactly halfway between two binary32 values.
      if ((reinterpret<u64>(s) & 0x1FFFFFFF) != 0x10000000) {
        raise(fl, NX);
        return rb;
      }
    }
  }
  return <u32>fmaGen<u32>(fl, a, b, c, rm, op);
}
export function f32_min(fl: usize, a: u32, b: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x == x && y == y) return reinterpret<u32>(min<f32>(x, y)); // wasm min: -0 < +0
  return <u32>minmaxGen<u32>(fl, a, b, false);
}
export function f32_max(fl: usize, a: u32, b: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x == x && y == y) return reinterpret<u32>(max<f32>(x, y));
  return <u32>minmaxGen<u32>(fl, a, b, true);
}
export function f32_eq(fl: usize, a: u32, b: u32): u64 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x == x && y == y) return select<u64>(1, 0, x == y);
  return eqGen<u32>(fl, a, b);
}
export function f32_lt(fl: usize, a: u32, b: u32): u64 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x == x && y == y) return select<u64>(1, 0, x < y);
  raise(fl, NV);
  return 0;
}
export function f32_le(fl: usize, a: u32, b: u32): u64 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x == x && y == y) return select<u64>(1, 0, x <= y);
  raise(fl, NV);
  return 0;
}
export function f32_class(a: u32): u64 {
  return classGen<u32>(a);
}
export function f32_to_i32(fl: usize, a: u32, rm: u32): u64 {
  const t = roundInt(<f64>reinterpret<f32>(a), rm);
  if (t >= -2147483648.0 && t <= 2147483647.0) {
    if (t != <f64>reinterpret<f32>(a)) raise(fl, NX);
    return <u64><i64>t;
  }
  return toIntGen<u32>(fl, a, rm, 0);
}
export function f32_to_u32(fl: usize, a: u32, rm: u32): u64 {
  const t = roundInt(<f64>reinterpret<f32>(a), rm);
  if (t > -1.0 && t <= 4294967295.0) {
    if (t != <f64>reinterpret<f32>(a)) raise(fl, NX);
    return <u64><i64><i32><u32><i64>t;
  }
  return toIntGen<u32>(fl, a, rm, 1);
}
export function f32_to_i64(fl: usize, a: u32, rm: u32): u64 {
  const t = roundInt(<f64>reinterpret<f32>(a), rm);
  if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) {
    if (t != <f64>reinterpret<f32>(a)) raise(fl, NX);
    return <u64><i64>t;
  }
  return toIntGen<u32>(fl, a, rm, 2);
}
export function f32_to_u64(fl: usize, a: u32, rm: u32): u64 {
  const t = roundInt(<f64>reinterpret<f32>(a), rm);
  if (t > -1.0 && t < 18446744073709551616.0) {
    if (t != <f64>reinterpret<f32>(a)) raise(fl, NX);
    return <u64>t;
  }
  return toIntGen<u32>(fl, a, rm, 3);
}
export function i32_to_f32(fl: usize, x: u64, rm: u32): u32 {
  const v = <i32><u32>x;
  if (<u32>(v + 0x1000000) <= 0x2000000) return reinterpret<u32>(<f32>v); // |v| <= 2^24: exact
  return <u32>fromIntGen<u32>(fl, <u64>(v >>> 31), <u64>(v < 0 ? -<i64>v : <i64>v), rm);
}
export function u32_to_f32(fl: usize, x: u64, rm: u32): u32 {
  const v = x & 0xFFFFFFFF;
  if (v <= 0x1000000) return reinterpret<u32>(<f32><u32>v);
  return <u32>fromIntGen<u32>(fl, 0, v, rm);
}
export function i64_to_f32(fl: usize, x: u64, rm: u32): u32 {
  if (x + 0x1000000 <= 0x2000000) return reinterpret<u32>(<f32><i64>x);
  const s = x >> 63;
  return <u32>fromIntGen<u32>(fl, s, s != 0 ? 0 - x : x, rm);
}
export function u64_to_f32(fl: usize, x: u64, rm: u32): u32 {
  if (x <= 0x1000000) return reinterpret<u32>(<f32>x);
  return <u32>fromIntGen<u32>(fl, 0, x, rm);
}

// ---------------------------------------------------------------------------
// Exported binary64 operations.

export function f64_add(fl: usize, a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    const r = add64Fast(fl, reinterpret<f64>(a), reinterpret<f64>(b));
    if (r != 0) return r;
  }
  return addGen<u64>(fl, a, b, rm);
}
export function f64_sub(fl: usize, a: u64, b: u64, rm: u32): u64 {
  return f64_add(fl, a, b ^ TOP, rm);
}
export function f64_mul(fl: usize, a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    const r = mul64Fast(fl, a, b);
    if (r != 0) return r;
  }
  return mulGen<u64>(fl, a, b, rm);
}
export function f64_div(fl: usize, a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    const r = div64Fast(fl, a, b);
    if (r != 0) return r;
  }
  return divGen<u64>(fl, a, b, rm);
}
export function f64_sqrt(fl: usize, a: u64, rm: u32): u64 {
  if (rm == RNE && a - HID64 < 0x7FE0000000000000) { // positive normal
    const rb = reinterpret<u64>(Math.sqrt(reinterpret<f64>(a)));
    // Exact iff mr^2 == ma * 2^k, which forces k in {52, 53}; |mr^2 - ma*2^k| <= 2^53.
    const k = <i32>(a >> 52) + 1075 - 2 * <i32>(rb >> 52);
    const mr = (rb & FRAC64) | HID64;
    if (<u32>(k - 52) > 1 || ((a & FRAC64) | HID64) << <u64>k != mr * mr) raise(fl, NX);
    return rb;
  }
  return sqrtGen<u64>(fl, a, rm);
}
export function f64_madd(fl: usize, a: u64, b: u64, c: u64, rm: u32, op: u32): u64 {
  // a zero factor and a finite other one make the product an exact zero: the result is the
  // addend exactly, in every rounding mode and without flags, unless it is a zero too (whose
  // sign depends on the rounding mode), an infinity or a NaN (IEEE 754-2008 6.3, 7.2)
  const cc = c ^ (<u64>(op & 1) << 63);
  if ((((a << 1) == 0 && ((b >> 52) & 0x7FF) != 0x7FF) || ((b << 1) == 0 && ((a >> 52) & 0x7FF) != 0x7FF)) &&
      (cc << 1) != 0 && ((cc >> 52) & 0x7FF) != 0x7FF) return cc;
  if (rm == RNE) {
    const r = fma64Fast(fl, a ^ (<u64>(op & 2) << 62), b, c ^ (<u64>(op & 1) << 63));
    if (r != 0) return r;
  }
  return fmaGen<u64>(fl, a, b, c, rm, op);
}
export function f64_min(fl: usize, a: u64, b: u64): u64 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x == x && y == y) return reinterpret<u64>(min<f64>(x, y));
  return minmaxGen<u64>(fl, a, b, false);
}
export function f64_max(fl: usize, a: u64, b: u64): u64 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x == x && y == y) return reinterpret<u64>(max<f64>(x, y));
  return minmaxGen<u64>(fl, a, b, true);
}
export function f64_eq(fl: usize, a: u64, b: u64): u64 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x == x && y == y) return select<u64>(1, 0, x == y);
  return eqGen<u64>(fl, a, b);
}
export function f64_lt(fl: usize, a: u64, b: u64): u64 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x == x && y == y) return select<u64>(1, 0, x < y);
  raise(fl, NV);
  return 0;
}
export function f64_le(fl: usize, a: u64, b: u64): u64 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x == x && y == y) return select<u64>(1, 0, x <= y);
  raise(fl, NV);
  return 0;
}
export function f64_class(a: u64): u64 {
  return classGen<u64>(a);
}
export function f64_to_i32(fl: usize, a: u64, rm: u32): u64 {
  const x = reinterpret<f64>(a);
  const t = roundInt(x, rm);
  if (t >= -2147483648.0 && t <= 2147483647.0) {
    if (t != x) raise(fl, NX);
    return <u64><i64>t;
  }
  return toIntGen<u64>(fl, a, rm, 0);
}
export function f64_to_u32(fl: usize, a: u64, rm: u32): u64 {
  const x = reinterpret<f64>(a);
  const t = roundInt(x, rm);
  if (t > -1.0 && t <= 4294967295.0) {
    if (t != x) raise(fl, NX);
    return <u64><i64><i32><u32><i64>t;
  }
  return toIntGen<u64>(fl, a, rm, 1);
}
export function f64_to_i64(fl: usize, a: u64, rm: u32): u64 {
  const x = reinterpret<f64>(a);
  const t = roundInt(x, rm);
  if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) {
    if (t != x) raise(fl, NX);
    return <u64><i64>t;
  }
  return toIntGen<u64>(fl, a, rm, 2);
}
export function f64_to_u64(fl: usize, a: u64, rm: u32): u64 {
  const x = reinterpret<f64>(a);
  const t = roundInt(x, rm);
  if (t > -1.0 && t < 18446744073709551616.0) {
    if (t != x) raise(fl, NX);
    return <u64>t;
  }
  return toIntGen<u64>(fl, a, rm, 3);
}
export function i32_to_f64(fl: usize, x: u64, rm: u32): u64 {
  return reinterpret<u64>(<f64><i32><u32>x); // always exact
}
export function u32_to_f64(fl: usize, x: u64, rm: u32): u64 {
  return reinterpret<u64>(<f64><u32>x); // always exact
}
export function i64_to_f64(fl: usize, x: u64, rm: u32): u64 {
  if (x + 0x20000000000000 <= 0x40000000000000) return reinterpret<u64>(<f64><i64>x); // |x| <= 2^53
  const s = x >> 63;
  return fromIntGen<u64>(fl, s, s != 0 ? 0 - x : x, rm);
}
export function u64_to_f64(fl: usize, x: u64, rm: u32): u64 {
  if (x <= 0x20000000000000) return reinterpret<u64>(<f64>x);
  return fromIntGen<u64>(fl, 0, x, rm);
}

// ---------------------------------------------------------------------------
// Precision conversions.

export function f64_to_f32(fl: usize, a: u64, rm: u32): u32 {
  const x = reinterpret<f64>(a);
  if (rm == RNE) {
    const r = <f32>x;
    const rb = reinterpret<u32>(r);
    if (exp32In(rb, 2)) {
      if (<f64>r != x) raise(fl, NX);
      return rb;
    }
  }
  const sign = a >> 63;
  if (isNaNx<u64>(a)) { nan2<u64>(fl, a, a); return 0x7FC00000; }
  if ((a & MAG<u64>()) == INF<u64>()) return <u32>((sign << 31) | 0x7F800000);
  if ((a & MAG<u64>()) == 0) return <u32>(sign << 31);
  return <u32>roundPack<u32>(fl, sign, normExp<u64>(a) - 1023 + 127, normSig<u64>(a), rm);
}

export function f32_to_f64(fl: usize, a: u32): u64 {
  const x = reinterpret<f32>(a);
  if (x == x) return reinterpret<u64>(<f64>x); // exact, subnormals included
  if ((a & 0x00400000) == 0) raise(fl, NV);
  return CNAN<u64>();
}
