// Code generated at run time (what JITs do): RWX and W^X (mprotect) mappings, re-patching hot code
// followed by fence.i (__builtin___clear_cache), compressed instructions, code that patches the
// instruction right after its own fence.i, and a jump into a non-executable mapping (SIGSEGV).
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <setjmp.h>
#include <sys/mman.h>
#include "ctest.h"

// RV64 encoders (only what this test needs)
static uint32_t itype(int imm, int rs1, int f3, int rd, int op) { return ((uint32_t)(imm & 0xfff) << 20) | (uint32_t)rs1 << 15 | (uint32_t)f3 << 12 | (uint32_t)rd << 7 | (uint32_t)op; }
static uint32_t addi(int rd, int rs1, int imm) { return itype(imm, rs1, 0, rd, 0x13); }
static uint32_t add(int rd, int rs1, int rs2) { return (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | (uint32_t)rd << 7 | 0x33; }
static uint32_t bne(int rs1, int rs2, int off) { // B-type
  uint32_t o = (uint32_t)off;
  return ((o >> 12) & 1) << 31 | ((o >> 5) & 0x3f) << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | 1 << 12 |
         ((o >> 1) & 0xf) << 8 | ((o >> 11) & 1) << 7 | 0x63;
}
static uint32_t sw(int rs2, int rs1, int off) {
  return ((uint32_t)(off >> 5) & 0x7f) << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | 2 << 12 | ((uint32_t)off & 0x1f) << 7 | 0x23;
}
static const uint32_t RET = 0x00008067, FENCE_I = 0x0000100f;
static uint16_t c_li(int rd, int imm) { return (uint16_t)(0x4001 | ((imm >> 5) & 1) << 12 | rd << 7 | (imm & 0x1f) << 2); }
static const uint16_t C_JR_RA = 0x8082;
enum { ZERO = 0, RA = 1, T0 = 5, T1 = 6, A0 = 10, A1 = 11 };

typedef long (*fn0)(void);
typedef long (*fn1)(long);
typedef long (*fn2)(long, long);

static sigjmp_buf jb;
static volatile unsigned long fault_addr; static volatile int fault_sig, fault_code;
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc; fault_sig = sig; fault_code = si->si_code; fault_addr = (unsigned long)si->si_addr;
  siglongjmp(jb, 1);
}

int t_jit(int argc, char **argv) {
  (void)argc; (void)argv;
  long pg = 4096;
  uint32_t *code = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { printf("mmap RWX failed\n"); return 1; }
  // 1. patch a hot function 2000 times
  long sum = 0; int bad = 0;
  for (int i = 0; i < 2000; i++) {
    int v = (i * 37) % 4096 - 2048;
    code[0] = addi(A0, ZERO, v); code[1] = RET;
    __builtin___clear_cache((char *)code, (char *)(code + 2));
    for (int k = 0; k < 3; k++) { long r = ((fn0)code)(); if (r != v) bad++; sum += r; }
  }
  printf("re-patched function: 6000 calls, wrong results %d, sum %ld\n", bad, sum);
  // 2. a generated loop (sum of 1..n) whose increment is patched between runs
  uint32_t *lp = code + 64;
  // a0 = n; t0 = 0 (acc); t1 = 0 (i); loop: t1 += 1; t0 += t1 * STEP (add STEP times); bne t1, a0, loop; a0 = t0; ret
  int step = 1;
  for (int round = 0; round < 5; round++, step++) {
    int k = 0;
    lp[k++] = addi(T0, ZERO, 0);
    lp[k++] = addi(T1, ZERO, 0);
    int loop = k;
    lp[k++] = addi(T1, T1, 1);
    for (int s = 0; s < step; s++) lp[k++] = add(T0, T0, T1);
    lp[k] = bne(T1, A0, (loop - k) * 4); k++;
    lp[k++] = addi(A0, T0, 0);
    lp[k++] = RET;
    __builtin___clear_cache((char *)lp, (char *)(lp + k));
    long r = ((fn1)lp)(1000);
    printf("generated loop, step %d: %ld (expect %ld)\n", step, r, (long)step * 1000 * 1001 / 2);
  }
  // 3. compressed instructions at a 2-byte-aligned address
  uint16_t *h = (uint16_t *)(code + 200) + 1;
  for (int v = -32; v < 32; v += 9) {
    h[0] = c_li(A0, v); h[1] = C_JR_RA;
    __builtin___clear_cache((char *)h, (char *)(h + 2));
    printf("c.li a0, %d; c.jr ra -> %ld\n", v, ((fn0)h)());
  }
  // 4. code that rewrites the instruction right after its own fence.i
  //    sw a1, 8(a0) ; fence.i ; <placeholder: addi a0, zero, -1> ; ret
  uint32_t *sm = code + 300;
  sm[0] = sw(A1, A0, 8); sm[1] = FENCE_I; sm[2] = addi(A0, ZERO, -1); sm[3] = RET;
  __builtin___clear_cache((char *)sm, (char *)(sm + 4));
  for (int v = 1; v <= 3; v++) {
    long r = ((fn2)sm)((long)sm, (long)addi(A0, ZERO, 100 * v));
    printf("self-patching code returned %ld (expect %d)\n", r, 100 * v);
  }
  // 5. a function that straddles a page boundary (4-byte instruction split across pages)
  uint16_t *st = (uint16_t *)((char *)code + pg - 2);
  uint32_t ins = addi(A0, ZERO, 1234);
  st[0] = (uint16_t)ins; st[1] = (uint16_t)(ins >> 16); st[2] = (uint16_t)RET; st[3] = (uint16_t)(RET >> 16);
  __builtin___clear_cache((char *)st, (char *)(st + 4));
  printf("instruction across a page boundary: %ld\n", ((fn0)st)());
  munmap(code, 2 * pg);

  // 6. W^X: write with RW, run with RX, patch again
  uint32_t *wx = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_fault; sa.sa_flags = SA_SIGINFO; sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  wx[0] = addi(A0, ZERO, 7); wx[1] = RET;
  if (sigsetjmp(jb, 1) == 0) {
    long r = ((fn0)wx)();
    printf("executed a non-executable page?! %ld\n", r);
  } else {
    printf("jump into RW (no exec) page: signal %d code %d (SEGV_ACCERR %d) at the code address %d\n", fault_sig, fault_code,
           SEGV_ACCERR, fault_addr == (unsigned long)wx);
  }
  mprotect(wx, pg, PROT_READ | PROT_EXEC);
  __builtin___clear_cache((char *)wx, (char *)(wx + 2));
  printf("after mprotect RX: %ld\n", ((fn0)wx)());
  if (sigsetjmp(jb, 1) == 0) { wx[0] = 0; printf("wrote to an RX page?!\n"); }
  else printf("write to RX page: signal %d code %d\n", fault_sig, fault_code);
  mprotect(wx, pg, PROT_READ | PROT_WRITE);
  wx[0] = addi(A0, ZERO, 8);
  mprotect(wx, pg, PROT_READ | PROT_EXEC);
  __builtin___clear_cache((char *)wx, (char *)(wx + 2));
  printf("re-patched through mprotect: %ld\n", ((fn0)wx)());
  munmap(wx, pg);
  return 0;
}
