// Process-shared pthread objects in MAP_SHARED memory across fork (futexes keyed by the shared
// page, not by the process), and robust mutexes whose owner thread or process dies.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctest.h"

struct shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sem_t items, spaces;
  long counter;
  int turn;
  int queue[8];
  int head, tail;
  long sum;
  pthread_mutex_t robust;
  pthread_mutex_t robust2;
  int stage;
};

#define ROUNDS 2000
#define NCHILD 3

static void *map_shared(const char *dir, int use_file) {
  if (!use_file) return mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char path[512];
  snprintf(path, sizeof path, "%s/shm", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  ftruncate(fd, 8192);
  void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return m;
}

static void init_objects(struct shared *s) {
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->mu, &ma);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(&s->cv, &ca);
  sem_init(&s->items, 1, 0);
  sem_init(&s->spaces, 1, 8);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&s->robust, &ma);
  pthread_mutex_init(&s->robust2, &ma);
}

static void run(struct shared *s, const char *label) {
  s->counter = 0;
  s->turn = 0;
  // Mutex: NCHILD processes and the parent each add ROUNDS times, yielding inside the lock.
  pid_t pids[NCHILD];
  for (int c = 0; c < NCHILD; c++) {
    if ((pids[c] = fork()) == 0) {
      for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&s->mu);
        long v = s->counter;
        if (i % 64 == 0) sched_yield();
        s->counter = v + 1;
        pthread_mutex_unlock(&s->mu);
      }
      _exit(0);
    }
  }
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&s->mu);
    long v = s->counter;
    if (i % 64 == 0) sched_yield();
    s->counter = v + 1;
    pthread_mutex_unlock(&s->mu);
  }
  for (int c = 0; c < NCHILD; c++) waitpid(pids[c], NULL, 0);
  printf("%s mutex counter: %ld (want %d)\n", label, s->counter, (NCHILD + 1) * ROUNDS);

  // Condvar: strict turn-taking between parent (even turns) and child (odd turns).
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 200; i++) {
      pthread_mutex_lock(&s->mu);
      while (s->turn % 2 == 0) pthread_cond_wait(&s->cv, &s->mu);
      s->turn++;
      pthread_cond_broadcast(&s->cv);
      pthread_mutex_unlock(&s->mu);
    }
    _exit(0);
  }
  for (int i = 0; i < 200; i++) {
    pthread_mutex_lock(&s->mu);
    while (s->turn % 2 == 1) pthread_cond_wait(&s->cv, &s->mu);
    s->turn++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  waitpid(pid, NULL, 0);
  printf("%s condvar turns: %d\n", label, s->turn);

  // Semaphores: a bounded queue, child produces 1..500, parent consumes.
  s->head = s->tail = 0;
  s->sum = 0;
  pid = fork();
  if (pid == 0) {
    for (int i = 1; i <= 500; i++) {
      sem_wait(&s->spaces);
      s->queue[s->tail++ % 8] = i;
      sem_post(&s->items);
    }
    _exit(0);
  }
  long sum = 0;
  for (int i = 0; i < 500; i++) {
    sem_wait(&s->items);
    sum += s->queue[s->head++ % 8];
    sem_post(&s->spaces);
  }
  waitpid(pid, NULL, 0);
  printf("%s semaphore queue sum: %ld\n", label, sum);
}

static void *die_holding(void *arg) {
  pthread_mutex_lock((pthread_mutex_t *)arg);
  return NULL;  // the thread ends owning the mutex
}

static void robust(struct shared *s, const char *label) {
  // A thread dies holding it.
  pthread_t th;
  pthread_create(&th, NULL, die_holding, &s->robust);
  pthread_join(th, NULL);
  int r = pthread_mutex_lock(&s->robust);
  printf("%s lock after owner thread died: %s\n", label, r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  printf("%s consistent: %d\n", label, pthread_mutex_consistent(&s->robust));
  printf("%s unlock: %d\n", label, pthread_mutex_unlock(&s->robust));
  r = pthread_mutex_lock(&s->robust);
  printf("%s lock again: %d\n", label, r);
  pthread_mutex_unlock(&s->robust);

  // A process dies holding it while the parent waits for it.
  s->stage = 0;
  pid_t pid = fork();
  if (pid == 0) {
    pthread_mutex_lock(&s->robust2);
    __atomic_store_n(&s->stage, 1, __ATOMIC_SEQ_CST);
    usleep(20000);
    _exit(0);  // dies holding robust2
  }
  while (__atomic_load_n(&s->stage, __ATOMIC_SEQ_CST) == 0) sched_yield();
  r = pthread_mutex_lock(&s->robust2);
  printf("%s lock after owner process died: %s\n", label, r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  waitpid(pid, NULL, 0);
  // Not made consistent: unlocking makes it unusable.
  pthread_mutex_unlock(&s->robust2);
  r = pthread_mutex_lock(&s->robust2);
  printf("%s lock of unrecoverable mutex: %s\n", label, r == ENOTRECOVERABLE ? "ENOTRECOVERABLE" : strerror(r));
  // A process killed holding it.
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&s->robust2, &ma);
  s->stage = 0;
  pid = fork();
  if (pid == 0) {
    pthread_mutex_lock(&s->robust2);
    __atomic_store_n(&s->stage, 1, __ATOMIC_SEQ_CST);
    for (;;) pause();
  }
  while (__atomic_load_n(&s->stage, __ATOMIC_SEQ_CST) == 0) sched_yield();
  kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
  r = pthread_mutex_lock(&s->robust2);
  printf("%s lock after owner killed: %s\n", label, r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  pthread_mutex_consistent(&s->robust2);
  pthread_mutex_unlock(&s->robust2);
}

int t_pshared(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  setvbuf(stdout, NULL, _IONBF, 0);
  struct shared *a = map_shared(dir, 0);
  init_objects(a);
  run(a, "anon");
  struct shared *f = map_shared(dir, 1);
  init_objects(f);
  run(f, "file");
  return 0;
}

// Robust mutexes: QEMU user mode does not implement set_robust_list (glibc then refuses to make
// robust mutexes), so this is checked against Linux's documented results by test/shmem.test.ts.
int t_robust(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  setvbuf(stdout, NULL, _IONBF, 0);
  struct shared *a = map_shared(dir, 0);
  init_objects(a);
  robust(a, "anon");
  struct shared *f = map_shared(dir, 1);
  init_objects(f);
  robust(f, "file");
  return 0;
}
