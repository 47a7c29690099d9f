// User and group ids for an unprivileged process (credentials(7)): a child that is root first
// drops to nobody (65534) with setgroups/setresgid/setresuid, then every set*id call is checked:
// switching to an id the process has succeeds, anything else is EPERM; getres*id, setfsuid's
// return value, setgroups, capget (v3: no capabilities) and capset (raising fails). The output
// is the same whether the test runs as root or not.
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctest.h"

static const char *res(long r) { return r == 0 ? "0" : r < 0 ? strerror(errno) : "?"; }

static void unprivileged(void) {
  uid_t u = getuid();
  gid_t g = getgid();
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  printf("getresuid all the uid: %s\n", r == u && e == u && s == u ? "yes" : "no");
  printf("setuid(0): %s\n", res(setuid(0)));
  printf("setuid(getuid()): %s\n", res(setuid(u)));
  printf("setgid(0): %s\n", res(setgid(0)));
  printf("setgid(getgid()): %s\n", res(setgid(g)));
  printf("seteuid(0): %s\n", res(seteuid(0)));
  printf("setreuid(-1, -1): %s\n", res(setreuid(-1, -1)));
  printf("setreuid(0, -1): %s\n", res(setreuid(0, -1)));
  printf("setreuid(uid, uid): %s\n", res(setreuid(u, u)));
  printf("setresuid(-1, uid, -1): %s\n", res(setresuid(-1, u, -1)));
  printf("setresuid(-1, -1, 0): %s\n", res(setresuid(-1, -1, 0)));
  printf("setresgid(0, -1, -1): %s\n", res(setresgid(0, -1, -1)));
  printf("setresgid(gid, gid, gid): %s\n", res(setresgid(g, g, g)));
  printf("setregid(-1, 0): %s\n", res(setregid(-1, 0)));
  printf("raw setuid(-1): %s\n", res(syscall(SYS_setuid, -1)));
  printf("setfsuid(0) returns the uid: %s\n", setfsuid(0) == (int)u ? "yes" : "no");
  printf("setfsuid(-1) still returns the uid: %s\n", setfsuid(-1) == (int)u ? "yes" : "no");
  printf("setfsgid(0) returns the gid: %s\n", setfsgid(0) == (int)g ? "yes" : "no");
  gid_t list[1] = {0};
  printf("setgroups(1, {0}): %s\n", res(setgroups(1, list)));
  printf("setgroups(0, NULL): %s\n", res(setgroups(0, NULL)));

  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0xff, sizeof d);
  long rc = syscall(SYS_capget, &h, d);
  printf("capget v3: %s, effective/permitted/inheritable all zero: %s\n", res(rc),
         d[0].effective == 0 && d[0].permitted == 0 && d[0].inheritable == 0 && d[1].effective == 0 && d[1].permitted == 0 ? "yes" : "no");
  struct __user_cap_header_struct bad = {0x12345678, 0};
  rc = syscall(SYS_capget, &bad, d);
  printf("capget bad version: %s, version written back is v3: %s\n", res(rc), bad.version == _LINUX_CAPABILITY_VERSION_3 ? "yes" : "no");
  struct __user_cap_header_struct bad2 = {0x12345678, 0};
  printf("capget bad version, NULL data: %s\n", res(syscall(SYS_capget, &bad2, NULL)));
  memset(d, 0, sizeof d);
  d[0].effective = d[0].permitted = 1u << 21;
  printf("capset raising CAP_SYS_ADMIN: %s\n", res(syscall(SYS_capset, &h, d)));
  printf("capget bad header pointer: %s\n", res(syscall(SYS_capget, (void *)8, d)));
}

int t_creds(int argc, char **argv) {
  (void)argc; (void)argv;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (getuid() == 0 || geteuid() == 0) {
      if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
        printf("could not drop root\n");
        _exit(1);
      }
    }
    unprivileged();
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}
