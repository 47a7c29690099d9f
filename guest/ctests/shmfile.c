// MAP_SHARED file mappings coherent with read/write and with each other (one process and two).
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctest.h"

#define PG 4096

static int mkfile(const char *dir, const char *name, size_t size, char fill) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  char buf[PG];
  memset(buf, fill, sizeof buf);
  for (size_t o = 0; o < size; o += PG) write(fd, buf, size - o < PG ? size - o : PG);
  return fd;
}

static void show(const char *what, const char *p, size_t n) {
  printf("%s: \"", what);
  for (size_t i = 0; i < n; i++) putchar(p[i] >= 32 && p[i] < 127 ? p[i] : '.');
  printf("\"\n");
}

static sigjmp_buf bus_jmp;
static volatile int bus_sig, bus_code;
static void on_bus(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  bus_sig = sig;
  bus_code = si->si_code;
  siglongjmp(bus_jmp, 1);
}

/** Loads a byte at p and says whether a signal came instead. */
static void probe(const char *what, volatile char *p) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, &old);
  if (sigsetjmp(bus_jmp, 1) == 0) {
    char c = *p;
    printf("%s: no signal, byte %d\n", what, c);
  } else printf("%s: signal %d, si_code %d\n", what, bus_sig, bus_code);
  sigaction(SIGBUS, &old, NULL);
}

int t_shmfile(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  setvbuf(stdout, NULL, _IONBF, 0);
  char buf[64];

  // 1. write(2) after mmap is seen through the mapping; a store is seen by read(2).
  int fd = mkfile(dir, "a", 2 * PG, 'a');
  char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("mmap: %s\n", m == MAP_FAILED ? strerror(errno) : "ok");
  show("before", m, 8);
  pwrite(fd, "WRITTEN", 7, 2);
  show("after pwrite", m, 12);
  lseek(fd, PG + 10, SEEK_SET);
  write(fd, "second-page", 11);
  show("after write, page 2", m + PG + 8, 16);
  memcpy(m + 100, "STORED", 6);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 10, 98);
  show("pread after store", buf, 10);
  memcpy(m + PG + 200, "PAGE2", 5);
  lseek(fd, PG + 199, SEEK_SET);
  memset(buf, 0, sizeof buf);
  read(fd, buf, 7);
  show("read after store, page 2", buf, 7);

  // 2. A second mapping of the same file in this process (another fd too).
  char path[512];
  snprintf(path, sizeof path, "%s/a", dir);
  int fd2 = open(path, O_RDWR);
  char *m2 = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, PG);
  show("second mapping sees page 2", m2 + 200, 5);
  memcpy(m2 + 300, "VIA-M2", 6);
  show("first mapping sees m2's store", m + PG + 300, 6);
  memcpy(m + PG + 400, "VIA-M1", 6);
  show("m2 sees m1's store", m2 + 400, 6);
  char *m3 = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd2, 0);
  show("read-only third mapping", m3 + 100, 6);
  close(fd2);
  memcpy(m + 500, "AFTER-CLOSE", 11);
  show("third mapping after fd closed", m3 + 500, 11);
  munmap(m3, 2 * PG);
  munmap(m2, PG);

  // 3. msync, munmap and reading the file by another descriptor.
  memcpy(m + 1000, "MSYNCED", 7);
  printf("msync: %d\n", msync(m, 2 * PG, MS_SYNC));
  fd2 = open(path, O_RDONLY);
  memset(buf, 0, sizeof buf);
  pread(fd2, buf, 7, 1000);
  show("other fd after msync", buf, 7);
  memcpy(m + 1100, "UNMAPPED", 8);
  munmap(m, 2 * PG);
  memset(buf, 0, sizeof buf);
  pread(fd2, buf, 8, 1100);
  show("other fd after munmap", buf, 8);
  close(fd2);
  struct stat st;
  fstat(fd, &st);
  printf("size unchanged: %lld\n", (long long)st.st_size);
  close(fd);

  // 4. ftruncate growth: a mapping larger than the file, the file grown, the new page used.
  fd = mkfile(dir, "b", 100, 'b');
  m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  show("small file", m + 96, 8);
  printf("ftruncate: %d\n", ftruncate(fd, 3 * PG));
  show("grown tail", m + 96, 8);
  memcpy(m + 2 * PG + 5, "GROWN", 5);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 5, 2 * PG + 5);
  show("pread of grown page", buf, 5);
  pwrite(fd, "PW", 2, PG);
  show("mapping after pwrite into grown page", m + PG, 2);
  printf("ftruncate shrink: %d\n", ftruncate(fd, PG));
  fstat(fd, &st);
  printf("size: %lld\n", (long long)st.st_size);
  show("page 1 after shrink", m + 96, 8);
  probe("page 2 after shrink", m + PG);
  probe("page 3 after shrink", m + 2 * PG + 5);
  printf("ftruncate regrow: %d\n", ftruncate(fd, 2 * PG));
  probe("page 2 after regrow", m + PG);
  munmap(m, 3 * PG);
  close(fd);

  // 4b. A page wholly past the end of the file: SIGBUS (BUS_ADRERR); read(2) into it: EFAULT.
  fd = mkfile(dir, "e", 100, 'e');
  m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, &old);
  if (sigsetjmp(bus_jmp, 1) == 0) {
    volatile char c = m[PG + 10];
    (void)c;
    printf("load past EOF: no signal\n");
  } else printf("load past EOF: signal %d, si_code %d\n", bus_sig, bus_code);
  if (sigsetjmp(bus_jmp, 1) == 0) {
    m[PG + 20] = 1;
    printf("store past EOF: no signal\n");
  } else printf("store past EOF: signal %d, si_code %d\n", bus_sig, bus_code);
  sigaction(SIGBUS, &old, NULL);
  errno = 0;
  ssize_t rr = pread(fd, m + PG, 10, 0);
  printf("pread into page past EOF: %zd %s\n", rr, rr < 0 ? strerror(errno) : "");
  show("last page still fine", m + 96, 6);
  munmap(m, 2 * PG);
  close(fd);

  // 5. Two processes that each map the file after fork.
  fd = mkfile(dir, "c", PG, 'c');
  int p2c[2], c2p[2];
  pipe(p2c);
  pipe(c2p);
  pid_t pid = fork();
  if (pid == 0) {
    char *cm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char b;
    for (int i = 0; i < 5; i++) {
      read(p2c[0], &b, 1);  // parent stored round i
      char want[16];
      snprintf(want, sizeof want, "parent-%d", i);
      int ok = memcmp(cm + 8 * i, want, 8) == 0;
      snprintf(cm + 2048 + 16 * i, 16, "child-%d-%s", i, ok ? "ok" : "no");
      write(c2p[1], "x", 1);
    }
    _exit(0);
  }
  char *pm = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  for (int i = 0; i < 5; i++) {
    char s[16];
    snprintf(s, sizeof s, "parent-%d", i);
    memcpy(pm + 8 * i, s, 8);
    write(p2c[1], "x", 1);
    char b;
    read(c2p[0], &b, 1);
    printf("round %d: %s\n", i, pm + 2048 + 16 * i);
  }
  int status;
  waitpid(pid, &status, 0);
  printf("child exit: %d\n", WEXITSTATUS(status));
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 14, 2048 + 16 * 4);
  show("file after both", buf, 14);
  munmap(pm, PG);
  close(fd);

  // 6. MAP_SHARED|MAP_ANONYMOUS across fork still shared; MAP_PRIVATE file mapping is private.
  int *sh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  *sh = 1;
  pid = fork();
  if (pid == 0) {
    *sh = 42;
    _exit(0);
  }
  waitpid(pid, &status, 0);
  printf("anon shared after child: %d\n", *sh);
  fd = mkfile(dir, "d", PG, 'd');
  char *pv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  memcpy(pv, "PRIVATE", 7);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 7, 0);
  show("file under private store", buf, 7);
  char *sv = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  show("shared view under private store", sv, 7);
  munmap(pv, PG);
  munmap(sv, PG);
  close(fd);
  return 0;
}
