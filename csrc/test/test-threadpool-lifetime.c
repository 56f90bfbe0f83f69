/* The thread pool's argument checks and its end with the selector: bad
 * arguments, a closing selector that takes no pool, sel_close() with work
 * finished, running and queued and from a done_cb, and done_cbs that wait
 * in a nested dispatch. */
#include "threadpool-fixture.h"

#include <limits.h>

/* sel_close, counted in tp_in_wait as the fixture's calls done_cb may
 * run from are. */
static int tp_sel_close(sel_selector *sel) {
  int r;
  tp_in_wait++;
  r = sel_close(sel);
  tp_in_wait--;
  return r;
}

/* Argument checks: UV_EINVAL and nothing created, queued or changed. */
static int closing_pool_checked;

static void close_then_create_pool(sel_selector *sel, sel_timer *timer,
                                   void *arg) {
  sel_pool *pool = (sel_pool *)arg;
  sel_pool *p = pool;
  (void)timer;
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(sel_pool_create(sel, 1, &p), UV_EINVAL);
  ASSERT_PTR_EQ(p, pool);
  closing_pool_checked = 1;
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

  tp_reset();
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
  ASSERT_EQ(tp_sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT_EQ(tp_done_total, 0);
  ASSERT_OK(sel_close(sel));

  /* A selector closed from its own callback takes no new pool. */
  closing_pool_checked = 0;
  ASSERT_OK(sel_create(&sel2));
  ASSERT_OK(sel_call_later(sel2, 0, close_then_create_pool, sentinel, NULL));
  ASSERT_GE(tp_sel_dispatch(sel2, 5.0), 0);
  ASSERT_EQ(closing_pool_checked, 1);
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

  tp_reset();
  tp_gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  ASSERT_OK(sel_pool_create(sel, 3, &idle));
  for (i = 0; i < N; i++) tp_item_init(&items[i], sel, i);
  /* 0 finishes, unreported. */
  ASSERT_OK(tp_submit(pool, &items[0]));
  tp_wait_finished(1);
  /* 1 runs until the opener lets it go; 2.. are queued behind it. */
  items[1].gate = &g;
  ASSERT_OK(tp_submit(pool, &items[1]));
  tp_wait_started(2);
  for (i = 2; i < N; i++) ASSERT_OK(tp_submit(pool, &items[i]));
  ASSERT_EQ(tp_done_total, 0);
  tp_opener_start(&op, &g, 0.05);
  ASSERT_OK(tp_sel_close(sel));
  tp_opener_join(&op);
  ASSERT_EQ(tp_done_total, N);
  ASSERT_EQ(tp_get_started(), 2);
  for (i = 0; i < N; i++) ASSERT_EQ(items[i].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  ASSERT_EQ(items[1].status, 0);
  for (i = 2; i < N; i++) {
    ASSERT_EQ(items[i].status, UV_ECANCELED);
    ASSERT_EQ(items[i].work_calls, 0);
  }
  tp_gate_destroy(&g);
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

  tp_reset();
  tp_gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  for (i = 0; i < N; i++) {
    tp_item_init(&items[i], sel, i);
    items[i].on_done = close_hook;
  }
  ASSERT_OK(tp_submit(pool, &items[0]));
  tp_wait_finished(1);
  items[1].gate = &g;
  ASSERT_OK(tp_submit(pool, &items[1]));
  tp_wait_started(2);
  for (i = 2; i < N; i++) ASSERT_OK(tp_submit(pool, &items[i]));
  tp_opener_start(&op, &g, 0.05);
  ASSERT_GE(tp_sel_dispatch(sel, 5.0), 0);
  tp_opener_join(&op);
  ASSERT_EQ(tp_done_total, N);
  ASSERT_EQ(tp_get_started(), 2);
  for (i = 0; i < N; i++) ASSERT_EQ(items[i].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  ASSERT_EQ(items[1].status, 0);
  for (i = 2; i < N; i++) ASSERT_EQ(items[i].status, UV_ECANCELED);
  tp_gate_destroy(&g);
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
  if (nested_depth >= 3 || tp_done_total >= nested_n) return;
  nested_depth++;
  if (nested_depth > nested_max_depth) nested_max_depth = nested_depth;
  before = tp_done_total;
  t0 = test_now();
  if (nested_depth == 1 && it->id == 0 && before == 1) {
    /* The first report, while the others still sleep: the nested wait
     * blocks until one of them completes and reports it. */
    ASSERT_GE(tp_sel_dispatch(sel, 5.0), 0);
    ASSERT_GT(tp_done_total, before);
    ASSERT_LT(test_now() - t0, 4.0);
    nested_first_checked = 1;
  } else {
    ASSERT_GE(tp_sel_dispatch(sel, 0.2), 0);
  }
  nested_depth--;
}

TEST_IMPL(threadpool_dispatch_nested) {
  enum { N = 20 };
  sel_selector *sel;
  sel_pool *pool;
  struct item items[N];
  int i;

  tp_reset();
  nested_depth = 0;
  nested_max_depth = 0;
  nested_n = N;
  nested_first_checked = 0;
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 2, &pool));
  for (i = 0; i < N; i++) {
    tp_item_init(&items[i], sel, i);
    items[i].on_done = nested_hook;
    if (i > 0) items[i].sleep = 0.03;
    ASSERT_OK(tp_submit(pool, &items[i]));
  }
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(tp_done_total, N);
  ASSERT_EQ(nested_first_checked, 1);
  ASSERT_GE(nested_max_depth, 2);
  ASSERT_EQ(nested_depth, 0);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}
