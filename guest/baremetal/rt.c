#include "rt.h"

struct trapinfo mt, st;
volatile u64 m_resume_pc, s_resume_pc, m_skip_len = 4, s_skip_len = 4, m_auto_len;
volatile i64 m_code_off;
volatile trap_hook m_hook, s_hook;
static volatile u32 print_lock;

void putch(int c) {
  if (c == '\n') putch('\r');
  while ((*(volatile u8 *)(UART_BASE + 5) & 0x20) == 0) {}
  *(volatile u8 *)UART_BASE = (u8)c;
}

static void puts_(const char *s) { while (*s) putch(*s++); }

static void hex(u64 v) {
  char b[17]; int i = 16; b[16] = 0;
  do { b[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
  puts_(b + i);
}

static void dec(i64 v) {
  char b[21]; int i = 20; b[20] = 0;
  u64 u = v < 0 ? -(u64)v : (u64)v;
  do { b[--i] = (char)('0' + u % 10); u /= 10; } while (u);
  if (v < 0) b[--i] = '-';
  puts_(b + i);
}

/* %x: u64 in hex, %d: i64 in decimal, %s, %c, %%. */
void pr(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (; *fmt; fmt++) {
    if (*fmt != '%') { putch(*fmt); continue; }
    switch (*++fmt) {
      case 'x': hex(va_arg(ap, u64)); break;
      case 'd': dec(va_arg(ap, i64)); break;
      case 's': puts_(va_arg(ap, const char *)); break;
      case 'c': putch((int)va_arg(ap, long)); break;
      case '%': putch('%'); break;
      default: putch('?'); break;
    }
  }
  va_end(ap);
}

void lock(void) {
  u32 one = 1, old;
  do { asm volatile("amoswap.w.aq %0, %1, (%2)" : "=r"(old) : "r"(one), "r"(&print_lock) : "memory"); } while (old);
}
void unlock(void) { asm volatile("amoswap.w.rl zero, zero, (%0)" :: "r"(&print_lock) : "memory"); }

void poweroff(void) {
  w32(0x100000, 0x5555);
  for (;;) asm volatile("wfi");
}

void fail(int code) {
  w32(0x100000, 0x3333 | ((u32)code << 16));
  for (;;) asm volatile("wfi");
}

void *memset(void *d, int c, unsigned long n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, unsigned long n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }

void show_m(const char *name) { pr("%s: n=%d cause=%x tval=%x\n", name, mt.count, mt.cause, mt.tval); }
void show_s(const char *name) { pr("%s: n=%d scause=%x stval=%x\n", name, st.count, st.cause, st.tval); }

static int fetch_fault(u64 c) { return c == 0 || c == 1 || c == 12; }

int m_trap_c(struct frame *f) {
  u64 cause = csrr(mcause);
  if ((cause == 3 || cause == 8 || cause == 9 || cause == 11) && f->r[17] == EXIT_MAGIC) return 1;
  mt.count++;
  mt.cause = cause;
  mt.epc = csrr(mepc);
  mt.tval = csrr(mtval);
  mt.status = csrr(mstatus);
  if (m_hook && m_hook(f, cause)) return 0;
  if (cause >> 63) { csrc(mie, 1ul << (cause & 63)); return 0; }
  if (m_resume_pc) { csrw(mepc, m_resume_pc); m_resume_pc = 0; }
  else if (fetch_fault(cause)) csrw(mepc, f->r[1]);
  else if (m_auto_len) csrw(mepc, mt.epc + ((*(volatile uint16_t *)(mt.epc + m_code_off) & 3) == 3 ? 4 : 2));
  else csrw(mepc, mt.epc + m_skip_len);
  return 0;
}

int s_trap_c(struct frame *f) {
  u64 cause = csrr(scause);
  if ((cause == 8 || cause == 9) && f->r[17] == EXIT_MAGIC) return 1;
  st.count++;
  st.cause = cause;
  st.epc = csrr(sepc);
  st.tval = csrr(stval);
  st.status = csrr(sstatus);
  if (s_hook && s_hook(f, cause)) return 0;
  if (cause >> 63) { csrc(sie, 1ul << (cause & 63)); return 0; }
  if (s_resume_pc) { csrw(sepc, s_resume_pc); s_resume_pc = 0; }
  else if (fetch_fault(cause)) csrw(sepc, f->r[1]);
  else csrw(sepc, st.epc + s_skip_len);
  return 0;
}

static u8 s_tstacks[8][4096] __attribute__((aligned(16)));

void rt_main(u64 hartid, u64 fdt) {
  csrw(sscratch, (u64)&s_tstacks[hartid + 1 <= 8 ? hartid : 7][4096]);
  csrw(stvec, (u64)s_trap_entry);
  main(hartid, fdt);
  if (hartid == 0) { pr("done\n"); poweroff(); }
  for (;;) asm volatile("wfi");
}

void report(const char *name, u64 pc) {
  if (mt.count == 0 && st.count == 0) { pr("%s: ok\n", name); return; }
  /* a breakpoint's tval may be 0 or the pc (QEMU 7.2 writes 0, see README) */
  if (mt.count && mt.cause == 3 && (mt.tval == 0 || mt.tval == pc))
    pr("%s: M n=%d cause=3 tval=0-or-pc epc=%s\n", name, mt.count, mt.epc == pc ? "ok" : "bad");
  else if (mt.count) pr("%s: M n=%d cause=%x tval=%x epc=%s\n", name, mt.count, mt.cause, mt.tval, mt.epc == pc ? "ok" : "bad");
  if (st.count && st.cause == 3 && (st.tval == 0 || st.tval == pc))
    pr("%s: S n=%d cause=3 tval=0-or-pc epc=%s\n", name, st.count, st.epc == pc ? "ok" : "bad");
  else if (st.count) pr("%s: S n=%d cause=%x tval=%x epc=%s\n", name, st.count, st.cause, st.tval, st.epc == pc ? "ok" : "bad");
}
