// The integer ("soft") IEEE-754 core of the FPU: unpacking, rounding and packing with every
// rounding mode and exact flags, and the generic operations for binary32 and binary64 (the type
// parameter T is u32 or u64). fpu.ts is the public interface; fpu-fast.ts holds the native fast
// paths. See fpu.ts for the representation used here.

export const NX: u32 = 1;
export const UF: u32 = 2;
export const OF: u32 = 4;
export const DZ: u32 = 8;
export const NV: u32 = 16;

export const RNE: u32 = 0;
export const RTZ: u32 = 1;
export const RDN: u32 = 2;
export const RUP: u32 = 3;
export const RMM: u32 = 4;

export const TOP: u64 = 0x8000000000000000;
export const BIT62: u64 = 0x4000000000000000;

// @ts-ignore: decorator
@inline export function raise(fl: usize, f: u32): void {
  // Flags are sticky and usually already set: skip the store then (no store->load chain).
  const old = load<u32>(fl);
  if ((old & f) != f) store<u32>(fl, old | f);
}

// ---------------------------------------------------------------------------
// Format parameters (T = u32 for binary32, u64 for binary64).  All of them
// fold to constants once the generic functions are instantiated.

// @ts-ignore: decorator
@inline export function MB<T>(): i32 { return sizeof<T>() == 8 ? 52 : 23; }        // stored mantissa bits
// @ts-ignore: decorator
@inline export function EMAX<T>(): i32 { return sizeof<T>() == 8 ? 0x7FF : 0xFF; } // all-ones exponent
// @ts-ignore: decorator
@inline export function BIAS<T>(): i32 { return sizeof<T>() == 8 ? 1023 : 127; }
// @ts-ignore: decorator
@inline export function SGN<T>(): u64 { return sizeof<T>() == 8 ? 63 : 31; }      // sign bit position
// @ts-ignore: decorator
@inline export function CNAN<T>(): u64 { return sizeof<T>() == 8 ? <u64>0x7FF8000000000000 : <u64>0x7FC00000; }
// @ts-ignore: decorator
@inline export function FRAC<T>(): u64 { return (<u64>1 << <u64>MB<T>()) - 1; }
// @ts-ignore: decorator
@inline export function MAG<T>(): u64 { return (<u64>1 << SGN<T>()) - 1; }
// @ts-ignore: decorator
@inline export function INF<T>(): u64 { return <u64>EMAX<T>() << <u64>MB<T>(); }
// @ts-ignore: decorator
@inline export function SH<T>(): u64 { return <u64>(62 - MB<T>()); }              // guard bits below the mantissa

// @ts-ignore: decorator
@inline export function expOf<T>(x: u64): i32 { return <i32>(x >> <u64>MB<T>()) & EMAX<T>(); }
// @ts-ignore: decorator
@inline export function signOf<T>(x: u64): u64 { return (x >> SGN<T>()) & 1; }
// @ts-ignore: decorator
@inline export function isNaNx<T>(x: u64): bool { return (x & MAG<T>()) > INF<T>(); }
// @ts-ignore: decorator
@inline export function isSNaNx<T>(x: u64): bool {
  return isNaNx<T>(x) && ((x >> <u64>(MB<T>() - 1)) & 1) == 0;
}

// Normalised significand (leading one at bit 62) of a finite nonzero value.
// @ts-ignore: decorator
@inline export function normSig<T>(x: u64): u64 {
  const f = x & FRAC<T>();
  if (expOf<T>(x) != 0) return (f | (<u64>1 << <u64>MB<T>())) << SH<T>();
  return f << (clz<u64>(f) - 1);
}

// Biased exponent matching normSig (<= 0 for subnormals).
// @ts-ignore: decorator
@inline export function normExp<T>(x: u64): i32 {
  const e = expOf<T>(x);
  if (e != 0) return e;
  return 64 - MB<T>() - <i32>clz<u64>(x & FRAC<T>());
}

// x >> n with every shifted-out one bit ORed into bit 0.
// @ts-ignore: decorator
@inline export function shrJam(x: u64, n: i32): u64 {
  if (n <= 0) return x;
  if (n >= 64) return select<u64>(1, 0, x != 0);
  return (x >> <u64>n) | select<u64>(1, 0, (x << <u64>(64 - n)) != 0);
}

// High 64 bits of the 128-bit product a*b.
export function mulHi(a: u64, b: u64): u64 {
  const a0 = a & 0xFFFFFFFF, a1 = a >> 32;
  const b0 = b & 0xFFFFFFFF, b1 = b >> 32;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & 0xFFFFFFFF) + (p10 & 0xFFFFFFFF);
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

// ---------------------------------------------------------------------------
// Rounding and packing.

// Largest finite value or infinity after overflow, per rounding direction.
// @ts-ignore: decorator
@inline export function overflowResult<T>(sign: u64, rm: u32): u64 {
  const sbit = sign << SGN<T>();
  if (rm == RTZ || (rm == RDN && sign == 0) || (rm == RUP && sign != 0)) return sbit | (INF<T>() - 1);
  return sbit | INF<T>();
}

// Round (sign, e, sig) to the format, raise NX/UF/OF, return the bit pattern.
export function roundPack<T>(fl: usize, sign: u64, e: i32, sig: u64, rm: u32): u64 {
  const M = MB<T>();
  const S = SH<T>();
  const LOW: u64 = (<u64>1 << S) - 1;
  const HALF: u64 = <u64>1 << (S - 1);
  let inc: u64 = HALF;
  if (rm != RNE && rm != RMM) {
    inc = 0;
    if (rm == RDN) { if (sign != 0) inc = LOW; }
    else if (rm == RUP) { if (sign == 0) inc = LOW; }
  }
  const sbit = sign << SGN<T>();
  if (<u32>(e - 1) >= <u32>(EMAX<T>() - 2)) {
    if (e <= 0) {
      // Tiny unless rounding to M+1 bits with unbounded exponent reaches 2^emin.
      const tiny = e < 0 || sig + inc < TOP;
      sig = shrJam(sig, 1 - e);
      const rem = sig & LOW;
      sig = (sig + inc) >> S;
      if (rem != 0) {
        if (rm == RNE && rem == HALF) sig &= ~<u64>1;
        raise(fl, tiny ? NX | UF : NX);
      }
      return sbit | sig; // a carry into bit M yields the smallest normal
    }
    if (e >= EMAX<T>() || sig + inc >= TOP) {
      raise(fl, OF | NX);
      return overflowResult<T>(sign, rm);
    }
  }
  const rem = sig & LOW;
  sig = (sig + inc) >> S;
  if (rem != 0) {
    if (rm == RNE && rem == HALF) sig &= ~<u64>1;
    raise(fl, NX);
  }
  // sig is in [2^M, 2^(M+1)]; a carry bumps the exponent through the addition.
  return sbit | ((<u64>e << <u64>M) + sig - (<u64>1 << <u64>M));
}

// NaN result: canonical NaN, NV when an input is signalling.
// @ts-ignore: decorator
@inline export function nan2<T>(fl: usize, a: u64, b: u64): u64 {
  if (isSNaNx<T>(a) || isSNaNx<T>(b)) raise(fl, NV);
  return CNAN<T>();
}

// ---------------------------------------------------------------------------
// Addition of two finite nonzero unpacked values.

export function addCore<T>(fl: usize, sa: u64, ea: i32, siga: u64, sb: u64, eb: i32, sigb: u64, rm: u32): u64 {
  if (ea < eb || (ea == eb && siga < sigb)) {
    const ts = sa; sa = sb; sb = ts;
    const te = ea; ea = eb; eb = te;
    const tg = siga; siga = sigb; sigb = tg;
  }
  // One bit of headroom; the operands' bit 0 is always zero here.
  const A = siga >> 1;
  const B = shrJam(sigb, ea - eb + 1);
  let s: u64;
  if (sa == sb) {
    s = A + B;
  } else {
    s = A - B;
    if (s == 0) return select<u64>(1, 0, rm == RDN) << SGN<T>();
  }
  const n = <i32>clz<u64>(s) - 1;
  return roundPack<T>(fl, sa, ea + 1 - n, s << <u64>n, rm);
}

export function addGen<T>(fl: usize, a: u64, b: u64, rm: u32): u64 {
  const EM = EMAX<T>();
  const ea = expOf<T>(a), eb = expOf<T>(b);
  const sa = signOf<T>(a), sb = signOf<T>(b);
  if (ea == EM || eb == EM) {
    if (isNaNx<T>(a) || isNaNx<T>(b)) return nan2<T>(fl, a, b);
    if (ea == EM) {
      if (eb == EM && sa != sb) { raise(fl, NV); return CNAN<T>(); }
      return a;
    }
    return b;
  }
  if ((a & MAG<T>()) == 0) {
    if ((b & MAG<T>()) == 0) {
      if (sa == sb) return a;
      return select<u64>(1, 0, rm == RDN) << SGN<T>();
    }
    return b;
  }
  if ((b & MAG<T>()) == 0) return a;
  return addCore<T>(fl, sa, normExp<T>(a), normSig<T>(a), sb, normExp<T>(b), normSig<T>(b), rm);
}

// ---------------------------------------------------------------------------
// Multiplication.

// Product of two finite nonzero values, rounded.
export function mulCore<T>(fl: usize, sign: u64, a: u64, b: u64, rm: u32): u64 {
  const ea = normExp<T>(a), eb = normExp<T>(b);
  const siga = normSig<T>(a), sigb = normSig<T>(b);
  if (sizeof<T>() == 4) {
    const p = (siga >> 39) * (sigb >> 39); // exact, 47 or 48 bits
    const n = <i32>clz<u64>(p) - 1;
    return roundPack<T>(fl, sign, ea + eb - BIAS<T>() + 16 - n, p << <u64>n, rm);
  } else {
    const hi = mulHi(siga, sigb), lo = siga * sigb; // in [2^124, 2^126)
    let e = ea + eb - BIAS<T>() + 1;
    let sig = (hi << 1) | (lo >> 63);
    let rest = lo << 1;
    if (sig < BIT62) {
      sig = (hi << 2) | (lo >> 62);
      rest = lo << 2;
      e--;
    }
    return roundPack<T>(fl, sign, e, sig | select<u64>(1, 0, rest != 0), rm);
  }
}

export function mulGen<T>(fl: usize, a: u64, b: u64, rm: u32): u64 {
  const EM = EMAX<T>();
  const sign = signOf<T>(a) ^ signOf<T>(b);
  if (expOf<T>(a) == EM || expOf<T>(b) == EM) {
    if (isNaNx<T>(a) || isNaNx<T>(b)) return nan2<T>(fl, a, b);
    if ((a & MAG<T>()) == 0 || (b & MAG<T>()) == 0) { raise(fl, NV); return CNAN<T>(); }
    return (sign << SGN<T>()) | INF<T>();
  }
  if ((a & MAG<T>()) == 0 || (b & MAG<T>()) == 0) return sign << SGN<T>();
  return mulCore<T>(fl, sign, a, b, rm);
}

// ---------------------------------------------------------------------------
// Division.

export function divGen<T>(fl: usize, a: u64, b: u64, rm: u32): u64 {
  const EM = EMAX<T>();
  const M = MB<T>();
  const sign = signOf<T>(a) ^ signOf<T>(b);
  const ea0 = expOf<T>(a), eb0 = expOf<T>(b);
  if (ea0 == EM || eb0 == EM) {
    if (isNaNx<T>(a) || isNaNx<T>(b)) return nan2<T>(fl, a, b);
    if (ea0 == EM) {
      if (eb0 == EM) { raise(fl, NV); return CNAN<T>(); }
      return (sign << SGN<T>()) | INF<T>();
    }
    return sign << SGN<T>();
  }
  if ((b & MAG<T>()) == 0) {
    if ((a & MAG<T>()) == 0) { raise(fl, NV); return CNAN<T>(); }
    raise(fl, DZ);
    return (sign << SGN<T>()) | INF<T>();
  }
  if ((a & MAG<T>()) == 0) return sign << SGN<T>();
  const ma = normSig<T>(a) >> SH<T>(), mb = normSig<T>(b) >> SH<T>(); // M+1 bits each
  const lt = ma < mb;
  const s: u64 = <u64>M + select<u64>(1, 0, lt);
  const e = normExp<T>(a) - normExp<T>(b) + BIAS<T>() - select<i32>(1, 0, lt);
  // q = floor(ma * 2^s / mb), r = remainder; q has exactly M+1 bits.
  let q: u64, r: u64;
  if (sizeof<T>() == 4) {
    const n = ma << s;
    q = n / mb;
    r = n - q * mb;
  } else {
    // The hardware quotient of the two 53-bit integers is within half an ulp;
    // fix it up with the exact (wrapping) remainder.
    const qf = <f64>ma / <f64>mb;
    q = <u64>(qf * (lt ? 9007199254740992.0 : 4503599627370496.0));
    let rr = <i64>((ma << s) - q * mb);
    if (rr < 0) { q--; rr += <i64>mb; }
    r = <u64>rr;
  }
  let sig = q << SH<T>();
  if (r != 0) {
    const HALF: u64 = <u64>1 << (SH<T>() - 1);
    const r2 = r << 1;
    sig |= r2 > mb ? HALF | 1 : (r2 == mb ? HALF : 1);
  }
  return roundPack<T>(fl, sign, e, sig, rm);
}

// ---------------------------------------------------------------------------
// Square root.

export function sqrtGen<T>(fl: usize, a: u64, rm: u32): u64 {
  const M = MB<T>();
  if ((a & MAG<T>()) == 0) return a; // +-0
  if (isNaNx<T>(a)) return nan2<T>(fl, a, a);
  if (signOf<T>(a) != 0) { raise(fl, NV); return CNAN<T>(); }
  if (expOf<T>(a) == EMAX<T>()) return a; // +inf
  const m = normSig<T>(a) >> SH<T>(); // M+1 bits
  const k = normExp<T>(a) - BIAS<T>();
  const p = k & 1;
  // sqrt(a) = sqrt(N) * 2^((k-p)/2 - M) with N = m * 2^(M+p) in [2^2M, 2^(2M+2)).
  const nlo = m << <u64>(M + p); // low 64 bits of N (exact for binary32)
  let root: u64;
  if (sizeof<T>() == 4) root = <u64>Math.sqrt(<f64>nlo);
  else root = <u64>Math.sqrt(<f64>m * (p != 0 ? 9007199254740992.0 : 4503599627370496.0));
  let r = <i64>(nlo - root * root); // exact: |r| < 2^(M+3)
  while (r < 0) { r += <i64>(root << 1) - 1; root--; }
  while (r > <i64>(root << 1)) { root++; r -= <i64>(root << 1) - 1; }
  // sqrt(N) = root + f with 0 <= f < 1; f >= 1/2 iff r > root (never exactly 1/2).
  let sig = root << SH<T>();
  if (r != 0) sig |= r > <i64>root ? (<u64>1 << (SH<T>() - 1)) | 1 : 1;
  return roundPack<T>(fl, 0, BIAS<T>() + ((k - p) >> 1), sig, rm);
}

// ---------------------------------------------------------------------------
// Fused multiply-add.  negP negates the product, negC negates the addend.

export function fma64Core(fl: usize, sp: u64, a: u64, b: u64, sc: u64, c: u64, rm: u32): u64 {
  const ma = normSig<u64>(a) >> 10, mb = normSig<u64>(b) >> 10, mc = normSig<u64>(c) >> 10;
  // Exact product, 105 or 106 bits, moved so its leading one is at bit 125.
  let phi = mulHi(ma, mb), plo = ma * mb;
  const t: u64 = phi < (<u64>1 << 41) ? 21 : 20;
  phi = (phi << t) | (plo >> (64 - t));
  plo <<= t;
  const ep = normExp<u64>(a) + normExp<u64>(b) - 1023 + 21 - <i32>t;
  // Addend with its leading one at bit 125 too.
  let chi = mc << 9, clo: u64 = 0;
  const ec = normExp<u64>(c);
  // Order by magnitude: (bhi,blo) is the larger.
  let bhi: u64, blo: u64, shi: u64, slo: u64, eB: i32, eS: i32, sB: u64, sS: u64;
  if (ep > ec || (ep == ec && (phi > chi || (phi == chi && plo >= clo)))) {
    bhi = phi; blo = plo; eB = ep; sB = sp;
    shi = chi; slo = clo; eS = ec; sS = sc;
  } else {
    bhi = chi; blo = clo; eB = ec; sB = sc;
    shi = phi; slo = plo; eS = ep; sS = sp;
  }
  const d = eB - eS;
  if (d != 0) {
    if (d < 64) {
      const st = select<u64>(1, 0, (slo << <u64>(64 - d)) != 0);
      slo = (slo >> <u64>d) | (shi << <u64>(64 - d)) | st;
      shi >>= <u64>d;
    } else if (d == 64) {
      slo = shi | select<u64>(1, 0, slo != 0);
      shi = 0;
    } else if (d < 128) {
      const st = select<u64>(1, 0, slo != 0 || (shi << <u64>(128 - d)) != 0);
      slo = (shi >> <u64>(d - 64)) | st;
      shi = 0;
    } else {
      slo = 1;
      shi = 0;
    }
  }
  let hi: u64, lo: u64;
  if (sB == sS) {
    lo = blo + slo;
    hi = bhi + shi + select<u64>(1, 0, lo < blo);
  } else {
    lo = blo - slo;
    hi = bhi - shi - select<u64>(1, 0, blo < slo);
    if ((hi | lo) == 0) return select<u64>(1, 0, rm == RDN) << 63;
  }
  // Leading one position and 64-bit jammed significand at bit 62.
  let L: i32;
  if (hi != 0) L = 127 - <i32>clz<u64>(hi);
  else L = 63 - <i32>clz<u64>(lo);
  let sig: u64;
  if (L <= 62) {
    sig = lo << <u64>(62 - L);
  } else {
    const sh = L - 62; // 1..64
    if (sh == 64) sig = hi | select<u64>(1, 0, lo != 0);
    else sig = (lo >> <u64>sh) | (hi << <u64>(64 - sh)) | select<u64>(1, 0, (lo << <u64>(64 - sh)) != 0);
  }
  return roundPack<u64>(fl, sB, eB + L - 125, sig, rm);
}

export function fmaGen<T>(fl: usize, a: u64, b: u64, c: u64, rm: u32, op: u32): u64 {
  const EM = EMAX<T>();
  const sp = signOf<T>(a) ^ signOf<T>(b) ^ ((op >> 1) & 1);
  const sc = signOf<T>(c) ^ (op & 1);
  const az = (a & MAG<T>()) == 0, bz = (b & MAG<T>()) == 0, cz = (c & MAG<T>()) == 0;
  const ainf = (a & MAG<T>()) == INF<T>(), binf = (b & MAG<T>()) == INF<T>();
  if (expOf<T>(a) == EM || expOf<T>(b) == EM || expOf<T>(c) == EM) {
    const infzero = (ainf && bz) || (az && binf);
    if (isNaNx<T>(a) || isNaNx<T>(b) || isNaNx<T>(c)) {
      if (isSNaNx<T>(a) || isSNaNx<T>(b) || isSNaNx<T>(c) || infzero) raise(fl, NV);
      return CNAN<T>();
    }
    if (infzero) { raise(fl, NV); return CNAN<T>(); }
    const cinf = (c & MAG<T>()) == INF<T>();
    if (ainf || binf) {
      if (cinf && sc != sp) { raise(fl, NV); return CNAN<T>(); }
      return (sp << SGN<T>()) | INF<T>();
    }
    return (sc << SGN<T>()) | INF<T>();
  }
  if (az || bz) {
    if (cz) {
      if (sp == sc) return sp << SGN<T>();
      return select<u64>(1, 0, rm == RDN) << SGN<T>();
    }
    return (c & MAG<T>()) | (sc << SGN<T>());
  }
  if (cz) return mulCore<T>(fl, sp, a, b, rm);
  if (sizeof<T>() == 4) {
    const ea = normExp<T>(a), eb = normExp<T>(b);
    const p = (normSig<T>(a) >> 39) * (normSig<T>(b) >> 39); // exact
    const n = <i32>clz<u64>(p) - 1;
    return addCore<T>(fl, sp, ea + eb - BIAS<T>() + 16 - n, p << <u64>n, sc, normExp<T>(c), normSig<T>(c), rm);
  }
  return fma64Core(fl, sp, a, b, sc, c, rm);
}

// ---------------------------------------------------------------------------
// Minimum / maximum (IEEE 754-2019 minimumNumber / maximumNumber) and compares.

// a < b for non-NaN values, with -0 < +0.
// @ts-ignore: decorator
@inline export function totalLt<T>(a: u64, b: u64): bool {
  const sa = signOf<T>(a), sb = signOf<T>(b);
  if (sa != sb) return sa != 0;
  return sa != 0 ? a > b : a < b;
}

export function minmaxGen<T>(fl: usize, a: u64, b: u64, isMax: bool): u64 {
  const an = isNaNx<T>(a), bn = isNaNx<T>(b);
  if (an || bn) {
    if (isSNaNx<T>(a) || isSNaNx<T>(b)) raise(fl, NV);
    if (an && bn) return CNAN<T>();
    return an ? b : a;
  }
  const lt = totalLt<T>(a, b);
  return lt != isMax ? a : b;
}

export function eqGen<T>(fl: usize, a: u64, b: u64): u64 {
  if (isNaNx<T>(a) || isNaNx<T>(b)) {
    if (isSNaNx<T>(a) || isSNaNx<T>(b)) raise(fl, NV);
    return 0;
  }
  return select<u64>(1, 0, a == b || ((a | b) & MAG<T>()) == 0);
}

export function ltGen<T>(fl: usize, a: u64, b: u64, orEq: bool): u64 {
  if (isNaNx<T>(a) || isNaNx<T>(b)) { raise(fl, NV); return 0; }
  if (((a | b) & MAG<T>()) == 0) return select<u64>(1, 0, orEq);
  if (a == b) return select<u64>(1, 0, orEq);
  return select<u64>(1, 0, totalLt<T>(a, b));
}

export function classGen<T>(a: u64): u64 {
  const s = signOf<T>(a);
  const e = expOf<T>(a);
  const f = a & FRAC<T>();
  let bit: u64;
  if (e == EMAX<T>()) {
    if (f == 0) bit = s != 0 ? 0 : 7;
    else bit = ((f >> <u64>(MB<T>() - 1)) & 1) != 0 ? 9 : 8;
  } else if (e == 0) {
    if (f == 0) bit = s != 0 ? 3 : 4;
    else bit = s != 0 ? 2 : 5;
  } else {
    bit = s != 0 ? 1 : 6;
  }
  return <u64>1 << bit;
}

// ---------------------------------------------------------------------------
// Conversions.

// kind: 0 = int32, 1 = uint32, 2 = int64, 3 = uint64.  Result as the 64-bit
// register value (32-bit results sign-extended).
export function toIntGen<T>(fl: usize, a: u64, rm: u32, kind: u32): u64 {
  const sign = signOf<T>(a);
  let m: u64 = 0;
  let inexact = false;
  let ovf = false;
  if (isNaNx<T>(a)) {
    raise(fl, NV);
    if (kind == 0) return 0x7FFFFFFF;
    if (kind == 2) return 0x7FFFFFFFFFFFFFFF;
    return 0xFFFFFFFFFFFFFFFF;
  }
  if ((a & MAG<T>()) == 0) return 0;
  if (expOf<T>(a) == EMAX<T>()) {
    ovf = true;
  } else {
    const k = normExp<T>(a) - BIAS<T>();
    const sig = normSig<T>(a);
    if (k > 63) {
      ovf = true;
    } else if (k >= 62) {
      m = sig << <u64>(k - 62);
    } else {
      const s = 62 - k; // >= 1
      let rem: u64; // fraction, left-aligned (bit 63 = one half)
      if (s >= 64) { m = 0; rem = 1; } // value < 1/4: nonzero, below one half
      else { m = sig >> <u64>s; rem = sig << <u64>(64 - s); }
      if (rem != 0) {
        inexact = true;
        let up = false;
        if (rm == RNE) up = rem > TOP || (rem == TOP && (m & 1) != 0);
        else if (rm == RMM) up = rem >= TOP;
        else if (rm == RDN) up = sign != 0;
        else if (rm == RUP) up = sign == 0;
        if (up) m++;
      }
    }
  }
  let res: u64 = 0;
  if (!ovf) {
    if (kind == 0) {
      if (sign != 0 ? m > 0x80000000 : m > 0x7FFFFFFF) ovf = true;
      else res = sign != 0 ? 0 - m : m;
    } else if (kind == 1) {
      if (sign != 0 ? m != 0 : m > 0xFFFFFFFF) ovf = true;
      else res = <u64><i64><i32><u32>m;
    } else if (kind == 2) {
      if (sign != 0 ? m > TOP : m >= TOP) ovf = true;
      else res = sign != 0 ? 0 - m : m;
    } else {
      if (sign != 0 && m != 0) ovf = true;
      else res = m;
    }
  }
  if (ovf) {
    raise(fl, NV);
    if (kind == 0) return sign != 0 ? 0xFFFFFFFF80000000 : 0x7FFFFFFF;
    if (kind == 2) return sign != 0 ? TOP : 0x7FFFFFFFFFFFFFFF;
    return sign != 0 ? 0 : 0xFFFFFFFFFFFFFFFF;
  }
  if (inexact) raise(fl, NX);
  return res;
}

// Magnitude m (nonzero) with the given sign, rounded to the format.
export function fromIntGen<T>(fl: usize, sign: u64, m: u64, rm: u32): u64 {
  if (m == 0) return 0;
  const p = 63 - <i32>clz<u64>(m);
  const sig = p == 63 ? (m >> 1) | (m & 1) : m << <u64>(62 - p);
  return roundPack<T>(fl, sign, BIAS<T>() + p, sig, rm);
}
