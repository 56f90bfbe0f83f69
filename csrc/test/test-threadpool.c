/* The selector's thread pool: results and the thread each callback runs
 * on, start order, wake-up of a waiting select, cancellation, shutdown
 * with and without waiting, sel_close() with work in flight, several
 * pools, nested dispatch, and argument checks. */
#include "task.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* ---- Shared helpers ---------------------------------------------------- */

struct item;
typedef void (*item_hook)(struct item *it, sel_selector *sel, sel_work *work,
                          int status);

/* One piece of work and what became of it.  The worker writes ran_on,
 * work_calls and out; the selector's thread reads them in done_cb, after
 * the pool has handed the work back. */
struct item {
  int id;
  int in;
  long out;
  int work_calls;
  int done_calls;
  int status;
  pthread_t ran_on;
  double sleep;           /* seconds the work sleeps, after any gate */
  struct gate *gate;      /* if not NULL, the work waits until it opens */
  sel_selector *sel;      /* the selector done_cb must be given */
  sel_work *work;         /* the handle sel_pool_submit() gave out */
  item_hook on_done;      /* extra checks/actions in done_cb */
};

/* Something a worker waits on until the test opens it. */
struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int open;
};

static pthread_t main_thread;
/* Progress of the workers, under progress_mu. */
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress_cv = PTHREAD_COND_INITIALIZER;
static int started;
static int finished;
enum { MAXORDER = 256 };
static int start_order[MAXORDER];
/* Selector-thread state. */
static int done_total;
static int in_submit;   /* inside sel_pool_submit() */
static int in_wait;     /* inside select/dispatch/run/shutdown/close */

static void reset(void) {
  main_thread = pthread_self();
  pthread_mutex_lock(&progress_mu);
  started = 0;
  finished = 0;
  pthread_mutex_unlock(&progress_mu);
  done_total = 0;
  in_submit = 0;
  in_wait = 0;
}

static long compute(int in) {
  return (long)in * in - 3L * in + 7;
}

static void gate_init(struct gate *g) {
  ASSERT_EQ(pthread_mutex_init(&g->mu, NULL), 0);
  ASSERT_EQ(pthread_cond_init(&g->cv, NULL), 0);
  g->open = 0;
}

static void gate_destroy(struct gate *g) {
  ASSERT_EQ(pthread_cond_destroy(&g->cv), 0);
  ASSERT_EQ(pthread_mutex_destroy(&g->mu), 0);
}

static void gate_open(struct gate *g) {
  pthread_mutex_lock(&g->mu);
  g->open = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void gate_pass(struct gate *g) {
  pthread_mutex_lock(&g->mu);
  while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* Opens a gate from another thread after a delay. */
struct opener {
  struct gate *gate;
  double delay;
  pthread_t th;
};

static void *opener_main(void *arg) {
  struct opener *o = arg;
  test_sleep(o->delay);
  gate_open(o->gate);
  return NULL;
}

static void opener_start(struct opener *o, struct gate *g, double delay) {
  o->gate = g;
  o->delay = delay;
  ASSERT_EQ(pthread_create(&o->th, NULL, opener_main, o), 0);
}

static void opener_join(struct opener *o) {
  ASSERT_EQ(pthread_join(o->th, NULL), 0);
}

/* Waits (at most 10 s) until *counter, under progress_mu, reaches n. */
static void wait_count(const int *counter, int n) {
  struct timespec deadline;
  int r = 0;
  ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &deadline), 0);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&progress_mu);
  while (*counter < n && r == 0)
    r = pthread_cond_timedwait(&progress_cv, &progress_mu, &deadline);
  pthread_mutex_unlock(&progress_mu);
  if (r == ETIMEDOUT) FATAL("workers made no progress within 10 s");
  ASSERT_EQ(r, 0);
}

static void wait_started(int n) {
  wait_count(&started, n);
}

static void wait_finished(int n) {
  wait_count(&finished, n);
}

static int get_started(void) {
  int n;
  pthread_mutex_lock(&progress_mu);
  n = started;
  pthread_mutex_unlock(&progress_mu);
  return n;
}

static void item_work(void *arg) {
  struct item *it = arg;
  ASSERT(!pthread_equal(pthread_self(), main_thread));
  it->ran_on = pthread_self();
  it->work_calls++;
  pthread_mutex_lock(&progress_mu);
  if (started < MAXORDER) start_order[started] = it->id;
  started++;
  pthread_cond_broadcast(&progress_cv);
  pthread_mutex_unlock(&progress_mu);
  if (it->gate) gate_pass(it->gate);
  if (it->sleep > 0) test_sleep(it->sleep);
  it->out = compute(it->in);
  pthread_mutex_lock(&progress_mu);
  finished++;
  pthread_cond_broadcast(&progress_cv);
  pthread_mutex_unlock(&progress_mu);
}

static void item_done(sel_selector *sel, sel_work *work, int status,
                      void *arg) {
  struct item *it = arg;
  ASSERT(pthread_equal(pthread_self(), main_thread));
  ASSERT_EQ(in_submit, 0);
  ASSERT_GT(in_wait, 0);
  ASSERT_PTR_EQ(sel, it->sel);
  ASSERT_NOT_NULL(work);
  if (it->work != NULL) ASSERT_PTR_EQ(work, it->work);
  ASSERT_EQ(it->done_calls, 0);
  it->done_calls++;
  it->status = status;
  if (status == 0) {
    ASSERT_EQ(it->work_calls, 1);
    ASSERT_EQ(it->out, compute(it->in));
  } else {
    ASSERT_EQ(status, UV_ECANCELED);
    ASSERT_EQ(it->work_calls, 0);
  }
  done_total++;
  if (it->on_done) it->on_done(it, sel, work, status);
}

static void item_init(struct item *it, sel_selector *sel, int id) {
  memset(it, 0, sizeof(*it));
  it->id = id;
  it->in = id * 7 + 3;
  it->sel = sel;
}

/* Submits it, checking that no done_cb runs inside the call. */
static int submit(sel_pool *pool, struct item *it) {
  int r;
  in_submit++;
  r = sel_pool_submit(pool, item_work, item_done, it, &it->work);
  in_submit--;
  if (r == 0) ASSERT_NOT_NULL(it->work);
  return r;
}

/* The calls done_cb may run from. */
static int w_select(sel_selector *sel, sel_event *ev, int n, double timeout) {
  int r;
  in_wait++;
  r = sel_select(sel, ev, n, timeout);
  in_wait--;
  return r;
}

static int w_dispatch(sel_selector *sel, double timeout) {
  int r;
  in_wait++;
  r = sel_dispatch(sel, timeout);
  in_wait--;
  return r;
}

static int w_run(sel_selector *sel) {
  int r;
  in_wait++;
  r = sel_run(sel);
  in_wait--;
  return r;
}

static int w_shutdown(sel_pool *pool, int wait) {
  int r;
  in_wait++;
  r = sel_pool_shutdown(pool, wait);
  in_wait--;
  return r;
}

static int w_close(sel_selector *sel) {
  int r;
  in_wait++;
  r = sel_close(sel);
  in_wait--;
  return r;
}

/* Dispatches until done_total reaches n, for at most 10 s. */
static void dispatch_until(sel_selector *sel, int n) {
  double t0 = test_now();
  while (done_total < n) {
    ASSERT_GE(w_dispatch(sel, 1.0), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
}

/* ---- Tests ------------------------------------------------------------- */

/* Many tasks through 4 threads: right results, work off the main thread on
 * at most 4 threads, each done_cb once on the main thread with status 0,
 * sel_alive() while pending and sel_run() returning once all are done. */
static int results_n;

static void results_hook(struct item *it, sel_selector *sel, sel_work *work,
                         int status) {
  (void)it;
  (void)work;
  (void)status;
  if (done_total < results_n) ASSERT_NE(sel_alive(sel), 0);
}

TEST_IMPL(threadpool_results) {
  sel_selector *sel;
  sel_pool *pool;
  struct item *items;
  pthread_t threads[5];
  int nthreads = 0;
  int i, j;

  reset();
  results_n = test_under_valgrind() ? 1000 : 10000;
  items = calloc((size_t)results_n, sizeof(*items));
  ASSERT_NOT_NULL(items);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 4, &pool));
  /* An idle pool is nothing to wait for. */
  ASSERT_EQ(sel_alive(sel), 0);
  for (i = 0; i < results_n; i++) {
    item_init(&items[i], sel, i);
    items[i].on_done = results_hook;
    ASSERT_OK(submit(pool, &items[i]));
    ASSERT_NE(sel_alive(sel), 0);
  }
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(done_total, results_n);
  ASSERT_EQ(sel_alive(sel), 0);
  for (i = 0; i < results_n; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
    ASSERT_EQ(items[i].work_calls, 1);
    ASSERT_EQ(items[i].out, compute(items[i].in));
    ASSERT(!pthread_equal(items[i].ran_on, main_thread));
    for (j = 0; j < nthreads; j++)
      if (pthread_equal(threads[j], items[i].ran_on)) break;
    if (j == nthreads) {
      ASSERT_LT(nthreads, 4);
      threads[nthreads++] = items[i].ran_on;
    }
  }
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_EQ(done_total, results_n);
  ASSERT_OK(sel_close(sel));
  free(items);
  return 0;
}

/* done_cb never runs inside sel_pool_submit(), nor on its own while the
 * selector is not waiting: only from select, dispatch and run. */
TEST_IMPL(threadpool_done_not_in_submit) {
  enum { N = 12 };
  sel_selector *sel;
  sel_pool *pool;
  sel_event ev[2];
  struct item items[N];
  int i;

  reset();
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 2, &pool));
  for (i = 0; i < N; i++) item_init(&items[i], sel, i);

  for (i = 0; i < 4; i++) ASSERT_OK(submit(pool, &items[i]));
  wait_finished(4);
  test_sleep(0.02);
  /* Finished but not delivered: still pending. */
  ASSERT_EQ(done_total, 0);
  ASSERT_NE(sel_alive(sel), 0);
  /* Submitting more does not deliver the finished ones. */
  for (i = 4; i < 8; i++) ASSERT_OK(submit(pool, &items[i]));
  ASSERT_EQ(done_total, 0);

  /* A select delivers them. */
  ASSERT_EQ(w_select(sel, ev, 2, 5.0), 0);
  ASSERT_GE(done_total, 1);
  wait_finished(8);
  dispatch_until(sel, 8);
  ASSERT_EQ(done_total, 8);

  /* So does sel_run. */
  for (i = 8; i < N; i++) ASSERT_OK(submit(pool, &items[i]));
  ASSERT_EQ(done_total, 8);
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(done_total, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* A select blocking forever with nothing registered returns once work
 * completes, having run its done_cb; so does one started after it did. */
struct watchdog {
  sel_selector *sel;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int fired;
  pthread_t th;
};

static void *watchdog_main(void *arg) {
  struct watchdog *w = arg;
  struct timespec deadline;
  int r = 0;
  ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &deadline), 0);
  deadline.tv_sec += 5;
  pthread_mutex_lock(&w->mu);
  while (!w->stop && r == 0)
    r = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
  if (!w->stop) {
    w->fired = 1;
    ASSERT_OK(sel_wakeup(w->sel));
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

TEST_IMPL(threadpool_select_wakes) {
  sel_selector *sel;
  sel_pool *pool;
  sel_event ev[2];
  struct item items[2];
  struct watchdog wd;
  double t0;
  double elapsed;

  reset();
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  /* Should the pool never wake the select, this one does, after 5 s. */
  wd.sel = sel;
  wd.stop = 0;
  wd.fired = 0;
  ASSERT_EQ(pthread_mutex_init(&wd.mu, NULL), 0);
  ASSERT_EQ(pthread_cond_init(&wd.cv, NULL), 0);
  ASSERT_EQ(pthread_create(&wd.th, NULL, watchdog_main, &wd), 0);

  item_init(&items[0], sel, 0);
  items[0].sleep = 0.05;
  t0 = test_now();
  ASSERT_OK(submit(pool, &items[0]));
  ASSERT_EQ(w_select(sel, ev, 2, SEL_FOREVER), 0);
  elapsed = test_now() - t0;
  ASSERT_EQ(items[0].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  ASSERT(elapsed >= 0.05 - TEST_TIME_EPS);
  ASSERT_LT(elapsed, 4.0);

  /* Completed before the select began: it returns at once. */
  item_init(&items[1], sel, 1);
  ASSERT_OK(submit(pool, &items[1]));
  wait_finished(2);
  test_sleep(0.02);
  t0 = test_now();
  ASSERT_GE(w_dispatch(sel, SEL_FOREVER), 0);
  ASSERT_EQ(items[1].done_calls, 1);
  ASSERT_EQ(items[1].status, 0);
  ASSERT_LT(test_now() - t0, 4.0);

  pthread_mutex_lock(&wd.mu);
  wd.stop = 1;
  pthread_cond_signal(&wd.cv);
  pthread_mutex_unlock(&wd.mu);
  ASSERT_EQ(pthread_join(wd.th, NULL), 0);
  ASSERT_EQ(wd.fired, 0);
  ASSERT_EQ(pthread_cond_destroy(&wd.cv), 0);
  ASSERT_EQ(pthread_mutex_destroy(&wd.mu), 0);
  ASSERT_EQ(done_total, 2);
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* With one thread, work starts in the order it was submitted. */
TEST_IMPL(threadpool_order) {
  enum { N = 64 };
  sel_selector *sel;
  sel_pool *pool;
  struct item items[N];
  struct gate g;
  int i;

  reset();
  gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  for (i = 0; i < N; i++) {
    item_init(&items[i], sel, i);
    if (i == 0) items[i].gate = &g;
    ASSERT_OK(submit(pool, &items[i]));
  }
  /* All queued behind the first before any other can start. */
  wait_started(1);
  gate_open(&g);
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(done_total, N);
  ASSERT_EQ(get_started(), N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(start_order[i], i);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_OK(sel_close(sel));
  gate_destroy(&g);
  return 0;
}

/* Cancelling queued work: 0, it never runs, UV_ECANCELED at the next
 * select (not inside cancel); running or finished work: UV_EBUSY, then
 * status 0. */
TEST_IMPL(threadpool_cancel) {
  sel_selector *sel;
  sel_pool *pool;
  sel_event ev[2];
  struct item a, b, c, d;
  struct gate g;

  reset();
  gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  item_init(&a, sel, 0);
  item_init(&b, sel, 1);
  item_init(&c, sel, 2);
  item_init(&d, sel, 3);
  a.gate = &g;
  ASSERT_OK(submit(pool, &a));
  wait_started(1);
  ASSERT_OK(submit(pool, &b));
  ASSERT_OK(submit(pool, &c));
  ASSERT_OK(submit(pool, &d));

  ASSERT_EQ(sel_pool_cancel(b.work), 0);
  ASSERT_EQ(b.done_calls, 0);
  ASSERT_EQ(sel_pool_cancel(a.work), UV_EBUSY);
  ASSERT_EQ(a.done_calls, 0);
  ASSERT_NE(sel_alive(sel), 0);
  /* The next select reports the cancelled one, though nothing else
   * has happened. */
  ASSERT_EQ(w_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(b.done_calls, 1);
  ASSERT_EQ(b.status, UV_ECANCELED);
  ASSERT_EQ(a.done_calls, 0);
  ASSERT_EQ(c.done_calls, 0);
  ASSERT_EQ(d.done_calls, 0);

  ASSERT_EQ(sel_pool_cancel(d.work), 0);
  gate_open(&g);
  /* a and c run; c finishes but is not reported until a select. */
  wait_finished(2);
  ASSERT_EQ(sel_pool_cancel(c.work), UV_EBUSY);
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(done_total, 4);
  ASSERT_EQ(a.done_calls, 1);
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(c.done_calls, 1);
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(d.done_calls, 1);
  ASSERT_EQ(d.status, UV_ECANCELED);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  /* With the workers gone, the cancelled ones never ran. */
  ASSERT_EQ(b.work_calls, 0);
  ASSERT_EQ(d.work_calls, 0);
  ASSERT_EQ(get_started(), 2);
  ASSERT_EQ(done_total, 4);
  ASSERT_OK(sel_close(sel));
  gate_destroy(&g);
  return 0;
}

/* sel_pool_shutdown(pool, 1) runs all queued work and every done_cb
 * (status 0) before it returns. */
TEST_IMPL(threadpool_shutdown_wait) {
  enum { N = 40 };
  sel_selector *sel;
  sel_pool *pool;
  struct item items[N];
  struct gate g;
  struct opener op;
  double t0;
  int i;

  reset();
  gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 2, &pool));
  for (i = 0; i < N; i++) {
    item_init(&items[i], sel, i);
    if (i < 2) items[i].gate = &g;
    else items[i].sleep = 0.001;
    ASSERT_OK(submit(pool, &items[i]));
  }
  /* Both threads are held, so the rest is still queued at shutdown. */
  wait_started(2);
  t0 = test_now();
  opener_start(&op, &g, 0.05);
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT(test_now() - t0 >= 0.05 - TEST_TIME_EPS);
  opener_join(&op);
  ASSERT_EQ(done_total, N);
  ASSERT_EQ(get_started(), N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  gate_destroy(&g);
  return 0;
}

/* sel_pool_shutdown(pool, 0) waits for the running work (status 0) and
 * drops the queued work (UV_ECANCELED, never run), all reported before it
 * returns. */
TEST_IMPL(threadpool_shutdown_drop) {
  enum { N = 6 };
  sel_selector *sel;
  sel_pool *pool;
  struct item items[N];
  struct gate g;
  struct opener op;
  double t0;
  int i;

  reset();
  gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  for (i = 0; i < N; i++) {
    item_init(&items[i], sel, i);
    if (i == 0) items[i].gate = &g;
    ASSERT_OK(submit(pool, &items[i]));
    if (i == 0) wait_started(1);
  }
  t0 = test_now();
  opener_start(&op, &g, 0.05);
  ASSERT_EQ(w_shutdown(pool, 0), 0);
  ASSERT(test_now() - t0 >= 0.05 - TEST_TIME_EPS);
  opener_join(&op);
  ASSERT_EQ(done_total, N);
  ASSERT_EQ(get_started(), 1);
  ASSERT_EQ(items[0].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  for (i = 1; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, UV_ECANCELED);
    ASSERT_EQ(items[i].work_calls, 0);
  }
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  gate_destroy(&g);
  return 0;
}

/* From a done_cb run by the pool's own shutdown, submitting is refused
 * with UV_ECANCELED and shutting it down again with UV_EBUSY; from a
 * done_cb run by a dispatch, shutdown is UV_EBUSY, cancelling the work
 * being reported is UV_EBUSY, and submitting more works. */
static sel_pool *hook_pool;
static struct item extra;
static int hook_calls;

static void in_shutdown_hook(struct item *it, sel_selector *sel,
                             sel_work *work, int status) {
  (void)it;
  (void)work;
  (void)status;
  hook_calls++;
  item_init(&extra, sel, 99);
  ASSERT_EQ(submit(hook_pool, &extra), UV_ECANCELED);
  ASSERT_EQ(sel_pool_shutdown(hook_pool, 1), UV_EBUSY);
  ASSERT_EQ(sel_pool_shutdown(hook_pool, 0), UV_EBUSY);
}

static void in_dispatch_hook(struct item *it, sel_selector *sel,
                             sel_work *work, int status) {
  (void)it;
  (void)status;
  hook_calls++;
  ASSERT_EQ(sel_pool_shutdown(hook_pool, 0), UV_EBUSY);
  ASSERT_EQ(sel_pool_cancel(work), UV_EBUSY);
  item_init(&extra, sel, 99);
  ASSERT_OK(submit(hook_pool, &extra));
}

TEST_IMPL(threadpool_submit_during_shutdown) {
  sel_selector *sel;
  sel_pool *pool;
  struct item items[3];
  int i;

  reset();
  hook_calls = 0;
  ASSERT_OK(sel_create(&sel));

  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  hook_pool = pool;
  for (i = 0; i < 3; i++) {
    item_init(&items[i], sel, i);
    items[i].on_done = in_shutdown_hook;
    ASSERT_OK(submit(pool, &items[i]));
  }
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_EQ(hook_calls, 3);
  ASSERT_EQ(done_total, 3);
  ASSERT_EQ(extra.done_calls, 0);
  ASSERT_EQ(extra.work_calls, 0);
  ASSERT_EQ(sel_alive(sel), 0);

  hook_calls = 0;
  done_total = 0;
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  hook_pool = pool;
  item_init(&items[0], sel, 0);
  items[0].on_done = in_dispatch_hook;
  ASSERT_OK(submit(pool, &items[0]));
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(hook_calls, 1);
  ASSERT_EQ(done_total, 2);
  ASSERT_EQ(extra.done_calls, 1);
  ASSERT_EQ(extra.status, 0);
  /* The pool still works after the refused shutdown. */
  item_init(&items[1], sel, 1);
  ASSERT_OK(submit(pool, &items[1]));
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(items[1].done_calls, 1);
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_EQ(done_total, 3);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* Argument checks: UV_EINVAL and nothing created, queued or changed. */
static int closing_checked;

static void close_then_create(sel_selector *sel, sel_timer *timer,
                              void *arg) {
  sel_pool *pool = (sel_pool *)arg;
  sel_pool *p = pool;
  (void)timer;
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(sel_pool_create(sel, 1, &p), UV_EINVAL);
  ASSERT_PTR_EQ(p, pool);
  closing_checked = 1;
}

static void never_work(void *arg) {
  (void)arg;
  FATAL("work ran after a failed submit");
}

static void never_done(sel_selector *sel, sel_work *work, int status,
                       void *arg) {
  (void)sel;
  (void)work;
  (void)status;
  (void)arg;
  FATAL("done_cb ran after a failed submit");
}

TEST_IMPL(threadpool_bad_input) {
  static const int bad_counts[] = {0, -1, 1025, INT_MIN, INT_MAX};
  sel_selector *sel;
  sel_selector *sel2;
  sel_pool *pool;
  sel_pool *p;
  sel_pool *sentinel = (sel_pool *)&p;
  sel_work *w;
  sel_work *wsentinel = (sel_work *)&w;
  sel_event ev[2];
  size_t i;

  reset();
  ASSERT_OK(sel_create(&sel));
  p = sentinel;
  ASSERT_EQ(sel_pool_create(NULL, 1, &p), UV_EINVAL);
  ASSERT_PTR_EQ(p, sentinel);
  ASSERT_EQ(sel_pool_create(sel, 1, NULL), UV_EINVAL);
  for (i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
    ASSERT_EQ(sel_pool_create(sel, bad_counts[i], &p), UV_EINVAL);
    ASSERT_PTR_EQ(p, sentinel);
  }
  ASSERT_EQ(sel_alive(sel), 0);

  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  ASSERT_NOT_NULL(pool);
  w = wsentinel;
  ASSERT_EQ(sel_pool_submit(NULL, never_work, never_done, NULL, &w),
            UV_EINVAL);
  ASSERT_EQ(sel_pool_submit(pool, NULL, never_done, NULL, &w), UV_EINVAL);
  ASSERT_EQ(sel_pool_submit(pool, never_work, NULL, NULL, &w), UV_EINVAL);
  ASSERT_EQ(sel_pool_submit(NULL, NULL, NULL, NULL, NULL), UV_EINVAL);
  ASSERT_PTR_EQ(w, wsentinel);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(sel_pool_cancel(NULL), UV_EINVAL);
  ASSERT_EQ(sel_pool_shutdown(NULL, 0), UV_EINVAL);
  ASSERT_EQ(sel_pool_shutdown(NULL, 1), UV_EINVAL);
  /* Nothing was queued: a select has nothing to report. */
  ASSERT_EQ(w_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_EQ(done_total, 0);
  ASSERT_OK(sel_close(sel));

  /* A selector closed from its own callback takes no new pool. */
  closing_checked = 0;
  ASSERT_OK(sel_create(&sel2));
  ASSERT_OK(sel_call_later(sel2, 0, close_then_create, sentinel, NULL));
  ASSERT_GE(w_dispatch(sel2, 5.0), 0);
  ASSERT_EQ(closing_checked, 1);
  return 0;
}

/* sel_close() with a pool holding finished-but-unreported, running and
 * queued work, and an idle pool: every done_cb runs once (queued work
 * dropped), and nothing leaks. */
TEST_IMPL(threadpool_close_selector) {
  enum { N = 5 };
  sel_selector *sel;
  sel_pool *pool;
  sel_pool *idle;
  struct item items[N];
  struct gate g;
  struct opener op;
  int i;

  reset();
  gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  ASSERT_OK(sel_pool_create(sel, 3, &idle));
  for (i = 0; i < N; i++) item_init(&items[i], sel, i);
  /* 0 finishes, unreported. */
  ASSERT_OK(submit(pool, &items[0]));
  wait_finished(1);
  /* 1 runs until the opener lets it go; 2.. are queued behind it. */
  items[1].gate = &g;
  ASSERT_OK(submit(pool, &items[1]));
  wait_started(2);
  for (i = 2; i < N; i++) ASSERT_OK(submit(pool, &items[i]));
  ASSERT_EQ(done_total, 0);
  opener_start(&op, &g, 0.05);
  ASSERT_OK(w_close(sel));
  opener_join(&op);
  ASSERT_EQ(done_total, N);
  ASSERT_EQ(get_started(), 2);
  for (i = 0; i < N; i++) ASSERT_EQ(items[i].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  ASSERT_EQ(items[1].status, 0);
  for (i = 2; i < N; i++) {
    ASSERT_EQ(items[i].status, UV_ECANCELED);
    ASSERT_EQ(items[i].work_calls, 0);
  }
  gate_destroy(&g);
  return 0;
}

/* sel_close() from a done_cb: once the dispatch returns, the running work
 * was waited for, the queued work dropped, and every done_cb ran once. */
static void close_hook(struct item *it, sel_selector *sel, sel_work *work,
                       int status) {
  (void)work;
  (void)status;
  if (it->id == 0) ASSERT_OK(sel_close(sel));
}

TEST_IMPL(threadpool_close_in_done_cb) {
  enum { N = 4 };
  sel_selector *sel;
  sel_pool *pool;
  struct item items[N];
  struct gate g;
  struct opener op;
  int i;

  reset();
  gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  for (i = 0; i < N; i++) {
    item_init(&items[i], sel, i);
    items[i].on_done = close_hook;
  }
  ASSERT_OK(submit(pool, &items[0]));
  wait_finished(1);
  items[1].gate = &g;
  ASSERT_OK(submit(pool, &items[1]));
  wait_started(2);
  for (i = 2; i < N; i++) ASSERT_OK(submit(pool, &items[i]));
  opener_start(&op, &g, 0.05);
  ASSERT_GE(w_dispatch(sel, 5.0), 0);
  opener_join(&op);
  ASSERT_EQ(done_total, N);
  ASSERT_EQ(get_started(), 2);
  for (i = 0; i < N; i++) ASSERT_EQ(items[i].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  ASSERT_EQ(items[1].status, 0);
  for (i = 2; i < N; i++) ASSERT_EQ(items[i].status, UV_ECANCELED);
  gate_destroy(&g);
  return 0;
}

/* Two pools on one selector and a pool on a second selector: each
 * selector reports the work of all its pools and only theirs, and
 * shutting one pool down neither waits for nor disturbs the others. */
TEST_IMPL(threadpool_many_pools) {
  enum { N = 30 };
  sel_selector *sel1;
  sel_selector *sel2;
  sel_pool *p1;
  sel_pool *p2;
  sel_pool *p3;
  struct item a[N], b[N], c[N], d[N], e[N];
  struct gate g;
  int i;

  reset();
  gate_init(&g);
  ASSERT_OK(sel_create(&sel1));
  ASSERT_OK(sel_create(&sel2));
  ASSERT_OK(sel_pool_create(sel1, 2, &p1));
  ASSERT_OK(sel_pool_create(sel1, 1, &p2));
  ASSERT_OK(sel_pool_create(sel2, 2, &p3));
  for (i = 0; i < N; i++) {
    item_init(&a[i], sel1, i);
    item_init(&b[i], sel1, 100 + i);
    item_init(&c[i], sel2, 200 + i);
    item_init(&d[i], sel1, 300 + i);
    item_init(&e[i], sel1, 400 + i);
  }

  /* sel1 reports both of its pools, none of sel2's. */
  for (i = 0; i < N; i++) {
    ASSERT_OK(submit(p1, &a[i]));
    ASSERT_OK(submit(p2, &b[i]));
    ASSERT_OK(submit(p3, &c[i]));
  }
  dispatch_until(sel1, 2 * N);
  ASSERT_EQ(w_run(sel1), 0);
  ASSERT_EQ(done_total, 2 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(a[i].done_calls, 1);
    ASSERT_EQ(a[i].status, 0);
    ASSERT_EQ(b[i].done_calls, 1);
    ASSERT_EQ(b[i].status, 0);
    ASSERT_EQ(c[i].done_calls, 0);
  }
  ASSERT_NE(sel_alive(sel2), 0);
  ASSERT_EQ(w_run(sel2), 0);
  ASSERT_EQ(done_total, 3 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(c[i].done_calls, 1);
    ASSERT_EQ(c[i].status, 0);
  }

  /* p2 is held by its first task; p1 shuts down without waiting for it. */
  e[0].gate = &g;
  ASSERT_OK(submit(p2, &e[0]));
  wait_started(3 * N + 1);
  for (i = 1; i < N; i++) ASSERT_OK(submit(p2, &e[i]));
  for (i = 0; i < N; i++) ASSERT_OK(submit(p1, &d[i]));
  ASSERT_EQ(w_shutdown(p1, 1), 0);
  ASSERT_EQ(done_total, 4 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(d[i].done_calls, 1);
    ASSERT_EQ(d[i].status, 0);
    ASSERT_EQ(e[i].done_calls, 0);
  }
  ASSERT_NE(sel_alive(sel1), 0);
  gate_open(&g);
  ASSERT_EQ(w_run(sel1), 0);
  ASSERT_EQ(done_total, 5 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(e[i].done_calls, 1);
    ASSERT_EQ(e[i].status, 0);
  }

  ASSERT_EQ(w_shutdown(p2, 0), 0);
  ASSERT_EQ(w_shutdown(p3, 0), 0);
  ASSERT_EQ(done_total, 5 * N);
  ASSERT_OK(sel_close(sel1));
  ASSERT_OK(sel_close(sel2));
  gate_destroy(&g);
  return 0;
}

/* A done_cb that waits in a nested sel_dispatch() while other work
 * completes: the nested wait reports it, and each done_cb runs once. */
static int nested_depth;
static int nested_max_depth;
static int nested_n;
static int nested_first_checked;

static void nested_hook(struct item *it, sel_selector *sel, sel_work *work,
                        int status) {
  int before;
  double t0;
  (void)work;
  (void)status;
  if (nested_depth >= 3 || done_total >= nested_n) return;
  nested_depth++;
  if (nested_depth > nested_max_depth) nested_max_depth = nested_depth;
  before = done_total;
  t0 = test_now();
  if (nested_depth == 1 && it->id == 0 && before == 1) {
    /* The first report, while the others still sleep: the nested wait
     * blocks until one of them completes and reports it. */
    ASSERT_GE(w_dispatch(sel, 5.0), 0);
    ASSERT_GT(done_total, before);
    ASSERT_LT(test_now() - t0, 4.0);
    nested_first_checked = 1;
  } else {
    ASSERT_GE(w_dispatch(sel, 0.2), 0);
  }
  nested_depth--;
}

TEST_IMPL(threadpool_dispatch_nested) {
  enum { N = 20 };
  sel_selector *sel;
  sel_pool *pool;
  struct item items[N];
  int i;

  reset();
  nested_depth = 0;
  nested_max_depth = 0;
  nested_n = N;
  nested_first_checked = 0;
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 2, &pool));
  for (i = 0; i < N; i++) {
    item_init(&items[i], sel, i);
    items[i].on_done = nested_hook;
    if (i > 0) items[i].sleep = 0.03;
    ASSERT_OK(submit(pool, &items[i]));
  }
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(done_total, N);
  ASSERT_EQ(nested_first_checked, 1);
  ASSERT_GE(nested_max_depth, 2);
  ASSERT_EQ(nested_depth, 0);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(w_shutdown(pool, 1), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}
