// pthreads: 8 threads, mutexes, condition variables, barrier, rwlock, semaphores, once, keys,
// thread-local storage and C11 atomics of every width (8/16-bit ones are LR/SC loops).
// All output is printed by the main thread after joins, so it is deterministic.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sched.h>
#include "ctest.h"

#define NT 8
#define ITER 20000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;
static long locked_counter;
static atomic_long a_add;
static atomic_int a_cas;
static _Atomic unsigned char a8;
static _Atomic unsigned short a16;
static atomic_ullong a_or;
static atomic_long a_min = 1L << 40;
static __thread long tls_value = -1;
static __thread char tls_buf[64];
static int serial_count;
static atomic_int key_destroyed;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_data[4];
static atomic_int rw_bad;

static void key_dtor(void *p) { free(p); atomic_fetch_add(&key_destroyed, 1); }
static void init_once(void) { once_runs++; }

static void *worker(void *arg) {
  long id = (long)arg;
  tls_value = id * 100;
  snprintf(tls_buf, sizeof tls_buf, "thread-%ld", id);
  pthread_once(&once, init_once);
  long *kv = malloc(sizeof *kv); *kv = id; pthread_setspecific(key, kv);
  int r = pthread_barrier_wait(&bar);
  if (r == PTHREAD_BARRIER_SERIAL_THREAD) { pthread_mutex_lock(&mu); serial_count++; pthread_mutex_unlock(&mu); }
  for (int i = 0; i < ITER; i++) {
    pthread_mutex_lock(&mu); locked_counter++; pthread_mutex_unlock(&mu);
    atomic_fetch_add(&a_add, 3);
    int old = atomic_load(&a_cas);
    while (!atomic_compare_exchange_weak(&a_cas, &old, old + 1)) {}
    atomic_fetch_add(&a8, 1);
    atomic_fetch_sub(&a16, 1);
    atomic_fetch_or(&a_or, 1ULL << ((id * 8 + i) % 64));
    long v = (id + 1) * 1000000 - i, cur = atomic_load(&a_min);
    while (v < cur && !atomic_compare_exchange_strong(&a_min, &cur, v)) {}
    if (i % 1000 == 0) {
      if (i % 3000 == 0) {
        pthread_rwlock_wrlock(&rw);
        for (int k = 0; k < 4; k++) rw_data[k] = id * 10 + i;
        pthread_rwlock_unlock(&rw);
      } else {
        pthread_rwlock_rdlock(&rw);
        for (int k = 1; k < 4; k++) if (rw_data[k] != rw_data[0]) atomic_fetch_add(&rw_bad, 1);
        pthread_rwlock_unlock(&rw);
      }
      sched_yield();
    }
  }
  // TLS must still hold this thread's values
  char expect[64]; snprintf(expect, sizeof expect, "thread-%ld", id);
  long ok = tls_value == id * 100 && strcmp(tls_buf, expect) == 0 && *(long *)pthread_getspecific(key) == id;
  return (void *)(id * id + (ok ? 1000 : 0));
}

// bounded queue with condition variables: 1 producer, 4 consumers
#define QN 16
static int q[QN], qh, qt, qcount, done;
static pthread_mutex_t qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static void *producer(void *arg) {
  (void)arg;
  for (int i = 1; i <= 5000; i++) {
    pthread_mutex_lock(&qm);
    while (qcount == QN) pthread_cond_wait(&not_full, &qm);
    q[qt] = i; qt = (qt + 1) % QN; qcount++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&qm);
  }
  pthread_mutex_lock(&qm); done = 1; pthread_cond_broadcast(&not_empty); pthread_mutex_unlock(&qm);
  return NULL;
}
static void *consumer(void *arg) {
  long *sum = arg;
  for (;;) {
    pthread_mutex_lock(&qm);
    while (qcount == 0 && !done) pthread_cond_wait(&not_empty, &qm);
    if (qcount == 0 && done) { pthread_mutex_unlock(&qm); break; }
    int v = q[qh]; qh = (qh + 1) % QN; qcount--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&qm);
    *sum += v;
  }
  return NULL;
}

static sem_t sem_items, sem_done;
static atomic_int sem_work;
static void *sem_worker(void *arg) {
  (void)arg;
  for (;;) {
    sem_wait(&sem_items);
    int w = atomic_fetch_add(&sem_work, 1);
    if (w >= 1000) { sem_post(&sem_done); return NULL; }
  }
}

int t_threads(int argc, char **argv) {
  (void)argc; (void)argv;
  pthread_t th[NT];
  pthread_barrier_init(&bar, NULL, NT);
  pthread_key_create(&key, key_dtor);
  tls_value = 42;
  pthread_attr_t attr; pthread_attr_init(&attr); pthread_attr_setstacksize(&attr, 256 * 1024);
  for (long i = 0; i < NT; i++)
    if (pthread_create(&th[i], i % 2 ? &attr : NULL, worker, (void *)i)) { printf("pthread_create failed\n"); return 1; }
  long total = 0;
  for (int i = 0; i < NT; i++) {
    void *ret; pthread_join(th[i], &ret);
    printf("join %d -> %ld\n", i, (long)ret);
    total += (long)ret;
  }
  printf("sum of join results %ld, main TLS still %ld\n", total, tls_value);
  printf("mutex counter %ld (expect %d)\n", locked_counter, NT * ITER);
  printf("atomic add %ld cas %d u8 %u u16 %u or %llx min %ld\n", atomic_load(&a_add), atomic_load(&a_cas), atomic_load(&a8),
         atomic_load(&a16), atomic_load(&a_or), atomic_load(&a_min));
  printf("barrier serial threads %d, once runs %d, key destructors %d, rwlock inconsistencies %d\n", serial_count, once_runs,
         atomic_load(&key_destroyed), atomic_load(&rw_bad));

  pthread_t prod, cons[4]; long sums[4] = {0};
  pthread_create(&prod, NULL, producer, NULL);
  for (int i = 0; i < 4; i++) pthread_create(&cons[i], NULL, consumer, &sums[i]);
  pthread_join(prod, NULL);
  long all = 0;
  for (int i = 0; i < 4; i++) { pthread_join(cons[i], NULL); all += sums[i]; }
  printf("condvar queue: consumed sum %ld (expect %d)\n", all, 5000 * 5001 / 2);

  sem_init(&sem_items, 0, 0); sem_init(&sem_done, 0, 0);
  pthread_t sw[3];
  for (int i = 0; i < 3; i++) pthread_create(&sw[i], NULL, sem_worker, NULL);
  for (int i = 0; i < 1003; i++) sem_post(&sem_items);
  for (int i = 0; i < 3; i++) sem_wait(&sem_done);
  for (int i = 0; i < 3; i++) pthread_join(sw[i], NULL);
  printf("semaphores: work items taken %d\n", atomic_load(&sem_work));

  // detached thread + trylock + timed wait
  pthread_mutex_lock(&mu);
  printf("trylock on held mutex: %d (EBUSY %d)\n", pthread_mutex_trylock(&mu), 16);
  pthread_mutex_unlock(&mu);
  struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_nsec += 20000000;
  if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
  pthread_mutex_lock(&qm);
  int tw = pthread_cond_timedwait(&not_empty, &qm, &ts);
  pthread_mutex_unlock(&qm);
  printf("cond_timedwait timeout: %d (ETIMEDOUT %d)\n", tw, 110);
  pthread_t self = pthread_self();
  printf("pthread_equal(self, self) %d, distinct from worker %d\n", pthread_equal(self, self) != 0, pthread_equal(self, th[0]) == 0);
  return 0;
}
