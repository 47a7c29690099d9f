/* intmix: an integer add/shift/xor/mul/div/rem mix in a loop.
 * Usage: intmix [ITERATIONS]   (default 120000000)
 * Prints a 64-bit checksum that only depends on ITERATIONS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t mix(uint64_t n, uint64_t seed) {
  uint64_t a = seed, b = seed ^ 0x9E3779B97F4A7C15ull, c = 12345;
  uint32_t w = (uint32_t)seed | 1;
  int64_t s = -7;
  for (uint64_t i = 0; i < n; i++) {
    a += b ^ (i << 3);
    b = (b >> 7) | (b << 57);
    c ^= a * 0x2545F4914F6CDD1Dull;
    uint64_t d = (i & 255) + 3;            /* small, non-constant divisor */
    a += c / d;
    b ^= c % (d + 2);
    w = w * 1664525u + 1013904223u;        /* 32-bit ops (addw/mulw) */
    w ^= w >> 13;
    int32_t q = (int32_t)w / (int32_t)(d | 1);
    s += q % 97 - (s >> 5);
    c += (uint64_t)(uint32_t)q + (uint64_t)s;
    if ((int64_t)a < 0) a = ~a;            /* a data-dependent branch */
    unsigned r = (unsigned)(i & 31) | 1;   /* rotate by 1..31 */
    c = (c << r) | (c >> (64 - r));
  }
  return a ^ (b * 3) ^ (c * 5) ^ (uint64_t)s ^ w;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 120000000ull;
  uint64_t seed = 0x0123456789ABCDEFull + (uint64_t)argc; /* not foldable by the compiler */
  uint64_t r = mix(n, seed);
  printf("intmix n=%llu checksum=%016llx\n", (unsigned long long)n, (unsigned long long)r);
  return 0;
}
