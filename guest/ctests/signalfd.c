// signalfd: signals blocked and read as struct signalfd_siginfo (from raise, kill, sigqueue with
// a value, another thread, a child), signals stay pending until read, standard signals do not
// queue and real-time ones do, several records per read, per-thread pending signals, blocking
// reads woken by another thread, poll/epoll readiness, changing the mask, fork, fd flags and
// identity, and the errors for bad flags, sizes, fds, pointers and short buffers.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ctest.h"

#define E(x) ((x) < 0 ? errno : 0)
static void *volatile BAD = (void *)16;

static const char *ename(int e) {
  switch (e) {
  case 0: return "ok"; case EAGAIN: return "EAGAIN"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
  case EFAULT: return "EFAULT"; case EPERM: return "EPERM"; default: return strerror(e);
  }
}

static void show(const char *what, const struct signalfd_siginfo *s) {
  printf("%s: signo %u code %d pid_ok %d uid_ok %d", what, s->ssi_signo, s->ssi_code, s->ssi_pid == (uint32_t)getpid(), s->ssi_uid == getuid());
  if (s->ssi_code == SI_QUEUE) printf(" int %d ptr %llu", s->ssi_int, (unsigned long long)s->ssi_ptr);
  printf("\n");
}

static int pending(int sig) {
  sigset_t s;
  sigpending(&s);
  return sigismember(&s, sig);
}

static pthread_t main_thread;

static void *sender(void *arg) {
  (void)arg;
  struct timespec ts = { 0, 30000000 };
  nanosleep(&ts, NULL);
  kill(getpid(), SIGUSR2);
  return NULL;
}

static void *thread_reader(void *arg) {
  int fd = *(int *)arg;
  struct signalfd_siginfo s;
  // pthread_kill(self) makes a thread-directed signal: only this thread reads it.
  pthread_kill(pthread_self(), SIGUSR1);
  ssize_t r = read(fd, &s, sizeof s);
  printf("thread reads its own: %zd signo %u code %d\n", r, s.ssi_signo, s.ssi_code);
  return NULL;
}

int t_signalfd(int argc, char **argv) {
  (void)argc; (void)argv;
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGRTMIN);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, NULL);
  main_thread = pthread_self();

  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  int fd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
  printf("create: fd>=3 %d cloexec %d flags 0x%x\n", fd >= 3, fcntl(fd, F_GETFD), fcntl(fd, F_GETFL));
  char link[64] = {0}, path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  printf("readlink: %s\n", readlink(path, link, sizeof link - 1) > 0 ? link : "?");
  struct signalfd_siginfo s[4];
  ssize_t r = read(fd, s, sizeof s[0]);
  printf("read empty: %s\n", ename(E(r)));
  struct pollfd pfd = { fd, POLLIN, 0 };
  printf("poll empty: %d\n", poll(&pfd, 1, 0));

  raise(SIGUSR1);
  printf("after raise: pending %d poll %d revents 0x%x\n", pending(SIGUSR1), poll(&pfd, 1, 0), pfd.revents);
  r = read(fd, s, sizeof s);
  printf("read: %zd\n", r);
  show("raise", &s[0]);
  printf("pending after read: %d\n", pending(SIGUSR1));

  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGUSR1);
  r = read(fd, s, sizeof s);
  printf("two kills, standard signal: %zd records\n", r / (ssize_t)sizeof s[0]);
  show("kill", &s[0]);

  // SIGUSR2 is not in the mask: it stays pending, unread.
  kill(getpid(), SIGUSR2);
  r = read(fd, s, sizeof s);
  printf("other signal: %s pending %d\n", ename(E(r)), pending(SIGUSR2));

  // Change the mask of the same signalfd.
  sigaddset(&m, SIGUSR2);
  sigaddset(&m, SIGRTMIN);
  printf("update mask returns fd: %d\n", signalfd(fd, &m, 0) == fd);
  printf("flags unchanged 0x%x\n", fcntl(fd, F_GETFL));
  r = read(fd, s, sizeof s);
  printf("now reads SIGUSR2: %zd signo %u pending %d\n", r, s[0].ssi_signo, pending(SIGUSR2));

  // Real-time signals queue, with their values; several records per read.
  for (int i = 0; i < 3; i++) {
    union sigval sv = { .sival_int = 100 + i };
    sigqueue(getpid(), SIGRTMIN, sv);
  }
  r = read(fd, s, 2 * sizeof s[0] + 100);
  printf("rt queued x3, read 2.8 records: %zd bytes\n", r);
  show("sigqueue", &s[0]);
  show("sigqueue", &s[1]);
  r = read(fd, s, sizeof s);
  printf("rest: %zd bytes\n", r);
  show("sigqueue", &s[0]);

  // A signal directed at another thread is that thread's.
  pthread_t th;
  pthread_create(&th, NULL, thread_reader, &fd);
  pthread_join(th, NULL);
  r = read(fd, s, sizeof s);
  printf("main after thread: %s\n", ename(E(r)));
  pthread_kill(main_thread, SIGUSR1);
  r = read(fd, s, sizeof s);
  printf("pthread_kill to main: %zd code %d\n", r, s[0].ssi_code);

  // A blocking read woken by another thread's kill.
  int bfd = signalfd(-1, &m, 0);
  pthread_create(&th, NULL, sender, NULL);
  r = read(bfd, s, sizeof s);
  printf("blocking read: %zd signo %u\n", r, s[0].ssi_signo);
  pthread_join(th, NULL);

  // epoll readiness.
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, out[2];
  epoll_ctl(ep, EPOLL_CTL_ADD, bfd, &ev);
  printf("epoll empty: %d\n", epoll_wait(ep, out, 2, 0));
  kill(getpid(), SIGUSR1);
  int ne = epoll_wait(ep, out, 2, 1000);
  printf("epoll: %d data %llu events 0x%x\n", ne, (unsigned long long)out[0].data.u64, out[0].events);
  read(bfd, s, sizeof s);
  close(ep);

  // SIGCHLD through a signalfd; a child reads its own signals through the inherited fd.
  sigset_t cm;
  sigemptyset(&cm);
  sigaddset(&cm, SIGCHLD);
  int cfd = signalfd(-1, &cm, 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    kill(getpid(), SIGUSR1);
    struct signalfd_siginfo c;
    ssize_t cr = read(fd, &c, sizeof c);
    printf("child reads own: %zd signo %u pid_ok %d\n", cr, c.ssi_signo, c.ssi_pid == (uint32_t)getpid());
    fflush(stdout);
    _exit(5);
  }
  r = read(cfd, s, sizeof s);
  printf("SIGCHLD: %zd signo %u code %d pid_ok %d status %d\n", r, s[0].ssi_signo, s[0].ssi_code, s[0].ssi_pid == (uint32_t)pid, s[0].ssi_status);
  int st;
  waitpid(pid, &st, 0);
  r = read(fd, s, sizeof s);
  printf("parent after child: %s\n", ename(E(r)));

  // Errors.
  printf("bad flags: %s\n", ename(E(signalfd(-1, &m, 0x10))));
  printf("mask NULL: %s\n", ename(E(syscall(SYS_signalfd4, -1, NULL, 8, 0))));
  printf("mask bad pointer: %s\n", ename(E(syscall(SYS_signalfd4, -1, BAD, 8, 0))));
  printf("bad fd: %s\n", ename(E(signalfd(999, &m, 0))));
  printf("not a signalfd: %s\n", ename(E(signalfd(1, &m, 0))));
  kill(getpid(), SIGUSR1);
  printf("read 127 bytes: %s\n", ename(E(read(fd, s, 127))));
  printf("read bad pointer: %s\n", ename(E(read(fd, BAD, sizeof s[0]))));
  printf("write: %s\n", ename(E(write(fd, s, sizeof s[0]))));
  r = read(fd, s, sizeof s);
  printf("still pending after errors: %zd signo %u\n", r, s[0].ssi_signo);
  close(fd); close(bfd); close(cfd);
  return 0;
}
