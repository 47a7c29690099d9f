// The process's initial state: argv, envp, auxv, stack alignment, identity.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <elf.h>
#include <link.h>
#include "ctest.h"

extern char **environ;
extern char _start[];
static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int t_process(int argc, char **argv) {
  const char *base = strrchr(ctest_argv0, '/');
  printf("argv[0] basename: %s, program_invocation_short_name: %s\n", base ? base + 1 : ctest_argv0, program_invocation_short_name);
  printf("argc (after the test name) %d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d] = \"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
  printf("argv[argc] == NULL: %d\n", argv[argc] == NULL);
  // environment: only the variables the test sets (RVT_*), sorted
  char *vars[256]; int n = 0;
  for (char **e = environ; *e && n < 256; e++) if (strncmp(*e, "RVT_", 4) == 0) vars[n++] = *e;
  qsort(vars, (size_t)n, sizeof vars[0], cmpstr);
  for (int i = 0; i < n; i++) printf("env %s\n", vars[i]);
  printf("getenv(RVT_A) = %s, getenv(RVT_NOPE) = %p\n", getenv("RVT_A"), (void *)getenv("RVT_NOPE"));
  setenv("RVT_NEW", "fresh", 1); unsetenv("RVT_A");
  printf("after setenv/unsetenv: %s %p\n", getenv("RVT_NEW"), (void *)getenv("RVT_A"));
  // auxiliary vector
  printf("AT_PAGESZ %lu\n", getauxval(AT_PAGESZ));
  unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
  int nonzero = 0;
  if (rnd) for (int i = 0; i < 16; i++) nonzero |= rnd[i];
  printf("AT_RANDOM non-null %d (16 bytes readable, not all zero: %d)\n", rnd != NULL, nonzero != 0);
  printf("AT_ENTRY == _start: %d\n", getauxval(AT_ENTRY) == (unsigned long)_start);
  ElfW(Phdr) *ph = (ElfW(Phdr) *)getauxval(AT_PHDR);
  unsigned long phnum = getauxval(AT_PHNUM);
  printf("AT_PHDR non-null %d AT_PHENT %lu AT_PHNUM %lu\n", ph != NULL, getauxval(AT_PHENT), phnum);
  int loads = 0;
  for (unsigned long i = 0; ph && i < phnum; i++) if (ph[i].p_type == PT_LOAD) loads++;
  printf("PT_LOAD segments seen through AT_PHDR: %d\n", loads);
  errno = 0;
  unsigned long b = getauxval(AT_BASE);
  printf("AT_BASE %lu (static: no interpreter)\n", b);
  printf("AT_SECURE %lu AT_CLKTCK %lu AT_EXECFN non-null %d\n", getauxval(AT_SECURE), getauxval(AT_CLKTCK), getauxval(AT_EXECFN) != 0);
  unsigned long hw = getauxval(AT_HWCAP);
  printf("AT_HWCAP has I M A F D C: %d %d %d %d %d %d\n", !!(hw & (1 << ('I' - 'A'))), !!(hw & (1 << ('M' - 'A'))),
         !!(hw & (1 << ('A' - 'A'))), !!(hw & (1 << ('F' - 'A'))), !!(hw & (1 << ('D' - 'A'))), !!(hw & (1 << ('C' - 'A'))));
  // stack
  void *fp = __builtin_frame_address(0);
  printf("frame 16-byte aligned: %d\n", ((unsigned long)fp & 15) == 0);
  printf("argv strings above argv array: %d\n", (char *)argv[0] > (char *)argv);
  // identity
  printf("getpid > 0: %d, getppid > 0: %d, gettid == getpid: %d, getuid == geteuid: %d, getgid == getegid: %d\n", getpid() > 0,
         getppid() > 0, gettid() == getpid(), getuid() == geteuid(), getgid() == getegid());
  return argc;
}
