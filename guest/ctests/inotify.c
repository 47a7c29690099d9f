// inotify: a sequence of file operations made by the program itself, each followed by the exact
// list of events read (watch, mask names, cookie pairing, name): creating, writing, truncating,
// closing, chmod/utimes, links, symlinks, directories, renames within and across directories
// (MOVED_FROM/MOVED_TO sharing a cookie, MOVE_SELF), unlinking a watched file (ATTRIB,
// DELETE_SELF, IGNORED), rmdir of a watched directory, IN_ONESHOT, IN_MASK_ADD, IN_MASK_CREATE,
// IN_ONLYDIR, IN_DONT_FOLLOW, inotify_rm_watch's IN_IGNORED, merging of identical events,
// FIONREAD, poll, non-blocking reads, fd flags and identity, and the errors.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "ctest.h"

#define E(x) ((x) < 0 ? errno : 0)
static void *volatile BAD = (void *)16;

static const char *ename(int e) {
  switch (e) {
  case 0: return "ok"; case EAGAIN: return "EAGAIN"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
  case EFAULT: return "EFAULT"; case ENOENT: return "ENOENT"; case ENOTDIR: return "ENOTDIR"; case EEXIST: return "EEXIST";
  default: return strerror(e);
  }
}

static const struct { uint32_t bit; const char *name; } NAMES[] = {
  { IN_ACCESS, "ACCESS" }, { IN_MODIFY, "MODIFY" }, { IN_ATTRIB, "ATTRIB" }, { IN_CLOSE_WRITE, "CLOSE_WRITE" },
  { IN_CLOSE_NOWRITE, "CLOSE_NOWRITE" }, { IN_OPEN, "OPEN" }, { IN_MOVED_FROM, "MOVED_FROM" }, { IN_MOVED_TO, "MOVED_TO" },
  { IN_CREATE, "CREATE" }, { IN_DELETE, "DELETE" }, { IN_DELETE_SELF, "DELETE_SELF" }, { IN_MOVE_SELF, "MOVE_SELF" },
  { IN_UNMOUNT, "UNMOUNT" }, { IN_Q_OVERFLOW, "Q_OVERFLOW" }, { IN_IGNORED, "IGNORED" }, { IN_ISDIR, "ISDIR" },
};

static int ifd;
static int wd_names[64];
static uint32_t last_cookie;

/** Reads and prints every queued event (non-blocking fd). */
static void drain(const char *what) {
  char buf[4096] __attribute__((aligned(8)));
  printf("%s:", what);
  int any = 0;
  for (;;) {
    ssize_t n = read(ifd, buf, sizeof buf);
    if (n <= 0) break;
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)p;
      printf("\n  w%d", e->wd >= 0 && e->wd < 64 ? wd_names[e->wd] : -1);
      for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) if (e->mask & NAMES[i].bit) printf(" %s", NAMES[i].name);
      if (e->cookie) {
        printf(" cookie%s", e->cookie == last_cookie ? "=prev" : "");
        last_cookie = e->cookie;
      }
      if (e->len) printf(" '%s' len%%16=%u", e->name, e->len % 16);
      any = 1;
      p += sizeof *e + e->len;
    }
  }
  printf("%s\n", any ? "" : " (none)");
}

/** Adds a watch and remembers it under a small stable number. */
static int watch(const char *path, uint32_t mask, int name) {
  int wd = inotify_add_watch(ifd, path, mask);
  if (wd >= 0 && wd < 64) wd_names[wd] = name;
  return wd;
}

int t_inotify(int argc, char **argv) {
  (void)argc; (void)argv;
  ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  printf("init: fd>=3 %d cloexec %d flags 0x%x\n", ifd >= 3, fcntl(ifd, F_GETFD), fcntl(ifd, F_GETFL));
  char lnk[64] = {0}, path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", ifd);
  printf("readlink: %s\n", readlink(path, lnk, sizeof lnk - 1) > 0 ? lnk : "?");
  char b[64];
  printf("read empty: %s\n", ename(E(read(ifd, b, sizeof b))));

  mkdir("d", 0755);
  mkdir("e", 0755);
  int wd = watch("d", IN_ALL_EVENTS, 1);
  printf("watch d: wd>0 %d\n", wd > 0);
  printf("same dir again: same wd %d\n", inotify_add_watch(ifd, "d", IN_ALL_EVENTS) == wd);
  watch("e", IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO, 2);

  int fd = open("d/a", O_CREAT | O_WRONLY, 0644);
  drain("create d/a");
  write(fd, "hello", 5);
  write(fd, "hello", 5);
  drain("two writes (merged)");
  int n = 0;
  write(fd, "x", 1);
  ioctl(ifd, FIONREAD, &n);
  printf("FIONREAD: %d\n", n);
  struct pollfd pfd = { ifd, POLLIN, 0 };
  printf("poll: %d revents 0x%x\n", poll(&pfd, 1, 0), pfd.revents);
  drain("write");
  close(fd);
  drain("close");

  // A watch on the file itself as well as on its directory.
  watch("d/a", IN_ALL_EVENTS, 3);
  fd = open("d/a", O_RDONLY);
  read(fd, b, 3);
  close(fd);
  drain("open/read/close d/a");
  fd = open("d/a", O_WRONLY | O_TRUNC);
  close(fd);
  drain("open O_TRUNC");
  chmod("d/a", 0600);
  drain("chmod");
  struct timeval tv[2] = { { 1000, 0 }, { 2000, 0 } };
  utimes("d/a", tv);
  drain("utimes");
  truncate("d/a", 2);
  drain("truncate");
  link("d/a", "d/hard");
  drain("link");
  symlink("a", "d/sym");
  drain("symlink");
  mkdir("d/sub", 0755);
  drain("mkdir");
  rename("d/hard", "d/hard2");
  drain("rename within d");
  rename("d/a", "e/a");
  drain("rename d/a to e/a");
  rename("e/a", "d/a");
  drain("rename back");
  fd = open("d/over", O_CREAT | O_WRONLY, 0644);
  close(fd);
  drain("create d/over");
  rename("d/hard2", "d/over");
  drain("rename over an existing file");
  unlink("d/over");
  drain("unlink d/over");
  unlink("d/a");
  drain("unlink watched d/a");
  unlink("d/sym");
  drain("unlink symlink");

  // A watched directory removed.
  watch("d/sub", IN_ALL_EVENTS, 4);
  rmdir("d/sub");
  drain("rmdir watched d/sub");

  // IN_ONESHOT, rm_watch, IN_MASK_ADD, IN_MASK_CREATE.
  fd = open("d/f", O_CREAT | O_WRONLY, 0644);
  close(fd);
  drain("create d/f");
  int wf = watch("d/f", IN_MODIFY | IN_ONESHOT, 5);
  fd = open("d/f", O_WRONLY);
  write(fd, "1", 1);
  write(fd, "2", 1);
  close(fd);
  drain("oneshot on d/f");
  wf = watch("d/f", IN_ATTRIB, 6);
  printf("mask add: same wd %d\n", inotify_add_watch(ifd, "d/f", IN_MODIFY | IN_MASK_ADD) == wf);
  fd = open("d/f", O_WRONLY);
  write(fd, "3", 1);
  close(fd);
  drain("after IN_MASK_ADD");
  printf("replace mask: same wd %d\n", inotify_add_watch(ifd, "d/f", IN_ATTRIB) == wf);
  printf("IN_MASK_CREATE on a watched file: %s\n", ename(E(inotify_add_watch(ifd, "d/f", IN_ATTRIB | IN_MASK_CREATE))));
  fd = open("d/f", O_WRONLY);
  write(fd, "4", 1);
  close(fd);
  drain("after replacing the mask");
  printf("rm_watch: %d\n", inotify_rm_watch(ifd, wf));
  drain("rm_watch");
  printf("rm_watch again: %s\n", ename(E(inotify_rm_watch(ifd, wf))));

  // IN_ONLYDIR, IN_DONT_FOLLOW.
  symlink("f", "d/lnk");
  printf("IN_ONLYDIR on a file: %s\n", ename(E(inotify_add_watch(ifd, "d/f", IN_MODIFY | IN_ONLYDIR))));
  int wl = watch("d/lnk", IN_ATTRIB | IN_DONT_FOLLOW, 7);
  int wt = watch("d/lnk", IN_ATTRIB, 8);
  printf("IN_DONT_FOLLOW watches the link: distinct wds %d\n", wl != wt && wl > 0 && wt > 0);
  drain("symlink d/lnk");
  chmod("d/f", 0644);
  drain("chmod through the link's target");

  // Directory open/list/close events.
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  close(dfd);
  drain("open/close directory d");

  // A watched file unlinked while open: DELETE_SELF comes with the last close.
  fd = open("d/h", O_CREAT | O_WRONLY, 0644);
  watch("d/h", IN_ALL_EVENTS, 9);
  drain("create d/h, watch it");
  unlink("d/h");
  drain("unlink d/h while open");
  write(fd, "z", 1);
  close(fd);
  drain("write and close the unlinked d/h");

  // A blocking read woken by a file another process creates.
  int bfd = inotify_init1(0);
  inotify_add_watch(bfd, "e", IN_CREATE);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(30000);
    close(open("e/from-child", O_CREAT | O_WRONLY, 0644));
    _exit(0);
  }
  char eb[256] __attribute__((aligned(8)));
  ssize_t got = read(bfd, eb, sizeof eb);
  struct inotify_event *ie = (struct inotify_event *)eb;
  printf("blocking read: %zd mask 0x%x name '%s'\n", got, ie->mask, ie->name);
  waitpid(pid, NULL, 0);
  close(bfd);

  // Errors.
  printf("init1 bad flags: %s\n", ename(E(inotify_init1(1))));
  printf("add_watch bad fd: %s\n", ename(E(inotify_add_watch(999, "d", IN_MODIFY))));
  printf("add_watch non-inotify fd: %s\n", ename(E(inotify_add_watch(1, "d", IN_MODIFY))));
  printf("add_watch empty mask: %s\n", ename(E(inotify_add_watch(ifd, "d", 0))));
  printf("add_watch only flags: %s\n", ename(E(inotify_add_watch(ifd, "e", IN_ONESHOT))));
  printf("add_watch bad bits: %s\n", ename(E(inotify_add_watch(ifd, "d", IN_MODIFY | 0x00100000))));
  printf("add_watch MASK_ADD|MASK_CREATE: %s\n", ename(E(inotify_add_watch(ifd, "d", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE))));
  printf("add_watch missing: %s\n", ename(E(inotify_add_watch(ifd, "nope", IN_MODIFY))));
  printf("add_watch bad path pointer: %s\n", ename(E(inotify_add_watch(ifd, BAD, IN_MODIFY))));
  printf("rm_watch bad wd: %s\n", ename(E(inotify_rm_watch(ifd, 12345))));
  printf("rm_watch non-inotify fd: %s\n", ename(E(inotify_rm_watch(1, 1))));
  fd = open("d/g", O_CREAT | O_WRONLY, 0644);
  close(fd);
  printf("read 8 bytes with an event queued: %s\n", ename(E(read(ifd, b, 8))));
  printf("read bad pointer: %s\n", ename(E(read(ifd, BAD, 64))));
  printf("write: %s\n", ename(E(write(ifd, b, 8))));
  drain("create d/g (still queued)");
  return 0;
}
