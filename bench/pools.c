/*
 * pools.c - the C thread pool (sel_pool_*) benchmark of issue 6, part 4,
 * run by bench/pools.sh beside bench/pools.lua and bench/pools.py.
 *
 *   pools [-w WORKERS] [-k TASKS] [-r ROUNDS] [-n ROUNDTRIPS]
 *
 * Throughput: ROUNDS times, submit TASKS pieces of work whose work_cb only
 * bumps an atomic counter, then sel_dispatch() until every done_cb has run
 * (each checks its status); tasks/s is the best round (interference from
 * the rest of a shared machine only ever adds time).  Latency: ROUNDTRIPS
 * times, submit one piece of work and dispatch until its done_cb ran; p50
 * and p99 of those round trips, in microseconds, after a warm-up.  The
 * pool has WORKERS threads (default 2).  Prints one line of key=value;
 * exits non-zero on any error or a count that does not add up.
 */
#define _POSIX_C_SOURCE 200809L

#include <selector.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long worked;  /* work_cb calls, on the worker threads */
static long done;           /* done_cb calls, on the selector's thread */
static long failed;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void work_cb(void *arg) {
  (void)arg;
  atomic_fetch_add_explicit(&worked, 1, memory_order_relaxed);
}

static void done_cb(sel_selector *sel, sel_work *work, int status, void *arg) {
  (void)sel;
  (void)work;
  (void)arg;
  if (status != 0) failed++;
  done++;
}

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "pools: %s: %s\n", what, uv_strerror(rc));
    exit(1);
  }
}

/* Dispatches until `target` done_cbs have run in all. */
static void wait_done(sel_selector *sel, long target) {
  while (done < target) check(sel_dispatch(sel, SEL_FOREVER), "sel_dispatch");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static long arg_long(const char *s, long lo, long hi) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "pools: bad number: %s\n", s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  long workers = 2, tasks = 100000, rounds = 5, trips = 20000;
  int opt;
  while ((opt = getopt(argc, argv, "w:k:r:n:")) != -1) {
    switch (opt) {
      case 'w': workers = arg_long(optarg, 1, 1024); break;
      case 'k': tasks = arg_long(optarg, 1, 100000000); break;
      case 'r': rounds = arg_long(optarg, 1, 1000); break;
      case 'n': trips = arg_long(optarg, 1, 100000000); break;
      default:
        fprintf(stderr, "usage: pools [-w WORKERS] [-k TASKS] [-r ROUNDS] [-n ROUNDTRIPS]\n");
        return 2;
    }
  }

  sel_selector *sel;
  sel_pool *pool;
  check(sel_create(&sel), "sel_create");
  check(sel_pool_create(sel, (int)workers, &pool), "sel_pool_create");

  /* Warm-up: threads started and caches warm. */
  long target = 0;
  for (long i = 0; i < 1000; i++)
    check(sel_pool_submit(pool, work_cb, done_cb, NULL, NULL), "sel_pool_submit");
  target += 1000;
  wait_done(sel, target);

  double best = 0;
  for (long r = 0; r < rounds; r++) {
    double t0 = now();
    for (long i = 0; i < tasks; i++)
      check(sel_pool_submit(pool, work_cb, done_cb, NULL, NULL), "sel_pool_submit");
    target += tasks;
    wait_done(sel, target);
    double rate = (double)tasks / (now() - t0);
    if (rate > best) best = rate;
  }

  double *lat = malloc(sizeof *lat * (size_t)trips);
  if (lat == NULL) {
    fprintf(stderr, "pools: out of memory\n");
    return 1;
  }
  for (long i = 0; i < 200; i++) {  /* warm-up of the round trip */
    check(sel_pool_submit(pool, work_cb, done_cb, NULL, NULL), "sel_pool_submit");
    wait_done(sel, ++target);
  }
  for (long i = 0; i < trips; i++) {
    double t0 = now();
    check(sel_pool_submit(pool, work_cb, done_cb, NULL, NULL), "sel_pool_submit");
    wait_done(sel, ++target);
    lat[i] = (now() - t0) * 1e6;
  }
  qsort(lat, (size_t)trips, sizeof *lat, cmp_double);
  double p50 = lat[(size_t)((double)(trips - 1) * 0.50)];
  double p99 = lat[(size_t)((double)(trips - 1) * 0.99)];
  free(lat);

  check(sel_pool_shutdown(pool, 1), "sel_pool_shutdown");
  check(sel_close(sel), "sel_close");
  long w = atomic_load(&worked);
  if (failed != 0 || done != target || w != target) {
    fprintf(stderr, "pools: %ld submitted, %ld worked, %ld done, %ld failed\n",
            target, w, done, failed);
    return 1;
  }
  printf("tasks_per_s=%.0f p50_us=%.1f p99_us=%.1f workers=%ld tasks=%ld rounds=%ld trips=%ld\n",
         best, p50, p99, workers, tasks, rounds, trips);
  return 0;
}
