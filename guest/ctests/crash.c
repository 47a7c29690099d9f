// Programs that end by a signal: the exit status a shell reports is 128 + signal number.
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <pthread.h>
#include "ctest.h"

int t_segv(int argc, char **argv) {
  (void)argc; (void)argv;
  printf("about to dereference NULL\n");
  fflush(stdout);
  *(volatile int *)0 = 42; // unhandled SIGSEGV: status 139
  printf("still alive?\n");
  return 0;
}

int t_abort(int argc, char **argv) {
  (void)argc; (void)argv;
  printf("about to abort\n");
  fflush(stdout);
  abort(); // SIGABRT: status 134
}

int t_sigterm(int argc, char **argv) {
  (void)argc; (void)argv;
  printf("sending SIGTERM to myself; this line is buffered and lost\n"); // not flushed: stdout is a pipe
  write(1, "written directly\n", 17);
  kill(getpid(), SIGTERM); // status 143
  pause();
  return 0;
}

static void *exiter(void *arg) {
  (void)arg;
  printf("thread calls exit(7)\n");
  exit(7); // exit_group from a non-main thread while the main thread is blocked
}
int t_threadexit(int argc, char **argv) {
  (void)argc; (void)argv;
  pthread_t t;
  pthread_create(&t, NULL, exiter, NULL);
  for (;;) pause();
}
