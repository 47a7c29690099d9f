/* delegation: medeleg/mideleg, S-mode traps through stvec, sret, the sstatus view of mstatus,
 * scause/sepc/stval, a U-mode ecall and a page fault delegated to S. */
#include "rt.h"

static u64 root[512] __attribute__((aligned(4096)));

static void masks(void) {
  csrw(medeleg, ~0ul);
  u64 e = csrr(medeleg);
  /* the exceptions of RV64GC with S and U that can happen below M (0-9, 12, 13, 15) */
  pr("medeleg all ones & 0xb3ff = %x\n", e & 0xb3ff);
  csrw(medeleg, 0);
  pr("medeleg after 0 = %x\n", csrr(medeleg));
  csrw(mideleg, ~0ul);
  u64 i = csrr(mideleg);
  pr("mideleg all ones & 0xaaa = %x\n", i & 0xaaa);
  csrw(mideleg, 0);
  pr("mideleg after 0 = %x\n", csrr(mideleg));
}

static void sstatus_view(void) {
  u64 saved = csrr(mstatus);
  csrw(mstatus, ~0ul);
  u64 s = csrr(sstatus);
  /* SIE SPIE UBE SPP FS XS SUM MXR SD (VS and UXL left out: see README) */
  pr("sstatus with mstatus all ones & 0x80000000000c6162 = %x\n", s & 0x80000000000c6162ul);
  pr("sstatus has no M bits: %x\n", s & 0x1e1888ul);
  csrw(mstatus, 0);
  csrw(sstatus, ~0ul);
  u64 m = csrr(mstatus);
  pr("mstatus after sstatus all ones & 0x800000000ffff9ff = %x\n", m & 0x800000000fffe9fful);
  csrw(mstatus, saved);
  csrw(mie, 0);
  csrw(mideleg, 0x222);
  csrw(sie, ~0ul);
  pr("mideleg=222: sie all ones -> mie=%x sie=%x\n", csrr(mie), csrr(sie));
  csrw(mie, 0xaaa);
  pr("mie=aaa: sie=%x\n", csrr(sie));
  csrw(mideleg, 0);
  pr("mideleg=0: sie=%x\n", csrr(sie));
  csrw(mie, 0);
}

static long u_traps(long arg) {
  TRY("U ecall", "ecall");
  TRY("U illegal", ".word 0x0000000b");
  TRY("U ebreak", "ebreak");
  TRY("U read sstatus", "csrr t0, sstatus");
  return arg;
}

static long s_traps(long arg) {
  TRY("S illegal", ".word 0x0000000b");
  TRY("S ecall", "ecall");
  TRY("S read mstatus", "csrr t0, mstatus");
  /* sret within S: SIE <- SPIE, SPIE <- 1, SPP <- U; sepc gives the target */
  csrc(sstatus, MSTATUS_SIE);
  csrs(sstatus, MSTATUS_SPP | MSTATUS_SPIE);
  asm volatile(NORVC("lla t0, 1f\n csrw sepc, t0\n sret\n 1: nop") ::: "t0", "memory");
  u64 s = csrr(sstatus);
  pr("sret S->S: SIE=%d SPIE=%d SPP=%d\n", (s >> 1) & 1, (s >> 5) & 1, (s >> 8) & 1);
  csrc(sstatus, MSTATUS_SIE);
  /* sret to U (SPP=0): the rest of this function runs in U */
  csrc(sstatus, MSTATUS_SPP | MSTATUS_SPIE);
  csrs(sstatus, MSTATUS_SIE);
  asm volatile(NORVC("lla t0, 1f\n csrw sepc, t0\n sret\n 1: nop") ::: "t0", "memory");
  TRY("after sret to U: ecall", "ecall");
  pr("  trap sstatus: SPP=%d SPIE=%d SIE=%d\n", (st.status >> 8) & 1, (st.status >> 5) & 1, (st.status >> 1) & 1);
  TRY("after sret to U: read sstatus", "csrr t0, sstatus");
  return arg;
}

static long s_paging(long arg) {
  (void)arg;
  TRY2("S load unmapped va", "li t0, 0x40000000", "ld t1, 0(t0)");
  TRY2("S store unmapped va", "li t0, 0x40000010", "sd t1, 0(t0)");
  reset_traps();
  asm volatile("li t0, 0x40000000\n jalr ra, t0, 0" ::: "t0", "ra", "memory");
  if (st.count) pr("S fetch unmapped va: S n=%d scause=%x stval=%x sepc=%x\n", st.count, st.cause, st.tval, st.epc);
  else pr("S fetch unmapped va: M n=%d mcause=%x mtval=%x mepc=%x\n", mt.count, mt.cause, mt.tval, mt.epc);
  return 0;
}

static long s_ecall(long a) { TRY("S ecall delegated", "ecall"); return a; }

void main(u64 hartid, u64 fdt) {
  (void)hartid; (void)fdt;
  masks();
  sstatus_view();

  reset_traps();
  csrw(medeleg, (1ul << 2) | (1ul << 3) | (1ul << 8));
  TRY("M illegal (delegated bit set)", ".word 0x0000000b");
  TRY("M ebreak (delegated bit set)", "ebreak");
  run_in(0, u_traps, 0);
  pr("  last S trap sstatus: SPP=%d SPIE=%d SIE=%d\n", (st.status >> 8) & 1, (st.status >> 5) & 1, (st.status >> 1) & 1);
  csrw(medeleg, (1ul << 2) | (1ul << 8));
  run_in(0, u_traps, 0);
  run_in(1, s_traps, 0);
  csrw(medeleg, (1ul << 2) | (1ul << 8) | (1ul << 9));
  TRY("M ecall (bit 9 set)", "ecall");
  pr("S ecall run returned %d\n", run_in(1, s_ecall, 7));
  csrw(medeleg, 0);

  /* page faults delegated to S: identity gigapages for the devices and RAM */
  root[0] = mkpte(0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  root[2] = mkpte(0x80000000ul, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  csrw(satp, satp_sv39(root, 0));
  sfence_all();
  csrw(medeleg, (1ul << 12) | (1ul << 13) | (1ul << 15));
  run_in(1, s_paging, 0);
  csrw(medeleg, 0);
  run_in(1, s_paging, 0);
  csrw(satp, 0);
  sfence_all();
}
