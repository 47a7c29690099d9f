/* smp (2 harts): IPIs through the CLINT's msip with wfi, per-hart timers, AMO and LR/SC
 * contention. Output order is fixed by a turn variable. */
#include "rt.h"

static volatile u32 turn;
static volatile u32 counter, lrsc_counter, arrived;

static void wait_turn(u32 t) { while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != t) {} }
static void set_turn(u32 t) { __atomic_store_n(&turn, t, __ATOMIC_RELEASE); }

static void wait_mip(u64 bit) {
  for (long i = 0; i < 10000000 && (csrr(mip) & bit) == 0; i++) asm volatile("wfi");
}

static void barrier(u32 n) {
  __atomic_fetch_add(&arrived, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < n) {}
}

static void contend(void) {
  for (int i = 0; i < 5000; i++) __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 2000; i++) {
    u32 v, fail;
    do {
      asm volatile("lr.w %0, (%2)\n addiw %0, %0, 1\n sc.w %1, %0, (%2)"
                   : "=&r"(v), "=&r"(fail) : "r"(&lrsc_counter) : "memory");
    } while (fail);
  }
}

static void hart0(void) {
  w64(CLINT_MTIMECMP(0), ~0ul);
  wait_turn(0);
  pr("hart 0: mhartid=%d a0 ok\n", csrr(mhartid));
  set_turn(1);
  wait_turn(2);
  pr("hart 0: sending IPI to hart 1\n");
  w32(CLINT_MSIP(1), 1);
  set_turn(3);
  wait_turn(4);
  pr("hart 0: waiting for IPI from hart 1\n");
  csrw(mie, 1ul << 3);
  set_turn(5);
  wait_mip(1ul << 3);
  wait_turn(6);
  pr("hart 0: woke, mip.MSIP=%d msip[0]=%d\n", (csrr(mip) >> 3) & 1, r32(CLINT_MSIP(0)));
  w32(CLINT_MSIP(0), 0);
  csrw(mie, 0);
  pr("hart 0: cleared, mip.MSIP=%d\n", (csrr(mip) >> 3) & 1);
  set_turn(7);
  wait_turn(8);
  pr("hart 0: mip.MTIP=%d (own mtimecmp is far)\n", (csrr(mip) >> 7) & 1);
  set_turn(9);
  contend();
  barrier(2);
  wait_turn(10);
  pr("hart 0: amoadd counter=%d lr/sc counter=%d\n", counter, lrsc_counter);
}

static void hart1(void) {
  wait_turn(1);
  pr("hart 1: mhartid=%d, waiting in wfi for an IPI\n", csrr(mhartid));
  csrw(mie, 1ul << 3); /* MIE stays 0: wfi wakes, no trap */
  set_turn(2);
  wait_mip(1ul << 3);
  wait_turn(3);
  pr("hart 1: woke, mip.MSIP=%d msip[1]=%d\n", (csrr(mip) >> 3) & 1, r32(CLINT_MSIP(1)));
  w32(CLINT_MSIP(1), 0);
  pr("hart 1: cleared, mip.MSIP=%d; sending IPI to hart 0\n", (csrr(mip) >> 3) & 1);
  set_turn(4);
  wait_turn(5);
  w32(CLINT_MSIP(0), 1);
  set_turn(6);
  wait_turn(7);
  w64(CLINT_MTIMECMP(1), r64(CLINT_MTIME) + 2000);
  csrw(mie, 1ul << 7);
  wait_mip(1ul << 7);
  pr("hart 1: timer fired, mip.MTIP=%d\n", (csrr(mip) >> 7) & 1);
  w64(CLINT_MTIMECMP(1), ~0ul);
  pr("hart 1: mtimecmp[1] far, mip.MTIP=%d\n", (csrr(mip) >> 7) & 1);
  csrw(mie, 0);
  set_turn(8);
  wait_turn(9);
  contend();
  barrier(2);
  set_turn(10);
}

void main(u64 hartid, u64 fdt) {
  (void)fdt;
  if (hartid != csrr(mhartid)) { pr("a0 != mhartid\n"); fail(2); }
  if (hartid == 0) hart0();
  else if (hartid == 1) hart1();
}
