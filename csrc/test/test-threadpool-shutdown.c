/* Cancelling thread pool work and shutting a pool down: cancel of queued,
 * running and finished work, sel_pool_shutdown() with and without waiting
 * for the queued work, and what a done_cb may call while the pool shuts
 * down or a dispatch reports it. */
#include "threadpool-fixture.h"

/* Cancelling queued work: 0, it never runs, UV_ECANCELED at the next
 * select (not inside cancel); running or finished work: UV_EBUSY, then
 * status 0. */
TEST_IMPL(threadpool_cancel) {
  sel_selector *sel;
  sel_pool *pool;
  sel_event ev[2];
  struct item a, b, c, d;
  struct gate g;

  tp_reset();
  tp_gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  tp_item_init(&a, sel, 0);
  tp_item_init(&b, sel, 1);
  tp_item_init(&c, sel, 2);
  tp_item_init(&d, sel, 3);
  a.gate = &g;
  ASSERT_OK(tp_submit(pool, &a));
  tp_wait_started(1);
  ASSERT_OK(tp_submit(pool, &b));
  ASSERT_OK(tp_submit(pool, &c));
  ASSERT_OK(tp_submit(pool, &d));

  ASSERT_EQ(sel_pool_cancel(b.work), 0);
  ASSERT_EQ(b.done_calls, 0);
  ASSERT_EQ(sel_pool_cancel(a.work), UV_EBUSY);
  ASSERT_EQ(a.done_calls, 0);
  ASSERT_NE(sel_alive(sel), 0);
  /* The next select reports the cancelled one, though nothing else
   * has happened. */
  ASSERT_EQ(tp_sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(b.done_calls, 1);
  ASSERT_EQ(b.status, UV_ECANCELED);
  ASSERT_EQ(a.done_calls, 0);
  ASSERT_EQ(c.done_calls, 0);
  ASSERT_EQ(d.done_calls, 0);

  ASSERT_EQ(sel_pool_cancel(d.work), 0);
  tp_gate_open(&g);
  /* a and c run; c finishes but is not reported until a select. */
  tp_wait_finished(2);
  ASSERT_EQ(sel_pool_cancel(c.work), UV_EBUSY);
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(tp_done_total, 4);
  ASSERT_EQ(a.done_calls, 1);
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(c.done_calls, 1);
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(d.done_calls, 1);
  ASSERT_EQ(d.status, UV_ECANCELED);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  /* With the workers gone, the cancelled ones never ran. */
  ASSERT_EQ(b.work_calls, 0);
  ASSERT_EQ(d.work_calls, 0);
  ASSERT_EQ(tp_get_started(), 2);
  ASSERT_EQ(tp_done_total, 4);
  ASSERT_OK(sel_close(sel));
  tp_gate_destroy(&g);
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

  tp_reset();
  tp_gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 2, &pool));
  for (i = 0; i < N; i++) {
    tp_item_init(&items[i], sel, i);
    if (i < 2) items[i].gate = &g;
    else items[i].sleep = 0.001;
    ASSERT_OK(tp_submit(pool, &items[i]));
  }
  /* Both threads are held, so the rest is still queued at shutdown. */
  tp_wait_started(2);
  t0 = test_now();
  tp_opener_start(&op, &g, 0.05);
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT(test_now() - t0 >= 0.05 - TEST_TIME_EPS);
  tp_opener_join(&op);
  ASSERT_EQ(tp_done_total, N);
  ASSERT_EQ(tp_get_started(), N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, 0);
  }
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  tp_gate_destroy(&g);
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

  tp_reset();
  tp_gate_init(&g);
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  for (i = 0; i < N; i++) {
    tp_item_init(&items[i], sel, i);
    if (i == 0) items[i].gate = &g;
    ASSERT_OK(tp_submit(pool, &items[i]));
    if (i == 0) tp_wait_started(1);
  }
  t0 = test_now();
  tp_opener_start(&op, &g, 0.05);
  ASSERT_EQ(tp_pool_shutdown(pool, 0), 0);
  ASSERT(test_now() - t0 >= 0.05 - TEST_TIME_EPS);
  tp_opener_join(&op);
  ASSERT_EQ(tp_done_total, N);
  ASSERT_EQ(tp_get_started(), 1);
  ASSERT_EQ(items[0].done_calls, 1);
  ASSERT_EQ(items[0].status, 0);
  for (i = 1; i < N; i++) {
    ASSERT_EQ(items[i].done_calls, 1);
    ASSERT_EQ(items[i].status, UV_ECANCELED);
    ASSERT_EQ(items[i].work_calls, 0);
  }
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  tp_gate_destroy(&g);
  return 0;
}

/* From a done_cb run by the pool's own shutdown, submitting is refused
 * with UV_ECANCELED and shutting it down again with UV_EBUSY; from a
 * done_cb run by a dispatch, shutdown is UV_EBUSY, cancelling the work
 * being reported is UV_EBUSY, and submitting more works. */
static sel_pool *hook_threadpool;
static struct item extra_item;
static int hook_calls;

static void in_shutdown_hook(struct item *it, sel_selector *sel,
                             sel_work *work, int status) {
  (void)it;
  (void)work;
  (void)status;
  hook_calls++;
  tp_item_init(&extra_item, sel, 99);
  ASSERT_EQ(tp_submit(hook_threadpool, &extra_item), UV_ECANCELED);
  ASSERT_EQ(sel_pool_shutdown(hook_threadpool, 1), UV_EBUSY);
  ASSERT_EQ(sel_pool_shutdown(hook_threadpool, 0), UV_EBUSY);
}

static void in_dispatch_hook(struct item *it, sel_selector *sel,
                             sel_work *work, int status) {
  (void)it;
  (void)status;
  hook_calls++;
  ASSERT_EQ(sel_pool_shutdown(hook_threadpool, 0), UV_EBUSY);
  ASSERT_EQ(sel_pool_cancel(work), UV_EBUSY);
  tp_item_init(&extra_item, sel, 99);
  ASSERT_OK(tp_submit(hook_threadpool, &extra_item));
}

TEST_IMPL(threadpool_submit_during_shutdown) {
  sel_selector *sel;
  sel_pool *pool;
  struct item items[3];
  int i;

  tp_reset();
  hook_calls = 0;
  ASSERT_OK(sel_create(&sel));

  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  hook_threadpool = pool;
  for (i = 0; i < 3; i++) {
    tp_item_init(&items[i], sel, i);
    items[i].on_done = in_shutdown_hook;
    ASSERT_OK(tp_submit(pool, &items[i]));
  }
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT_EQ(hook_calls, 3);
  ASSERT_EQ(tp_done_total, 3);
  ASSERT_EQ(extra_item.done_calls, 0);
  ASSERT_EQ(extra_item.work_calls, 0);
  ASSERT_EQ(sel_alive(sel), 0);

  hook_calls = 0;
  tp_done_total = 0;
  ASSERT_OK(sel_pool_create(sel, 1, &pool));
  hook_threadpool = pool;
  tp_item_init(&items[0], sel, 0);
  items[0].on_done = in_dispatch_hook;
  ASSERT_OK(tp_submit(pool, &items[0]));
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(hook_calls, 1);
  ASSERT_EQ(tp_done_total, 2);
  ASSERT_EQ(extra_item.done_calls, 1);
  ASSERT_EQ(extra_item.status, 0);
  /* The pool still works after the refused shutdown. */
  tp_item_init(&items[1], sel, 1);
  ASSERT_OK(tp_submit(pool, &items[1]));
  ASSERT_EQ(tp_sel_run(sel), 0);
  ASSERT_EQ(items[1].done_calls, 1);
  ASSERT_EQ(tp_pool_shutdown(pool, 1), 0);
  ASSERT_EQ(tp_done_total, 3);
  ASSERT_OK(sel_close(sel));
  return 0;
}
