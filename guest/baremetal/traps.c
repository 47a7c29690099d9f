/* traps: M-mode trap entry (direct and vectored mtvec), exception causes and mepc/mtval,
 * mret to S and U, mstatus MPIE/MIE/MPP transitions, CSR privilege and read-only rules. */
#include "rt.h"

static void ident(void) {
  u64 misa = csrr(misa);
  pr("misa=%x mxl=%d\n", misa, misa >> 62);
  pr("misa IMAFDCSU=%x\n", misa & 0x14112d);
  pr("mhartid=%x mvendorid=%x mconfigptr=%x\n", csrr(mhartid), csrr(mvendorid), csrr(0xf15));
  u64 x = csrr(marchid) | csrr(mimpid);
  (void)x;
  pr("marchid/mimpid readable\n");
  TRY("write mvendorid", "csrw mvendorid, zero");
  TRY("write mhartid", "csrrwi zero, mhartid, 0");
  TRY("csrrs mhartid x0", "csrrs t0, mhartid, zero");
  TRY("csrrsi mhartid 0", "csrrsi t0, mhartid, 0");
  TRY("csrrci mhartid 1", "csrrci t0, mhartid, 1");
  TRY("write cycle", "csrw cycle, zero");
  TRY("write time", "csrrw zero, time, t0");
  TRY("read cycle", "csrr t0, cycle");
}

static void tvec(void) {
  u64 old = csrr(mtvec);
  csrw(mtvec, (u64)m_trap_entry);
  pr("mtvec direct readback=%s\n", csrr(mtvec) == (u64)m_trap_entry ? "same" : "diff");
  csrw(mtvec, (u64)m_vec_table | 1);
  pr("mtvec vectored readback=%s\n", csrr(mtvec) == ((u64)m_vec_table | 1) ? "same" : "diff");
  /* An exception goes to the base even in vectored mode. */
  vec_slot = 99;
  TRY("vectored ecall", "ecall");
  pr("vectored ecall slot=%d\n", vec_slot);
  /* A machine software interrupt goes to base + 4*3. */
  vec_slot = 99;
  reset_traps();
  w32(CLINT_MSIP(0), 1);
  csrw(mie, 1ul << 3);
  csrs(mstatus, MSTATUS_MIE);
  for (int i = 0; i < 1000 && mt.count == 0; i++) asm volatile("nop");
  csrc(mstatus, MSTATUS_MIE);
  w32(CLINT_MSIP(0), 0);
  csrw(mie, 0);
  pr("vectored msi: n=%d cause=%x slot=%d\n", mt.count, mt.cause, vec_slot);
  csrw(mtvec, old);
}

static void exceptions(void) {
  TRY("illegal custom-0", ".word 0x0000000b");
  TRY("illegal unimp", "unimp");
  /* 16-bit reserved encoding c.addi4spn with nzuimm=0: a 2-byte illegal instruction */
  m_skip_len = 2;
  reset_traps();
  {
    u64 pc_;
    asm volatile("1: .half 0x0004\n lla %0, 1b" : "=&r"(pc_) :: "memory");
    report("illegal c.addi4spn 0", pc_);
  }
  m_skip_len = 4;
  reset_traps();
  {
    u64 pc_;
    asm volatile(NORVC("1: ebreak\n lla %0, 1b") : "=&r"(pc_) :: "memory");
    pr("ebreak: n=%d cause=%x epc=%s tval=%s\n", mt.count, mt.cause, mt.epc == pc_ ? "ok" : "bad",
       mt.tval == 0 || mt.tval == pc_ ? "0-or-pc" : "other");
  }
  TRY("ecall M", "ecall");
  /* jalr clears bit 0 of the target: jumping to an odd address runs the instruction below it */
  reset_traps();
  {
    u64 r = 0;
    asm volatile(NORVC("lla t0, 2f\n addi t0, t0, 1\n li %0, 1\n jalr t1, t0, 0\n li %0, 2\n 2: addi %0, %0, 10")
                 : "=&r"(r) :: "t0", "t1", "memory");
    pr("jalr odd target: r=%d traps=%d\n", r, mt.count);
  }
  /* access faults on unmapped physical addresses */
  TRY2("load 0x0", "li t0, 0", "ld t1, 0(t0)");
  TRY2("store 0x0", "li t0, 0", "sd t1, 0(t0)");
  TRY2("load 0x200000", "li t0, 0x200000", "lw t1, 0(t0)");
  TRY2("store 0x200000", "li t0, 0x200000", "sw t1, 0(t0)");
  TRY2("load 0x1000000000", "li t0, 0x1000000000", "lb t1, 0(t0)");
  /* An AMO is a store/AMO operation: cause 7 by the spec; QEMU 7.2 reports 5 (see README) */
  reset_traps();
  asm volatile(NORVC("li t0, 0\n amoadd.w t1, t1, (t0)") ::: "t0", "t1", "memory");
  pr("amo 0x0: n=%d cause=%s tval=%x\n", mt.count, mt.cause == 5 || mt.cause == 7 ? "access-fault" : "other", mt.tval);
  TRY2("lr 0x0", "li t0, 0", "lr.d t1, (t0)");
  /* instruction access fault: jump to 0x0, the handler resumes at ra */
  reset_traps();
  asm volatile("li t0, 0\n jalr ra, t0, 0" ::: "t0", "ra", "memory");
  pr("fetch 0x0: n=%d cause=%x tval=%x epc=%x\n", mt.count, mt.cause, mt.tval, mt.epc);
  reset_traps();
  asm volatile("li t0, 0x1000000000\n jalr ra, t0, 0" ::: "t0", "ra", "memory");
  pr("fetch 0x1000000000: n=%d cause=%x tval=%x epc=%x\n", mt.count, mt.cause, mt.tval, mt.epc);
  /* misaligned LR/SC/AMO must trap (address-misaligned or access fault) */
  static u64 buf[4];
  u64 a = (u64)buf + 2;
  reset_traps();
  asm volatile(NORVC("lr.w t0, (%0)") :: "r"(a) : "t0", "memory");
  pr("lr.w misaligned: n=%d cause=%s tval=%s\n", mt.count, mt.cause == 4 || mt.cause == 5 ? "4-or-5" : "other", mt.tval == a ? "addr" : "other");
  reset_traps();
  asm volatile(NORVC("amoadd.w t0, t0, (%0)") :: "r"(a) : "t0", "memory");
  pr("amoadd.w misaligned: n=%d cause=%s tval=%s\n", mt.count, mt.cause >= 4 && mt.cause <= 7 ? "misaligned-or-access" : "other", mt.tval == a ? "addr" : "other");
  /* mepc ignores bit 0 (IALIGN=16) */
  u64 oldepc = csrr(mepc);
  csrw(mepc, 0x80001235ul);
  /* mepc[0] is always zero (IALIGN=16); QEMU 7.2 keeps bit 0 (see README): print it masked */
  pr("mepc write 0x80001235 -> %x (bit 0 masked)\n", csrr(mepc) & ~1ul);
  csrw(mepc, 0x80001236ul);
  pr("mepc write 0x80001236 -> %x\n", csrr(mepc));
  csrw(mepc, oldepc);
  csrw(mscratch, 0x123456789abcdef0ul);
  pr("mscratch=%x\n", csrr(mscratch));
  /* stack trap pointer is mscratch in this runtime: put it back */
  extern char __tstacks_end[];
  csrw(mscratch, (u64)__tstacks_end);
}

static void unimplemented(void) {
  TRY("csr 0x7c0", "csrr t0, 0x7c0");
  TRY("csr 0x800", "csrr t0, 0x800");
  TRY("csr 0x7b0 dcsr", "csrr t0, 0x7b0");
  TRY("csr 0x600 hstatus", "csrr t0, 0x600");
  TRY("csr 0x5c0", "csrw 0x5c0, t0");
  TRY("csr 0xfc0", "csrr t0, 0xfc0");
}

/* ---- lower modes ---- */
static long u_body(long arg) {
  TRY("U ecall", "ecall");
  TRY("U read mstatus", "csrr t0, mstatus");
  TRY("U read sstatus", "csrr t0, sstatus");
  TRY("U write sscratch", "csrw sscratch, t0");
  TRY("U mret", "mret");
  TRY("U sret", "sret");
  TRY("U read mhartid", "csrr t0, mhartid");
  return arg + 1;
}

static long s_body(long arg) {
  TRY("S ecall", "ecall");
  TRY("S read mstatus", "csrr t0, mstatus");
  TRY("S write mscratch", "csrw mscratch, t0");
  TRY("S read mhartid", "csrr t0, mhartid");
  TRY("S read sstatus", "csrr t0, sstatus");
  TRY("S mret", "mret");
  TRY("S read satp", "csrr t0, satp");
  return arg + 2;
}

static long s_tsr_body(long arg) {
  (void)arg;
  TRY("S sret TSR=1", "sret");
  TRY("S sfence.vma TVM=1", "sfence.vma");
  TRY("S read satp TVM=1", "csrr t0, satp");
  TRY("S wfi TW=1", "wfi");
  return 0;
}

static long s_where(long arg) {
  (void)arg;
  /* only U traps on sstatus access; S reads it */
  u64 s = csrr(sstatus);
  return (long)(s & (MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE));
}

static void modes(void) {
  long r;
  reset_traps();
  r = run_in(0, u_body, 10);
  pr("U returned %d\n", r);
  r = run_in(1, s_body, 10);
  pr("S returned %d\n", r);

  /* mret transitions: MIE <- MPIE, MPIE <- 1, MPP <- U (least-privileged mode) */
  u64 s;
  csrc(mstatus, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP);
  csrs(mstatus, MSTATUS_MPIE | (3ul << 11));
  asm volatile(NORVC("lla t0, 1f\n csrw mepc, t0\n mret\n 1: nop") ::: "t0", "memory");
  s = csrr(mstatus);
  pr("mret M->M MPIE=1: MIE=%d MPIE=%d MPP=%d\n", (s >> 3) & 1, (s >> 7) & 1, (s >> 11) & 3);
  csrc(mstatus, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP);
  csrs(mstatus, 3ul << 11);
  asm volatile(NORVC("lla t0, 1f\n csrw mepc, t0\n mret\n 1: nop") ::: "t0", "memory");
  s = csrr(mstatus);
  pr("mret M->M MPIE=0: MIE=%d MPIE=%d MPP=%d\n", (s >> 3) & 1, (s >> 7) & 1, (s >> 11) & 3);
  /* mret to S with MPRV=1 clears MPRV; the trap back (ecall) records MPP=S and MPIE=MIE */
  csrc(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
  csrs(mstatus, MSTATUS_MPRV | MSTATUS_MPIE);
  r = run_in(1, s_where, 0);
  s = csrr(mstatus);
  /* MPRV is cleared by mret to S in priv 1.12, QEMU 7.2 keeps it (see README): not printed */
  pr("after S ecall exit: MPP=%d MPIE=%d MIE=%d sstatus(S)=%x\n", (s >> 11) & 3, (s >> 7) & 1, (s >> 3) & 1, r);
  csrc(mstatus, MSTATUS_MPRV);
  csrc(mstatus, MSTATUS_MPIE);
  r = run_in(0, s_where, 0); /* U: sstatus read traps */
  s = csrr(mstatus);
  pr("after U: MPP=%d MPIE=%d MIE=%d\n", (s >> 11) & 3, (s >> 7) & 1, (s >> 3) & 1);
  show_m("U sstatus trap");

  /* TSR / TVM / TW */
  csrs(mstatus, (1ul << 22) | (1ul << 20) | (1ul << 21));
  pr("mstatus TSR TVM TW=%x\n", (csrr(mstatus) >> 20) & 7);
  run_in(1, s_tsr_body, 0);
  csrc(mstatus, (1ul << 22) | (1ul << 20) | (1ul << 21));
  /* mstatus fields: write all ones and read back the RV64GC+S+U fields */
  u64 saved = csrr(mstatus);
  csrw(mstatus, ~0ul);
  s = csrr(mstatus);
  csrw(mstatus, saved);
  /* UXL (WARL; QEMU 7.2 even keeps the reserved 3) and VS (optional without V) are left out */
  pr("mstatus all ones & 0x80000000007ff9aa = %x\n", s & 0x80000000007ff9aaul);
  pr("mstatus SXL=%d\n", (s >> 34) & 3);
  csrw(mstatus, (saved & ~(3ul << 32)) | (2ul << 32));
  pr("mstatus UXL after writing 2: %d\n", (csrr(mstatus) >> 32) & 3);
  csrw(mstatus, saved);
}

/* PMP: entry 0 denies S/U everything on one 4 KiB page (NAPOT, no L), entry 1 allows all */
static u8 pmp_page[4096] __attribute__((aligned(4096)));
static long u_pmp(long arg) {
  (void)arg;
  TRY2("U load PMP-denied page", "lla t0, pmp_page", "ld t1, 0(t0)");
  TRY2("U store PMP-denied page", "lla t0, pmp_page", "sd t1, 8(t0)");
  TRY2("U load PMP-allowed", "lla t0, pmp_page + 4096", "ld t1, 0(t0)");
  return 0;
}
static void pmp(void) {
  csrw(pmpaddr0, ((u64)pmp_page >> 2) | 0x1ff); /* NAPOT 4 KiB */
  csrw(pmpaddr1, ~0ul);
  csrw(pmpcfg0, (0x1ful << 8) | 0x18);
  pr("pmpcfg0=%x pmpaddr0 ok=%d\n", csrr(pmpcfg0) & 0xffff, csrr(pmpaddr0) == (((u64)pmp_page >> 2) | 0x1ff));
  TRY2("M load PMP page (no L)", "lla t0, pmp_page", "ld t1, 0(t0)");
  run_in(0, u_pmp, 0);
  csrw(pmpaddr0, ~0ul);
  csrw(pmpcfg0, 0x1f);
}

/* a misaligned load and store: done by the hart or trapped (cause 4/6) - print both outcomes the
 * same way when the value is right */
static u8 mis[16] __attribute__((aligned(8)));
static void misaligned(void) {
  for (int i = 0; i < 16; i++) mis[i] = (u8)(i + 1);
  reset_traps();
  u64 v = 0;
  asm volatile(NORVC("ld %0, 0(%1)") : "=&r"(v) : "r"(mis + 3) : "memory");
  pr("misaligned ld: %s\n", mt.count == 0 && v == 0x0b0a090807060504ul ? "done by hart" :
     mt.count == 1 && mt.cause == 4 && mt.tval == (u64)(mis + 3) ? "trapped" : "wrong");
}

void main(u64 hartid, u64 fdt) {
  (void)hartid; (void)fdt;
  ident();
  tvec();
  exceptions();
  unimplemented();
  modes();
  pmp();
  misaligned();
}
