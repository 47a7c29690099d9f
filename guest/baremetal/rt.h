/* Tiny bare-metal runtime for rvisor's privileged-architecture tests (see README.md). */
#ifndef RT_H
#define RT_H
#include <stdint.h>
#include <stdarg.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef uint8_t u8;

#define STR_(x) #x
#define STR(x) STR_(x)
#define csrr(csr) ({ u64 v_; asm volatile("csrr %0, " STR(csr) : "=r"(v_) :: "memory"); v_; })
#define csrw(csr, v) asm volatile("csrw " STR(csr) ", %0" :: "r"((u64)(v)) : "memory")
#define csrs(csr, v) asm volatile("csrs " STR(csr) ", %0" :: "r"((u64)(v)) : "memory")
#define csrc(csr, v) asm volatile("csrc " STR(csr) ", %0" :: "r"((u64)(v)) : "memory")
#define csrrw(csr, v) ({ u64 v_; asm volatile("csrrw %0, " STR(csr) ", %1" : "=r"(v_) : "r"((u64)(v)) : "memory"); v_; })

/* CSR numbers binutils may not know by name. */
#define CSR_MENVCFG 0x30a
#define CSR_SENVCFG 0x10a
#define CSR_STIMECMP 0x14d

#define MSTATUS_SIE (1ul << 1)
#define MSTATUS_MIE (1ul << 3)
#define MSTATUS_SPIE (1ul << 5)
#define MSTATUS_MPIE (1ul << 7)
#define MSTATUS_SPP (1ul << 8)
#define MSTATUS_MPP (3ul << 11)
#define MSTATUS_FS (3ul << 13)
#define MSTATUS_MPRV (1ul << 17)
#define MSTATUS_SUM (1ul << 18)
#define MSTATUS_MXR (1ul << 19)
#define MSTATUS_SD (1ul << 63)

#define UART_BASE 0x10000000ul
#define CLINT_BASE 0x2000000ul
#define CLINT_MSIP(h) (CLINT_BASE + 4ul * (h))
#define CLINT_MTIMECMP(h) (CLINT_BASE + 0x4000ul + 8ul * (h))
#define CLINT_MTIME (CLINT_BASE + 0xbff8ul)

#define EXIT_MAGIC 0x45584954ul

static inline void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u32 r32(u64 a) { return *(volatile u32 *)a; }
static inline void w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static inline u64 r64(u64 a) { return *(volatile u64 *)a; }

/* Saved registers of a trapped context: r[i] is xi (r[2] the interrupted sp). */
struct frame { u64 r[34]; };

/* What the last trap taken by the M (mt) or S (st) handler saw. */
struct trapinfo { volatile u64 count, cause, epc, tval, status; };
extern struct trapinfo mt, st;

/* Handler policy for exceptions: resume at resume_pc if set (once), at the caller (ra) for fetch
 * faults, else skip skip_len bytes (default 4; tests use .option norvc for faulting
 * instructions). A hook, when set, sees every trap first and returns 1 if it set the epc. */
extern volatile u64 m_resume_pc, s_resume_pc, m_skip_len, s_skip_len;
/* m_auto_len: skip by the length of the instruction at mepc + m_code_off (read by M). */
extern volatile u64 m_auto_len;
extern volatile i64 m_code_off;
typedef int (*trap_hook)(struct frame *f, u64 cause);
extern volatile trap_hook m_hook, s_hook;

/* Runs fn(arg) at privilege mode (0 U, 1 S, 3 M) via mret; returns fn's return value.
 * sp = 0 keeps the current stack; ra_off is added to the return trampoline's address (for code
 * run through an alias mapping). */
long enter_mode(long mode, void *fn, long arg, long sp, long ra_off);
#define run_in(mode, fn, arg) enter_mode((mode), (void *)(fn), (long)(arg), 0, 0)

extern char m_trap_entry[], m_vec_table[], s_trap_entry[], lower_exit[];
extern volatile u64 vec_slot;

void putch(int c);
void pr(const char *fmt, ...);
void poweroff(void) __attribute__((noreturn));
void fail(int code) __attribute__((noreturn));
void lock(void);
void unlock(void);
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

/* Each program defines main(hartid, fdt); returning powers the board off. */
void main(u64 hartid, u64 fdt);

/* Print the last trap: "name: cause=.. tval=.." (+ epc offset against an expected pc). */
void show_m(const char *name);
void show_s(const char *name);
static inline void reset_traps(void) { mt.count = 0; mt.cause = mt.tval = mt.epc = mt.status = ~0ul; st.count = 0; st.cause = st.tval = st.epc = st.status = ~0ul; }

#endif

/* Runs setup, then one 4-byte instruction (assembly text; may use t0-t2) at the current privilege
 * and prints what trapped: "name: n=traps cause=.. tval=.. epc=ok|bad" (or "name: ok" without a
 * trap). The M and S handlers resume after a 4-byte faulting instruction. */
#define NORVC(s) ".option push\n.option norvc\n" s "\n.option pop\n"
#define TRY2(name, setup, insn) do {                                                    \
    reset_traps();                                                                      \
    u64 pc_;                                                                            \
    asm volatile(NORVC("li a7, 0\n" setup "\n1: " insn "\n lla %0, 1b") : "=&r"(pc_) :: "t0", "t1", "t2", "a7", "memory"); \
    report(name, pc_);                                                                  \
  } while (0)
#define TRY(name, insn) TRY2(name, "", insn)
void report(const char *name, u64 pc);

/* Sv39 page-table entries */
#define PTE_V 0x01ul
#define PTE_R 0x02ul
#define PTE_W 0x04ul
#define PTE_X 0x08ul
#define PTE_U 0x10ul
#define PTE_G 0x20ul
#define PTE_A 0x40ul
#define PTE_D 0x80ul
static inline u64 mkpte(u64 pa, u64 flags) { return ((pa >> 12) << 10) | flags; }
static inline u64 pte_pa(u64 pte) { return (pte >> 10) << 12; }
static inline u64 satp_sv39(void *root, u64 asid) { return (8ul << 60) | (asid << 44) | ((u64)root >> 12); }
static inline void sfence_all(void) { asm volatile("sfence.vma" ::: "memory"); }
