// qsort of 100k 64-bit keys and 20k strings, bsearch, with checksums.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <inttypes.h>
#include "ctest.h"

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}
static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
struct rec { uint32_t key; uint32_t seq; };
static int cmprec(const void *a, const void *b) {
  const struct rec *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

int t_qsort(int argc, char **argv) {
  (void)argc; (void)argv;
  enum { N = 100000, NS = 20000 };
  int64_t *a = malloc(N * sizeof *a);
  uint64_t s = 88172645463325252ULL;
  for (int i = 0; i < N; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; a[i] = (int64_t)s >> (s & 31); }
  qsort(a, N, sizeof *a, cmp64);
  int sorted = 1; uint64_t h = 0;
  for (int i = 0; i < N; i++) { if (i && a[i - 1] > a[i]) sorted = 0; h = h * 31 + (uint64_t)a[i] * (uint64_t)(i + 1); }
  printf("int64: sorted %d checksum %016" PRIx64 " min %" PRId64 " max %" PRId64 " median %" PRId64 "\n", sorted, h, a[0], a[N - 1], a[N / 2]);
  int found = 0;
  for (int i = 0; i < 1000; i++) { int64_t k = a[(i * 97) % N]; if (bsearch(&k, a, N, sizeof *a, cmp64)) found++; }
  int64_t missing = a[10] + 1; while (bsearch(&missing, a, N, sizeof *a, cmp64)) missing++;
  printf("bsearch found %d, absent ok %d\n", found, bsearch(&missing, a, N, sizeof *a, cmp64) == NULL);
  free(a);

  char **v = malloc(NS * sizeof *v);
  for (int i = 0; i < NS; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    int len = 1 + (int)(s % 12); v[i] = malloc((size_t)len + 1);
    for (int j = 0; j < len; j++) v[i][j] = (char)('a' + (s >> (5 * j + 8)) % 6);
    v[i][len] = 0;
  }
  qsort(v, NS, sizeof *v, cmpstr);
  h = FNV0; sorted = 1;
  for (int i = 0; i < NS; i++) { if (i && strcmp(v[i - 1], v[i]) > 0) sorted = 0; h = fnv(h, v[i], strlen(v[i]) + 1); }
  printf("strings: sorted %d hash %016" PRIx64 " first %s last %s\n", sorted, h, v[0], v[NS - 1]);
  for (int i = 0; i < NS; i++) free(v[i]);
  free(v);

  struct rec *r = malloc(N * sizeof *r);
  for (int i = 0; i < N; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; r[i].key = (uint32_t)(s % 1000); r[i].seq = (uint32_t)i; }
  qsort(r, N, sizeof *r, cmprec);
  h = FNV0; h = fnv(h, r, N * sizeof *r);
  printf("records: hash %016" PRIx64 " first %u/%u last %u/%u\n", h, r[0].key, r[0].seq, r[N - 1].key, r[N - 1].seq);
  free(r);
  return 0;
}
