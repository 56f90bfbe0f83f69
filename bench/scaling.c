/*
 * scaling.c - select() scaling of the C core (issue 6, part 3): the cost of
 * one sel_select(timeout 0) that returns the one ready descriptor while N
 * others are registered and idle, the rate of register+unregister pairs
 * with N registered, and the heap bytes each registration costs.
 *
 * Every registration is an eventfd (one descriptor each); the ready one is
 * an eventfd holding a value, which stays readable because nobody reads it
 * (libuv's poll watchers are level-triggered).  Linux only, as eventfd is.
 *
 *   scaling -n N [-t SECONDS]   measure; prints one line of key=value
 *   scaling -n N -k K1[,K2...]  set up, warm up, then for each K exactly K
 *                               selects and nothing else, each run closed
 *                               by a call of sel_backend(), the marker
 *
 * Time: 1 ms batches of selects on the measured selector alternate with
 * equal batches on a reference selector with 10 idle registrations in the
 * same process, so that both see the same machine; ns_per_select and
 * ref_ns are the best batch of each (interference only ever adds time,
 * and on a busy machine a batch shorter than a time slice still often
 * runs whole; the medians are printed too), and their quotient is the
 * scaling ratio, free of the drift between one process and the next.
 *
 * Instructions: under `valgrind --tool=callgrind --dump-before=sel_backend`
 * each run of K selects is a dump of its own, so (Ir(K2) - Ir(K1)) /
 * (K2 - K1) counts exactly one select and its check, with set-up, warm-up
 * and exit left out.  (Two processes with -k K1 and -k K2 and the totals
 * of their middle dumps give the same figure.)
 *
 * Memory: glibc's mallinfo2() (uordblks + hblkhd, i.e. heap and mmapped
 * chunks in use) before and after registering the N idle eventfds on a
 * fresh selector, divided by N: it counts the key, libuv's watcher table
 * and the selector's arrays (which grow by doubling, so the figure wobbles
 * with N), not the kernel's epoll entry.  When the descriptors do not fit
 * under RLIMIT_NOFILE (raised as far as allowed first) the line says
 * status=na and why.  Relies on selector.h and, for sizeof(sel__key) and
 * the sizes of the selector's arrays, the private csrc/lib/internal.h.
 */
#define _GNU_SOURCE

#include <selector.h>
#include "lib/internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define RESERVE_FDS 64      /* stdio, the loop's epoll fd, wake-up, slack */
#define WARMUP_SELECTS 100  /* the first poll adds every fd to epoll */
#define BATCH_NS 1e6        /* a timed batch: 1 ms, under a time slice */
#define MIN_BATCHES 15      /* timed batches of each selector, at least */
#define MAX_BATCHES 2000
#define REF_N 10            /* idle registrations of the reference selector */
#define PAIRS_PER_REAP 64   /* register+unregister pairs between selects */
#define MAX_ITERS 100000000L

static void die(const char *what, int err) {
  fprintf(stderr, "scaling: %s: %s\n", what,
          err < 0 ? sel_strerror(err) : strerror(err));
  exit(1);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* Raises the soft limit (and the hard one, where allowed) to `need`
 * descriptors; returns the hard limit when that is not enough, else 0. */
static long raise_nofile(long need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit", errno);
  if ((long)rl.rlim_cur >= need) return 0;
  if ((long)rl.rlim_max < need) {
    struct rlimit want = {(rlim_t)need, (rlim_t)need};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) return 0;
    return (long)rl.rlim_max;
  }
  rl.rlim_cur = (rlim_t)need;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit", errno);
  return 0;
}

static int new_eventfd(void) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) die("eventfd", errno);
  return fd;
}

/* A selector with n idle eventfds and one ready one. */
typedef struct bench {
  sel_selector *sel;
  sel_key *ready;
  int *fds;
  long n;
  int ready_fd;
  double heap_per_reg;  /* heap bytes per idle registration */
} bench;

static void bench_open(bench *b, long n) {
  size_t before, after;
  long i;
  int r;
  /* The selector first, so that its own descriptors (the loop's epoll
   * fd, the wake-up's eventfd) come below the idle ones: libuv sizes its
   * fd-indexed watcher table by the highest descriptor it watches, and
   * that table must grow with the registrations, inside the delta. */
  b->n = n;
  b->fds = malloc((size_t)n * sizeof(*b->fds));
  if (b->fds == NULL) die("malloc", ENOMEM);
  if ((r = sel_create(&b->sel)) != 0) die("sel_create", r);
  for (i = 0; i < n; i++) b->fds[i] = new_eventfd();
  b->ready_fd = new_eventfd();
  if (eventfd_write(b->ready_fd, 1) != 0) die("eventfd_write", errno);
  before = heap_in_use();
  for (i = 0; i < n; i++)
    if ((r = sel_register(b->sel, b->fds[i], SEL_READ, NULL, NULL, NULL)) != 0)
      die("register", r);
  after = heap_in_use();
  b->heap_per_reg = ((double)after - (double)before) / (double)n;
  r = sel_register(b->sel, b->ready_fd, SEL_READ, NULL, NULL, &b->ready);
  if (r != 0) die("register", r);
}

static void bench_close(bench *b) {
  long i;
  int r;
  if ((r = sel_close(b->sel)) != 0) die("sel_close", r);
  for (i = 0; i < b->n; i++) close(b->fds[i]);
  close(b->ready_fd);
  free(b->fds);
}

/* One select(0) that must return exactly the ready key. */
static void select_one(const bench *b) {
  sel_event ev[8];
  int n = sel_select(b->sel, ev, 8, 0);
  if (n != 1 || ev[0].key != b->ready || ev[0].mask != SEL_READ) {
    fprintf(stderr, "scaling: select returned %d, not the one ready key\n", n);
    exit(1);
  }
}

/* Nanoseconds taken by `iters` selects. */
static double time_selects(const bench *b, int fd, long iters) {
  double t0 = now_ns();
  long i;
  (void)fd;
  for (i = 0; i < iters; i++) select_one(b);
  return now_ns() - t0;
}

/* Nanoseconds taken by `pairs` register+unregister pairs of `fd`, timed
 * alone: an unregistered key's handle is freed by the loop's next
 * iteration, so an untimed select(0) every PAIRS_PER_REAP pairs reaps
 * them before they pile up. */
static double time_pairs(const bench *b, int fd, long pairs) {
  double total = 0;
  long i, group, done = 0;
  int r;
  while (done < pairs) {
    double t0;
    group = pairs - done;
    if (group > PAIRS_PER_REAP) group = PAIRS_PER_REAP;
    t0 = now_ns();
    for (i = 0; i < group; i++) {
      if ((r = sel_register(b->sel, fd, SEL_READ, NULL, NULL, NULL)) != 0)
        die("register", r);
      if ((r = sel_unregister(b->sel, fd, NULL)) != 0) die("unregister", r);
    }
    total += now_ns() - t0;
    done += group;
    select_one(b);
  }
  return total;
}

typedef double (*timed_fn)(const bench *, int, long);

/* How many operations make a batch of about `budget` ns (16 at least):
 * doubles until one run takes a quarter of it, then takes the best of a
 * few runs of that size, so that a preempted run does not shrink it.
 * *batch_ns is what such a batch is then expected to take. */
static long calibrate(timed_fn fn, const bench *b, int fd, double budget,
                      double *batch_ns) {
  long iters = 16;
  double t, best, per_op;
  int i;
  while ((t = fn(b, fd, iters)) < budget / 4 && iters < MAX_ITERS / 2)
    iters *= 2;
  best = t;
  for (i = 0; i < 4; i++) {
    t = fn(b, fd, iters);
    best = t < best ? t : best;
  }
  per_op = (best > 1 ? best : 1) / (double)iters;
  t = budget / per_op;
  iters = t < 16 ? 16 : t > MAX_ITERS ? MAX_ITERS : (long)t;
  *batch_ns = per_op * (double)iters;
  return iters;
}

static double min_of(double *v, int n) {
  double m = v[0];
  int i;
  for (i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_of(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return v[n / 2];
}

/* ns per operation: batches of about BATCH_NS each, alternating between
 * `b` and, if not NULL, `ref`, so that the two see the same machine, for
 * about `seconds` in all; the best batch of each (what interference could
 * not slow: batches shorter than a scheduler time slice often run whole)
 * and the median. */
typedef struct timing {
  double min, median, ref_min, ref_median;
} timing;

static timing time_batches(timed_fn fn, const bench *b, const bench *ref,
                           int fd, double seconds) {
  int sides = ref != NULL ? 2 : 1;
  double batch_ns;
  long iters = calibrate(fn, b, fd, BATCH_NS, &batch_ns);
  double want = seconds * 1e9 / (batch_ns * sides);
  int nb = want < MIN_BATCHES ? MIN_BATCHES
           : want > MAX_BATCHES ? MAX_BATCHES : (int)want;
  double *per = malloc(2 * (size_t)nb * sizeof(*per)), *ref_per;
  timing t = {0, 0, 0, 0};
  int i;
  if (per == NULL) die("malloc", ENOMEM);
  ref_per = per + nb;
  for (i = 0; i < nb; i++) {
    per[i] = fn(b, fd, iters) / (double)iters;
    if (ref != NULL) ref_per[i] = fn(ref, fd, iters) / (double)iters;
  }
  t.min = min_of(per, nb);
  t.median = median_of(per, nb);
  if (ref != NULL) {
    t.ref_min = min_of(ref_per, nb);
    t.ref_median = median_of(ref_per, nb);
  }
  free(per);
  return t;
}

static void usage(void) {
  fprintf(stderr, "usage: scaling -n N [-t SECONDS | -k K1[,K2...]]\n");
  exit(2);
}

/* Runs of exactly K selects, for callgrind, each closed by the marker that
 * --dump-before names; nothing else happens in between. */
static void count_runs(const bench *b, const char *counts) {
  const char *p = counts;
  long i;
  (void)sel_backend();
  while (*p != '\0') {
    char *end;
    long k = strtol(p, &end, 10);
    if (end == p || k < 0 || k > MAX_ITERS || (*end != ',' && *end != '\0'))
      usage();
    for (i = 0; i < k; i++) select_one(b);
    (void)sel_backend();
    p = *end == ',' ? end + 1 : end;
  }
}

int main(int argc, char **argv) {
  long n = -1, i, hard;
  const char *counts = NULL;
  double seconds = 1.0;
  int opt, spare_fd;
  bench big, ref;

  while ((opt = getopt(argc, argv, "n:t:k:")) != -1) {
    switch (opt) {
      case 'n': n = strtol(optarg, NULL, 10); break;
      case 't': seconds = strtod(optarg, NULL); break;
      case 'k': counts = optarg; break;
      default: usage();
    }
  }
  if (n < 1 || n > 10000000 || !(seconds > 0)) usage();

  hard = raise_nofile(n + REF_N + RESERVE_FDS);
  if (hard != 0) {
    printf("impl=c n=%ld status=na reason=RLIMIT_NOFILE_hard_limit_%ld\n",
           n, hard);
    return 0;
  }

  bench_open(&big, n);
  for (i = 0; i < WARMUP_SELECTS; i++) select_one(&big);

  if (counts != NULL) {
    printf("impl=c n=%ld selects=%s\n", n, counts);
    fflush(stdout);
    count_runs(&big, counts);
  } else {
    timing sel_t, pair_t;
    size_t chunk;
    double tables;
    bench_open(&ref, REF_N);
    for (i = 0; i < WARMUP_SELECTS; i++) select_one(&ref);
    spare_fd = new_eventfd();
    sel_t = time_batches(time_selects, &big, &ref, -1, seconds * 0.7);
    pair_t = time_batches(time_pairs, &big, NULL, spare_fd, seconds * 0.3);
    /* Where the bytes go: the key's own heap chunk (its usable size plus
     * glibc's size word), and the arrays that grow by doubling: the
     * selector's fd-indexed keys[], its ready[] and dirty[] sized for every
     * registration, and libuv's fd-indexed watcher table. */
    chunk = malloc_usable_size((sel__key *)big.ready) + sizeof(size_t);
    tables = (double)big.sel->keys_len * sizeof(*big.sel->keys) +
             (double)big.sel->room *
                 (sizeof(*big.sel->ready) + sizeof(*big.sel->dirty)) +
             (double)sel_loop(big.sel)->nwatchers * sizeof(void *);
    printf("impl=c n=%ld ns_per_select=%.1f ns_median=%.1f ref_ns=%.1f "
           "ref_ns_median=%.1f regunreg_per_s=%.0f bytes_per_reg=%.1f "
           "sizeof_key=%zu key_chunk=%zu tables_per_reg=%.1f sizeof_poll=%zu "
           "backend=%s\n",
           n, sel_t.min, sel_t.median, sel_t.ref_min, sel_t.ref_median,
           1e9 / pair_t.min, big.heap_per_reg, sizeof(sel__key), chunk,
           tables / (double)(n + 1), sizeof(uv_poll_t), sel_backend());
    close(spare_fd);
    bench_close(&ref);
  }
  bench_close(&big);
  return 0;
}
