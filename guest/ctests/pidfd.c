// pidfds: pidfd_open on a child and on itself, poll/epoll readable when the child exits (and
// POLLHUP once reaped), waitid(P_PIDFD) (blocking and PIDFD_NONBLOCK's EAGAIN), pidfd_send_signal
// (default action, a queued value read by the child, to itself, after the child is reaped),
// pidfd_getfd (a dup of the child's file), the fd flags and identity, and the errors for bad
// pids, flags, fds, siginfo and pointers.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ctest.h"

#define E(x) ((x) < 0 ? errno : 0)
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
static void *volatile BAD = (void *)16;

static const char *ename(int e) {
  switch (e) {
  case 0: return "ok"; case EAGAIN: return "EAGAIN"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
  case EFAULT: return "EFAULT"; case EPERM: return "EPERM"; case ESRCH: return "ESRCH"; case ECHILD: return "ECHILD";
  case ENOENT: return "ENOENT"; default: return strerror(e);
  }
}

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, info, flags); }
static int pidfd_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

/** A child that waits for a byte on `go` and then exits with `code`. */
static pid_t child_waiting(int go[2], int code) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);
    char c;
    read(go[0], &c, 1);
    _exit(code);
  }
  close(go[0]);
  return pid;
}

static volatile int tid_of_thread;
static void *thread_fn(void *arg) {
  (void)arg;
  tid_of_thread = gettid();
  while (tid_of_thread) usleep(1000);
  return NULL;
}

int t_pidfd(int argc, char **argv) {
  (void)argc; (void)argv;
  int go[2];
  pipe(go);
  pid_t pid = child_waiting(go, 7);
  int fd = pidfd_open(pid, 0);
  printf("pidfd_open child: fd>=3 %d cloexec %d flags 0x%x\n", fd >= 3, fcntl(fd, F_GETFD), fcntl(fd, F_GETFL));
  struct pollfd pfd = { fd, POLLIN, 0 };
  printf("poll running: %d\n", poll(&pfd, 1, 0));
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[2];
  printf("epoll_ctl: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
  printf("epoll running: %d\n", epoll_wait(ep, out, 2, 0));
  int nb = pidfd_open(pid, PIDFD_NONBLOCK);
  printf("nonblocking pidfd: flags 0x%x\n", fcntl(nb, F_GETFL));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  printf("waitid nonblocking, running: %s\n", ename(E(waitid(P_PIDFD, nb, &si, WEXITED))));
  write(go[1], "x", 1);
  close(go[1]);
  int pr = poll(&pfd, 1, 5000);
  printf("poll after exit: %d revents 0x%x\n", pr, pfd.revents);
  int ne = epoll_wait(ep, out, 2, 5000);
  printf("epoll after exit: %d data %llu\n", ne, (unsigned long long)out[0].data.u64);
  printf("send signal 0 to zombie: %s\n", ename(E(pidfd_send_signal(fd, 0, NULL, 0))));
  memset(&si, 0, sizeof si);
  int wr = waitid(P_PIDFD, fd, &si, WEXITED);
  printf("waitid P_PIDFD: %d pid_ok %d code %d status %d\n", wr, si.si_pid == pid, si.si_code, si.si_status);
  pr = poll(&pfd, 1, 0);
  printf("poll reaped: %d revents 0x%x\n", pr, pfd.revents);
  printf("waitid again: %s\n", ename(E(waitid(P_PIDFD, fd, &si, WEXITED))));
  printf("send after reap: %s\n", ename(E(pidfd_send_signal(fd, SIGTERM, NULL, 0))));
  printf("getfd after reap: %s\n", ename(E(pidfd_getfd(fd, 0, 0))));
  printf("pidfd_open reaped pid: %s\n", ename(E(pidfd_open(pid, 0))));
  close(fd); close(nb); close(ep);

  // pidfd_send_signal: a default action kills the child.
  pipe(go);
  pid = child_waiting(go, 0);
  fd = pidfd_open(pid, 0);
  printf("send SIGTERM: %d\n", pidfd_send_signal(fd, SIGTERM, NULL, 0));
  memset(&si, 0, sizeof si);
  waitid(P_PIDFD, fd, &si, WEXITED);
  printf("  waitid: code %d status %d\n", si.si_code, si.si_status);
  close(go[1]);
  close(fd);

  // A queued signal with a value, read by the child with sigwaitinfo.
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigprocmask(SIG_BLOCK, &m, NULL);
  int ready[2];
  pipe(ready);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    siginfo_t ci;
    write(ready[1], "r", 1);
    int s = sigwaitinfo(&m, &ci);
    printf("child got: sig %d code %d value %d pid_ok %d\n", s, ci.si_code, ci.si_value.sival_int, ci.si_pid == getppid());
    fflush(stdout);
    _exit(0);
  }
  char c;
  read(ready[0], &c, 1);
  fd = pidfd_open(pid, 0);
  memset(&si, 0, sizeof si);
  si.si_signo = SIGUSR1;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = 4242;
  printf("send with info SI_USER to another process: ");
  siginfo_t bad = si;
  bad.si_code = SI_USER;
  printf("%s\n", ename(E(pidfd_send_signal(fd, SIGUSR1, &bad, 0))));
  bad = si;
  bad.si_signo = SIGUSR2;
  printf("send with mismatched si_signo: %s\n", ename(E(pidfd_send_signal(fd, SIGUSR1, &bad, 0))));
  printf("send with bad info pointer: %s\n", ename(E(pidfd_send_signal(fd, SIGUSR1, BAD, 0))));
  printf("send with bad flags: %s\n", ename(E(pidfd_send_signal(fd, SIGUSR1, NULL, 8))));
  printf("send bad signal: %s\n", ename(E(pidfd_send_signal(fd, 65, NULL, 0))));
  fflush(stdout);
  // Printed after the child has reported (and exited), so the order of the lines is fixed.
  int queued = pidfd_send_signal(fd, SIGUSR1, &si, 0);
  waitid(P_PIDFD, fd, &si, WEXITED);
  printf("send SI_QUEUE: %d\n", queued);
  close(fd);

  // To itself: an SI_USER siginfo is allowed for the caller's own process.
  int self = pidfd_open(getpid(), 0);
  memset(&si, 0, sizeof si);
  si.si_signo = SIGUSR1;
  si.si_code = SI_USER;
  printf("send to self with SI_USER info: %d\n", pidfd_send_signal(self, SIGUSR1, &si, 0));
  sigset_t pend;
  sigpending(&pend);
  printf("  pending: %d\n", sigismember(&pend, SIGUSR1));
  siginfo_t got;
  struct timespec zero = { 0, 0 };
  printf("  taken: %d code %d\n", sigtimedwait(&m, &got, &zero), got.si_code);
  printf("poll self: %d\n", poll(&(struct pollfd){ self, POLLIN, 0 }, 1, 0));
  printf("waitid on own pidfd: %s\n", ename(E(waitid(P_PIDFD, self, &si, WEXITED | WNOHANG))));

  // pidfd_getfd: the child's open file, duplicated into this process.
  int info[2];
  pipe(info);
  pipe(go);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    close(go[1]);
    int f = open("getfd.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(f, "child's file", 12);
    write(info[1], &f, sizeof f);
    read(go[0], &c, 1);
    _exit(0);
  }
  close(go[0]);
  int childfd;
  read(info[0], &childfd, sizeof childfd);
  fd = pidfd_open(pid, 0);
  int got_fd = pidfd_getfd(fd, childfd, 0);
  char buf[32] = {0};
  pread(got_fd, buf, 12, 0);
  printf("pidfd_getfd: ok %d cloexec %d pread '%.12s'\n", got_fd >= 0, fcntl(got_fd, F_GETFD), buf);
  printf("  shares the offset: %ld\n", (long)lseek(got_fd, 0, SEEK_CUR));
  printf("getfd bad target fd: %s\n", ename(E(pidfd_getfd(fd, 999, 0))));
  printf("getfd bad flags: %s\n", ename(E(pidfd_getfd(fd, childfd, 1))));
  printf("getfd on a non-pidfd: %s\n", ename(E(pidfd_getfd(info[0], childfd, 0))));
  write(go[1], "x", 1);
  waitid(P_PIDFD, fd, &si, WEXITED);
  close(fd);

  // Identity.
  fd = pidfd_open(getpid(), 0);
  char link[64] = {0}, path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  printf("readlink: %s\n", readlink(path, link, sizeof link - 1) > 0 ? link : "?");

  // Errors.
  printf("pidfd_open 0: %s\n", ename(E(pidfd_open(0, 0))));
  printf("pidfd_open -1: %s\n", ename(E(pidfd_open(-1, 0))));
  printf("pidfd_open bad flags: %s\n", ename(E(pidfd_open(getpid(), 1))));
  pthread_t th;
  pthread_create(&th, NULL, thread_fn, NULL);
  while (!tid_of_thread) usleep(1000);
  printf("pidfd_open of a non-leader thread: %s\n", ename(E(pidfd_open(tid_of_thread, 0))));
  tid_of_thread = 0;
  pthread_join(th, NULL);
  printf("send on a non-pidfd: %s\n", ename(E(pidfd_send_signal(info[0], SIGUSR1, NULL, 0))));
  printf("send on a bad fd: %s\n", ename(E(pidfd_send_signal(999, SIGUSR1, NULL, 0))));
  printf("waitid P_PIDFD bad fd: %s\n", ename(E(waitid(P_PIDFD, 999, &si, WEXITED))));
  printf("waitid P_PIDFD non-pidfd: %s\n", ename(E(waitid(P_PIDFD, info[0], &si, WEXITED))));
  printf("read a pidfd: %s\n", ename(E(read(fd, buf, 8))));
  return 0;
}
