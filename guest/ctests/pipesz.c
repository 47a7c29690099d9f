// Pipe sizes and /proc/sys: F_GETPIPE_SZ/F_SETPIPE_SZ (rounding to a power of two pages, at
// least one; EBUSY when the pipe holds more; beyond /proc/sys/fs/pipe-max-size only for a
// privileged process: EPERM after dropping to uid 65534; EBADF on a file), the capacity a
// non-blocking writer fills, and /proc/sys files programs read (values that are this host's
// under QEMU are only checked for their form).
#define _GNU_SOURCE
#include "ctest.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long setsz(int fd, long n) {
  long r = fcntl(fd, F_SETPIPE_SZ, n);
  return r < 0 ? -errno : r;
}

/** Bytes a non-blocking writer puts into an empty pipe before EAGAIN. */
static long fill(int w) {
  static char buf[4096];
  long total = 0;
  for (;;) {
    ssize_t n = write(w, buf, sizeof buf);
    if (n < 0) return errno == EAGAIN ? total : -errno;
    total += n;
  }
}

static void readsys(const char *path, int show) {
  char v[256] = "";
  FILE *f = fopen(path, "r");
  if (!f) { printf("%s: %s\n", path, strerror(errno)); return; }
  if (!fgets(v, sizeof v, f)) v[0] = 0;
  fclose(f);
  size_t n = strlen(v);
  int nl = n > 0 && v[n - 1] == '\n';
  if (nl) v[--n] = 0;
  int digits = n > 0;
  for (size_t i = 0; i < n; i++) if (!isdigit((unsigned char)v[i]) && v[i] != '\t') digits = 0;
  if (show) printf("%s: %s\n", path, v);
  else printf("%s: numeric %s, newline %s\n", path, digits ? "yes" : "no", nl ? "yes" : "no");
}

int t_pipesz(int argc, char **argv) {
  (void)argc; (void)argv;
  int p[2];
  if (pipe2(p, O_NONBLOCK)) return 1;
  printf("F_GETPIPE_SZ: %d\n", fcntl(p[0], F_GETPIPE_SZ));
  printf("fill at 64K: %ld\n", fill(p[1]));
  printf("F_SETPIPE_SZ 4096 while full: %ld\n", setsz(p[1], 4096));
  char drain[65536];
  printf("drained %zd\n", read(p[0], drain, sizeof drain));
  long sizes[] = {0, 1, 4096, 4097, 5000, 65536, 100000, 1048576};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    printf("F_SETPIPE_SZ %ld: %ld (get %d)\n", sizes[i], setsz(p[0], sizes[i]), fcntl(p[1], F_GETPIPE_SZ));
  printf("F_SETPIPE_SZ 8192: %ld, fill: %ld\n", setsz(p[1], 8192), fill(p[1]));
  printf("F_SETPIPE_SZ 4096 with 8192 bytes in: %ld\n", setsz(p[1], 4096));
  printf("drained %zd\n", read(p[0], drain, sizeof drain));
  printf("F_SETPIPE_SZ 4096 empty: %ld, fill: %ld\n", setsz(p[1], 4096), fill(p[1]));
  printf("F_SETPIPE_SZ 2^31+1: %ld\n", setsz(p[1], (1L << 31) + 1));
  int fd = open("/proc/self/exe", O_RDONLY);
  printf("F_SETPIPE_SZ on a file: %ld, F_GETPIPE_SZ: %d %s\n", setsz(fd, 8192), fcntl(fd, F_GETPIPE_SZ), strerror(errno));
  close(fd);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (getuid() == 0 && (setgid(65534) || setuid(65534))) _exit(3);
    int q[2];
    if (pipe(q)) _exit(4);
    printf("unprivileged: F_SETPIPE_SZ 1048576: %ld, 1048577: %ld, 4194304: %ld\n", setsz(q[0], 1048576), setsz(q[0], 1048577), setsz(q[0], 4194304));
    printf("unprivileged: shrink to 4096: %ld\n", setsz(q[0], 4096));
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child status %d\n", WEXITSTATUS(st));
  readsys("/proc/sys/fs/pipe-max-size", 1);
  readsys("/proc/sys/kernel/ostype", 1);
  readsys("/proc/sys/fs/file-max", 0);
  readsys("/proc/sys/fs/nr_open", 0);
  readsys("/proc/sys/kernel/threads-max", 0);
  readsys("/proc/sys/kernel/cap_last_cap", 0);
  readsys("/proc/sys/vm/overcommit_memory", 0);
  readsys("/proc/sys/vm/max_map_count", 0);
  readsys("/proc/sys/net/core/somaxconn", 0);
  readsys("/proc/sys/net/ipv4/ip_local_port_range", 0);
  readsys("/proc/sys/kernel/random/entropy_avail", 0);
  readsys("/proc/sys/fs/inotify/max_queued_events", 0);
  return 0;
}
