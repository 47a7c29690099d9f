// math.h and fenv.h: elementary functions in all four rounding modes (results printed as exact
// hex), rounding/conversion functions, fma, and the exception flags raised by operations.
#include <stdio.h>
#include <math.h>
#include <fenv.h>
#include <float.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>
#include "ctest.h"

static const int MODES[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
static const char *MODE_NAMES[] = {"nearest", "upward", "downward", "towardzero"};

static void flags(const char *what) {
  int f = fetestexcept(FE_ALL_EXCEPT);
  printf("%s:%s%s%s%s%s%s\n", what, f & FE_INVALID ? " NV" : "", f & FE_DIVBYZERO ? " DZ" : "", f & FE_OVERFLOW ? " OF" : "",
         f & FE_UNDERFLOW ? " UF" : "", f & FE_INEXACT ? " NX" : "", f ? "" : " none");
  feclearexcept(FE_ALL_EXCEPT);
}

int t_mathfn(int argc, char **argv) {
  (void)argc; (void)argv;
  volatile double in[] = {0.0, -0.0, 0.5, 1.0, -1.0, 2.0, 3.0, 10.0, 0.1, 1e-300, 1e300, 100.5, -7.25, 710.0, -745.5,
                          M_PI, M_PI / 2, 1e22, 5e-324, INFINITY, -INFINITY, NAN};
  const size_t N = sizeof in / sizeof in[0];
  for (int m = 0; m < 4; m++) {
    if (fesetround(MODES[m])) { printf("fesetround failed\n"); return 1; }
    printf("== rounding %s (fegetround ok: %d)\n", MODE_NAMES[m], fegetround() == MODES[m]);
    uint64_t h = FNV0;
    for (size_t i = 0; i < N; i++) {
      double x = in[i], y = in[(i + 3) % N], z = in[(i + 7) % N];
      double r[] = {sqrt(x), exp(x), log(x), sin(x), cos(x), tan(x), pow(x, y), atan2(x, y), fma(x, y, z), cbrt(x), hypot(x, y),
                    expm1(x), log1p(x), log2(x), log10(x), exp2(x), sinh(x), tanh(x), asin(x / 8), atan(x), erf(x),
                    x + y, x - y, x * y, x / y, rint(x), nearbyint(x * 1.5), floor(x), ceil(x), trunc(x), round(x),
                    fmod(x, y), remainder(x, y), x * 0.1 + y};
      printf("%a:", x);
      for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) { printf(" %a", r[k]); h = fnv(h, &r[k], 8); }
      putchar('\n');
      float xf = (float)x, yf = (float)y;
      float rf[] = {sqrtf(xf), expf(xf), logf(xf), sinf(xf), cosf(xf), powf(xf, yf), fmaf(xf, yf, (float)z), xf / yf, xf * 3.3f,
                    rintf(xf), (float)x};
      printf("  f:");
      for (size_t k = 0; k < sizeof rf / sizeof rf[0]; k++) { printf(" %a", (double)rf[k]); h = fnv(h, &rf[k], 4); }
      printf(" lrint %ld llrint %lld lround %ld\n", fabs(x) < 1e18 ? lrint(x * 2.5) : 0L, fabs(x) < 1e18 ? llrint(x - 0.5) : 0LL,
             fabs(x) < 1e18 ? lround(x * 1.5) : 0L);
    }
    printf("hash %016" PRIx64 "\n", h);
    // conversions in the current mode
    volatile double c[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1.0000001, -1.9999999, 4503599627370497.5};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
      printf(" rint(%g)=%g lrint=%ld (float)%a=%a", c[i], rint(c[i]), lrint(c[i]), c[i], (double)(float)(c[i] * 1.1));
    putchar('\n');
    volatile double third = 1.0, three = 3.0;
    printf("1/3 = %a, (float)1/3 = %a, sqrt(2) = %a\n", third / three, (double)((float)third / (float)three), sqrt(2.0));
  }
  fesetround(FE_TONEAREST);
  // exception flags
  volatile double zero = 0.0, one = 1.0, big = DBL_MAX, tiny = DBL_MIN, neg = -1.0;
  volatile double r;
  feclearexcept(FE_ALL_EXCEPT);
  r = one / zero; flags("1/0");
  r = zero / zero; flags("0/0");
  r = sqrt(neg); flags("sqrt(-1)");
  r = big * 2; flags("max*2");
  r = tiny / 3; flags("min/3");
  r = one / 3; flags("1/3");
  r = one + 1; flags("1+1");
  r = log(zero); flags("log(0)");
  r = NAN; r = r < 1.0; flags("NaN<1");
  r = NAN; r = r == 1.0; flags("NaN==1");
  volatile float fbig = FLT_MAX; volatile float fr = fbig * 2; flags("fmax*2");
  volatile long lv = (long)(double)(big); flags("(long)DBL_MAX");
  (void)r; (void)fr; (void)lv;
  feraiseexcept(FE_OVERFLOW | FE_INEXACT); flags("feraiseexcept(OF|NX)");
  fenv_t env; fegetenv(&env); fesetround(FE_UPWARD); feraiseexcept(FE_DIVBYZERO); fesetenv(&env);
  printf("after fesetenv: round nearest %d\n", fegetround() == FE_TONEAREST); flags("after fesetenv");
  // classification and misc
  volatile double cl[] = {0.0, -0.0, 5e-324, 1.0, INFINITY, NAN, -2.2250738585072014e-308};
  for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++) {
    int e; double fr2 = frexp(cl[i], &e); double ip; double fp = modf(cl[i] * 3.5, &ip);
    printf("%a: fpclassify %d signbit %d isnormal %d frexp %a %d modf %a %a ldexp %a nextafter %a logb %a ilogb %d\n",
           cl[i], fpclassify(cl[i]), signbit(cl[i]) != 0, isnormal(cl[i]), fr2, e, fp, ip, ldexp(cl[i], 1000),
           nextafter(cl[i], 1.0), logb(cl[i]), cl[i] != 0 && isfinite(cl[i]) ? ilogb(cl[i]) : 0);
  }
  printf("fmin/fmax with NaN: %g %g, copysign %g, fdim %g\n", fmin(NAN, 1.0), fmax(2.0, NAN), copysign(3.0, -0.0), fdim(5.0, 7.0));
  double lg = lgamma(0.5); printf("lgamma(0.5) = %a tgamma(5) = %a j0(1) = %a\n", lg, tgamma(5.0), j0(1.0));
  return 0;
}
