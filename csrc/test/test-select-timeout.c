/* sel_select() timeouts: 0 polls, positive waits about that long, negative
 * blocks until something happens. */
#include "task.h"

#include <pthread.h>
#include <unistd.h>

/* Waits are checked strictly from below and loosely from above: a slow or
 * loaded machine may oversleep, never undersleep. */
static void assert_waited(double elapsed, double timeout) {
  ASSERT(elapsed >= timeout - TEST_TIME_EPS);
  ASSERT(elapsed < timeout * 5 + 0.5);
}

TEST_IMPL(select_timeout_zero) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;
  int fds[2];
  int i;

  ASSERT_OK(sel_create(&sel));
  /* No registration at all, then an idle one: 0 must not block. */
  t0 = test_now();
  for (i = 0; i < 100; i++) ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  for (i = 0; i < 100; i++) ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  /* -0.0 is not below zero: it polls too. */
  ASSERT_EQ(sel_select(sel, ev, 2, -0.0), 0);
  ASSERT_EQ(sel_dispatch(sel, 0), 0);
  ASSERT_LT(test_now() - t0, 1.0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(select_timeout_positive) {
  static const double waits[] = {0.05, 0.2, 0.0005, 0.0123};
  sel_selector *sel;
  sel_event ev[2];
  double t0;
  int fds[2];
  size_t i;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
    t0 = test_now();
    ASSERT_EQ(sel_select(sel, ev, 2, waits[i]), 0);
    assert_waited(test_now() - t0, waits[i]);
  }
  /* Many very short waits: a deadline that expires before the loop gets
   * to poll must still end the wait (rather than leave the poll blocking
   * with nothing else to wake it). */
  t0 = test_now();
  for (i = 0; i < 200; i++) ASSERT_EQ(sel_select(sel, ev, 2, 0.001), 0);
  ASSERT_LT(test_now() - t0, 10.0);

  /* sel_dispatch waits the same way. */
  t0 = test_now();
  ASSERT_EQ(sel_dispatch(sel, 0.1), 0);
  assert_waited(test_now() - t0, 0.1);

  /* Without registrations, a positive timeout still waits it out. */
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.1), 0);
  assert_waited(test_now() - t0, 0.1);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(select_timeout_after_busy) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;

  ASSERT_OK(sel_create(&sel));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  /* The loop's cached clock is now stale by 150 ms: a core that forgets to
   * refresh it before arming the timeout would return after ~50 ms. */
  test_sleep(0.15);
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.2), 0);
  assert_waited(test_now() - t0, 0.2);

  test_sleep(0.15);
  t0 = test_now();
  ASSERT_EQ(sel_dispatch(sel, 0.2), 0);
  assert_waited(test_now() - t0, 0.2);

  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(select_timeout_ready_early) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  /* Already ready: a long timeout must not be waited out. */
  test_write(fds[1], "x");
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 10.0), 1);
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 1);
  ASSERT_LT(test_now() - t0, 2.0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

struct waker {
  sel_selector *sel;
  double delay;
  pthread_t thread;
};

static void *waker_main(void *arg) {
  struct waker *w = arg;
  test_sleep(w->delay);
  ASSERT_OK(sel_wakeup(w->sel));
  return NULL;
}

TEST_IMPL(select_timeout_forever) {
  static const double forevers[] = {SEL_FOREVER, -0.5, -1e9};
  sel_selector *sel;
  sel_event ev[2];
  struct waker w;
  double t0;
  int fds[2];
  size_t i;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  /* Every negative value blocks until the wake-up 0.2 s later. */
  for (i = 0; i < sizeof(forevers) / sizeof(forevers[0]); i++) {
    w.sel = sel;
    w.delay = 0.2;
    t0 = test_now();
    ASSERT_EQ(pthread_create(&w.thread, NULL, waker_main, &w), 0);
    ASSERT_EQ(sel_select(sel, ev, 2, forevers[i]), 0);
    assert_waited(test_now() - t0, 0.2);
    ASSERT_EQ(pthread_join(w.thread, NULL), 0);
  }

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}
