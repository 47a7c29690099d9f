#include "rt.h"
static long ufn(long x) { asm volatile("ecall"); return x + 1; }
void main(u64 hartid, u64 fdt) {
  (void)fdt;
  pr("hello hart %d misa=%x\n", hartid, csrr(misa));
  reset_traps();
  long r = run_in(0, ufn, 41);
  pr("r=%d\n", r);
  show_m("ecall-u");
}
