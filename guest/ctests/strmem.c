// String and memory functions over unaligned buffers: every (src offset, dst offset, length)
#define _GNU_SOURCE
// combination in a range, results hashed together with the whole destination buffer.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <inttypes.h>
#include "ctest.h"

#define BUF 512
static unsigned char src[BUF + 64] __attribute__((aligned(64)));
static unsigned char dst[BUF + 64] __attribute__((aligned(64)));

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; p[i] = (unsigned char)(seed >> 16); }
}
static int sgn(int x) { return (x > 0) - (x < 0); }
static const size_t LENS[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 300};
#define NL (sizeof LENS / sizeof LENS[0])

int t_strmem(int argc, char **argv) {
  (void)argc; (void)argv;
  uint64_t h;
  // memcpy
  h = FNV0;
  for (size_t so = 0; so < 16; so++)
    for (size_t d = 0; d < 16; d++)
      for (size_t k = 0; k < NL; k++) {
        fill(src, sizeof src, 1); memset(dst, 0xee, sizeof dst);
        void *r = memcpy(dst + d, src + so, LENS[k]);
        if (r != dst + d) h ^= 1;
        h = fnv(h, dst, sizeof dst);
      }
  printf("memcpy %016" PRIx64 "\n", h);
  // memmove, overlapping both ways
  h = FNV0;
  for (size_t so = 0; so < 24; so++)
    for (size_t d = 0; d < 24; d++)
      for (size_t k = 0; k < NL; k++) {
        fill(dst, sizeof dst, 2);
        memmove(dst + d, dst + so, LENS[k]);
        h = fnv(h, dst, sizeof dst);
      }
  printf("memmove %016" PRIx64 "\n", h);
  // memset
  h = FNV0;
  for (size_t d = 0; d < 16; d++)
    for (size_t k = 0; k < NL; k++) {
      memset(dst, 0x11, sizeof dst);
      memset(dst + d, (int)(0x80 + d + k), LENS[k]);
      h = fnv(h, dst, sizeof dst);
    }
  printf("memset %016" PRIx64 "\n", h);
  // memcmp / memchr / memrchr
  h = FNV0;
  fill(src, sizeof src, 3);
  for (size_t a = 0; a < 16; a++)
    for (size_t k = 0; k < NL; k++) {
      memcpy(dst, src, sizeof src);
      int eq = memcmp(dst + a, src + a, LENS[k]);
      if (LENS[k]) dst[a + LENS[k] - 1] ^= 0x80;
      int ne = memcmp(dst + a, src + a, LENS[k]), ne2 = memcmp(src + a, dst + a, LENS[k]);
      unsigned char c = src[a + LENS[k] / 2];
      unsigned char *p = memchr(src + a, c, LENS[k]), *q = memrchr(src + a, c, LENS[k]);
      int64_t v[] = {sgn(eq), sgn(ne), sgn(ne2), p ? p - src : -1, q ? q - src : -1};
      h = fnv(h, v, sizeof v);
    }
  printf("memcmp/memchr %016" PRIx64 "\n", h);
  // strings of every length at every alignment
  h = FNV0;
  char *s = (char *)src, *t = (char *)dst;
  for (size_t a = 0; a < 16; a++)
    for (size_t n = 0; n < 130; n++) {
      for (size_t i = 0; i < n; i++) s[a + i] = (char)('a' + (i * 7 + a) % 26);
      s[a + n] = 0;
      int64_t v[16]; int k = 0;
      v[k++] = (int64_t)strlen(s + a);
      v[k++] = (int64_t)strnlen(s + a, n / 2);
      char *c1 = strchr(s + a, 'q'), *c2 = strrchr(s + a, 'q'), *c0 = strchr(s + a, 0);
      v[k++] = c1 ? c1 - s : -1; v[k++] = c2 ? c2 - s : -1; v[k++] = c0 - s;
      memset(t, 'X', 300);
      strcpy(t + (15 - a), s + a);
      v[k++] = strcmp(t + (15 - a), s + a);
      if (n) t[15 - a + n - 1]++;
      v[k++] = sgn(strcmp(t + (15 - a), s + a));
      v[k++] = sgn(strncmp(t + (15 - a), s + a, n ? n - 1 : 0));
      char *f = strstr(s + a, "hov"); v[k++] = f ? f - s : -1;
      v[k++] = (int64_t)strspn(s + a, "abcdefghij");
      v[k++] = (int64_t)strcspn(s + a, "xyz");
      strncpy(t, s + a, 40);
      h = fnv(h, t, 300);
      h = fnv(h, v, (size_t)k * sizeof v[0]);
    }
  printf("str* %016" PRIx64 "\n", h);
  // misc string API
  char buf[128] = "hello";
  strcat(buf, ", world"); strncat(buf, "!!!!!", 2);
  char *dup = strdup(buf);
  char *save, *tok; char toks[] = "a,b,,c;d"; int nt = 0;
  for (tok = strtok_r(toks, ",;", &save); tok; tok = strtok_r(NULL, ",;", &save)) nt++;
  printf("%s|%s|%d|%d|%s|%zu\n", buf, dup, nt, strcasecmp("HeLLo", "hello"), strerror(2), strlen(dup));
  free(dup);
  return 0;
}
