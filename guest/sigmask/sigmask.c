// The signal mask while a handler runs, as Linux defines it (kernel/signal.c, signal_delivered():
// blocked |= sa_mask, plus the signal itself unless SA_NODEFER; restored by rt_sigreturn), and
// sigaction() reading sa_mask back. Portable C: the same source prints the same lines on every
// Linux architecture, so the reference is Linux itself (built for the host and run natively);
// qemu-riscv64 7.2 is not (see README.md).
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int in_usr1, in_usr2, in_rtmin, usr2_runs, usr2_after_usr1;
static volatile int usr1_done;

static void usr1_handler(int sig) {
  (void)sig;
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  in_usr1 = sigismember(&cur, SIGUSR1);
  in_usr2 = sigismember(&cur, SIGUSR2);
  in_rtmin = sigismember(&cur, SIGRTMIN);
  usr1_done = 0;
  raise(SIGUSR2); // blocked by sa_mask: must wait until this handler returns
  usr1_done = 1;
}
static void usr2_handler(int sig) {
  (void)sig;
  usr2_runs++;
  usr2_after_usr1 = usr1_done;
}
static void *thread_main(void *arg) {
  (void)arg;
  pthread_kill(pthread_self(), SIGUSR1);
  return NULL;
}

static void show(const char *how) {
  sigset_t after;
  sigprocmask(SIG_BLOCK, NULL, &after);
  printf("%-22s in the handler: USR1 blocked %d, USR2 (sa_mask) blocked %d, RTMIN blocked %d; "
         "USR2 raised inside ran %d time(s), after the handler %d; afterwards USR1 blocked %d, USR2 blocked %d\n",
         how, in_usr1, in_usr2, in_rtmin, usr2_runs, usr2_after_usr1, sigismember(&after, SIGUSR1), sigismember(&after, SIGUSR2));
  in_usr1 = in_usr2 = in_rtmin = -1;
  usr2_runs = 0;
  usr2_after_usr1 = -1;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = usr2_handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);

  sa.sa_handler = usr1_handler;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  sigaction(SIGUSR1, &sa, NULL);

  struct sigaction old;
  memset(&old, 0xff, sizeof old);
  sigaction(SIGUSR1, NULL, &old);
  printf("sigaction reads back: handler same %d, sa_mask has USR2 %d, USR1 %d, RTMIN %d; flags %#x\n",
         old.sa_handler == usr1_handler, sigismember(&old.sa_mask, SIGUSR2), sigismember(&old.sa_mask, SIGUSR1),
         sigismember(&old.sa_mask, SIGRTMIN), (unsigned)old.sa_flags & ~0x04000000u /* SA_RESTORER, x86 */);

  raise(SIGUSR1);
  show("raise");
  kill(getpid(), SIGUSR1);
  show("kill");
  union sigval v = {.sival_int = 1};
  sigqueue(getpid(), SIGUSR1, v);
  show("sigqueue");
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_join(t, NULL);
  show("pthread_kill (thread)");

  // SA_NODEFER: the signal itself is not blocked, sa_mask still is.
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  show("raise, SA_NODEFER");

  // A mask already blocking RTMIN stays in force inside the handler and after it.
  sa.sa_flags = 0;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &rt, NULL);
  raise(SIGUSR1);
  show("raise, RTMIN blocked");
  sigprocmask(SIG_UNBLOCK, &rt, NULL);
  return 0;
}
