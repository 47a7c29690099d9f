// FIFO open semantics (man 7 fifo, open(2)): O_RDONLY waits for a writer and O_WRONLY for a
// reader (the other end opened by another thread or another process), O_RDONLY|O_NONBLOCK opens
// at once, O_WRONLY|O_NONBLOCK without a reader gives ENXIO, O_RDWR opens at once; then EOF when
// the writers close, EPIPE/SIGPIPE when the readers close, poll; a blocked open interrupted by a
// signal (EINTR without SA_RESTART, restarted with it) leaves no end open behind.
#define _GNU_SOURCE
#include "ctest.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char fifo[4096];
static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }
static void msleep(int ms) { struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&ts, NULL); }

static void *writer(void *arg) {
  msleep((int)(long)arg);
  int w = open(fifo, O_WRONLY);
  if (w >= 0) { write(w, "from a thread\n", 14); close(w); }
  return (void *)(long)(w >= 0);
}

static volatile int sigs;
static void onsig(int s) { (void)s; sigs++; }

static void timer_ms(int ms) {
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void readall(int fd, const char *who) {
  char buf[256];
  size_t got = 0;
  ssize_t n;
  while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += n;
  buf[got] = 0;
  printf("%s read %zu bytes then %s: %s", who, got, n == 0 ? "EOF" : strerror(errno), buf);
}

int t_fifo(int argc, char **argv) {
  if (argc < 2) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  snprintf(fifo, sizeof fifo, "%s/fifo", argv[1]);
  printf("mkfifo: %s\n", err(mkfifo(fifo, 0600)));
  // Non-blocking opens.
  int w = open(fifo, O_WRONLY | O_NONBLOCK);
  printf("O_WRONLY|O_NONBLOCK without a reader: %s\n", err(w));
  int r = open(fifo, O_RDONLY | O_NONBLOCK);
  printf("O_RDONLY|O_NONBLOCK: %s\n", err(r));
  w = open(fifo, O_WRONLY | O_NONBLOCK);
  printf("O_WRONLY|O_NONBLOCK with a reader: %s\n", err(w));
  char c;
  printf("read with a writer, no data: %s\n", err(read(r, &c, 1)));
  close(w);
  struct pollfd hup = {r, POLLIN, 0};
  printf("poll after the writer closed: %d revents %#x\n", poll(&hup, 1, 1000), hup.revents);
  printf("read after the writer closed: %zd\n", read(r, &c, 1));
  close(r);
  int rw = open(fifo, O_RDWR);
  printf("O_RDWR: %s, write %zd, read %zd\n", err(rw), write(rw, "x", 1), read(rw, &c, 1));
  close(rw);
  // A reader waits for a writer thread, and the reverse.
  pthread_t th;
  pthread_create(&th, NULL, writer, (void *)100L);
  r = open(fifo, O_RDONLY);
  printf("O_RDONLY, writer thread: %s\n", err(r));
  readall(r, "reader");
  void *ok;
  pthread_join(th, &ok);
  printf("writer thread opened: %ld\n", (long)ok);
  close(r);
  // Another process: the child writes, the parent reads (and then the reverse roles).
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    msleep(100);
    int cw = open(fifo, O_WRONLY);
    write(cw, "from a child\n", 13);
    _exit(cw >= 0 ? 0 : 1);
  }
  r = open(fifo, O_RDONLY);
  printf("O_RDONLY, writer process: %s\n", err(r));
  readall(r, "parent");
  int st;
  waitpid(pid, &st, 0);
  printf("child status %d\n", WEXITSTATUS(st));
  close(r);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    msleep(100);
    int cr = open(fifo, O_RDONLY);
    readall(cr, "child");
    fflush(stdout);
    _exit(0);
  }
  w = open(fifo, O_WRONLY);
  printf("O_WRONLY, reader process: %s\n", err(w));
  fflush(stdout);
  write(w, "to a child\n", 11);
  close(w);
  waitpid(pid, &st, 0);
  // poll: data, then POLLHUP once the writer is gone.
  r = open(fifo, O_RDONLY | O_NONBLOCK);
  w = open(fifo, O_WRONLY);
  struct pollfd pf = {r, POLLIN, 0};
  printf("poll empty: %d revents %#x\n", poll(&pf, 1, 0), pf.revents);
  // Each end reports only its own direction (a read end is never writable).
  struct pollfd ends[2] = {{r, POLLIN | POLLOUT, 0}, {w, POLLIN | POLLOUT, 0}};
  printf("poll both directions: %d revents %#x %#x\n", poll(ends, 2, 0), ends[0].revents, ends[1].revents);
  write(w, "p", 1);
  printf("poll data: %d revents %#x\n", poll(&pf, 1, 1000), pf.revents);
  read(r, &c, 1);
  close(w);
  printf("poll writer closed: %d revents %#x\n", poll(&pf, 1, 1000), pf.revents);
  close(r);
  // EPIPE and SIGPIPE once the readers are gone.
  r = open(fifo, O_RDONLY | O_NONBLOCK);
  w = open(fifo, O_WRONLY);
  close(r);
  signal(SIGPIPE, onsig);
  sigs = 0;
  printf("write without readers: %s, SIGPIPE %d\n", err(write(w, "z", 1)), sigs);
  close(w);
  // A blocked open interrupted by a signal.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onsig;
  sigaction(SIGALRM, &sa, NULL);
  sigs = 0;
  timer_ms(100);
  r = open(fifo, O_RDONLY);
  printf("O_RDONLY interrupted: %s, signals %d\n", err(r), sigs);
  printf("then O_WRONLY|O_NONBLOCK: %s (no reader left)\n", err(open(fifo, O_WRONLY | O_NONBLOCK)));
  sigs = 0;
  timer_ms(100);
  w = open(fifo, O_WRONLY);
  printf("O_WRONLY interrupted: %s, signals %d\n", err(w), sigs);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  sigs = 0;
  pthread_create(&th, NULL, writer, (void *)400L);
  timer_ms(100);
  r = open(fifo, O_RDONLY);
  printf("O_RDONLY with SA_RESTART: %s, signals %d\n", err(r), sigs);
  readall(r, "restarted reader");
  pthread_join(th, &ok);
  close(r);
  // Errors.
  printf("O_WRONLY of a missing FIFO: %s\n", err(open("/nonexistent/fifo", O_WRONLY)));
  chmod(fifo, 0);
  if (getuid() != 0) printf("no permission: %s\n", err(open(fifo, O_RDONLY)));
  unlink(fifo);
  return 0;
}
