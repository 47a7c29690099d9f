// Exit status passthrough: output through stdio (flushed at exit) and exit status 42.
#include <stdio.h>
#include <stdlib.h>
#include "ctest.h"

static void bye(void) { printf("atexit handler ran\n"); }

int t_exit42(int argc, char **argv) {
  (void)argc; (void)argv;
  atexit(bye);
  printf("exiting with 42\n");
  exit(42);
}
