// A working directory deeper than PATH_MAX: Linux lets a process chdir step by step into a
// directory whose path is longer than 4096 bytes and work there with relative paths; only
// naming the whole path fails (the getcwd system call: ENAMETOOLONG, glibc's getcwd then walks
// "..": the full path; an absolute path over PATH_MAX: ENAMETOOLONG).
#define _GNU_SOURCE
#include "ctest.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEPTH 45

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

int t_longcwd(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) != 0) return 2;
  static char base[8192], buf[16384], longabs[8192];
  if (!getcwd(base, sizeof base)) return 3;
  char name[101];
  memset(name, 'a', 100);
  name[100] = 0;
  char small[4];
  printf("raw getcwd, 4-byte buffer: %s\n", err(syscall(SYS_getcwd, small, sizeof small)));
  for (int i = 0; i < DEPTH; i++) {
    if (mkdir(name, 0755) != 0 || chdir(name) != 0) { printf("level %d: %s\n", i, strerror(errno)); return 1; }
  }
  printf("chdir %d levels of %zu bytes: ok\n", DEPTH, strlen(name));
  printf("raw getcwd: %s\n", err(syscall(SYS_getcwd, buf, sizeof buf)));
  char *g = getcwd(buf, sizeof buf);
  printf("glibc getcwd: %s, %zd bytes below the start, prefix %s\n", g ? "ok" : strerror(errno),
         g ? (ssize_t)(strlen(buf) - strlen(base)) : (ssize_t)-1, g && strncmp(buf, base, strlen(base)) == 0 ? "same" : "differs");
  // Relative paths work: a file, a directory, stat and openat of ".".
  int fd = open("f", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  printf("create f: %s, write %zd\n", err(fd), write(fd, "deep\n", 5));
  close(fd);
  struct stat st;
  printf("stat f: %s size %lld\n", err(stat("f", &st)), (long long)st.st_size);
  printf("mkdir d: %s, chdir d: %s, chdir ..: %s\n", err(mkdir("d", 0700)), err(chdir("d")), err(chdir("..")));
  int dot = open(".", O_RDONLY | O_DIRECTORY);
  printf("open .: %s, openat f: %s\n", err(dot), err(openat(dot, "f", O_RDONLY)));
  // An absolute path over PATH_MAX cannot be passed to a system call.
  snprintf(longabs, sizeof longabs, "%s", buf);
  printf("absolute path over PATH_MAX: %s, chdir to it: %s\n", strlen(longabs) >= 4096 ? "yes" : "no", err(chdir(longabs)));
  printf("open of it + /f: %s\n", err(open(strcat(longabs, "/f"), O_RDONLY)));
  // A child process starts in the same directory and can leave it; the parent stays.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    struct stat a, b;
    int ok = stat(".", &a) == 0 && fstat(dot, &b) == 0 && a.st_ino == b.st_ino;
    int fd2 = open("child", O_CREAT | O_WRONLY, 0644);
    int up = chdir("../..");
    printf("child: same directory %d, create child %s, chdir ../.. %s\n", ok, err(fd2), err(up));
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  struct stat a, b;
  printf("parent after child: stat child %s, still in the same directory %d\n", err(stat("child", &a)),
         stat(".", &a) == 0 && fstat(dot, &b) == 0 && a.st_ino == b.st_ino);
  close(dot);
  unlink("f");
  unlink("child");
  rmdir("d");
  // Back up and remove the tree level by level.
  for (int i = 0; i < DEPTH; i++) {
    if (chdir("..") != 0 || rmdir(name) != 0) { printf("up %d: %s\n", i, strerror(errno)); return 1; }
  }
  g = getcwd(buf, sizeof buf);
  printf("back at the start: %s\n", g && strcmp(buf, base) == 0 ? "yes" : "no");
  return 0;
}
