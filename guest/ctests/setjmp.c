// setjmp/longjmp and sigsetjmp/siglongjmp: control transfer across frames, preservation of
// callee-saved integer and FP registers, signal mask restore.
#include <stdio.h>
#include <setjmp.h>
#include <signal.h>
#include "ctest.h"

static jmp_buf jb;
static sigjmp_buf sjb;
static int depth_reached;

static void __attribute__((noinline)) dive(int n) {
  volatile char pad[64]; pad[0] = (char)n; (void)pad;
  if (n == 0) longjmp(jb, 7);
  depth_reached = n;
  dive(n - 1);
}
static double __attribute__((noinline)) fpwork(double x) {
  // uses many FP registers; the caller keeps values in callee-saved fs registers across setjmp
  double a = x * 1.5, b = x + 2.25, c = a * b, d = c - x, e = d / 3, f = e * e;
  if (x > 1e300) longjmp(jb, 1);
  return a + b + c + d + e + f;
}

int t_setjmp(int argc, char **argv) {
  (void)argv;
  volatile int count = 0;
  int r = setjmp(jb);
  count++;
  if (count < 5) longjmp(jb, count);
  printf("loop: setjmp returned %d after %d passes\n", r, count);

  r = setjmp(jb);
  if (r == 0) dive(20);
  printf("dive: returned %d, depth %d\n", r, depth_reached);

  r = setjmp(jb);
  if (r == 0) longjmp(jb, 0);
  printf("longjmp(…, 0) makes setjmp return %d\n", r);

  // callee-saved registers: values computed before setjmp and live after it
  register long s1 = argc * 1111L, s2 = argc * 2222L, s3 = argc * 3333L;
  register double f1 = argc * 0.5, f2 = argc * 0.25, f3 = argc * 0.125;
  volatile double acc = 0;
  r = setjmp(jb);
  if (r == 0) { acc = fpwork(2.0); fpwork(1e301); }
  printf("after longjmp from deep FP code: %ld %ld %ld %g %g %g acc %g\n", s1, s2, s3, f1, f2, f3, acc);

  // sigsetjmp with mask saving
  sigset_t set, cur;
  sigemptyset(&set);
  if (sigsetjmp(sjb, 1) == 0) {
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("blocked before siglongjmp: %d\n", sigismember(&cur, SIGUSR1));
    siglongjmp(sjb, 1);
  }
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("blocked after siglongjmp (savemask=1): %d\n", sigismember(&cur, SIGUSR1));
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (sigsetjmp(sjb, 0) == 0) {
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    siglongjmp(sjb, 1);
  }
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("blocked after siglongjmp (savemask=0): %d\n", sigismember(&cur, SIGUSR1));
  return 0;
}
