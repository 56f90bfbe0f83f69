/* sel_wakeup(): interrupts a blocking select from another thread, and a
 * wake-up made before select is kept for exactly one select. */
#include "task.h"

#include <pthread.h>
#include <unistd.h>

struct waker {
  sel_selector *sel;
  double delay;
  int count;
};

static void *waker_main(void *arg) {
  struct waker *w = arg;
  int i;
  test_sleep(w->delay);
  for (i = 0; i < w->count; i++) ASSERT_OK(sel_wakeup(w->sel));
  return NULL;
}

TEST_IMPL(wakeup_thread) {
  sel_selector *sel;
  sel_event ev[2];
  struct waker w;
  pthread_t th;
  double t0;
  double elapsed;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));

  w.sel = sel;
  w.delay = 0.1;
  w.count = 1;
  t0 = test_now();
  ASSERT_EQ(pthread_create(&th, NULL, waker_main, &w), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  elapsed = test_now() - t0;
  ASSERT(elapsed >= 0.1 - TEST_TIME_EPS);
  ASSERT(elapsed < 5.0);
  ASSERT_EQ(pthread_join(th, NULL), 0);

  /* A finite timeout is cut short the same way. */
  w.delay = 0.1;
  w.count = 3;
  t0 = test_now();
  ASSERT_EQ(pthread_create(&th, NULL, waker_main, &w), 0);
  ASSERT_EQ(sel_dispatch(sel, 30.0), 0);
  elapsed = test_now() - t0;
  ASSERT(elapsed >= 0.1 - TEST_TIME_EPS);
  ASSERT(elapsed < 5.0);
  ASSERT_EQ(pthread_join(th, NULL), 0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(wakeup_before_select) {
  sel_selector *sel;
  sel_event ev[2];
  double t0;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));

  /* Kept: the next select returns at once... */
  ASSERT_OK(sel_wakeup(sel));
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 5.0), 0);
  ASSERT_LT(test_now() - t0, 1.0);
  /* ...once: the one after that waits its timeout. */
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.2), 0);
  ASSERT(test_now() - t0 >= 0.2 - TEST_TIME_EPS);

  /* Several wake-ups coalesce into one. */
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_OK(sel_wakeup(sel));
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  ASSERT_LT(test_now() - t0, 1.0);
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.2), 0);
  ASSERT(test_now() - t0 >= 0.2 - TEST_TIME_EPS);

  /* A polling select also uses up a pending wake-up. */
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.1), 0);
  ASSERT(test_now() - t0 >= 0.1 - TEST_TIME_EPS);

  /* With a ready key, the key is reported, wake-up or not. */
  ASSERT_OK(sel_wakeup(sel));
  test_write(fds[1], "x");
  ASSERT_EQ(sel_select(sel, ev, 2, 5.0), 1);
  ASSERT_EQ(ev[0].key->fd, fds[0]);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* Wake-ups from several threads at once, while the owner keeps selecting:
 * nothing is lost, nothing crashes, and selects never hang. */
struct storm {
  sel_selector *sel;
  int n;
};

static void *storm_main(void *arg) {
  struct storm *s = arg;
  int i;
  for (i = 0; i < s->n; i++) {
    ASSERT_OK(sel_wakeup(s->sel));
    if (i % 64 == 0) test_sleep(0.0005);
  }
  return NULL;
}

TEST_IMPL(wakeup_storm) {
  enum { NTHREADS = 4 };
  sel_selector *sel;
  sel_event ev[2];
  pthread_t th[NTHREADS];
  struct storm s;
  double t0;
  int selects = 0;
  int i;

  ASSERT_OK(sel_create(&sel));
  s.sel = sel;
  s.n = test_under_valgrind() ? 300 : 3000;
  for (i = 0; i < NTHREADS; i++)
    ASSERT_EQ(pthread_create(&th[i], NULL, storm_main, &s), 0);
  t0 = test_now();
  while (test_now() - t0 < 0.3) {
    ASSERT_EQ(sel_select(sel, ev, 2, 0.05), 0);
    selects++;
  }
  for (i = 0; i < NTHREADS; i++) ASSERT_EQ(pthread_join(th[i], NULL), 0);
  ASSERT_GT(selects, 0);

  /* After the storm, one more wake-up is still delivered... */
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_OK(sel_wakeup(sel));
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 5.0), 0);
  ASSERT_LT(test_now() - t0, 1.0);
  /* ...and no stale one lingers. */
  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.1), 0);
  ASSERT(test_now() - t0 >= 0.1 - TEST_TIME_EPS);

  ASSERT_OK(sel_close(sel));
  return 0;
}

/* sel_run keeps running through wake-ups; a callback decides to stop. */
static int wake_timer_calls;

static void check_stop_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)timer;
  (void)arg;
  wake_timer_calls++;
  ASSERT_OK(sel_stop(sel));
}

TEST_IMPL(wakeup_during_run) {
  sel_selector *sel;
  struct waker w;
  pthread_t th;
  double t0;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  /* t0 before the timer starts: under valgrind the calls between take
   * longer than TEST_TIME_EPS. */
  t0 = test_now();
  ASSERT_OK(sel_call_later(sel, 0.3, check_stop_cb, NULL, NULL));
  w.sel = sel;
  w.delay = 0.05;
  w.count = 5;
  ASSERT_EQ(pthread_create(&th, NULL, waker_main, &w), 0);
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT(test_now() - t0 >= 0.3 - TEST_TIME_EPS);
  ASSERT_EQ(wake_timer_calls, 1);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}
