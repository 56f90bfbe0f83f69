/* sel_close(): with registrations, timers and wake-ups still pending, and
 * from inside callbacks (deferred until the outermost call returns). */
#include "task.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static void never_timer(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
  FATAL("a timer ran after sel_close");
}

TEST_IMPL(close_with_registrations) {
  sel_selector *sel;
  sel_event ev[1];
  int fds[3][2];
  int blocking[2];
  int i;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < 3; i++) {
    test_socketpair(fds[i]);
    ASSERT_OK(sel_register(sel, fds[i][0], SEL_READ | SEL_WRITE, NULL, NULL,
                           NULL));
  }
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, blocking));
  ASSERT_OK(sel_register(sel, blocking[0], SEL_READ, NULL, NULL, NULL));
  /* Leave everything in flight: left-over pairs, an unregistered key not
   * yet reclaimed, timers, a wake-up. */
  ASSERT_EQ(sel_select(sel, ev, 1, 1.0), 1);
  ASSERT_OK(sel_unregister(sel, fds[2][0], NULL));
  ASSERT_OK(sel_call_later(sel, 0, never_timer, NULL, NULL));
  ASSERT_OK(sel_call_later(sel, 10.0, never_timer, NULL, NULL));
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_OK(sel_close(sel));

  /* The descriptors were not closed, nor their mode changed. */
  for (i = 0; i < 3; i++) {
    ASSERT(test_fd_open(fds[i][0]));
    ASSERT_NE(test_fd_flags(fds[i][0]) & O_NONBLOCK, 0);
    close(fds[i][0]);
    close(fds[i][1]);
  }
  ASSERT(test_fd_open(blocking[0]));
  ASSERT_EQ(test_fd_flags(blocking[0]) & O_NONBLOCK, 0);
  close(blocking[0]);
  close(blocking[1]);
  return 0;
}

/* Everything a callback may try after closing fails with UV_EINVAL.  The
 * mismatches are counted and printed rather than asserted on the spot, so
 * that one report lists them all and the rest of the test (no further
 * callbacks, no leak) still runs. */
static int other_fd;
static int close_calls;
static int closing_mismatches;

#define EXPECT_CLOSING(expr, want)                                        \
  do {                                                                    \
    long eval_got = (long)(expr);                                         \
    if (eval_got != (long)(want)) {                                       \
      fprintf(stderr, "%s:%d: while closing: %s returned %ld, want %s\n", \
              __FILE__, __LINE__, #expr, eval_got, #want);                \
      closing_mismatches++;                                               \
    }                                                                     \
  } while (0)

static void assert_closing(sel_selector *sel, int fd) {
  sel_event ev[2];
  sel_key *k = NULL;
  EXPECT_CLOSING(sel_register(sel, other_fd, SEL_READ, NULL, NULL, &k),
                 UV_EINVAL);
  EXPECT_CLOSING(sel_unregister(sel, fd, &k), UV_EINVAL);
  EXPECT_CLOSING(sel_modify(sel, fd, SEL_WRITE, NULL, NULL, &k), UV_EINVAL);
  EXPECT_CLOSING(sel_get_key(sel, fd, &k), UV_EINVAL);
  ASSERT_NULL(k);
  EXPECT_CLOSING(sel_count(sel), UV_EINVAL);
  ASSERT_NULL(sel_next_key(sel, -1));
  ASSERT(sel_alive(sel) <= 0);
  EXPECT_CLOSING(sel_select(sel, ev, 2, 0), UV_EINVAL);
  EXPECT_CLOSING(sel_select(sel, ev, 2, SEL_FOREVER), UV_EINVAL);
  EXPECT_CLOSING(sel_dispatch(sel, SEL_FOREVER), UV_EINVAL);
  EXPECT_CLOSING(sel_run(sel), UV_EINVAL);
  EXPECT_CLOSING(sel_call_later(sel, 0, never_timer, NULL, NULL), UV_EINVAL);
  EXPECT_CLOSING(sel_stop(sel), UV_EINVAL);
  EXPECT_CLOSING(sel_wakeup(sel), UV_EINVAL);
}

static void closing_io_cb(sel_selector *sel, sel_key *key, int mask) {
  int fd = key->fd;
  (void)mask;
  close_calls++;
  ASSERT_EQ(close_calls, 1);
  ASSERT_OK(sel_close(sel));
  assert_closing(sel, fd);
}

/* Two ready keys, both closing: only the first may run.  A pending timer
 * and an idle key complete the picture. */
static sel_selector *setup_closing(int pairs[3][2]) {
  sel_selector *sel;
  int i;
  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < 3; i++) test_socketpair(pairs[i]);
  ASSERT_OK(sel_register(sel, pairs[0][0], SEL_WRITE, closing_io_cb, NULL,
                         NULL));
  ASSERT_OK(sel_register(sel, pairs[1][0], SEL_WRITE, closing_io_cb, NULL,
                         NULL));
  ASSERT_OK(sel_register(sel, pairs[2][0], SEL_READ, closing_io_cb, NULL,
                         NULL));
  ASSERT_OK(sel_call_later(sel, 30.0, never_timer, NULL, NULL));
  other_fd = pairs[2][1];
  close_calls = 0;
  return sel;
}

static void close_pairs(int pairs[3][2]) {
  int i;
  for (i = 0; i < 3; i++) {
    ASSERT(test_fd_open(pairs[i][0]));
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
}

TEST_IMPL(close_in_run_callback) {
  sel_selector *sel;
  int pairs[3][2];
  int r;

  sel = setup_closing(pairs);
  r = sel_run(sel);
  ASSERT(r == 0 || r == UV_EINVAL);
  ASSERT_EQ(close_calls, 1);
  close_pairs(pairs);
  ASSERT_EQ(closing_mismatches, 0);
  return 0;
}

TEST_IMPL(close_in_dispatch_callback) {
  sel_selector *sel;
  int pairs[3][2];
  int r;

  sel = setup_closing(pairs);
  r = sel_dispatch(sel, 1.0);
  ASSERT(r == 1 || r == UV_EINVAL);
  ASSERT_EQ(close_calls, 1);
  close_pairs(pairs);
  ASSERT_EQ(closing_mismatches, 0);
  return 0;
}

static int timer_close_calls;

static void closing_timer(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)timer;
  (void)arg;
  timer_close_calls++;
  ASSERT_OK(sel_close(sel));
  assert_closing(sel, other_fd);
}

TEST_IMPL(close_in_timer_callback) {
  sel_selector *sel;
  sel_event ev[4];
  int pairs[3][2];
  double t0;
  int r;

  sel = setup_closing(pairs);
  /* Two timers due together: the first closes, the second never runs.  The
   * select must not go on to wait its 30 s once the selector is closing. */
  ASSERT_OK(sel_call_later(sel, 0.01, closing_timer, NULL, NULL));
  ASSERT_OK(sel_call_later(sel, 0.01, closing_timer, NULL, NULL));
  ASSERT_OK(sel_unregister(sel, pairs[0][0], NULL));
  ASSERT_OK(sel_unregister(sel, pairs[1][0], NULL));
  test_sleep(0.03);
  t0 = test_now();
  r = sel_select(sel, ev, 4, 30.0);
  ASSERT(r == 0 || r == UV_EINVAL);
  ASSERT_LT(test_now() - t0, 5.0);
  ASSERT_EQ(timer_close_calls, 1);
  ASSERT_EQ(close_calls, 0);
  close_pairs(pairs);
  ASSERT_EQ(closing_mismatches, 0);
  return 0;
}

/* Closing from a nested dispatch: the inner call returns, the outer
 * callback sees a closing selector, and the outer dispatch frees it. */
static int nested_depth;
static int outer_calls;
static int inner_calls;

static void nesting_cb(sel_selector *sel, sel_key *key, int mask) {
  int fd = key->fd;
  int r;
  (void)mask;
  if (nested_depth == 1) {
    inner_calls++;
    ASSERT_EQ(inner_calls, 1);
    ASSERT_OK(sel_close(sel));
    assert_closing(sel, fd);
    return;
  }
  outer_calls++;
  ASSERT_EQ(outer_calls, 1);
  nested_depth = 1;
  r = sel_dispatch(sel, 1.0);
  nested_depth = 0;
  ASSERT(r == 1 || r == UV_EINVAL);
  assert_closing(sel, fd);
}

TEST_IMPL(close_in_nested_dispatch) {
  sel_selector *sel;
  int pairs[3][2];
  int i;
  int r;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < 3; i++) {
    test_socketpair(pairs[i]);
    ASSERT_OK(sel_register(sel, pairs[i][0], SEL_WRITE, nesting_cb, NULL,
                           NULL));
  }
  other_fd = pairs[0][1];
  ASSERT_OK(sel_call_later(sel, 30.0, never_timer, NULL, NULL));
  r = sel_dispatch(sel, 1.0);
  ASSERT(r == 1 || r == UV_EINVAL);
  ASSERT_EQ(outer_calls, 1);
  ASSERT_EQ(inner_calls, 1);
  close_pairs(pairs);
  ASSERT_EQ(closing_mismatches, 0);
  return 0;
}

/* A selector left closing by a stop-then-close sequence in a callback. */
static void stop_then_close_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)key;
  (void)mask;
  close_calls++;
  ASSERT_OK(sel_stop(sel));
  ASSERT_OK(sel_close(sel));
}

TEST_IMPL(close_after_stop_in_callback) {
  sel_selector *sel;
  int fds[2];
  int r;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  close_calls = 0;
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, stop_then_close_cb, NULL,
                         NULL));
  r = sel_run(sel);
  ASSERT(r == 0 || r == UV_EINVAL);
  ASSERT_EQ(close_calls, 1);
  close(fds[0]);
  close(fds[1]);
  return 0;
}
