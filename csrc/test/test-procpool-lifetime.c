/* The end of a process pool and calls from its callbacks: free and
 * sel_close() with tasks in flight and queued (every callback runs, every
 * worker is reaped), free, close and sel_close() from a callback, and the
 * argument checks, including a selector that is closing. */
#include "procpool-fixture.h"

#include <string.h>

/* sel_close, counted in pp_in_wait as the fixture's calls that may run
 * callbacks are. */
static int pp_sel_close(sel_selector *sel) {
  int r;
  pp_in_wait++;
  r = sel_close(sel);
  pp_in_wait--;
  return r;
}

/* free with tasks in flight and queued: every callback ran with
 * UV_ECANCELED before it returned, and every worker is reaped. */
TEST_IMPL(procpool_free_pending) {
  enum { N = 5 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N];
  int pids[4];
  int i;
  double t0;

  pp_reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 2, pp_plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "sleep:10000", &rs[i]));
  ASSERT_NE(sel_alive(sel), 0);
  t0 = test_now();
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_LT(test_now() - t0, 5.0);
  ASSERT_EQ(pp_done_total, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].calls, 1);
    ASSERT_EQ(rs[i].status, UV_ECANCELED);
  }
  pp_assert_reaped(pids, 2);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* sel_close with live pools (one busy, one idle) frees them: callbacks
 * run, workers reaped, nothing leaks. */
TEST_IMPL(procpool_sel_close) {
  enum { N = 4 };
  sel_selector *sel;
  sel_procpool *p, *idle;
  struct res rs[N];
  int pids[8];
  int i, n;

  pp_reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 2, pp_plain_args);
  idle = pp_pool_new(sel, 3, pp_plain_args);
  n = sel_procpool_pids(p, pids, 8);
  n += sel_procpool_pids(idle, pids + n, 8 - n);
  ASSERT_EQ(n, 5);
  for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "sleep:10000", &rs[i]));
  ASSERT_OK(pp_sel_close(sel));
  ASSERT_EQ(pp_done_total, N);
  for (i = 0; i < N; i++) ASSERT_EQ(rs[i].status, UV_ECANCELED);
  pp_assert_reaped(pids, n);
  pp_assert_no_children();
  return 0;
}

/* From a callback: free is UV_EBUSY; close works, the queued tasks still
 * run and new ones are refused; sel_close defers until the dispatch
 * returns, then frees the pool. */
static sel_procpool *hook_procpool;
static struct res extra_task;

static void free_close_hook(struct res *r, sel_selector *sel,
                            sel_proctask *task) {
  (void)r;
  (void)sel;
  (void)task;
  ASSERT_EQ(sel_procpool_free(hook_procpool), UV_EBUSY);
  ASSERT_OK(sel_procpool_close(hook_procpool));
  memset(&extra_task, 0, sizeof(extra_task));
  ASSERT_EQ(pp_submit(hook_procpool, "echo:x", &extra_task), UV_ECANCELED);
}

static void sel_close_hook(struct res *r, sel_selector *sel,
                           sel_proctask *task) {
  (void)r;
  (void)task;
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(sel_procpool_free(hook_procpool), UV_EBUSY);
}

TEST_IMPL(procpool_from_callback) {
  enum { N = 4 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N];
  int pids[4];
  int i;

  pp_reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  p = hook_procpool = pp_pool_new(sel, 1, pp_plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 1);
  rs[0].hook = free_close_hook;
  for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "echo:q", &rs[i]));
  pp_join(sel, p);
  ASSERT_EQ(pp_done_total, N);
  for (i = 0; i < N; i++) ASSERT_EQ(rs[i].status, 0);
  ASSERT_EQ(extra_task.calls, 0);
  pp_assert_reaped(pids, 1);
  ASSERT_OK(pp_procpool_free(p));
  pp_res_free(rs, N);

  /* sel_close from a callback, with a task still in flight. */
  pp_reset();
  memset(rs, 0, sizeof(rs));
  p = hook_procpool = pp_pool_new(sel, 2, pp_plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  rs[0].hook = sel_close_hook;
  ASSERT_OK(pp_submit(p, "echo:first", &rs[0]));
  ASSERT_OK(pp_submit(p, "sleep:10000", &rs[1]));
  pp_wait_done(sel, 1);
  /* The selector is gone: every callback ran, the workers are reaped. */
  ASSERT_EQ(pp_done_total, 2);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_EQ(rs[1].status, UV_ECANCELED);
  pp_assert_reaped(pids, 2);
  pp_res_free(rs, N);
  return 0;
}

/* Argument checks: UV_EINVAL (or UV_E2BIG) and nothing created or
 * queued; a closing selector takes no pool. */
static int closing_procpool_checked;

static void close_then_create_procpool(sel_selector *sel, sel_timer *timer,
                                       void *arg) {
  sel_procpool_options o;
  sel_procpool *p = NULL;
  (void)timer;
  (void)arg;
  ASSERT_OK(sel_close(sel));
  pp_opts_init(&o, 1, pp_plain_args);
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  ASSERT_NULL(p);
  /* The closing selector is what is wrong, whatever else is. */
  o.hello = "";
  o.hello_len = (size_t)SEL_FRAME_MAX + 1;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  ASSERT_NULL(p);
  closing_procpool_checked = 1;
}

TEST_IMPL(procpool_bad_input) {
  static const int bad_counts[] = {0, -1, 1025};
  sel_procpool_options o;
  sel_selector *sel, *sel2;
  sel_procpool *p = NULL;
  sel_proctask *t = NULL;
  struct res r;
  char small[4] = "abc";
  size_t i;

  pp_reset();
  memset(&r, 0, sizeof(r));
  ASSERT_OK(sel_create(&sel));
  pp_opts_init(&o, 1, pp_plain_args);
  ASSERT_EQ(sel_procpool_create(NULL, &o, &p), UV_EINVAL);
  ASSERT_EQ(sel_procpool_create(sel, NULL, &p), UV_EINVAL);
  ASSERT_EQ(sel_procpool_create(sel, &o, NULL), UV_EINVAL);
  o.file = NULL;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  o.file = SEL_TEST_PROC_WORKER;
  for (i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
    o.nworkers = bad_counts[i];
    ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  }
  o.nworkers = 1;
  o.max_tasks = -1;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  o.max_tasks = 0;
  o.hello = small;
  o.hello_len = (size_t)SEL_FRAME_MAX + 1;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_E2BIG);
  ASSERT_NULL(p);
  pp_assert_no_children();

  o.hello = NULL;
  o.args = NULL;  /* { file, NULL } */
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_EQ(sel_procpool_submit(NULL, "x", 1, pp_on_done, &r, &t), UV_EINVAL);
  ASSERT_EQ(sel_procpool_submit(p, "x", 1, NULL, &r, &t), UV_EINVAL);
  ASSERT_EQ(sel_procpool_submit(p, NULL, 1, pp_on_done, &r, &t), UV_EINVAL);
  ASSERT_EQ(sel_procpool_submit(p, small, (size_t)SEL_FRAME_MAX + 1,
                                pp_on_done, &r, &t), UV_E2BIG);
  ASSERT_NULL(t);
  ASSERT_EQ(sel_procpool_busy(p), 0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(sel_procpool_close(NULL), UV_EINVAL);
  ASSERT_EQ(sel_procpool_terminate(NULL), UV_EINVAL);
  ASSERT_EQ(sel_procpool_busy(NULL), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(NULL, NULL, 0), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 1), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(p, NULL, -1), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 0), 1);
  ASSERT_EQ(sel_procpool_free(NULL), UV_EINVAL);
  /* An empty request is a request. */
  ASSERT_OK(pp_submit_bytes(p, NULL, 0, &r));
  pp_wait_done(sel, 1);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(strcmp(r.reply, "unknown command"), 0);
  ASSERT_OK(sel_procpool_terminate(p));
  free(r.reply);
  memset(&r, 0, sizeof(r));
  ASSERT_EQ(pp_submit(p, "echo:x", &r), UV_ECANCELED);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));

  closing_procpool_checked = 0;
  ASSERT_OK(sel_create(&sel2));
  ASSERT_OK(sel_call_later(sel2, 0, close_then_create_procpool, NULL, NULL));
  ASSERT_GE(pp_sel_dispatch(sel2, 5.0), 0);
  ASSERT_EQ(closing_procpool_checked, 1);
  free(r.reply);
  return 0;
}
