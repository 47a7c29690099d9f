/* vm: a small stack-machine bytecode interpreter, the indirect-jump-heavy benchmark.
 * Usage: vm [ITERATIONS]   (default 600)
 * The bytecode (assembled at start-up below) loops ITERATIONS times over: a recursive fib
 * (CALL/RET), a sieve of Eratosthenes over VM memory (MLD/MST), and a loop of "native" calls
 * made through a table of C function pointers (NAT/NATS).  The interpreter dispatches with a
 * dense `switch`, which gcc -O2 compiles to a jump table (a `jr` through a loaded address; see
 * README.md), so every bytecode op is one indirect jump, and the natives add indirect calls.
 * Prints the checksum, the executed op count and a fib/sieve result; they only depend on
 * ITERATIONS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum {
  OP_HALT, OP_PUSH, OP_POP, OP_DUP, OP_SWAP, OP_OVER, OP_LD, OP_ST, OP_INC, OP_ADDI,
  OP_ADD, OP_SUB, OP_MUL, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR, OP_LT, OP_EQ,
  OP_JMP, OP_JZ, OP_JNZ, OP_CALL, OP_RET, OP_ENTER, OP_MLD, OP_MST, OP_NAT, OP_NATS,
};

/* ---- natives, called through a function-pointer table ---------------------------------------- */
typedef int64_t (*native_fn)(int64_t a, int64_t b);
static int64_t nat_mix(int64_t a, int64_t b) {
  uint64_t x = ((uint64_t)a ^ (uint64_t)b) * 0x9E3779B97F4A7C15ull;
  return (int64_t)(x ^ (x >> 29));
}
static int64_t nat_fold(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * 31u + (uint64_t)b); }
static int64_t nat_rot(int64_t a, int64_t b) {
  unsigned r = (unsigned)b & 63u;
  uint64_t x = (uint64_t)a;
  return (int64_t)(((x << r) | (x >> ((64 - r) & 63u))) ^ (uint64_t)b);
}
static int64_t nat_crc(int64_t a, int64_t b) {
  uint64_t c = (uint64_t)a ^ (uint64_t)b;
  for (int k = 0; k < 4; k++) c = (c >> 1) ^ (0xC96C5795D7870F42ull & (0 - (c & 1)));
  return (int64_t)c;
}
static native_fn natives[4] = { nat_mix, nat_fold, nat_rot, nat_crc };

/* ---- the interpreter ------------------------------------------------------------------------- */
#define STACK 65536
#define MEM 8192
static int64_t stack[STACK];
static int32_t rstack[2 * STACK];
static int64_t mem[MEM];
static uint64_t ops;

static int64_t run(const int32_t *code, int32_t pc, int64_t arg) {
  int64_t *sp = stack, *fp;
  int32_t *rp = rstack;
  uint64_t n = 0;
  *++sp = arg;
  fp = sp;
  for (;;) {
    int32_t op = code[pc++];
    n++;
    switch (op) {
    case OP_HALT: ops += n; return *sp;
    case OP_PUSH: *++sp = code[pc++]; break;
    case OP_POP: sp--; break;
    case OP_DUP: sp[1] = sp[0]; sp++; break;
    case OP_SWAP: { int64_t t = sp[0]; sp[0] = sp[-1]; sp[-1] = t; break; }
    case OP_OVER: sp[1] = sp[-1]; sp++; break;
    case OP_LD: *++sp = fp[code[pc++]]; break;
    case OP_ST: fp[code[pc++]] = *sp--; break;
    case OP_INC: fp[code[pc++]]++; break;
    case OP_ADDI: *sp += code[pc++]; break;
    case OP_ADD: sp[-1] = (int64_t)((uint64_t)sp[-1] + (uint64_t)sp[0]); sp--; break;
    case OP_SUB: sp[-1] = (int64_t)((uint64_t)sp[-1] - (uint64_t)sp[0]); sp--; break;
    case OP_MUL: sp[-1] = (int64_t)((uint64_t)sp[-1] * (uint64_t)sp[0]); sp--; break;
    case OP_AND: sp[-1] &= sp[0]; sp--; break;
    case OP_OR: sp[-1] |= sp[0]; sp--; break;
    case OP_XOR: sp[-1] ^= sp[0]; sp--; break;
    case OP_SHL: *sp = (int64_t)((uint64_t)*sp << (code[pc++] & 63)); break;
    case OP_SHR: *sp = (int64_t)((uint64_t)*sp >> (code[pc++] & 63)); break;
    case OP_LT: sp[-1] = sp[-1] < sp[0]; sp--; break;
    case OP_EQ: sp[-1] = sp[-1] == sp[0]; sp--; break;
    case OP_JMP: pc = code[pc]; break;
    case OP_JZ: pc = *sp-- ? pc + 1 : code[pc]; break;
    case OP_JNZ: pc = *sp-- ? code[pc] : pc + 1; break;
    case OP_CALL: { /* CALL target nargs: the arguments become the callee's locals 0.. */
      int32_t target = code[pc], nargs = code[pc + 1];
      *rp++ = pc + 2;
      *rp++ = (int32_t)(fp - stack);
      fp = sp - nargs + 1;
      pc = target;
      break;
    }
    case OP_RET: {
      int64_t v = *sp;
      sp = fp - 1;
      fp = stack + *--rp;
      pc = *--rp;
      *++sp = v;
      break;
    }
    case OP_ENTER: { int32_t k = code[pc++]; while (k-- > 0) *++sp = 0; break; }
    case OP_MLD: *sp = mem[(uint64_t)*sp % MEM]; break;
    case OP_MST: mem[(uint64_t)sp[-1] % MEM] = sp[0]; sp -= 2; break;
    case OP_NAT: sp[-1] = natives[code[pc++] & 3](sp[-1], sp[0]); sp--; break;
    case OP_NATS: { int64_t i = *sp--; sp[-1] = natives[i & 3](sp[-1], sp[0]); sp--; break; }
    default:
      fprintf(stderr, "vm: bad opcode %d at %d\n", op, pc - 1);
      exit(1);
    }
  }
}

/* ---- a tiny assembler with labels ------------------------------------------------------------ */
static int32_t code[1024];
static int32_t ncode;
static int32_t label_at[64];
static struct { int32_t where, label; } fixups[128];
static int nfix;

static void e(int32_t x) { code[ncode++] = x; }
static void e1(int32_t op, int32_t a) { e(op); e(a); }
static void ej(int32_t op, int32_t label) { e(op); fixups[nfix].where = ncode; fixups[nfix++].label = label; e(0); }
static void ecall(int32_t label, int32_t nargs) { ej(OP_CALL, label); e(nargs); }
static void here(int32_t label) { label_at[label] = ncode; }

enum { L_MAIN, L_MAIN_LOOP, L_MAIN_END, L_FIB, L_FIB_REC, L_SIEVE, L_CLR, L_CLR_END, L_OUTER,
       L_INNER, L_NEXT, L_SIEVE_END, L_MIX, L_MIX_LOOP, L_MIX_END, L_RUN_FIB, L_RUN_SIEVE };

static void assemble(void) {
  /* main(n): locals 1 = i, 2 = acc */
  here(L_MAIN);
  e1(OP_ENTER, 2);
  e1(OP_PUSH, 12345); e1(OP_ST, 2);
  here(L_MAIN_LOOP);
  e1(OP_LD, 1); e1(OP_LD, 0); e(OP_LT); ej(OP_JZ, L_MAIN_END);
  /* acc = mix(acc, fib(16 + (i & 3))) */
  e1(OP_LD, 2); e1(OP_PUSH, 16); e1(OP_LD, 1); e1(OP_PUSH, 3); e(OP_AND); e(OP_ADD); ecall(L_FIB, 1);
  e1(OP_NAT, 0); e1(OP_ST, 2);
  /* acc = fold(acc, sieve(3000 + (i & 7))) */
  e1(OP_LD, 2); e1(OP_PUSH, 3000); e1(OP_LD, 1); e1(OP_PUSH, 7); e(OP_AND); e(OP_ADD); ecall(L_SIEVE, 1);
  e1(OP_NAT, 1); e1(OP_ST, 2);
  /* acc = mixloop(200 + (acc & 63), acc) */
  e1(OP_LD, 2); e1(OP_PUSH, 63); e(OP_AND); e1(OP_ADDI, 200); e1(OP_LD, 2); ecall(L_MIX, 2); e1(OP_ST, 2);
  e1(OP_INC, 1); ej(OP_JMP, L_MAIN_LOOP);
  here(L_MAIN_END);
  e1(OP_LD, 2); e(OP_HALT);

  /* fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2) */
  here(L_FIB);
  e1(OP_LD, 0); e1(OP_PUSH, 2); e(OP_LT); ej(OP_JZ, L_FIB_REC); e1(OP_LD, 0); e(OP_RET);
  here(L_FIB_REC);
  e1(OP_LD, 0); e1(OP_ADDI, -1); ecall(L_FIB, 1);
  e1(OP_LD, 0); e1(OP_ADDI, -2); ecall(L_FIB, 1);
  e(OP_ADD); e(OP_RET);

  /* sieve(m): primes below m, using mem[0..m); locals 1 = i, 2 = j, 3 = count */
  here(L_SIEVE);
  e1(OP_ENTER, 3);
  here(L_CLR);
  e1(OP_LD, 1); e1(OP_LD, 0); e(OP_LT); ej(OP_JZ, L_CLR_END);
  e1(OP_LD, 1); e1(OP_PUSH, 1); e(OP_MST); e1(OP_INC, 1); ej(OP_JMP, L_CLR);
  here(L_CLR_END);
  e1(OP_PUSH, 2); e1(OP_ST, 1);
  here(L_OUTER);
  e1(OP_LD, 1); e1(OP_LD, 0); e(OP_LT); ej(OP_JZ, L_SIEVE_END);
  e1(OP_LD, 1); e(OP_MLD); ej(OP_JZ, L_NEXT);
  e1(OP_INC, 3);
  e1(OP_LD, 1); e(OP_DUP); e(OP_MUL); e1(OP_ST, 2);
  here(L_INNER);
  e1(OP_LD, 2); e1(OP_LD, 0); e(OP_LT); ej(OP_JZ, L_NEXT);
  e1(OP_LD, 2); e1(OP_PUSH, 0); e(OP_MST);
  e1(OP_LD, 2); e1(OP_LD, 1); e(OP_ADD); e1(OP_ST, 2); ej(OP_JMP, L_INNER);
  here(L_NEXT);
  e1(OP_INC, 1); ej(OP_JMP, L_OUTER);
  here(L_SIEVE_END);
  e1(OP_LD, 3); e(OP_RET);

  /* mixloop(k, x): for i < k: x = natives[i & 3](x, i ^ (x >> 7)); local 2 = i */
  here(L_MIX);
  e1(OP_ENTER, 1);
  here(L_MIX_LOOP);
  e1(OP_LD, 2); e1(OP_LD, 0); e(OP_LT); ej(OP_JZ, L_MIX_END);
  e1(OP_LD, 1); e1(OP_LD, 2); e1(OP_LD, 1); e1(OP_SHR, 7); e(OP_XOR); e1(OP_LD, 2); e(OP_NATS); e1(OP_ST, 1);
  e1(OP_INC, 2); ej(OP_JMP, L_MIX_LOOP);
  here(L_MIX_END);
  e1(OP_LD, 1); e(OP_RET);

  /* entry stubs to run fib and sieve on their own */
  here(L_RUN_FIB); e1(OP_LD, 0); ecall(L_FIB, 1); e(OP_HALT);
  here(L_RUN_SIEVE); e1(OP_LD, 0); ecall(L_SIEVE, 1); e(OP_HALT);

  for (int i = 0; i < nfix; i++) code[fixups[i].where] = label_at[fixups[i].label];
}

int main(int argc, char **argv) {
  long long n = argc > 1 ? strtoll(argv[1], NULL, 0) : 600;
  assemble();
  uint64_t r = (uint64_t)run(code, label_at[L_MAIN], n);
  /* a check of the pieces on their own: fib(20) = 6765, primes below 3000 = 430 */
  uint64_t total = ops;
  int64_t f = run(code, label_at[L_RUN_FIB], 20);
  int64_t s = run(code, label_at[L_RUN_SIEVE], 3000);
  printf("vm n=%lld ops=%llu fib20=%lld primes3000=%lld checksum=%016llx\n", n, (unsigned long long)total,
         (long long)f, (long long)s, (unsigned long long)r);
  return 0;
}
