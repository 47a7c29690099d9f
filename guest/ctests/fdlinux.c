// What qemu-riscv64 7.2 cannot be the oracle for (it answers ENOSYS to clone3 and epoll_pwait2
// and ignores signalfd4's size argument): clone3 (CLONE_PIDFD, CLONE_PARENT_SETTID, CLONE_VFORK,
// argument-struct sizes and every EINVAL/E2BIG/EPERM/EFAULT check), legacy clone with
// CLONE_PIDFD, epoll_pwait2 timeouts and errors, signalfd4's sizemask. Not in cases.json: the
// expected output is in test/user-fdkinds.test.ts, checked against Linux itself by building this
// file for the host (cc -DSTANDALONE guest/ctests/fdlinux.c) and running it as a non-root user.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#ifndef STANDALONE
#include "ctest.h"
#endif

#define E(x) ((x) < 0 ? errno : 0)
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
static void *volatile BAD = (void *)16;

static const char *ename(int e) {
  switch (e) {
  case 0: return "ok"; case EAGAIN: return "EAGAIN"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
  case EFAULT: return "EFAULT"; case EPERM: return "EPERM"; case E2BIG: return "E2BIG"; case ESRCH: return "ESRCH";
  default: return strerror(e);
  }
}

static long clone3_raw(void *args, size_t size) { return syscall(SYS_clone3, args, size); }

/** clone3 that must fail: if it made a child anyway, the child exits at once. */
static const char *clone3_err(struct clone_args *ca, size_t size) {
  long r = clone3_raw(ca, size);
  if (r == 0) _exit(0);
  if (r > 0) {
    waitpid(r, NULL, __WALL);
    return "made a child";
  }
  return ename(errno);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int t_fdlinux(int argc, char **argv) {
  (void)argc; (void)argv;
  struct clone_args ca;
  int pidfd = -1;
  siginfo_t si;

  // clone3 with CLONE_PIDFD and CLONE_PARENT_SETTID.
  memset(&ca, 0, sizeof ca);
  pid_t ptid = 0;
  ca.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
  ca.pidfd = (uintptr_t)&pidfd;
  ca.parent_tid = (uintptr_t)&ptid;
  ca.exit_signal = SIGCHLD;
  fflush(stdout);
  long r = clone3_raw(&ca, sizeof ca);
  if (r == 0) _exit(5);
  printf("clone3: child>0 %d pidfd>=3 %d cloexec %d parent_tid_ok %d\n", r > 0, pidfd >= 3, fcntl(pidfd, F_GETFD), ptid == r);
  struct pollfd p = { pidfd, POLLIN, 0 };
  int pr = poll(&p, 1, 5000);
  printf("  poll: %d revents 0x%x\n", pr, p.revents);
  memset(&si, 0, sizeof si);
  int wr = waitid(P_PIDFD, pidfd, &si, WEXITED);
  printf("  waitid P_PIDFD: %d pid_ok %d code %d status %d\n", wr, si.si_pid == r, si.si_code, si.si_status);
  close(pidfd);

  // A bigger struct whose extra bytes are zero is accepted; CLONE_VFORK with a pidfd.
  unsigned char big[128];
  memset(big, 0, sizeof big);
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_VFORK | CLONE_PIDFD;
  ca.pidfd = (uintptr_t)&pidfd;
  ca.exit_signal = SIGCHLD;
  memcpy(big, &ca, sizeof ca);
  fflush(stdout);
  r = clone3_raw(big, sizeof big);
  if (r == 0) _exit(9);
  memset(&si, 0, sizeof si);
  waitid(P_PIDFD, pidfd, &si, WEXITED);
  printf("clone3 vfork, 128-byte struct: child>0 %d status %d\n", r > 0, si.si_status);
  close(pidfd);
  big[120] = 1;
  printf("nonzero byte past the known fields: %s\n", clone3_err((struct clone_args *)big, sizeof big));

  // Argument checks.
  memset(&ca, 0, sizeof ca);
  ca.exit_signal = SIGCHLD;
  printf("size 32: %s\n", clone3_err(&ca, 32));
  printf("size 4097: %s\n", clone3_err(&ca, 4097));
  printf("bad pointer: %s\n", ename(E(clone3_raw(BAD, sizeof ca))));
  ca.exit_signal = 65;
  printf("exit_signal 65: %s\n", clone3_err(&ca, sizeof ca));
  ca.exit_signal = 0x100 | SIGCHLD;
  printf("exit_signal 0x111: %s\n", clone3_err(&ca, sizeof ca));
  ca.exit_signal = 0;
  ca.flags = SIGCHLD;
  printf("signal in flags: %s\n", clone3_err(&ca, sizeof ca));
  ca.flags = 1ULL << 40;
  printf("unknown flag bit 40: %s\n", clone3_err(&ca, sizeof ca));
  ca.flags = 0x400000; // CLONE_DETACHED
  printf("CLONE_DETACHED: %s\n", clone3_err(&ca, sizeof ca));
  ca.flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND;
  printf("CLONE_SIGHAND|CLONE_CLEAR_SIGHAND: %s\n", clone3_err(&ca, sizeof ca));
  ca.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
  ca.exit_signal = SIGCHLD;
  printf("CLONE_THREAD with exit_signal: %s\n", clone3_err(&ca, sizeof ca));
  memset(&ca, 0, sizeof ca);
  ca.exit_signal = SIGCHLD;
  ca.stack = (uintptr_t)big;
  printf("stack without size: %s\n", clone3_err(&ca, sizeof ca));
  ca.stack = 0;
  ca.stack_size = 4096;
  printf("size without stack: %s\n", clone3_err(&ca, sizeof ca));
  ca.stack_size = 0;
  pid_t want = 12345;
  ca.set_tid = (uintptr_t)&want;
  printf("set_tid with size 0: %s\n", clone3_err(&ca, sizeof ca));
  ca.set_tid_size = 33;
  printf("set_tid_size 33: %s\n", clone3_err(&ca, sizeof ca));
  ca.set_tid_size = 1;
  printf("set_tid unprivileged: %s\n", clone3_err(&ca, sizeof ca));
  ca.set_tid = 0;
  printf("set_tid_size without set_tid: %s\n", clone3_err(&ca, sizeof ca));
  ca.set_tid_size = 0;
  ca.flags = CLONE_PIDFD;
  ca.pidfd = (uintptr_t)BAD;
  printf("CLONE_PIDFD bad pidfd pointer: %s\n", clone3_err(&ca, sizeof ca));

  // Legacy clone with CLONE_PIDFD: the pidfd goes where parent_tid points.
  pidfd = -1;
  fflush(stdout);
  r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
  if (r == 0) _exit(3);
  memset(&si, 0, sizeof si);
  waitid(P_PIDFD, pidfd, &si, WEXITED);
  printf("clone CLONE_PIDFD: pidfd>=3 %d status %d\n", pidfd >= 3, si.si_status);
  close(pidfd);
  r = syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0);
  if (r == 0) _exit(0);
  printf("clone CLONE_PIDFD|CLONE_PARENT_SETTID: %s\n", ename(E(r)));

  // epoll_pwait2.
  int ep = epoll_create1(0);
  int efd = eventfd(0, EFD_NONBLOCK);
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 }, out[4];
  epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
  struct timespec zero = { 0, 0 }, t20 = { 0, 20000000 }, badts = { 0, 1000000000 };
  printf("epoll_pwait2 zero timeout: %ld\n", syscall(SYS_epoll_pwait2, ep, out, 4, &zero, NULL, 8));
  int64_t t0 = now_ns();
  r = syscall(SYS_epoll_pwait2, ep, out, 4, &t20, NULL, 8);
  printf("epoll_pwait2 20ms: %ld waited>=20ms %d\n", r, now_ns() - t0 >= 20000000);
  uint64_t one = 1;
  write(efd, &one, 8);
  r = syscall(SYS_epoll_pwait2, ep, out, 4, NULL, NULL, 8);
  printf("epoll_pwait2 ready, no timeout: %ld data %llu events 0x%x\n", r, (unsigned long long)out[0].data.u64, out[0].events);
  printf("epoll_pwait2 bad nsec: %s\n", ename(E(syscall(SYS_epoll_pwait2, ep, out, 4, &badts, NULL, 8))));
  printf("epoll_pwait2 bad timeout pointer: %s\n", ename(E(syscall(SYS_epoll_pwait2, ep, out, 4, BAD, NULL, 8))));
  printf("epoll_pwait2 maxevents 0: %s\n", ename(E(syscall(SYS_epoll_pwait2, ep, out, 0, &zero, NULL, 8))));
  printf("epoll_pwait2 not an epoll: %s\n", ename(E(syscall(SYS_epoll_pwait2, efd, out, 4, &zero, NULL, 8))));
  printf("epoll_pwait2 bad fd: %s\n", ename(E(syscall(SYS_epoll_pwait2, 999, out, 4, &zero, NULL, 8))));
  sigset_t ss;
  sigemptyset(&ss);
  printf("epoll_pwait2 sigsetsize 4: %s\n", ename(E(syscall(SYS_epoll_pwait2, ep, out, 4, &zero, &ss, 4))));

  // signalfd4 checks its size argument.
  printf("signalfd4 sizemask 4: %s\n", ename(E(syscall(SYS_signalfd4, -1, &ss, 4, 0))));
  printf("signalfd4 sizemask 16: %s\n", ename(E(syscall(SYS_signalfd4, -1, &ss, 16, 0))));
  return 0;
}

#ifdef STANDALONE
int main(int argc, char **argv) { return t_fdlinux(argc, argv); }
#endif
