/* One-shot timers: order, cancellation, early return from select, and
 * delay validation. */
#include "task.h"

#include <math.h>
#include <string.h>

enum { MAXLOG = 64 };

static int order_log[MAXLOG];
static int order_len;
static sel_timer *handles[MAXLOG];

static void log_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  int id = (int)(intptr_t)arg;
  (void)sel;
  ASSERT_LT(order_len, MAXLOG);
  /* The callback gets the handle call_later gave out. */
  ASSERT_PTR_EQ(timer, handles[id]);
  order_log[order_len++] = id;
}

static void reset_log(void) {
  order_len = 0;
  memset(handles, 0, sizeof(handles));
}

static void later(sel_selector *sel, double delay, int id) {
  sel_timer *t = NULL;
  ASSERT_OK(sel_call_later(sel, delay, log_cb, (void *)(intptr_t)id, &t));
  ASSERT_NOT_NULL(t);
  handles[id] = t;
}

TEST_IMPL(timer_order) {
  sel_selector *sel;
  double t0;

  reset_log();
  ASSERT_OK(sel_create(&sel));
  t0 = test_now();
  later(sel, 0.06, 3);
  later(sel, 0.02, 1);
  later(sel, 0.04, 2);
  later(sel, 0.001, 0);
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_OK(sel_run(sel));
  ASSERT(test_now() - t0 >= 0.06 - TEST_TIME_EPS);
  ASSERT_EQ(order_len, 4);
  ASSERT_EQ(order_log[0], 0);
  ASSERT_EQ(order_log[1], 1);
  ASSERT_EQ(order_log[2], 2);
  ASSERT_EQ(order_log[3], 3);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(timer_equal_delays) {
  sel_selector *sel;
  int i;

  reset_log();
  ASSERT_OK(sel_create(&sel));
  /* Interleave two delays so that creation order is not heap order.  Each
   * sel_call_later() reads the clock, so the two delays are far apart:
   * creating the 20 (slow under valgrind on a loaded machine) must take
   * less than their difference, or a late short one is due after an early
   * long one. */
  for (i = 0; i < 20; i++) later(sel, (i % 2) ? 0.2 : 0.4, i);
  /* Let all of them come due before the loop looks, so they run in one
   * batch where only the tie-break decides. */
  test_sleep(0.45);
  ASSERT_OK(sel_run(sel));
  ASSERT_EQ(order_len, 20);
  for (i = 0; i < 10; i++) ASSERT_EQ(order_log[i], 2 * i + 1);
  for (i = 0; i < 10; i++) ASSERT_EQ(order_log[10 + i], 2 * i);
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(timer_cancel) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;

  reset_log();
  ASSERT_OK(sel_create(&sel));
  later(sel, 0.01, 0);
  later(sel, 0.02, 1);
  later(sel, 0, 2);
  ASSERT_OK(sel_timer_cancel(handles[1]));
  ASSERT_OK(sel_timer_cancel(handles[2]));
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_OK(sel_run(sel));
  ASSERT_EQ(order_len, 1);
  ASSERT_EQ(order_log[0], 0);

  /* Cancelling the only timer leaves nothing alive; select then waits its
   * full timeout without running anything. */
  later(sel, 0.01, 3);
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_OK(sel_timer_cancel(handles[3]));
  ASSERT_EQ(sel_alive(sel), 0);
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.05), 0);
  ASSERT(test_now() - t0 >= 0.05 - TEST_TIME_EPS);
  ASSERT_OK(sel_run(sel));
  ASSERT_EQ(order_len, 1);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* The first callback of a batch cancels a timer due in the same batch. */
static sel_timer *victim;
static int canceller_calls;
static int victim_calls;

static void victim_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
  victim_calls++;
}

static void canceller_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
  canceller_calls++;
  ASSERT_OK(sel_timer_cancel(victim));
}

TEST_IMPL(timer_cancel_in_batch) {
  sel_selector *sel;
  sel_event ev[2];

  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_call_later(sel, 0.01, canceller_cb, NULL, NULL));
  ASSERT_OK(sel_call_later(sel, 0.01, victim_cb, NULL, &victim));
  test_sleep(0.03);
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(canceller_calls, 1);
  ASSERT_EQ(victim_calls, 0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_run(sel));
  ASSERT_EQ(victim_calls, 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

static double fired_at;

static void stamp_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
  fired_at = test_now();
}

TEST_IMPL(timer_during_select) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;
  double elapsed;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));

  /* A long select returns once the timer has run, with no pairs. */
  t0 = test_now();
  fired_at = 0;
  ASSERT_OK(sel_call_later(sel, 0.1, stamp_cb, NULL, NULL));
  ASSERT_EQ(sel_select(sel, ev, 2, 10.0), 0);
  elapsed = test_now() - t0;
  ASSERT(fired_at > 0);
  ASSERT(fired_at - t0 >= 0.1 - TEST_TIME_EPS);
  ASSERT(elapsed >= 0.1 - TEST_TIME_EPS);
  ASSERT(elapsed < 2.0);

  /* Blocking forever too. */
  t0 = test_now();
  fired_at = 0;
  ASSERT_OK(sel_call_later(sel, 0.05, stamp_cb, NULL, NULL));
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  ASSERT(fired_at - t0 >= 0.05 - TEST_TIME_EPS);
  ASSERT(test_now() - t0 < 2.0);

  /* And a dispatch. */
  t0 = test_now();
  fired_at = 0;
  ASSERT_OK(sel_call_later(sel, 0.05, stamp_cb, NULL, NULL));
  ASSERT_GE(sel_dispatch(sel, 10.0), 0);
  ASSERT(fired_at - t0 >= 0.05 - TEST_TIME_EPS);
  ASSERT(test_now() - t0 < 2.0);

  /* A timer further away than the timeout does not run early. */
  fired_at = 0;
  ASSERT_OK(sel_call_later(sel, 0.3, stamp_cb, NULL, NULL));
  ASSERT_EQ(sel_select(sel, ev, 2, 0.02), 0);
  ASSERT(fired_at == 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 5.0), 0);
  ASSERT(fired_at > 0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(timer_after_busy) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;

  ASSERT_OK(sel_create(&sel));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  /* The loop's cached clock is now 150 ms behind: a delay counted from it
   * would end about 150 ms early. */
  test_sleep(0.15);
  t0 = test_now();
  fired_at = 0;
  ASSERT_OK(sel_call_later(sel, 0.2, stamp_cb, NULL, NULL));
  ASSERT_EQ(sel_select(sel, ev, 2, 10.0), 0);
  ASSERT(fired_at > 0);
  ASSERT(fired_at - t0 >= 0.2 - TEST_TIME_EPS);
  ASSERT_LT(test_now() - t0, 2.0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(timer_bad_delay) {
  static const double bad[] = {-1.0, -1e-6, NAN, INFINITY, -INFINITY};
  sel_selector *sel;
  sel_timer *t;
  size_t i;

  reset_log();
  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    t = NULL;
    ASSERT_EQ(sel_call_later(sel, bad[i], log_cb, NULL, &t), UV_EINVAL);
    ASSERT_NULL(t);
    ASSERT_EQ(sel_alive(sel), 0);
  }
  /* Large but finite is fine, and cancellable. */
  later(sel, 1e6, 0);
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_OK(sel_timer_cancel(handles[0]));
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_run(sel));
  ASSERT_EQ(order_len, 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(timer_zero_delay) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;

  reset_log();
  ASSERT_OK(sel_create(&sel));
  /* Due at once: a polling select runs it... */
  later(sel, 0, 0);
  ASSERT_EQ(order_len, 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(order_len, 1);
  /* ...and a blocking one does not block. */
  later(sel, 0, 1);
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  ASSERT_EQ(order_len, 2);
  ASSERT_LT(test_now() - t0, 1.0);
  /* Sub-millisecond delays behave the same. */
  later(sel, 1e-9, 2);
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 10.0), 0);
  ASSERT_EQ(order_len, 3);
  ASSERT_LT(test_now() - t0, 1.0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* A timer that re-arms itself with delay 0 from its own callback must not
 * keep one select busy forever: a new timer belongs to a later select. */
static int rearm_calls;

static void rearm_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)timer;
  (void)arg;
  if (++rearm_calls < 1000)
    ASSERT_OK(sel_call_later(sel, 0, rearm_cb, NULL, NULL));
}

TEST_IMPL(timer_zero_delay_rearm) {
  sel_selector *sel;
  sel_event ev[2];
  int i;

  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_call_later(sel, 0, rearm_cb, NULL, NULL));
  for (i = 1; i <= 5; i++) {
    ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
    ASSERT_EQ(rearm_calls, i);
    ASSERT_NE(sel_alive(sel), 0);
  }
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* Timers started from timer callbacks run in a chain; timers still pending
 * at sel_close() are freed without running. */
static void chain_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  int left = (int)(intptr_t)arg;
  (void)timer;
  order_log[order_len++] = left;
  if (left > 0)
    ASSERT_OK(sel_call_later(sel, 0.001, chain_cb, (void *)(intptr_t)(left - 1),
                             NULL));
}

TEST_IMPL(timer_chain_and_close_pending) {
  sel_selector *sel;
  int i;

  reset_log();
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_call_later(sel, 0, chain_cb, (void *)(intptr_t)5, NULL));
  ASSERT_OK(sel_run(sel));
  ASSERT_EQ(order_len, 6);
  for (i = 0; i < 6; i++) ASSERT_EQ(order_log[i], 5 - i);

  /* Pending timers at close are freed, never run. */
  order_len = 0;
  for (i = 0; i < 10; i++)
    ASSERT_OK(sel_call_later(sel, 0.001 * i, chain_cb, (void *)(intptr_t)0,
                             NULL));
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(order_len, 0);
  return 0;
}
