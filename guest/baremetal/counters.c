/* counters/misc: fcsr/frm/fflags, mstatus.FS and SD, counter gating with mcounteren and
 * scounteren, LR/SC and AMOs, fence.i after writing code. */
#include "rt.h"

static void fp(void) {
  csrs(mstatus, MSTATUS_FS);
  csrw(fcsr, ~0ul);
  pr("fcsr all ones -> fcsr=%x frm=%x fflags=%x\n", csrr(fcsr), csrr(frm), csrr(fflags));
  csrw(frm, 2);
  pr("frm=2 -> fcsr=%x\n", csrr(fcsr));
  csrw(fflags, 0x5);
  pr("fflags=5 -> fcsr=%x\n", csrr(fcsr));
  csrw(fcsr, 0);
  u64 r;
  asm volatile("li t0, 1\n fcvt.d.l ft0, t0\n li t0, 3\n fcvt.d.l ft1, t0\n fdiv.d ft2, ft0, ft1\n fmv.x.d %0, ft2"
               : "=r"(r) :: "t0", "ft0", "ft1", "ft2");
  pr("1/3 = %x fflags=%x\n", r, csrr(fflags));

  /* FS = Off: FP instructions and FP CSRs are illegal */
  csrc(mstatus, MSTATUS_FS);
  u64 s = csrr(mstatus);
  pr("FS=0: FS=%d SD=%d\n", (s >> 13) & 3, s >> 63);
  TRY("FS=0 fadd.d", "fadd.d ft0, ft0, ft0");
  TRY("FS=0 fmv.x.d", "fmv.x.d t0, ft0");
  TRY("FS=0 fld", "fld ft0, 0(sp)");
  TRY("FS=0 csrr fcsr", "csrr t0, fcsr");
  TRY("FS=0 csrw frm", "csrwi frm, 1");
  TRY("FS=0 csrr fflags", "csrr t0, fflags");
  /* FS = Initial, then an FP op makes it Dirty and sets SD */
  csrs(mstatus, 1ul << 13);
  s = csrr(mstatus);
  pr("FS=1: FS=%d SD=%d\n", (s >> 13) & 3, s >> 63);
  asm volatile("fadd.d ft0, ft0, ft0" ::: "ft0");
  s = csrr(mstatus);
  pr("after fadd.d: FS=%d SD=%d sstatus.SD=%d\n", (s >> 13) & 3, s >> 63, csrr(sstatus) >> 63);
  csrc(mstatus, MSTATUS_FS);
  csrs(mstatus, 2ul << 13);
  csrw(fflags, 1);
  s = csrr(mstatus);
  pr("FS=2 then csrw fflags: FS=%d SD=%d\n", (s >> 13) & 3, s >> 63);
  csrc(mstatus, MSTATUS_FS);
  csrs(mstatus, 1ul << 13);
  asm volatile("li t0, 0x3ff0000000000000\n fmv.d.x ft3, t0" ::: "t0", "ft3");
  s = csrr(mstatus);
  pr("FS=1 then fmv.d.x: FS=%d\n", (s >> 13) & 3);
}

static long read_counters(long arg) {
  (void)arg;
  TRY("rdcycle", "rdcycle t0");
  TRY("rdtime", "rdtime t0");
  TRY("rdinstret", "rdinstret t0");
  TRY("hpmcounter3", "csrr t0, hpmcounter3");
  return 0;
}

static void counters(void) {
  csrw(mcounteren, ~0ul);
  pr("mcounteren all ones & 7 = %x\n", csrr(mcounteren) & 7);
  csrw(scounteren, ~0ul);
  pr("scounteren all ones & 7 = %x\n", csrr(scounteren) & 7);
  struct { u64 m, s; } cases[] = { { 0, 0 }, { 7, 0 }, { 7, 7 }, { 2, 7 }, { 5, 2 }, { 0xf, 0xf } };
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    csrw(mcounteren, cases[i].m);
    csrw(scounteren, cases[i].s);
    pr("-- mcounteren=%x scounteren=%x: S\n", cases[i].m, cases[i].s);
    run_in(1, read_counters, 0);
    pr("-- U\n");
    run_in(0, read_counters, 0);
  }
  csrw(mcounteren, 0);
  csrw(scounteren, 0);
  /* M always reads them; time follows the CLINT's mtime; minstret is writable */
  u64 t0 = r64(CLINT_MTIME);
  u64 t = csrr(time);
  u64 t1 = r64(CLINT_MTIME);
  pr("mtime <= time <= mtime: %d\n", t0 <= t && t <= t1);
  u64 c0 = csrr(cycle), c1 = csrr(cycle);
  pr("cycle monotonic: %d\n", c1 >= c0);
  csrw(minstret, 1000000);
  u64 n = csrr(minstret);
  pr("minstret after write 1000000: in [1000000, 1000100): %d\n", n >= 1000000 && n < 1000100);
  csrw(minstret, 1000000);
  csrw(mcycle, 5);
  n = csrr(minstret);
  pr("minstret unchanged by an mcycle write: %d\n", n >= 1000000 && n < 1000100);
  csrw(mcountinhibit, 4);
  u64 a = csrr(minstret);
  asm volatile("nop\n nop\n nop\n nop");
  u64 b = csrr(minstret);
  csrw(mcountinhibit, 0);
  pr("mcountinhibit.IR stops minstret: %d\n", a == b);
  u64 i0 = csrr(instret);
  asm volatile("nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop");
  u64 i1 = csrr(instret);
  pr("instret over 10 nops: >= 11 and < 20: %d\n", i1 - i0 >= 11 && i1 - i0 < 20);
}

static u64 cell[4] __attribute__((aligned(16)));

static void atomics(void) {
  u64 v, ok, old;
  cell[0] = 5;
  asm volatile("lr.d %0, (%2)\n addi %0, %0, 1\n sc.d %1, %0, (%2)" : "=&r"(v), "=&r"(ok) : "r"(&cell[0]) : "memory");
  pr("lr/sc.d: sc=%d cell=%d\n", ok, cell[0]);
  asm volatile("sc.d %0, %1, (%2)" : "=&r"(ok) : "r"(99ul), "r"(&cell[0]) : "memory");
  pr("sc.d without reservation: %s cell=%d\n", ok ? "failed" : "succeeded", cell[0]);
  u32 *w = (u32 *)&cell[1];
  w[0] = 0x80000000u;
  asm volatile("lr.w %0, (%2)\n sc.w %1, %0, (%2)" : "=&r"(v), "=&r"(ok) : "r"(w) : "memory");
  pr("lr.w sign-extends: %x sc=%d\n", v, ok);
  /* AMOs: the old value (sign-extended for .w) and the new memory word */
#define AMO(op, init, src) do {                                                        \
    cell[2] = (init);                                                                 \
    asm volatile(op " %0, %1, (%2)" : "=r"(old) : "r"((u64)(src)), "r"(&cell[2]) : "memory"); \
    pr("%s %x,%x: old=%x mem=%x\n", op, (u64)(init), (u64)(src), old, cell[2]);       \
  } while (0)
  AMO("amoswap.d", 1, 2);
  AMO("amoadd.d", 0xffffffffffffffff, 2);
  AMO("amoxor.d", 0xff00, 0x0ff0);
  AMO("amoand.d", 0xff00, 0x0ff0);
  AMO("amoor.d", 0xff00, 0x0ff0);
  AMO("amomin.d", 5, -3);
  AMO("amomax.d", 5, -3);
  AMO("amominu.d", 5, -3);
  AMO("amomaxu.d", 5, -3);
  AMO("amoadd.w", 0x123456787fffffff, 1);
  AMO("amoswap.w", 0x1111111180000000, 7);
  AMO("amomin.w", 0x0000000080000000, 1);
  AMO("amomaxu.w", 0x0000000080000000, 1);
  AMO("amoxor.w", 0xaaaaaaaa0000ffff, 0xffffffff);
}

static u32 codebuf[16] __attribute__((aligned(64)));

static void fencei(void) {
  long (*fn)(void) = (long (*)(void))codebuf;
  codebuf[0] = 0x00100513; /* li a0, 1 */
  codebuf[1] = 0x00008067; /* ret */
  asm volatile("fence.i" ::: "memory");
  long a = fn();
  codebuf[0] = 0x02a00513; /* li a0, 42 */
  asm volatile("fence.i" ::: "memory");
  long b = fn();
  pr("fence.i: first=%d second=%d\n", a, b);
}

void main(u64 hartid, u64 fdt) {
  (void)hartid; (void)fdt;
  fp();
  csrs(mstatus, 1ul << 13);
  counters();
  atomics();
  fencei();
}
