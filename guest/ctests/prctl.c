// prctl(2): PR_SET_NAME/PR_GET_NAME per thread (16 bytes, truncated to 15), PR_SET_PDEATHSIG
// delivered when the parent exits, PR_SET_CHILD_SUBREAPER adopting an orphaned grandchild (and
// being able to wait for it), DUMPABLE, NO_NEW_PRIVS, KEEPCAPS, THP_DISABLE, TIMERSLACK,
// PR_GET_TID_ADDRESS, PR_CAPBSET_READ, and EINVAL for bad arguments and an unknown option.
// `ctest prctl linux` runs the options QEMU 7.2 does not pass through (THP_DISABLE,
// GET_TID_ADDRESS, CHILD_SUBREAPER): test/user-procfs.test.ts checks them against Linux's rules.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ctest.h"

static const char *res(long r) {
  static char b[32];
  if (r < 0) return strerror(errno);
  snprintf(b, sizeof b, "%ld", r);
  return b;
}

static void *namer(void *arg) {
  (void)arg;
  prctl(PR_SET_NAME, "in-thread", 0, 0, 0);
  char n[16] = {0};
  prctl(PR_GET_NAME, n, 0, 0, 0);
  printf("thread PR_GET_NAME: %s\n", n);
  return NULL;
}

static volatile sig_atomic_t got;
static void onUsr1(int s) { (void)s; got = 1; }

static void sleepMs(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/** A grandchild with PR_SET_PDEATHSIG(SIGUSR1) gets it when its parent (the child) exits. */
static void pdeathsig(void) {
  int p[2];
  pipe(p);
  pid_t child = fork();
  if (child == 0) {
    pid_t gc = fork();
    if (gc == 0) {
      signal(SIGUSR1, onUsr1);
      prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
      int sig = 0;
      prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
      write(p[1], sig == SIGUSR1 ? "G" : "g", 1);
      for (int i = 0; i < 1000 && !got; i++) sleepMs(10);
      write(p[1], got ? "S" : "s", 1);
      _exit(0);
    }
    char c;
    read(p[0], &c, 1); // the grandchild has set its death signal
    write(p[1], &c, 1);
    _exit(0);
  }
  close(p[1]);
  waitpid(child, NULL, 0);
  char buf[3] = {0};
  read(p[0], buf, 1);
  read(p[0], buf + 1, 1);
  printf("pdeathsig: PR_GET_PDEATHSIG read back: %s, SIGUSR1 after the parent exited: %s\n", buf[0] == 'G' ? "yes" : "no", buf[1] == 'S' ? "yes" : "no");
  close(p[0]);
  int sig = -1;
  prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
  printf("PR_GET_PDEATHSIG here: %d\n", sig);
  printf("PR_SET_PDEATHSIG(65): %s\n", res(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0)));
}

/** With PR_SET_CHILD_SUBREAPER, an orphaned grandchild is reparented here and can be waited for. */
static void subreaper(void) {
  printf("PR_SET_CHILD_SUBREAPER: %s\n", res(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)));
  int v = -1;
  prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
  printf("PR_GET_CHILD_SUBREAPER: %d\n", v);
  int p[2], q[2];
  pipe(p); // grandchild -> this process: the result
  pipe(q); // grandchild -> child: it may exit now
  pid_t me = getpid();
  pid_t child = fork();
  if (child == 0) {
    pid_t gc = fork();
    if (gc == 0) {
      pid_t parent = getppid();
      write(q[1], "x", 1);
      for (int i = 0; i < 1000 && getppid() == parent; i++) sleepMs(10);
      write(p[1], getppid() == me ? "R" : "r", 1);
      _exit(7);
    }
    char c;
    read(q[0], &c, 1);
    _exit(0);
  }
  close(p[1]);
  close(q[0]);
  close(q[1]);
  char c = 0;
  waitpid(child, NULL, 0);
  read(p[0], &c, 1);
  printf("orphan reparented to the subreaper: %s\n", c == 'R' ? "yes" : "no");
  int st;
  pid_t w = wait(&st);
  printf("subreaper waits for it: %s, status %d\n", w > 0 && w != child ? "yes" : "no", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  close(p[0]);
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

int t_prctl(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "linux") == 0) {
    // Options QEMU 7.2 rejects with EINVAL although Linux has them (test/user-procfs.test.ts).
    printf("PR_GET_THP_DISABLE: %s\n", res(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)));
    printf("PR_SET_THP_DISABLE(1): %s\n", res(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)));
    printf("PR_GET_THP_DISABLE: %s\n", res(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)));
    prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
    pid_t *tidp = NULL;
    long rc0 = prctl(PR_GET_TID_ADDRESS, &tidp, 0, 0, 0);
    printf("PR_GET_TID_ADDRESS: %s, it holds gettid(): %s\n", res(rc0), tidp && *tidp == (pid_t)syscall(SYS_gettid) ? "yes" : "no");
    printf("PR_GET_TID_ADDRESS(bad pointer): %s\n", res(prctl(PR_GET_TID_ADDRESS, (void *)8, 0, 0, 0)));
    subreaper();
    return 0;
  }
  char n[16];
  memset(n, 'z', sizeof n);
  printf("PR_SET_NAME: %s\n", res(prctl(PR_SET_NAME, "a-name-longer-than-15", 0, 0, 0)));
  prctl(PR_GET_NAME, n, 0, 0, 0);
  printf("PR_GET_NAME: %s (terminated at 15: %s)\n", n, n[15] == 0 ? "yes" : "no");
  pthread_t th;
  pthread_create(&th, NULL, namer, NULL);
  pthread_join(th, NULL);
  prctl(PR_GET_NAME, n, 0, 0, 0);
  printf("main PR_GET_NAME unchanged: %s\n", n);
  printf("PR_SET_NAME(bad pointer): %s\n", res(prctl(PR_SET_NAME, (char *)8, 0, 0, 0)));
  printf("PR_GET_NAME(bad pointer): %s\n", res(prctl(PR_GET_NAME, (char *)8, 0, 0, 0)));

  printf("PR_GET_DUMPABLE: %s\n", res(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)));
  printf("PR_SET_DUMPABLE(0): %s\n", res(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)));
  printf("PR_GET_DUMPABLE: %s\n", res(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)));
  printf("PR_SET_DUMPABLE(2): %s\n", res(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0)));
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);

  printf("PR_GET_NO_NEW_PRIVS: %s\n", res(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
  printf("PR_GET_NO_NEW_PRIVS(arg2=1): %s\n", res(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0)));
  printf("PR_SET_NO_NEW_PRIVS(0): %s\n", res(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0)));
  printf("PR_SET_NO_NEW_PRIVS(1, 1): %s\n", res(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0)));

  printf("PR_GET_KEEPCAPS: %s\n", res(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0)));
  printf("PR_SET_KEEPCAPS(1): %s\n", res(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)));
  printf("PR_GET_KEEPCAPS: %s\n", res(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0)));
  printf("PR_SET_KEEPCAPS(2): %s\n", res(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0)));
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);

  printf("PR_SET_TIMERSLACK(1000): %s\n", res(prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0)));
  printf("PR_GET_TIMERSLACK: %s\n", res(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)));

  long rc = prctl(PR_CAPBSET_READ, 0, 0, 0, 0);
  printf("PR_CAPBSET_READ(CAP_CHOWN) is 0 or 1: %s\n", rc == 0 || rc == 1 ? "yes" : "no");
  printf("PR_CAPBSET_READ(999): %s\n", res(prctl(PR_CAPBSET_READ, 999, 0, 0, 0)));
  printf("unknown option 12345: %s\n", res(prctl(12345, 0, 0, 0, 0)));
  printf("option -1: %s\n", res(prctl(-1, 0, 0, 0, 0)));

  pdeathsig();
  printf("PR_SET_NO_NEW_PRIVS(1): %s\n", res(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
  printf("PR_GET_NO_NEW_PRIVS: %s\n", res(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
  return 0;
}
