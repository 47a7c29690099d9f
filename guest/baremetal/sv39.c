/* sv39: page tables with 4 KiB pages, 2 MiB and 1 GiB superpages (and misaligned ones),
 * permissions (R/W/X, U, SUM, MXR, execute-only), A/D updates, invalid PTEs, non-canonical
 * addresses, sfence.vma, satp modes and MPRV. Page faults go to M (no delegation). */
#include "rt.h"

#define GIB 0x40000000ul
#define VA4K 0x100000000ul     /* root[4]: 4 KiB pages */
#define VA2M 0x140000000ul     /* root[5]: 2 MiB pages */
#define VA1G 0x180000000ul     /* root[6]: 1 GiB page onto RAM */
#define VA1GBAD 0x1c0000000ul  /* root[7]: misaligned 1 GiB page */
#define ALIAS(p) ((u64)(p) - GIB) /* root[1]: RAM again, as U pages */
#define PA2M 0x80200000ul

static u64 root[512] __attribute__((aligned(4096)));
static u64 l1a[512] __attribute__((aligned(4096)));
static u64 l0a[512] __attribute__((aligned(4096)));
static u64 l1b[512] __attribute__((aligned(4096)));
static u8 pages[14][4096] __attribute__((aligned(4096)));
static u8 ustack[4096] __attribute__((aligned(16)));
static volatile u64 target;
static u64 ures[16][3];

enum { P_RW, P_RO, P_XO, P_URW, P_WO, P_AD, P_INV, P_UR, P_RSV, P_NONLEAF, P_REMAP, P_UX, P_X2, P_GAP };
#define VA(i) (VA4K + (u64)(i) * 4096)

static const u32 code42[] = { 0x02a00513, 0x00008067 }; /* li a0, 42; ret */

static void setup(void) {
  u64 ad = PTE_A | PTE_D;
  root[0] = mkpte(0, PTE_V | PTE_R | PTE_W | ad);                          /* devices, S only */
  root[1] = mkpte(0x80000000ul, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | ad); /* RAM alias for U */
  root[2] = mkpte(0x80000000ul, PTE_V | PTE_R | PTE_W | PTE_X | ad);       /* RAM identity */
  root[4] = mkpte((u64)l1a, PTE_V);
  root[5] = mkpte((u64)l1b, PTE_V);
  root[6] = mkpte(0x80000000ul, PTE_V | PTE_R | PTE_W | ad);
  root[7] = mkpte(PA2M, PTE_V | PTE_R | PTE_W | ad);                       /* misaligned */
  l1a[0] = mkpte((u64)l0a, PTE_V);
  l0a[P_RW] = mkpte((u64)pages[P_RW], PTE_V | PTE_R | PTE_W | ad);
  l0a[P_RO] = mkpte((u64)pages[P_RO], PTE_V | PTE_R | PTE_A);
  l0a[P_XO] = mkpte((u64)pages[P_XO], PTE_V | PTE_X | PTE_A);
  l0a[P_URW] = mkpte((u64)pages[P_URW], PTE_V | PTE_R | PTE_W | PTE_U | ad);
  l0a[P_WO] = mkpte((u64)pages[P_WO], PTE_V | PTE_W | ad);
  l0a[P_AD] = mkpte((u64)pages[P_AD], PTE_V | PTE_R | PTE_W);
  l0a[P_INV] = mkpte((u64)pages[P_INV], PTE_R | PTE_W | ad);
  l0a[P_UR] = mkpte((u64)pages[P_UR], PTE_V | PTE_R | PTE_U | PTE_A);
  l0a[P_RSV] = mkpte((u64)pages[P_RSV], PTE_V | PTE_R | PTE_W | ad) | (1ul << 60); /* reserved bit */
  l0a[P_NONLEAF] = mkpte((u64)pages[P_NONLEAF], PTE_V);                    /* pointer at level 0 */
  l0a[P_REMAP] = mkpte((u64)pages[P_REMAP], PTE_V | PTE_R | PTE_W | ad);
  l0a[P_UX] = mkpte((u64)pages[P_UX], PTE_V | PTE_X | PTE_U | PTE_A);
  l0a[P_X2] = mkpte((u64)pages[P_X2], PTE_V | PTE_X | PTE_A);
  l0a[P_GAP] = 0;
  /* li a0, 42 split over the end of P_X2 and the (unmapped) start of P_GAP */
  *(volatile uint16_t *)&pages[P_X2][4094] = 0x0513;
  *(volatile uint16_t *)&pages[P_GAP][0] = 0x02a0;
  l1b[0] = mkpte(PA2M, PTE_V | PTE_R | PTE_W | ad);
  l1b[1] = mkpte(PA2M + 0x1000, PTE_V | PTE_R | PTE_W | ad);                /* misaligned */
  for (int i = 0; i < 12; i++) *(volatile u64 *)pages[i] = 0x1111 * (i + 1);
  memcpy(pages[P_XO], code42, sizeof code42);
  memcpy(pages[P_UX], code42, sizeof code42);
  w64(PA2M + 0x1238, 0x2222222222ul);
  asm volatile("fence.i" ::: "memory");
}

/* a load/store/fetch at va, reporting the trap (if any) and the value */
static void ld(const char *name, u64 va) {
  reset_traps();
  u64 v = 0;
  asm volatile("li a7, 0\n" NORVC("ld %0, 0(%1)") : "+r"(v) : "r"(va) : "a7", "memory");
  if (mt.count) pr("%s: M n=%d cause=%x tval=%s\n", name, mt.count, mt.cause, mt.tval == va ? "va" : "other");
  else pr("%s: ok %x\n", name, v);
}
static void sd(const char *name, u64 va, u64 v) {
  reset_traps();
  asm volatile("li a7, 0\n" NORVC("sd %0, 0(%1)") :: "r"(v), "r"(va) : "a7", "memory");
  if (mt.count) pr("%s: M n=%d cause=%x tval=%s\n", name, mt.count, mt.cause, mt.tval == va ? "va" : "other");
  else pr("%s: ok\n", name);
}
static void ex(const char *name, u64 va) {
  reset_traps();
  long r = 0;
  asm volatile("li a7, 0\n li a0, 7\n jalr ra, %1, 0\n mv %0, a0" : "=r"(r) : "r"(va) : "a0", "a7", "ra", "memory");
  if (mt.count) pr("%s: M n=%d cause=%x tval=%s\n", name, mt.count, mt.cause, mt.tval == va ? "va" : "other");
  else pr("%s: ok %d\n", name, r);
}

static long s_tests(long arg) {
  (void)arg;
  ld("S 4K rw load", VA(P_RW));
  sd("S 4K rw store", VA(P_RW) + 8, 0x55);
  ld("S 4K rw load back", VA(P_RW) + 8);
  ld("S ro load", VA(P_RO));
  sd("S ro store", VA(P_RO) + 16, 1);
  ld("S xo load", VA(P_XO));
  ex("S xo exec", VA(P_XO));
  csrs(sstatus, MSTATUS_MXR);
  ld("S xo load MXR=1", VA(P_XO));
  ld("S ro load MXR=1", VA(P_RO));
  csrc(sstatus, MSTATUS_MXR);
  ld("S rw exec-check (no X)", VA(P_RW));
  ex("S exec rw page (no X)", VA(P_RW));
  ld("S U-page load SUM=0", VA(P_URW));
  sd("S U-page store SUM=0", VA(P_URW), 3);
  csrs(sstatus, MSTATUS_SUM);
  ld("S U-page load SUM=1", VA(P_URW));
  sd("S U-page store SUM=1", VA(P_URW) + 8, 4);
  ex("S U-page exec SUM=1", VA(P_UX));
  csrc(sstatus, MSTATUS_SUM);
  ld("S W-only load", VA(P_WO));
  sd("S W-only store", VA(P_WO), 5);
  ld("S invalid load", VA(P_INV));
  sd("S invalid store", VA(P_INV), 6);
  ex("S invalid exec", VA(P_INV));
  ld("S reserved-bit PTE load", VA(P_RSV));
  ld("S pointer at level 0 load", VA(P_NONLEAF));
  ld("S unmapped (root[3]) load", 0xc0000000ul);
  ld("S 2M page load", VA2M + 0x1238);
  ld("S misaligned 2M load", VA2M + 0x200000 + 0x238);
  ld("S 1G page load", VA1G + ((u64)&target - 0x80000000ul));
  ld("S misaligned 1G load", VA1GBAD + 0x1238);
  ld("S non-canonical load 0x8000000000", 0x8000000000ul);
  sd("S non-canonical store 0xffff7fff80000000", 0xffff7fff80000000ul, 1);
  ld("S canonical high 0xffffffc000000000 (unmapped)", 0xffffffc000000000ul);
  ex("S non-canonical exec 0x4000000000", 0x4000000000ul);
  /* a 4-byte instruction crossing into an unmapped page: mepc = its start, mtval = the page */
  reset_traps();
  {
    u64 va = VA(P_X2) + 4094;
    asm volatile("li a7, 0\n jalr ra, %0, 0" :: "r"(va) : "a0", "a7", "ra", "memory");
    pr("S fetch crossing into unmapped page: n=%d cause=%x epc=%s tval=%s\n", mt.count, mt.cause,
       mt.epc == va ? "start" : "other", mt.tval == VA(P_GAP) ? "second page" : mt.tval == va ? "start" : "other");
  }
  /* A/D: the hardware sets A on access and D on a store */
  u64 *pte = &l0a[P_AD];
  pr("A/D before: A=%d D=%d\n", (*pte >> 6) & 1, (*pte >> 7) & 1);
  ld("S A/D page load", VA(P_AD));
  pr("A/D after load: A=%d D=%d\n", (*pte >> 6) & 1, (*pte >> 7) & 1);
  sd("S A/D page store", VA(P_AD), 9);
  pr("A/D after store: A=%d D=%d\n", (*pte >> 6) & 1, (*pte >> 7) & 1);
  /* remap a page; after sfence.vma the new frame is seen */
  ld("S remap before", VA(P_REMAP));
  l0a[P_REMAP] = mkpte((u64)pages[P_RW], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  asm volatile("sfence.vma %0, zero" :: "r"(VA(P_REMAP)) : "memory");
  ld("S remap after sfence.vma va", VA(P_REMAP));
  l0a[P_REMAP] = 0;
  asm volatile("sfence.vma zero, zero" ::: "memory");
  ld("S remap invalid after sfence.vma", VA(P_REMAP));
  l0a[P_REMAP] = mkpte((u64)pages[P_REMAP], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  asm volatile("sfence.vma" ::: "memory");
  /* satp from S: reserved modes are ignored, Bare turns translation off */
  u64 s = csrr(satp);
  csrw(satp, (s & ~(0xful << 60)) | (1ul << 60));
  pr("S satp mode 1 write ignored: %s\n", csrr(satp) == s ? "yes" : "no");
  csrw(satp, (s & ~(0xful << 60)) | (15ul << 60));
  pr("S satp mode 15 write ignored: %s\n", csrr(satp) == s ? "yes" : "no");
  return 0;
}

/* U code runs through the alias (root[1]) and must not print: it fills ures[] */
#define UREC(k) do { ures[k][0] = mt.count; ures[k][1] = mt.cause; ures[k][2] = mt.tval; mt.count = 0; } while (0)
static long u_tests(long arg) {
  (void)arg;
  volatile u64 v;
  mt.count = 0;
  v = *(volatile u64 *)VA(P_RW); UREC(0);
  v = *(volatile u64 *)VA(P_URW); UREC(1);
  *(volatile u64 *)VA(P_URW) = v; UREC(2);
  *(volatile u64 *)VA(P_UR) = v; UREC(3);
  v = *(volatile u64 *)VA(P_UR); UREC(4);
  asm volatile("li a0, 7\n jalr ra, %0, 0" :: "r"(VA(P_UX)) : "a0", "ra", "memory"); UREC(5);
  asm volatile("li a0, 7\n jalr ra, %0, 0" :: "r"((u64)code42 + GIB) : "a0", "ra", "memory"); UREC(6); /* S page */
  v = *(volatile u64 *)(VA(P_XO)); UREC(7);
  return 0;
}

/* M with MPRV=1 translates loads at MPP's privilege (the trap handler's mret leaves MPP=U, so
 * MPRV is set and cleared around the one load, with no other data access in between) */
static void ld_mprv(const char *name, u64 va, u64 mpp, u64 extra) {
  reset_traps();
  u64 v = 0, bits = MSTATUS_MPRV | extra;
  csrc(mstatus, MSTATUS_MPP);
  csrs(mstatus, mpp << 11);
  asm volatile("li a7, 0\n csrs mstatus, %2\n" NORVC("ld %0, 0(%1)") "\n csrc mstatus, %2"
               : "+r"(v) : "r"(va), "r"(bits) : "a7", "memory");
  csrc(mstatus, MSTATUS_MPP);
  if (mt.count) pr("%s: M n=%d cause=%x tval=%s\n", name, mt.count, mt.cause, mt.tval == va ? "va" : "other");
  else pr("%s: ok %x\n", name, v);
}

static void m_tests(void) {
  ld_mprv("M MPRV MPP=S load 4K rw", VA(P_RW), 1, 0);
  ld_mprv("M MPRV MPP=S load U page", VA(P_URW), 1, 0);
  ld_mprv("M MPRV MPP=S SUM load U page", VA(P_URW), 1, MSTATUS_SUM);
  ld_mprv("M MPRV MPP=S load xo", VA(P_XO), 1, 0);
  ld_mprv("M MPRV MPP=S MXR load xo", VA(P_XO), 1, MSTATUS_MXR);
  ld_mprv("M MPRV MPP=U load U page", VA(P_URW), 0, 0);
  ld_mprv("M MPRV MPP=U load S page", VA(P_RW), 0, 0);
  ld_mprv("M MPRV MPP=M load identity (physical)", (u64)&target, 3, 0);
  u64 s = csrr(mstatus);
  pr("M after MPRV tests: MPRV=%d\n", (s >> 17) & 1);
}

void main(u64 hartid, u64 fdt) {
  (void)hartid; (void)fdt;
  extern char _end[];
  if ((u64)_end > PA2M) { pr("image too big\n"); fail(1); }
  setup();
  target = 0x7777;
  u64 sv = satp_sv39(root, 0);
  csrw(satp, sv);
  pr("satp readback same: %s\n", csrr(satp) == sv ? "yes" : "no");
  sfence_all();
  csrw(satp, 0);
  csrw(satp, 1ul << 60);
  pr("satp mode 1 from M ignored: %s\n", csrr(satp) == 0 ? "yes" : "no");
  csrw(satp, sv);
  sfence_all();
  run_in(1, s_tests, 0);
  m_tests();
  memset(ures, 0xff, sizeof ures);
  m_auto_len = 1;
  m_code_off = GIB;
  enter_mode(0, (void *)ALIAS(u_tests), 0, ALIAS(ustack + sizeof ustack), -(long)GIB);
  m_auto_len = 0;
  static const char *const un[] = { "U load S page", "U load U page", "U store U page", "U store U ro page",
    "U load U ro page", "U exec U xo page", "U exec S page", "U load S xo page" };
  for (int k = 0; k < 8; k++) {
    if (ures[k][0]) pr("%s: M n=%d cause=%x tval=%x\n", un[k], ures[k][0], ures[k][1], ures[k][2]);
    else pr("%s: ok\n", un[k]);
  }
  csrw(satp, 0);
  sfence_all();
}
