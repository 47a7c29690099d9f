// printf/scanf of float, double and long double (binary128, soft-float in libgcc) in many formats;
// exercises the FPU and integer code through glibc's formatting and parsing.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <float.h>
#include <stdint.h>
#include <inttypes.h>
#include "ctest.h"

static const char *FMT[] = {
  "%f", "%.0f", "%.1f", "%.3f", "%.20f", "%e", "%.0e", "%.3e", "%.17e", "%g", "%.3g", "%.17g", "%#g", "%#.0f",
  "%a", "%.3a", "%A", "%12.4f", "%-14.3e|", "%+g", "% .5g", "%010.2f", "%+.0e",
};

int t_fpformat(int argc, char **argv) {
  (void)argc; (void)argv;
  volatile double d[] = {
    0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, -2.5, 0.125, 1.0 / 3.0, 2.0 / 3.0, 100.0, 123456789.0, 1e15, 1e16, 1e22,
    1e23, 1e300, -1e-300, 5e-324, 2.2250738585072014e-308, 2.2250738585072009e-308, DBL_MAX, DBL_EPSILON, M_PI, M_E,
    9.999999999999999e22, 0.3, 12345.6789, 9.5, 10.5, 0.05, 0.15, 0.25, 0.35, 1e-5, 123e-7, INFINITY, -INFINITY,
    NAN, -NAN, 4503599627370496.5, 9007199254740993.0,
  };
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
    printf("d[%zu]:", i);
    for (size_t f = 0; f < sizeof FMT / sizeof FMT[0]; f++) { putchar(' '); printf(FMT[f], d[i]); }
    putchar('\n');
  }
  volatile float fl[] = {0.1f, 1.0f / 3.0f, 16777217.0f, FLT_MAX, FLT_MIN, 1e-45f, -0.0f, 3.4e38f, 1.17549421e-38f, 0.7f};
  for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
    printf("f[%zu]: %.9g %a %e %f\n", i, fl[i], fl[i], fl[i], fl[i]);

  // long double = IEEE binary128, all in software
  volatile long double ld[] = {1.0L / 3.0L, 0.1L, 1e4000L, -1e-4000L, LDBL_MAX, LDBL_MIN, LDBL_EPSILON, 2.5L, 1e30L};
  for (size_t i = 0; i < sizeof ld / sizeof ld[0]; i++)
    printf("ld[%zu]: %.36Lg %La %.10Le %.5Lf\n", i, ld[i], ld[i], ld[i], i < 2 || i == 7 ? ld[i] : 0.0L);
  long double acc = 0;
  for (int i = 1; i <= 1000; i++) acc += 1.0L / ((long double)i * i);
  printf("sum 1/i^2 (binary128) = %.33Lg\n", acc);
  printf("sqrtl(2) = %.36Lg, (double) = %.17g\n", sqrtl(2.0L), (double)sqrtl(2.0L));

  // parsing
  const char *in[] = {
    "0.1", "1e-320", "2.2250738585072011e-308", "0x1.8p1", "nan", "nan(123)", "-inf", "INFINITY", "-0", "1e400",
    "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "1.7976931348623158e308",
    "1.7976931348623159e308", "123456789012345678901234567890", "  42.5xyz", "0x1p-1074", "1.00000000000000011102230246251565",
    ".5e1", "1e", "abc",
  };
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    char *end; errno = 0;
    double v = strtod(in[i], &end);
    int e1 = errno; errno = 0;
    float fv = strtof(in[i], NULL);
    int e2 = errno;
    long double lv = strtold(in[i], NULL);
    printf("strtod(\"%s\") = %a errno %d rest \"%s\"; strtof %a errno %d; strtold %La\n", in[i], v, e1, end, (double)fv, e2, lv);
  }
  double x; float y; int n; char word[16];
  n = sscanf("3.25 -1e-3 hello 17", "%lf %f %15s", &x, &y, word);
  printf("sscanf %d: %g %g %s\n", n, x, (double)y, word);
  // round trip of many values through %.17g
  uint64_t s = 0x243f6a8885a308d3ULL, h = FNV0; int bad = 0;
  for (int i = 0; i < 20000; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    double v; uint64_t bits = s & 0x7fefffffffffffffULL; memcpy(&v, &bits, 8);
    char buf[64]; snprintf(buf, sizeof buf, "%.17g", v);
    double back = strtod(buf, NULL);
    if (memcmp(&back, &v, 8)) bad++;
    h = fnv(h, buf, strlen(buf));
    snprintf(buf, sizeof buf, "%.6e", v * 1e-10);
    h = fnv(h, buf, strlen(buf));
  }
  printf("round trip: %d bad, text hash %016" PRIx64 "\n", bad, h);
  return 0;
}
