// File permissions for a process that dropped root (path_resolution(7), credentials(7)): run as
// root, the test makes a tree of files and directories with chosen owners and modes under DIR,
// then children with other ids try each kind of access: search along a path (also through a
// symlink), read/write/truncate on open, creating and removing names (write on the directory, the
// sticky bit), rename across directories, hard links (fs.protected_hardlinks), chmod/chown/utimes
// by owner and non-owner, access(2) with the real ids and AT_EACCESS, setfsuid, chdir, execve,
// inotify watches, unix socket bind/connect, the owner and group of what it creates (also under
// a set-group-id directory), and kill of a root process. Recorded as root (cases.json needsRoot).
// `dac --ids` prints the process's user and group ids (real, effective, saved).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctest.h"

#define NOBODY 65534

static void res(const char *what, long r) {
  printf("%s: %s\n", what, r >= 0 ? "ok" : strerror(errno));
}

static void try_open(const char *what, const char *path, int flags) {
  int fd = open(path, flags, 0644);
  res(what, fd);
  if (fd >= 0) close(fd);
}

static void owner(const char *what, const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) { printf("%s: %s\n", what, strerror(errno)); return; }
  printf("%s: uid %u gid %u mode %04o\n", what, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
}

static void mk(const char *path, mode_t mode, uid_t uid, gid_t gid) {
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0 || write(fd, "#!/bin/sh\nexit 0\n", 17) != 17) { perror(path); exit(1); }
  close(fd);
  if (chown(path, uid, gid) != 0 || chmod(path, mode) != 0) { perror(path); exit(1); }
}

static void mkd(const char *path, mode_t mode, uid_t uid, gid_t gid) {
  if (mkdir(path, 0700) != 0 || chown(path, uid, gid) != 0 || chmod(path, mode) != 0) { perror(path); exit(1); }
}

static void as_nobody(void) {
  try_open("open pub/ro for reading", "pub/ro", O_RDONLY);
  try_open("open pub/ro for writing", "pub/ro", O_WRONLY);
  try_open("open pub/ro read-write", "pub/ro", O_RDWR);
  try_open("open pub/ro O_TRUNC", "pub/ro", O_RDONLY | O_TRUNC);
  try_open("open pub/secret (0600 root)", "pub/secret", O_RDONLY);
  try_open("open pub/grpr (0640 root:nogroup)", "pub/grpr", O_RDONLY);
  try_open("open pub/own0 (0066, own)", "pub/own0", O_RDONLY);
  try_open("open priv/f (priv 0700)", "priv/f", O_RDONLY);
  try_open("open priv/missing", "priv/missing", O_RDONLY);
  try_open("open O_PATH priv/f", "priv/f", O_PATH);
  try_open("open O_PATH priv", "priv", O_PATH);
  struct stat st;
  res("stat priv/f", stat("priv/f", &st));
  res("stat priv", stat("priv", &st));
  res("stat pub/lnk (-> ../priv/f)", stat("pub/lnk", &st));
  res("lstat pub/lnk", lstat("pub/lnk", &st));
  char buf[64];
  res("readlink pub/lnk", readlink("pub/lnk", buf, sizeof buf));
  try_open("open pub/lnk2 (-> ro)", "pub/lnk2", O_RDONLY);
  try_open("open nox/f (nox 0644)", "nox/f", O_RDONLY);
  try_open("opendir nox", "nox", O_RDONLY | O_DIRECTORY);
  res("stat nox/f", stat("nox/f", &st));
  try_open("opendir priv", "priv", O_RDONLY | O_DIRECTORY);

  try_open("create pub/new", "pub/new", O_CREAT | O_WRONLY);
  try_open("create-excl pub/new", "pub/new", O_CREAT | O_EXCL | O_WRONLY);
  try_open("O_CREAT of existing pub/ro, read", "pub/ro", O_CREAT | O_RDONLY);
  try_open("O_CREAT|O_EXCL of existing pub/ro", "pub/ro", O_CREAT | O_EXCL | O_RDONLY);
  res("mkdir pub/nd", mkdir("pub/nd", 0755));
  res("mkdir pub/ro (exists)", mkdir("pub/ro", 0755));
  res("mkdir priv/nd", mkdir("priv/nd", 0755));
  res("mkfifo pub/ff", mkfifo("pub/ff", 0644));
  res("symlink in pub", symlink("x", "pub/sl"));
  res("link pub/ro -> open/l (root's file)", link("pub/ro", "open/l"));
  res("link open/wfile -> open/l (0666 root)", link("open/wfile", "open/l"));
  res("link open/mine0 -> open/l2 (own)", link("open/mine0", "open/l2"));
  res("link open/mine0 -> pub/l3", link("open/mine0", "pub/l3"));
  res("link pub/ro -> pub/ro2", link("pub/ro", "pub/ro2"));

  try_open("create open/mine", "open/mine", O_CREAT | O_WRONLY);
  owner("open/mine", "open/mine");
  try_open("create sgid/mine", "sgid/mine", O_CREAT | O_WRONLY);
  owner("sgid/mine", "sgid/mine");
  res("mkdir sgid/dd", mkdir("sgid/dd", 0755));
  owner("sgid/dd", "sgid/dd");
  res("mkdir open/dd", mkdir("open/dd", 0750));
  owner("open/dd", "open/dd");
  res("mkfifo open/ff", mkfifo("open/ff", 0640));
  owner("open/ff", "open/ff");
  res("symlink open/sl", symlink("mine", "open/sl"));
  owner("open/sl", "open/sl");
  try_open("create open/suid (04755)", "open/suid", O_CREAT | O_WRONLY);
  res("chmod open/suid 04755", chmod("open/suid", 04755));
  owner("open/suid", "open/suid");

  res("unlink pub/ro", unlink("pub/ro"));
  res("unlink open/rootfile", unlink("open/rootfile"));
  res("rmdir open/empty", rmdir("open/empty"));
  res("unlink sticky/rootfile", unlink("sticky/rootfile"));
  res("rename sticky/rootfile -> sticky/x", rename("sticky/rootfile", "sticky/x"));
  try_open("create sticky/mine", "sticky/mine", O_CREAT | O_WRONLY);
  res("unlink sticky/mine", unlink("sticky/mine"));
  res("unlink priv/f", unlink("priv/f"));
  res("unlink pub/missing", unlink("pub/missing"));

  res("rename open/wfile -> pub/x", rename("open/wfile", "pub/x"));
  res("rename open/d -> open/sub/d (root dir, new parent)", rename("open/d", "open/sub/d"));
  res("rename open/d -> open/e (same parent)", rename("open/d", "open/e"));
  res("rename open/mine -> sticky/rootfile", rename("open/mine", "sticky/rootfile"));

  res("chmod pub/ro", chmod("pub/ro", 0666));
  res("chmod open/mine0 02644 (own, in group)", chmod("open/mine0", 02644));
  owner("open/mine0", "open/mine0");
  res("chmod open/mine1 02644 (own, group root)", chmod("open/mine1", 02644));
  owner("open/mine1", "open/mine1");
  res("chown open/mine0 to root", chown("open/mine0", 0, -1));
  res("chown open/mine0 to group root", chown("open/mine0", -1, 0));
  res("chown open/mine0 to nobody:nogroup", chown("open/mine0", NOBODY, NOBODY));
  res("chown pub/ro -1 -1", chown("pub/ro", -1, -1));
  res("chown pub/ro to nobody", chown("pub/ro", NOBODY, -1));
  res("lchown pub/lnk2 to nobody", lchown("pub/lnk2", NOBODY, -1));
  int fd = open("pub/ro", O_RDONLY);
  res("fchmod of an fd of pub/ro", fchmod(fd, 0600));
  res("fchown of an fd of pub/ro", fchown(fd, NOBODY, -1));
  res("futimens(now) of an fd of pub/ro", futimens(fd, NULL));
  close(fd);

  struct timespec ts[2] = {{1000000, 0}, {2000000, 0}};
  res("utimensat pub/ro now", utimensat(AT_FDCWD, "pub/ro", NULL, 0));
  res("utimensat pub/ro explicit", utimensat(AT_FDCWD, "pub/ro", ts, 0));
  res("utimensat open/wfile now (0666)", utimensat(AT_FDCWD, "open/wfile", NULL, 0));
  res("utimensat open/wfile explicit", utimensat(AT_FDCWD, "open/wfile", ts, 0));
  res("utimensat open/mine0 explicit (own)", utimensat(AT_FDCWD, "open/mine0", ts, 0));
  res("truncate pub/ro", truncate("pub/ro", 0));
  res("truncate open/wfile", truncate("open/wfile", 1));

  res("access pub/ro R_OK", access("pub/ro", R_OK));
  res("access pub/ro W_OK", access("pub/ro", W_OK));
  res("access pub/exe X_OK (0700 root)", access("pub/exe", X_OK));
  res("access pub/xall X_OK (0711 root)", access("pub/xall", X_OK));
  res("access priv/f F_OK", access("priv/f", F_OK));
  res("access priv F_OK", access("priv", F_OK));
  res("chdir priv", chdir("priv"));
  res("chdir nox", chdir("nox"));
  res("chdir pub/ro", chdir("pub/ro"));

  int in = inotify_init1(IN_CLOEXEC);
  res("inotify watch priv/f", inotify_add_watch(in, "priv/f", IN_MODIFY));
  res("inotify watch pub/secret", inotify_add_watch(in, "pub/secret", IN_MODIFY));
  res("inotify watch pub/ro", inotify_add_watch(in, "pub/ro", IN_MODIFY));
  close(in);

  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "pub/sock");
  res("bind pub/sock", bind(s, (struct sockaddr *)&a, sizeof a));
  strcpy(a.sun_path, "open/sock");
  res("bind open/sock", bind(s, (struct sockaddr *)&a, sizeof a));
  owner("open/sock", "open/sock");
  close(s);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  strcpy(a.sun_path, "rootsock");
  res("connect rootsock (0755 root)", connect(s, (struct sockaddr *)&a, sizeof a));
  close(s);

  res("kill(parent, 0) (root)", kill(getppid(), 0));
  res("kill(self, 0)", kill(getpid(), 0));

  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[] = {"exe", NULL};
    execv("pub/exe", argv);
    printf("execve pub/exe (0700 root): %s\n", strerror(errno));
    execv("pub/nx", argv);
    printf("execve pub/nx (0644): %s\n", strerror(errno));
    execv("priv/f", argv);
    printf("execve priv/f: %s\n", strerror(errno));
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
}

/** Real uid nobody, effective root: access(2) answers for the real ids. */
static void real_nobody(void) {
  res("[ruid nobody, euid 0] access priv/f R_OK", access("priv/f", R_OK));
  res("[ruid nobody, euid 0] faccessat AT_EACCESS priv/f R_OK", faccessat(AT_FDCWD, "priv/f", R_OK, AT_EACCESS));
  try_open("[ruid nobody, euid 0] open priv/f", "priv/f", O_RDONLY);
}

/** Root with fsuid nobody: file access as nobody, everything else as root. */
static void fs_nobody(void) {
  setfsuid(NOBODY);
  try_open("[fsuid nobody] open priv/f", "priv/f", O_RDONLY);
  try_open("[fsuid nobody] open pub/ro", "pub/ro", O_RDONLY);
  try_open("[fsuid nobody] create open/fsfile", "open/fsfile", O_CREAT | O_WRONLY);
  owner("[fsuid nobody] open/fsfile", "open/fsfile");
  setfsuid(0);
  try_open("[fsuid back to 0] open priv/f", "priv/f", O_RDONLY);
}

static void child(void (*fn)(void), uid_t r, uid_t e) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 || setresuid(r, e, e) != 0) {
      printf("could not change ids\n");
      _exit(1);
    }
    fn();
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("-- child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int t_dac(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: dac DIR | dac --ids\n"); return 2; }
  if (strcmp(argv[1], "--ids") == 0) {
    // For rvisor's own tests of set-user-ID files (test/user-dac.test.ts): the ids it runs with.
    uid_t r, e, s;
    gid_t rg, eg, sg;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    printf("uid %u %u %u gid %u %u %u\n", (unsigned)r, (unsigned)e, (unsigned)s, (unsigned)rg, (unsigned)eg, (unsigned)sg);
    return 0;
  }
  if (geteuid() != 0) { printf("needs root\n"); return 0; }
  if (chdir(argv[1]) != 0 || chmod(".", 0755) != 0) { perror(argv[1]); return 1; }
  umask(022);
  mkd("pub", 0755, 0, 0);
  mk("pub/ro", 0644, 0, 0);
  mk("pub/secret", 0600, 0, 0);
  mk("pub/exe", 0700, 0, 0);
  mk("pub/xall", 0711, 0, 0);
  mk("pub/nx", 0644, 0, 0);
  mk("pub/grpr", 0640, 0, NOBODY);
  mk("pub/own0", 0066, NOBODY, NOBODY);
  if (symlink("../priv/f", "pub/lnk") != 0 || symlink("ro", "pub/lnk2") != 0) { perror("symlink"); return 1; }
  mkd("priv", 0700, 0, 0);
  mk("priv/f", 0644, 0, 0);
  mkd("nox", 0755, 0, 0);
  mk("nox/f", 0644, 0, 0);
  chmod("nox", 0644);
  mkd("open", 0777, 0, 0);
  mk("open/rootfile", 0644, 0, 0);
  mk("open/wfile", 0666, 0, 0);
  mk("open/mine0", 0644, NOBODY, NOBODY);
  mk("open/mine1", 0644, NOBODY, 0);
  mkd("open/d", 0755, 0, 0);
  mkd("open/sub", 0777, 0, 0);
  mkd("open/empty", 0755, 0, 0);
  mkd("sticky", 01777, 0, 0);
  mk("sticky/rootfile", 0666, 0, 0);
  mkd("sgid", 02777, 0, 1234);
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "rootsock");
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4) != 0 || chmod("rootsock", 0755) != 0) { perror("rootsock"); return 1; }

  child(as_nobody, NOBODY, NOBODY);
  child(real_nobody, NOBODY, 0);
  child(fs_nobody, 0, 0);
  close(ls);
  return 0;
}
