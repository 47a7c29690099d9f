// Resource usage and CPU-time timers: getrusage(SELF/THREAD/CHILDREN) growing with work, wait4's
// rusage of a child that worked, maxrss after touching memory, voluntary context switches after
// sleeping, times() and CLOCK_PROCESS_CPUTIME_ID consistent with getrusage, ITIMER_PROF and
// ITIMER_VIRTUAL delivering SIGPROF / SIGVTALRM while the process runs (and ITIMER_VIRTUAL not
// counting while it sleeps), getitimer after setitimer and after disarming, ITIMER_REAL, errors.
// Every wait is bounded by a wall-clock limit; only outcomes are printed.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ctest.h"

static const char *yesno(int c) { return c ? "yes" : "no"; }

static long long usec(struct timeval tv) { return (long long)tv.tv_sec * 1000000 + tv.tv_usec; }

static double wallNow(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;

/** Works until RUSAGE_SELF user time grew by `us` (or 30 s of wall time passed). */
static int burn(long long us) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  long long start = usec(r.ru_utime);
  double limit = wallNow() + 30;
  while (wallNow() < limit) {
    for (int i = 0; i < 200000; i++) sink = sink * 31 + (unsigned long)i;
    getrusage(RUSAGE_SELF, &r);
    if (usec(r.ru_utime) - start >= us) return 1;
  }
  return 0;
}

static volatile sig_atomic_t profs, vtalrms;
static void onProf(int s) { (void)s; profs++; }
static void onVtalrm(int s) { (void)s; vtalrms++; }

/** Runs until `*count` reaches n (or 30 s of wall time). */
static int spinUntil(volatile sig_atomic_t *count, int n) {
  double limit = wallNow() + 30;
  while (*count < n && wallNow() < limit) for (int i = 0; i < 100000; i++) sink = sink * 7 + (unsigned long)i;
  return *count >= n;
}

int t_rusage(int argc, char **argv) {
  (void)argc; (void)argv;
  setvbuf(stdout, NULL, _IONBF, 0);
  struct rusage a, b, t, c;
  getrusage(RUSAGE_CHILDREN, &c);
  printf("children usage is zero before any wait: %s\n", yesno(usec(c.ru_utime) == 0 && usec(c.ru_stime) == 0 && c.ru_maxrss == 0));
  getrusage(RUSAGE_SELF, &a);
  printf("user time grows with work: %s\n", yesno(burn(30000)));
  // (Linux scales thread and process times separately: only the call itself is compared.)
  int rt = getrusage(RUSAGE_THREAD, &t);
  getrusage(RUSAGE_SELF, &b);
  printf("self utime after > before: %s\n", yesno(usec(b.ru_utime) > usec(a.ru_utime)));
  printf("getrusage(RUSAGE_THREAD): %d\n", rt);
  printf("maxrss > 0: %s\n", yesno(b.ru_maxrss > 0));
  size_t len = 16 << 20;
  char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(m, 1, len);
  getrusage(RUSAGE_SELF, &a);
  printf("maxrss grew by >= 16 MiB after touching 16 MiB: %s\n", yesno(a.ru_maxrss - b.ru_maxrss >= 16 * 1024 - 64));
  printf("minflt grew after touching it: %s\n", yesno(a.ru_minflt > b.ru_minflt));
  munmap(m, len);
  struct timespec ms = {0, 2000000};
  for (int i = 0; i < 3; i++) nanosleep(&ms, NULL);
  getrusage(RUSAGE_SELF, &b);
  printf("voluntary context switches grew after sleeping: %s\n", yesno(b.ru_nvcsw > a.ru_nvcsw));

  struct tms tm;
  times(&tm);
  getrusage(RUSAGE_SELF, &b);
  long hz = sysconf(_SC_CLK_TCK);
  long long tmsUser = (long long)tm.tms_utime * 1000000 / hz;
  printf("times() utime within a tick of getrusage: %s\n", yesno(tmsUser <= usec(b.ru_utime) + 10000 && tmsUser + 20000 >= usec(b.ru_utime)));
  struct timespec cpu;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  long long cpuUs = (long long)cpu.tv_sec * 1000000 + cpu.tv_nsec / 1000;
  printf("CLOCK_PROCESS_CPUTIME_ID >= utime + stime: %s\n", yesno(cpuUs + 1000 >= usec(b.ru_utime) + usec(b.ru_stime)));

  pid_t pid = fork();
  if (pid == 0) _exit(burn(30000) ? 0 : 1);
  int st;
  struct rusage cr;
  pid_t w = wait4(pid, &st, 0, &cr);
  printf("wait4: child exited 0: %s, rusage utime >= 30 ms: %s\n", yesno(w == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0), yesno(usec(cr.ru_utime) >= 30000));
  getrusage(RUSAGE_CHILDREN, &c);
  printf("children usage includes it: %s\n", yesno(usec(c.ru_utime) >= usec(cr.ru_utime) && c.ru_maxrss > 0));
  printf("getrusage(99): %s\n", getrusage(99, &a) < 0 ? strerror(errno) : "ok");
  printf("getrusage(bad pointer): %s\n", syscall(165, RUSAGE_SELF, (void *)8) < 0 ? strerror(errno) : "ok");

  // ITIMER_PROF: every 10 ms of CPU time.
  signal(SIGPROF, onProf);
  struct itimerval it = {{0, 10000}, {0, 10000}}, old, cur;
  printf("setitimer(ITIMER_PROF): %d\n", setitimer(ITIMER_PROF, &it, NULL));
  getitimer(ITIMER_PROF, &cur);
  printf("getitimer(ITIMER_PROF) interval 10 ms, value > 0: %s %s\n", yesno(usec(cur.it_interval) == 10000), yesno(usec(cur.it_value) > 0));
  printf("SIGPROF delivered 3 times while working: %s\n", yesno(spinUntil(&profs, 3)));
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, &old);
  printf("disarming returns the old interval: %s\n", yesno(usec(old.it_interval) == 10000));
  getitimer(ITIMER_PROF, &cur);
  printf("getitimer after disarming is zero: %s\n", yesno(usec(cur.it_value) == 0 && usec(cur.it_interval) == 0));

  // ITIMER_VIRTUAL: only user time counts; sleeping does not make it fire.
  signal(SIGVTALRM, onVtalrm);
  struct itimerval once = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_VIRTUAL, &once, NULL);
  struct timespec sl = {0, 100000000};
  nanosleep(&sl, NULL);
  printf("no SIGVTALRM while sleeping: %s\n", yesno(vtalrms == 0));
  printf("SIGVTALRM delivered once the process works: %s\n", yesno(spinUntil(&vtalrms, 1)));
  getitimer(ITIMER_VIRTUAL, &cur);
  printf("one-shot ITIMER_VIRTUAL is disarmed after firing: %s\n", yesno(usec(cur.it_value) == 0));
  struct itimerval rep = {{0, 5000}, {0, 5000}};
  setitimer(ITIMER_VIRTUAL, &rep, NULL);
  printf("periodic SIGVTALRM 3 more times: %s\n", yesno(spinUntil(&vtalrms, 4)));
  setitimer(ITIMER_VIRTUAL, &off, NULL);

  // ITIMER_REAL (existing): value counts down from what was set.
  struct itimerval real = {{0, 0}, {10, 0}};
  setitimer(ITIMER_REAL, &real, NULL);
  getitimer(ITIMER_REAL, &cur);
  printf("ITIMER_REAL value in (9 s, 10 s]: %s\n", yesno(usec(cur.it_value) > 9000000 && usec(cur.it_value) <= 10000000));
  setitimer(ITIMER_REAL, &off, &old);
  printf("ITIMER_REAL disarm returns the old value: %s\n", yesno(usec(old.it_value) > 9000000));

  struct itimerval bad = {{0, 0}, {0, 1000000}};
  printf("setitimer(5): %s\n", setitimer(5, &it, NULL) < 0 ? strerror(errno) : "ok");
  printf("setitimer(usec = 1000000): %s\n", setitimer(ITIMER_PROF, &bad, NULL) < 0 ? strerror(errno) : "ok");
  printf("getitimer(bad pointer): %s\n", syscall(102, ITIMER_PROF, (void *)8) < 0 ? strerror(errno) : "ok");
  return 0;
}
