// Priority-inheritance futexes: FUTEX_LOCK_PI / TRYLOCK_PI / UNLOCK_PI on raw words (owner TID,
// FUTEX_WAITERS, handover to a waiter, errors), PTHREAD_PRIO_INHERIT mutexes under contention,
// robust PI mutexes whose owner dies (with and without a waiter), a non-robust one whose owner
// exits with a waiter, and a process-shared PI mutex in MAP_SHARED memory across fork.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ctest.h"

static long fx(uint32_t *w, int op, const struct timespec *ts) {
  long r = syscall(SYS_futex, w, op, 0, ts, NULL, 0);
  return r < 0 ? -errno : r;
}
static const char *en(long r) {
  switch (r) {
    case 0: return "0";
    case -EDEADLK: return "EDEADLK";
    case -EPERM: return "EPERM";
    case -ESRCH: return "ESRCH";
    case -EAGAIN: return "EAGAIN";
    case -ETIMEDOUT: return "ETIMEDOUT";
    case -EINVAL: return "EINVAL";
    case -ENOSYS: return "ENOSYS";
    case -EFAULT: return "EFAULT";
    case -EINTR: return "EINTR";
    default: { static char b[32]; snprintf(b, sizeof b, "%ld", r); return b; }
  }
}
static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }
static void waitbit(volatile uint32_t *w) { while (!(*w & FUTEX_WAITERS)) sched_yield(); }

static uint32_t word;
static pid_t tid_b;
static long b_lock, b_unlock, b_timed;
static uint32_t b_word_after;

static void *waiter_b(void *arg) {
  (void)arg;
  tid_b = gettid_();
  b_lock = fx(&word, FUTEX_LOCK_PI_PRIVATE, NULL);
  b_word_after = word;
  b_unlock = fx(&word, FUTEX_UNLOCK_PI_PRIVATE, NULL);
  return NULL;
}
static void *timed_b(void *arg) {
  (void)arg;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 50 * 1000000;
  if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
  b_timed = fx(&word, FUTEX_LOCK_PI_PRIVATE, &ts);
  return NULL;
}

static void raw(void) {
  pid_t me = gettid_();
  word = 0;
  long r = fx(&word, FUTEX_LOCK_PI_PRIVATE, NULL);
  printf("raw: lock free word: %s, owner is me %d, waiters %d\n", en(r), (word & FUTEX_TID_MASK) == (uint32_t)me, !!(word & FUTEX_WAITERS));
  // (C leaves the order of a call's arguments open: every call with an effect is made first.)
  r = fx(&word, FUTEX_LOCK_PI_PRIVATE, NULL);
  long r2 = fx(&word, FUTEX_TRYLOCK_PI, NULL);
  printf("raw: lock again: %s, trylock: %s\n", en(r), en(r2));
  r = fx(&word, FUTEX_UNLOCK_PI_PRIVATE, NULL);
  printf("raw: unlock: %s, word %u\n", en(r), word);
  printf("raw: unlock not owned: %s\n", en(fx(&word, FUTEX_UNLOCK_PI_PRIVATE, NULL)));
  word = 0x3ffffffe;
  r = fx(&word, FUTEX_LOCK_PI_PRIVATE, NULL);
  r2 = fx(&word, FUTEX_TRYLOCK_PI_PRIVATE, NULL);
  printf("raw: lock owned by no thread: %s, trylock: %s\n", en(r), en(r2));
  word = 0;
  r = fx(&word, FUTEX_TRYLOCK_PI_PRIVATE, NULL);
  printf("raw: trylock free: %s, owner is me %d\n", en(r), (word & FUTEX_TID_MASK) == (uint32_t)me);
  printf("raw: LOCK_PI|CLOCK_REALTIME: %s\n", en(fx(&word, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, NULL)));
  printf("raw: bad address: %s\n", en(fx((uint32_t *)16, FUTEX_LOCK_PI_PRIVATE, NULL)));
  struct timespec bad = { 0, 2000000000 };
  printf("raw: bad timeout: %s\n", en(fx(&word, FUTEX_LOCK_PI_PRIVATE, &bad)));

  // Held by me: another thread times out.
  pthread_t th;
  pthread_create(&th, NULL, timed_b, NULL);
  pthread_join(th, NULL);
  printf("raw: timed lock of a held word: %s\n", en(b_timed));

  // Held by me, a waiter arrives: FUTEX_WAKE refuses a PI futex; unlock hands the lock over.
  word = (uint32_t)me;
  pthread_create(&th, NULL, waiter_b, NULL);
  waitbit(&word);
  long wk = syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  printf("raw: FUTEX_WAKE on a PI futex with a waiter: %s\n", en(wk < 0 ? -errno : wk));
  r = fx(&word, FUTEX_UNLOCK_PI_PRIVATE, NULL);
  printf("raw: unlock with a waiter: %s\n", en(r));
  pthread_join(th, NULL);
  printf("raw: waiter's lock %s, word then: owner is waiter %d, waiters bit %d; its unlock %s, word %u\n", en(b_lock),
         (b_word_after & FUTEX_TID_MASK) == (uint32_t)tid_b, !!(b_word_after & FUTEX_WAITERS), en(b_unlock), word);
}

#define NT 4
#define ROUNDS 20000
static pthread_mutex_t pim;
static long counter;
static void *incr(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&pim);
    counter++;
    if ((i & 255) == 0) sched_yield();
    pthread_mutex_unlock(&pim);
  }
  return NULL;
}
static int try_rc;
static void *trier(void *arg) { (void)arg; try_rc = pthread_mutex_trylock(&pim); return NULL; }

static void contention(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&pim, &a);
  pthread_t th[NT];
  for (int i = 0; i < NT; i++) pthread_create(&th[i], NULL, incr, NULL);
  for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
  printf("prio-inherit mutex: counter %ld of %d\n", counter, NT * ROUNDS);
  pthread_mutex_lock(&pim);
  pthread_t t;
  pthread_create(&t, NULL, trier, NULL);
  pthread_join(t, NULL);
  printf("prio-inherit mutex: trylock held by another: %s\n", try_rc == EBUSY ? "EBUSY" : strerror(try_rc));
  pthread_mutex_unlock(&pim);
}

static pthread_mutex_t rm;
static volatile int stage;
static void *die_holding(void *arg) {
  int wait_for_waiter = *(int *)arg;
  pthread_mutex_lock(&rm);
  stage = 1;
  if (wait_for_waiter) waitbit((volatile uint32_t *)&rm.__data.__lock);
  return NULL; // ends holding the mutex
}
// Robust PI mutexes (glibc aborts in a plain PI mutex whose owner died: the kernel hands it over
// with FUTEX_OWNER_DIED, see raw_owner_dies).
static void owner_dies(int with_waiter) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&rm, &a);
  stage = 0;
  pthread_t t;
  pthread_create(&t, NULL, die_holding, &with_waiter);
  while (!stage) sched_yield();
  int rc = pthread_mutex_lock(&rm);
  pthread_join(t, NULL);
  uint32_t w = (uint32_t)rm.__data.__lock;
  printf("robust PI mutex, owner dies %s a waiter: lock %s, owner is me %d", with_waiter ? "with" : "without",
         rc == 0 ? "0" : rc == EOWNERDEAD ? "EOWNERDEAD" : strerror(rc), (w & FUTEX_TID_MASK) == (uint32_t)gettid_());
  if (rc == EOWNERDEAD) {
    int c = pthread_mutex_consistent(&rm);
    int u = pthread_mutex_unlock(&rm);
    int l = pthread_mutex_lock(&rm);
    printf(", consistent %d, unlock %d, relock %d", c, u, l);
  }
  int u2 = pthread_mutex_unlock(&rm);
  printf(", unlock %d\n", u2);
  pthread_mutex_destroy(&rm);
}

// A thread that owns a raw PI word ends while another waits: the kernel hands the lock over with
// FUTEX_OWNER_DIED set.
static void *lock_and_end(void *arg) {
  (void)arg;
  fx(&word, FUTEX_LOCK_PI_PRIVATE, NULL);
  stage = 1;
  waitbit(&word);
  return NULL;
}
static void raw_owner_dies(void) {
  word = 0;
  stage = 0;
  pthread_t t;
  pthread_create(&t, NULL, lock_and_end, NULL);
  while (!stage) sched_yield();
  long r = fx(&word, FUTEX_LOCK_PI_PRIVATE, NULL);
  uint32_t w = word;
  pthread_join(t, NULL);
  long u = fx(&word, FUTEX_UNLOCK_PI_PRIVATE, NULL);
  printf("raw: owner ends with a waiter: lock %s, owner is me %d, waiters %d, owner died %d; unlock %s, word %u\n", en(r),
         (w & FUTEX_TID_MASK) == (uint32_t)gettid_(), !!(w & FUTEX_WAITERS), !!(w & FUTEX_OWNER_DIED), en(u), word);
}

struct shm { pthread_mutex_t mu; long counter; };
static void pshared(void) {
  struct shm *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->mu, &a);
  fflush(stdout);
  pid_t c = fork();
  for (int i = 0; i < 5000; i++) {
    pthread_mutex_lock(&s->mu);
    long v = s->counter;
    if ((i & 63) == 0) sched_yield();
    s->counter = v + 1;
    pthread_mutex_unlock(&s->mu);
  }
  if (c == 0) _exit(0);
  int st;
  waitpid(c, &st, 0);
  printf("process-shared PI mutex across fork: counter %ld of 10000, child status %d\n", s->counter, st);
}

int t_pifutex(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  raw();
  contention();
  raw_owner_dies();
  pshared();
  // QEMU 7.2 has no set_robust_list (glibc's robust PI mutexes crash under it): this part's
  // golden comes from the host's kernel (guest/ctests/native.sh).
  if (argc > 1 && strcmp(argv[1], "robust") == 0) {
    owner_dies(0);
    owner_dies(1);
  }
  return 0;
}

#ifdef NATIVE_MAIN
int main(int argc, char **argv) { return t_pifutex(argc, argv); }
#endif
