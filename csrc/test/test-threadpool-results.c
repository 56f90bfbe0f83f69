/* The selector's thread pool: results and the thread each callback runs
 * on, done_cb only from select, dispatch and run (never from submit),
 * wake-up of a waiting select, start order, and several pools on one or
 * two selectors.  The helpers all the thread pool tests share are in
 * threadpool-fixture.c. */
#include "threadpool-fixture.h"
#include "watchdog.h"

/* Dispatches until tp_done_total reaches n, for at most 10 s. */
static void dispatch_until(sel_selector *sel, int n) {
  double t0 = test_now();
  while (tp_done_total < n) {
    ASSERT_GE(tp_sel_dispatch(sel, 1.0), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
}

/* Many tasks through 4 threads: right results, work off the main thread on
 * at most 4 threads, each done_cb once on the main thread with status 0,
 * sel_alive() while pending and sel_run() returning once all are done. */
static int results_n;

static void results_hook(struct item *it, sel_selector *sel, sel_work *work,
                         int status) {
  (void)it;
  (void)work;
  (void)status;
  if (tp_done_total < results_n) ASSERT_NE(sel_alive(sel), 0);
}

TEST_IMPL(threadpool_results) {
  sel_selector *sel;
  sel_pool *pool;
  struct item *items;
  pthread_t threads[5];
  int nthreads = 0;
  int i, j;

  tp_reset();
  results_n = test_under_valgrind() ? 1000 : 10000;
  items = calloc((size_t)results_n, sizeof(*items));
  ASSERT_NOT_NULL(items);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 4, &pool));
  /* An idle pool is nothing to wait for. */
  ASSERT_EQ(sel_alive(sel), 0);
  for (i = 0; i < results_n; i++) {
    tp_item_init(&items[i], sel, i);
    items[i].on_done = results_hook;
    ASSERT_OK(tp_submit(pool, &items[i]));
    ASSERT_NE(sel_alive(sel), 0);
  }
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(tp_done_total, results_n);
  ASSERT_EQ(sel_alive(sel), 0);
  for (i = 0; i < results_n; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
    ASSERT_EQ(items[i].work_calls, 1);
    ASSERT_EQ(items[i].out, tp_compute(items[i].in));
    ASSERT(!pthread_equal(items[i].ran_on, tp_main_thread));
    for (j = 0; j < nthreads; j++)
      if (pthread_equal(threads[j], items[i].ran_on)) break;
    if (j == nthreads) {
      ASSERT_LT(nthreads, 4);
      threads[nthreads++] = items[i].ran_on;
    }
  }
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT_EQ(tp_done_total, results_n);
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

  tp_reset();
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 2, &pool));
  for (i = 0; i < N; i++) tp_item_init(&items[i], sel, i);

  for (i = 0; i < 4; i++) ASSERT_OK(tp_submit(pool, &items[i]));
  tp_wait_finished(4);
  test_sleep(0.02);
  /* Finished but not delivered: still pending. */
  ASSERT_EQ(tp_done_total, 0);
  ASSERT_NE(sel_alive(sel), 0);
  /* Submitting more does not deliver the finished ones. */
  for (i = 4; i < 8; i++) ASSERT_OK(tp_submit(pool, &items[i]));
  ASSERT_EQ(tp_done_total, 0);

  /* A select delivers them. */
  ASSERT_EQ(tp_sel_select(sel, ev, 2, 5.0), 0);
  ASSERT_GE(tp_done_total, 1);
  tp_wait_finished(8);
  dispatch_until(sel, 8);
  ASSERT_EQ(tp_done_total, 8);

  /* So does sel_run. */
  for (i = 8; i < N; i++) ASSERT_OK(tp_submit(pool, &items[i]));
  ASSERT_EQ(tp_done_total, 8);
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(tp_done_total, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* A select blocking forever with nothing registered returns once work
 * completes, having run its done_cb; so does one started after it did. */
TEST_IMPL(threadpool_select_wakes) {
  sel_selector *sel;
  sel_pool *pool;
  sel_event ev[2];
  struct item items[2];
  struct watchdog wd;
  double t0;
  double elapsed;

  tp_reset();
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  /* Should the pool never wake the select, this one does, after 5 s. */
  wd.sel = sel;
  wd.stop = 0;
  wd.fired = 0;
  ASSERT_EQ(pthread_mutex_init(&wd.mu, NULL), 0);
  ASSERT_EQ(pthread_cond_init(&wd.cv, NULL), 0);
  ASSERT_EQ(pthread_create(&wd.th, NULL, watchdog_main, &wd), 0);

  tp_item_init(&items[0], sel, 0);
  items[0].sleep = 0.05;
  t0 = test_now();
  ASSERT_OK(tp_submit(pool, &items[0]));
  ASSERT_EQ(tp_sel_select(sel, ev, 2, SEL_FOREVER), 0);
  elapsed = test_now() - t0;
  ASSERT_EQ(items[0].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  ASSERT(elapsed >= 0.05 - TEST_TIME_EPS);
  ASSERT_LT(elapsed, 4.0);

  /* Completed before the select began: it returns at once. */
  tp_item_init(&items[1], sel, 1);
  ASSERT_OK(tp_submit(pool, &items[1]));
  tp_wait_finished(2);
  test_sleep(0.02);
  t0 = test_now();
  ASSERT_GE(tp_sel_dispatch(sel, SEL_FOREVER), 0);
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
  ASSERT_EQ(tp_done_total, 2);
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
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

  tp_reset();
  tp_gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  for (i = 0; i < N; i++) {
    tp_item_init(&items[i], sel, i);
    if (i == 0) items[i].gate = &g;
    ASSERT_OK(tp_submit(pool, &items[i]));
  }
  /* All queued behind the first before any other can start. */
  tp_wait_started(1);
  tp_gate_open(&g);
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(tp_done_total, N);
  ASSERT_EQ(tp_get_started(), N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(tp_start_order[i], i);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT_OK(sel_close(sel));
  tp_gate_destroy(&g);
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

  tp_reset();
  tp_gate_init(&g);
  ASSERT_OK(sel_create(&sel1));
  ASSERT_OK(sel_create(&sel2));
  ASSERT_OK(sel_pool_create(sel1, 2, &p1));
  ASSERT_OK(sel_pool_create(sel1, 1, &p2));
  ASSERT_OK(sel_pool_create(sel2, 2, &p3));
  for (i = 0; i < N; i++) {
    tp_item_init(&a[i], sel1, i);
    tp_item_init(&b[i], sel1, 100 + i);
    tp_item_init(&c[i], sel2, 200 + i);
    tp_item_init(&d[i], sel1, 300 + i);
    tp_item_init(&e[i], sel1, 400 + i);
  }

  /* sel1 reports both of its pools, none of sel2's. */
  for (i = 0; i < N; i++) {
    ASSERT_OK(tp_submit(p1, &a[i]));
    ASSERT_OK(tp_submit(p2, &b[i]));
    ASSERT_OK(tp_submit(p3, &c[i]));
  }
  dispatch_until(sel1, 2 * N);
  ASSERT_EQ(tp_sel_run(sel1), 0);
  ASSERT_EQ(tp_done_total, 2 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(a[i].done_calls, 1);
    ASSERT_EQ(a[i].status, 0);
    ASSERT_EQ(b[i].done_calls, 1);
    ASSERT_EQ(b[i].status, 0);
    ASSERT_EQ(c[i].done_calls, 0);
  }
  ASSERT_NE(sel_alive(sel2), 0);
  ASSERT_EQ(tp_sel_run(sel2), 0);
  ASSERT_EQ(tp_done_total, 3 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(c[i].done_calls, 1);
    ASSERT_EQ(c[i].status, 0);
  }

  /* p2 is held by its first task; p1 shuts down without waiting for it. */
  e[0].gate = &g;
  ASSERT_OK(tp_submit(p2, &e[0]));
  tp_wait_started(3 * N + 1);
  for (i = 1; i < N; i++) ASSERT_OK(tp_submit(p2, &e[i]));
  for (i = 0; i < N; i++) ASSERT_OK(tp_submit(p1, &d[i]));
  ASSERT_EQ(tp_pool_shutdown(p1, 1), 0);
  ASSERT_EQ(tp_done_total, 4 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(d[i].done_calls, 1);
    ASSERT_EQ(d[i].status, 0);
    ASSERT_EQ(e[i].done_calls, 0);
  }
  ASSERT_NE(sel_alive(sel1), 0);
  tp_gate_open(&g);
  ASSERT_EQ(tp_sel_run(sel1), 0);
  ASSERT_EQ(tp_done_total, 5 * N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(e[i].done_calls, 1);
    ASSERT_EQ(e[i].status, 0);
  }

  ASSERT_EQ(tp_pool_shutdown(p2, 0), 0);
  ASSERT_EQ(tp_pool_shutdown(p3, 0), 0);
  ASSERT_EQ(tp_done_total, 5 * N);
  ASSERT_OK(sel_close(sel1));
  ASSERT_OK(sel_close(sel2));
  tp_gate_destroy(&g);
  return 0;
}
