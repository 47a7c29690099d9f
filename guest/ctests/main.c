// ctest: one static multi-call binary for the C conformance cases (keeps the committed size small).
// Usage: ctest NAME [ARGS...]  -- runs t_NAME(argc - 1, argv + 1).
#include <stdio.h>
#include <string.h>
#include "ctest.h"

const char *ctest_argv0;

#define X(n) { #n, t_##n },
static const struct { const char *name; int (*fn)(int, char **); } tests[] = { CTESTS(X) };

int main(int argc, char **argv) {
  ctest_argv0 = argv[0];
  if (argc >= 2)
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
      if (strcmp(argv[1], tests[i].name) == 0) return tests[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "usage: ctest NAME [ARGS...]; NAME is one of:");
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) fprintf(stderr, " %s", tests[i].name);
  fprintf(stderr, "\n");
  return 2;
}
