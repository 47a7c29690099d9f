// Code changed under a translation that already exists (a JIT's stale-code cases): hot generated
// loops (enough iterations for any JIT threshold up to 50 000 instructions per page) are called,
// then their page is rewritten (another constant, another operation, another body length, only a
// different function on the same page) with __builtin___clear_cache, a bare fence.i, or mprotect
// W^X, and called again; loops that store into their own page (patching their next instruction,
// another function on the page, or data) followed by fence.i; the page at a virtual address
// replaced by another (MAP_FIXED file pages, munmap + anonymous mmap, mremap MREMAP_FIXED onto
// it); one file page mapped twice (MAP_SHARED), written through one view (then msync) or with
// pwrite, and run through another view mapped after the write; a loop whose instruction straddles a page boundary when only
// the second page is rewritten or remapped. Every result is printed next to what a C model of the
// generated code computes. argv[1] is a scratch directory for the code file. Prints no addresses.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include "ctest.h"

// RV64 encoders
static uint32_t rtype(int f7, int rs2, int rs1, int f3, int rd, int op) {
  return (uint32_t)f7 << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | (uint32_t)f3 << 12 | (uint32_t)rd << 7 | (uint32_t)op;
}
static uint32_t itype(int imm, int rs1, int f3, int rd, int op) {
  return ((uint32_t)(imm & 0xfff) << 20) | (uint32_t)rs1 << 15 | (uint32_t)f3 << 12 | (uint32_t)rd << 7 | (uint32_t)op;
}
static uint32_t addi(int rd, int rs1, int imm) { return itype(imm, rs1, 0, rd, 0x13); }
static uint32_t andi(int rd, int rs1, int imm) { return itype(imm, rs1, 7, rd, 0x13); }
static uint32_t slli(int rd, int rs1, int sh) { return itype(sh, rs1, 1, rd, 0x13); }
static uint32_t srli(int rd, int rs1, int sh) { return itype(sh, rs1, 5, rd, 0x13); }
static uint32_t or_(int rd, int rs1, int rs2) { return rtype(0, rs2, rs1, 6, rd, 0x33); }
static uint32_t add(int rd, int rs1, int rs2) { return rtype(0, rs2, rs1, 0, rd, 0x33); }
static uint32_t lw(int rd, int rs1, int off) { return itype(off, rs1, 2, rd, 0x03); }
static uint32_t sw(int rs2, int rs1, int off) {
  return ((uint32_t)(off >> 5) & 0x7f) << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | 2 << 12 | ((uint32_t)off & 0x1f) << 7 | 0x23;
}
static uint32_t branch(int f3, int rs1, int rs2, int off) {
  uint32_t o = (uint32_t)off;
  return ((o >> 12) & 1) << 31 | ((o >> 5) & 0x3f) << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | (uint32_t)f3 << 12 |
         ((o >> 1) & 0xf) << 8 | ((o >> 11) & 1) << 7 | 0x63;
}
static uint32_t bne(int rs1, int rs2, int off) { return branch(1, rs1, rs2, off); }
static uint32_t jal(int rd, int off) {
  uint32_t o = (uint32_t)off;
  return ((o >> 20) & 1) << 31 | ((o >> 1) & 0x3ff) << 21 | ((o >> 11) & 1) << 20 | ((o >> 12) & 0xff) << 12 | (uint32_t)rd << 7 | 0x6f;
}
static uint32_t jalr(int rd, int rs1, int off) { return itype(off, rs1, 0, rd, 0x67); }
static const uint32_t RET = 0x00008067, FENCE_I = 0x0000100f;
enum { ZERO = 0, RA = 1, T0 = 5, T1 = 6, T2 = 7, A0 = 10, A1 = 11, A2 = 12, T3 = 28, T4 = 29, T5 = 30 };

// The operations a generated loop uses: add, sub, xor, addw (32-bit, sign-extended)
enum { OP_ADD, OP_SUB, OP_XOR, OP_ADDW };
static const char *const OPNAME[] = { "add", "sub", "xor", "addw" };
static uint32_t opins(int op, int rd, int rs1, int rs2) {
  switch (op) {
  case OP_ADD: return rtype(0, rs2, rs1, 0, rd, 0x33);
  case OP_SUB: return rtype(0x20, rs2, rs1, 0, rd, 0x33);
  case OP_XOR: return rtype(0, rs2, rs1, 4, rd, 0x33);
  default: return rtype(0, rs2, rs1, 0, rd, 0x3b);
  }
}
static uint64_t opval(int op, uint64_t a, uint64_t b) {
  switch (op) {
  case OP_ADD: return a + b;
  case OP_SUB: return a - b;
  case OP_XOR: return a ^ b;
  default: return (uint64_t)(int64_t)(int32_t)(uint32_t)(a + b);
  }
}

typedef long (*fn1)(long);
typedef long (*fn3)(long, long, long);
static const long N = 200000;
static long pg;

static void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }
static void clear_cache(void *p, size_t n) { __builtin___clear_cache((char *)p, (char *)p + n); }

/** Emits at p: long f(long n) { acc = 0; for (i = 1..n) { t = i + k; reps times: acc = acc OP t; acc *= 3; } return acc; }
 *  Returns the number of words. */
static int gen_loop(uint32_t *p, int op, int k, int reps) {
  int w = 0;
  p[w++] = addi(T0, ZERO, 0);
  p[w++] = addi(T1, ZERO, 0);
  int loop = w;
  p[w++] = addi(T1, T1, 1);
  p[w++] = addi(T2, T1, k);
  for (int r = 0; r < reps; r++) p[w++] = opins(op, T0, T0, T2);
  p[w++] = slli(T4, T0, 1);
  p[w++] = add(T0, T0, T4);
  p[w] = bne(T1, A0, (loop - w) * 4); w++;
  p[w++] = addi(A0, T0, 0);
  p[w++] = RET;
  return w;
}
static long model_loop(int op, int k, int reps, long n) {
  uint64_t acc = 0;
  for (long i = 1; i <= n; i++) {
    uint64_t t = (uint64_t)(i + k);
    for (int r = 0; r < reps; r++) acc = opval(op, acc, t);
    acc *= 3;
  }
  return (long)acc;
}

static int failures;
/** Prints one result with the model's verdict. */
static void show(const char *what, long got, long want) {
  if (got != want) failures++;
  printf("  %s = %ld (%s)\n", what, got, got == want ? "model agrees" : "MODEL DIFFERS");
}

// ---------------------------------------------------------------- 1. rewritten while hot
// One RWX page: F (a loop) at word 0, G (another loop) at word 256, C at word 512: a loop calling
// H (word 768) every iteration: C(n) { acc = 0; for (i = 1..n) acc = (acc HOP i) + hk; }.
struct fparams { int op, k, reps; };
struct hparams { int op, k; };
static void gen_caller(uint32_t *p, int hword) {
  int w = 0;
  p[w++] = addi(T3, RA, 0);
  p[w++] = addi(A1, ZERO, 0);
  p[w++] = addi(T1, ZERO, 0);
  int loop = w;
  p[w++] = addi(T1, T1, 1);
  p[w] = jal(RA, (hword - w) * 4); w++;
  p[w] = bne(T1, A0, (loop - w) * 4); w++;
  p[w++] = addi(A0, A1, 0);
  p[w++] = jalr(ZERO, T3, 0);
}
static void gen_h(uint32_t *p, struct hparams h) { p[0] = opins(h.op, A1, A1, T1); p[1] = addi(A1, A1, h.k); p[2] = RET; }
static long model_caller(struct hparams h, long n) {
  uint64_t acc = 0;
  for (long i = 1; i <= n; i++) acc = opval(h.op, acc, (uint64_t)i) + (uint64_t)(long)h.k;
  return (long)acc;
}

static void rewritten(void) {
  printf("1. code rewritten while hot (F, G, C -> H on one page)\n");
  uint32_t *P = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (P == MAP_FAILED) { printf("mmap RWX failed\n"); return; }
  enum { SYNC_CLEAR, SYNC_FENCE, SYNC_WX };
  static const char *const SYNCNAME[] = { "__builtin___clear_cache", "fence.i", "mprotect RW, RX + clear_cache" };
  static const struct { const char *what; struct fparams f, g; struct hparams h; int sync; } R[] = {
    { "initial", { OP_ADD, 3, 1 }, { OP_XOR, 5, 1 }, { OP_ADD, 1 }, SYNC_CLEAR },
    { "F: another constant", { OP_ADD, 7, 1 }, { OP_XOR, 5, 1 }, { OP_ADD, 1 }, SYNC_CLEAR },
    { "F: another operation", { OP_XOR, 7, 1 }, { OP_XOR, 5, 1 }, { OP_ADD, 1 }, SYNC_FENCE },
    { "G only (F on the same page untouched)", { OP_XOR, 7, 1 }, { OP_SUB, -9, 1 }, { OP_ADD, 1 }, SYNC_CLEAR },
    { "H only (its caller C untouched)", { OP_XOR, 7, 1 }, { OP_SUB, -9, 1 }, { OP_XOR, 100 }, SYNC_FENCE },
    { "F: longer body (branch offset changes)", { OP_ADDW, 7, 2 }, { OP_SUB, -9, 1 }, { OP_XOR, 100 }, SYNC_WX },
    { "F and H", { OP_SUB, 11, 1 }, { OP_SUB, -9, 1 }, { OP_SUB, 2 }, SYNC_CLEAR },
    { "all back to the initial bytes", { OP_ADD, 3, 1 }, { OP_XOR, 5, 1 }, { OP_ADD, 1 }, SYNC_FENCE },
    { "H constant only", { OP_ADD, 3, 1 }, { OP_XOR, 5, 1 }, { OP_ADD, 77 }, SYNC_WX },
    { "F: shorter body again, one immediate bit", { OP_ADDW, 3, 1 }, { OP_XOR, 5, 1 }, { OP_ADD, 77 }, SYNC_CLEAR },
    { "F: one immediate bit", { OP_ADDW, 2, 1 }, { OP_XOR, 5, 1 }, { OP_ADD, 77 }, SYNC_FENCE },
  };
  uint32_t *F = P, *G = P + 256, *C = P + 512, *H = P + 768;
  gen_caller(C, 768 - 512);
  for (size_t r = 0; r < sizeof R / sizeof R[0]; r++) {
    int wf = r == 0 || memcmp(&R[r].f, &R[r - 1].f, sizeof R[r].f) != 0;
    int wg = r == 0 || memcmp(&R[r].g, &R[r - 1].g, sizeof R[r].g) != 0;
    int wh = r == 0 || memcmp(&R[r].h, &R[r - 1].h, sizeof R[r].h) != 0;
    if (R[r].sync == SYNC_WX) mprotect(P, pg, PROT_READ | PROT_WRITE);
    if (wf) gen_loop(F, R[r].f.op, R[r].f.k, R[r].f.reps);
    if (wg) gen_loop(G, R[r].g.op, R[r].g.k, R[r].g.reps);
    if (wh) gen_h(H, R[r].h);
    if (R[r].sync == SYNC_WX) mprotect(P, pg, PROT_READ | PROT_EXEC);
    if (R[r].sync == SYNC_FENCE) fence_i(); else clear_cache(P, pg);
    printf(" round %zu: %s; rewrote%s%s%s; %s\n", r, R[r].what, wf ? " F" : "", wg ? " G" : "", wh ? " H" : "", SYNCNAME[R[r].sync]);
    char what[64];
    for (int call = 0; call < 2; call++) {
      snprintf(what, sizeof what, "F %s %d x%d, call %d", OPNAME[R[r].f.op], R[r].f.k, R[r].f.reps, call);
      show(what, ((fn1)F)(N), model_loop(R[r].f.op, R[r].f.k, R[r].f.reps, N));
      snprintf(what, sizeof what, "G %s %d, call %d", OPNAME[R[r].g.op], R[r].g.k, call);
      show(what, ((fn1)G)(N), model_loop(R[r].g.op, R[r].g.k, R[r].g.reps, N));
      snprintf(what, sizeof what, "C -> H %s %d, call %d", OPNAME[R[r].h.op], R[r].h.k, call);
      show(what, ((fn1)C)(N), model_caller(R[r].h, N));
    }
    if (R[r].sync == SYNC_WX) mprotect(P, pg, PROT_READ | PROT_WRITE | PROT_EXEC);
  }
  munmap(P, pg);
}

// ---------------------------------------------------------------- 2. stores into its own page
static void self_modifying(void) {
  printf("2. hot loops storing into their own page\n");
  uint32_t *Q = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (Q == MAP_FAILED) { printf("mmap RWX failed\n"); return; }
  const uint32_t tmpl = addi(T0, T0, 0);
  char what[80];
  // (a) every iteration patches the instruction after its fence.i: addi t0, t0, i & 0x7ff
  {
    int w = 0;
    Q[w++] = addi(T0, ZERO, 0);
    Q[w++] = addi(T1, ZERO, 0);
    int loop = w;
    Q[w++] = addi(T1, T1, 1);
    Q[w++] = andi(T2, T1, 0x7ff);
    Q[w++] = slli(T2, T2, 20);
    Q[w++] = or_(T2, T2, A2);
    Q[w++] = sw(T2, A1, 0);
    Q[w++] = FENCE_I;
    int m = w;
    Q[w++] = addi(T0, T0, 5);
    Q[w] = bne(T1, A0, (loop - w) * 4); w++;
    Q[w++] = addi(A0, T0, 0);
    Q[w++] = RET;
    clear_cache(Q, pg);
    const long n = 60000;
    long want = 0;
    for (long i = 1; i <= n; i++) want += i & 0x7ff;
    for (int call = 0; call < 3; call++) {
      snprintf(what, sizeof what, "(a) patches its next instruction every iteration, call %d", call);
      show(what, ((fn3)Q)(n, (long)(Q + m), (long)tmpl), want);
    }
    printf("  (a) patched word afterwards: %#x (expect %#x)\n", Q[m], tmpl | (uint32_t)(n & 0x7ff) << 20);
  }
  // (b) every 1024th iteration patches it to addi t0, t0, (i >> 10) & 0x7ff; the last patch stays for the next call
  uint32_t *B = Q + 128;
  {
    int w = 0;
    B[w++] = addi(T0, ZERO, 0);
    B[w++] = addi(T1, ZERO, 0);
    int loop = w;
    B[w++] = addi(T1, T1, 1);
    B[w++] = andi(T2, T1, 1023);
    int br = w++;
    B[w++] = srli(T2, T1, 10);
    B[w++] = andi(T2, T2, 0x7ff);
    B[w++] = slli(T2, T2, 20);
    B[w++] = or_(T2, T2, A2);
    B[w++] = sw(T2, A1, 0);
    B[w++] = FENCE_I;
    int m = w;
    B[br] = bne(T2, ZERO, (m - br) * 4);
    B[w++] = addi(T0, T0, 5);
    B[w] = bne(T1, A0, (loop - w) * 4); w++;
    B[w++] = addi(A0, T0, 0);
    B[w++] = RET;
    clear_cache(Q, pg);
    long cur = 5;
    for (int call = 0; call < 3; call++) {
      long n = N + call * 3000, want = 0;
      for (long i = 1; i <= n; i++) { if (i % 1024 == 0) cur = (i >> 10) & 0x7ff; want += cur; }
      snprintf(what, sizeof what, "(b) patches its own loop every 1024 iterations, call %d", call);
      show(what, ((fn3)B)(n, (long)(B + m), (long)tmpl), want);
    }
  }
  // (c) every 256th iteration patches another function H on the page (addi t5, zero, (i >> 8) & 0x7ff),
  //     and calls H every iteration (H: t0 += t5)
  uint32_t *S = Q + 256, *H = Q + 600;
  {
    H[0] = addi(T5, ZERO, 3); H[1] = add(T0, T0, T5); H[2] = RET;
    int w = 0;
    S[w++] = addi(T3, RA, 0);
    S[w++] = addi(T0, ZERO, 0);
    S[w++] = addi(T1, ZERO, 0);
    int loop = w;
    S[w++] = addi(T1, T1, 1);
    S[w++] = andi(T2, T1, 255);
    int br = w++;
    S[w++] = srli(T2, T1, 8);
    S[w++] = andi(T2, T2, 0x7ff);
    S[w++] = slli(T2, T2, 20);
    S[w++] = or_(T2, T2, A2);
    S[w++] = sw(T2, A1, 0);
    S[w++] = FENCE_I;
    int call = w;
    S[br] = bne(T2, ZERO, (call - br) * 4);
    S[w] = jal(RA, (int)((H - S) - w) * 4); w++;
    S[w] = bne(T1, A0, (loop - w) * 4); w++;
    S[w++] = addi(A0, T0, 0);
    S[w++] = jalr(ZERO, T3, 0);
    clear_cache(Q, pg);
    long cur = 3;
    for (int c = 0; c < 3; c++) {
      long n = N - c * 5000, want = 0;
      for (long i = 1; i <= n; i++) { if (i % 256 == 0) cur = (i >> 8) & 0x7ff; want += cur; }
      snprintf(what, sizeof what, "(c) patches another function on its page every 256 iterations, call %d", c);
      show(what, ((fn3)S)(n, (long)H, (long)addi(T5, ZERO, 0)), want);
    }
  }
  // (d) loads and stores a data word on its own code page every iteration (no fence.i: not code)
  uint32_t *D = Q + 700;
  int32_t *data = (int32_t *)(Q + 1000);
  {
    int w = 0;
    D[w++] = addi(T0, ZERO, 0);
    D[w++] = addi(T1, ZERO, 0);
    int loop = w;
    D[w++] = addi(T1, T1, 1);
    D[w++] = lw(T2, A1, 0);
    D[w++] = add(T2, T2, T1);
    D[w++] = sw(T2, A1, 0);
    D[w++] = add(T0, T0, T2);
    D[w] = bne(T1, A0, (loop - w) * 4); w++;
    D[w++] = addi(A0, T0, 0);
    D[w++] = RET;
    clear_cache(Q, pg);
    *data = 0;
    int32_t d = 0;
    for (int c = 0; c < 3; c++) {
      long want = 0;
      for (long i = 1; i <= N; i++) { long t = (long)d + i; d = (int32_t)(uint32_t)t; want += t; }
      snprintf(what, sizeof what, "(d) counter stored in its own page, call %d", c);
      show(what, ((fn3)D)(N, (long)data, 0), want);
      printf("  (d) data word afterwards %d (expect %d)\n", *data, d);
    }
  }
  munmap(Q, pg);
}

// ---------------------------------------------------------------- 3. remapped
/** Writes len bytes at file offset off. */
static void put(int fd, const void *p, size_t len, off_t off) {
  if (pwrite(fd, p, len, off) != (ssize_t)len) printf("pwrite failed\n");
}

static void remapped(const char *dir) {
  printf("3. another page at the same virtual address\n");
  char path[4096];
  snprintf(path, sizeof path, "%s/code.bin", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0700);
  if (fd < 0) { printf("open failed\n"); return; }
  // file pages 0..2: loops A, B, C; page 3: for the shared views; pages 4, 5: second halves of the straddling loop
  static const struct fparams V[] = { { OP_ADD, 11, 1 }, { OP_XOR, 22, 1 }, { OP_SUB, 33, 2 } };
  uint32_t *buf = calloc(1, pg);
  for (int v = 0; v < 3; v++) { memset(buf, 0, pg); gen_loop(buf, V[v].op, V[v].k, V[v].reps); put(fd, buf, pg, v * pg); }
  memset(buf, 0, pg);
  put(fd, buf, pg, 3 * pg);
  char what[96];
#define CALLV(addr, v, label)                                                                                     \
  for (int call = 0; call < 2; call++) {                                                                          \
    snprintf(what, sizeof what, "%s: loop %c, call %d", label, 'A' + (v), call);                                 \
    show(what, ((fn1)(addr))(N), model_loop(V[v].op, V[v].k, V[v].reps, N));                                      \
  }
  // (a) file pages mapped MAP_FIXED over each other at X (no clear_cache: a fresh mapping is coherent)
  char *X = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (X == MAP_FAILED) { printf("mmap file failed\n"); return; }
  CALLV(X, 0, "(a) file page 0 at X");
  static const int seq[] = { 1, 2, 0, 1, 1, 2 };
  for (size_t s = 0; s < sizeof seq / sizeof seq[0]; s++) {
    if (mmap(X, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, seq[s] * pg) != X) { printf("MAP_FIXED failed\n"); return; }
    char label[48];
    snprintf(label, sizeof label, "(a) MAP_FIXED file page %d over X", seq[s]);
    CALLV(X, seq[s], label);
  }
  // (b) munmap X, anonymous page at X written with loop B's code by stores
  munmap(X, pg);
  if (mmap(X, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != X) { printf("mmap anon at X failed\n"); return; }
  gen_loop((uint32_t *)X, V[1].op, V[1].k, V[1].reps);
  mprotect(X, pg, PROT_READ | PROT_EXEC);
  clear_cache(X, pg);
  CALLV(X, 1, "(b) munmap, anonymous at X, written");
  // ... and another anonymous page MAP_FIXED over it with loop C
  if (mmap(X, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != X) { printf("mmap anon at X failed\n"); return; }
  gen_loop((uint32_t *)X, V[2].op, V[2].k, V[2].reps);
  mprotect(X, pg, PROT_READ | PROT_EXEC);
  clear_cache(X, pg);
  CALLV(X, 2, "(b) anonymous MAP_FIXED over X, written");
  // (c) mremap: a hot mapping of file page 0 moved onto X (MREMAP_FIXED replaces X's page), then X's page moved onto W
  char *Z = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  char *W = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, pg);
  CALLV(Z, 0, "(c) file page 0 at Z");
  CALLV(W, 1, "(c) file page 1 at W");
  if (mremap(Z, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, X) != X) { printf("mremap failed\n"); return; }
  CALLV(X, 0, "(c) mremap Z onto X");
  if (mremap(X, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, W) != W) { printf("mremap failed\n"); return; }
  CALLV(W, 0, "(c) mremap X onto W");
  if (mmap(X, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, 2 * pg) != X) { printf("MAP_FIXED failed\n"); return; }
  CALLV(X, 2, "(c) MAP_FIXED file page 2 at X again");
  munmap(X, pg); munmap(W, pg);
#undef CALLV

  // (d) one file page mapped more than once (MAP_SHARED): rounds 0-3 write it through a view V1 (RW) by
  //     stores, then msync; rounds 4-7 write the file with pwrite; each round runs it through a view mapped
  //     afresh (RX) and unmapped after (so usually at the same address as the round before).
  //     Not checked here: the new code run through a view that was mapped (and run) before the write.
  //     QEMU 7.2 user mode keeps running that view's old translations (it notices only writes to the same
  //     guest virtual page; fence.i and riscv_flush_icache drop nothing), and rvisor copies a MAP_SHARED
  //     file page in at mmap time (written back on msync, munmap and exit), so views are not coherent.
  uint32_t *V1 = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 3 * pg);
  if (V1 == MAP_FAILED) { printf("shared mmap failed\n"); return; }
  static const struct { struct fparams f; struct hparams g; int how; } DV[] = {
    { { OP_ADD, 1, 1 }, { OP_ADD, 1 }, 0 }, { { OP_ADD, 2, 1 }, { OP_ADD, 1 }, 1 }, { { OP_XOR, 2, 1 }, { OP_ADD, 1 }, 0 },
    { { OP_XOR, 2, 1 }, { OP_SUB, 9 }, 1 }, { { OP_ADDW, -5, 3 }, { OP_SUB, 9 }, 2 }, { { OP_ADD, 1, 1 }, { OP_ADD, 1 }, 2 },
    { { OP_SUB, 4, 1 }, { OP_ADD, 1 }, 2 }, { { OP_SUB, 4, 1 }, { OP_XOR, 3 }, 2 },
  };
  static const char *const HOW[] = { "stores through V1 + msync + clear_cache", "stores through V1 + msync + fence.i",
                                     "pwrite to the file + clear_cache" };
  static uint32_t shadow[1024];
  for (size_t r = 0; r < sizeof DV / sizeof DV[0]; r++) {
    // F at word 0, the caller C at 512 calling H at 768 (H rewritten alone in some rounds)
    uint32_t img[1024];
    memcpy(img, shadow, pg);
    gen_loop(img, DV[r].f.op, DV[r].f.k, DV[r].f.reps);
    gen_caller(img + 512, 256);
    gen_h(img + 768, DV[r].g);
    int changed = 0;
    for (int i = 0; i < 1024; i++) changed += img[i] != shadow[i];
    if (DV[r].how == 2) {
      if (V1) { munmap(V1, pg); V1 = NULL; }
      put(fd, img, pg, 3 * pg);
    } else {
      for (int i = 0; i < 1024; i++) if (img[i] != shadow[i]) V1[i] = img[i];
      msync(V1, pg, MS_SYNC);
    }
    memcpy(shadow, img, pg);
    char *Vn = mmap(NULL, pg, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 3 * pg);
    if (Vn == MAP_FAILED) { printf("shared mmap failed\n"); return; }
    if (DV[r].how == 1) fence_i(); else clear_cache(Vn, pg);
    printf(" round %zu: %s, %d words changed\n", r, HOW[DV[r].how], changed);
    long wf = model_loop(DV[r].f.op, DV[r].f.k, DV[r].f.reps, N), wc = model_caller(DV[r].g, N);
    for (int call = 0; call < 2; call++) {
      snprintf(what, sizeof what, "F %s %d x%d via a new view, call %d", OPNAME[DV[r].f.op], DV[r].f.k, DV[r].f.reps, call);
      show(what, ((fn1)Vn)(N), wf);
      snprintf(what, sizeof what, "C -> H %s %d via a new view, call %d", OPNAME[DV[r].g.op], DV[r].g.k, call);
      show(what, ((fn1)(Vn + 512 * 4))(N), wc);
    }
    munmap(Vn, pg);
  }

  // (e) a loop whose addi t2, t1, K straddles the boundary of pages 1 and 2 of a mapping; only page 2 changes
  //     (the halfword on page 1 does not depend on K)
  static const struct fparams SV[] = { { OP_ADD, 100, 1 }, { OP_XOR, 200, 1 }, { OP_SUB, -300, 1 } };
  const long start = pg - 14; // addi t2 at pg - 2
  char img2[3][8192];
  for (int v = 0; v < 3; v++) {
    memset(img2[v], 0, sizeof img2[v]);
    uint32_t w[10];
    gen_loop(w, SV[v].op, SV[v].k, SV[v].reps);
    memcpy(img2[v] + start, w, sizeof w);
    put(fd, img2[v] + pg, pg, (4 + v) * pg);
  }
  for (int v = 1; v < 3; v++) if (memcmp(img2[0], img2[v], pg) != 0) printf("(e) first pages differ?!\n");
  char *Y = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(Y, img2[0], 2 * pg);
  clear_cache(Y, 2 * pg);
  static const struct { int v; int how; } SS[] = { { 0, 0 }, { 1, 0 }, { 2, 1 }, { 0, 1 }, { 1, 2 }, { 2, 2 }, { 0, 2 } };
  static const char *const SHOW[] = { "second page rewritten by stores + clear_cache", "second page rewritten by stores + fence.i",
                                      "file page MAP_FIXED over the second page" };
  for (size_t s = 0; s < sizeof SS / sizeof SS[0]; s++) {
    int v = SS[s].v;
    if (s > 0) {
      if (SS[s].how == 2) {
        if (mmap(Y + pg, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, (4 + v) * pg) != Y + pg) { printf("MAP_FIXED failed\n"); return; }
      } else {
        mprotect(Y + pg, pg, PROT_READ | PROT_WRITE | PROT_EXEC);
        memcpy(Y + pg, img2[v] + pg, pg);
        if (SS[s].how == 1) fence_i(); else clear_cache(Y + pg, pg);
      }
    }
    printf(" straddling step %zu: %s\n", s, s == 0 ? "initial" : SHOW[SS[s].how]);
    for (int call = 0; call < 2; call++) {
      snprintf(what, sizeof what, "%s %d across the page boundary, call %d", OPNAME[SV[v].op], SV[v].k, call);
      show(what, ((fn1)(Y + start))(N), model_loop(SV[v].op, SV[v].k, SV[v].reps, N));
    }
  }
  munmap(Y, 2 * pg);
  free(buf);
  close(fd);
  unlink(path);
}

int t_jitsmc(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: jitsmc TMPDIR\n"); return 2; }
  pg = sysconf(_SC_PAGESIZE);
  if (pg != 4096) { printf("page size %ld\n", pg); return 1; }
  rewritten();
  self_modifying();
  remapped(argv[1]);
  printf("results differing from the model: %d\n", failures);
  return failures != 0;
}
