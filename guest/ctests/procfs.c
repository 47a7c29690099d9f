// /proc for the guest: self and thread-self links, maps after mmap/mprotect/munmap and for a file
// mapping, status and stat parsed against getpid/getppid, comm after PR_SET_NAME and
// pthread_setname_np, fd links of a pipe, a file and /dev/null, fdinfo positions, cmdline and
// environ bytes, exe, the task directory with threads, cpuinfo and meminfo against sysinfo,
// /proc/sys/kernel, and ENOENT for names that do not exist. Only what QEMU (which passes most of
// /proc through to the host's view of the QEMU process) and Linux must agree on is printed;
// `ctest procfs detail` prints what rvisor alone is checked for (test/user-procfs.test.ts).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "ctest.h"

extern char **environ;

static const char *yesno(int c) { return c ? "yes" : "no"; }

/** Reads a whole file (up to 1 MiB) into a NUL-terminated buffer; returns its length or -errno. */
static long slurp(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0) { int e = errno; close(fd); return -e; }
    if (r == 0) break;
    n += (size_t)r;
    if (n == cap - 1) break;
  }
  close(fd);
  buf[n] = 0;
  return (long)n;
}

static char big[1 << 20];

/** The maps line that covers addr (copied into line), or 0. */
static int mapsLineFor(unsigned long addr, char *line, size_t cap) {
  if (slurp("/proc/self/maps", big, sizeof big) < 0) return 0;
  for (char *s = big; *s;) {
    char *e = strchr(s, '\n');
    if (!e) e = s + strlen(s);
    unsigned long lo, hi;
    if (sscanf(s, "%lx-%lx", &lo, &hi) == 2 && lo <= addr && addr < hi) {
      size_t n = (size_t)(e - s) < cap - 1 ? (size_t)(e - s) : cap - 1;
      memcpy(line, s, n);
      line[n] = 0;
      return 1;
    }
    s = *e ? e + 1 : e;
  }
  return 0;
}

/** Splits a maps line: start, end, perms, offset, name (trailing part, may be ""). */
static int parseMaps(const char *line, unsigned long *lo, unsigned long *hi, char perms[5], unsigned long *off, const char **name) {
  int pos = 0;
  char dev[16];
  unsigned long ino;
  if (sscanf(line, "%lx-%lx %4s %lx %15s %lu %n", lo, hi, perms, off, dev, &ino, &pos) < 6) return 0;
  *name = line + pos;
  return 1;
}

static void showMapping(const char *what, void *addr) {
  char line[512];
  if (!mapsLineFor((unsigned long)addr, line, sizeof line)) {
    printf("%s: no line\n", what);
    return;
  }
  unsigned long lo, hi, off;
  char perms[5];
  const char *name;
  if (!parseMaps(line, &lo, &hi, perms, &off, &name)) {
    printf("%s: unparsable\n", what);
    return;
  }
  printf("%s: %s pages=%lu offset=%lx starts-at-addr=%s name=\"%s\"\n", what, perms, (hi - lo) / 4096, off, yesno(lo == (unsigned long)addr), name);
}

static const char *statusField(const char *status, const char *key, char *out, size_t cap) {
  size_t k = strlen(key);
  for (const char *s = status; *s;) {
    size_t sp = k;
    while (s[sp] == '\t' || s[sp] == ' ') sp++;
    if (strncmp(s, key, k) == 0 && s[sp] == ':') {
      const char *v = s + sp + 1;
      while (*v == '\t' || *v == ' ') v++;
      size_t n = strcspn(v, "\n");
      if (n >= cap) n = cap - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return out;
    }
    const char *e = strchr(s, '\n');
    if (!e) break;
    s = e + 1;
  }
  return NULL;
}

static pthread_barrier_t bar;
static pid_t tids[2];

static void *worker(void *arg) {
  long i = (long)arg;
  tids[i] = (pid_t)syscall(SYS_gettid);
  char name[16];
  snprintf(name, sizeof name, "worker-%ld", i);
  pthread_setname_np(pthread_self(), name);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  return NULL;
}

static void links(const char *tmp) {
  char buf[PATH_MAX], want[PATH_MAX], path[64];
  pid_t pid = getpid();
  ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("readlink /proc/self is the pid: %s\n", yesno(n > 0 && atoi(buf) == pid));
  n = readlink("/proc/thread-self", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  snprintf(want, sizeof want, "%d/task/%d", pid, (int)syscall(SYS_gettid));
  printf("readlink /proc/thread-self is pid/task/tid: %s\n", yesno(strcmp(buf, want) == 0));
  struct stat a, b;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  printf("/proc/PID/status and /proc/self/status exist: %s\n", yesno(stat(path, &a) == 0 && stat("/proc/self/status", &b) == 0));
  printf("/proc/self is a directory through the link: %s\n", yesno(stat("/proc/self", &a) == 0 && S_ISDIR(a.st_mode)));
  printf("lstat /proc/self is a link: %s\n", yesno(lstat("/proc/self", &a) == 0 && S_ISLNK(a.st_mode)));

  n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("exe is realpath(argv[0]): %s\n", yesno(realpath(ctest_argv0, want) && strcmp(buf, want) == 0));

  int p[2];
  pipe(p);
  snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
  n = readlink(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  char w[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
  ssize_t m = readlink(path, w, sizeof w - 1);
  w[m < 0 ? 0 : m] = 0;
  printf("pipe fd link is pipe:[N]: %s, both ends the same: %s\n", yesno(n > 7 && strncmp(buf, "pipe:[", 6) == 0 && buf[n - 1] == ']'), yesno(strcmp(buf, w) == 0));

  char file[PATH_MAX];
  snprintf(file, sizeof file, "%s/linked.txt", tmp);
  int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
  write(fd, "0123456789", 10);
  lseek(fd, 4, SEEK_SET);
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  n = readlink(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("file fd link is its path: %s\n", yesno(realpath(file, want) && strcmp(buf, want) == 0));
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  char info[512], v[64];
  slurp(path, info, sizeof info);
  printf("fdinfo pos: %s\n", statusField(info, "pos", v, sizeof v) ? v : "?");
  unsigned flags = 0;
  if (statusField(info, "flags", v, sizeof v)) flags = (unsigned)strtoul(v, NULL, 8);
  printf("fdinfo flags O_RDWR: %s, O_CLOEXEC: %s\n", yesno((flags & 3) == O_RDWR), yesno(flags & O_CLOEXEC));
  int fd2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd2);
  n = readlink(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("/dev/null link: %s\n", buf);
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd2);
  slurp(path, info, sizeof info);
  flags = statusField(info, "flags", v, sizeof v) ? (unsigned)strtoul(v, NULL, 8) : 0;
  printf("fdinfo of an O_CLOEXEC fd has O_CLOEXEC: %s\n", yesno(flags & O_CLOEXEC));
  // Reading through the fd link reopens the file.
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int fd3 = open(path, O_RDONLY);
  char got[11] = {0};
  printf("open through fd link reads: %s\n", fd3 >= 0 && read(fd3, got, 10) == 10 ? got : "(failed)");
  snprintf(path, sizeof path, "/proc/self/fd/%d", 999);
  printf("readlink of a closed fd: %s\n", readlink(path, buf, sizeof buf) < 0 ? strerror(errno) : "ok");
  close(fd3);
  close(fd2);
  close(fd);
  close(p[0]);
  close(p[1]);
}

static void memmaps(const char *tmp) {
  long pg = 4096;
  char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  // Guard pages around it keep neighbours from merging with it.
  munmap(m, pg);
  char *a = m + pg;
  showMapping("anon 3 pages", a);
  mprotect(a + pg, pg, PROT_READ);
  showMapping("after mprotect, first", a);
  showMapping("after mprotect, middle", a + pg);
  showMapping("after mprotect, last", a + 2 * pg);
  munmap(a + 2 * pg, pg);
  char line[512];
  printf("after munmap, the last page has no line: %s\n", yesno(!mapsLineFor((unsigned long)(a + 2 * pg), line, sizeof line)));
  munmap(a, 2 * pg);

  char file[PATH_MAX], real[PATH_MAX];
  snprintf(file, sizeof file, "%s/mapped.bin", tmp);
  int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
  static char data[3 * 4096];
  memset(data, 'x', sizeof data);
  write(fd, data, sizeof data);
  char *f = mmap(NULL, 2 * pg, PROT_READ, MAP_PRIVATE, fd, pg);
  if (mapsLineFor((unsigned long)f, line, sizeof line)) {
    unsigned long lo, hi, off;
    char perms[5];
    const char *name = "";
    parseMaps(line, &lo, &hi, perms, &off, &name);
    printf("file mapping: %s offset=%lx pages=%lu path is the file: %s\n", perms, off, (hi - lo) / 4096, yesno(realpath(file, real) && strcmp(name, real) == 0));
  } else printf("file mapping: no line\n");
  munmap(f, 2 * pg);
  close(fd);

  // The text of this program: r-xp, the program's path.
  if (mapsLineFor((unsigned long)&t_procfs, line, sizeof line)) {
    unsigned long lo, hi, off;
    char perms[5];
    const char *name = "";
    parseMaps(line, &lo, &hi, perms, &off, &name);
    printf("text mapping: %s offset=%lx path is exe: %s\n", perms, off, yesno(realpath(ctest_argv0, real) && strcmp(name, real) == 0));
  }
  int dummy;
  printf("stack line is [stack]: %s\n", yesno(mapsLineFor((unsigned long)&dummy, line, sizeof line) && strstr(line, "[stack]") != NULL));
}

static void statusStat(void) {
  char v[256];
  prctl(PR_SET_NAME, "renamed-by-prctl-long", 0, 0, 0);
  slurp("/proc/self/status", big, sizeof big);
  printf("status Name: %s\n", statusField(big, "Name", v, sizeof v) ? v : "?");
  printf("status Pid is getpid: %s\n", yesno(statusField(big, "Pid", v, sizeof v) && atoi(v) == getpid()));
  printf("status Tgid is getpid: %s\n", yesno(statusField(big, "Tgid", v, sizeof v) && atoi(v) == getpid()));
  printf("status PPid is getppid: %s\n", yesno(statusField(big, "PPid", v, sizeof v) && atoi(v) == getppid()));
  unsigned r, e, s, f;
  printf("status Uid is getuid x4: %s\n", yesno(statusField(big, "Uid", v, sizeof v) && sscanf(v, "%u %u %u %u", &r, &e, &s, &f) == 4 && r == getuid() && e == geteuid() && s == r && f == e));
  printf("status has VmRSS: %s\n", yesno(statusField(big, "VmRSS", v, sizeof v) != NULL));
  printf("status State: %s\n", statusField(big, "State", v, sizeof v) ? v : "?");
  slurp("/proc/self/comm", v, sizeof v);
  printf("comm: %s", v);
  // Writing comm renames the thread (Linux keeps up to 15 bytes, a newline included).
  int cfd = open("/proc/self/comm", O_WRONLY | O_TRUNC);
  printf("write comm: %s\n", cfd >= 0 && write(cfd, "via-comm\n", 9) == 9 ? "ok" : strerror(errno));
  close(cfd);
  char pn[17] = {0};
  prctl(PR_GET_NAME, pn, 0, 0, 0);
  printf("PR_GET_NAME after writing comm: \"%s\"\n", pn);
  slurp("/proc/self/status", big, sizeof big);
  printf("status Name after writing comm: %s\n", statusField(big, "Name", v, sizeof v) ? v : "?");
  prctl(PR_SET_NAME, "renamed-again", 0, 0, 0);
  slurp("/proc/self/comm", v, sizeof v);
  printf("comm after PR_SET_NAME: %s", v);

  slurp("/proc/self/stat", big, sizeof big);
  int pid = 0, ppid = 0;
  char state = 0;
  char *open = strchr(big, '('), *close = strrchr(big, ')');
  if (open && close) {
    sscanf(big, "%d", &pid);
    sscanf(close + 2, "%c %d", &state, &ppid);
    *close = 0;
  }
  // (QEMU emulates this file with the program's name and state 0: only the ids are compared.)
  (void)state;
  printf("stat pid, ppid: %s %s\n", yesno(pid == getpid()), yesno(ppid == getppid()));
  slurp("/proc/self/statm", big, sizeof big);
  long sz = 0, res = 0;
  printf("statm size>0 resident>0: %s\n", yesno(sscanf(big, "%ld %ld", &sz, &res) == 2 && sz > 0 && res > 0 && res <= sz));
}

static void cmdEnv(int argc, char **argv) {
  long n = slurp("/proc/self/cmdline", big, sizeof big);
  size_t want = 0;
  int same = 1;
  for (int i = 0; i < argc; i++) {
    size_t l = strlen(argv[i]) + 1;
    if (want + l > (size_t)n || memcmp(big + want, argv[i], l) != 0) same = 0;
    want += l;
  }
  printf("cmdline is argv with NULs: %s (%d strings)\n", yesno(same && want == (size_t)n), argc);
}

/** /proc/self/environ against the environment (QEMU shows its own process's here). */
static void environBytes(void) {
  long n = slurp("/proc/self/environ", big, sizeof big);
  size_t want = 0;
  int same = 1;
  int count = 0;
  for (char **e = environ; *e; e++, count++) {
    size_t l = strlen(*e) + 1;
    if (want + l > (size_t)n || memcmp(big + want, *e, l) != 0) same = 0;
    want += l;
  }
  printf("environ is the environment with NULs: %s (%d strings)\n", yesno(same && want == (size_t)n), count);
}

static void tasks(void) {
  pthread_t th[2];
  pthread_barrier_init(&bar, NULL, 3);
  for (long i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, (void *)i);
  pthread_barrier_wait(&bar);
  int seen[3] = {0};
  DIR *d = opendir("/proc/self/task");
  struct dirent *de;
  pid_t me = (pid_t)syscall(SYS_gettid);
  while (d && (de = readdir(d))) {
    int t = atoi(de->d_name);
    if (t == me) seen[0] = 1;
    if (t == tids[0]) seen[1] = 1;
    if (t == tids[1]) seen[2] = 1;
  }
  if (d) closedir(d);
  printf("task lists main, worker 0, worker 1: %s %s %s\n", yesno(seen[0]), yesno(seen[1]), yesno(seen[2]));
  char path[64], v[64];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tids[i]);
    slurp(path, v, sizeof v);
    printf("task %d comm: %s", i, v);
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tids[i]);
    slurp(path, big, sizeof big);
    char f[64];
    printf("task %d status Pid is its tid: %s, Tgid the pid: %s\n", i, yesno(statusField(big, "Pid", f, sizeof f) && atoi(f) == tids[i]), yesno(statusField(big, "Tgid", f, sizeof f) && atoi(f) == getpid()));
  }
  pthread_barrier_wait(&bar);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
}

static void machine(void) {
  char v[256];
  slurp("/proc/meminfo", big, sizeof big);
  struct sysinfo si;
  sysinfo(&si);
  unsigned long long total = statusField(big, "MemTotal", v, sizeof v) ? strtoull(v, NULL, 10) : 0;
  printf("meminfo MemTotal (kB) is sysinfo totalram: %s\n", yesno(total == (unsigned long long)si.totalram * si.mem_unit / 1024));
  printf("meminfo has MemFree and MemAvailable: %s\n", yesno(statusField(big, "MemFree", v, sizeof v) && statusField(big, "MemAvailable", v, sizeof v)));
  struct utsname u;
  uname(&u);
  slurp("/proc/sys/kernel/osrelease", v, sizeof v);
  v[strcspn(v, "\n")] = 0;
  printf("osrelease is uname release: %s\n", yesno(strcmp(v, u.release) == 0));
  slurp("/proc/sys/kernel/ostype", v, sizeof v);
  printf("ostype: %s", v);
  slurp("/proc/sys/kernel/hostname", v, sizeof v);
  v[strcspn(v, "\n")] = 0;
  printf("hostname is uname nodename: %s\n", yesno(strcmp(v, u.nodename) == 0));
  slurp("/proc/sys/kernel/pid_max", v, sizeof v);
  printf("pid_max >= pid: %s\n", yesno(atol(v) >= getpid()));
  long up = -1;
  slurp("/proc/uptime", v, sizeof v);
  double a = -1, b = -1;
  if (sscanf(v, "%lf %lf", &a, &b) == 2) up = (long)a;
  printf("uptime parses, >= 0: %s\n", yesno(up >= 0));
  slurp("/proc/self/limits", big, sizeof big);
  const char *nofile = strstr(big, "Max open files"), *stk = strstr(big, "Max stack size");
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  unsigned long long soft = 0, hard = 0;
  printf("limits: open files match getrlimit: %s\n", yesno(nofile && sscanf(nofile + 25, "%llu %llu", &soft, &hard) == 2 && soft == rl.rlim_cur && hard == rl.rlim_max));
  getrlimit(RLIMIT_STACK, &rl);
  printf("limits: stack soft limit matches getrlimit: %s\n", yesno(stk && sscanf(stk + 25, "%llu", &soft) == 1 && soft == rl.rlim_cur));
  slurp("/proc/sys/kernel/random/boot_id", v, sizeof v);
  char v2[64];
  slurp("/proc/sys/kernel/random/boot_id", v2, sizeof v2);
  printf("boot_id is a stable uuid: %s\n", yesno(strlen(v) == 37 && v[8] == '-' && strcmp(v, v2) == 0));
  slurp("/proc/sys/kernel/random/uuid", v, sizeof v);
  slurp("/proc/sys/kernel/random/uuid", v2, sizeof v2);
  printf("uuid changes on each read: %s\n", yesno(strlen(v) == 37 && strcmp(v, v2) != 0));
  slurp("/proc/filesystems", big, sizeof big);
  printf("filesystems lists proc: %s\n", yesno(strstr(big, "\tproc\n") != NULL));
  printf("stat of /proc/nonexistent: %s\n", access("/proc/nonexistent-entry", F_OK) < 0 ? strerror(errno) : "exists");
  printf("open of /proc/self/nonexistent: %s\n", open("/proc/self/nonexistent-entry", O_RDONLY) < 0 ? strerror(errno) : "opened");
  printf("open of /proc/self/status/x: %s\n", open("/proc/self/status/x", O_RDONLY) < 0 ? strerror(errno) : "opened");
  int pidfd = -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", getpid());
  pidfd = open(path, O_RDONLY | O_DIRECTORY);
  int sfd = openat(pidfd, "status", O_RDONLY);
  long n = sfd >= 0 ? read(sfd, big, 5) : -1;
  printf("openat(/proc/PID dirfd, \"status\") reads Name: %s\n", yesno(n == 5 && memcmp(big, "Name:", 5) == 0));
  close(sfd);
  close(pidfd);
  // lseek and a second read give the same bytes.
  int fd = open("/proc/self/status", O_RDONLY);
  char x[32], y[32];
  read(fd, x, sizeof x);
  lseek(fd, 0, SEEK_SET);
  read(fd, y, sizeof y);
  printf("status lseek(0) rereads the same: %s\n", yesno(memcmp(x, y, sizeof x) == 0));
  close(fd);
}

static void onSignal(int sig) { (void)sig; }

/** What rvisor alone is checked for (QEMU shows the host's view of its own process here). */
static void detail(void) {
  char v[256];
  slurp("/proc/self/comm", v, sizeof v);
  printf("initial comm: %s", v);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  signal(SIGUSR2, SIG_IGN);
  signal(SIGTERM, onSignal);
  pthread_t th[2];
  pthread_barrier_init(&bar, NULL, 3);
  for (long i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, (void *)i);
  pthread_barrier_wait(&bar);
  environBytes();
  void *brk0 = sbrk(0);
  sbrk(64 * 1024);
  char line[512];
  printf("heap line after sbrk is [heap]: %s\n", yesno(mapsLineFor((unsigned long)brk0, line, sizeof line) && strstr(line, "[heap]") != NULL));
  prctl(PR_SET_NAME, "detail-name", 0, 0, 0);
  slurp("/proc/self/stat", big, sizeof big);
  char *cl = strrchr(big, ')');
  printf("stat comm and state: %.*s %c\n", (int)(cl - strchr(big, '(') + 1), strchr(big, '('), cl[2]);
  slurp("/proc/self/status", big, sizeof big);
  const char *keys[] = {"Threads", "SigBlk", "SigIgn", "SigCgt", "State", "NoNewPrivs"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) printf("%s=%s\n", keys[i], statusField(big, keys[i], v, sizeof v) ? v : "?");
  int n = 0;
  DIR *d = opendir("/proc/self/task");
  struct dirent *de;
  while (d && (de = readdir(d))) if (de->d_name[0] != '.') n++;
  closedir(d);
  printf("tasks=%d\n", n);
  slurp("/proc/self/stat", big, sizeof big);
  int fields = 0;
  char *p = strrchr(big, ')') + 1;
  for (char *t = strtok(p, " \n"); t; t = strtok(NULL, " \n")) fields++;
  printf("stat fields=%d\n", fields + 2);
  int wfd = open("/proc/self/status", O_WRONLY);
  printf("open status for writing: %s\n", wfd < 0 ? strerror(errno) : "opened");
  if (wfd >= 0) close(wfd);
  slurp("/proc/self/statm", big, sizeof big);
  fields = 0;
  for (char *t = strtok(big, " \n"); t; t = strtok(NULL, " \n")) fields++;
  printf("statm fields=%d\n", fields);
  slurp("/proc/cpuinfo", big, sizeof big);
  printf("cpuinfo isa=%s\n", statusField(big, "isa", v, sizeof v) ? v : "?");
  printf("cpuinfo mmu=%s\n", statusField(big, "mmu", v, sizeof v) ? v : "?");
  int fds = 0;
  d = opendir("/proc/self/fd");
  while (d && (de = readdir(d))) if (de->d_name[0] != '.') fds++;
  closedir(d);
  printf("fd entries=%d\n", fds);
  pthread_barrier_wait(&bar);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
}

int t_procfs(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "detail") == 0) {
    detail();
    return 0;
  }
  const char *tmp = argc > 1 ? argv[1] : "/tmp";
  setvbuf(stdout, NULL, _IONBF, 0);
  links(tmp);
  memmaps(tmp);
  statusStat();
  cmdEnv(argc + 1, argv - 1); // main passes argv + 1: argv[-1] is the program
  tasks();
  machine();
  return 0;
}
