// timerfd: one-shot and interval timers (expiration counts), TFD_TIMER_ABSTIME on the monotonic
// and realtime clocks, non-blocking and blocking reads, gettime/old values, reset and disarm,
// poll/epoll readiness, sharing across fork, fd flags and identity, and the errors for bad
// clocks, flags, timespecs, pointers and buffers. Only counts and booleans are printed.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include "ctest.h"

#define MS 1000000L
#define E(x) ((x) < 0 ? errno : 0)
static void *volatile BAD = (void *)16;

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct itimerspec its(long value_ns, long interval_ns) {
  struct itimerspec v;
  v.it_value.tv_sec = value_ns / 1000000000; v.it_value.tv_nsec = value_ns % 1000000000;
  v.it_interval.tv_sec = interval_ns / 1000000000; v.it_interval.tv_nsec = interval_ns % 1000000000;
  return v;
}

static void msleep(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * MS };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static const char *ename(int e) {
  switch (e) {
  case 0: return "ok"; case EAGAIN: return "EAGAIN"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
  case EFAULT: return "EFAULT"; case EPERM: return "EPERM"; default: return strerror(e);
  }
}

int t_timerfd(int argc, char **argv) {
  (void)argc; (void)argv;
  uint64_t n = 0;
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  printf("create: %s fd>=3 %d cloexec %d flags 0x%x\n", ename(E(fd)), fd >= 3, fcntl(fd, F_GETFD), fcntl(fd, F_GETFL));
  char link[64] = {0};
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  printf("readlink: %s\n", readlink(path, link, sizeof link - 1) > 0 ? link : "?");
  ssize_t r = read(fd, &n, 8);
  printf("read disarmed: %zd %s\n", r, ename(E(r)));
  struct itimerspec cur;
  timerfd_gettime(fd, &cur);
  printf("gettime disarmed: %ld %ld %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec, (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);

  // One-shot.
  // 300 ms: long enough that the checks before the expiry cannot be late even on a busy host.
  struct itimerspec v = its(300 * MS, 0);
  int64_t t0 = now_ns(CLOCK_MONOTONIC);
  printf("settime one-shot: %d\n", timerfd_settime(fd, 0, &v, NULL));
  timerfd_gettime(fd, &cur);
  printf("gettime armed: 0<value<=300ms %d interval 0 %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 300 * MS, cur.it_interval.tv_nsec == 0);
  struct pollfd pfd = { fd, POLLIN, 0 };
  printf("poll before: %d\n", poll(&pfd, 1, 0));
  int pr = poll(&pfd, 1, 5000);
  printf("poll wait: %d revents 0x%x waited>=300ms %d\n", pr, pfd.revents, now_ns(CLOCK_MONOTONIC) - t0 >= 300 * MS);
  r = read(fd, &n, 8);
  printf("read: %zd count %llu\n", r, (unsigned long long)n);
  r = read(fd, &n, 8);
  printf("read again: %s\n", ename(E(r)));
  timerfd_gettime(fd, &cur);
  printf("gettime expired: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);

  // Interval: counts accumulate while nobody reads.
  v = its(10 * MS, 10 * MS);
  t0 = now_ns(CLOCK_MONOTONIC);
  timerfd_settime(fd, 0, &v, NULL);
  msleep(105);
  read(fd, &n, 8);
  int64_t el = now_ns(CLOCK_MONOTONIC) - t0;
  printf("interval: count>=10 %d count<=elapsed/10ms %d\n", n >= 10, (int64_t)n <= el / (10 * MS));
  struct itimerspec old;
  v = its(0, 0);
  timerfd_settime(fd, 0, &v, &old);
  printf("disarm: old interval 10ms %d old value<=10ms %d\n", old.it_interval.tv_sec == 0 && old.it_interval.tv_nsec == 10 * MS, old.it_value.tv_sec == 0 && old.it_value.tv_nsec <= 10 * MS);
  r = read(fd, &n, 8);
  printf("read disarmed: %s\n", ename(E(r)));

  // Reset before expiry: the count starts again.
  v = its(20 * MS, 0);
  timerfd_settime(fd, 0, &v, NULL);
  v = its(5000 * MS, 0);
  timerfd_settime(fd, 0, &v, NULL);
  msleep(40);
  r = read(fd, &n, 8);
  printf("reset: %s\n", ename(E(r)));

  // Blocking reads on an interval timer.
  int bfd = timerfd_create(CLOCK_BOOTTIME, 0);
  v = its(5 * MS, 5 * MS);
  timerfd_settime(bfd, 0, &v, NULL);
  int ok = 1;
  for (int i = 0; i < 5; i++) {
    n = 0;
    if (read(bfd, &n, 8) != 8 || n < 1) ok = 0;
  }
  printf("blocking reads (boottime): ok %d\n", ok);
  close(bfd);

  // Absolute deadlines.
  int64_t dl = now_ns(CLOCK_MONOTONIC) + 30 * MS;
  v = its(dl, 0);
  int afd = timerfd_create(CLOCK_MONOTONIC, 0);
  printf("abstime monotonic: %d\n", timerfd_settime(afd, TFD_TIMER_ABSTIME, &v, NULL));
  n = 0;
  r = read(afd, &n, 8);
  printf("abstime read: %zd count %llu not early %d\n", r, (unsigned long long)n, now_ns(CLOCK_MONOTONIC) >= dl);
  close(afd);
  int rfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
  v = its(now_ns(CLOCK_REALTIME) - 1000 * MS, 0);
  printf("abstime realtime past: %d\n", timerfd_settime(rfd, TFD_TIMER_ABSTIME, &v, NULL));
  r = read(rfd, &n, 8);
  printf("read: %zd count %llu\n", r, (unsigned long long)n);
  v = its(now_ns(CLOCK_REALTIME) + 30 * MS, 0);
  timerfd_settime(rfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &v, NULL);
  pfd.fd = rfd;
  pr = poll(&pfd, 1, 5000);
  r = read(rfd, &n, 8);
  printf("abstime realtime future: poll %d read %zd count %llu\n", pr, r, (unsigned long long)n);
  v = its(now_ns(CLOCK_REALTIME) + 3600000 * MS, 0);
  timerfd_settime(rfd, TFD_TIMER_ABSTIME, &v, NULL);
  timerfd_gettime(rfd, &cur);
  printf("gettime abstime: relative value about 1h %d\n", cur.it_value.tv_sec >= 3590 && cur.it_value.tv_sec <= 3600);
  close(rfd);

  // epoll: only the armed timer becomes ready.
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int t1 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), t2 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 111 };
  epoll_ctl(ep, EPOLL_CTL_ADD, t1, &ev);
  ev.data.u64 = 222;
  epoll_ctl(ep, EPOLL_CTL_ADD, t2, &ev);
  struct epoll_event out[4];
  printf("epoll, both disarmed: %d\n", epoll_wait(ep, out, 4, 0));
  v = its(15 * MS, 0);
  timerfd_settime(t2, 0, &v, NULL);
  int ne = epoll_wait(ep, out, 4, 5000);
  printf("epoll: %d data %llu events 0x%x\n", ne, (unsigned long long)out[0].data.u64, out[0].events);
  read(t2, &n, 8);
  printf("epoll after read: %d\n", epoll_wait(ep, out, 4, 0));
  close(ep);

  // fork: the child shares the description; what it reads the parent cannot.
  v = its(10 * MS, 0);
  timerfd_settime(t1, 0, &v, NULL);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    struct pollfd cp = { t1, POLLIN, 0 };
    poll(&cp, 1, 5000);
    uint64_t c = 0;
    ssize_t cr = read(t1, &c, 8);
    printf("child read: %zd count %llu\n", cr, (unsigned long long)c);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  r = read(t1, &n, 8);
  printf("parent after child read: %s\n", ename(E(r)));

  // Errors.
  errno = 0;
  printf("create bad clock: %s\n", ename(E(timerfd_create(99, 0))));
  printf("create clock_process_cputime: %s\n", ename(E(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0))));
  printf("create bad flags: %s\n", ename(E(timerfd_create(CLOCK_MONOTONIC, 0x40))));
  v = its(MS, 0);
  printf("settime bad fd: %s\n", ename(E(timerfd_settime(999, 0, &v, NULL))));
  int efd = eventfd(0, 0);
  printf("settime on eventfd: %s\n", ename(E(timerfd_settime(efd, 0, &v, NULL))));
  printf("gettime on eventfd: %s\n", ename(E(timerfd_gettime(efd, &cur))));
  printf("settime bad flags: %s\n", ename(E(timerfd_settime(t1, 4, &v, NULL))));
  v.it_value.tv_nsec = 1000000000;
  printf("settime nsec 1e9: %s\n", ename(E(timerfd_settime(t1, 0, &v, NULL))));
  v = its(MS, 0);
  v.it_interval.tv_sec = -1;
  printf("settime negative interval: %s\n", ename(E(timerfd_settime(t1, 0, &v, NULL))));
  printf("settime NULL: %s\n", ename(E(timerfd_settime(t1, 0, NULL, NULL))));
  printf("settime bad new pointer: %s\n", ename(E(timerfd_settime(t1, 0, BAD, NULL))));
  v = its(5000 * MS, 0);
  printf("settime bad old pointer: %s\n", ename(E(timerfd_settime(t1, 0, &v, BAD))));
  timerfd_gettime(t1, &cur);
  printf("  armed anyway: %d\n", cur.it_value.tv_sec > 0);
  printf("gettime bad pointer: %s\n", ename(E(timerfd_gettime(t1, BAD))));
  v = its(0, 0);
  v.it_value.tv_sec = INT64_MAX;
  v.it_interval.tv_sec = INT64_MAX;
  printf("settime INT64_MAX seconds: %s\n", ename(E(timerfd_settime(t1, 0, &v, NULL))));
  timerfd_gettime(t1, &cur);
  printf("  saturated: value>1e9 s %d interval>1e9 s %d\n", cur.it_value.tv_sec > 1000000000, cur.it_interval.tv_sec > 1000000000);
  printf("settime INT64_MAX seconds, absolute: %s\n", ename(E(timerfd_settime(t1, TFD_TIMER_ABSTIME, &v, NULL))));
  r = read(t1, &n, 8);
  printf("  read: %s\n", ename(E(r)));
  v = its(MS, 0);
  timerfd_settime(t1, 0, &v, NULL);
  msleep(5);
  uint32_t small;
  printf("read 4 bytes: %s\n", ename(E(read(t1, &small, 4))));
  printf("read bad pointer: %s\n", ename(E(read(t1, BAD, 8))));
  printf("write: %s\n", ename(E(write(t1, &n, 8))));
  r = read(t1, &n, 8);
  printf("read after errors: %zd count %llu\n", r, (unsigned long long)n);
  close(t1); close(t2); close(efd); close(fd);
  return 0;
}
