// Exit while other threads are busy writing to stdout/stderr: the process must end every time.
// `busyexit N` forks N children that each start 4 writer threads and exit (return from their
// main function or exit()); their stdout and stderr are a pipe the parent drains (and for every
// 4th child closes after 100 bytes, like `| head -c 100`). Prints only "ok". `busyexit child K`
// is one such child on its own: test/shmem.test.ts runs it with its output to a host pipe that
// is not read until it has ended (the writers block in the host's write).
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctest.h"

static void *writer(void *arg) {
  int fd = (int)(long)arg;
  char line[64];
  memset(line, 'x', sizeof line);
  line[63] = '\n';
  for (;;) write(fd, line, sizeof line);
  return NULL;
}

static int child(int mode) {
  pthread_t th;
  for (int i = 0; i < 4; i++) pthread_create(&th, NULL, writer, (void *)(long)(i % 2 ? 2 : 1));
  usleep(1000 * (mode % 3));
  if (mode % 2) exit(0);
  return 0;  // return from main
}

int t_busyexit(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "child") == 0) return child(atoi(argv[2]));
  int n = argc > 1 ? atoi(argv[1]) : 50;
  signal(SIGPIPE, SIG_IGN);
  int bad = 0;
  for (int i = 0; i < n; i++) {
    int pfd[2];
    pipe(pfd);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(pfd[1], 1);
      dup2(pfd[1], 2);
      close(pfd[0]);
      close(pfd[1]);
      if (i % 4 == 3) signal(SIGPIPE, SIG_DFL);
      exit(child(i));
    }
    close(pfd[1]);
    char buf[4096];
    long total = 0;
    ssize_t r;
    // Every 4th child: stop reading after 100 bytes (like `| head -c 100`).
    while ((r = read(pfd[0], buf, sizeof buf)) > 0) {
      total += r;
      if (i % 4 == 3 && total >= 100) break;
    }
    close(pfd[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid) bad++;
    else if (WIFEXITED(st) ? WEXITSTATUS(st) != 0 : WTERMSIG(st) != SIGPIPE) {
      bad++;
      fprintf(stderr, "child %d: status 0x%x\n", i, st);
    }
  }
  printf(bad ? "bad: %d\n" : "ok\n", bad);
  return bad != 0;
}
