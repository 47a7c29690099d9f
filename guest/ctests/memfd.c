// memfd_create: a real file (read/write/lseek/pread/pwrite/ftruncate/fstat), its identity
// (/proc/self/fd/N is "/memfd:NAME (deleted)", mode 0777, nlink 0), MAP_SHARED views coherent with
// write(2) and read(2) in both directions, MAP_PRIVATE copies, sharing with a forked child, the
// seals (F_ADD_SEALS/F_GET_SEALS: SEAL, SHRINK, GROW, WRITE with EBUSY while a writable shared
// mapping exists, EPERM for what a seal forbids), and the errors for bad names and flags.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ctest.h"

#define E(x) ((x) < 0 ? errno : 0)
static void *volatile BAD = (void *)16;

static const char *ename(int e) {
  switch (e) {
  case 0: return "ok"; case EAGAIN: return "EAGAIN"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
  case EFAULT: return "EFAULT"; case EPERM: return "EPERM"; case EBUSY: return "EBUSY"; case EACCES: return "EACCES";
  default: return strerror(e);
  }
}

static long fsize(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

int t_memfd(int argc, char **argv) {
  (void)argc; (void)argv;
  int fd = memfd_create("test-mem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  // F_GETFL without O_LARGEFILE (0x8000): Linux sets it on a memfd, qemu-user drops it.
  printf("create: fd>=3 %d cloexec %d flags 0x%x\n", fd >= 3, fcntl(fd, F_GETFD), fcntl(fd, F_GETFL) & ~0x8000);
  char link[128] = {0}, path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  printf("readlink: %s\n", readlink(path, link, sizeof link - 1) > 0 ? link : "?");
  struct stat st;
  fstat(fd, &st);
  printf("fstat: reg %d mode 0%o nlink %ld size %ld\n", S_ISREG(st.st_mode), st.st_mode & 07777, (long)st.st_nlink, (long)st.st_size);

  printf("write: %zd\n", write(fd, "hello world", 11));
  long cur = lseek(fd, 0, SEEK_CUR), end = lseek(fd, 0, SEEK_END), set = lseek(fd, 0, SEEK_SET);
  printf("lseek cur %ld end %ld set %ld\n", cur, end, set);
  char buf[64] = {0};
  ssize_t got = read(fd, buf, sizeof buf - 1);
  printf("read: %zd '%s'\n", got, buf);
  pwrite(fd, "HELLO", 5, 0);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 11, 0);
  printf("pwrite/pread: '%s'\n", buf);
  printf("ftruncate 8192: %d size %ld\n", ftruncate(fd, 8192), fsize(fd));

  // Shared view: coherent with write and read both ways.
  char *sv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("mmap shared: %d view '%.11s'\n", sv != MAP_FAILED, sv);
  memcpy(sv + 6, "WORLD", 5);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 11, 0);
  printf("store in view, pread: '%s'\n", buf);
  pwrite(fd, "abc", 3, 100);
  printf("pwrite, view: '%.3s'\n", sv + 100);
  lseek(fd, 4096 + 10, SEEK_SET);
  write(fd, "second page", 11);
  printf("write on page 2, view: '%.11s'\n", sv + 4096 + 10);
  char *pv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  pv[0] = 'p';
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 1, 0);
  printf("private view: '%.5s' file keeps '%s' shared view '%c'\n", pv, buf, sv[0]);
  munmap(pv, 8192);

  // fork: the child shares the file and the shared view.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    memcpy(sv + 200, "from child", 10);
    pwrite(fd, "child wrote", 11, 300);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 10, 200);
  printf("after child: pread '%s' view '%.11s'\n", buf, sv + 300);

  // Writes through another open file description of the same memfd, and sendfile.
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int other = open(path, O_RDWR);
  pwrite(other, "via other fd", 12, 400);
  printf("write through a reopened fd, view: '%.12s'\n", sv + 400);
  int src = open("src.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
  write(src, "sendfile data", 13);
  off_t so = 0;
  lseek(fd, 500, SEEK_SET);
  ssize_t sent = sendfile(fd, src, &so, 13);
  printf("sendfile into the memfd: %zd view '%.13s'\n", sent, sv + 500);
  close(src);
  close(other);

  // Seals.
  printf("F_GET_SEALS: %d\n", fcntl(fd, F_GET_SEALS));
  printf("F_SEAL_WRITE with a writable shared map: %s\n", ename(E(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))));
  munmap(sv, 8192);
  printf("F_ADD_SEALS SHRINK: %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
  printf("  ftruncate smaller: %s\n", ename(E(ftruncate(fd, 4096))));
  printf("  ftruncate same: %s\n", ename(E(ftruncate(fd, 8192))));
  printf("  ftruncate larger: %s size %ld\n", ename(E(ftruncate(fd, 12288))), fsize(fd));
  printf("F_ADD_SEALS GROW: %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
  printf("  ftruncate larger: %s\n", ename(E(ftruncate(fd, 16384))));
  printf("  pwrite at end: %s\n", ename(E(pwrite(fd, "x", 1, 12288))));
  printf("  pwrite inside: %zd\n", pwrite(fd, "inside", 6, 12000));
  printf("  write across the end, within the last page: %s\n", ename(E(pwrite(fd, "0123456789", 10, 12285))));
  printf("  size %ld\n", fsize(fd));
  printf("F_ADD_SEALS WRITE: %d seals %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), fcntl(fd, F_GET_SEALS));
  printf("  write: %s\n", ename(E(pwrite(fd, "x", 1, 0))));
  lseek(fd, 0, SEEK_SET);
  printf("  write(2): %s\n", ename(E(write(fd, "x", 1))));
  void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("  mmap shared writable: %s\n", m == MAP_FAILED ? ename(errno) : "ok");
  m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  printf("  mmap shared read-only: %s first '%c'\n", m == MAP_FAILED ? ename(errno) : "ok", m == MAP_FAILED ? '?' : *(char *)m);
  if (m != MAP_FAILED) {
    printf("  mprotect it writable: %s\n", ename(E(mprotect(m, 4096, PROT_READ | PROT_WRITE))));
    munmap(m, 4096);
  }
  m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  printf("  mmap private writable: %s\n", m == MAP_FAILED ? ename(errno) : "ok");
  if (m != MAP_FAILED) munmap(m, 4096);
  memset(buf, 0, sizeof buf);
  got = pread(fd, buf, 5, 0);
  printf("  read still works: %zd '%.5s'\n", got, buf);
  printf("F_ADD_SEALS SEAL: %d seals %d\n", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), fcntl(fd, F_GET_SEALS));
  printf("  add after SEAL: %s\n", ename(E(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK))));
  printf("  add nothing after SEAL: %s\n", ename(E(fcntl(fd, F_ADD_SEALS, 0))));

  // Without MFD_ALLOW_SEALING: F_SEAL_SEAL from the start.
  int fd2 = memfd_create("plain", 0);
  printf("no sealing: cloexec %d seals %d add %s\n", fcntl(fd2, F_GETFD), fcntl(fd2, F_GET_SEALS), ename(E(fcntl(fd2, F_ADD_SEALS, F_SEAL_WRITE))));
  ftruncate(fd2, 4096);
  m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 0);
  printf("unsealed: mprotect a read-only shared map writable: %s\n", ename(E(mprotect(m, 4096, PROT_READ | PROT_WRITE))));
  munmap(m, 4096);
  int fd3 = memfd_create("s", MFD_ALLOW_SEALING);
  printf("bad seal bits: %s\n", ename(E(fcntl(fd3, F_ADD_SEALS, 0x1000))));
  // A read-only descriptor cannot add seals.
  write(fd3, "ro", 2);
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd3);
  int ro = open(path, O_RDONLY);
  memset(buf, 0, sizeof buf);
  read(ro, buf, 2);
  printf("reopen via /proc: %d read '%.2s'\n", ro >= 0, buf);
  close(ro);
  // Seals on other files.
  int pfd[2];
  pipe(pfd);
  printf("F_GET_SEALS on a pipe: %s\n", ename(E(fcntl(pfd[0], F_GET_SEALS))));
  int reg = open("regular.txt", O_CREAT | O_RDWR, 0644);
  printf("F_GET_SEALS on a regular file: %s\n", ename(E(fcntl(reg, F_GET_SEALS))));
  printf("F_ADD_SEALS on a regular file: %s\n", ename(E(fcntl(reg, F_ADD_SEALS, F_SEAL_SEAL))));

  // Names and flags.
  char name[300];
  memset(name, 'n', sizeof name);
  name[249] = 0;
  int a = memfd_create(name, 0);
  printf("name of 249: %s\n", ename(E(a)));
  name[249] = 'n';
  name[250] = 0;
  printf("name of 250: %s\n", ename(E(memfd_create(name, 0))));
  printf("name NULL: %s\n", ename(E(syscall(SYS_memfd_create, NULL, 0))));
  printf("name bad pointer: %s\n", ename(E(syscall(SYS_memfd_create, BAD, 0))));
  printf("bad flags: %s\n", ename(E(memfd_create("x", 0x100))));
  printf("empty name: %s\n", ename(E(a = memfd_create("", 0))));
  snprintf(path, sizeof path, "/proc/self/fd/%d", a);
  memset(link, 0, sizeof link);
  printf("  readlink: %s\n", readlink(path, link, sizeof link - 1) > 0 ? link : "?");
  return 0;
}
