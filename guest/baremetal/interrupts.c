/* interrupts: CLINT timer and software interrupts in M, priority, wfi with interrupts globally
 * disabled, delegated supervisor software and timer interrupts, Sstc's stimecmp. */
#include "rt.h"

#define MIP_SSIP (1ul << 1)
#define MIP_MSIP (1ul << 3)
#define MIP_STIP (1ul << 5)
#define MIP_MTIP (1ul << 7)
#define IRQ (1ul << 63)

static volatile u64 order[8];
static volatile u64 norder;

static u64 mtime(void) { return r64(CLINT_MTIME); }
static void timer_off(void) { w64(CLINT_MTIMECMP(0), ~0ul); }

/* M hook: log interrupts and clear their source */
static int m_irq(struct frame *f, u64 cause) {
  (void)f;
  if (!(cause & IRQ)) return 0;
  if (norder < 8) order[norder++] = cause;
  switch (cause & 63) {
    case 3: w32(CLINT_MSIP(0), 0); break;
    case 7: timer_off(); break;
    case 1: csrc(mip, MIP_SSIP); break;
    case 5: csrc(mip, MIP_STIP); csrw(CSR_STIMECMP, ~0ul); break;
    default: csrc(mie, 1ul << (cause & 63)); break;
  }
  return 1;
}

/* S hook: log interrupts and clear them as S can */
static int s_irq(struct frame *f, u64 cause) {
  (void)f;
  if (!(cause & IRQ)) return 0;
  if (norder < 8) order[norder++] = cause;
  switch (cause & 63) {
    case 1: csrc(sip, MIP_SSIP); break;
    case 5: csrc(sie, MIP_STIP); break;
    default: break;
  }
  return 1;
}

static void show_order(const char *name) {
  pr("%s: %d taken:", name, norder);
  for (u64 i = 0; i < norder; i++) pr(" %x", order[i] & 63);
  pr("\n");
}

static void wait_taken(u64 n) {
  for (int i = 0; i < 100000 && norder < n; i++) asm volatile("wfi");
}

static void m_interrupts(void) {
  /* timer: mtimecmp a little ahead, MTIE + MIE, wfi until taken */
  norder = 0;
  w64(CLINT_MTIMECMP(0), mtime() + 2000);
  csrw(mie, MIP_MTIP);
  csrs(mstatus, MSTATUS_MIE);
  wait_taken(1);
  csrc(mstatus, MSTATUS_MIE);
  show_order("M timer");
  pr("timer: mcause=%x mip.MTIP after=%d\n", mt.cause, (csrr(mip) >> 7) & 1);

  /* software interrupt through msip */
  norder = 0;
  w32(CLINT_MSIP(0), 1);
  pr("msip=1: mip.MSIP=%d\n", (csrr(mip) >> 3) & 1);
  csrw(mie, MIP_MSIP);
  csrs(mstatus, MSTATUS_MIE);
  wait_taken(1);
  csrc(mstatus, MSTATUS_MIE);
  show_order("M software");
  pr("msip after handler=%d mip.MSIP=%d\n", r32(CLINT_MSIP(0)), (csrr(mip) >> 3) & 1);

  /* priority among interrupts pending at once. The spec's order is MEI MSI MTI SEI SSI STI;
   * QEMU 7.2 (without AIA) takes the lowest-numbered first, so only pairs where both orders
   * agree are compared: MSI before MTI, SSI before STI (see README) */
  norder = 0;
  w32(CLINT_MSIP(0), 1);
  w64(CLINT_MTIMECMP(0), 0);
  for (int i = 0; i < 1000 && (csrr(mip) & MIP_MTIP) == 0; i++) {}
  pr("pending mip & 0x88 = %x\n", csrr(mip) & 0x88);
  csrw(mie, MIP_MSIP | MIP_MTIP);
  csrs(mstatus, MSTATUS_MIE);
  for (int i = 0; i < 1000 && norder < 2; i++) asm volatile("nop");
  csrc(mstatus, MSTATUS_MIE);
  show_order("priority MSI+MTI");
  norder = 0;
  csrs(mip, MIP_SSIP | MIP_STIP);
  pr("pending mip & 0x22 = %x\n", csrr(mip) & 0x22);
  csrw(mie, MIP_SSIP | MIP_STIP);
  csrs(mstatus, MSTATUS_MIE);
  for (int i = 0; i < 1000 && norder < 2; i++) asm volatile("nop");
  csrc(mstatus, MSTATUS_MIE);
  show_order("priority SSI+STI (to M)");
  csrw(mie, 0);

  /* MTIP and MSIP are read-only in mip */
  timer_off();
  csrs(mip, MIP_MTIP | MIP_MSIP);
  pr("mip write MTIP|MSIP ignored: %x\n", csrr(mip) & (MIP_MTIP | MIP_MSIP));

  /* wfi with MIE=0 wakes on an interrupt enabled in mie and continues after the wfi */
  norder = 0;
  mt.count = 0;
  csrw(mie, MIP_MTIP);
  u64 deadline = mtime() + 5000;
  w64(CLINT_MTIMECMP(0), deadline);
  int spins = 0;
  while ((csrr(mip) & MIP_MTIP) == 0 && spins < 100000) { asm volatile("wfi"); spins++; }
  pr("wfi MIE=0 timer: traps=%d MTIP=%d time>=cmp=%d\n", mt.count, (csrr(mip) >> 7) & 1, mtime() >= deadline);
  timer_off();
  csrw(mie, MIP_MSIP);
  w32(CLINT_MSIP(0), 1);
  asm volatile("wfi");
  pr("wfi MIE=0 msip: traps=%d MSIP=%d\n", mt.count, (csrr(mip) >> 3) & 1);
  w32(CLINT_MSIP(0), 0);
  csrw(mie, 0);
}

/* ---- S level ---- */
static long s_ssi(long arg) {
  (void)arg;
  norder = 0;
  csrs(sie, MIP_SSIP);
  pr("S sip before enabling=%x\n", csrr(sip));
  csrs(sstatus, MSTATUS_SIE);
  for (int i = 0; i < 1000 && norder < 1; i++) asm volatile("nop");
  show_order("S software (set by M)");
  /* S sets SSIP itself through sip */
  norder = 0;
  csrs(sip, MIP_SSIP);
  for (int i = 0; i < 1000 && norder < 1; i++) asm volatile("nop");
  show_order("S software (set by S)");
  pr("scause=%x sip=%x\n", st.cause, csrr(sip));
  csrc(sstatus, MSTATUS_SIE);
  /* sip.SSIP pending with SIE=0 is not taken in S */
  norder = 0;
  csrs(sip, MIP_SSIP);
  for (int i = 0; i < 100; i++) asm volatile("nop");
  show_order("S software SIE=0");
  return 0;
}

static long u_spin(long arg) {
  (void)arg;
  for (int i = 0; i < 1000 && norder < 1; i++) asm volatile("nop");
  return 0;
}

static long s_enable_spin(long arg) {
  (void)arg;
  csrs(sstatus, MSTATUS_SIE);
  for (int i = 0; i < 1000 && norder < 2; i++) asm volatile("nop");
  csrc(sstatus, MSTATUS_SIE);
  return 0;
}

static long s_stip(long arg) {
  (void)arg;
  norder = 0;
  csrs(sie, MIP_STIP);
  csrs(sstatus, MSTATUS_SIE);
  for (int i = 0; i < 1000 && norder < 1; i++) asm volatile("nop");
  csrc(sstatus, MSTATUS_SIE);
  csrc(sie, MIP_STIP);
  show_order("S timer via mip.STIP");
  TRY("S write sip.STIP", "li t0, 0x20\n csrs sip, t0");
  return 0;
}

static long s_sstc(long arg) {
  (void)arg;
  norder = 0;
  u64 now = csrr(time);
  csrw(CSR_STIMECMP, now + 1000000); // 100 ms at 10 MHz: no host pause between the two reads reaches it
  pr("S stimecmp readback ok: %d, STIP now=%d\n", csrr(CSR_STIMECMP) == now + 1000000, (csrr(sip) >> 5) & 1);
  csrs(sie, MIP_STIP);
  csrs(sstatus, MSTATUS_SIE);
  for (int i = 0; i < 100000 && norder < 1; i++) asm volatile("wfi");
  csrc(sstatus, MSTATUS_SIE);
  show_order("S Sstc timer");
  pr("scause=%x STIP=%d\n", st.cause, (csrr(sip) >> 5) & 1);
  csrw(CSR_STIMECMP, ~0ul);
  pr("after stimecmp=-1: STIP=%d\n", (csrr(sip) >> 5) & 1);
  return 0;
}

static long s_stimecmp_access(long arg) {
  (void)arg;
  TRY("S read stimecmp", "csrr t0, 0x14d");
  return 0;
}

static int s_irq_stip(struct frame *f, u64 cause) {
  (void)f;
  if (!(cause & IRQ)) return 0;
  if (norder < 8) order[norder++] = cause;
  if ((cause & 63) == 5) csrw(CSR_STIMECMP, ~0ul);
  else if ((cause & 63) == 1) csrc(sip, MIP_SSIP);
  return 1;
}

static void s_interrupts(void) {
  s_hook = s_irq;
  /* delegated SSI, set by M before entering S */
  csrw(mideleg, MIP_SSIP | MIP_STIP);
  csrs(mip, MIP_SSIP);
  run_in(1, s_ssi, 0);
  csrc(mip, MIP_SSIP);
  /* an SSI pending while in U is taken in S whatever sstatus.SIE */
  norder = 0;
  csrc(mstatus, MSTATUS_SIE);
  csrw(mie, MIP_SSIP);
  csrs(mip, MIP_SSIP);
  run_in(0, u_spin, 0);
  show_order("SSI in U (SIE=0)");
  csrc(mip, MIP_SSIP);
  /* an M-level interrupt is taken while in S even with mstatus.MIE=0 */
  norder = 0;
  csrw(mie, MIP_MSIP);
  csrc(mstatus, MSTATUS_MIE);
  w32(CLINT_MSIP(0), 1);
  run_in(1, u_spin, 0);
  show_order("MSI in S (MIE=0)");
  pr("  trap MPP=%d\n", (mt.status >> 11) & 3);
  csrw(mie, 0);
  /* in S, a pending M-level interrupt (to M) comes before a delegated S-level one (to S) */
  norder = 0;
  csrw(mie, MIP_MSIP | MIP_SSIP);
  w32(CLINT_MSIP(0), 1);
  csrs(mip, MIP_SSIP);
  run_in(1, s_enable_spin, 0);
  show_order("MSI + delegated SSI in S");
  csrw(mie, 0);
  csrc(mip, MIP_SSIP);
  /* supervisor timer via mip.STIP written by M (menvcfg.STCE=0) */
  csrw(CSR_MENVCFG, 0);
  csrs(mip, MIP_STIP);
  run_in(1, s_stip, 0);
  csrc(mip, MIP_STIP);
  pr("mip.STIP cleared by M: %d\n", (csrr(mip) >> 5) & 1);

  /* Sstc */
  csrw(mcounteren, 0);
  run_in(1, s_stimecmp_access, 0);
  csrw(mcounteren, 2);
  run_in(1, s_stimecmp_access, 0);
  csrw(CSR_MENVCFG, 1ul << 63);
  pr("menvcfg.STCE=%d\n", csrr(CSR_MENVCFG) >> 63);
  csrw(mcounteren, 0);
  run_in(1, s_stimecmp_access, 0);
  csrw(mcounteren, 2);
  csrw(CSR_STIMECMP, ~0ul);
  csrs(mip, MIP_STIP);
  pr("STCE=1: mip.STIP not writable by M: %d\n", (csrr(mip) >> 5) & 1);
  s_hook = s_irq_stip;
  run_in(1, s_sstc, 0);
  csrw(mideleg, 0);
  /* not delegated: STIP from stimecmp goes to M */
  norder = 0;
  m_hook = m_irq;
  csrw(mie, MIP_STIP);
  csrw(CSR_STIMECMP, 0);
  pr("stimecmp=0: mip.STIP=%d\n", (csrr(mip) >> 5) & 1);
  csrs(mstatus, MSTATUS_MIE);
  for (int i = 0; i < 100 && norder < 1; i++) asm volatile("nop");
  csrc(mstatus, MSTATUS_MIE);
  csrw(CSR_STIMECMP, ~0ul);
  csrw(mie, 0);
  show_order("STI (Sstc) not delegated, in M");
  csrw(CSR_MENVCFG, 0);
  s_hook = 0;
}

void main(u64 hartid, u64 fdt) {
  (void)hartid; (void)fdt;
  timer_off();
  m_hook = m_irq;
  m_interrupts();
  s_interrupts();
  m_hook = 0;
}
