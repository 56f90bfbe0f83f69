/* A process pool and the loop it runs on: a borrowed libuv loop, driven by
 * sel_dispatch() or the caller's own uv_run(); a select blocking forever
 * that a finished task or an exiting worker wakes; and no descriptor
 * leaks while workers are replaced. */
#include "procpool-fixture.h"
#include "watchdog.h"

#include <string.h>

/* On a borrowed loop: through sel_dispatch(), and through the caller's
 * own uv_run(), which the pending task keeps going until it is reported. */
TEST_IMPL(procpool_borrowed_loop) {
  uv_loop_t loop;
  uv_timer_t foreign;
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[3];
  int pids[2];

  pp_reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_timer_init(&loop, &foreign), 0);
  ASSERT_OK(sel_create_on(&sel, &loop));
  p = pp_pool_new(sel, 1, pp_plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 2), 1);
  ASSERT_OK(pp_submit(p, "echo:one", &rs[0]));
  pp_wait_done(sel, 1);
  ASSERT_EQ(strcmp(rs[0].reply, "one"), 0);
  /* An idle pool does not keep the caller's loop going. */
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_OK(pp_submit(p, "sleep:30", &rs[1]));
  pp_in_wait++;
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  pp_in_wait--;
  ASSERT_EQ(rs[1].calls, 1);
  ASSERT_EQ(rs[1].status, 0);
  ASSERT_OK(pp_submit(p, "sleep:10000", &rs[2]));
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_EQ(rs[2].status, UV_ECANCELED);
  pp_assert_reaped(pids, 1);
  ASSERT_OK(sel_close(sel));
  uv_close((uv_handle_t *)&foreign, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  pp_res_free(rs, 3);
  return 0;
}

/* A select blocking forever returns when a task completes, and when a
 * worker exits (the join after close), with nothing else to wake it. */
TEST_IMPL(procpool_select_wakes) {
  sel_selector *sel;
  sel_procpool *p;
  sel_event ev[2];
  struct res r;
  struct watchdog wd;
  double t0;

  pp_reset();
  memset(&r, 0, sizeof(r));
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 1, pp_plain_args);
  wd.sel = sel;
  wd.stop = 0;
  wd.fired = 0;
  ASSERT_EQ(pthread_mutex_init(&wd.mu, NULL), 0);
  ASSERT_EQ(pthread_cond_init(&wd.cv, NULL), 0);
  ASSERT_EQ(pthread_create(&wd.th, NULL, watchdog_main, &wd), 0);

  t0 = test_now();
  ASSERT_OK(pp_submit(p, "sleep:50", &r));
  pp_in_wait++;
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  pp_in_wait--;
  ASSERT_EQ(r.calls, 1);
  ASSERT_GE(test_now() - t0, 0.05 - TEST_TIME_EPS);
  ASSERT_LT(test_now() - t0, 4.0);
  /* The worker is idle; close makes it exit, and that wakes the join. */
  ASSERT_OK(sel_procpool_close(p));
  ASSERT_EQ(sel_procpool_busy(p), 1);
  pp_join(sel, p);

  pthread_mutex_lock(&wd.mu);
  wd.stop = 1;
  pthread_cond_signal(&wd.cv);
  pthread_mutex_unlock(&wd.mu);
  ASSERT_EQ(pthread_join(wd.th, NULL), 0);
  ASSERT_EQ(wd.fired, 0);
  ASSERT_EQ(pthread_cond_destroy(&wd.cv), 0);
  ASSERT_EQ(pthread_mutex_destroy(&wd.mu), 0);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_res_free(&r, 1);
  return 0;
}

/* Many workers replaced (max_tasks 1): no descriptor leaks, while the
 * pool runs or after it. */
TEST_IMPL(procpool_no_fd_leak) {
  sel_procpool_options o;
  sel_selector *sel;
  sel_procpool *p;
  struct res *rs;
  int n, i, fds, mid;

  pp_reset();
  n = pp_slow_spawns() ? 20 : 50;
  rs = calloc((size_t)n, sizeof(*rs));
  ASSERT_NOT_NULL(rs);
  fds = pp_base_fds();
  ASSERT_OK(sel_create(&sel));
  pp_opts_init(&o, 2, pp_plain_args);
  o.max_tasks = 1;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_OK(pp_submit(p, "echo:0", &rs[0]));
  pp_wait_done(sel, 1);
  mid = pp_count_fds();
  for (i = 1; i < n; i++) ASSERT_OK(pp_submit(p, "echo:i", &rs[i]));
  pp_wait_done(sel, n);
  for (i = 0; i < n; i++) ASSERT_EQ(rs[i].status, 0);
  ASSERT_EQ(pp_count_fds(), mid);
  /* And it still serves. */
  free(rs[0].reply);
  memset(&rs[0], 0, sizeof(rs[0]));
  ASSERT_OK(pp_submit(p, "echo:still", &rs[0]));
  pp_wait_done(sel, n + 1);
  ASSERT_EQ(strcmp(rs[0].reply, "still"), 0);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(pp_count_fds(), fds);
  pp_assert_no_children();
  pp_res_free(rs, n);
  free(rs);
  return 0;
}
