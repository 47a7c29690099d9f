// Memory management: mmap/munmap/mprotect/mremap (anonymous and file-backed), faults caught with
// SIGSEGV handlers, brk/sbrk, malloc/calloc/realloc of small and large blocks. argv[1] is a
// scratch directory for the file-backed mappings. Prints no addresses.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <setjmp.h>
#include <malloc.h>
#include <sys/mman.h>
#include "ctest.h"

static sigjmp_buf jb;
static volatile void *fault_addr;
static volatile int fault_code, fault_sig;
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  fault_sig = sig; fault_code = si->si_code; fault_addr = si->si_addr;
  siglongjmp(jb, 1);
}
/** Tries to write (or read) one byte; returns the signal it raised, 0 if none. */
static int probe(volatile char *p, int write) {
  fault_sig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    if (write) *p = 1; else (void)*p;
    return 0;
  }
  return fault_sig;
}
static const char *code_name(int c) { return c == SEGV_MAPERR ? "SEGV_MAPERR" : c == SEGV_ACCERR ? "SEGV_ACCERR" : "other"; }

int t_mem(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: mem TMPDIR\n"); return 2; }
  struct sigaction sa = {0};
  sa.sa_sigaction = on_fault; sa.sa_flags = SA_SIGINFO; sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL); sigaction(SIGBUS, &sa, NULL);
  long pg = sysconf(_SC_PAGESIZE);
  printf("page size %ld\n", pg);

  // anonymous mappings
  size_t big = 8 << 20;
  unsigned char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap 8 MiB: ok %d page aligned %d zero-filled %d\n", m != MAP_FAILED, ((unsigned long)m & (pg - 1)) == 0,
         m[0] == 0 && m[big - 1] == 0 && m[big / 2] == 0);
  for (size_t i = 0; i < big; i += 64) m[i] = (unsigned char)(i >> 6);
  uint64_t h = FNV0; h = fnv(h, m, big);
  printf("filled hash %016llx\n", (unsigned long long)h);
  printf("munmap middle: %d\n", munmap(m + pg * 10, pg * 2));
  int s1 = probe((char *)m + pg * 10 + 5, 0);
  printf("read unmapped page: signal %d %s at offset %ld\n", s1, code_name(fault_code), (long)((char *)fault_addr - (char *)m));
  printf("neighbours intact: %d %d\n", m[pg * 9] == (unsigned char)((pg * 9) >> 6), m[pg * 12] == (unsigned char)((pg * 12) >> 6));
  munmap(m, big);

  // mprotect
  char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(p, 'a', 3 * pg);
  printf("mprotect RO: %d\n", mprotect(p + pg, pg, PROT_READ));
  int s2 = probe(p + pg + 100, 1);
  int c2 = fault_code; long o2 = (long)((char *)fault_addr - p);
  int rok = probe(p + pg + 100, 0) == 0;
  printf("write to RO page: signal %d %s offset %ld; read ok %d; value kept %c\n", s2, code_name(c2), o2, rok, p[pg + 100]);
  printf("write to RW neighbours: %d %d\n", probe(p + pg - 1, 1), probe(p + 2 * pg, 1));
  mprotect(p + pg, pg, PROT_NONE);
  int s3 = probe(p + pg, 0);
  printf("read PROT_NONE: signal %d %s\n", s3, code_name(fault_code));
  mprotect(p + pg, pg, PROT_READ | PROT_WRITE);
  printf("after mprotect RW: write ok %d, contents kept %d\n", probe(p + pg + 1, 1) == 0, p[pg + 2] == 'a');
  // MAP_FIXED replaces part of a mapping with fresh zero pages
  char *q = mmap(p + pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  printf("MAP_FIXED same address %d zeroed %d others kept %d\n", q == p + pg, q[0] == 0 && q[pg - 1] == 0, p[0] == 'a' && p[2 * pg] == 1);
  // mremap grow/shrink
  memset(p, 'r', 3 * pg);
  char *g = mremap(p, 3 * pg, 64 * pg, MREMAP_MAYMOVE);
  int kept = g != MAP_FAILED;
  for (long i = 0; kept && i < 3 * pg; i++) kept &= g[i] == 'r';
  printf("mremap grow: ok %d contents kept %d new part zero %d writable %d\n", g != MAP_FAILED, kept, g[3 * pg] == 0 && g[64 * pg - 1] == 0,
         probe(g + 63 * pg, 1) == 0);
  char *sh = mremap(g, 64 * pg, pg, 0);
  printf("mremap shrink in place: %d, tail unmapped: signal %d\n", sh == g, probe(g + 2 * pg, 0));
  munmap(sh, pg);
  // PROT_NONE reservation then commit
  char *res = mmap(NULL, 16 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  int f0 = probe(res, 0);
  int mp = mprotect(res, 4 * pg, PROT_READ | PROT_WRITE);
  int wok = probe(res + 4 * pg - 1, 1) == 0;
  printf("PROT_NONE reserve: fault %d; mprotect %d; write ok %d\n", f0, mp, wok);
  munmap(res, 16 * pg);
  errno = 0;
  int mr = munmap((char *)res + 1, pg);
  printf("munmap unaligned: %d errno %d\n", mr, errno);
  errno = 0;
  void *z = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap len 0: failed %d errno %d\n", z == MAP_FAILED, errno);

  // file-backed mappings
  char path[4096]; snprintf(path, sizeof path, "%s/map.bin", argv[1]);
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  size_t flen = 3 * (size_t)pg + 100;
  char *content = malloc(flen);
  for (size_t i = 0; i < flen; i++) content[i] = (char)('A' + i % 26);
  write(fd, content, flen);
  char *fm = mmap(NULL, flen, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  printf("file MAP_PRIVATE: same content %d, tail of last page zero %d\n", memcmp(fm, content, flen) == 0,
         fm[flen] == 0 && fm[4 * pg - 1] == 0);
  fm[0] = '#'; fm[pg] = '#';
  char b2[4]; pread(fd, b2, 1, 0);
  printf("private write not in file: %d (mapping has %c)\n", b2[0] == 'A', fm[0]);
  char *fo = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 2 * pg);
  printf("mmap at offset 2 pages: %d\n", fo != MAP_FAILED && memcmp(fo, content + 2 * pg, pg) == 0);
  char *fs = mmap(NULL, flen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fs[1] = '!';
  msync(fs, flen, MS_SYNC);
  pread(fd, b2, 2, 0);
  printf("MAP_SHARED write reaches the file: %d; private copy unaffected at [1]: %d\n", b2[1] == '!', fm[1] == 'B');
  char *ro = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);
  printf("write to read-only file mapping: signal %d\n", probe(ro + 3, 1));
  errno = 0;
  void *bad = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 12345, 0);
  printf("mmap bad fd: failed %d errno %d\n", bad == MAP_FAILED, errno);
  munmap(fm, flen); munmap(fo, pg); munmap(fs, flen); munmap(ro, pg);
  close(fd); unlink(path); free(content);

  // brk
  char *b0 = sbrk(0);
  char *b1 = sbrk(100000);
  char *bend = sbrk(0);
  printf("sbrk(100000) returned old break %d, new break +%ld\n", b1 == b0, (long)(bend - b0));
  memset(b1, 7, 100000);
  printf("brk memory usable %d\n", b1[99999] == 7);
  sbrk(-50000);
  printf("shrink: +%ld\n", (long)((char *)sbrk(0) - b0));

  // malloc
  enum { NB = 20000 };
  char **blk = malloc(NB * sizeof *blk); size_t *len = malloc(NB * sizeof *len);
  uint64_t s = 0x9e3779b97f4a7c15ULL; int okc = 1;
  for (int i = 0; i < NB; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    len[i] = s % 5 == 0 ? (s >> 8) % 70000 : (s >> 8) % 200;
    blk[i] = malloc(len[i]);
    if (!blk[i] || ((unsigned long)blk[i] & 15)) okc = 0;
    memset(blk[i], i & 0xff, len[i]);
    if (malloc_usable_size(blk[i]) < len[i]) okc = 0;
  }
  for (int i = 0; i < NB; i += 2) { free(blk[i]); blk[i] = NULL; }
  for (int i = 1; i < NB; i += 2) {
    for (size_t k = 0; k < len[i]; k += 7) if ((unsigned char)blk[i][k] != (i & 0xff)) okc = 0;
    blk[i] = realloc(blk[i], len[i] * 2 + 1);
    for (size_t k = 0; k < len[i]; k += 5) if ((unsigned char)blk[i][k] != (i & 0xff)) okc = 0;
    free(blk[i]);
  }
  printf("20000 malloc/realloc/free: ok %d\n", okc);
  free(blk); free(len);
  size_t sizes[] = {1 << 20, 16 << 20, 64 << 20};
  for (int i = 0; i < 3; i++) {
    unsigned char *c = calloc(sizes[i], 1);
    int zero = c != NULL;
    for (size_t k = 0; zero && k < sizes[i]; k += 4096) zero &= c[k] == 0;
    if (c) { c[sizes[i] - 1] = 1; memset(c, 0x5a, sizes[i] / 2); }
    printf("calloc %zu MiB: ok %d zero %d\n", sizes[i] >> 20, c != NULL, zero);
    c = realloc(c, sizes[i] + 12345);
    printf("  realloc bigger: ok %d kept %d\n", c != NULL, c && c[0] == 0x5a && c[sizes[i] - 1] == 1);
    free(c);
  }
  void *al = aligned_alloc(4096, 10000);
  printf("aligned_alloc(4096): %d\n", ((unsigned long)al & 4095) == 0);
  free(al);
  return 0;
}
