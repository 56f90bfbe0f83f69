/* sel_run(): returns when idle, sel_stop() from a callback or before the
 * run, and sel_alive(). */
#include "task.h"

#include <unistd.h>

static void noop_timer(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
}

TEST_IMPL(run_idle) {
  sel_selector *sel;
  double t0;

  ASSERT_OK(sel_create(&sel));
  ASSERT_EQ(sel_alive(sel), 0);
  t0 = test_now();
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_LT(test_now() - t0, 1.0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(run_alive) {
  sel_selector *sel;
  sel_timer *t;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_OK(sel_modify(sel, fds[0], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  ASSERT_EQ(sel_alive(sel), 0);

  ASSERT_OK(sel_call_later(sel, 0.01, noop_timer, NULL, &t));
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_OK(sel_timer_cancel(t));
  ASSERT_EQ(sel_alive(sel), 0);

  ASSERT_OK(sel_call_later(sel, 0, noop_timer, NULL, NULL));
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_EQ(sel_dispatch(sel, 1.0) >= 0, 1);
  ASSERT_EQ(sel_alive(sel), 0);

  /* A wake-up alone is nothing to wait for. */
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* A connection that echoes a few rounds and then unregisters itself: run
 * must return by itself once the last registration is gone. */
static int rounds;

static void pingpong_cb(sel_selector *sel, sel_key *key, int mask) {
  int peer = *(int *)key->data;
  ASSERT_EQ(mask, SEL_READ);
  ASSERT_EQ(test_drain(key->fd), 1);
  if (++rounds == 5) {
    ASSERT_OK(sel_unregister(sel, key->fd, NULL));
    return;
  }
  test_write(peer, "p");
}

static void kick_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  test_write(*(int *)arg, "p");
}

TEST_IMPL(run_until_idle) {
  sel_selector *sel;
  int fds[2];
  double t0;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, pingpong_cb, &fds[1], NULL));
  ASSERT_OK(sel_call_later(sel, 0.02, kick_cb, &fds[1], NULL));
  t0 = test_now();
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_EQ(rounds, 5);
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_LT(test_now() - t0, 2.0);
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

static int writable_calls;
static int stop_at;

static void writable_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)key;
  ASSERT_EQ(mask, SEL_WRITE);
  if (++writable_calls == stop_at) ASSERT_OK(sel_stop(sel));
}

TEST_IMPL(run_stop_from_callback) {
  sel_selector *sel;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  /* Always writable: without the stop, run would never return. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, writable_cb, NULL, NULL));
  writable_calls = 0;
  stop_at = 3;
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_EQ(writable_calls, 3);
  ASSERT_EQ(sel_count(sel), 1);
  ASSERT_NE(sel_alive(sel), 0);

  /* The stop was used up: the next run goes on until the next stop. */
  stop_at = 7;
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_EQ(writable_calls, 7);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

static void stop_timer_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)timer;
  (void)arg;
  ASSERT_OK(sel_stop(sel));
}

TEST_IMPL(run_stop_from_timer) {
  sel_selector *sel;
  int fds[2];
  double t0;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  /* Idle registration: run would block forever without the stop. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  ASSERT_OK(sel_call_later(sel, 0.05, stop_timer_cb, NULL, NULL));
  t0 = test_now();
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT(test_now() - t0 >= 0.05 - TEST_TIME_EPS);
  ASSERT_LT(test_now() - t0, 2.0);
  ASSERT_EQ(sel_count(sel), 1);
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

static void unregister_all_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  sel_key *k;
  (void)timer;
  (void)arg;
  while ((k = sel_next_key(sel, -1)) != NULL)
    ASSERT_OK(sel_unregister(sel, k->fd, NULL));
}

TEST_IMPL(run_stop_before_run) {
  sel_selector *sel;
  int fds[2];
  int idle[2];
  double t0;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  test_socketpair(idle);

  /* Remembered: one non-blocking pass, which runs the ready callback once,
   * although an idle registration would otherwise keep run blocking. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, writable_cb, NULL, NULL));
  ASSERT_OK(sel_register(sel, idle[0], SEL_READ, NULL, NULL, NULL));
  writable_calls = 0;
  stop_at = -1;
  ASSERT_OK(sel_stop(sel));
  t0 = test_now();
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_EQ(writable_calls, 1);
  ASSERT_LT(test_now() - t0, 1.0);

  /* Nothing ready at all: still returns at once. */
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  ASSERT_OK(sel_stop(sel));
  ASSERT_OK(sel_stop(sel));
  t0 = test_now();
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_LT(test_now() - t0, 1.0);

  /* Used up: this run keeps going (many passes) until the timer leaves it
   * nothing to wait for. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, writable_cb, NULL, NULL));
  writable_calls = 0;
  ASSERT_OK(sel_call_later(sel, 0.05, unregister_all_cb, NULL, NULL));
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_GT(writable_calls, 1);
  ASSERT_EQ(sel_count(sel), 0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  close(idle[0]);
  close(idle[1]);
  return 0;
}

/* A stop made by select or dispatch callbacks outside run is remembered
 * the same way. */
static void stop_io_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)key;
  (void)mask;
  ASSERT_OK(sel_stop(sel));
}

TEST_IMPL(run_stop_from_dispatch) {
  sel_selector *sel;
  int fds[2];
  int idle[2];
  double t0;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  test_socketpair(idle);
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, stop_io_cb, NULL, NULL));
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  ASSERT_OK(sel_register(sel, idle[0], SEL_READ, NULL, NULL, NULL));
  t0 = test_now();
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_LT(test_now() - t0, 1.0);
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  close(idle[0]);
  close(idle[1]);
  return 0;
}
