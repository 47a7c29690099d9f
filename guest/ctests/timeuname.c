// Clocks, sleeping, uname and sysconf: only properties that hold on any machine are printed.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/resource.h>
#include <sys/random.h>
#include "ctest.h"

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int t_timeuname(int argc, char **argv) {
  (void)argc; (void)argv;
  struct timespec a, b, r;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int mono = 1;
  for (int i = 0; i < 20000; i++) {
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (ns(b) < ns(a)) mono = 0;
    a = b;
  }
  printf("CLOCK_MONOTONIC non-decreasing over 20000 reads: %d\n", mono);
  printf("clock_getres(MONOTONIC) <= 1ms: %d\n", clock_getres(CLOCK_MONOTONIC, &r) == 0 && ns(r) <= 1000000 && ns(r) > 0);
  clock_gettime(CLOCK_REALTIME, &a);
  printf("CLOCK_REALTIME after 2020: %d, tv_nsec in range: %d\n", a.tv_sec > 1577836800, a.tv_nsec >= 0 && a.tv_nsec < 1000000000);
  struct timeval tv; gettimeofday(&tv, NULL);
  time_t t = time(NULL);
  printf("gettimeofday/time agree with CLOCK_REALTIME (within 5 s): %d %d\n", tv.tv_sec - a.tv_sec <= 5 && tv.tv_sec >= a.tv_sec,
         t - a.tv_sec <= 5 && t >= a.tv_sec);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  printf("cpu-time clocks readable: %d %d\n", ns(a) >= 0, ns(b) >= 0);
  // nanosleep / clock_nanosleep / usleep
  struct timespec req = {0, 30 * 1000000}, rem = {9, 9};
  clock_gettime(CLOCK_MONOTONIC, &a);
  int rc = nanosleep(&req, &rem);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long long el = ns(b) - ns(a);
  printf("nanosleep(30ms): rc %d, slept >= 30ms: %d, < 3s: %d\n", rc, el >= 30000000, el < 3000000000LL);
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec until = a; until.tv_nsec += 20000000; if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
  rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("clock_nanosleep(ABSTIME +20ms): rc %d, reached: %d\n", rc, ns(b) >= ns(until));
  clock_gettime(CLOCK_MONOTONIC, &a);
  usleep(10000);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("usleep(10ms) >= 10ms: %d\n", ns(b) - ns(a) >= 10000000);
  // uname
  struct utsname u;
  int ur = uname(&u);
  printf("uname rc %d sysname %s machine %s release non-empty %d nodename non-empty %d\n", ur, u.sysname, u.machine,
         u.release[0] != 0, u.nodename[0] != 0);
  // sysconf & limits
  printf("_SC_PAGESIZE %ld _SC_CLK_TCK %ld _SC_NPROCESSORS_ONLN >= 1: %d _SC_OPEN_MAX > 0: %d\n", sysconf(_SC_PAGESIZE),
         sysconf(_SC_CLK_TCK), sysconf(_SC_NPROCESSORS_ONLN) >= 1, sysconf(_SC_OPEN_MAX) > 0);
  struct rlimit rl, rn;
  int r1 = getrlimit(RLIMIT_STACK, &rl), r2 = getrlimit(RLIMIT_NOFILE, &rn);
  printf("getrlimit(STACK) rc %d cur > 0 %d; getrlimit(NOFILE) rc %d cur > 2: %d\n", r1, rl.rlim_cur > 0, r2, rn.rlim_cur > 2);
  struct tms tm; clock_t c = times(&tm);
  printf("times() ok %d, clock() >= 0 %d, sched_yield %d\n", c != (clock_t)-1, clock() >= 0, sched_yield());
  unsigned char rnd[16] = {0};
  ssize_t gr = getrandom(rnd, sizeof rnd, 0);
  int nz = 0; for (int i = 0; i < 16; i++) nz |= rnd[i];
  printf("getrandom: %zd bytes, not all zero %d\n", gr, nz != 0);
  // time formatting of a fixed instant (TZ from the environment is not read: UTC)
  time_t fixed = 1234567890; struct tm g; gmtime_r(&fixed, &g);
  char buf[64]; strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %A %j", &g);
  printf("gmtime(1234567890) = %s, mktime round trip %d\n", buf, (long long)timegm(&g) == 1234567890LL);
  return 0;
}
