// File metadata in a scratch directory (argv[1]): exact nanosecond times set with utimensat /
// futimens (UTIME_OMIT, UTIME_NOW, AT_SYMLINK_NOFOLLOW, EINVAL) read back with stat and statx;
// the umask applied by open, mkdir, mknod and mkfifo and inherited by a forked child; a symlink to a directory used as a path prefix, a cwd, a dirfd, and opened with
// O_PATH|O_NOFOLLOW (fstat, readlinkat "", fchmodat AT_SYMLINK_NOFOLLOW).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include "ctest.h"

#define R(x) do { errno = 0; long r_ = (long)(x); printf("%-62s -> %ld %s\n", #x, r_, r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static void times_of(const char *what, const char *path, int flags) {
  struct stat st;
  struct statx sx;
  if (fstatat(AT_FDCWD, path, &st, flags) < 0) { printf("  %s: stat %s\n", what, strerrorname_np(errno)); return; }
  if (statx(AT_FDCWD, path, flags, STATX_ATIME | STATX_MTIME, &sx) < 0) { printf("  %s: statx %s\n", what, strerrorname_np(errno)); return; }
  printf("  %s: stat atime %lld.%09ld mtime %lld.%09ld | statx atime %lld.%09u mtime %lld.%09u\n", what,
         (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
         (long long)sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec, (long long)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec);
}

static void nstimes(void) {
  printf("-- nanosecond times\n");
  close(open("t", O_CREAT | O_WRONLY, 0644));
  struct timespec ts[2] = {{1700000000, 123456789}, {1600000000, 987654321}};
  R(utimensat(AT_FDCWD, "t", ts, 0));
  times_of("set", "t", 0);
  struct timespec odd[2] = {{1234567890, 1}, {1999999999, 999999999}};
  R(utimensat(AT_FDCWD, "t", odd, 0));
  times_of("odd ns", "t", 0);
  struct timespec om[2] = {{5, UTIME_OMIT}, {1500000000, 500}};
  R(utimensat(AT_FDCWD, "t", om, 0));
  times_of("atime omitted", "t", 0);
  struct timespec om2[2] = {{1400000000, 7}, {0, UTIME_OMIT}};
  int fd = open("t", O_RDWR);
  R(futimens(fd, om2));
  times_of("futimens, mtime omitted", "t", 0);
  struct timespec neg[2] = {{-1, 250000000}, {0, 0}};
  R(utimensat(AT_FDCWD, "t", neg, 0));
  times_of("before the epoch", "t", 0);
  struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  R(utimensat(AT_FDCWD, "t", now, 0));
  struct stat st;
  stat("t", &st);
  printf("  UTIME_NOW atime after 2020: %s, mtime kept: %s\n", st.st_atim.tv_sec > 1577836800 ? "yes" : "no",
         st.st_mtim.tv_sec == 0 && st.st_mtim.tv_nsec == 0 ? "yes" : "no");
  R(utimensat(AT_FDCWD, "t", NULL, 0));
  stat("t", &st);
  printf("  NULL times: mtime after 2020: %s\n", st.st_mtim.tv_sec > 1577836800 ? "yes" : "no");
  symlink("t", "tl");
  struct timespec l[2] = {{1300000000, 111111111}, {1300000001, 222222222}};
  R(utimensat(AT_FDCWD, "tl", l, AT_SYMLINK_NOFOLLOW));
  times_of("symlink itself", "tl", AT_SYMLINK_NOFOLLOW);
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  R(utimensat(AT_FDCWD, "t", bad, 0));
  struct timespec bad2[2] = {{0, -1}, {0, 0}};
  R(utimensat(AT_FDCWD, "t", bad2, 0));
  struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  R(utimensat(AT_FDCWD, "missing", omit, 0));
  R(utimensat(AT_FDCWD, "missing", ts, 0));
  R(utimensat(AT_FDCWD, "t", ts, 0x8000));
  R(syscall(SYS_utimensat, AT_FDCWD, "t", (struct timespec *)8, 0));
  R(syscall(SYS_utimensat, 99, NULL, ts, 0));
  R(syscall(SYS_utimensat, fd, NULL, ts, AT_SYMLINK_NOFOLLOW));
  R(syscall(SYS_utimensat, AT_FDCWD, NULL, ts, 0));
  close(fd);
}

static void mode_of(const char *what, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) printf("  %s: %s\n", what, strerrorname_np(errno));
  else printf("  %s: %s %04o\n", what, S_ISDIR(st.st_mode) ? "dir" : S_ISFIFO(st.st_mode) ? "fifo" : S_ISREG(st.st_mode) ? "file" : "other",
              (unsigned)(st.st_mode & 07777));
}

static void umasks(void) {
  printf("-- umask\n");
  const mode_t masks[] = {0, 022, 077, 0777};
  for (int i = 0; i < 4; i++) {
    umask(masks[i]);
    char f[32], d[32], n[32], q[32];
    snprintf(f, sizeof f, "f%d", i); snprintf(d, sizeof d, "d%d", i);
    snprintf(n, sizeof n, "n%d", i); snprintf(q, sizeof q, "q%d", i);
    printf(" umask %04o\n", (unsigned)masks[i]);
    close(open(f, O_CREAT | O_WRONLY, 0666));
    mode_of("open 0666", f);
    mkdir(d, 0777);
    mode_of("mkdir 0777", d);
    R(mknod(n, S_IFREG | 0644, 0));
    mode_of("mknod S_IFREG 0644", n);
    R(mkfifo(q, 0666));
    mode_of("mkfifo 0666", q);
  }
  R(mkfifo("q0", 0666));
  R(mkfifo("nodir/q", 0666));
  umask(027);
  printf("  umask(0) returns the old value: %04o\n", (unsigned)umask(0));
  umask(027);
  pid_t c = fork();
  if (c == 0) {
    mode_t m = umask(0);
    umask(m);
    close(open("child", O_CREAT | O_WRONLY, 0666));
    _exit((int)m);
  }
  int st;
  waitpid(c, &st, 0);
  printf("  child's umask %04o\n", (unsigned)WEXITSTATUS(st));
  mode_of("child's file", "child");
  umask(0);
  printf("  parent's umask still 027 after the child: yes\n");
  umask(022);
}

static void symlinked_dir(void) {
  printf("-- symlink to a directory\n");
  mkdir("real", 0755);
  close(open("real/inside", O_CREAT | O_WRONLY, 0644));
  char cwd[4096];
  getcwd(cwd, sizeof cwd);
  char abs[4200];
  snprintf(abs, sizeof abs, "%s/real", cwd);
  R(symlink(abs, "alink"));
  R(symlink("real", "rlink"));
  struct stat st;
  R(stat("alink/", &st));
  R(stat("alink/inside", &st));
  R(stat("rlink/inside", &st));
  R(lstat("alink", &st));
  printf("  lstat is a link: %d\n", S_ISLNK(st.st_mode));
  int d = open("alink", O_RDONLY | O_DIRECTORY);
  R(d);
  R(openat(d, "inside", O_RDONLY) >= 0);
  DIR *dir = opendir("rlink/");
  int n = 0;
  struct dirent *e;
  while (dir && (e = readdir(dir))) n++;
  if (dir) closedir(dir);
  printf("  entries in rlink/: %d\n", n);
  int p = open("alink", O_PATH | O_NOFOLLOW);
  R(p >= 0);
  R(fstat(p, &st));
  printf("  O_PATH|O_NOFOLLOW fd is the link: %d\n", S_ISLNK(st.st_mode));
  char buf[4200] = {0};
  R(readlinkat(p, "", buf, sizeof buf) == (long)strlen(abs));
  R(openat(p, "inside", O_RDONLY));
  R(read(p, buf, 1));
  R(fchmodat(AT_FDCWD, "alink", 0700, AT_SYMLINK_NOFOLLOW));
  R(fchmodat(AT_FDCWD, "alink/inside", 0600, AT_SYMLINK_NOFOLLOW));
  R(open("alink", O_RDONLY | O_NOFOLLOW));
  R(open("alink/", O_RDONLY | O_NOFOLLOW) >= 0);
  int q = open("rlink", O_PATH | O_DIRECTORY);
  R(q >= 0);
  R(fchdir(q));
  R(access("inside", F_OK));
  R(chdir(".."));
  R(chdir("alink"));
  R(access("inside", F_OK));
  R(chdir(cwd));
  close(d); close(p); close(q);
}

int t_fsmeta(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1])) { fprintf(stderr, "usage: fsmeta TMPDIR\n"); return 2; }
  setvbuf(stdout, NULL, _IONBF, 0);
  nstimes();
  umasks();
  symlinked_dir();
  return 0;
}
