// Advisory file locks in a scratch directory (argv[1]): fcntl record locks between processes
// (F_GETLK with l_pid, EAGAIN, F_SETLKW waiting for an unlock, splitting, SEEK_CUR/SEEK_END and
// negative lengths, release on close of another fd and on exit, EDEADLK, EINTR), flock (shared,
// exclusive, LOCK_NB, conversion, sharing across dup and fork) and OFD locks between threads.
// Another process's view is taken by a forked probe that reports its F_GETLK through a pipe.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/time.h>
#include "ctest.h"

#define R(x) do { errno = 0; long r_ = (long)(x); printf("%-58s -> %ld %s\n", #x, r_, r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static const char *path = "lockfile";
static pid_t me;

static struct flock fl(short type, short whence, off_t start, off_t len) {
  struct flock l;
  memset(&l, 0, sizeof l);
  l.l_type = type; l.l_whence = whence; l.l_start = start; l.l_len = len;
  return l;
}

static const char *tname(int t) { return t == F_RDLCK ? "RD" : t == F_WRLCK ? "WR" : t == F_UNLCK ? "UN" : "??"; }

static void show(const char *what, struct flock *l, pid_t owner) {
  printf("  %s: type %s", what, tname(l->l_type));
  if (l->l_type != F_UNLCK)
    printf(" whence %d start %lld len %lld pid %s", l->l_whence, (long long)l->l_start, (long long)l->l_len,
           l->l_pid == owner ? "owner" : l->l_pid == -1 ? "-1" : l->l_pid == 0 ? "0" : "other");
  printf("\n");
}

/** What another process sees: F_GETLK of (type, start, len) from a forked child. */
static void probe(const char *what, short type, off_t start, off_t len, pid_t owner) {
  int p[2];
  if (pipe(p)) { perror("pipe"); return; }
  pid_t c = fork();
  if (c == 0) {
    int fd = open(path, O_RDWR);
    struct flock l = fl(type, SEEK_SET, start, len);
    if (fcntl(fd, F_GETLK, &l) < 0) l.l_type = 99;
    write(p[1], &l, sizeof l);
    _exit(0);
  }
  struct flock l;
  close(p[1]);
  if (read(p[0], &l, sizeof l) != sizeof l) printf("  probe read failed\n");
  close(p[0]);
  waitpid(c, NULL, 0);
  show(what, &l, owner);
}

static void rd(int fd, char *c) { if (read(fd, c, 1) != 1) *c = '?'; }
static void wr(int fd, char c) { write(fd, &c, 1); }

static void between_processes(void) {
  printf("-- record locks between processes\n");
  int a[2], b[2];
  pipe(a); pipe(b);
  pid_t c = fork();
  if (c == 0) {
    int fd = open(path, O_RDWR);
    struct flock l = fl(F_WRLCK, SEEK_SET, 10, 10);
    if (fcntl(fd, F_SETLK, &l) < 0) _exit(1);
    wr(a[1], 'L');
    char x; rd(b[0], &x);
    usleep(100000);
    pwrite(fd, "child", 5, 50);
    l.l_type = F_UNLCK;
    fcntl(fd, F_SETLK, &l);
    rd(b[0], &x); // the parent holds [10,20) now
    l = fl(F_WRLCK, SEEK_SET, 0, 0);
    fcntl(fd, F_GETLK, &l);
    char ok = l.l_type == F_WRLCK && l.l_start == 10 && l.l_len == 15 && l.l_pid == getppid() ? 'y' : 'n';
    wr(a[1], ok);
    _exit(0);
  }
  char x; rd(a[0], &x);
  int fd = open(path, O_RDWR);
  struct flock l = fl(F_WRLCK, SEEK_SET, 0, 0);
  R(fcntl(fd, F_GETLK, &l));
  show("F_GETLK whole file", &l, c);
  l = fl(F_RDLCK, SEEK_SET, 15, 1);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, 19, 1);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, 20, 5);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_RDLCK, SEEK_SET, 0, 10);
  R(fcntl(fd, F_GETLK, &l));
  show("F_GETLK [0,10)", &l, c);
  wr(b[1], 'G');
  l = fl(F_WRLCK, SEEK_SET, 10, 10);
  R(fcntl(fd, F_SETLKW, &l));
  char buf[6] = {0};
  pread(fd, buf, 5, 50);
  printf("  after F_SETLKW the child had written: %s\n", buf);
  wr(b[1], 'H');
  rd(a[0], &x);
  printf("  child sees parent's lock with l_pid == parent: %c\n", x);
  int st;
  waitpid(c, &st, 0);
  printf("  child exit %d\n", WEXITSTATUS(st));
  probe("probe [10,20) after child exit", F_WRLCK, 10, 10, me);
  // Splitting: the parent holds [10,25) (merged); unlock the middle.
  l = fl(F_UNLCK, SEEK_SET, 12, 3);
  R(fcntl(fd, F_SETLK, &l));
  probe("probe [10,12)", F_RDLCK, 10, 2, me);
  probe("probe [12,15)", F_RDLCK, 12, 3, me);
  probe("probe [15,30)", F_RDLCK, 15, 15, me);
  // Read lock over part of it: type changes in the middle only.
  l = fl(F_RDLCK, SEEK_SET, 16, 2);
  R(fcntl(fd, F_SETLK, &l));
  probe("probe RD [16,18)", F_RDLCK, 16, 2, me);
  probe("probe WR [16,18)", F_WRLCK, 16, 2, me);
  probe("probe WR [18,19)", F_RDLCK, 18, 1, me);
  l = fl(F_UNLCK, SEEK_SET, 0, 0);
  R(fcntl(fd, F_SETLK, &l));
  probe("probe after unlock all", F_WRLCK, 0, 0, me);
  // SEEK_CUR, SEEK_END, negative length.
  lseek(fd, 200, SEEK_SET);
  l = fl(F_WRLCK, SEEK_CUR, -10, 5);
  R(fcntl(fd, F_SETLK, &l));
  probe("probe SEEK_CUR-10 len 5", F_WRLCK, 100, 1000, me);
  l = fl(F_UNLCK, SEEK_SET, 0, 0); fcntl(fd, F_SETLK, &l);
  l = fl(F_WRLCK, SEEK_END, 0, 0);
  R(fcntl(fd, F_SETLK, &l));
  probe("probe SEEK_END len 0", F_WRLCK, 0, 0, me);
  l = fl(F_UNLCK, SEEK_SET, 0, 0); fcntl(fd, F_SETLK, &l);
  l = fl(F_RDLCK, SEEK_SET, 60, -10);
  R(fcntl(fd, F_SETLK, &l));
  probe("probe start 60 len -10", F_WRLCK, 0, 0, me);
  // Release on close of another fd of the same file.
  int fd2 = open(path, O_RDONLY);
  R(close(fd2));
  probe("probe after closing another fd", F_WRLCK, 0, 0, me);
  // Errors.
  l = fl(F_WRLCK, 5, 0, 0);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, -1, 0);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, 5, -10);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(7, SEEK_SET, 0, 0);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_UNLCK, SEEK_SET, 0, 0);
  R(fcntl(fd, F_GETLK, &l));
  int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
  l = fl(F_WRLCK, SEEK_SET, 0, 0);
  R(fcntl(ro, F_SETLK, &l));
  l = fl(F_RDLCK, SEEK_SET, 0, 0);
  R(fcntl(wo, F_SETLK, &l));
  l = fl(F_RDLCK, SEEK_SET, 0, 0); l.l_pid = 1;
  R(fcntl(fd, F_OFD_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, 0x7fffffffffffffffLL, 2);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_WRLCK, SEEK_END, -1000, 1);
  R(fcntl(fd, F_SETLK, &l));
  lseek(fd, 10, SEEK_SET);
  l = fl(F_WRLCK, SEEK_CUR, 0x7ffffffffffffff0LL, 0);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, 0x7fffffffffffffffLL, 1);
  R(fcntl(fd, F_SETLK, &l));
  l = fl(F_RDLCK, SEEK_SET, 0x7fffffffffffffffLL, 1);
  R(fcntl(fd, F_GETLK, &l));
  show("F_GETLK at the last byte (own lock)", &l, me);
  l = fl(F_UNLCK, SEEK_SET, 0, 0);
  R(fcntl(fd, F_SETLK, &l));
  R(fcntl(fd, F_SETLK, (struct flock *)16));
  l = fl(F_WRLCK, SEEK_SET, 0, 0);
  R(fcntl(-1, F_SETLK, &l));
  close(ro); close(wo); close(fd);
}

static void deadlock(void) {
  printf("-- EDEADLK\n");
  int a[2], res[2];
  pipe(a); pipe(res);
  // The parent's lock is taken before the fork (a child does not inherit record locks), so the
  // child cannot get [1,2) first.
  int fd = open(path, O_RDWR);
  struct flock l = fl(F_WRLCK, SEEK_SET, 1, 1);
  R(fcntl(fd, F_SETLK, &l));
  pid_t c = fork();
  if (c == 0) {
    close(fd);
    fd = open(path, O_RDWR);
    l = fl(F_WRLCK, SEEK_SET, 0, 1);
    fcntl(fd, F_SETLK, &l);
    wr(a[1], 'A');
    l = fl(F_WRLCK, SEEK_SET, 1, 1);
    int r = fcntl(fd, F_SETLKW, &l);
    char e = r < 0 && errno == EDEADLK ? 'D' : r == 0 ? 'K' : 'E';
    if (e == 'D') { l = fl(F_UNLCK, SEEK_SET, 0, 0); fcntl(fd, F_SETLK, &l); }
    wr(res[1], e);
    _exit(0);
  }
  char x; rd(a[0], &x);
  usleep(200000);
  l = fl(F_WRLCK, SEEK_SET, 0, 1);
  int r = fcntl(fd, F_SETLKW, &l);
  char e = r < 0 && errno == EDEADLK ? 'D' : r == 0 ? 'K' : 'E';
  if (e == 'D') { l = fl(F_UNLCK, SEEK_SET, 0, 0); fcntl(fd, F_SETLK, &l); }
  char ce; rd(res[0], &ce);
  waitpid(c, NULL, 0);
  printf("  exactly one EDEADLK, the other got the lock: %s\n",
         ((e == 'D' && ce == 'K') || (e == 'K' && ce == 'D')) ? "yes" : "no");
  close(fd);
}

static void on_alarm(int s) { (void)s; }

static void interrupted(void) {
  printf("-- F_SETLKW interrupted by a signal\n");
  int a[2], b[2];
  pipe(a); pipe(b);
  pid_t c = fork();
  if (c == 0) {
    int fd = open(path, O_RDWR);
    struct flock l = fl(F_WRLCK, SEEK_SET, 0, 0);
    fcntl(fd, F_SETLK, &l);
    wr(a[1], 'L');
    char x; rd(b[0], &x);
    _exit(0);
  }
  char x; rd(a[0], &x);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; // no SA_RESTART
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 100000}};
  setitimer(ITIMER_REAL, &it, NULL);
  int fd = open(path, O_RDWR);
  struct flock l = fl(F_RDLCK, SEEK_SET, 5, 1);
  R(fcntl(fd, F_SETLKW, &l));
  l = fl(F_RDLCK, SEEK_SET, 5, 1);
  R(fcntl(fd, F_OFD_SETLK, &l));
  wr(b[1], 'X');
  waitpid(c, NULL, 0);
  R(fcntl(fd, F_SETLKW, &l));
  close(fd);
  signal(SIGALRM, SIG_DFL);
}

static void flocks(void) {
  printf("-- flock\n");
  int fd1 = open(path, O_RDONLY), fd2 = open(path, O_RDONLY);
  R(flock(fd1, LOCK_SH));
  R(flock(fd2, LOCK_SH | LOCK_NB));
  R(flock(fd2, LOCK_EX | LOCK_NB));
  R(flock(fd1, LOCK_EX | LOCK_NB)); // fd2's shared lock was dropped by its failed conversion
  R(flock(fd2, LOCK_SH | LOCK_NB));
  int d = dup(fd1);
  R(flock(d, LOCK_UN)); // the same open file description
  R(flock(fd2, LOCK_EX | LOCK_NB));
  R(flock(fd2, LOCK_UN));
  R(flock(fd1, LOCK_EX));
  // A record lock does not see a flock lock.
  int rw = open(path, O_RDWR);
  struct flock l = fl(F_WRLCK, SEEK_SET, 0, 0);
  R(fcntl(rw, F_SETLK, &l));
  l.l_type = F_UNLCK; fcntl(rw, F_SETLK, &l);
  close(rw);
  pid_t c = fork();
  if (c == 0) {
    int ok1 = flock(fd1, LOCK_EX | LOCK_NB) == 0; // inherited description: its own lock
    int f3 = open(path, O_RDONLY);
    int busy = flock(f3, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    _exit(ok1 * 10 + busy);
  }
  int st;
  waitpid(c, &st, 0);
  printf("  child: inherited description relocks %d, other description EWOULDBLOCK %d\n", WEXITSTATUS(st) / 10, WEXITSTATUS(st) % 10);
  close(d);
  R(close(fd1)); // last fd of the description: the lock ends
  R(flock(fd2, LOCK_EX | LOCK_NB));
  // A blocking flock waits for the holder to close.
  int a[2];
  pipe(a);
  c = fork();
  if (c == 0) {
    char x; rd(a[0], &x);
    usleep(100000);
    write(1, "", 0);
    close(fd2);
    _exit(0);
  }
  int fd4 = open(path, O_RDONLY);
  wr(a[1], 'g');
  R(flock(fd4, LOCK_EX | LOCK_NB));
  close(fd2); // the child still has it open
  R(flock(fd4, LOCK_EX));
  waitpid(c, NULL, 0);
  R(flock(fd4, 0));
  R(flock(fd4, LOCK_SH | LOCK_EX));
  R(flock(-1, LOCK_SH));
  R(flock(fd4, LOCK_UN));
  R(flock(fd4, LOCK_UN));
  close(fd4);
}

static int ofd_fd;
static int tpipe[2], mpipe[2];

static void *ofd_thread(void *arg) {
  (void)arg;
  int fd = open(path, O_RDWR);
  struct flock l = fl(F_WRLCK, SEEK_SET, 0, 10);
  int r = fcntl(fd, F_OFD_SETLK, &l);
  wr(tpipe[1], r == 0 ? 'y' : 'n');
  char x; rd(mpipe[0], &x);
  usleep(100000);
  pwrite(fd, "thread", 6, 70);
  close(fd);
  return NULL;
}

static void ofd(void) {
  printf("-- OFD locks between threads\n");
  pipe(tpipe); pipe(mpipe);
  pthread_t th;
  pthread_create(&th, NULL, ofd_thread, NULL);
  char x; rd(tpipe[0], &x);
  printf("  thread took an OFD lock: %c\n", x);
  ofd_fd = open(path, O_RDWR);
  struct flock l = fl(F_WRLCK, SEEK_SET, 5, 1);
  R(fcntl(ofd_fd, F_OFD_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, 5, 1);
  R(fcntl(ofd_fd, F_SETLK, &l));
  l = fl(F_RDLCK, SEEK_SET, 0, 0);
  R(fcntl(ofd_fd, F_OFD_GETLK, &l));
  show("F_OFD_GETLK", &l, me);
  probe("probe from another process", F_RDLCK, 0, 0, me);
  wr(mpipe[1], 'c');
  l = fl(F_WRLCK, SEEK_SET, 0, 0);
  R(fcntl(ofd_fd, F_OFD_SETLKW, &l));
  char buf[7] = {0};
  pread(ofd_fd, buf, 6, 70);
  printf("  after F_OFD_SETLKW the thread had written: %s\n", buf);
  pthread_join(th, NULL);
  // POSIX locks of two threads of one process belong to the same owner.
  int other = open(path, O_RDWR);
  l = fl(F_WRLCK, SEEK_SET, 0, 0);
  R(fcntl(other, F_SETLK, &l));
  l = fl(F_WRLCK, SEEK_SET, 0, 0);
  R(fcntl(other, F_OFD_SETLK, &l));
  probe("probe after both", F_RDLCK, 0, 0, me);
  close(ofd_fd);
  probe("probe after closing the OFD", F_RDLCK, 0, 0, me);
  close(other);
  probe("probe after closing the other", F_RDLCK, 0, 0, me);
}

int t_locks(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1])) { fprintf(stderr, "usage: locks TMPDIR\n"); return 2; }
  setvbuf(stdout, NULL, _IONBF, 0);
  me = getpid();
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  char z[100];
  memset(z, '.', sizeof z);
  write(fd, z, sizeof z);
  close(fd);
  between_processes();
  deadlock();
  interrupted();
  flocks();
  ofd();
  return 0;
}
