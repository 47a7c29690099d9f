// Integer arithmetic corner cases: RISC-V M-extension semantics (explicit instructions, so C's
// undefined behaviour is not involved), shifts, 128-bit multiply/divide through __int128 (libgcc),
// overflow builtins, bit-counting builtins, sign/zero extension.
#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>
#include <limits.h>
#include "ctest.h"

static const int64_t V[] = {
  0, 1, -1, 2, -2, 3, 7, -7, 63, 64, INT32_MAX, INT32_MIN, (int64_t)0xffffffffLL, (int64_t)0x80000000LL,
  INT64_MAX, INT64_MIN, INT64_MIN + 1, 0x123456789abcdefLL, -0x123456789abcdefLL, (int64_t)0xdeadbeefcafebabeULL,
};
#define NV (sizeof V / sizeof V[0])

#define R(op) ({ int64_t r_; __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"(a), "r"(b)); r_; })

static void print_u128(unsigned __int128 v) {
  char buf[48]; int i = 47; buf[i] = 0;
  do { buf[--i] = (char)('0' + (int)(v % 10)); v /= 10; } while (v);
  fputs(buf + i, stdout);
}
static void print_s128(__int128 v) {
  if (v < 0) { putchar('-'); print_u128(-(unsigned __int128)v); } else print_u128((unsigned __int128)v);
}

int t_intarith(int argc, char **argv) {
  (void)argc; (void)argv;
  uint64_t h = FNV0;
  for (size_t i = 0; i < NV; i++)
    for (size_t j = 0; j < NV; j++) {
      int64_t a = V[i], b = V[j];
      int64_t r[] = {
        R("mul"), R("mulh"), R("mulhsu"), R("mulhu"), R("div"), R("divu"), R("rem"), R("remu"),
        R("mulw"), R("divw"), R("divuw"), R("remw"), R("remuw"), R("sll"), R("srl"), R("sra"),
        R("sllw"), R("srlw"), R("sraw"), R("slt"), R("sltu"), R("addw"), R("subw"),
      };
      printf("%016" PRIx64 " %016" PRIx64 ":", (uint64_t)a, (uint64_t)b);
      for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) {
        printf(" %" PRIx64, (uint64_t)r[k]);
        h = fnv64(h, (uint64_t)r[k]);
      }
      putchar('\n');
    }
  printf("M/shift hash %016" PRIx64 "\n", h);

  // 128-bit arithmetic through __int128 (mul/mulhu + libgcc __divti3/__modti3/__udivti3/__umodti3)
  h = FNV0;
  for (size_t i = 0; i < NV; i++)
    for (size_t j = 0; j < NV; j++) {
      __int128 a = (__int128)V[i] * (__int128)V[(i + 3) % NV] + V[j];
      __int128 b = (__int128)V[j] * 3 + (V[i] & 0xff);
      unsigned __int128 ua = (unsigned __int128)a, ub = (unsigned __int128)b;
      __int128 q = b ? a / b : 0, m = b ? a % b : 0;
      unsigned __int128 uq = ub ? ua / ub : 0, um = ub ? ua % ub : 0;
      unsigned __int128 p = ua * ub;
      h = fnv(h, &q, 16); h = fnv(h, &m, 16); h = fnv(h, &uq, 16); h = fnv(h, &um, 16); h = fnv(h, &p, 16);
      if (i == j || (i * 7 + j) % 29 == 0) {
        print_s128(a); printf(" / "); print_s128(b); printf(" = "); print_s128(q); printf(" r "); print_s128(m);
        printf("; u*: "); print_u128(p); putchar('\n');
      }
    }
  printf("int128 hash %016" PRIx64 "\n", h);
  unsigned __int128 f = 1;
  for (int i = 1; i <= 34; i++) f *= (unsigned)i;
  printf("34! = "); print_u128(f); putchar('\n');

  // shifts by every amount
  h = FNV0;
  for (int s = 0; s < 64; s++) {
    uint64_t x = 0x8123456789abcdefULL;
    h = fnv64(h, x << s); h = fnv64(h, x >> s); h = fnv64(h, (uint64_t)((int64_t)x >> s));
    h = fnv64(h, (uint64_t)(int64_t)(int32_t)((uint32_t)x << (s & 31)));
    h = fnv64(h, (uint64_t)(int64_t)((int32_t)(uint32_t)x >> (s & 31)));
    unsigned __int128 w = ((unsigned __int128)x << 64) | x;
    w = (w << s) | (w >> (128 - s) % 128);
    h = fnv(h, &w, 16);
  }
  printf("shift hash %016" PRIx64 "\n", h);

  // overflow builtins and bit builtins
  for (size_t i = 0; i < NV; i++) {
    int64_t a = V[i], b = V[(i + 5) % NV], r1, r2, r3;
    int o1 = __builtin_add_overflow(a, b, &r1), o2 = __builtin_sub_overflow(a, b, &r2), o3 = __builtin_mul_overflow(a, b, &r3);
    uint64_t u = (uint64_t)a;
    int32_t w; int o4 = __builtin_mul_overflow((int32_t)a, (int32_t)b, &w);
    printf("%" PRId64 " %" PRId64 ": add %d/%" PRId64 " sub %d/%" PRId64 " mul %d/%" PRId64 " mul32 %d/%d"
           " clz %d ctz %d pop %d par %d bswap %016" PRIx64 " ffs %d clrsb %d\n",
           a, b, o1, r1, o2, r2, o3, r3, o4, w, u ? __builtin_clzll(u) : 64, u ? __builtin_ctzll(u) : 64,
           __builtin_popcountll(u), __builtin_parityll(u), __builtin_bswap64(u), __builtin_ffsll(a), __builtin_clrsbll(a));
  }
  // sign/zero extension through C types
  for (size_t i = 0; i < NV; i++) {
    int64_t a = V[i];
    printf("ext %" PRIx64 ": s8 %" PRId64 " u8 %" PRIu64 " s16 %" PRId64 " u16 %" PRIu64 " s32 %" PRId64 " u32 %" PRIu64 "\n",
           (uint64_t)a, (int64_t)(int8_t)a, (uint64_t)(uint8_t)a, (int64_t)(int16_t)a, (uint64_t)(uint16_t)a,
           (int64_t)(int32_t)a, (uint64_t)(uint32_t)a);
  }
  // C division semantics on defined inputs, and integer <-> floating conversions
  for (int64_t a = -9; a <= 9; a += 3)
    for (int64_t b = -4; b <= 4; b++)
      if (b) printf("%" PRId64 "/%" PRId64 "=%" PRId64 " %%=%" PRId64 " ", a, b, a / b, a % b);
  putchar('\n');
  volatile double dv[] = {0.5, 1.5, -1.5, 2.5, 1e18, -1e18, 9007199254740993.0, 4294967295.9, -2147483648.9};
  for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++)
    printf("(int64)%.17g = %" PRId64 ", (uint32)%s, (float)=%a\n", dv[i], (int64_t)dv[i],
           dv[i] >= 0 && dv[i] < 4294967296.0 ? "ok" : "n/a", (double)(float)dv[i]);
  volatile uint64_t uv[] = {1, UINT64_MAX, 1ULL << 63, (1ULL << 53) + 1, 0x7fffffffffffffffULL};
  for (size_t i = 0; i < sizeof uv / sizeof uv[0]; i++)
    printf("(double)%" PRIu64 " = %a, (float) = %a, (double)(int64) = %a\n", uv[i], (double)uv[i], (double)(float)uv[i],
           (double)(int64_t)uv[i]);
  return 0;
}
