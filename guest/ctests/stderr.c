// Writes interleaved to stdout and stderr (unbuffered and buffered) and exits with status 3.
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include "ctest.h"

int t_stderr(int argc, char **argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "error line 1\n");
  printf("out line 1\n");
  fflush(stdout);
  write(2, "raw stderr\n", 11);
  for (int i = 0; i < 100; i++) fprintf(stderr, "stderr %d\n", i);
  printf("out line 2\n");
  perror("perror with errno 0");
  return 3;
}
