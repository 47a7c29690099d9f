/*
 * RISC-V F/D test-vector recorder.
 *
 * Built with riscv64-linux-gnu-gcc -static -O2 and run under qemu-riscv64-static,
 * it executes every F and D arithmetic / compare / classify / convert instruction
 * on corner-case and pseudo-random operands, with every static rounding mode
 * (the rm field of the instruction) and, for a share of the vectors, the dynamic
 * rounding mode (rm = dyn after fsrm), and prints one line per execution:
 *
 *     op rm a b c -> result fflags
 *
 * all in lower-case hex without leading zeros.  rm is 0..4 (rne rtz rdn rup rmm)
 * for the static field, d0..d4 for the dynamic one, and 0 for instructions that
 * have no rounding mode.  Unused operands print as 0.  Single-precision values
 * are the 32-bit patterns; integer results are the full 64-bit register.
 *
 * usage: fpu-vectors [golden | stress SEED COUNT [OPNAME|all] [RM]]
 *   golden            the committed golden set (deterministic)
 *   stress SEED N     N random vectors per instruction for a live comparison, each with a
 *                     random rounding mode, or always RM (0..4 static, 5..9 dynamic 0..4)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef uint32_t u32;

/* ------------------------------------------------------------------------ */
/* Instruction wrappers.  Each takes the rounding-mode selector rm (0..4 static,
 * 5..9 dynamic with frm = rm - 5), raw operand bits, and returns the raw
 * result, storing fflags in *fl. */

static inline void set_frm(int rm) {
  u64 v = rm >= 5 ? (u64)(rm - 5) : 0;
  asm volatile("fsrm %0" : : "r"(v));
}

#define ASM_FFF(insn, LD, MV, RMS)                                                      \
  asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" LD " ft1,%3\n\t" insn " ft2,ft0,ft1," RMS \
               "\n\t" MV " %0,ft2\n\tfrflags %1"                                        \
               : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "ft2", "memory")
#define ASM_FF(insn, LD, MV, RMS)                                                       \
  asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" insn " ft2,ft0," RMS                    \
               "\n\t" MV " %0,ft2\n\tfrflags %1"                                        \
               : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2", "memory")
#define ASM_FFFF(insn, LD, MV, RMS)                                                     \
  asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" LD " ft1,%3\n\t" LD " ft2,%4\n\t" insn    \
               " ft3,ft0,ft1,ft2," RMS "\n\t" MV " %0,ft3\n\tfrflags %1"                  \
               : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3", "memory")
#define ASM_XF(insn, LD, RMS)                                                           \
  asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" insn " %0,ft0," RMS "\n\tfrflags %1"     \
               : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "memory")
#define ASM_FX(insn, MV, RMS)                                                           \
  asm volatile("fsflags x0\n\t" insn " ft2,%2," RMS "\n\t" MV " %0,ft2\n\tfrflags %1"     \
               : "=&r"(r), "=&r"(f) : "r"(a) : "ft2", "memory")

/* Generate one wrapper function per instruction, with a switch over rm. */
#define W_FFF(fn, insn, LD, MV)                                                        \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)c; set_frm(rm);                                                    \
    switch (rm) {                                                                      \
    case 0: ASM_FFF(insn, LD, MV, "rne"); break;                                       \
    case 1: ASM_FFF(insn, LD, MV, "rtz"); break;                                       \
    case 2: ASM_FFF(insn, LD, MV, "rdn"); break;                                       \
    case 3: ASM_FFF(insn, LD, MV, "rup"); break;                                       \
    case 4: ASM_FFF(insn, LD, MV, "rmm"); break;                                       \
    default: ASM_FFF(insn, LD, MV, "dyn"); break;                                      \
    }                                                                                  \
    *fl = (u32)f; return r;                                                            \
  }
#define W_FF(fn, insn, LD, MV)                                                         \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)b; (void)c; set_frm(rm);                                           \
    switch (rm) {                                                                      \
    case 0: ASM_FF(insn, LD, MV, "rne"); break;                                        \
    case 1: ASM_FF(insn, LD, MV, "rtz"); break;                                        \
    case 2: ASM_FF(insn, LD, MV, "rdn"); break;                                        \
    case 3: ASM_FF(insn, LD, MV, "rup"); break;                                        \
    case 4: ASM_FF(insn, LD, MV, "rmm"); break;                                        \
    default: ASM_FF(insn, LD, MV, "dyn"); break;                                       \
    }                                                                                  \
    *fl = (u32)f; return r;                                                            \
  }
#define W_FFFF(fn, insn, LD, MV)                                                       \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; set_frm(rm);                                                             \
    switch (rm) {                                                                      \
    case 0: ASM_FFFF(insn, LD, MV, "rne"); break;                                      \
    case 1: ASM_FFFF(insn, LD, MV, "rtz"); break;                                      \
    case 2: ASM_FFFF(insn, LD, MV, "rdn"); break;                                      \
    case 3: ASM_FFFF(insn, LD, MV, "rup"); break;                                      \
    case 4: ASM_FFFF(insn, LD, MV, "rmm"); break;                                      \
    default: ASM_FFFF(insn, LD, MV, "dyn"); break;                                     \
    }                                                                                  \
    *fl = (u32)f; return r;                                                            \
  }
#define W_XF(fn, insn, LD)                                                             \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)b; (void)c; set_frm(rm);                                           \
    switch (rm) {                                                                      \
    case 0: ASM_XF(insn, LD, "rne"); break;                                            \
    case 1: ASM_XF(insn, LD, "rtz"); break;                                            \
    case 2: ASM_XF(insn, LD, "rdn"); break;                                            \
    case 3: ASM_XF(insn, LD, "rup"); break;                                            \
    case 4: ASM_XF(insn, LD, "rmm"); break;                                            \
    default: ASM_XF(insn, LD, "dyn"); break;                                           \
    }                                                                                  \
    *fl = (u32)f; return r;                                                            \
  }
#define W_FX(fn, insn, MV)                                                             \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)b; (void)c; set_frm(rm);                                           \
    switch (rm) {                                                                      \
    case 0: ASM_FX(insn, MV, "rne"); break;                                            \
    case 1: ASM_FX(insn, MV, "rtz"); break;                                            \
    case 2: ASM_FX(insn, MV, "rdn"); break;                                            \
    case 3: ASM_FX(insn, MV, "rup"); break;                                            \
    case 4: ASM_FX(insn, MV, "rmm"); break;                                            \
    default: ASM_FX(insn, MV, "dyn"); break;                                           \
    }                                                                                  \
    *fl = (u32)f; return r;                                                            \
  }
/* No rounding mode: FP,FP -> FP and FP,FP -> X and FP -> X and FP -> FP. */
#define W_FFF_N(fn, insn, LD, MV)                                                      \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)rm; (void)c;                                                       \
    asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" LD " ft1,%3\n\t" insn " ft2,ft0,ft1\n\t" \
                 MV " %0,ft2\n\tfrflags %1"                                            \
                 : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "ft2", "memory"); \
    *fl = (u32)f; return r;                                                            \
  }
#define W_XFF_N(fn, insn, LD)                                                          \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)rm; (void)c;                                                       \
    asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" LD " ft1,%3\n\t" insn " %0,ft0,ft1\n\t" \
                 "frflags %1"                                                          \
                 : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "memory");       \
    *fl = (u32)f; return r;                                                            \
  }
#define W_XF_N(fn, insn, LD)                                                           \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)rm; (void)b; (void)c;                                              \
    asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" insn " %0,ft0\n\tfrflags %1"          \
                 : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "memory");                     \
    *fl = (u32)f; return r;                                                            \
  }
#define W_FF_N(fn, insn, LD, MV)                                                       \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)rm; (void)b; (void)c;                                              \
    asm volatile("fsflags x0\n\t" LD " ft0,%2\n\t" insn " ft2,ft0\n\t" MV " %0,ft2\n\t"  \
                 "frflags %1"                                                          \
                 : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2", "memory");              \
    *fl = (u32)f; return r;                                                            \
  }

#define W_FX_N(fn, insn, MV)                                                           \
  static u64 fn(int rm, u64 a, u64 b, u64 c, u32 *fl) {                                \
    u64 r, f; (void)rm; (void)b; (void)c;                                              \
    asm volatile("fsflags x0\n\t" insn " ft2,%2\n\t" MV " %0,ft2\n\tfrflags %1"            \
                 : "=&r"(r), "=&r"(f) : "r"(a) : "ft2", "memory");                     \
    *fl = (u32)f; return r;                                                            \
  }

#define S_LD "fmv.w.x"
#define S_MV "fmv.x.w"
#define D_LD "fmv.d.x"
#define D_MV "fmv.x.d"

W_FFF(i_fadd_s, "fadd.s", S_LD, S_MV)
W_FFF(i_fsub_s, "fsub.s", S_LD, S_MV)
W_FFF(i_fmul_s, "fmul.s", S_LD, S_MV)
W_FFF(i_fdiv_s, "fdiv.s", S_LD, S_MV)
W_FF(i_fsqrt_s, "fsqrt.s", S_LD, S_MV)
W_FFFF(i_fmadd_s, "fmadd.s", S_LD, S_MV)
W_FFFF(i_fmsub_s, "fmsub.s", S_LD, S_MV)
W_FFFF(i_fnmsub_s, "fnmsub.s", S_LD, S_MV)
W_FFFF(i_fnmadd_s, "fnmadd.s", S_LD, S_MV)
W_FFF_N(i_fmin_s, "fmin.s", S_LD, S_MV)
W_FFF_N(i_fmax_s, "fmax.s", S_LD, S_MV)
W_XFF_N(i_feq_s, "feq.s", S_LD)
W_XFF_N(i_flt_s, "flt.s", S_LD)
W_XFF_N(i_fle_s, "fle.s", S_LD)
W_XF_N(i_fclass_s, "fclass.s", S_LD)
W_XF(i_fcvt_w_s, "fcvt.w.s", S_LD)
W_XF(i_fcvt_wu_s, "fcvt.wu.s", S_LD)
W_XF(i_fcvt_l_s, "fcvt.l.s", S_LD)
W_XF(i_fcvt_lu_s, "fcvt.lu.s", S_LD)
W_FX(i_fcvt_s_w, "fcvt.s.w", S_MV)
W_FX(i_fcvt_s_wu, "fcvt.s.wu", S_MV)
W_FX(i_fcvt_s_l, "fcvt.s.l", S_MV)
W_FX(i_fcvt_s_lu, "fcvt.s.lu", S_MV)

W_FFF(i_fadd_d, "fadd.d", D_LD, D_MV)
W_FFF(i_fsub_d, "fsub.d", D_LD, D_MV)
W_FFF(i_fmul_d, "fmul.d", D_LD, D_MV)
W_FFF(i_fdiv_d, "fdiv.d", D_LD, D_MV)
W_FF(i_fsqrt_d, "fsqrt.d", D_LD, D_MV)
W_FFFF(i_fmadd_d, "fmadd.d", D_LD, D_MV)
W_FFFF(i_fmsub_d, "fmsub.d", D_LD, D_MV)
W_FFFF(i_fnmsub_d, "fnmsub.d", D_LD, D_MV)
W_FFFF(i_fnmadd_d, "fnmadd.d", D_LD, D_MV)
W_FFF_N(i_fmin_d, "fmin.d", D_LD, D_MV)
W_FFF_N(i_fmax_d, "fmax.d", D_LD, D_MV)
W_XFF_N(i_feq_d, "feq.d", D_LD)
W_XFF_N(i_flt_d, "flt.d", D_LD)
W_XFF_N(i_fle_d, "fle.d", D_LD)
W_XF_N(i_fclass_d, "fclass.d", D_LD)
W_XF(i_fcvt_w_d, "fcvt.w.d", D_LD)
W_XF(i_fcvt_wu_d, "fcvt.wu.d", D_LD)
W_XF(i_fcvt_l_d, "fcvt.l.d", D_LD)
W_XF(i_fcvt_lu_d, "fcvt.lu.d", D_LD)
W_FX_N(i_fcvt_d_w, "fcvt.d.w", D_MV)
W_FX_N(i_fcvt_d_wu, "fcvt.d.wu", D_MV)
W_FX(i_fcvt_d_l, "fcvt.d.l", D_MV)
W_FX(i_fcvt_d_lu, "fcvt.d.lu", D_MV)

W_FF(i_fcvt_s_d, "fcvt.s.d", D_LD, S_MV)
W_FF_N(i_fcvt_d_s, "fcvt.d.s", S_LD, D_MV)

/* ------------------------------------------------------------------------ */
/* Operation table. */

enum { K_FFF, K_FF, K_FFFF, K_FFF_N, K_XFF_N, K_XF_N, K_XF, K_FX, K_FF_N, K_FX_N };
enum { S = 0, D = 1 };            /* floating formats */
enum { I32 = 2, U32 = 3, I64 = 4, U64 = 5 }; /* integer "formats" (for K_FX inputs) */

typedef struct {
  const char *name;
  int kind;
  int fin;  /* format of the floating inputs (or integer type for K_FX) */
  int fout; /* format of a floating result (S or D), or -1 for an integer result */
  u64 (*fn)(int, u64, u64, u64, u32 *);
  int cls;  /* operand-generation class, see gen_vectors */
} Op;

enum { C_ADD, C_MUL, C_DIV, C_SQRT, C_FMA, C_CMP, C_CLASS, C_TOINT, C_FROMINT, C_CVTF };

static const Op OPS[] = {
  {"fadd.s", K_FFF, S, S, i_fadd_s, C_ADD},
  {"fsub.s", K_FFF, S, S, i_fsub_s, C_ADD},
  {"fmul.s", K_FFF, S, S, i_fmul_s, C_MUL},
  {"fdiv.s", K_FFF, S, S, i_fdiv_s, C_DIV},
  {"fsqrt.s", K_FF, S, S, i_fsqrt_s, C_SQRT},
  {"fmadd.s", K_FFFF, S, S, i_fmadd_s, C_FMA},
  {"fmsub.s", K_FFFF, S, S, i_fmsub_s, C_FMA},
  {"fnmsub.s", K_FFFF, S, S, i_fnmsub_s, C_FMA},
  {"fnmadd.s", K_FFFF, S, S, i_fnmadd_s, C_FMA},
  {"fmin.s", K_FFF_N, S, S, i_fmin_s, C_CMP},
  {"fmax.s", K_FFF_N, S, S, i_fmax_s, C_CMP},
  {"feq.s", K_XFF_N, S, -1, i_feq_s, C_CMP},
  {"flt.s", K_XFF_N, S, -1, i_flt_s, C_CMP},
  {"fle.s", K_XFF_N, S, -1, i_fle_s, C_CMP},
  {"fclass.s", K_XF_N, S, -1, i_fclass_s, C_CLASS},
  {"fcvt.w.s", K_XF, S, -1, i_fcvt_w_s, C_TOINT},
  {"fcvt.wu.s", K_XF, S, -1, i_fcvt_wu_s, C_TOINT},
  {"fcvt.l.s", K_XF, S, -1, i_fcvt_l_s, C_TOINT},
  {"fcvt.lu.s", K_XF, S, -1, i_fcvt_lu_s, C_TOINT},
  {"fcvt.s.w", K_FX, I32, S, i_fcvt_s_w, C_FROMINT},
  {"fcvt.s.wu", K_FX, U32, S, i_fcvt_s_wu, C_FROMINT},
  {"fcvt.s.l", K_FX, I64, S, i_fcvt_s_l, C_FROMINT},
  {"fcvt.s.lu", K_FX, U64, S, i_fcvt_s_lu, C_FROMINT},
  {"fadd.d", K_FFF, D, D, i_fadd_d, C_ADD},
  {"fsub.d", K_FFF, D, D, i_fsub_d, C_ADD},
  {"fmul.d", K_FFF, D, D, i_fmul_d, C_MUL},
  {"fdiv.d", K_FFF, D, D, i_fdiv_d, C_DIV},
  {"fsqrt.d", K_FF, D, D, i_fsqrt_d, C_SQRT},
  {"fmadd.d", K_FFFF, D, D, i_fmadd_d, C_FMA},
  {"fmsub.d", K_FFFF, D, D, i_fmsub_d, C_FMA},
  {"fnmsub.d", K_FFFF, D, D, i_fnmsub_d, C_FMA},
  {"fnmadd.d", K_FFFF, D, D, i_fnmadd_d, C_FMA},
  {"fmin.d", K_FFF_N, D, D, i_fmin_d, C_CMP},
  {"fmax.d", K_FFF_N, D, D, i_fmax_d, C_CMP},
  {"feq.d", K_XFF_N, D, -1, i_feq_d, C_CMP},
  {"flt.d", K_XFF_N, D, -1, i_flt_d, C_CMP},
  {"fle.d", K_XFF_N, D, -1, i_fle_d, C_CMP},
  {"fclass.d", K_XF_N, D, -1, i_fclass_d, C_CLASS},
  {"fcvt.w.d", K_XF, D, -1, i_fcvt_w_d, C_TOINT},
  {"fcvt.wu.d", K_XF, D, -1, i_fcvt_wu_d, C_TOINT},
  {"fcvt.l.d", K_XF, D, -1, i_fcvt_l_d, C_TOINT},
  {"fcvt.lu.d", K_XF, D, -1, i_fcvt_lu_d, C_TOINT},
  {"fcvt.d.w", K_FX_N, I32, D, i_fcvt_d_w, C_FROMINT},
  {"fcvt.d.wu", K_FX_N, U32, D, i_fcvt_d_wu, C_FROMINT},
  {"fcvt.d.l", K_FX, I64, D, i_fcvt_d_l, C_FROMINT},
  {"fcvt.d.lu", K_FX, U64, D, i_fcvt_d_lu, C_FROMINT},
  {"fcvt.s.d", K_FF, D, S, i_fcvt_s_d, C_CVTF},
  {"fcvt.d.s", K_FF_N, S, D, i_fcvt_d_s, C_CVTF},
};
#define NOPS (sizeof OPS / sizeof OPS[0])

/* ------------------------------------------------------------------------ */
/* Pseudo-random numbers (xorshift64*), deterministic for a given seed. */

static u64 rng_state = 0x9E3779B97F4A7C15ull;
static u64 rnd(void) {
  u64 x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1Dull;
}
static u64 rndn(u64 n) { return rnd() % n; }

/* Format description. */
typedef struct {
  int mb, ebits, bias;
  u64 fracmask, emax;
} Fmt;
static const Fmt FMT[2] = {
  {23, 8, 127, 0x7FFFFFull, 0xFF},
  {52, 11, 1023, 0xFFFFFFFFFFFFFull, 0x7FF},
};

static u64 mk(int f, u64 sign, u64 bexp, u64 frac) {
  const Fmt *F = &FMT[f];
  return (sign << (F->mb + F->ebits)) | ((bexp & F->emax) << F->mb) | (frac & F->fracmask);
}

/* Corner values. */
static const u32 CORNER_S[] = {
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
  0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7fffffff,
  0x00000001, 0x80000001, 0x00000002, 0x007fffff, 0x807fffff, 0x00400000, 0x00800000, 0x80800000,
  0x00800001, 0x00ffffff, 0x7f7fffff, 0xff7fffff, 0x7f7ffffe, 0x7f000000, 0x3f000000, 0xbf000000,
  0x3fc00000, 0xbfc00000, 0x40200000, 0xc0200000, 0x40000000, 0x40400000, 0x3f7fffff, 0x3f800001,
  0x3effffff, 0x33800000, 0x34000000, 0x4f000000, 0xcf000000, 0x4effffff, 0x4f800000, 0x4f7fffff,
  0x5f000000, 0xdf000000, 0x5effffff, 0x5f800000, 0x5f7fffff, 0xcf000001, 0xdf000001, 0x1f800000,
  0x1f7fffff, 0x20000000, 0x5f800001, 0x3eaaaaab, 0x40490fdb, 0x0c000000, 0x73000000,
};
static const u64 CORNER_D[] = {
  0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
  0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull, 0xfff8000000000000ull,
  0x7ff8000000000001ull, 0x7ff0000000000001ull, 0xfff0000000000001ull, 0x7ff7ffffffffffffull,
  0x7fffffffffffffffull, 0x7ff4000000000000ull, 0x0000000000000001ull, 0x8000000000000001ull,
  0x0000000000000002ull, 0x000fffffffffffffull, 0x800fffffffffffffull, 0x0008000000000000ull,
  0x0010000000000000ull, 0x8010000000000000ull, 0x0010000000000001ull, 0x001fffffffffffffull,
  0x7fefffffffffffffull, 0xffefffffffffffffull, 0x7feffffffffffffeull, 0x7fe0000000000000ull,
  0x3fe0000000000000ull, 0xbfe0000000000000ull, 0x3ff8000000000000ull, 0xbff8000000000000ull,
  0x4004000000000000ull, 0xc004000000000000ull, 0x4000000000000000ull, 0x4008000000000000ull,
  0x3fefffffffffffffull, 0x3ff0000000000001ull, 0x3fdfffffffffffffull, 0x3ca0000000000000ull,
  0x3cb0000000000000ull, 0x41e0000000000000ull, 0xc1e0000000000000ull, 0x41dfffffffc00000ull,
  0x41efffffffe00000ull, 0x41f0000000000000ull, 0xc1e0000000200000ull, 0x41dfffffffffffffull,
  0x43e0000000000000ull, 0xc3e0000000000000ull, 0x43dfffffffffffffull, 0x43f0000000000000ull,
  0x43efffffffffffffull, 0xc3e0000000000001ull, 0x3fd5555555555555ull, 0x400921fb54442d18ull,
  0x3810000000000000ull, 0x380fffffffffffffull, 0x36a0000000000000ull, 0x47efffffe0000000ull,
  0x47efffffefffffffull, 0x47effffff0000000ull, 0x36a8000000000000ull, 0x36affffff0000000ull,
  0x1ff0000000000000ull, 0x5ff0000000000000ull, 0x2000000000000000ull, 0x1fefffffffffffffull,
};
#define NCS (sizeof CORNER_S / sizeof CORNER_S[0])
#define NCD (sizeof CORNER_D / sizeof CORNER_D[0])

static u64 corner(int f, u64 i) { return f == S ? CORNER_S[i % NCS] : CORNER_D[i % NCD]; }
static u64 ncorner(int f) { return f == S ? NCS : NCD; }
static u64 rcorner(int f) { return corner(f, rndn(ncorner(f))); }

/* Random value of format f with a mantissa of only a few significant bits. */
static u64 nice_frac(int f) {
  const Fmt *F = &FMT[f];
  int k = (int)rndn(F->mb + 1); /* number of leading mantissa bits kept */
  u64 fr = rnd() & F->fracmask;
  if (rndn(2)) fr &= ~(F->fracmask >> k);
  else if (rndn(3) == 0) fr |= F->fracmask >> k; /* trailing ones */
  return fr;
}

/* One random operand.  Classes mix uniform bit patterns, values near 1 with
 * short mantissas, extreme exponents, subnormals and specials. */
static u64 rand_val(int f) {
  const Fmt *F = &FMT[f];
  u64 s = rndn(2);
  switch (rndn(10)) {
  case 0: return rnd() & (f == S ? 0xFFFFFFFFull : ~0ull);
  case 1: return rcorner(f);
  case 2: return mk(f, s, 0, rndn(3) ? (rnd() & F->fracmask) >> rndn(F->mb) : nice_frac(f)); /* subnormal */
  case 3: return mk(f, s, 1 + rndn(3), nice_frac(f));            /* just above min normal */
  case 4: return mk(f, s, F->emax - 1 - rndn(3), nice_frac(f));   /* near max */
  case 5: return mk(f, s, F->bias - 8 + rndn(17), nice_frac(f));  /* nice values near 1 */
  case 6: return mk(f, s, F->bias - 30 + rndn(61), rnd());        /* random mantissa near 1 */
  default: return mk(f, s, 1 + rndn(F->emax - 1), rndn(2) ? rnd() : nice_frac(f));
  }
}

/* Exponent field of a finite value (0 for subnormals/zero). */
static int bexp(int f, u64 x) { return (int)((x >> FMT[f].mb) & FMT[f].emax); }

/* Value with a given unbiased exponent target (clamped) and random mantissa. */
static u64 with_exp(int f, u64 s, long e) {
  const Fmt *F = &FMT[f];
  long be = e + F->bias;
  if (be < 1) {
    /* subnormal: shift a normal mantissa down */
    long sh = 1 - be;
    if (sh > F->mb + 1) return mk(f, s, 0, rndn(2));
    u64 m = (nice_frac(f) | (F->fracmask + 1)) >> sh;
    return mk(f, s, 0, m);
  }
  if (be >= (long)F->emax) be = F->emax - 1;
  return mk(f, s, be, rndn(2) ? nice_frac(f) : rnd());
}

static long uexp(int f, u64 x) { return (long)bexp(f, x) - FMT[f].bias; }

/* Integer operand for int->float conversions of type t. */
static u64 rand_int(int t) {
  int bits = (t == I32 || t == U32) ? 32 : 64;
  u64 v;
  switch (rndn(6)) {
  case 0: v = rnd(); break;
  case 1: { int n = 1 + (int)rndn(bits); v = rnd() >> (64 - n); break; }
  case 2: { int n = (int)rndn(bits); v = (1ull << n) + (rndn(5) - 2); break; } /* near powers of 2 */
  case 3: { int n = 1 + (int)rndn(bits); v = (rnd() >> (64 - n)) << rndn(bits); break; } /* short */
  case 4: { /* values near rounding boundaries: 24/53 significant bits plus a tail */
    int n = 20 + (int)rndn(bits - 19);
    v = (rnd() >> (64 - n)) | 1ull << (n - 1);
    v = (v >> 3 << 3) | rndn(8);
    break;
  }
  default: { int n = 1 + (int)rndn(bits); v = -(rnd() >> (64 - n)); break; }
  }
  if (bits == 32) v = (u64)(int64_t)(int32_t)(u32)v; /* register value: sign-extended */
  return v;
}

static const u64 INT_CORNERS[] = {
  0, 1, 2, 3, 0x7f, 0xff, 0x7fff, 0xffff, 0xffffff, 0x1000001, 0x1000003, 0x7fffffff, 0x80000000,
  0x80000001, 0xffffffff, 0x100000000ull, 0x1fffffffffffffull, 0x20000000000001ull,
  0x7fffffffffffffffull, 0x8000000000000000ull, 0x8000000000000001ull, 0xfffffffffffffffful,
  0xfffffffffffffffeull, 0xffffffff80000000ull, 0xffffffff7fffffffull, 0xffffffff00000000ull,
  0xffffff7fffffffffull, 0x7ffffe0000000000ull, 0x7fffff8000000000ull,
};
#define NIC (sizeof INT_CORNERS / sizeof INT_CORNERS[0])

/* Float operand for float->int conversions: halves, near integer limits. */
static u64 rand_toint(int f) {
  const Fmt *F = &FMT[f];
  u64 s = rndn(4) == 0 ? 0 : rndn(2);
  switch (rndn(5)) {
  case 0: return rand_val(f);
  case 1: { /* exponent 0..66 with random mantissa */
    long e = (long)rndn(68) - 2;
    return mk(f, s, e + F->bias, rndn(2) ? rnd() : nice_frac(f));
  }
  case 2: { /* k + 0.5 or k + small fractions */
    double v = (double)(rndn(20)) + (double)rndn(4) * 0.25;
    if (s) v = -v;
    if (f == D) { u64 b; memcpy(&b, &v, 8); return b; }
    float fv = (float)v; u32 b; memcpy(&b, &fv, 4); return b;
  }
  case 3: { /* near 2^31, 2^32, 2^63, 2^64 */
    static const int E[] = {31, 32, 63, 64, 30, 62};
    long e = E[rndn(6)] - (long)rndn(2);
    u64 fr = rndn(2) ? F->fracmask - rndn(4) : rndn(4);
    return mk(f, s, e + F->bias, fr);
  }
  default: return mk(f, s, F->bias - 1 - rndn(3), rnd()); /* in (0, 1) */
  }
}

/* ------------------------------------------------------------------------ */
/* Output. */

static const char *RMNAME[] = {"0", "1", "2", "3", "4", "d0", "d1", "d2", "d3", "d4"};

static void emit(const Op *op, int rm, u64 a, u64 b, u64 c) {
  u32 fl;
  u64 r = op->fn(rm, a, b, c, &fl);
  if (op->fout == S) r &= 0xFFFFFFFFull;
  int hasrm = op->kind == K_FFF || op->kind == K_FF || op->kind == K_FFFF || op->kind == K_XF ||
              op->kind == K_FX;
  printf("%s %s %llx %llx %llx -> %llx %x\n", op->name, hasrm ? RMNAME[rm] : "0",
         (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
         (unsigned long long)r, fl & 31);
}

static int has_rm(const Op *op) {
  return op->kind == K_FFF || op->kind == K_FF || op->kind == K_FFFF || op->kind == K_XF ||
         op->kind == K_FX;
}

/* Emit with all static modes (or once without rm); dyn selects d0..d4 instead. */
static void emit_all(const Op *op, u64 a, u64 b, u64 c, int dyn) {
  if (!has_rm(op)) { emit(op, 0, a, b, c); return; }
  for (int rm = 0; rm < 5; rm++) emit(op, rm + (dyn ? 5 : 0), a, b, c);
}

/* Random operands for op; a/b/c are the inputs. */
static void rand_operands(const Op *op, u64 *pa, u64 *pb, u64 *pc) {
  int f = op->fin;
  u64 a = 0, b = 0, c = 0;
  switch (op->cls) {
  case C_ADD:
    a = rand_val(f);
    switch (rndn(4)) {
    case 0: b = rand_val(f); break;
    case 1: /* close exponents */
      b = with_exp(f, rndn(2), uexp(f, a) - (long)rndn(FMT[f].mb + 4));
      if (rndn(2)) { u64 t = a; a = b; b = t; }
      break;
    case 2: /* cancellation: b ~ -a (for sub: b ~ a) */
      b = a ^ (rndn(2) ? 0 : (1ull << (FMT[f].mb + FMT[f].ebits)));
      b ^= rnd() & ((1ull << rndn(FMT[f].mb + 1)) - 1);
      break;
    default: b = with_exp(f, rndn(2), uexp(f, a) - (long)rndn(2 * FMT[f].mb + 8)); break;
    }
    break;
  case C_MUL:
  case C_DIV: {
    a = rand_val(f);
    int r = (int)rndn(4);
    if (r == 0) b = rand_val(f);
    else if (r == 1) { /* result near the underflow threshold */
      long target = -FMT[f].bias - (long)rndn(FMT[f].mb + 3) + 2;
      long eb = op->cls == C_MUL ? target - uexp(f, a) : uexp(f, a) - target;
      b = with_exp(f, rndn(2), eb);
    } else if (r == 2) { /* result near overflow */
      long target = FMT[f].bias - (long)rndn(3) + 1;
      long eb = op->cls == C_MUL ? target - uexp(f, a) : uexp(f, a) - target;
      b = with_exp(f, rndn(2), eb);
    } else { /* short mantissas: exact results and ties */
      a = mk(f, rndn(2), FMT[f].bias - 4 + rndn(9), nice_frac(f));
      b = mk(f, rndn(2), FMT[f].bias - 4 + rndn(9), nice_frac(f));
    }
    break;
  }
  case C_SQRT:
    a = rand_val(f);
    if (rndn(3) == 0) { /* perfect squares and near-squares */
      if (f == D) { double x = (double)(rnd() >> 38); x = x * x; u64 bits; memcpy(&bits, &x, 8);
        a = bits + rndn(3) - 1; }
      else { float x = (float)(rnd() >> 52); x = x * x; u32 bits; memcpy(&bits, &x, 4);
        a = bits + rndn(3) - 1; }
    } else if (rndn(2)) a &= ~(1ull << (FMT[f].mb + FMT[f].ebits)); /* mostly positive */
    break;
  case C_FMA: {
    a = rand_val(f);
    b = rand_val(f);
    int r = (int)rndn(4);
    if (r == 0) c = rand_val(f);
    else if (r == 1 || r == 2) { /* c close to -(a*b): deep cancellation */
      if (f == D) {
        double x, y, p; memcpy(&x, &a, 8); memcpy(&y, &b, 8); p = x * y;
        memcpy(&c, &p, 8);
      } else {
        float x, y, p; u32 a32 = (u32)a, b32 = (u32)b, c32; memcpy(&x, &a32, 4); memcpy(&y, &b32, 4);
        p = x * y; memcpy(&c32, &p, 4); c = c32;
      }
      if (rndn(2)) c ^= 1ull << (FMT[f].mb + FMT[f].ebits);
      if (r == 2) c += rndn(5) - 2;
    } else { /* c with exponent near the product's */
      long e = uexp(f, a) + uexp(f, b) + (long)rndn(2 * FMT[f].mb + 10) - FMT[f].mb - 5;
      c = with_exp(f, rndn(2), e);
    }
    break;
  }
  case C_CMP:
    a = rand_val(f);
    switch (rndn(4)) {
    case 0: b = rand_val(f); break;
    case 1: b = a; break;
    case 2: b = a ^ (1ull << (FMT[f].mb + FMT[f].ebits)); break;
    default: b = a + rndn(5) - 2; break;
    }
    break;
  case C_CLASS: a = rand_val(f); break;
  case C_TOINT: a = rand_toint(f); break;
  case C_FROMINT: a = rndn(4) == 0 ? INT_CORNERS[rndn(NIC)] : rand_int(f); break;
  case C_CVTF:
    if (f == D && rndn(2)) { /* around the single-precision range */
      static const long E[] = {-126, -127, -149, -150, -151, 127, 128, 0, -140};
      a = with_exp(D, rndn(2), E[rndn(9)] + (long)rndn(3) - 1);
      if (rndn(2)) a ^= rnd() & ((1ull << 29) - 1) & ~(rndn(2) ? (1ull << 28) : 0);
    } else a = rand_val(f);
    break;
  }
  if (op->fin == S) {
    a &= 0xFFFFFFFFull; b &= 0xFFFFFFFFull; c &= 0xFFFFFFFFull;
  }
  *pa = a; *pb = b; *pc = c;
}

/* The committed golden set. */
static void golden(void) {
  for (size_t i = 0; i < NOPS; i++) {
    const Op *op = &OPS[i];
    int f = op->fin;
    rng_state = 0x9E3779B97F4A7C15ull ^ ((u64)(i + 1) * 0x100000001B3ull);
    /* 1. corner operands, exhaustively (fma: corner a,b with a corner subset for c). */
    if (op->kind == K_FX || op->kind == K_FX_N) {
      for (u64 k = 0; k < NIC; k++) {
        u64 v = INT_CORNERS[k];
        if (op->fin == I32 || op->fin == U32) v = (u64)(int64_t)(int32_t)(u32)v;
        emit_all(op, v, 0, 0, 0);
      }
    } else if (op->kind == K_FF || op->kind == K_XF || op->kind == K_XF_N || op->kind == K_FF_N) {
      for (u64 k = 0; k < ncorner(f); k++) emit_all(op, corner(f, k), 0, 0, 0);
    } else if (op->kind == K_FFFF) {
      static const int CS[] = {0, 1, 2, 3, 4, 5, 6, 9, 13, 17, 20};
      for (u64 x = 0; x < ncorner(f); x++)
        for (u64 y = 0; y < ncorner(f); y++) {
          u64 cc = corner(f, CS[(x * 7 + y * 3) % 11]);
          emit(op, (int)((x + y) % 5), corner(f, x), corner(f, y), cc);
        }
      /* infinity/zero/NaN interplay, all rms */
      for (u64 x = 0; x < 14; x++)
        for (u64 y = 0; y < 14; y++)
          for (u64 z = 0; z < 14; z++)
            emit(op, (int)((x + y + z) % 5), corner(f, x), corner(f, y), corner(f, z));
    } else {
      for (u64 x = 0; x < ncorner(f); x++)
        for (u64 y = 0; y < ncorner(f); y++) emit_all(op, corner(f, x), corner(f, y), 0, 0);
    }
    /* 2. random operands with every static rm, then a share with the dynamic rm. */
    int n = op->kind == K_FFFF ? 2400 : op->kind == K_FFF ? 1600 : has_rm(op) ? 1600 : 3000;
    if (op->kind == K_XF_N) n = 1000;
    for (int k = 0; k < n; k++) {
      u64 a, b, c;
      rand_operands(op, &a, &b, &c);
      if (has_rm(op)) {
        if (k % 8 == 7) emit_all(op, a, b, c, 1);
        else emit_all(op, a, b, c, 0);
      } else emit(op, 0, a, b, c);
    }
  }
}

/* Stress mode: count random vectors per op, each with a random rm. */
static void stress(u64 seed, long count, const char *only, int fixed_rm) {
  rng_state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  if (!rng_state) rng_state = 1;
  for (size_t i = 0; i < NOPS; i++) {
    const Op *op = &OPS[i];
    if (only && strcmp(only, op->name) != 0) continue;
    for (long k = 0; k < count; k++) {
      u64 a, b, c;
      rand_operands(op, &a, &b, &c);
      int rm = (int)rndn(10);
      if (fixed_rm >= 0) rm = fixed_rm;
      emit(op, has_rm(op) ? rm : 0, a, b, c);
    }
  }
}

int main(int argc, char **argv) {
  static char buf[1 << 16];
  setvbuf(stdout, buf, _IOFBF, sizeof buf);
  if (argc >= 4 && strcmp(argv[1], "stress") == 0) {
    const char *only = argc >= 5 && strcmp(argv[4], "all") != 0 ? argv[4] : 0;
    stress(strtoull(argv[2], 0, 0), strtol(argv[3], 0, 0), only, argc >= 6 ? atoi(argv[5]) : -1);
  } else if (argc == 1 || strcmp(argv[1], "golden") == 0) {
    golden();
  } else {
    fprintf(stderr, "usage: %s [golden | stress SEED COUNT [OP|all] [RM]]\n", argv[0]);
    return 2;
  }
  return 0;
}
