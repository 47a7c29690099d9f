// File calls in a scratch directory (argv[1]): fallocate (sizes with and without KEEP_SIZE,
// PUNCH_HOLE, errors), sync/syncfs/fsync/fdatasync/sync_file_range, copy_file_range (offsets,
// file positions, EOF, overlap, errors), splice file→pipe→file (offsets, SPLICE_F_NONBLOCK, EINVAL/ESPIPE), tee,
// preadv2/pwritev2 without flags (offset -1). openat2 and the RWF_* flags are in newcalls.c:
// QEMU 7.2 does not implement them.
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
#include "ctest.h"



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

static void falloc(void) {
  printf("-- fallocate\n");
  int fd = open("fa", O_CREAT | O_RDWR | O_TRUNC, 0644);
  R(fallocate(fd, 0, 0, 10000));
  printf("  size %ld\n", fsize(fd));
  R(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 50000));
  printf("  size %ld\n", fsize(fd));
  R(fallocate(fd, 0, 20000, 100));
  printf("  size %ld\n", fsize(fd));
  R(fallocate(fd, 0, 0, 10)); // inside: no change
  printf("  size %ld\n", fsize(fd));
  write(fd, "abcdefghij", 10);
  R(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 3));
  char b[11] = {0};
  pread(fd, b, 10, 0);
  for (int i = 0; i < 10; i++) if (!b[i]) b[i] = '_';
  printf("  after punching [2,5): %s, size %ld\n", b, fsize(fd));
  R(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 1));
  R(fallocate(fd, 0, -1, 10));
  R(fallocate(fd, 0, 0, 0));
  R(fallocate(fd, 0x1000, 0, 10));
  R(fallocate(-1, 0, 0, 10));
  int ro = open("fa", O_RDONLY);
  R(fallocate(ro, 0, 0, 10));
  close(ro);
  int p[2];
  pipe(p);
  R(fallocate(p[1], 0, 0, 10));
  close(p[0]); close(p[1]);
  int d = open(".", O_RDONLY | O_DIRECTORY);
  R(fallocate(d, 0, 0, 10));
  close(d);
  int nul = open("/dev/null", O_WRONLY);
  R(fallocate(nul, 0, 0, 10));
  close(nul);
  R(fsync(fd));
  R(fdatasync(fd));
  R(syncfs(fd));
  sync();
  printf("  sync returned\n");
  R(syncfs(99));
  R(sync_file_range(fd, 0, 0, 0));
  R(sync_file_range(fd, 0, 100, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
  R(sync_file_range(fd, -1, 0, 0));
  R(sync_file_range(fd, 0, 0, 8));
  R(sync_file_range(-1, 0, 0, 0));
  int sp[2];
  pipe(sp);
  R(sync_file_range(sp[0], 0, 0, 0));
  close(sp[0]); close(sp[1]);
  close(fd);
}

static void cfr(void) {
  printf("-- copy_file_range\n");
  int a = open("src", O_CREAT | O_RDWR | O_TRUNC, 0644);
  write(a, "0123456789abcdefghij", 20);
  int b = open("dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
  loff_t oi = 5, oo = 2;
  R(copy_file_range(a, &oi, b, &oo, 6, 0));
  printf("  offsets now %lld %lld, src pos %ld\n", (long long)oi, (long long)oo, (long)lseek(a, 0, SEEK_CUR));
  show_file("dst", "dst");
  lseek(a, 15, SEEK_SET);
  lseek(b, 0, SEEK_END);
  R(copy_file_range(a, NULL, b, NULL, 100, 0));
  printf("  positions now %ld %ld\n", (long)lseek(a, 0, SEEK_CUR), (long)lseek(b, 0, SEEK_CUR));
  show_file("dst", "dst");
  R(copy_file_range(a, NULL, b, NULL, 100, 0)); // at EOF
  oi = 0; oo = 4;
  R(copy_file_range(a, &oi, a, &oo, 8, 0)); // overlapping in one file
  oi = 0; oo = 10;
  R(copy_file_range(a, &oi, a, &oo, 8, 0));
  show_file("src", "src");
  R(copy_file_range(a, NULL, b, NULL, 10, 1));
  int ro = open("dst", O_RDONLY), ap = open("dst", O_WRONLY | O_APPEND);
  R(copy_file_range(a, NULL, ro, NULL, 10, 0));
  R(copy_file_range(a, NULL, ap, NULL, 10, 0));
  int p[2];
  pipe(p);
  R(copy_file_range(a, NULL, p[1], NULL, 10, 0));
  int d = open(".", O_RDONLY | O_DIRECTORY);
  R(copy_file_range(d, NULL, b, NULL, 10, 0));
  R(copy_file_range(a, (loff_t *)8, b, NULL, 10, 0));
  close(p[0]); close(p[1]); close(d); close(ro); close(ap); close(a); close(b);
}

static void splices(void) {
  printf("-- splice and tee\n");
  int in = open("sin", O_CREAT | O_RDWR | O_TRUNC, 0644);
  write(in, "The quick brown fox jumps over the lazy dog", 43);
  int out = open("sout", O_CREAT | O_RDWR | O_TRUNC, 0644);
  int p[2], q[2];
  pipe(p); pipe(q);
  loff_t off = 4;
  R(splice(in, &off, p[1], NULL, 15, 0));
  printf("  in offset now %lld, file pos %ld\n", (long long)off, (long)lseek(in, 0, SEEK_CUR));
  R(tee(p[0], q[1], 100, 0));
  R(splice(p[0], NULL, out, NULL, 5, 0));
  loff_t oo = 20;
  R(splice(p[0], NULL, out, &oo, 100, 0));
  printf("  out offset now %lld, file pos %ld\n", (long long)oo, (long)lseek(out, 0, SEEK_CUR));
  show_file("sout", "sout");
  char buf[64] = {0};
  R(read(q[0], buf, sizeof buf));
  printf("  tee copy: '%s'\n", buf);
  R(splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK)); // empty pipe
  lseek(in, 40, SEEK_SET);
  R(splice(in, NULL, p[1], NULL, 10, 0));
  R(splice(in, NULL, p[1], NULL, 10, 0)); // EOF
  R(splice(p[0], NULL, q[1], NULL, 100, 0)); // pipe to pipe
  memset(buf, 0, sizeof buf);
  R(read(q[0], buf, sizeof buf));
  printf("  moved: '%s'\n", buf);
  R(splice(in, NULL, out, NULL, 10, 0)); // no pipe
  R(splice(p[0], &off, out, NULL, 10, 0));
  R(splice(in, NULL, p[1], &off, 10, 0));
  R(splice(p[0], NULL, p[1], NULL, 10, 0));
  R(splice(in, NULL, p[1], NULL, 10, 0x100));
  R(splice(in, NULL, p[1], NULL, 0, 0));
  R(splice(-1, NULL, p[1], NULL, 10, 0));
  R(splice(p[1], NULL, out, NULL, 10, 0)); // write end as input
  R(tee(p[0], p[1], 10, 0));
  R(tee(in, q[1], 10, 0));
  R(tee(p[0], q[1], 10, SPLICE_F_NONBLOCK)); // empty
  int ap = open("sout", O_WRONLY | O_APPEND);
  write(p[1], "x", 1);
  R(splice(p[0], NULL, ap, NULL, 10, 0));
  close(ap);
  // A full pipe with SPLICE_F_NONBLOCK.
  int big = open("big", O_CREAT | O_RDWR | O_TRUNC, 0644);
  static char z[70000];
  memset(z, 'z', sizeof z);
  write(big, z, sizeof z);
  int r[2];
  pipe(r);
  long total = 0, n;
  loff_t bo = 0;
  while ((n = splice(big, &bo, r[1], NULL, 70000, SPLICE_F_NONBLOCK)) > 0) total += n;
  printf("  filled a pipe with %ld bytes, then %s\n", total, n < 0 ? strerrorname_np(errno) : "0");
  close(r[1]);
  total = 0;
  while ((n = splice(r[0], NULL, out, NULL, 70000, 0)) > 0) total += n;
  printf("  drained %ld bytes, then %ld\n", total, n);
  close(r[0]); close(big);
  close(p[1]);
  R(splice(p[0], NULL, out, NULL, 10, 0)); // no writers: EOF
  close(p[0]);
  close(q[0]);
  close(in); close(out); close(q[1]);
}

static void rw2(void) {
  printf("-- preadv2 and pwritev2 without flags (QEMU 7.2 refuses RWF_* flags; see newcalls.c)\n");
  int fd = open("v", O_CREAT | O_RDWR | O_TRUNC, 0644);
  struct iovec w[2] = {{"hello ", 6}, {"world", 5}};
  R(pwritev2(fd, w, 2, -1, 0));
  printf("  pos %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  R(pwritev2(fd, w, 1, 20, 0));
  printf("  pos %ld size %ld\n", (long)lseek(fd, 0, SEEK_CUR), fsize(fd));
  lseek(fd, 0, SEEK_SET);
  char a[8] = {0}, b[8] = {0};
  struct iovec r[2] = {{a, 3}, {b, 4}};
  R(preadv2(fd, r, 2, -1, 0));
  printf("  '%s' '%s' pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
  R(preadv2(fd, r, 2, 6, 0));
  printf("  '%s' '%s' pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
  R(preadv2(fd, r, 2, -2, 0));
  R(preadv2(-1, r, 2, 0, 0));
  int ap = open("v", O_WRONLY | O_APPEND);
  R(pwritev2(ap, w + 1, 1, -1, 0));
  close(ap);
  show_file("v", "v");
  int p[2];
  pipe(p);
  R(preadv2(p[0], r, 2, 0, 0));
  R(pwritev2(p[1], w, 2, -1, 0));
  memset(a, 0, sizeof a); memset(b, 0, sizeof b);
  R(preadv2(p[0], r, 2, -1, 0));
  printf("  '%s' '%s'\n", a, b);
  R(preadv2(p[1], r, 2, -1, 0));
  close(p[0]); close(p[1]); close(fd);
}

int t_filecalls(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1])) { fprintf(stderr, "usage: filecalls TMPDIR\n"); return 2; }
  setvbuf(stdout, NULL, _IONBF, 0);
  umask(022);
  falloc();
  cfr();
  splices();
  rw2();
  return 0;
}
