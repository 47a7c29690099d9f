// File-system system calls inside a scratch directory given as argv[1]; prints only what is
// deterministic (no inode numbers, times other than those it sets, or absolute paths).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <limits.h>
#include "ctest.h"

#define CHECK(x) do { if ((x) < 0) { printf("FAIL %s: %s (line %d)\n", #x, strerror(errno), __LINE__); } } while (0)
#define ERR(x) do { errno = 0; long r_ = (long)(x); printf("%-40s -> %ld errno %d (%s)\n", #x, r_, errno, errno ? strerror(errno) : "ok"); } while (0)

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void listdir(const char *path) {
  DIR *d = opendir(path);
  if (!d) { printf("opendir %s: %s\n", path, strerror(errno)); return; }
  char *names[64]; int n = 0; struct dirent *e;
  while ((e = readdir(d)) && n < 64) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmpstr);
  printf("ls %s:", path);
  for (int i = 0; i < n; i++) {
    char p[PATH_MAX]; struct stat st;
    snprintf(p, sizeof p, "%s/%s", path, names[i]);
    const char *kind = lstat(p, &st) ? "?" : S_ISDIR(st.st_mode) ? "/" : S_ISLNK(st.st_mode) ? "@" : "";
    printf(" %s%s", names[i], kind);
    if (S_ISREG(st.st_mode)) printf("(%lld)", (long long)st.st_size);
    free(names[i]);
  }
  putchar('\n');
}

int t_fileio(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: fileio TMPDIR\n"); return 2; }
  umask(022);
  char cwd[PATH_MAX], real[PATH_MAX];
  if (!realpath(argv[1], real)) { printf("realpath failed\n"); return 1; }
  CHECK(chdir(argv[1]));
  if (!getcwd(cwd, sizeof cwd)) { printf("getcwd failed\n"); return 1; }
  printf("getcwd == realpath(argv[1]): %d\n", strcmp(cwd, real) == 0);

  // create, write, read back, lseek, pread/pwrite
  int fd = open("a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0666);
  CHECK(fd);
  for (int i = 0; i < 100; i++) CHECK(write(fd, "hello world\n", 12));
  CHECK(close(fd));
  fd = open("a.txt", O_RDWR);
  printf("size via lseek(SEEK_END): %ld\n", (long)lseek(fd, 0, SEEK_END));
  printf("lseek(6, SEEK_SET): %ld\n", (long)lseek(fd, 6, SEEK_SET));
  char buf[256] = {0};
  printf("read: %zd '%.5s'\n", read(fd, buf, 5), buf);
  printf("pwrite: %zd\n", pwrite(fd, "HELLO", 5, 0));
  memset(buf, 0, sizeof buf);
  printf("pread: %zd '%.11s'\n", pread(fd, buf, 11, 0), buf);
  printf("offset unchanged by pread/pwrite: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  printf("lseek(-3, SEEK_CUR): %ld\n", (long)lseek(fd, -3, SEEK_CUR));
  ERR(lseek(fd, -1, SEEK_SET));
  struct stat st;
  CHECK(fstat(fd, &st));
  printf("fstat: size %lld regular %d mode %o nlink %ld blksize>0 %d\n", (long long)st.st_size, S_ISREG(st.st_mode),
         st.st_mode & 07777, (long)st.st_nlink, st.st_blksize > 0);
  CHECK(ftruncate(fd, 10));
  CHECK(fstat(fd, &st));
  printf("after ftruncate(10): size %lld\n", (long long)st.st_size);
  printf("write past end: lseek %ld", (long)lseek(fd, 20, SEEK_SET));
  printf(" write %zd\n", write(fd, "Z", 1));
  memset(buf, 0x55, sizeof buf);
  printf("pread hole: %zd bytes:", pread(fd, buf, 64, 0));
  for (int i = 0; i < 21; i++) printf(" %02x", (unsigned char)buf[i]);
  putchar('\n');
  // readv/writev
  struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
  printf("writev: %zd at %ld\n", pwritev(fd, iov, 3, 100), 100L);
  char r1[4] = {0}, r2[8] = {0};
  struct iovec riov[2] = {{r1, 2}, {r2, 7}};
  printf("readv: %zd '%s' '%s'\n", preadv(fd, riov, 2, 99), r1 + 1, r2);
  CHECK(close(fd));
  // O_APPEND, O_EXCL, missing files, bad fds
  fd = open("a.txt", O_WRONLY | O_APPEND);
  lseek(fd, 0, SEEK_SET);
  write(fd, "END", 3);
  CHECK(fstat(fd, &st));
  printf("O_APPEND write goes to the end: size %lld pos %ld\n", (long long)st.st_size, (long)lseek(fd, 0, SEEK_CUR));
  close(fd);
  ERR(open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
  ERR(open("missing", O_RDONLY));
  ERR(open("a.txt/x", O_RDONLY));
  ERR(read(12345, buf, 1));
  ERR(close(12345));
  ERR(write(-1, "x", 1));
  // dup, dup2, fcntl
  fd = open("a.txt", O_RDONLY | O_CLOEXEC);
  int fd2 = dup(fd), fd3 = dup2(fd, 50), fd4 = fcntl(fd, F_DUPFD, 60);
  printf("dup > fd: %d, dup2 -> %d, F_DUPFD(60) -> %d\n", fd2 > fd, fd3, fd4);
  printf("FD_CLOEXEC: orig %d dup %d; F_GETFL accmode %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC, fcntl(fd2, F_GETFD) & FD_CLOEXEC,
         fcntl(fd, F_GETFL) & O_ACCMODE);
  lseek(fd, 4, SEEK_SET);
  printf("dup shares offset: %ld\n", (long)lseek(fd3, 0, SEEK_CUR));
  close(fd); close(fd2); close(fd3); close(fd4);
  // directories
  CHECK(mkdir("d", 0755));
  ERR(mkdir("d", 0755));
  const char *names[] = {"f3", "f1", "zz", "f2", ".hidden", "f10"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[64]; snprintf(p, sizeof p, "d/%s", names[i]);
    int f = open(p, O_CREAT | O_WRONLY, 0600);
    write(f, p, strlen(p)); close(f);
  }
  CHECK(mkdir("d/sub", 0700));
  listdir("d");
  CHECK(rename("d/f1", "d/g1"));
  ERR(stat("d/f1", &st));
  CHECK(stat("d/g1", &st));
  printf("renamed: size %lld mode %o\n", (long long)st.st_size, st.st_mode & 07777);
  CHECK(rename("d/f2", "d/zz")); // replaces
  CHECK(link("d/g1", "d/hard"));
  CHECK(stat("d/g1", &st));
  printf("after link: nlink %ld\n", (long)st.st_nlink);
  CHECK(symlink("../a.txt", "d/lnk"));
  char lb[64] = {0};
  ssize_t ln = readlink("d/lnk", lb, sizeof lb);
  printf("readlink: %zd '%s'\n", ln, lb);
  struct stat lst;
  CHECK(lstat("d/lnk", &lst)); CHECK(stat("d/lnk", &st));
  printf("lstat is link %d, stat through link is regular %d size %lld\n", S_ISLNK(lst.st_mode), S_ISREG(st.st_mode), (long long)st.st_size);
  ERR(readlink("a.txt", lb, sizeof lb));
  listdir("d");
  ERR(rmdir("d"));
  ERR(unlink("d/sub"));
  // *at calls relative to a directory fd
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  int f = openat(dfd, "at.txt", O_CREAT | O_WRONLY, 0644);
  write(f, "at!", 3); close(f);
  CHECK(fstatat(dfd, "at.txt", &st, 0));
  printf("fstatat size %lld, faccessat %d\n", (long long)st.st_size, faccessat(dfd, "at.txt", R_OK, 0));
  CHECK(unlinkat(dfd, "at.txt", 0));
  CHECK(mkdirat(dfd, "sub2", 0755));
  CHECK(unlinkat(dfd, "sub2", AT_REMOVEDIR));
  close(dfd);
  // chmod, utimensat, truncate, access
  CHECK(chmod("a.txt", 0640));
  struct timespec ts[2] = {{1000000000, 0}, {1234567890, 500000000}};
  CHECK(truncate("a.txt", 5));
  CHECK(utimensat(AT_FDCWD, "a.txt", ts, 0));
  CHECK(stat("a.txt", &st));
  printf("chmod/truncate/utimensat: mode %o mtime %lld.%09ld size %lld access(W_OK) %d access(X_OK) %d\n", st.st_mode & 07777,
         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_size, access("a.txt", W_OK), access("missing", F_OK));
  // chdir/getcwd
  CHECK(chdir("d/sub"));
  getcwd(buf, sizeof buf);
  size_t L = strlen(buf);
  printf("getcwd ends with /d/sub: %d\n", L >= 6 && strcmp(buf + L - 6, "/d/sub") == 0);
  CHECK(chdir("../.."));
  getcwd(buf, sizeof buf);
  printf("back: %d\n", strcmp(buf, cwd) == 0);
  // stdio on top of it
  FILE *fp = fopen("s.txt", "w+");
  for (int i = 0; i < 50; i++) fprintf(fp, "line %d %s %.3f\n", i, i % 2 ? "odd" : "even", i / 7.0);
  printf("ftell after writes: %ld\n", ftell(fp));
  rewind(fp);
  char line[64]; int lines = 0; uint64_t h = FNV0;
  while (fgets(line, sizeof line, fp)) { lines++; h = fnv(h, line, strlen(line)); }
  fseek(fp, -10, SEEK_END);
  size_t got = fread(buf, 1, 100, fp);
  printf("fgets: %d lines hash %016llx; last %zu bytes '%.*s'\n", lines, (unsigned long long)h, got, (int)got - 1, buf);
  fclose(fp);
  // pipe
  int pfd[2]; CHECK(pipe(pfd));
  write(pfd[1], "through the pipe", 16); close(pfd[1]);
  memset(buf, 0, sizeof buf);
  ssize_t pr = read(pfd[0], buf, sizeof buf), pr2 = read(pfd[0], buf + 100, 10);
  printf("pipe: %zd '%s' then %zd (EOF)\n", pr, buf, pr2);
  close(pfd[0]);
  // clean up
  const char *rm[] = {"d/f3", "d/g1", "d/zz", "d/.hidden", "d/f10", "d/hard", "d/lnk", "a.txt", "s.txt"};
  for (size_t i = 0; i < sizeof rm / sizeof rm[0]; i++) CHECK(unlink(rm[i]));
  CHECK(rmdir("d/sub"));
  CHECK(rmdir("d"));
  listdir(".");
  return 0;
}
