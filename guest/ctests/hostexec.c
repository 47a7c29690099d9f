// execve of host-native programs (/bin/sh, /bin/cat, /usr/bin/env of the host): QEMU user mode
// runs them natively, so does rvisor (src/user/host-exec.ts). Checks what the guest can observe:
// wait4/waitid status and signal, SIGCHLD, errno of failed execs, the fds the program inherits
// (close-on-exec honoured), pipes both ways with 1 MiB, cwd, envp, argv[0], umask, SIG_IGN kept
// and handlers reset, getppid, kill of a running host program, vfork + execve.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctest.h"

extern char **environ;

static const char *tmpdir;

/** fork + execve(path, argv, envp); returns the child's pid. */
static pid_t spawn(const char *path, char *const argv[], char *const envp[]) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execve(path, argv, envp);
    _exit(100 + errno);
  }
  return pid;
}

static void show_status(const char *what, pid_t pid) {
  int st = 0;
  pid_t r = waitpid(pid, &st, 0);
  printf("%s: pid matches %s, ", what, r == pid ? "yes" : "no");
  if (WIFEXITED(st)) printf("exited %d\n", WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("killed by %d\n", WTERMSIG(st));
  else printf("status 0x%x\n", st);
}

/** Runs /bin/sh -c SCRIPT (with `arg` as $0) and shows its status. */
static void sh(const char *what, const char *script, const char *arg) {
  char *argv[] = { "sh", "-c", (char *)script, (char *)arg, NULL };
  show_status(what, spawn("/bin/sh", argv, environ));
}

static volatile sig_atomic_t chld_count;
static volatile pid_t chld_pid;
static void on_chld(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  chld_count++;
  chld_pid = si->si_pid;
}
static void on_usr1(int sig) { (void)sig; }

static void statuses(void) {
  sh("exit 7", "exit 7", NULL);
  sh("kill -TERM $$", "kill -TERM $$", NULL);
  sh("kill -KILL $$", "kill -KILL $$", NULL);
  char *argv[] = { "true", NULL };
  show_status("/bin/true", spawn("/bin/true", argv, environ));
  // waitid
  char *a3[] = { "sh", "-c", "exit 3", NULL };
  pid_t p = spawn("/bin/sh", a3, environ);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, p, &si, WEXITED);
  printf("waitid: %d, signo %d, code %s, pid matches %s, status %d\n", r, si.si_signo,
         si.si_code == CLD_EXITED ? "CLD_EXITED" : si.si_code == CLD_KILLED ? "CLD_KILLED" : "other",
         si.si_pid == p ? "yes" : "no", si.si_status);
  char *a9[] = { "sh", "-c", "kill -9 $$", NULL };
  p = spawn("/bin/sh", a9, environ);
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, p, &si, WEXITED);
  printf("waitid: %d, code %s, status %d\n", r, si.si_code == CLD_KILLED ? "CLD_KILLED" : "other", si.si_status);
  // SIGCHLD
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  char *a0[] = { "true", NULL };
  p = spawn("/bin/true", a0, environ);
  int st;
  waitpid(p, &st, 0);
  printf("SIGCHLD: %s, si_pid matches %s\n", chld_count > 0 ? "yes" : "no", chld_pid == p ? "yes" : "no");
  signal(SIGCHLD, SIG_DFL);
}

static void errnos(void) {
  char *argv[] = { "x", NULL };
  errno = 0;
  printf("execve missing: %d %s\n", execve("/nonexistent/prog", argv, environ), strerror(errno));
  char path[512];
  snprintf(path, sizeof path, "%s/noexec", tmpdir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  close(fd);
  errno = 0;
  printf("execve not executable: %d %s\n", execve(path, argv, environ), strerror(errno));
  errno = 0;
  printf("execve directory: %d %s\n", execve("/bin/", argv, environ), strerror(errno));
  // a script whose interpreter is a host program
  snprintf(path, sizeof path, "%s/script", tmpdir);
  FILE *f = fopen(path, "w");
  fprintf(f, "#!/bin/sh\necho \"script: $0 $1\" | /bin/sed \"s|$TMPD|TMP|\"\nexit 4\n");
  fclose(f);
  chmod(path, 0755);
  char *sargv[] = { path, "arg1", NULL };
  char envs[600];
  snprintf(envs, sizeof envs, "TMPD=%s", tmpdir);
  char *senv[] = { envs, NULL };
  show_status("#!/bin/sh script", spawn(path, sargv, senv));
}

static void fds(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/fds", tmpdir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, 9);
  close(fd);
  fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  dup2(fd, 10);
  fcntl(10, F_SETFD, FD_CLOEXEC);
  close(fd);
  write(9, "guest\n", 6);
  sh("fds", "echo host-9 >&9; ( : >&10 ) 2>/dev/null && echo fd10-open >&9 || echo fd10-closed >&9", NULL);
  write(9, "guest again\n", 12);
  close(9);
  close(10);
  char buf[256] = {0};
  fd = open(path, O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("fd 9 file (%zd bytes): %s", n, buf);
}

static void pipes(void) {
  int in[2], out[2];
  pipe(in);
  pipe(out);
  fflush(stdout);
  pid_t cat = fork();
  if (cat == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]); close(in[1]); close(out[0]); close(out[1]);
    char *argv[] = { "cat", NULL };
    execve("/bin/cat", argv, environ);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  pid_t writer = fork();
  if (writer == 0) {
    close(out[0]);
    static unsigned char b[4096];
    uint64_t x = 1;
    for (int i = 0; i < 256; i++) {
      for (size_t j = 0; j < sizeof b; j++) { x = x * 6364136223846793005ULL + 1442695040888963407ULL; b[j] = x >> 56; }
      size_t o = 0;
      while (o < sizeof b) { ssize_t w = write(in[1], b + o, sizeof b - o); if (w <= 0) _exit(1); o += w; }
    }
    _exit(0);
  }
  close(in[1]);
  uint64_t h = FNV0;
  size_t total = 0;
  unsigned char b[7777];
  ssize_t n;
  while ((n = read(out[0], b, sizeof b)) > 0) { h = fnv(h, b, n); total += n; }
  close(out[0]);
  int st;
  waitpid(writer, &st, 0);
  printf("pipe through /bin/cat: %zu bytes, fnv %016llx, writer %d\n", total, (unsigned long long)h, WEXITSTATUS(st));
  show_status("/bin/cat", cat);
  // the host program's stdout read through a pipe; its stdin at EOF
  int p[2];
  pipe(p);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    dup2(p[1], 1);
    close(p[0]); close(p[1]);
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0);
    char *argv[] = { "sh", "-c", "echo one; /bin/echo two; printf three; exec 1>&-; echo lost", NULL };
    execve("/bin/sh", argv, environ);
    _exit(127);
  }
  close(p[1]);
  char buf[256] = {0};
  size_t got = 0;
  while (got < sizeof buf - 1 && (n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0) got += n;
  close(p[0]);
  printf("read from host sh: [%s]\n", buf);
  show_status("sh > pipe", c);
  // the guest closes the read end: the host writer gets SIGPIPE
  pipe(p);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    dup2(p[1], 1);
    close(p[0]); close(p[1]);
    char *argv[] = { "yes", NULL };
    execve("/usr/bin/yes", argv, environ);
    _exit(127);
  }
  close(p[1]);
  read(p[0], buf, 10);
  close(p[0]);
  show_status("yes | (closed)", c);
}

static void inherit(void) {
  char sub[512];
  snprintf(sub, sizeof sub, "%s/sub dir", tmpdir);
  mkdir(sub, 0755);
  char cwd[512];
  getcwd(cwd, sizeof cwd);
  chdir(sub);
  sh("cwd", "[ \"$(/bin/pwd)\" = \"$0\" ] && echo cwd-matches", sub);
  chdir(cwd);
  char *envp[] = { "A=1", "B=two words", "EMPTY=", NULL };
  char *argv[] = { "env", NULL };
  show_status("env", spawn("/usr/bin/env", argv, envp));
  char *a0[] = { "custom-argv0", "-c", "tr '\\000' ' ' < /proc/$$/cmdline; echo", NULL };
  show_status("argv0", spawn("/bin/sh", a0, environ));
  mode_t old = umask(027);
  sh("umask", "umask", NULL);
  umask(old);
  signal(SIGUSR2, SIG_IGN);
  signal(SIGUSR1, on_usr1);
  sh("signals", "/bin/grep -E '^Sig(Ign|Cgt)' /proc/self/status | while read n v; do "
     "echo \"$n USR1=$(( (0x$v >> 9) & 1 )) USR2=$(( (0x$v >> 11) & 1 ))\"; done", NULL);
  signal(SIGUSR2, SIG_DFL);
  signal(SIGUSR1, SIG_DFL);
  char buf[64] = {0};
  int p[2];
  pipe(p);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    dup2(p[1], 1);
    close(p[0]); close(p[1]);
    char *argv2[] = { "sh", "-c", "echo $PPID", NULL };
    execve("/bin/sh", argv2, environ);
    _exit(127);
  }
  close(p[1]);
  read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  show_status("ppid", c);
  printf("host program's getppid is the guest parent: %s\n", atoi(buf) == getpid() ? "yes" : "no");
}

static void killing(void) {
  int sync[2];
  pipe2(sync, O_CLOEXEC);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    close(sync[0]);
    char *argv[] = { "sleep", "30", NULL };
    execve("/bin/sleep", argv, environ);
    _exit(127);
  }
  close(sync[1]);
  char b;
  ssize_t n = read(sync[0], &b, 1); // EOF once the exec closed the close-on-exec end
  close(sync[0]);
  int st;
  printf("exec done: %s, WNOHANG while running: %d\n", n == 0 ? "yes" : "no", (int)waitpid(c, &st, WNOHANG));
  printf("kill(pid, 0): %d\n", kill(c, 0));
  printf("kill(pid, SIGTERM): %d\n", kill(c, SIGTERM));
  show_status("sleep 30", c);
  // vfork + execve
  fflush(stdout);
  pid_t v = vfork();
  if (v == 0) {
    char *argv[] = { "sh", "-c", "exit 9", NULL };
    execve("/bin/sh", argv, environ);
    _exit(127);
  }
  show_status("vfork sh", v);
}

int t_hostexec(int argc, char **argv) {
  if (argc < 2) return 2;
  tmpdir = argv[1];
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  statuses();
  errnos();
  fds();
  pipes();
  inherit();
  killing();
  fflush(stdout);
  return 0;
}
