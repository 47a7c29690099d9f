// Calls that QEMU 7.2 (the ctests oracle) does not implement: openat2 (ENOSYS there) and the
// RWF_* flags of preadv2/pwritev2 (EOPNOTSUPP there). Not a cases.json case: its golden output
// comes from this same file built for the host and run on the host's own Linux kernel
// (guest/ctests/native.sh), and test/user-newcalls.test.ts compares rvisor with it.
// argv[1] is a scratch directory.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include "ctest.h"

#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x20
#endif

#define R(x) do { errno = 0; long r_ = (long)(x); printf("%-66s -> %ld %s\n", #x, r_, r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static long fsize(int fd) { struct stat st; return fstat(fd, &st) < 0 ? -1 : (long)st.st_size; }

static void show_file(const char *what, const char *path) {
  char buf[256] = {0};
  int fd = open(path, O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  for (ssize_t i = 0; i < n; i++) if (buf[i] == 0) buf[i] = '_';
  printf("  %s: %zd '%s'\n", what, n, n > 0 ? buf : "");
}

static long o2(int dfd, const char *path, unsigned long long flags, unsigned long long mode, unsigned long long resolve) {
  struct open_how how = {flags, mode, resolve};
  long fd = syscall(SYS_openat2, dfd, path, &how, sizeof how);
  if (fd >= 0) { close((int)fd); return 1; }
  return fd;
}

static void openat2s(void) {
  printf("-- openat2\n");
  mkdir("root", 0755);
  mkdir("root/sub", 0755);
  close(open("root/sub/f", O_CREAT | O_WRONLY, 0644));
  close(open("outside", O_CREAT | O_WRONLY, 0644));
  symlink("sub/f", "root/rel");
  symlink("/etc/passwd", "root/abs");
  symlink("../outside", "root/up");
  symlink("/sub/f", "root/rootabs");
  int d = open("root", O_RDONLY | O_DIRECTORY);
  R(o2(d, "sub/f", O_RDONLY, 0, 0));
  R(o2(d, "sub/f", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "sub/../sub/f", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "../outside", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "/etc/passwd", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "rel", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "abs", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "up", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "up", O_RDONLY, 0, 0));
  R(o2(d, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
  R(o2(d, "sub/f", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
  R(o2(d, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
  R(o2(d, "rel", O_RDONLY | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
  R(o2(d, "rootabs", O_RDONLY, 0, RESOLVE_IN_ROOT));
  R(o2(d, "/sub/f", O_RDONLY, 0, RESOLVE_IN_ROOT));
  R(o2(d, "../../sub/f", O_RDONLY, 0, RESOLVE_IN_ROOT));
  R(o2(d, "rootabs", O_RDONLY, 0, 0));
  R(o2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
  R(o2(AT_FDCWD, "/proc/self/exe", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_MAGICLINKS));
  R(o2(d, "sub/new", O_CREAT | O_WRONLY, 0600, RESOLVE_BENEATH));
  struct stat st;
  stat("root/sub/new", &st);
  printf("  created mode %04o\n", (unsigned)(st.st_mode & 07777));
  R(o2(d, "sub/new2", O_CREAT | O_WRONLY, 0600, RESOLVE_CACHED));
  R(o2(d, "sub/f", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
  R(o2(d, "sub/f", O_RDONLY, 0, 0x40));
  R(o2(d, "sub/f", O_RDONLY, 0644, 0));
  R(o2(d, "sub/f", O_RDONLY | (1ULL << 40), 0, 0));
  R(o2(d, "sub/new3", O_CREAT | O_WRONLY, 010000, 0));
  R(o2(d, "sub", O_PATH | O_RDWR, 0, 0));
  R(o2(d, "sub", O_DIRECTORY | O_CREAT, 0600, 0));
  R(o2(d, "missing", O_RDONLY, 0, RESOLVE_BENEATH));
  R(o2(d, "sub/f/x", O_RDONLY, 0, RESOLVE_BENEATH));
  struct { struct open_how h; unsigned long long extra; } big = {{O_RDONLY, 0, 0}, 0};
  R(syscall(SYS_openat2, d, "sub/f", &big, sizeof big) >= 0);
  big.extra = 1;
  R(syscall(SYS_openat2, d, "sub/f", &big, sizeof big));
  R(syscall(SYS_openat2, d, "sub/f", &big, 16));
  R(syscall(SYS_openat2, d, "sub/f", &big, 8192));
  R(syscall(SYS_openat2, d, "sub/f", (void *)8, 24));
  R(syscall(SYS_openat2, 99, "sub/f", &big.h, 24));
  close(d);
}

static void rw2(void) {
  printf("-- preadv2 and pwritev2 with RWF_* flags\n");
  int fd = open("v", O_CREAT | O_RDWR | O_TRUNC, 0644);
  struct iovec w[2] = {{"hello ", 6}, {"world", 5}};
  R(pwritev2(fd, w, 2, -1, 0));
  printf("  pos %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  R(pwritev2(fd, w, 1, 20, RWF_DSYNC));
  printf("  pos %ld size %ld\n", (long)lseek(fd, 0, SEEK_CUR), fsize(fd));
  R(pwritev2(fd, w + 1, 1, 0, RWF_APPEND));
  printf("  pos %ld size %ld\n", (long)lseek(fd, 0, SEEK_CUR), fsize(fd));
  R(pwritev2(fd, w, 1, -1, RWF_SYNC | RWF_HIPRI));
  lseek(fd, 0, SEEK_SET);
  char a[8] = {0}, b[8] = {0};
  struct iovec r[2] = {{a, 3}, {b, 4}};
  R(preadv2(fd, r, 2, -1, 0));
  printf("  '%s' '%s' pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
  R(preadv2(fd, r, 2, 6, RWF_HIPRI));
  printf("  '%s' '%s' pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
  R(preadv2(fd, r, 2, -2, 0));
  R(preadv2(fd, r, 2, 0, 0x10000));
  R(preadv2(fd, r, 0, 0, 0x10000));
  R(preadv2(-1, r, 2, 0, 0));
  int ap = open("v", O_WRONLY | O_APPEND);
  R(pwritev2(ap, w, 1, 0, RWF_NOAPPEND));
  R(pwritev2(ap, w + 1, 1, -1, 0));
  close(ap);
  show_file("v", "v");
  int p[2];
  pipe(p);
  R(preadv2(p[0], r, 2, -1, RWF_NOWAIT));
  R(preadv2(p[0], r, 2, 0, 0));
  R(pwritev2(p[1], w, 2, -1, 0));
  memset(a, 0, sizeof a); memset(b, 0, sizeof b);
  R(preadv2(p[0], r, 2, -1, RWF_NOWAIT));
  printf("  '%s' '%s'\n", a, b);
  R(preadv2(p[1], r, 2, -1, 0));
  close(p[0]); close(p[1]); close(fd);
}

int t_newcalls(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1])) { fprintf(stderr, "usage: newcalls TMPDIR\n"); return 2; }
  setvbuf(stdout, NULL, _IONBF, 0);
  umask(022);
  openat2s();
  rw2();
  return 0;
}

#ifdef NATIVE_MAIN
const char *ctest_argv0;
int main(int argc, char **argv) { return t_newcalls(argc, argv); }
#endif
