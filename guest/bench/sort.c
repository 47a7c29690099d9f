/* sort: quicksort and merge sort of N ints from an LCG, cross-checked, with a checksum.
 * Usage: sort [N]   (default 4000000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quicksort(int32_t *a, long lo, long hi) {
  while (hi - lo > 16) {
    /* median of three */
    long mid = lo + (hi - lo) / 2;
    int32_t x = a[lo], y = a[mid], z = a[hi];
    int32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        int32_t t = a[i]; a[i] = a[j]; a[j] = t;
        i++; j--;
      }
    }
    /* recurse into the smaller half, loop on the larger */
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
    else { quicksort(a, i, hi); hi = j; }
  }
  for (long i = lo + 1; i <= hi; i++) { /* insertion sort for short runs */
    int32_t v = a[i];
    long j = i - 1;
    while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}

static void mergesort_rec(int32_t *a, int32_t *tmp, long n) {
  if (n < 2) return;
  long h = n / 2;
  mergesort_rec(a, tmp, h);
  mergesort_rec(a + h, tmp, n - h);
  long i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, (size_t)n * sizeof *a);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 0) : 4000000;
  if (n < 1) n = 1;
  int32_t *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
  int32_t *tmp = malloc((size_t)n * sizeof *tmp);
  if (!a || !b || !tmp) { fprintf(stderr, "sort: out of memory\n"); return 1; }
  uint32_t s = 42;
  for (long i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    uint32_t hi = s >> 16;
    s = s * 1103515245u + 12345u;
    a[i] = (int32_t)((hi << 16) ^ (s >> 8));
    b[i] = a[i];
  }
  quicksort(a, 0, n - 1);
  mergesort_rec(b, tmp, n);
  long bad = 0;
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) {
    if (a[i] != b[i]) bad++;
    if (i > 0 && a[i - 1] > a[i]) bad++;
    sum = sum * 31 + (uint32_t)a[i];
  }
  printf("sort n=%ld min=%d median=%d max=%d mismatches=%ld checksum=%016llx\n", n, a[0], a[n / 2], a[n - 1], bad,
         (unsigned long long)sum);
  free(a); free(b); free(tmp);
  return bad != 0;
}
